"""Pyomo formulations of the commissioning model: pure functions of derived data.

``build(derived)`` picks the single-year model (MODEL §2) for a horizon of one year and the
multi-year model (MODEL §3) otherwise; both are built from the constraint families declared
once in :mod:`formulations.registry` (one module per group of families).
"""

from __future__ import annotations

from formulations import multi_year, single_year
from formulations.model_data import BuiltModel
from planner.derive.tables import Derived


def build(derived: Derived) -> BuiltModel:
    """Build the model for ``derived`` (single-year when its horizon is 1)."""
    if derived.horizon == 1:
        return single_year.build(derived)
    return multi_year.build(derived)


__all__ = ["BuiltModel", "build"]
