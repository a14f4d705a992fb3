"""The post-plan analyses within one time budget: re-solves share it, rows it does not reach say
why, steps a larger budget's answer settles are not re-solved, progress shows on a terminal
only, and a default solve of pct_5y writes marginal_values.csv.

No test here times anything: the budget is spent by an injected clock, and the one long solve
is bounded by its subprocess timeout (the harness), not by an assertion on elapsed time.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from pytest import approx

import planner
from planner.analysis.marginal import marginal_values
from planner.analysis.resolves import ANALYSIS_END_S, MIN_BUDGET_S, TimeBudget, default_budget
from planner.progress import progress
from planner.solver.session import PlanningModel

ROOT = Path(__file__).resolve().parents[2]
TOY_OBJECTIVE = 1_383_000  # instances/toy/README.md


class Ticks:
    """A clock that advances ``step`` seconds each time it is read: the budget is spent by
    counting re-solves, whatever the machine's speed."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_default_budget_ends_the_analyses_in_time_and_within_the_time_limit() -> None:
    """What is left until ANALYSIS_END_S after planner.solve began, at least MIN_BUDGET_S,
    never more than the user's time limit."""
    assert default_budget(2.0) == approx(ANALYSIS_END_S - 2.0)
    assert default_budget(ANALYSIS_END_S - 1.0) == MIN_BUDGET_S
    assert default_budget(10 * ANALYSIS_END_S) == MIN_BUDGET_S
    assert default_budget(2.0, time_limit=3.0) == 3.0
    assert default_budget(10 * ANALYSIS_END_S, time_limit=1.0) == 1.0


@pytest.mark.solver
def test_resolves_beyond_the_budget_are_skipped_with_the_reason() -> None:
    """The clock reads 100 s more at each look: the budget of 150 s is made at 100 and has 50 s
    left before the first re-solve, none before the second. The toy's budget steps: −1 % needs
    no re-solve (the plan spends £17,000 under its budget, so it fits £14,000 less and stays
    optimal), −5 % is the one re-solve (infeasible), +5 % and +1 % are skipped with "time
    budget" as their reason (no larger budget was solved to answer +1 %). The LP duals (no
    MILP) are all there, and the plan's optimum is untouched."""
    session = PlanningModel(planner.load_instance(ROOT / "instances" / "toy"))
    base = session.run()
    assert base.objective == approx(TOY_OBJECTIVE)
    values = marginal_values(session, base, budget=TimeBudget(150.0, clock=Ticks(100.0)))
    budget = values[values.constraint == "budget"].set_index("subject")
    assert list(budget.index) == ["budget -5%", "budget -1%", "budget +1%", "budget +5%"]
    assert list(budget.method) == ["milp_resolve", "milp_answered", "skipped", "skipped"]
    assert budget.loc["budget -5%", "status"] == "infeasible"
    assert budget.loc["budget -1%", "marginal_value"] == approx(0)
    assert budget.loc["budget -1%", "message"].startswith(
        "Answered without a re-solve: the plan itself fits")
    skipped = budget[budget.method == "skipped"]
    assert (skipped.status == "skipped").all()
    assert skipped.message.str.startswith("Skipped (time budget): ").all()
    assert skipped.marginal_value.isna().all()
    assert (values.method == "lp_dual").any()
    assert session.run().objective == approx(TOY_OBJECTIVE)  # the model is restored


@pytest.mark.solver
def test_a_larger_budgets_plan_answers_the_smaller_steps_exactly() -> None:
    """With time enough, the toy's +5 % is re-solved first (largest first) and its plan, the
    plan's own (the budget does not bind), fits +1 %: that row is answered without a re-solve,
    with the value a re-solve gives (0), and says so."""
    session = PlanningModel(planner.load_instance(ROOT / "instances" / "toy"))
    base = session.run()
    values = marginal_values(session, base, budget=TimeBudget(600.0))
    budget = values[values.constraint == "budget"].set_index("subject")
    assert list(budget.method) == ["milp_resolve", "milp_answered", "milp_answered",
                                   "milp_resolve"]
    assert budget.loc["budget +1%", "marginal_value"] == approx(0)
    assert "re-solve at every year's budget × 1.05 also fits × 1.01" in budget.loc["budget +1%",
                                                                                "message"]
    assert list(budget.status) == ["infeasible", "optimal", "optimal", "optimal"]


@pytest.mark.solver
def test_no_budget_skips_every_resolve_and_says_why(tmp_path) -> None:
    """planner.solve(..., marginal_time=0): not one MILP re-solve runs; each of their rows is
    in marginal_values.csv as skipped, naming the time budget and how to give more. −1 %
    needs no re-solve (the plan fits it) and is still answered."""
    plan = planner.solve(ROOT / "instances" / "toy", marginal=True, marginal_time=0)
    assert plan.objective == approx(TOY_OBJECTIVE)
    plan.to_dir(tmp_path / "plan")
    table = pd.read_csv(tmp_path / "plan" / "marginal_values.csv")
    assert not (table.method == "milp_resolve").any()
    skipped = table[table.method == "skipped"]
    assert list(skipped.subject) == ["budget -5%", "budget +1%", "budget +5%"]
    for message in skipped.message:
        assert message.startswith("Skipped (time budget): ") and "marginal_time" in message
    assert list(table.loc[table.method == "milp_answered", "subject"]) == ["budget -1%"]
    assert (table.method == "lp_dual").any()


@pytest.mark.solver
def test_the_cli_sets_the_shared_time_budget(tmp_path) -> None:
    """planner solve --marginal-time 0: as marginal_time=0 from the library, every re-solve is
    skipped and says how to allow more, from the command line too."""
    from click.testing import CliRunner

    from planner.cli import main

    out = tmp_path / "plan"
    done = CliRunner().invoke(main, ["solve", str(ROOT / "instances" / "toy"), "--out", str(out),
                                     "--marginal-time", "0"])
    assert done.exit_code == 0, done.output
    table = pd.read_csv(out / "marginal_values.csv")
    skipped = table[table.method == "skipped"]
    assert list(skipped.subject) == ["budget -5%", "budget +1%", "budget +5%"]
    assert skipped.message.str.contains("planner solve --marginal-time SECONDS").all()
    refused = CliRunner().invoke(main, ["solve", str(ROOT / "instances" / "toy"), "--out",
                                        str(tmp_path / "p2"), "--marginal-time", "-1"])
    assert refused.exit_code == 2


def test_progress_shows_on_a_terminal_only() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    shown, piped = Terminal(), io.StringIO()
    for stream in (shown, piped):
        with progress("marginal values", 30, file=stream) as bar:
            bar.update(12)
            bar.refresh()
    assert "marginal values: 12 of 30 re-solves" in shown.getvalue()
    assert piped.getvalue() == ""


@pytest.mark.solver
def test_default_cli_solve_of_pct_5y_writes_marginal_values(tmp_path) -> None:
    """The default ``planner solve instances/pct_5y`` (marginal values on) ran for over 9
    minutes before the re-solves shared one budget; now it writes marginal_values.csv with
    the budget steps, each computed or skipped with a reason, and the LP duals. The timeout
    is the harness's bound, generous for a loaded shared machine (docs/performance.md)."""
    out = tmp_path / "plan"
    done = subprocess.run([sys.executable, "-m", "planner", "solve",
                           str(ROOT / "instances" / "pct_5y"), "--out", str(out)],
                          capture_output=True, text=True, check=False, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "marginal values:" not in done.stderr  # no progress bar on a pipe
    table = pd.read_csv(out / "marginal_values.csv")
    assert set(table.method) <= {"lp_dual", "milp_resolve", "milp_answered", "skipped"}
    budget = table[table.constraint == "budget"]
    assert {"budget -5%", "budget -1%", "budget +1%", "budget +5%"} <= set(budget.subject)
    assert (table.method == "lp_dual").any()
    skipped = table[table.method == "skipped"]
    assert skipped.message.str.startswith("Skipped (").all()


def twins(max_providers: int) -> planner.Instance:
    """Two mandatory services of 100 episodes, each offered by A and B at the same £10 and
    quality: with ``max_providers`` 1 each service uses one of them, the rule binds, and a
    second provider is worth nothing (objective £2,000 either way)."""
    return planner.Instance.from_frames(
        {"name": "twins", "population": 1000, "policy": {"budget": 5000}},
        levels=pd.DataFrame([{"level": "pct", "order": 1, "population": 1000}]),
        services=pd.DataFrame([{"service": s, "category": "elective", "demand": 100,
                                "mandatory": True, "max_providers": max_providers}
                               for s in ("s1", "s2")]),
        providers=pd.DataFrame([{"provider": p, "kind": "nhs_trust"} for p in ("A", "B")]),
        offers=pd.DataFrame([{"provider": p, "service": s, "price": 10, "quality": 1.0}
                             for p in ("A", "B") for s in ("s1", "s2")]))


@pytest.mark.solver
def test_choice_rules_that_cannot_matter_are_answered_by_one_resolve() -> None:
    """Both services' max_providers rows bind (one provider each), and relaxing both together
    finds nothing better than £2,000: one re-solve answers both rows, each saying so with the
    £ bound, instead of one re-solve per rule."""
    plan = planner.solve(twins(1), marginal=True)
    assert plan.objective == approx(2000)
    rows = plan.marginal_values[plan.marginal_values.constraint == "max_providers"]
    assert sorted(rows.subject) == ["s1", "s2"]
    assert (rows.method == "skipped").all()
    for message in rows.message:
        assert message.startswith("Skipped (answered together): one re-solve with all 2 binding")
        assert "at most £0" in message
