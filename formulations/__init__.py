"""Pyomo formulations of the commissioning model: pure functions of derived data.

``build(derived)`` picks the single-year model (MODEL §2) for a horizon of one year and the
multi-year model (MODEL §3) otherwise; both declare their constraint families with the shared
code in :mod:`formulations.families`.
"""

from __future__ import annotations

from formulations import multi_year, single_year
from formulations.families import BuiltModel
from planner.derive.tables import Derived


def build(derived: Derived) -> BuiltModel:
    """Build the model for ``derived`` (single-year when its horizon is 1)."""
    if derived.horizon == 1:
        return single_year.build(derived)
    return multi_year.build(derived)


__all__ = ["BuiltModel", "build"]
