"""An infeasible scenario's message costs one family's elastic solves, or none.

A sweep row carries the first relaxation of the scenario's diagnosis (what ``planner solve``
prints first). A budget row that alone restores a plan is always first, so it is looked for
first (diagnosis.first_relaxation); and the shortfall at budget B is the least spend m minus B,
with m the same at every budget, so a budget sweep's later infeasible scenarios are restated
from the first one found (planner.sweeps.neighbours). Each message here is checked against the
whole diagnosis of a fresh ``planner.solve``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import planner
import planner.analysis.diagnosis as diagnosis
from planner.derive.tables import derive
from planner.solver.highs import SolveOptions
from planner.sweeps.scenarios import apply, load_sweep, scenarios

pytestmark = pytest.mark.solver

ROOT = Path(__file__).resolve().parents[2]
# The toy's cheapest plan meeting every other rule costs £1,383,000 (tests/sweeps/test_sweep.py):
# £1.38m is £3,000 short, £1.37m £13,000, £1.35m £33,000; £1.4m has a plan.
BUDGETS = [1_350_000, 1_370_000, 1_380_000, 1_400_000]
SHORT = {1_350_000: "£33,000", 1_370_000: "£13,000", 1_380_000: "£3,000"}


@pytest.fixture(scope="module")
def toy() -> planner.Instance:
    return planner.load_instance(ROOT / "instances" / "toy")


@pytest.fixture()
def family_solves(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The family names made elastic, one entry per call."""
    seen: list[str] = []
    original = diagnosis._family_rows

    def counted(elastic, families, options, instance):
        seen.append(families[0].name)
        return original(elastic, families, options, instance)

    monkeypatch.setattr(diagnosis, "_family_rows", counted)
    return seen


def first_of_full_diagnosis(instance: planner.Instance) -> str:
    plan = planner.solve(instance)
    return plan.diagnosis["relaxations"][0]["message"]


def test_budget_sweep_diagnoses_once(toy: planner.Instance, family_solves: list[str]) -> None:
    """Largest budget first: £1.38m is the first infeasible scenario, diagnosed by the budget
    family's elastic solve alone; £1.37m and £1.35m are restated from it (no elastic solve)."""
    spec = {"parameters": {"policy.budget": BUDGETS}}
    table = planner.sweep(toy, spec, progress=False).set_index("policy.budget")
    assert family_solves == ["budget"]
    for budget, short in SHORT.items():
        assert table.loc[budget, "status"] == "infeasible"
        assert f"is {short} short of the cheapest plan" in table.loc[budget, "message"]
    assert table.loc[1_400_000, "message"] == ""
    family_solves.clear()
    for scenario in scenarios(load_sweep(spec))[:3]:  # each the whole diagnosis' first message
        message = table.loc[dict(scenario.values)["policy.budget"], "message"]
        assert message == first_of_full_diagnosis(apply(toy, scenario))


def test_cold_sweep_diagnoses_each_by_its_budget_rows(toy: planner.Instance,
                                                     family_solves: list[str]) -> None:
    """Without neighbours each infeasible scenario has its own elastic solve, of the budget
    family only, and the same messages."""
    spec = {"parameters": {"policy.budget": BUDGETS}}
    cold = planner.sweep(toy, spec, progress=False, warm=False).set_index("policy.budget")
    assert family_solves == ["budget"] * 3
    for budget, short in SHORT.items():
        assert f"is {short} short" in cold.loc[budget, "message"]


def test_other_causes_get_the_whole_diagnosis(toy: planner.Instance,
                                              family_solves: list[str]) -> None:
    """With money to spare and a third of each offer's capacity, the budget explains nothing:
    first_relaxation falls back to the whole diagnosis, and gives its first row (compared with
    diagnose() itself: ``planner solve`` refuses this instance in its prechecks)."""
    spec = {"parameters": {"policy.budget": [1_600_000], "offers.capacity": {"scale": [0.3]}}}
    variant = apply(toy, scenarios(load_sweep(spec))[0])
    row = diagnosis.first_relaxation(variant, derive(variant), SolveOptions())
    assert family_solves[0] == "budget" and len(family_solves) > 1
    assert row is not None and row["constraint"] != "budget"
    full = diagnosis.diagnose(variant, derive(variant), SolveOptions())[0]["relaxations"]
    assert row == full[0]
