"""The constraint families, by their old import path (kept for a release).

The families now live in one module per group (:mod:`formulations.demand`, ``capacity``,
``choice``, ``budget``, ``levels``, ``years``), the data they read in
:mod:`formulations.model_data`, the row builders in :mod:`formulations.rows`, and they are
declared once in :data:`formulations.registry.REGISTRY`.
"""

from __future__ import annotations

from formulations.budget import budgets
from formulations.costs import add_objective, add_running_costs
from formulations.model_data import BuiltModel, ModelData, gc_paused, groups, year_index
from formulations.registry import BUDGET_ROWS
from formulations.rows import at_least, at_most, equal, linear, rows
from formulations.variables import declare_variables

__all__ = ["BUDGET_ROWS", "BuiltModel", "ModelData", "add_objective", "add_running_costs",
           "at_least", "at_most", "budgets", "declare_variables", "equal", "gc_paused", "groups",
           "linear", "rows", "year_index"]
