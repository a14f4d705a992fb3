"""A mutable model re-set to new data in place keeps what its build filled in.

PlanningModel.update prepares the new data and keeps the build's own fields
(ModelData.BUILT_FIELDS); a field missed there is silently wrong after a re-set.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import planner
from planner.solver.session import PlanningModel

pytestmark = pytest.mark.solver

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["pct", "pct_payment", "pct_5y"])
def test_a_re_set_model_keeps_every_field_its_build_filled_in(name: str) -> None:
    """ModelData.prepare() leaves some fields to the build (variables, multi-year starts,
    payment data); a model re-set in place must keep them (ModelData.BUILT_FIELDS), or it
    extracts nothing for them (a bundled model re-set in place once lost its payment data and
    failed verification). Every field that differs from prepare()'s after building is either
    kept that way, re-stored in place (coef) or the greedy start's timing."""
    from formulations.model_data import ModelData

    session = PlanningModel(planner.load_instance(ROOT / "instances" / name), mutable=True)
    built, fresh = session.built.data, ModelData.prepare(session.derived)
    filled = {f for f in vars(built) if not _same(getattr(built, f), getattr(fresh, f))}
    assert filled - {"coef", "start_seconds"} <= set(ModelData.BUILT_FIELDS)


def _same(a, b) -> bool:
    import numpy as np

    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape \
            and bool(np.all((a == b) | (a != a)))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except (ValueError, TypeError):
        return a is b
