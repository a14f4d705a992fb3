"""The LP of a fixed plan: every integer variable fixed at its solved value, and its kinks.

Marginal values by LP dual need an LP. A MILP's plan becomes one when *every* integer variable
is fixed and made continuous, not only the planner's own decisions (y, z, w): a formulation may
add auxiliary binaries (the carry-forward rule's ``over``, notice binaries, ...), and one left
integer makes HiGHS return no duals at all. So the integer variables are found by walking the
model, never listed by name.

At a degenerate vertex the dual is only one side of a kink: one more unit of a row may be worth
less than the dual says, one fewer may cost more. :class:`OneUnit` measures both sides by
re-solving the fixed LP with the row's bound moved by ±1 unit, in HiGHS directly (the LP is
small and the solver warm-starts from the last basis).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import highspy
import numpy as np
import pyomo.environ as pyo

from formulations.start import START_ATTRIBUTE
from planner.solver.highs import HighsAdapter, SolveResult
from planner.solver.session import PlanningModel

KINK_TOL = 1e-4  # relative: one-unit values further than this from the dual mark a kink


def integer_vars(model: pyo.ConcreteModel) -> list:
    """Every unfixed integer (or binary) variable of ``model``, whatever its component's name."""
    return [v for v in model.component_data_objects(pyo.Var, descend_into=True)
            if not v.fixed and (v.is_integer() or v.is_binary())]


def _values_of_integers(session: PlanningModel, base: SolveResult, free: list) -> dict[int, float]:
    """The plan's value of each integer variable: from ``base`` where it was read back, and for
    the rest (auxiliary binaries the plan's solve did not return) from a re-solve of the MILP
    with the plan's own decisions fixed, so they are consistent with ``base``."""
    model = session.model
    known: dict[int, float] = {}
    for name, values in base.values.items():
        var = getattr(model, name, None)
        if var is None:
            continue
        for i, value in zip(var.index_set(), values):
            known[id(var[i])] = value
    rest = [v for v in free if id(v) not in known]
    if not rest:
        return known
    pinned = [v for v in free if id(v) in known]
    for v in pinned:
        v.fix(round(known[id(v)]))
    names = tuple(dict.fromkeys(v.parent_component().name for v in rest))
    try:
        result = HighsAdapter(session.options).solve(model, var_names=names)
    finally:
        for v in pinned:
            v.unfix()
    if result.has_solution:
        for name in names:
            var = getattr(model, name)
            for i, value in zip(var.index_set(), result.values[name]):
                known[id(var[i])] = value
    return known


@contextmanager
def fixed_plan(session: PlanningModel, base: SolveResult) -> Iterator[bool]:
    """Within the block, every integer variable of the session's model is fixed at its value in
    ``base`` and continuous (yields False if some value could not be found: then no LP). The
    model is restored afterwards, MIP start included."""
    model = session.model
    start = model.__dict__.pop(START_ATTRIBUTE, None)  # the MIP start means nothing to this LP
    free = integer_vars(model)
    changed = []
    try:
        values = _values_of_integers(session, base, free)
        complete = all(id(v) in values for v in free)
        if complete:
            for v in free:
                changed.append((v, v.domain))
                v.domain = pyo.Reals  # continuous; fixed, so its bounds do not matter
                v.fix(round(values[id(v)]))
        yield complete
    finally:
        for v, domain in changed:
            v.unfix()
            v.domain = domain
        if start is not None:
            setattr(model, START_ATTRIBUTE, start)


class OneUnit:
    """Measures the value of one unit more and one fewer of rows of the LP last solved by
    ``adapter``, in HiGHS directly (the LP and its basis stay loaded; each move is undone).

    Moving a rule by one unit moves the same limit wherever the fixed LP states it again: a
    big-M row ``x − M·z ≤ 0`` with z fixed at 1 and M the capacity, or x's own upper bound at the
    demand, restates part of a capacity or demand row. So with row r (free columns F, bound b)
    every other row or column bound whose free columns are a subset of F, with coefficients λ
    times r's and bound λ·b on the same side (λ > 0), is moved by λ units with it, as a change
    of the data would move it. Otherwise the restated limit would hold the plan, and one more
    unit would look worthless."""

    def __init__(self, adapter: HighsAdapter) -> None:
        solver = adapter.solver
        self.highs = solver._solver_model  # kept by Pyomo's persistent interface (as FastHighs)
        self.row_of = solver._pyomo_con_to_solver_con_map
        lp = self.highs.getLp()
        self.row_lower, self.row_upper = np.array(lp.row_lower_), np.array(lp.row_upper_)
        self.col_lower, self.col_upper = np.array(lp.col_lower_), np.array(lp.col_upper_)
        fixed = self.col_lower == self.col_upper
        a = lp.a_matrix_
        start, index, value = np.array(a.start_), np.array(a.index_), np.array(a.value_)
        if a.format_ == highspy.MatrixFormat.kRowwise:  # make it column-wise
            rows = np.repeat(np.arange(lp.num_row_), np.diff(start))
            start, index, value = _csc(index, rows, value, lp.num_col_)
        cols = np.repeat(np.arange(lp.num_col_), np.diff(start))
        self.fixed_part = np.bincount(index, weights=np.where(fixed[cols], value * self.col_lower[
            cols], 0.0), minlength=lp.num_row_)
        free = ~fixed[cols]
        self.col_start, self.col_rows, self.col_vals = _csc(cols[free], index[free], value[free],
                                                            lp.num_col_)
        self.row_start, self.row_cols, self.row_vals = _csc(index[free], cols[free], value[free],
                                                            lp.num_row_)

    def values(self, con, objective: float) -> tuple[float | None, float | None]:
        """(value of one more unit, value of one fewer) of row ``con``: the objective's
        improvement when the rule is relaxed by one unit (≤ rows: bound + 1; ≥ rows: bound − 1;
        equalities: right-hand side + 1, e.g. one more episode of demand), and its worsening
        when tightened by one. None where the moved LP has no optimum."""
        row = self.row_of.get(con)
        if self.highs is None or row is None:
            return None, None
        if con.equality:
            sides, sign = ("upper", "lower"), 1.0
        elif not math.isinf(self.row_upper[row]):
            sides, sign = ("upper",), 1.0
        else:
            sides, sign = ("lower",), -1.0  # relaxing a ≥ row lowers its bound
        moves = self._duplicates(row, sides)
        plus, minus = self._moved(moves, sign), self._moved(moves, -sign)
        self.highs.run()  # back at the LP's own optimum (its basis) for the next row
        return (None if plus is None else objective - plus,
                None if minus is None else minus - objective)

    def _duplicates(self, row: int, sides: tuple[str, ...]) -> list[tuple[str, int, str, float]]:
        """[(row | col, index, side, λ)]: the row itself, and every restatement of its limit
        (only of a non-zero limit: a zero bound is no shared number)."""
        span = slice(self.row_start[row], self.row_start[row + 1])
        coef = dict(zip(self.row_cols[span].tolist(), self.row_vals[span].tolist()))
        moves = [("row", row, side, 1.0) for side in sides]
        bound = {"upper": self.row_upper[row] - self.fixed_part[row],
                 "lower": self.row_lower[row] - self.fixed_part[row]}
        sides = tuple(side for side in sides if abs(bound[side]) > 1e-9)
        others: set[int] = set()
        for j, a in coef.items():
            others.update(self.col_rows[self.col_start[j]:self.col_start[j + 1]].tolist())
            for side in sides:  # x_j's own bound, the one-column restatement
                limit = (self.col_upper if side == "upper" else self.col_lower)[j]
                if a > 0 and _close(limit, bound[side] / a):
                    moves.append(("col", j, side, 1.0 / a))
        others.discard(row)
        for other in sorted(others):
            span = slice(self.row_start[other], self.row_start[other + 1])
            theirs = dict(zip(self.row_cols[span].tolist(), self.row_vals[span].tolist()))
            if not theirs or not set(theirs) <= set(coef):
                continue
            ratios = [theirs[j] / coef[j] for j in theirs]
            ratio = ratios[0]
            if ratio <= 0 or max(ratios) - min(ratios) > 1e-9 * ratio:
                continue
            for side in sides:
                limit = (self.row_upper if side == "upper" else self.row_lower)[other]
                if _close(limit - self.fixed_part[other], ratio * bound[side]):
                    moves.append(("row", other, side, ratio))
        return moves

    def _moved(self, moves: list[tuple[str, int, str, float]], step: float) -> float | None:
        """The LP's objective with every bound in ``moves`` shifted by step × λ (None: no
        optimum); the bounds are restored afterwards."""
        bounds: dict[tuple[str, int], list[float]] = {}
        for kind, index, side, ratio in moves:
            lower, upper = ((self.row_lower, self.row_upper) if kind == "row"
                            else (self.col_lower, self.col_upper))
            new = bounds.setdefault((kind, index), [lower[index], upper[index]])
            new[1 if side == "upper" else 0] += step * ratio
        for (kind, index), (lo, up) in bounds.items():
            change = self.highs.changeRowBounds if kind == "row" else self.highs.changeColBounds
            change(index, lo, up)
        self.highs.run()
        ok = self.highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
        value = self.highs.getInfo().objective_function_value if ok else None
        for kind, index in bounds:
            if kind == "row":
                self.highs.changeRowBounds(index, self.row_lower[index], self.row_upper[index])
            else:
                self.highs.changeColBounds(index, self.col_lower[index], self.col_upper[index])
        return value


def _csc(major: np.ndarray, minor: np.ndarray, value: np.ndarray, n: int) -> tuple:
    """Compressed (start, minor, value) arrays grouped by ``major`` (0..n−1)."""
    order = np.argsort(major, kind="stable")
    start = np.concatenate([[0], np.cumsum(np.bincount(major, minlength=n))])
    return start, minor[order], value[order]


def _close(a: float, b: float) -> bool:
    return not math.isinf(a) and abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def is_kink(value: float, plus: float | None, minus: float | None) -> bool:
    """True if one more or one fewer unit, where measured, is worth more than KINK_TOL
    (relative) away from the dual's ``value``. A side with no optimum (e.g. one more episode of
    demand than the fixed plan's contracts may carry) is reported blank, not as a kink."""
    tol = KINK_TOL * max(1.0, abs(value))
    return any(side is not None and abs(side - value) > tol for side in (plus, minus))
