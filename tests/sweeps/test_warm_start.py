"""Sweeps that learn from their neighbours give exactly the answers of cold sweeps and fresh solves.

Warm starts and results carried to a tighter budget must never change a status or an objective:
each case here compares a warm sweep with a cold one (``warm=False``: greedy starts, every
scenario solved by HiGHS) and, where cheap, with separate ``planner.solve`` calls. Counts of
HiGHS solves are asserted (a carried result needs none); no timings are.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pyomo.environ as pyo
import pytest
from pytest import approx

import planner
from planner.solver.session import PlanningModel
from planner.sweeps.neighbours import neighbour_order
from planner.sweeps.scenarios import apply, load_sweep, scenarios

pytestmark = pytest.mark.solver

ROOT = Path(__file__).resolve().parents[2]
# £200,000 a QALY makes the toy's best plan buy an optional service (spend £1.393m): a budget
# under that binds (the £1.383m plan), and under £1.383m there is no plan at all.
BUDGETS = [1.6e6, 1.5e6, 1.45e6, 1.42e6, 1.40e6, 1.39e6, 1.383e6, 1.38e6, 1.37e6]
BUDGET_SWEEP = {"parameters": {"policy.value_per_qaly": [200_000],
                               "policy.budget": sorted(BUDGETS)}}  # given smallest first
PRICE_SWEEP = {"parameters": {"offers.price": {"scale": [0.97, 1.0, 1.005, 1.01, 1.02, 1.05]}}}


@pytest.fixture(scope="module")
def toy() -> planner.Instance:
    return planner.load_instance(ROOT / "instances" / "toy")


@pytest.fixture()
def solves(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The status of every HiGHS solve a sweep makes (in this process)."""
    statuses: list[str] = []
    run = PlanningModel.run

    def counted(self: PlanningModel, duals: bool = False):
        result = run(self, duals)
        statuses.append(result.status)
        return result

    monkeypatch.setattr(PlanningModel, "run", counted)
    return statuses


def assert_same(warm: pd.DataFrame, cold: pd.DataFrame) -> None:
    assert list(warm["scenario"]) == list(cold["scenario"])
    assert list(warm["status"]) == list(cold["status"])
    for a, b in zip(warm["objective"], cold["objective"]):
        assert (a != a) == (b != b)  # both NaN (no plan) or neither
        if a == a:
            assert a == approx(b, rel=2e-6)  # each within the 1e-6 MIP gap of the optimum


def test_budget_sweep_warm_equals_cold(toy: planner.Instance, solves: list[str]) -> None:
    """Largest budget first: the non-binding budgets take the £1.6m optimum with no solve; at
    £1.39m that plan (£1.393m) no longer fits and HiGHS solves again (greedy start); £1.38m is
    solved and proven infeasible, and £1.37m, tighter still, is infeasible without a solve."""
    warm = planner.sweep(toy, BUDGET_SWEEP, progress=False)
    warm_solves = list(solves)
    solves.clear()
    cold = planner.sweep(toy, BUDGET_SWEEP, progress=False, warm=False)
    assert_same(warm, cold)
    assert list(warm["policy.budget"]) == sorted(BUDGETS)  # the user's order, not the solve order
    assert list(warm["status"]) == ["infeasible"] * 2 + ["optimal"] * 7
    assert warm["objective"].iloc[2] == approx(573_000) and warm["spend"].iloc[2] == approx(1.383e6)
    assert warm["objective"].iloc[-1] == approx(493_000) and warm["spend"].iloc[-1] == approx(1.393e6)
    # base, £1.6m, £1.39m, £1.38m: four solves against one per scenario and the base cold
    assert warm_solves == ["optimal", "optimal", "optimal", "infeasible"]
    assert len(solves) == len(BUDGETS) + 1
    assert warm["message"].iloc[0] == cold["message"].iloc[0] != ""  # the same diagnosis
    for scenario in scenarios(load_sweep(BUDGET_SWEEP)):  # and a fresh solve agrees
        fresh = planner.solve(apply(toy, scenario), diagnose_infeasible=False)
        row = warm.set_index("scenario").loc[scenario.name]
        assert row["status"] == fresh.status
        if fresh.has_solution:
            assert row["objective"] == approx(fresh.objective, rel=2e-6)


def test_budget_sweep_two_workers(toy: planner.Instance) -> None:
    """Split across workers, each run of neighbours still gives the cold answers."""
    warm = planner.sweep(toy, BUDGET_SWEEP, workers=2, progress=False)
    cold = planner.sweep(toy, BUDGET_SWEEP, progress=False, warm=False)
    assert_same(warm, cold)


@pytest.mark.parametrize("large", [False, True])
def test_price_sweep_warm_equals_cold(toy: planner.Instance, solves: list[str], large: bool,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Prices re-set in place, the dearest first (over the £1.4m budget: infeasible), and HiGHS
    solves every one; the answers are the cold ones. A small model starts each from the greedy
    start; ``large`` (the threshold lowered to the toy's size) from the last one's plan, which
    HiGHS is then given as its start whenever that scenario had one."""
    import planner.sweeps.neighbours as neighbours

    starts: list[int] = []
    restart = PlanningModel.restart_from
    monkeypatch.setattr(PlanningModel, "restart_from", lambda self, start=None: (
        starts.append(0 if start is None else len(start)), restart(self, start))[-1])
    if large:
        monkeypatch.setattr(neighbours, "LARGE_MIP_BINARIES", 1)
    warm = planner.sweep(toy, PRICE_SWEEP, progress=False)
    assert len(solves) == 1 + len(PRICE_SWEEP["parameters"]["offers.price"]["scale"])
    given = [n for n in starts if n > 0]
    assert (len(given) > 0) == large  # greedy starts are None here; a neighbour's, its values
    cold = planner.sweep(toy, PRICE_SWEEP, progress=False, warm=False)
    assert_same(warm, cold)
    assert "infeasible" in set(warm["status"]) and "optimal" in set(warm["status"])


def test_an_infeasible_start_never_changes_the_answer(toy: planner.Instance) -> None:
    """HiGHS completes a start or discards it: a start that commissions nothing (no plan meets
    demand with it) and one that commissions everything give the cold optimum."""
    expected = planner.solve(toy).objective
    for value in (0, 1):
        session = PlanningModel(toy, mutable=True)
        session.run()  # a start given later is sent with the next solve's changes
        start = [(v, value) for v in session.model.component_data_objects(pyo.Var)
                 if v.is_integer()]
        session.restart_from(start)
        session.model.budget[0] = session.model.budget[0] + 1.0  # a change, so the start is sent
        result = session.run()
        assert result.status == "optimal"
        assert result.objective == approx(expected, rel=2e-6)


def test_neighbour_order() -> None:
    """Largest swept value first, numbers as numbers, ties in the user's order."""
    spec = load_sweep({"mode": "zip", "parameters": {"policy.budget": [2, 10, 1, 10]}})
    ordered = neighbour_order(scenarios(spec))
    assert [s.name for s in ordered] == ["s2", "s4", "s1", "s3"]


sys.path.insert(0, str(ROOT / "scripts"))
import generate_instance  # noqa: E402

needs_data = pytest.mark.skipif(
    not (generate_instance.DEFAULT_NHS_DATA / "ncc_2023_24.csv").is_file(),
    reason="the public NHS data files are not on this machine")


@needs_data
def test_generated_instance_warm_equals_cold(tmp_path: Path) -> None:
    """A tiny generated instance: a budget sweep down to infeasible, and a price sweep."""
    folder = tmp_path / "tiny"
    assert generate_instance.main(["--scale", "toy", "--seed", "11", "--out", str(folder)]) == 0
    instance = planner.load_instance(folder)
    base = instance.config.policy.budget
    base = base[0] if isinstance(base, list) else base
    for spec in ({"parameters": {"policy.budget": [base * f for f in
                                                  (0.8, 0.9, 0.95, 1.0, 1.05, 1.2)]}},
                 {"parameters": {"offers.price": {"scale": [0.9, 1.0, 1.1]}}}):
        warm = planner.sweep(instance, spec, progress=False)
        cold = planner.sweep(instance, spec, progress=False, warm=False)
        assert_same(warm, cold)
