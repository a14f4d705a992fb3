"""No alternative within the margin still writes a readable alternatives.csv.

On the toy the optimum (£1,383,000) is unique within 1e-6 of itself: ``--alternatives 2
--within 0.000001`` finds none. The table then has its columns and no rows; before, it was an
empty file that the plan folder's own reader refused, so ``planner solve`` exited 2.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import planner
from planner.results.folder import read_plan_table

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.solver
def test_no_alternative_within_the_margin_writes_an_empty_table(tmp_path: Path) -> None:
    toy = planner.load_instance(ROOT / "instances" / "toy")
    plan = planner.solve(toy, alternatives=2, within=1e-6)
    assert plan.objective == pytest.approx(1_383_000)
    plan.to_dir(tmp_path / "plan")
    table = read_plan_table(tmp_path / "plan" / "alternatives.csv")
    assert len(table) == 0 and {"alternative", "objective_gap", "differs"} <= set(table.columns)
