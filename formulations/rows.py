"""The one idiom that builds the model's rows: an index and the rows aligned with it.

Every family declares its rows as ``m.name = rows(index, (row(key) for key in index))``: the
index is a list of keys (a key, or (key, year)); each row is made directly as a
``LinearExpression`` of (coefficient, variable) terms and wrapped in the relational expression
Pyomo itself would make from the operators, with the same orientation (a ≥ b is stored as
b − a ≤ 0, as Pyomo stores it). Coefficients are Python floats (or a mutable build's Params): a
numpy scalar times a Pyomo variable goes through numpy's ufunc machinery, several times slower.
Building this way instead of through operator overloading and generator sums roughly halves the
time to declare the large families (see docs/performance.md).

Rows whose sides hold a named Expression (spend, transaction costs) or a mutable Param outside a
coefficient (the budget, the notice big-M's constant) are written with Pyomo's operators, still
through :func:`rows`; per-element ``rule=`` callbacks are not used.
"""

from __future__ import annotations

import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression
from pyomo.core.expr.relational_expr import EqualityExpression, InequalityExpression


def linear(terms) -> LinearExpression:
    """Σ coef·var of an iterable of (coefficient, variable) pairs."""
    return LinearExpression([MonomialTermExpression((coef, var)) for coef, var in terms])


def at_most(body: LinearExpression, upper: float | object = 0.0) -> InequalityExpression:
    """body ≤ upper."""
    return InequalityExpression((body, upper), False)


def at_least(body: LinearExpression, lower: float) -> InequalityExpression:
    """lower ≤ body."""
    return InequalityExpression((lower, body), False)


def equal(body: LinearExpression, value: float) -> EqualityExpression:
    return EqualityExpression((body, value))


def rows(index: list, exprs) -> pyo.Constraint:
    """An indexed Constraint over ``index`` whose rows are ``exprs`` (aligned with it)."""
    table = dict(zip(index, exprs))
    if index and isinstance(index[0], tuple):
        return pyo.Constraint(index, rule=lambda _, *key: table[key])
    return pyo.Constraint(index, rule=lambda _, key: table[key])


def expressions(index, exprs) -> pyo.Expression:
    """An indexed named Expression over ``index`` whose values are ``exprs`` (aligned with it):
    the model's £ and QALY totals by year, built the same way as rows."""
    index = list(index)
    return pyo.Expression(index, initialize=dict(zip(index, exprs)))
