"""Does a plan fit a smaller budget? The check behind every answer given without a re-solve.

The budget Params appear only in the break-even rows (formulations/budget.py, the registry's
budget rows), each an upper limit that grows with every year's budget: lowering budgets, and
nothing else, only removes plans. So a plan proven optimal at some budgets is optimal at any
smaller ones it still fits (it is feasible there, and nothing better can have appeared), and
a model proven infeasible stays infeasible with less money. Sweeps (planner.sweeps.neighbours)
and the post-plan analyses (planner.analysis.budget_steps) answer scenarios that way.
"""

from __future__ import annotations

from typing import Any

import pyomo.environ as pyo
from pyomo.core.expr.visitor import identify_mutable_parameters

from formulations.registry import BUDGET_ROWS

#: Rows in which the budget Params may appear, each an upper limit that grows with every year's
#: budget. A model whose budget appears in any other row gets no answer without a re-solve.
MONOTONE_BUDGET_ROWS = frozenset(BUDGET_ROWS)
#: Relative slack allowed when checking that a plan fits a budget row (HiGHS's own feasibility
#: tolerance is 1e-7 absolute on its scaled model; this is far stricter, and verify() follows).
FIT_TOLERANCE = 1e-9


def budget_rows(model: pyo.ConcreteModel) -> list | None:
    """The active rows holding the model's budget Params, or None if one of them is not a known
    monotone budget row (then no plan may be carried to another budget)."""
    budget = {id(p) for p in model.budget.values()} if hasattr(model, "budget") else set()
    rows: list = []
    for con in model.component_data_objects(pyo.Constraint, active=True):
        if any(id(p) in budget for p in identify_mutable_parameters(con.expr)):
            if con.parent_component().local_name not in MONOTONE_BUDGET_ROWS:
                return None
            rows.append(con)
    return rows


def fits(rows: list | None, incumbent: list[tuple] | None) -> bool:
    """True if the plan ``incumbent`` ([(VarData, value)] of every variable) meets every row of
    ``rows`` at the Param values now set (every other row is unchanged since it was found).
    The variables' values are restored afterwards."""
    if rows is None or not incumbent:
        return False
    saved = [(v, v.value) for v, _ in incumbent]
    try:
        for v, value in incumbent:
            v.set_value(value, skip_validation=True)
        return all(meets(con) for con in rows)
    finally:
        for v, value in saved:
            v.set_value(value, skip_validation=True)


def meets(con: Any) -> bool:
    """True if the row holds at the variables' current values (to FIT_TOLERANCE, relative)."""
    body = pyo.value(con.body)
    for bound, sign in ((con.lower, -1), (con.upper, 1)):
        if bound is None:
            continue
        limit = pyo.value(bound)
        if sign * (body - limit) > FIT_TOLERANCE * max(1.0, abs(limit)):
            return False
    return True
