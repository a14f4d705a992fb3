"""The budget steps the marginal values and the priority lists share: answered exactly without a
re-solve where a larger budget's answer settles them, the same answers a re-solve gives, and
every step the time budget did not reach labelled in priorities.csv and report.html.

No test here times anything: budgets are spent by an injected clock or are 0 or generous.

The instance (as tests/formulations/test_shifting.py's): one level; ``hosp`` mandatory, 100
episodes a year at £1,000; ``comm`` discretionary, 50 at £400 (£20,000), 0.01 QALY each, each
episode avoiding 0.3 admissions (15 = £15,000). At £20,000 per QALY comm is worth buying (net
£5,000 for 0.5 QALY = £10,000 of health), and with it the plan spends 20,000 + 85,000 =
£105,000; without it £100,000. So comm is bought exactly when the budget is at least £105,000.

``community(budget, factor=-0.38)``: each comm episode avoids 0.38 admissions (19 = £19,000),
so comm's net cost is £1,000 for the same 0.5 QALY (£10,000 of health): bought whenever the
budget allows, and the plan with it spends 20,000 + 81,000 = £101,000. The least any plan spends
is £100,000 (hosp alone, comm out), so below £100,000 no plan exists, between £100,000 and
£101,000 the plan drops comm, and from £101,000 it funds it.
"""

from __future__ import annotations

import pandas as pd
import pytest
from pytest import approx

import planner
from planner.analysis.budget_steps import BudgetSteps, StepAnswer
from planner.analysis.priorities import priorities
from planner.analysis.resolves import TimeBudget
from planner.rules import Status
from planner.solver.session import PlanningModel

pytestmark = pytest.mark.solver


class Ticks:
    """A clock that advances ``step`` seconds each time it is read."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def community(budget: float, factor: float = -0.3) -> planner.Instance:
    services = [{"service": "hosp", "category": "urgent", "demand": 100, "mandatory": True},
                {"service": "comm", "category": "community", "demand": 50, "mandatory": False,
                 "qaly_gain": 0.01}]
    offers = [{"provider": "trust", "service": "hosp", "price": 1000, "quality": 1.0},
              {"provider": "cp", "service": "comm", "price": 400, "quality": 1.0}]
    return planner.Instance.from_frames(
        {"name": "community", "population": 1000,
         "policy": {"budget": budget, "value_per_qaly": 20_000}},
        levels=pd.DataFrame([{"level": "pct", "order": 1, "population": 1000}]),
        services=pd.DataFrame(services),
        providers=pd.DataFrame([{"provider": "trust", "kind": "nhs_trust"},
                                {"provider": "cp", "kind": "community_provider"}]),
        offers=pd.DataFrame(offers),
        effects=pd.DataFrame([{"source": "comm", "target": "hosp", "factor": factor}]))


def _steps(budget: float, time_budget: TimeBudget, factor: float = -0.3
           ) -> tuple[PlanningModel, planner.Plan, BudgetSteps]:
    instance = community(budget, factor)
    session = PlanningModel(instance)
    base = session.run()
    plan = session.plan(base)
    return session, plan, BudgetSteps(session, base, time_budget)


def test_answers_without_a_resolve_are_what_a_resolve_gives() -> None:
    """Budget £110,000: the plan (£105,000) fits × 0.98 (£107,800), so it stays optimal there
    with no re-solve; × 0.95 (£104,500) is re-solved (comm out, £100,000); × 0.9 (£99,000) is
    re-solved too (× 0.95's plan spends more than that) and is infeasible, so × 0.8 is answered
    as infeasible without a re-solve. Above × 1, × 1.25 is re-solved (largest first) and its
    plan (the same £105,000) answers × 1.1, 1.05 and 1.02. Every answer's status and objective
    are those of a separate solve of the instance at that budget."""
    session, plan, steps = _steps(110_000, TimeBudget(600.0))
    factors = (0.8, 0.9, 0.95, 0.98, 1.02, 1.05, 1.1, 1.25)
    steps.want(factors).ensure()
    how = {f: steps.answer(f).how for f in factors}
    assert how == {0.98: "fits", 0.95: "re-solved", 0.9: "re-solved", 0.8: "infeasible",
                   1.25: "re-solved", 1.1: "fits", 1.05: "fits", 1.02: "fits"}
    assert steps.answer(0.98).source == 1.0 and steps.answer(1.02).source == 1.25
    for factor in factors:
        alone = planner.solve(community(110_000 * factor), diagnose_infeasible=False,
                              priorities=False)
        answer = steps.answer(factor)
        assert answer.status == alone.status, factor
        if alone.has_solution:
            assert answer.result.objective == approx(alone.objective, rel=1e-6), factor
    assert session.run().objective == approx(plan.objective)  # the model is the plan's again


def test_one_resolve_answers_the_steps_below_it() -> None:
    """Budget £104,000 (comm not bought), time for two re-solves only (the clock reads 100 s
    more at each look; 250 s made at 100: 150 s and 50 s left at the first two looks, none at
    the third). × 0.98 is answered by the plan (£100,000 fits £101,920) and × 0.95 is the first
    re-solve (infeasible: so are × 0.9 and × 0.8, without one). × 1.25 is the second and buys
    comm for £105,000, which fits × 1.1, × 1.05 and × 1.02 (£106,080): comes_in_at is £106,080
    exactly, as with a re-solve at every step."""
    session, plan, steps = _steps(104_000, TimeBudget(250.0, clock=Ticks(100.0)))
    table = priorities(session.instance, plan, steps).set_index("service")
    row = table.loc["comm"]
    assert (row["list"], bool(row["funded"])) == ("wish", False)
    assert row["comes_in_at"] == approx(106_080) and row["status"] == "computed"
    assert ("answered without a re-solve (a larger budget's optimal plan fits) at × 0.98, 1.02, "
            "1.05, 1.1; re-solved at × 1.25") in row["method"]


def test_a_nearer_step_not_known_makes_the_row_partial() -> None:
    """Budget £101,000 and time for two re-solves (as above): × 0.98 (£98,980: infeasible) and
    × 1.25. × 1.25's plan (£105,000) fits × 1.1 and × 1.05 (£106,050) but not × 1.02
    (£103,020), which is then not re-solved (time budget).
    comm comes in at × 1.05 among the steps known, but × 1.02 is not known: the row is
    ``partial`` (comes in at £106,050 or less), and the method says which step was not
    re-solved."""
    session, plan, steps = _steps(101_000, TimeBudget(250.0, clock=Ticks(100.0)))
    row = priorities(session.instance, plan, steps).set_index("service").loc["comm"]
    assert row["comes_in_at"] == approx(106_050) and row["status"] == "partial"
    assert "not re-solved (time budget) at × 1.02" in row["method"]


def test_no_time_labels_the_priorities_skipped_and_the_report_says_so(tmp_path) -> None:
    """marginal_time=0: no re-solve runs. Budget £110,000, comm funded (hit list): × 0.98 is
    still answered (the plan fits), but whether comm goes out at × 0.95, 0.9 or 0.8 needs
    re-solves that did not run: goes_out_at is blank and the row ``skipped``, not "no tested
    budget changes it"; report.html shows "not tested" for it. The plan is the plan."""
    plan = planner.solve(community(110_000), marginal=True, marginal_time=0)
    assert plan.objective == approx(105_000 - 20_000 * 0.5)
    row = plan.priorities.set_index("service").loc["comm"]
    assert row["list"] == "hit" and pd.isna(row["goes_out_at"]) and row["status"] == "skipped"
    assert "not re-solved (time budget) at × 0.8, 0.9, 0.95" in row["method"]
    folder = plan.to_dir(tmp_path / "plan")
    written = pd.read_csv(folder / "priorities.csv")
    assert list(written["status"]) == ["skipped"]
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "not tested" in html and "were not known within the time the analyses share" in html
    values = plan.marginal_values
    budget = values[values.constraint == "budget"].set_index("subject")
    assert budget.loc["budget -1%", "method"] == "milp_answered"  # £108,900 ≥ £105,000
    assert (budget.drop("budget -1%")["method"] == "skipped").all()
    assert budget["marginal_value"].drop("budget -1%").isna().all()


def test_with_time_enough_the_priorities_are_computed() -> None:
    """The same instance with the default budget: every row ``computed``, goes_out_at
    £104,500 (× 0.95) as in tests/formulations/test_shifting.py."""
    plan = planner.solve(community(110_000), marginal=True)
    row = plan.priorities.set_index("service").loc["comm"]
    assert row["goes_out_at"] == approx(104_500) and row["status"] == "computed"


def test_a_budget_with_no_plan_is_not_where_a_service_goes_out() -> None:
    """factor −0.38 (module docstring: comm funded from £101,000, no plan below £100,000).
    Budget £102,000: comm is funded (£101,000), on the hit list. × 0.98 = £99,960 is below
    £100,000: no plan exists there (re-solved, infeasible), nor at × 0.95, 0.9, 0.8 (answered
    without a re-solve). No tested budget below today's has a plan, let alone one that drops
    comm, so goes_out_at is blank, not £99,960; every step is known, so the row is
    ``computed``, and the method names £99,960 (102,000 × 0.98) as the greatest budget with
    no plan.
    Budget £104,000: × 0.98 = £101,920 has a plan, with comm (≥ £101,000; the plan itself
    fits); × 0.95 = £98,800 has none. Blank again, the method naming £98,800 and saying that
    the tested budget with a plan (× 0.98) does not drop comm."""
    session, plan, steps = _steps(102_000, TimeBudget(600.0), factor=-0.38)
    assert plan.objective == approx(101_000 - 20_000 * 0.5)
    row = priorities(session.instance, plan, steps).set_index("service").loc["comm"]
    assert (row["list"], bool(row["funded"])) == ("hit", True)
    assert steps.answer(0.98).status == "infeasible"
    assert pd.isna(row["goes_out_at"]) and row["status"] == "computed"
    assert row["method"].endswith(
        "; goes_out_at blank: no plan exists at £99,960 or below (every year's budget × 0.98), "
        "and no tested budget below today's has a plan")
    session, plan, steps = _steps(104_000, TimeBudget(600.0), factor=-0.38)
    row = priorities(session.instance, plan, steps).set_index("service").loc["comm"]
    assert (row["list"], bool(row["funded"])) == ("hit", True)
    assert steps.answer(0.98).how == "fits" and steps.answer(0.95).status == "infeasible"
    assert pd.isna(row["goes_out_at"]) and row["status"] == "computed"
    assert row["method"].endswith(
        "; goes_out_at blank: no plan exists at £98,800 or below (every year's budget × 0.95), "
        "and no tested budget with a plan drops it")


def test_the_report_says_no_plan_where_goes_out_at_is_blank_for_it(tmp_path) -> None:
    """The two budgets above (factor −0.38) solved and written. £102,000: priorities.csv has
    goes_out_at blank and the note; report.html's hit list shows "none: no plan at ≤ £99,960"
    for comm (not a budget at which it is cut, nor a bare blank), and the sentence under the
    table says no tested budget below today's has a plan, giving the steps without the row's
    note. £104,000: "none: no plan at ≤ £98,800", and comm is funded at every tested budget
    below today's that has a plan (× 0.98)."""
    folder = planner.solve(community(102_000, -0.38)).to_dir(tmp_path / "plan")
    written = pd.read_csv(folder / "priorities.csv").iloc[0]
    assert pd.isna(written["goes_out_at"]) and "no plan exists at £99,960" in written["method"]
    html = (folder / "report.html").read_text(encoding="utf-8")
    hit = html[html.index("Hit list"):]
    assert "none: no plan at ≤ £99,960" in hit and ">£99,960</td>" not in hit
    assert ("“none: no plan at ≤ £99,960”: no tested budget below today's has a plan: at "
            "£99,960 or below (every year's budget × 0.98) no plan meets every rule, so the "
            "model does not say what would be cut there.") in hit
    assert "goes_out_at blank" not in html  # the note gives the steps once, not the row's end
    folder = planner.solve(community(104_000, -0.38)).to_dir(tmp_path / "plan2")
    hit = (folder / "report.html").read_text(encoding="utf-8").split("Hit list", 1)[1]
    assert "none: no plan at ≤ £98,800" in hit
    assert ("“none: no plan at ≤ £98,800”: the service is funded at every tested budget below "
            "today's that has a plan; at £98,800 or below (every year's budget × 0.95)") in hit


def test_a_feasible_lower_budget_that_drops_a_service_is_still_where_it_goes_out() -> None:
    """factor −0.38, budget £103,000: comm funded (£101,000). × 0.98 = £100,940 has a plan
    (≥ £100,000) but not one with comm (< £101,000): comm goes out at £100,940, even though
    × 0.95 = £97,850 (and below) has no plan at all. Computed; the method has no "no plan"
    note (the blank it explains does not arise)."""
    session, plan, steps = _steps(103_000, TimeBudget(600.0), factor=-0.38)
    row = priorities(session.instance, plan, steps).set_index("service").loc["comm"]
    assert (row["list"], bool(row["funded"])) == ("hit", True)
    assert steps.answer(0.98).status == "optimal" and steps.answer(0.95).status == "infeasible"
    assert row["goes_out_at"] == approx(100_940) and row["status"] == "computed"
    assert "no plan exists" not in row["method"]


class _Steps:
    """BudgetSteps' answers, given: × 0.98 a re-solve stopped at its time limit (not known)."""

    def __init__(self, answers: dict[float, StepAnswer]) -> None:
        self.answers = answers

    def want(self, factors) -> _Steps:
        return self

    def ensure(self) -> None:
        pass

    def answer(self, factor: float) -> StepAnswer:
        return self.answers[factor]


def test_a_step_not_known_above_the_first_with_no_plan_leaves_the_row_skipped() -> None:
    """factor −0.38, budget £102,000 (comm funded), steps × 0.98 and 0.9 only: × 0.98
    (£99,960) a re-solve stopped at its time limit (not known, as if it had been cut short),
    × 0.9 (£91,800) infeasible. × 0.98 could have dropped comm, so no value is known:
    goes_out_at blank, ``skipped`` (not ``computed``, and not £91,800), and the method still
    says no plan exists at £91,800 or below."""
    session, plan, _ = _steps(102_000, TimeBudget(600.0), factor=-0.38)
    steps = _Steps({0.98: StepAnswer(0.98, "re-solved", Status.FEASIBLE),
                    0.9: StepAnswer(0.9, "re-solved", Status.INFEASIBLE)})
    row = priorities(session.instance, plan, steps, factors=(0.9, 0.98)).iloc[0]
    assert row["service"] == "comm" and pd.isna(row["goes_out_at"])
    assert row["status"] == "skipped"
    assert row["method"].endswith(
        "; goes_out_at blank: no plan exists at £91,800 or below (every year's budget × 0.9), "
        "and no known step with a plan drops it (one not known might)")
    assert "re-solve stopped at its time limit, not proven (not used) at × 0.98" in row["method"]
    assert "re-solved (infeasible) at × 0.9" in row["method"]


def test_a_service_no_tested_budget_brings_in_reads_not_by_the_largest() -> None:
    """The wish list's "comes in at budget £" for a service that no tested budget brings in
    (every step known: status computed) reads "not by £1.25m" (a £1m budget × 1.25, the largest
    step), not a blank a board would take for missing data; an untested row still reads "not
    tested", a row with a value its £, and an instance without a budget leaves the cell blank."""
    from planner.reports.priorities import _budget_cells

    steps = "every year's budget × 0.8, 0.9, 0.95, 0.98, 1.02, 1.05, 1.1, 1.25; base-year £"
    table = pd.DataFrame({"comes_in_at": [float("nan"), float("nan"), 1_050_000.0, float("nan")],
                          "status": ["computed", "skipped", "computed", "computed"],
                          "method": [steps, steps, steps, "no budget: no re-solve"]})
    cells = _budget_cells(table, "comes_in_at", "≤ ", not_by=1_250_000.0)
    assert cells == ["not by £1.25m", "not tested", "£1.05m", ""]
