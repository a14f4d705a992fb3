"""Marginal values: LP duals of the fixed plan and MILP re-solves, against hand-derived values."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pyomo.environ as pyo
import pytest
from pytest import approx

import planner

pytestmark = pytest.mark.solver


def quality_mix(budget: float) -> planner.Instance:
    """Demand 100; A £10 at quality 0.5, B £20 at quality 1.0; 0.1 QALY per episode at quality 1;
    λ = £1,000/QALY. Per episode A nets 10 − 50 = −40 and B 20 − 100 = −80, so every episode
    moved from A to B costs £10 more and gains £50 of QALYs: £4 of objective per £ of budget,
    0.005 QALYs per £ (5,000 per £1m). Budget £1,500: 50 from each, objective
    1,500 − 1,000 × (50 × 0.05 + 50 × 0.1) = −£6,000.
    """
    return planner.Instance.from_frames(
        {"name": "mix", "population": 1000, "policy": {"budget": budget, "value_per_qaly": 1000}},
        levels=pd.DataFrame([{"level": "pct", "order": 1, "population": 1000}]),
        services=pd.DataFrame([{"service": "s", "category": "elective", "demand": 100,
                                "mandatory": True, "qaly_gain": 0.1}]),
        providers=pd.DataFrame([{"provider": "A", "kind": "nhs_trust"},
                                {"provider": "B", "kind": "independent"}]),
        offers=pd.DataFrame([{"provider": "A", "service": "s", "price": 10, "quality": 0.5},
                             {"provider": "B", "service": "s", "price": 20, "quality": 1.0}]))


def test_budget_dual_and_resolves_match_hand_values() -> None:
    plan = planner.solve(quality_mix(1500), marginal=True)
    assert plan.objective == approx(-6000)
    values = plan.marginal_values
    dual = values[(values.constraint == "budget") & (values.method == "lp_dual")]
    assert dual["marginal_value"].iloc[0] == approx(4)
    resolves = values[(values.constraint == "budget") & (values.method == "milp_resolve")]
    # the budget binds: no step is answered by another, all four are re-solved
    assert list(resolves["subject"]) == ["budget -5%", "budget -1%", "budget +1%", "budget +5%"]
    assert list(resolves["marginal_value"]) == approx([4, 4, 4, 4])
    assert list(resolves["qalys_per_unit"]) == approx([0.005] * 4)
    assert "5,000.0 QALYs per £1m" in resolves["message"].iloc[2]


def test_resolves_show_the_step_a_dual_misses() -> None:
    """At a budget of £2,000 all 100 episodes are already from B: more money buys nothing
    (the dual is 0), but 5 % less (£1,900) forces 10 episodes back to A: −£400, i.e. £4/£."""
    plan = planner.solve(quality_mix(2000), marginal=True)
    values = plan.marginal_values
    budget = values[values.constraint == "budget"].set_index("subject")
    assert budget.loc["budget -5%", "marginal_value"] == approx(4)
    assert budget.loc["budget +5%", "marginal_value"] == approx(0)
    assert not ((values.constraint == "budget") & (values.method == "lp_dual")).any()


def test_marginal_values_written_with_plan(tmp_path) -> None:
    plan = planner.solve(quality_mix(1500), marginal=True)
    plan.to_dir(tmp_path / "plan")
    table = pd.read_csv(tmp_path / "plan" / "marginal_values.csv")
    assert {"constraint", "subject", "method", "marginal_value", "unit", "message"} <= set(table.columns)
    assert planner.verify(quality_mix(1500), plan) == []


# --- every integer variable fixed: carry-forward and multi-year break-even -------------------
SWITCH = dict(  # as in test_multi_year: A £10; B £8 but entering costs £300 once
    services=[{"service": "s", "demand": 100}],
    offers=[{"provider": "A", "service": "s", "price": 10},
            {"provider": "B", "service": "s", "price": 8}],
    providers=[{"provider": "A"}, {"provider": "B", "entry_cost": 300}],
)


def three_years(break_even: str) -> planner.Instance:
    """Demand 100 a year for 2010–2012 (mandatory), budget £1,080 a year, one level."""
    return build(**SWITCH, horizon_years=3, budget=1080, break_even=break_even)


def build(services, offers, providers, *, horizon_years: int, **policy) -> planner.Instance:
    frame = lambda rows: pd.DataFrame(rows, dtype=object)  # noqa: E731
    return planner.Instance.from_frames(
        {"name": "years", "population": 1000, "base_year": 2010, "horizon": horizon_years,
         "policy": policy},
        levels=frame([{"level": "pct", "order": 1, "population": 1000}]),
        services=frame([{"category": "elective", "mandatory": True, **s} for s in services]),
        providers=frame([{"kind": "nhs_trust", **p} for p in providers]),
        offers=frame([{"quality": 1.0, **o} for o in offers]))


def _demand_row(values: pd.DataFrame, year: int) -> pd.Series:
    rows = values[(values.constraint == "demand") & (values.subject == f"s@pct in {year}")]
    assert len(rows) == 1, values
    return rows.iloc[0]


def test_carry_forward_marginal_values_match_hand_values() -> None:
    """carry_forward: A in 2010 (£1,000, £80 carried), B from 2011 (1,100 = 1,080 + 20 carried,
    then 800): £2,900 (test_multi_year). The carry rule's binaries (``over``) must be fixed too,
    or the LP has no duals.

    Budget re-solves: −5 % (£1,026 a year): carrying £26 never covers B's £1,100 year, so A
      throughout, £3,000: (3,000 − 2,900) / £162 = £0.6173 per £. −1 % (£1,069.20; 69.20
      carried) and +1 % (£1,090.80; B's £1,100 still above a year's budget): B from 2011
      still, 0. +5 % (£1,134): B from 2010, £2,700: 200 / 162 = £1.2346 per £.
    Fixed plan, demand (one more episode also lifts x's own bound, the demand, with it):
      2010, A delivers all 100: one more costs A's £10 (1,010 ≤ 1,080), one fewer saves £10.
      2011, B delivers all 100 at x's bound, so the row's dual is anywhere in [−10, −8]; one
      more episode from B costs £8 (1,108 ≤ 1,080 + 80 carried), one fewer saves £8: −8 both,
      and the row is degenerate exactly when HiGHS's dual is not −8.
    """
    plan = planner.solve(three_years("carry_forward"), marginal=True)
    assert plan.status == "optimal" and plan.objective == approx(2900)
    values = plan.marginal_values
    budget = values[values.constraint == "budget"].set_index("subject")
    assert list(budget["marginal_value"]) == approx([100 / 162, 0, 0, 200 / 162], abs=1e-9)
    # −1 % is re-solved although B from 2011 still pays its way: the plan's own point carries
    # £80 into 2011, more than the £69.20 a smaller budget leaves, so it does not fit as it is
    assert list(budget["method"]) == ["milp_resolve"] * 4
    first = _demand_row(values, 2010)
    assert (first["value_plus_one"], first["value_minus_one"]) == approx((-10, -10))
    assert first["marginal_value"] == approx(-10) and not first["degenerate"]
    row = _demand_row(values, 2011)
    assert (row["value_plus_one"], row["value_minus_one"]) == approx((-8, -8))
    assert -10 - 1e-9 <= row["marginal_value"] <= -8 + 1e-9
    assert row["degenerate"] == (abs(row["marginal_value"] + 8) > 1e-6)
    assert ("Degenerate" in row["message"]) == row["degenerate"]


def test_multi_year_marginal_values_match_hand_values() -> None:
    """multi_year (3-year window, a year at most 2 % over): B from 2010, 1,100 + 800 + 800 =
    £2,700 (1,100 ≤ 1.02 × 1,080 = 1,101.60).

    Budget re-solves: −1 % (£1,069.20, cap £1,090.58) and −5 % (£1,026, cap £1,046.52): B's
      first year (1,100, or 1,100 + 2v with v episodes left at A) exceeds the cap, so A
      throughout, £3,000: 300 / 32.4 = £9.2593 and 300 / 162 = £1.8519 per £; +1 %, +5 %: 0.
    Fixed plan, demand: 2011 as under carry_forward (B at £8 both ways). In 2010 one more
      episode (from B, £8, or A, £10) would make the year at least 1,108 > 1,101.60: no
      optimum (blank); one fewer saves £8, while the dual is at least £8 (the kink's other
      side), so the row is flagged unless the dual is exactly −8.
    """
    plan = planner.solve(three_years("multi_year"), marginal=True)
    assert plan.status == "optimal" and plan.objective == approx(2700)
    values = plan.marginal_values
    budget = values[values.constraint == "budget"].set_index("subject")
    assert list(budget["marginal_value"]) == approx([300 / 162, 300 / 32.4, 0, 0], abs=1e-9)
    assert set(budget["method"]) <= {"milp_resolve", "milp_answered"}
    row = _demand_row(values, 2011)
    assert (row["value_plus_one"], row["value_minus_one"]) == approx((-8, -8))
    first = _demand_row(values, 2010)
    assert pd.isna(first["value_plus_one"]) and first["value_minus_one"] == approx(-8)
    assert first["degenerate"] == (abs(first["marginal_value"] + 8) > 1e-6)


@pytest.mark.parametrize("break_even", ["annual", "carry_forward", "multi_year"])
def test_default_solve_with_marginal_values_exits_0(tmp_path, break_even: str) -> None:
    """A default ``planner solve`` (marginal values on) of the 3-year instance above: exit 0
    under every break-even regime, with LP-dual rows in marginal_values.csv."""
    folder = tmp_path / "inst"
    folder.mkdir()
    (folder / "instance.yaml").write_text(
        "name: years\npopulation: 1000\nbase_year: 2010\nhorizon: 3\n"
        f"policy:\n  budget: 1080\n  break_even: {break_even}\n", encoding="utf-8")
    (folder / "levels.csv").write_text("level,order,population\npct,1,1000\n")
    (folder / "services.csv").write_text("service,category,demand,mandatory\ns,elective,100,true\n")
    (folder / "providers.csv").write_text("provider,kind,entry_cost\nA,nhs_trust,0\n"
                                          "B,nhs_trust,300\n")
    (folder / "offers.csv").write_text("provider,service,price,quality\nA,s,10,1\nB,s,8,1\n")
    done = subprocess.run([sys.executable, "-m", "planner", "solve", str(folder), "--out",
                           str(tmp_path / "plan")], capture_output=True, text=True, check=False,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(tmp_path / "plan" / "marginal_values.csv")
    assert (table["method"] == "lp_dual").any()
    assert {"value_plus_one", "value_minus_one", "degenerate"} <= set(table.columns)


# --- degenerate duals: the value of one more and one fewer unit -------------------------------
def test_one_more_and_one_fewer_unit_show_the_kink() -> None:
    """quality_mix at £1,500 with B's capacity 50: the plan is still 50 from A and 50 from B
    (−£6,000), but now B's capacity and the budget bind together, a degenerate vertex.

    One more episode of B's capacity is worth 0: using it needs £10 more budget. One fewer
    forces an episode from B (nets −80) to A (−40): it costs £40. The dual lies anywhere in
    [0, 40] (and the budget's in [0, 4]: one more £ buys nothing, one fewer moves 0.1 episode
    back to A, £4), so whichever of the two rows HiGHS prices, it is flagged degenerate with
    those one-unit values.
    """
    instance = quality_mix(1500)
    offers = instance.offers.copy()
    offers["capacity"] = [None, 50]
    instance = planner.Instance.from_frames(
        instance.config, **{**instance.tables(), "offers": offers})
    plan = planner.solve(instance, marginal=True)
    assert plan.objective == approx(-6000)
    values = plan.marginal_values.set_index(["constraint", "method"])
    expected = {"offer_capacity": (0, 40), "budget": (0, 4)}
    found = [name for name in expected if (name, "lp_dual") in values.index]
    assert found
    for name in found:
        row = values.loc[(name, "lp_dual")]
        assert (row["value_plus_one"], row["value_minus_one"]) == approx(expected[name])
        assert row["degenerate"] and "Degenerate" in row["message"]


def test_any_named_binary_is_fixed_for_the_lp() -> None:
    """A binary of any name, added to the model with a row that binds it, must not stop the
    LP duals: quality_mix at £1,500 with ``notice_drop`` ≥ (B's episodes − 40) / 100, i.e. 1
    whenever B delivers more than 40 episodes (it delivers 50), and free otherwise. The plan
    is unchanged (−£6,000) and the budget's dual is still £4 per £ (test above)."""
    from planner.analysis.marginal import marginal_values
    from planner.solver.session import PlanningModel

    session = PlanningModel(quality_mix(1500))
    m = session.model
    m.notice_drop = pyo.Var(domain=pyo.Binary)
    b = list(session.derived.contracts["provider"]).index("B")  # x is indexed by position
    m.notice_drop_rule = pyo.Constraint(expr=100 * m.notice_drop >= m.x[b, 0] - 40)
    base = session.run()
    assert base.objective == approx(-6000)
    values = marginal_values(session, base)
    dual = values[(values.constraint == "budget") & (values.method == "lp_dual")]
    assert list(dual["marginal_value"]) == approx([4])
    assert m.notice_drop.domain is pyo.Binary and not m.notice_drop.fixed  # restored


def test_a_demand_episode_that_saves_reads_as_lowering_the_objective() -> None:
    """A demand row's value is the objective's improvement per episode (outputs.md): +£2.85
    means one more episode lowers the objective by £2.85 (care that saves elsewhere, or is worth
    its QALYs), −£30 that it adds £30. Never "adds £-2.85"."""
    from planner.analysis.marginal_duals import _dual_message
    saves = _dual_message("demand", "demand", "home care", 2.85, "episodes")
    costs = _dual_message("demand", "demand", "GP consultations", -30.0, "episodes")
    assert saves == "One more episode of home care lowers the objective by £2.85 (fixed plan)."
    assert costs == "One more episode of GP consultations adds £30.00 to the objective (fixed plan)."
    assert "£-" not in _dual_message("demand", "demand", "x", 0.0, "episodes")
