"""Families 10 and 11: the cap on management (transaction) costs, and per commissioning level
the services it may commission and its delegated budget."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from formulations.model_data import ModelData, year_index
from formulations.rows import at_most, linear, rows
from planner.rules import Family


def add_management_cost(m: pyo.ConcreteModel, d: ModelData) -> None:
    """10. transaction_costs_t ≤ management_cost_cap (£ a year), if the policy sets a cap."""
    cap = d.derived.policy.management_cost_cap
    if d.on(Family.MANAGEMENT_COST) and cap is not None:
        m.management_cost = rows(list(d.years), (m.transaction_costs[t] <= cap for t in d.years))


def add_max_services(m: pyo.ConcreteModel, d: ModelData) -> None:
    """11a. Σ y over a level's services ≤ its max_services, where it has more than that."""
    limit = d.derived.levels.set_index("level")["max_services"]
    index = [lv for lv, ys in d.y_by_level.items() if d.on(Family.MAX_SERVICES)
             and not np.isnan(limit.at[lv]) and limit.at[lv] < len(ys)]
    m.max_services = rows(index, (at_most(linear((1.0, d.yv[j]) for j in d.y_by_level[lv]),
                                          float(limit.at[lv])) for lv in index))


def add_delegated_budget(m: pyo.ConcreteModel, d: ModelData) -> None:
    """11b. A level's activity, transaction and set-up costs in year t ≤ its delegated budget
    (£): Σ price·x + Σ contract_cost·z + Σ setup·started ≤ delegated_budget, set-ups charged in
    the year a contract starts (:meth:`ModelData.started`)."""
    budget = d.derived.levels.set_index("level")["delegated_budget"]
    contract_cost = d.derived.contracts["contract_cost"].to_numpy().tolist()
    setup = d.derived.contracts["setup"].to_numpy().tolist()
    price = d.coef["price"]

    def delegated(lv, t):
        rows_ = d.by_level[lv].tolist()
        cost = [(price[c, t], d.x(c, t)) for c in rows_]
        running = [(contract_cost[c], d.z(d.z_of[c], t)) for c in rows_
                   if c in d.z_of and contract_cost[c] > 0]
        one_off = [(setup[c], d.started(d.z_of[c], t)) for c in rows_
                   if c in d.z_of and setup[c] > 0]
        return at_most(linear(cost + running + one_off), float(budget.at[lv]))

    index = year_index([lv for lv in d.by_level if d.on(Family.DELEGATED_BUDGET)
                        and not np.isnan(budget.at[lv])], d.years)
    m.delegated_budget = rows(index, (delegated(lv, t) for lv, t in index))
