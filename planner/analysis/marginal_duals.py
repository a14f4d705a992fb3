"""Marginal values from LP duals (method ``lp_dual``): the LP of the plan with every integer
variable fixed, its shadow prices, and the value of one more and one fewer unit of each row
(:mod:`planner.solver.fixed_lp`). The MILP re-solves are in :mod:`planner.analysis.marginal`.
"""

from __future__ import annotations

from formulations.registry import with_duals
from planner.analysis.diagnosis import FAMILIES, subject_of
from planner.formats import unit_money
from planner.rules import Status
from planner.solver.fixed_lp import OneUnit, fixed_plan, is_kink
from planner.solver.highs import HighsAdapter, SolveResult
from planner.solver.session import PlanningModel

DUAL_TOL = 1e-7
MAX_KINK_RESOLVES = 200  # rows whose ±1-unit values are measured (2 LP re-solves each)
#: component -> (unit of one more, what it is), in the order of marginal_values.csv (registry)
DUAL_COMPONENTS = {rows.component: (rows.unit, rows.dual[1]) for _, rows in with_duals()}


def lp_duals(session: PlanningModel, base: SolveResult) -> list[dict]:
    """Shadow prices of the LP with every integer variable fixed at its value in the plan, and
    for each reported row the value of one more and one fewer unit (see planner.solver.fixed_lp)."""
    model = session.model
    with fixed_plan(session, base) as complete:
        if not complete:
            return []
        adapter = HighsAdapter(session.options)
        result = adapter.solve(model, var_names=(), duals=True)
        if not result.has_solution:
            return []
        family_of = {f.component: f for f in FAMILIES}
        rows: list[dict] = []
        one_unit = OneUnit(adapter)
        for component, (unit, what) in DUAL_COMPONENTS.items():
            for index, dual in result.duals.get(component, {}).items():
                if abs(dual) <= DUAL_TOL:
                    continue
                family = family_of.get(component)
                subject = subject_of(session.built, family, index) if family else str(index)
                value = abs(dual) if component != "demand" else -dual
                message = _dual_message(component, what, subject, value, unit)
                plus = minus = degenerate = None
                if len(rows) < MAX_KINK_RESOLVES:
                    con = getattr(model, component)[index]
                    plus, minus = one_unit.values(con, result.objective)
                    degenerate = is_kink(value, plus, minus)
                    if degenerate:
                        message += _kink_message(plus, minus)
                rows.append({"constraint": family.name if family else component,
                             "subject": subject, "method": "lp_dual", "change": 1, "unit": unit,
                             "marginal_value": value, "qalys_per_unit": None,
                             "status": Status.OPTIMAL, "message": message,
                             "value_plus_one": plus, "value_minus_one": minus,
                             "degenerate": degenerate})
    return rows


def _kink_message(plus: float | None, minus: float | None) -> str:
    more = "is not possible in the fixed plan" if plus is None else f"is worth {unit_money(plus)}"
    fewer = "is not possible in the fixed plan" if minus is None else f"costs {unit_money(minus)}"
    return (f" Degenerate: the dual is one side of a kink; one more unit {more}, one fewer "
            f"{fewer}.")


def _dual_message(component: str, what: str, subject: str, value: float, unit: str) -> str:
    if component == "demand":
        if value > 0:  # more demand lowers the objective: care that saves elsewhere, or QALYs
            return (f"One more episode of {subject} lowers the objective by {unit_money(value)} "
                    "(fixed plan).")
        return f"One more episode of {subject} adds {unit_money(-value)} to the objective (fixed plan)."
    if component == "min_income":
        return (f"Each £1 less of {subject}'s break-even income would save {unit_money(value)} "
                "(fixed plan).")
    if component in ("budget_limit", "budget_year_cap"):
        return f"£1 more of {what} ({subject}) is worth {unit_money(value)} to the objective (fixed plan)."
    one = "£1 more" if unit == "£" else f"One more {unit[:-1] if unit.endswith('s') else unit}"
    return f"{one} of {what} for {subject} is worth {unit_money(value)} to the objective (fixed plan)."
