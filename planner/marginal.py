"""Marginal values of a solved plan: what one more £, episode of capacity or unit of a rule is worth.

A MILP has no duals. Two honest routes are used and labelled as such in ``method``:

* ``lp_dual``: fix every integer variable of the model at its value in the plan (auxiliary
  binaries included: see :mod:`planner.fixed_lp`), solve the remaining LP, and read the shadow
  prices. They are marginal values *of the fixed plan* (which services, levels, contracts
  and providers stay as they are) for budget, capacities, break-even incomes, average quality,
  delegated budgets, the management cost cap and demand. As a dual at a degenerate vertex is
  only one side of a kink, each row also gives the value of one more and one fewer unit,
  measured by re-solving the fixed LP with the row moved (``value_plus_one``,
  ``value_minus_one``, ``degenerate``).
* ``milp_resolve``: re-solve the whole MILP with the budget at −5 %, −1 %, +1 % and +5 %, and with
  each binding choice rule (min/max providers, headroom) relaxed by one provider, because duals
  of a MILP can mislead: the true value of money may come in steps.

``marginal_value`` is the £ improvement of the objective (spend + risk − λ·QALYs) per unit of
relaxation, in ``unit``; ``qalys_per_unit`` is the change in QALYs where it is measured.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pyomo.environ as pyo

from planner.diagnosis import FAMILIES, subject_of
from planner.diagnosis import money as _money
from planner.fixed_lp import OneUnit, fixed_plan, is_kink
from planner.session import PlanningModel
from planner.solver import HighsAdapter, SolveResult

BUDGET_STEPS = (-0.05, -0.01, 0.01, 0.05)
RESOLVE_GAP = 1e-4  # relative MIP gap of the re-solves
RESOLVE_TIME_FACTOR = 3.0  # each re-solve may take this many times the plan's own solve
MAX_CHOICE_RESOLVES = 25
DUAL_TOL = 1e-7
MAX_KINK_RESOLVES = 200  # rows whose ±1-unit values are measured (2 LP re-solves each)
DUAL_COMPONENTS = {  # component -> (unit of one more, what it is)
    "budget_limit": ("£", "budget"),
    "budget_year_cap": ("£", "the 2 % yearly overspend limit"),
    "offer_capacity": ("episodes", "capacity"),
    "provider_capacity": ("resource units", "shared provider capacity"),
    "min_income": ("£", "break-even income"),
    "avg_quality": ("quality-weighted episodes", "average quality threshold"),
    "delegated_budget": ("£", "delegated budget"),
    "management_cost": ("£", "management cost cap"),
    "demand": ("episodes", "demand"),
    "setting_target": ("episodes", "setting target"),
}
CHOICE_COMPONENTS = ("min_providers", "max_providers", "headroom")


def marginal_values(session: PlanningModel, base: SolveResult) -> pd.DataFrame:
    """The marginal-values table of the plan solved as ``base`` (see module docstring).

    The MILP re-solves stop at a relative gap of RESOLVE_GAP (or the plan's own, if looser) and
    each may take RESOLVE_TIME_FACTOR times the plan's own solve (+1 s): they measure steps in
    the value of money and rules, not the last pound; a re-solve cut short says so in status.
    """
    exact = session.adapter.options
    budget_s = RESOLVE_TIME_FACTOR * (base.solve_s + base.transfer_s) + 1.0
    limit = budget_s if exact.time_limit is None else min(exact.time_limit, budget_s)
    session.adapter.options = replace(exact, gap=max(exact.gap, RESOLVE_GAP), time_limit=limit)
    try:
        rows = _budget_resolves(session, base) + _choice_resolves(session, base)
    finally:
        session.adapter.options = exact
    rows += _lp_duals(session, base)
    columns = ["constraint", "subject", "method", "change", "unit", "marginal_value",
               "qalys_per_unit", "status", "message", "value_plus_one", "value_minus_one",
               "degenerate"]
    return pd.DataFrame(rows, columns=columns)


def _totals(session: PlanningModel, result: SolveResult) -> dict:
    plan = session.plan(result, check=False)
    return {"objective": result.objective, "qalys": plan.totals.get("qalys", 0.0),
            "spend": plan.totals.get("spend", 0.0)}


def _budget_resolves(session: PlanningModel, base: SolveResult) -> list[dict]:
    model = session.model
    if not hasattr(model, "budget_limit") or not session.base_budget:
        return []
    reference = _totals(session, base)
    total_budget = sum(session.base_budget.values())
    rows = []
    try:
        for step in BUDGET_STEPS:
            session.scale_budget(1 + step)
            result = session.run()
            change = total_budget * step
            row = {"constraint": "budget", "subject": f"budget {step:+.0%}",
                   "method": "milp_resolve", "change": change, "unit": "£", "status": result.status}
            if result.has_solution:
                now = _totals(session, result)
                gain = (reference["objective"] - now["objective"]) / change
                qalys = (now["qalys"] - reference["qalys"]) / change
                row.update(marginal_value=gain, qalys_per_unit=qalys, message=(
                    f"A budget {step:+.0%} ({_money(change)}) changes the objective by "
                    f"{_money(-gain * change)} and QALYs by {qalys * change:+,.2f} "
                    f"({qalys * 1e6:,.1f} QALYs per £1m)."))
            elif result.status == "infeasible":
                row["message"] = f"With the budget {step:+.0%} there is no feasible plan."
            else:
                row["message"] = f"The re-solve with the budget {step:+.0%} stopped ({result.status})."
            rows.append(row)
    finally:
        session.scale_budget(1.0)
    return rows


def _choice_resolves(session: PlanningModel, base: SolveResult) -> list[dict]:
    """Re-solve with each binding choice rule relaxed by one provider (or dropped, headroom)."""
    model = session.model
    z = {id(v): value for v, value in zip(model.z.values(), base.values.get("z", []))}
    y = {id(v): value for v, value in zip(model.y.values(), base.values.get("y", []))}
    rows = []
    family_of = {f.component: f for f in FAMILIES}
    for name in CHOICE_COMPONENTS:
        component = getattr(model, name, None)
        for index in list(component.keys()) if component is not None else []:
            if len(rows) >= MAX_CHOICE_RESOLVES:
                break
            con = component[index]
            if not _binding(con, z, y):
                continue
            con.deactivate()
            relaxed = _relaxed_choice(session, name, index)
            if relaxed is not None:
                model.add_component("relaxed_choice", relaxed)
            try:
                result = session.run()
            finally:
                if relaxed is not None:
                    model.del_component("relaxed_choice")
                con.activate()
            subject = subject_of(session.built, family_of[name], index)
            gain = (base.objective - result.objective) if result.has_solution else None
            what = {"headroom": "dropping the headroom rule", "min_providers": "one provider fewer",
                    "max_providers": "one provider more"}[name]
            rows.append({"constraint": name, "subject": subject, "method": "milp_resolve",
                         "change": 1, "unit": "providers" if name != "headroom" else "rule",
                         "marginal_value": gain, "qalys_per_unit": None, "status": result.status,
                         "message": f"For {subject}, {what} would improve the objective by "
                                    f"£{gain:,.0f}." if gain is not None else
                                    f"For {subject}, relaxing it gives no feasible plan."})
    session.run()  # leave the persistent solver at the plan's own optimum
    return rows


def _relaxed_choice(session: PlanningModel, name: str, index: tuple) -> pyo.Constraint | None:
    """The choice row of (service, year) with one provider fewer (min) or more (max)."""
    if name == "headroom":
        return None
    model, data = session.model, session.built.data
    service, t = index
    contracted = pyo.quicksum(model.z[k, t] for k in data.z_by_service[service])
    limits = session.derived.services.set_index("service")
    if name == "min_providers":
        chosen = pyo.quicksum(model.y[j] for j in data.y_by_service[service])
        return pyo.Constraint(expr=contracted >= (limits.at[service, "min_providers"] - 1) * chosen)
    return pyo.Constraint(expr=contracted <= limits.at[service, "max_providers"] + 1)


def _binding(con, z: dict, y: dict) -> bool:
    """True if a choice row holds with equality at the plan's binaries."""
    from pyomo.repn import generate_standard_repn

    values = {**z, **y}
    repn = generate_standard_repn(con.body)
    body = repn.constant + sum(coef * values.get(id(var), 0.0)
                               for var, coef in zip(repn.linear_vars, repn.linear_coefs))
    limit = con.upper if con.has_ub() else con.lower
    return abs(body - pyo.value(limit)) < 1e-6


def _lp_duals(session: PlanningModel, base: SolveResult) -> list[dict]:
    """Shadow prices of the LP with every integer variable fixed at its value in the plan, and
    for each reported row the value of one more and one fewer unit (see planner.fixed_lp)."""
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
                             "status": "optimal", "message": message,
                             "value_plus_one": plus, "value_minus_one": minus,
                             "degenerate": degenerate})
    return rows


def _kink_message(plus: float | None, minus: float | None) -> str:
    more = "is not possible in the fixed plan" if plus is None else f"is worth £{plus:,.4f}"
    fewer = "is not possible in the fixed plan" if minus is None else f"costs £{minus:,.4f}"
    return (f" Degenerate: the dual is one side of a kink; one more unit {more}, one fewer "
            f"{fewer}.")


def _dual_message(component: str, what: str, subject: str, value: float, unit: str) -> str:
    if component == "demand":
        return f"One more episode of {subject} adds £{-value:,.2f} to the objective (fixed plan)."
    if component == "min_income":
        return (f"Each £1 less of {subject}'s break-even income would save £{value:,.4f} "
                "(fixed plan).")
    if component in ("budget_limit", "budget_year_cap"):
        return f"£1 more of {what} ({subject}) is worth £{value:,.4f} to the objective (fixed plan)."
    one = "£1 more" if unit == "£" else f"One more {unit[:-1] if unit.endswith('s') else unit}"
    return f"{one} of {what} for {subject} is worth £{value:,.4f} to the objective (fixed plan)."
