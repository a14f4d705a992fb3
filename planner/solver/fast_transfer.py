"""The first transfer of a Pyomo model to HiGHS in one pass over its expressions.

Pyomo's persistent ``Highs`` walks each constraint's expression three times (standardising its
bounds, collecting its variables, generating its linear representation) and the objective
three more (collecting variables and named expressions, ``generate_standard_repn``, then one
``value()`` walk per mutable coefficient). At England scale (350,000 rows, an objective of
400,000 terms whose 79,000 QALY terms carry the mutable £ per QALY) that was 9 s for the rows
and 5 s for the objective, most of the planner's time before HiGHS starts.

:class:`FastTransfer` reads what it can in one pass and leaves the rest to Pyomo:

* a row whose body is a plain ``LinearExpression`` of constant coefficients times unfixed
  variables, with constant bounds (nearly all of the planner's rows), is read directly and all
  such rows go to HiGHS in one ``addRows`` call (:class:`LinearRows`);
* an objective that is linear, each coefficient a constant or a constant times one mutable
  Param (the planner's: spend − λ·QALYs), is read into constant costs and Param terms and sent
  in one ``changeColsCost`` call (:class:`ObjectiveTerms`); a re-solve re-sends only the Param
  columns, and only when a Param changed (:class:`ParamCosts`).

Anything else (mutable row data, products of parameters, nonlinear terms, fixed variables in a
row) takes Pyomo's own path, so a re-solve after changing a parameter behaves exactly as
before. Pyomo's bookkeeping (which row and the objective reference which variable, the named
expressions to watch) is kept as ``PersistentSolverUtils`` keeps it, so later updates, removals
and duals work unchanged; ``tests/solve/test_fast_transfer.py`` checks HiGHS holds the same
model either way, before and after a parameter changes.
"""

from __future__ import annotations

from itertools import chain, repeat

import highspy
import numpy as np
from pyomo.common.numeric_types import value
from pyomo.core.expr.numeric_expr import (
    LinearExpression,
    MonomialTermExpression,
    NegationExpression,
    ProductExpression,
    SumExpression,
)
from pyomo.core.expr.numvalue import native_numeric_types


class LinearRows:
    """Linear rows read straight from their expressions (see the module docstring)."""

    def __init__(self) -> None:
        self.cons: list = []
        self.variables: list[list] = []
        self.coefs: list[list[float]] = []
        self.lower: list[float] = []
        self.upper: list[float] = []

    def add(self, con) -> bool:
        """Read ``con`` if it is a plain linear row with constant data; False otherwise."""
        lower, body, upper = con.to_bounded_expression()
        if not (_constant(lower) and _constant(upper)):
            return False
        if body.__class__ is LinearExpression:
            args = body.args
        elif getattr(body, "is_variable_type", lambda: False)():
            args = (body,)
        else:
            return False
        variables: list = []
        coefs: list[float] = []
        constant = 0.0
        for arg in args:  # the hot loop of the transfer: attributes read directly
            cls = arg.__class__
            if cls is MonomialTermExpression:
                coef, var = arg._args_
                if coef.__class__ not in native_numeric_types:
                    return False
            elif cls in native_numeric_types:
                constant += arg
                continue
            elif arg.is_variable_type():
                coef, var = 1, arg
            else:
                return False
            if var._fixed:
                return False
            variables.append(var)
            coefs.append(coef)
        if len({id(v) for v in variables}) < len(variables) or not all(coefs):
            variables, coefs = _merged(variables, coefs)
        self.cons.append(con)
        self.variables.append(variables)
        self.coefs.append(coefs)
        self.lower.append(-highspy.kHighsInf if lower is None else lower - constant)
        self.upper.append(highspy.kHighsInf if upper is None else upper - constant)
        return True


def _merged(variables: list, coefs: list[float]) -> tuple[list, list[float]]:
    """One coefficient per variable (summed), zeros dropped, as ``generate_standard_repn``."""
    total: dict[int, float] = {}
    first: dict[int, object] = {}
    for var, coef in zip(variables, coefs):
        total[id(var)] = total.get(id(var), 0.0) + coef
        first.setdefault(id(var), var)
    kept = [(first[i], c) for i, c in total.items() if c]
    return [v for v, _ in kept], [c for _, c in kept]


def _constant(bound) -> bool:
    return bound is None or bound.__class__ in native_numeric_types


class _NotSimple(Exception):
    """The objective is not linear with coefficients c₀ + p·c₁: Pyomo's own path reads it."""


class ObjectiveTerms:
    """A linear objective as constant costs plus terms coefficient × mutable Param × variable.

    ``costs`` maps id(variable) to its constant coefficient; ``scaled`` lists (id(variable),
    Param, coefficient) for the Param terms (the £ per QALY on each QALY term; in a sweep's
    mutable build, each price Param on its activity term); ``offset`` and ``scaled_offset`` are
    the constant term likewise. A fixed variable is a parameter, as in Pyomo's path: its terms
    are kept in ``fixed`` as (variable, coefficient, Param or None) and evaluated whenever the
    offset is sent, so a new value reaches HiGHS even through ``update_parameters`` alone; it is
    still listed in ``variables`` so that fixing or unfixing it re-sets the objective.
    """

    def __init__(self, expr) -> None:
        self.variables: dict[int, object] = {}
        self.named: dict[int, object] = {}
        self.costs: dict[int, float] = {}
        self.scaled: list[tuple[int, object, float]] = []
        self.offset = 0.0
        self.scaled_offset: list[tuple[object, float]] = []
        self.fixed: list[tuple[object, float, object]] = []
        self._walk(expr, 1.0, None)

    @classmethod
    def read(cls, expr) -> ObjectiveTerms | None:
        """The terms of ``expr``, or None if it is not of this simple form."""
        try:
            return cls(expr)
        except _NotSimple:
            return None

    def _walk(self, expr, scale: float, param) -> None:
        """Add ``scale`` × (``param`` or 1) × ``expr``."""
        cls = expr.__class__
        if cls in native_numeric_types:
            self._constant(scale * expr, param)
        elif cls is LinearExpression or cls is SumExpression:
            for arg in expr.args:
                self._walk(arg, scale, param)
        elif cls is MonomialTermExpression:
            coef, var = expr.args
            self._variable(var, *_factor(coef, scale, param))
        elif cls is NegationExpression:
            self._walk(expr.args[0], -scale, param)
        elif cls is ProductExpression:
            left, right = expr.args
            if _is_factor(left):
                self._walk(right, *_factor(left, scale, param))
            elif _is_factor(right):
                self._walk(left, *_factor(right, scale, param))
            else:
                raise _NotSimple
        elif expr.is_variable_type():
            self._variable(expr, scale, param)
        elif expr.is_named_expression_type():
            self.named[id(expr)] = expr
            self._walk(expr.expr, scale, param)
        elif expr.is_parameter_type():
            self._constant(*_factor(expr, scale, param))
        elif expr.is_constant():  # a NumericConstant: an empty cost family's Expression
            self._constant(scale * value(expr), param)
        else:
            raise _NotSimple

    def _variable(self, var, coef: float, param) -> None:
        self.variables[id(var)] = var
        if var.fixed:
            self.fixed.append((var, coef, param))
        elif param is None:
            self.costs[id(var)] = self.costs.get(id(var), 0.0) + coef
        else:
            self.scaled.append((id(var), param, coef))

    def _constant(self, amount: float, param) -> None:
        if param is None:
            self.offset += amount
        else:
            self.scaled_offset.append((param, amount))


def _factor(coef, scale: float, param) -> tuple[float, object]:
    """``scale`` × ``coef`` as (number, the one mutable Param or None); two Params multiplied
    together are not of the simple form."""
    if coef.__class__ in native_numeric_types:
        return scale * coef, param
    if coef.is_parameter_type() and not coef.is_constant():  # a mutable Param
        if param is not None:
            raise _NotSimple
        return scale, coef
    if coef.is_constant():  # an immutable Param
        return scale * value(coef), param
    raise _NotSimple


def _is_factor(arg) -> bool:
    return arg.__class__ in native_numeric_types or arg.is_parameter_type()


class ParamCosts:
    """The objective's Param terms in HiGHS: re-sent on a re-solve only when a Param changed.

    Stands in for Pyomo's ``_MutableObjective`` (which calls ``value()`` on every mutable
    coefficient at every update: 79,000 expression walks at England scale)."""

    def __init__(self, highs, terms: ObjectiveTerms, columns: dict[int, int]) -> None:
        self.highs = highs
        self.columns = columns  # Pyomo's id(var) -> column map, read at each update
        self.ids = list(dict.fromkeys(i for i, _, _ in terms.scaled))
        position = {i: k for k, i in enumerate(self.ids)}
        self.base = np.array([terms.costs.get(i, 0.0) for i in self.ids])
        self.column_of_term = np.array([position[i] for i, _, _ in terms.scaled], dtype=np.int64)
        self.coef = np.array([c for _, _, c in terms.scaled])
        self.params = [p for _, p, _ in terms.scaled]
        self.offset = terms.offset
        self.scaled_offset = terms.scaled_offset
        self.fixed = terms.fixed
        self.sent: tuple | None = None

    def update(self) -> None:
        values = tuple(float(value(p)) for p in self.params)
        offset_values = tuple(float(value(p)) for p, _ in self.scaled_offset)
        fixed_values = tuple(float(value(v)) * (1.0 if p is None else float(value(p)))
                             for v, _, p in self.fixed)
        if (values, offset_values, fixed_values) == self.sent:
            return
        if self.ids:
            cost = self.base + np.bincount(self.column_of_term, weights=self.coef * values,
                                           minlength=len(self.ids))
            index = np.fromiter(map(self.columns.__getitem__, self.ids), dtype=np.int32,
                                count=len(self.ids))
            self.highs.changeColsCost(len(self.ids), index, cost)
        offset = (self.offset + sum(v * a for v, (_, a) in zip(offset_values, self.scaled_offset))
                  + sum(v * c for v, (_, c, _) in zip(fixed_values, self.fixed)))
        self.highs.changeObjectiveOffset(offset)
        self.sent = (values, offset_values, fixed_values)


class FastTransfer:
    """The fast paths of a persistent ``Highs`` subclass (mixed in before ``Highs``)."""

    def add_constraints(self, cons):
        rows = LinearRows()
        slow = []
        for con in cons:
            if con in self._named_expressions:
                raise ValueError(f"Constraint {con.name} has already been added")
            if not rows.add(con):
                slow.append(con)
        if rows.cons:
            self._add_fast_rows(rows)
        if slow:
            super().add_constraints(slow)

    def _add_fast_rows(self, rows: LinearRows) -> None:
        """Register rows as PersistentSolverUtils would, then send them in one addRows call."""
        referenced = self._referenced_variables
        new_vars = {id(v): v for variables in rows.variables for v in variables
                    if id(v) not in referenced}
        if new_vars:
            self.add_variables(list(new_vars.values()))
        self._invalidate()
        col = self._pyomo_var_to_solver_var_map
        con_map, solver_con_map = self._pyomo_con_to_solver_con_map, self._solver_con_to_pyomo_con_map
        first = len(con_map)
        for n, (con, variables) in enumerate(zip(rows.cons, rows.variables)):
            self._active_constraints[con] = con.expr
            self._named_expressions[con] = []
            self._vars_referenced_by_con[con] = variables
            con_map[con] = first + n
            solver_con_map[first + n] = con
        # the entries of every row flattened (750,000 at England scale): map() over lists, not a
        # Python loop per entry
        ids = list(map(id, chain.from_iterable(rows.variables)))
        lengths = list(map(len, rows.variables))
        for i, con in zip(ids, chain.from_iterable(map(repeat, rows.cons, lengths))):
            referenced[i][0][con] = None
        starts = np.zeros(len(lengths), dtype=np.int32)
        np.cumsum(lengths[:-1], out=starts[1:])
        indices = np.fromiter(map(col.__getitem__, ids), dtype=np.int32, count=len(ids))
        values = np.fromiter(chain.from_iterable(rows.coefs), dtype=np.double, count=len(ids))
        self._solver_model.addRows(
            len(rows.cons), np.array(rows.lower, dtype=np.double),
            np.array(rows.upper, dtype=np.double), len(values), starts, indices, values)

    def set_objective(self, obj):
        """As ``PersistentSolverUtils.set_objective`` followed by ``Highs._set_objective``, for an
        objective :class:`ObjectiveTerms` can read; Pyomo's own path otherwise."""
        terms = ObjectiveTerms.read(obj.expr) if (
            obj is not None and self._treat_fixed_vars_as_params) else None
        if terms is None:
            return super().set_objective(obj)
        if self._objective is not None:
            for v in self._vars_referenced_by_obj:
                self._referenced_variables[id(v)][2] = None
            self._check_to_remove_vars(self._vars_referenced_by_obj)
            self._external_functions.pop(self._objective, None)
        variables = list(terms.variables.values())
        self._objective, self._objective_expr, self._objective_sense = obj, obj.expr, obj.sense
        self._check_for_new_vars(variables)
        self._obj_named_expressions = [(e, e.expr) for e in terms.named.values()]
        self._vars_referenced_by_obj = variables
        for v in variables:
            self._referenced_variables[id(v)][2] = obj
        self._send_objective(obj, terms)

    def _send_objective(self, obj, terms: ObjectiveTerms) -> None:
        self._invalidate()
        col = self._pyomo_var_to_solver_var_map
        n = len(col)
        costs = np.zeros(n, dtype=np.double)
        base = terms.costs
        if base:
            costs[np.fromiter((col[i] for i in base), dtype=np.int64, count=len(base))] = \
                np.fromiter(base.values(), dtype=np.double, count=len(base))
        sense = highspy.ObjSense.kMinimize if obj.is_minimizing() else highspy.ObjSense.kMaximize
        self._solver_model.changeObjectiveSense(sense)
        self._solver_model.changeColsCost(n, np.arange(n, dtype=np.int32), costs)
        self._mutable_objective = ParamCosts(self._solver_model, terms, col)
        self._mutable_objective.update()

    def _invalidate(self) -> None:
        """Forget the last solution, as each of Pyomo's model changes does."""
        self._sol = None
        if self._last_results_object is not None:
            self._last_results_object.solution_loader.invalidate()
