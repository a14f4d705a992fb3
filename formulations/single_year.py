"""The single-year commissioning model (MODEL §2) as a Pyomo ConcreteModel.

A pure function of :class:`planner.derive.Derived`: every index set is a range over rows of a
derived table (contracts, eligible service-levels, providers), so only eligible rows exist and no
dense product of services × levels × providers is ever formed. Groupings (the contracts of a
service, of a provider, of a service-level) are computed once with pandas and each constraint
family is declared over exactly the rows where it can bind.

Variables (units):
  x[c]  episodes per year on eligible contract c = (service, level, provider)
  y[j]  1 if service-level j is the level chosen for its service
  z[c]  1 if contract c is let; only where it carries a transaction/setup cost or a choice role
  w[p]  1 if provider p is used; only where min income, entry or exit costs make it matter
Money is in £ per year throughout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from planner.derive import Derived


@dataclass
class BuiltModel:
    """A built model and the row maps needed to read a solution back into tables."""

    model: pyo.ConcreteModel
    derived: Derived
    sl_rows: np.ndarray  # service_levels row of each y index
    z_rows: np.ndarray  # contracts row of each z index (z index = position here)
    w_rows: np.ndarray  # providers row of each w index
    fixed_exit_cost: float  # £ exit costs of incumbents that can hold no contract at all

    def counts(self) -> dict[str, int]:
        m = self.model
        variables = len(m.x) + len(m.y) + len(m.z) + len(m.w)
        constraints = sum(len(c) for c in m.component_objects(pyo.Constraint, active=True))
        return {"variables": variables, "binaries": len(m.y) + len(m.z) + len(m.w),
                "constraints": constraints}


def _groups(keys: pd.Series) -> dict[object, np.ndarray]:
    """Positions of each key's rows, in row order."""
    return {key: np.asarray(rows) for key, rows in keys.groupby(keys, sort=False).indices.items()}


def build(derived: Derived) -> BuiltModel:
    """Build the model from derived tables; families listed in ``derived.without`` are omitted."""
    instance = derived.instance
    policy = instance.config.policy
    on = derived.on
    contracts = derived.contracts
    sl_all = derived.service_levels
    sl = sl_all.loc[sl_all["eligible"]]
    sl_rows = sl.index.to_numpy()
    y_of_sl = {int(row): j for j, row in enumerate(sl_rows)}
    services = derived.services.set_index("service")
    providers = derived.providers
    z_rows = np.flatnonzero(contracts["needs_z"].to_numpy())
    w_rows = np.flatnonzero(providers["needs_w"].to_numpy())
    z_of = {int(c): k for k, c in enumerate(z_rows)}
    w_of = {providers.at[int(r), "provider"]: k for k, r in enumerate(w_rows)}

    m = pyo.ConcreteModel(name=instance.name)
    n_c = len(contracts)
    demand_bound = contracts["level_demand"].to_numpy()
    m.C = pyo.RangeSet(0, n_c - 1) if n_c else pyo.Set(initialize=[])
    m.x = pyo.Var(m.C, domain=pyo.NonNegativeReals, bounds=lambda _, c: (0, demand_bound[c]))
    m.y = pyo.Var(range(len(sl_rows)), domain=pyo.Binary)
    m.z = pyo.Var(range(len(z_rows)), domain=pyo.Binary)
    m.w = pyo.Var(range(len(w_rows)), domain=pyo.Binary)

    y_of_contract = contracts["sl"].map(y_of_sl).to_numpy()
    price = contracts["unit_price"].to_numpy()
    big_m = contracts["big_m"].to_numpy()
    x, y, z, w = m.x, m.y, m.z, m.w

    # 1. Level choice: one level per mandatory service, at most one otherwise.
    y_by_service = _groups(sl["service"].reset_index(drop=True))
    mandatory = services["mandatory"] & on("mandatory")

    def level_choice(_, s):
        total = pyo.quicksum(y[j] for j in y_by_service[s])
        return total == 1 if mandatory[s] else total <= 1

    m.level_choice = pyo.Constraint(list(y_by_service), rule=level_choice)

    # 2. Demand: the chosen level's demand is met in full.
    contracts_by_y = _groups(pd.Series(y_of_contract))
    level_demand = sl["level_demand"].to_numpy()

    def demand(_, j):
        rows = contracts_by_y.get(j, ())
        return pyo.quicksum(x[c] for c in rows) == level_demand[j] * y[j]

    m.demand = pyo.Constraint(range(len(sl_rows)), rule=demand)

    # 3. Linking, with the smallest valid big-M: min(capacity, level demand).
    m.link_x_z = pyo.Constraint(range(len(z_rows)),
                                rule=lambda _, k: x[z_rows[k]] <= big_m[z_rows[k]] * z[k])
    m.link_z_y = pyo.Constraint(range(len(z_rows)),
                                rule=lambda _, k: z[k] <= y[y_of_contract[z_rows[k]]])
    provider_of = contracts["provider"].to_numpy()
    linked = [c for c in range(n_c) if provider_of[c] in w_of]
    z_linked = [c for c in linked if c in z_of]
    x_linked = [c for c in linked if c not in z_of]
    m.link_z_w = pyo.Constraint(z_linked, rule=lambda _, c: z[z_of[c]] <= w[w_of[provider_of[c]]])
    m.link_x_w = pyo.Constraint(x_linked,
                                rule=lambda _, c: x[c] <= big_m[c] * w[w_of[provider_of[c]]])
    contracts_by_provider = _groups(contracts["provider"])
    min_volume = providers.set_index("provider")["min_volume"]
    # A provider counts as used (avoiding its exit cost) only if it delivers some activity.
    m.provider_use = pyo.Constraint(
        list(w_of), rule=lambda _, p: pyo.quicksum(x[c] for c in contracts_by_provider[p])
        >= min_volume[p] * w[w_of[p]])

    # 4. Offer capacity (only where it can bind) and shared provider capacity.
    offer_key = contracts["provider"] + "\x1f" + contracts["service"]
    capacity = contracts["capacity"].to_numpy()
    if on("offer_capacity"):
        binding = ~np.isnan(capacity) & (capacity < contracts.groupby(offer_key)[
            "level_demand"].transform("max").to_numpy() - 1e-9)
        offer_groups = _groups(offer_key[binding])
        m.offer_capacity = pyo.Constraint(
            list(offer_groups), rule=lambda _, o: pyo.quicksum(x[c] for c in offer_groups[o])
            <= capacity[offer_groups[o][0]])
    if on("provider_capacity"):
        use = contracts["capacity_use"].to_numpy()
        total_capacity = providers.set_index("provider")["total_capacity"]
        capped = [p for p in contracts_by_provider if not np.isnan(total_capacity[p])
                  and (use[contracts_by_provider[p]] * big_m[contracts_by_provider[p]]).sum()
                  > total_capacity[p] + 1e-9]

        def provider_capacity(_, p):
            used = pyo.quicksum(use[c] * x[c] for c in contracts_by_provider[p])
            limit = total_capacity[p] * (w[w_of[p]] if p in w_of else 1)
            return used <= limit

        m.provider_capacity = pyo.Constraint(capped, rule=provider_capacity)

    # 5. Minimum share of each let contract.
    share = contracts["service"].map(services["min_share"]).to_numpy()
    shared = [k for k, c in enumerate(z_rows) if share[c] > 0] if on("min_share") else []
    m.min_share = pyo.Constraint(shared, rule=lambda _, k: x[z_rows[k]]
                                 >= share[z_rows[k]] * demand_bound[z_rows[k]] * z[k])

    # 6. Average quality (the threshold itself is applied when deriving eligible contracts).
    contracts_by_service = _groups(contracts["service"])
    quality = contracts["quality"].to_numpy()
    avg_floor = services["min_avg_quality"]
    avg_services = [s for s in contracts_by_service
                    if on("avg_quality") and avg_floor[s] > 0
                    and quality[contracts_by_service[s]].min() < avg_floor[s] - 1e-12]
    m.avg_quality = pyo.Constraint(avg_services, rule=lambda _, s: pyo.quicksum(
        (quality[c] - avg_floor[s]) * x[c] for c in contracts_by_service[s]) >= 0)

    # 7. Choice: number of providers and contracted headroom.
    z_by_service = _groups(contracts["service"].iloc[z_rows].reset_index(drop=True))
    min_providers = services["min_providers"]
    max_providers = services["max_providers"]
    m.min_providers = pyo.Constraint(
        [s for s in z_by_service if on("min_providers") and min_providers[s] > 1],
        rule=lambda _, s: pyo.quicksum(z[k] for k in z_by_service[s])
        >= min_providers[s] * pyo.quicksum(y[j] for j in y_by_service[s]))
    m.max_providers = pyo.Constraint(
        [s for s in z_by_service if on("max_providers") and not np.isnan(max_providers[s])
         and max_providers[s] < len(z_by_service[s])],
        rule=lambda _, s: pyo.quicksum(z[k] for k in z_by_service[s]) <= max_providers[s])
    headroom = services["choice_headroom"]
    cap_or_inf = np.where(np.isnan(capacity), np.inf, capacity)

    def headroom_rule(_, s):
        h = headroom[s]
        counted = pyo.quicksum(min(cap_or_inf[z_rows[k]], (1 + h) * demand_bound[z_rows[k]])
                               * z[k] for k in z_by_service[s])
        needed = pyo.quicksum((1 + h) * level_demand[j] * y[j] for j in y_by_service[s])
        return counted >= needed

    m.headroom = pyo.Constraint(
        [s for s in z_by_service if on("headroom") and headroom[s] > 0], rule=headroom_rule)

    # 8. Provider break-even: a used provider receives at least its minimum income.
    min_income = providers.set_index("provider")["min_income"]
    m.min_income = pyo.Constraint(
        [p for p in w_of if on("min_income") and min_income[p] > 0],
        rule=lambda _, p: pyo.quicksum(price[c] * x[c] for c in contracts_by_provider[p])
        >= min_income[p] * w[w_of[p]])

    # 9. Commissioner break-even: spend within the budget (mutable, for sweeps).
    contract_cost = contracts["contract_cost"].to_numpy()
    setup = contracts["setup"].to_numpy()
    prov = providers.set_index("provider")
    entry = [(k, prov.at[p, "entry_cost"]) for p, k in w_of.items()
             if not prov.at[p, "incumbent"] and prov.at[p, "entry_cost"] > 0]
    exits = [(k, prov.at[p, "exit_cost"]) for p, k in w_of.items()
             if prov.at[p, "incumbent"] and prov.at[p, "exit_cost"] > 0]
    stranded = providers.loc[providers["incumbent"] & ~providers["provider"].isin(
        contracts["provider"]), "exit_cost"].sum()
    m.activity_spend = pyo.Expression(expr=pyo.quicksum(price[c] * x[c] for c in range(n_c)))
    m.transaction_costs = pyo.Expression(expr=pyo.quicksum(
        contract_cost[c] * z[k] for k, c in enumerate(z_rows) if contract_cost[c] > 0))
    m.setup_costs = pyo.Expression(expr=pyo.quicksum(
        setup[c] * z[k] for k, c in enumerate(z_rows) if setup[c] > 0))
    m.entry_costs = pyo.Expression(expr=pyo.quicksum(cost * w[k] for k, cost in entry))
    m.exit_costs = pyo.Expression(expr=float(stranded) + pyo.quicksum(
        cost * (1 - w[k]) for k, cost in exits))
    m.spend = pyo.Expression(expr=m.activity_spend + m.transaction_costs + m.setup_costs
                             + m.entry_costs + m.exit_costs)
    budget = instance.budget_for_year(0)
    m.budget = pyo.Param(mutable=True, initialize=budget if budget is not None else 0.0)
    if on("budget") and budget is not None:
        m.budget_limit = pyo.Constraint(expr=m.spend <= m.budget)

    # 10. Management (transaction) cost cap.
    if on("management_cost") and policy.management_cost_cap is not None:
        m.management_cost = pyo.Constraint(expr=m.transaction_costs
                                           <= policy.management_cost_cap)

    # 11. Commissioning capacity of a level, and delegated budgets.
    levels = derived.levels.set_index("level")
    y_by_level = _groups(sl["level"].reset_index(drop=True))
    m.max_services = pyo.Constraint(
        [lv for lv in y_by_level if on("max_services")
         and not np.isnan(levels.at[lv, "max_services"])
         and levels.at[lv, "max_services"] < len(y_by_level[lv])],
        rule=lambda _, lv: pyo.quicksum(y[j] for j in y_by_level[lv])
        <= levels.at[lv, "max_services"])
    contracts_by_level = _groups(contracts["level"])

    def delegated(_, lv):
        rows = contracts_by_level[lv]
        cost = pyo.quicksum(price[c] * x[c] for c in rows)
        fixed = pyo.quicksum((contract_cost[c] + setup[c]) * z[z_of[c]] for c in rows
                             if c in z_of and contract_cost[c] + setup[c] > 0)
        return cost + fixed <= levels.at[lv, "delegated_budget"]

    m.delegated_budget = pyo.Constraint(
        [lv for lv in contracts_by_level if on("delegated_budget")
         and not np.isnan(levels.at[lv, "delegated_budget"])], rule=delegated)

    # Objective: spend + ρ·(risk s.d.) − λ·QALYs, all in £.
    risk_cost = sl["risk_cost"].to_numpy()
    qaly = contracts["qaly_per_episode"].to_numpy()
    m.risk_cost = pyo.Expression(expr=pyo.quicksum(
        risk_cost[j] * y[j] for j in range(len(sl_rows)) if risk_cost[j] > 0))
    m.qalys = pyo.Expression(expr=pyo.quicksum(qaly[c] * x[c] for c in range(n_c) if qaly[c] > 0))
    m.value_per_qaly = pyo.Param(mutable=True, initialize=policy.value_per_qaly)
    m.objective = pyo.Objective(expr=m.spend + m.risk_cost - m.value_per_qaly * m.qalys,
                                sense=pyo.minimize)
    return BuiltModel(m, derived, sl_rows, z_rows, w_rows, float(stranded))
