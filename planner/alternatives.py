"""Near-optimal alternatives: other plans within a stated margin of the optimum.

A board rarely wants only the single best plan; it wants to know what else is nearly as good.
Each alternative differs from every earlier one in at least one contract or level (a no-good cut
over every level and contract binary), and its objective is within ``within`` (a fraction) of
the optimum. Contract binaries are declared on every contract for this, so that "a different
contract" is well defined; the optimum is unchanged by that.
"""

from __future__ import annotations

import pandas as pd
import pyomo.environ as pyo

from planner.compare import PlanView, contract_changes
from planner.instance import Instance
from planner.plan import Plan
from planner.session import PlanningModel
from planner.solver import SolveOptions


def alternatives(instance: Instance, count: int, within: float = 0.01,
                 options: SolveOptions | None = None,
                 without: frozenset[str] = frozenset()) -> tuple[list[Plan], pd.DataFrame]:
    """Up to ``count`` distinct plans within ``within`` of the optimum, and what differs.

    Returns the plans (optimum excluded) and a table of their differences from the optimum.
    """
    session = PlanningModel(instance, without, options or SolveOptions(),
                            all_contract_binaries=True)
    m = session.model
    # Every let contract carries activity (formulations.families, let_activity), so
    # alternatives differ in what is bought, not in empty contracts.
    first = session.run()
    if not first.has_solution:
        return [], pd.DataFrame()
    optimum = session.plan(first)
    limit = first.objective + within * max(abs(first.objective), 1.0)
    m.near_optimal = pyo.Constraint(expr=m.objective.expr <= limit)
    m.no_good = pyo.ConstraintList()
    found: list[Plan] = []
    result = first
    while len(found) < count:
        _cut(m, result)
        result = session.run()
        if not result.has_solution:
            break
        found.append(session.plan(result))
    base = PlanView.from_plan(optimum, "optimum")
    rows = []
    for number, plan in enumerate(found, start=1):
        changes = contract_changes(base, PlanView.from_plan(plan, f"alternative {number}"))
        changes = changes.loc[changes["change"] != "same"].assign(
            alternative=number, objective=plan.objective,
            objective_gap=(plan.objective - optimum.objective) / max(abs(optimum.objective), 1.0))
        rows.append(changes)
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    if len(table):
        table = table[["alternative", "objective", "objective_gap", *[c for c in table.columns
                        if c not in ("alternative", "objective", "objective_gap")]]]
    return found, table


def _cut(m: pyo.ConcreteModel, result) -> None:
    """Exclude the level-and-contract pattern of ``result``: at least one binary must flip."""
    terms = []
    for name in ("y", "z"):
        var = getattr(m, name)
        for data, value in zip(var.values(), result.values.get(name, [])):
            terms.append((1 - data) if value > 0.5 else data)
    m.no_good.add(pyo.quicksum(terms) >= 1)
