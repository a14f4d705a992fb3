"""Constraint families 1–11 of the commissioning model, shared by the single- and multi-year models.

Everything here is indexed by year ``t`` (0 = base year), so the single-year model is the T = 1
case of the same code. Index sets are ranges over rows of the derived tables (eligible contracts,
eligible service-levels, providers): no dense product is ever formed. Groupings (the contracts of
a service, of a provider, of a service-level) are computed once with pandas in
:class:`ModelData`, and each family is declared only over the rows where it can bind.

Variables (units):
  x[c, t]  episodes in year t on eligible contract c = (service, level, provider)
  y[j]     1 if service-level j is the level chosen for its service (for the whole horizon)
  z[k, t]  1 if contract z_rows[k] is let in year t; only where it has a cost or choice role
  w[q, t]  1 if provider w_rows[q] is used in year t; only where income, entry or exit matter
Money is in £ (per year unless stated).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from planner.derive import Derived


def groups(keys: pd.Series | np.ndarray) -> dict[object, np.ndarray]:
    """Positions of each key's rows, in row order."""
    keys = pd.Series(keys).reset_index(drop=True)
    return {key: np.asarray(rows) for key, rows in keys.groupby(keys, sort=False).indices.items()}


@dataclass
class ModelData:
    """Arrays and groupings of the derived tables, prepared once for every family."""

    derived: Derived
    years: range
    sl_rows: np.ndarray
    z_rows: np.ndarray
    w_rows: np.ndarray
    z_of: dict[int, int]
    w_of: dict[str, int]
    y_of_contract: np.ndarray
    base_price: np.ndarray
    base_demand: np.ndarray
    growth: np.ndarray
    capacity: np.ndarray
    quality: np.ndarray
    by_service: dict[object, np.ndarray]
    by_provider: dict[object, np.ndarray]
    by_level: dict[object, np.ndarray]
    by_y: dict[object, np.ndarray]
    y_by_service: dict[object, np.ndarray]
    y_by_level: dict[object, np.ndarray]
    z_by_service: dict[object, np.ndarray]
    extra: dict[str, object] = field(default_factory=dict)

    @classmethod
    def prepare(cls, derived: Derived) -> ModelData:
        contracts = derived.contracts
        sl = derived.service_levels.loc[derived.service_levels["eligible"]]
        sl_rows = sl.index.to_numpy()
        providers = derived.providers
        z_rows = np.flatnonzero(contracts["needs_z"].to_numpy())
        w_rows = np.flatnonzero(providers["needs_w"].to_numpy())
        y_of_sl = {int(row): j for j, row in enumerate(sl_rows)}
        y_of_contract = contracts["sl"].map(y_of_sl).to_numpy()
        return cls(
            derived=derived, years=range(derived.horizon), sl_rows=sl_rows, z_rows=z_rows,
            w_rows=w_rows, z_of={int(c): k for k, c in enumerate(z_rows)},
            w_of={providers.at[int(r), "provider"]: q for q, r in enumerate(w_rows)},
            y_of_contract=y_of_contract,
            base_price=contracts["unit_price"].to_numpy(),
            base_demand=contracts["level_demand"].to_numpy(),
            growth=contracts["growth"].to_numpy(),
            capacity=contracts["capacity"].to_numpy(),
            quality=contracts["quality"].to_numpy(),
            by_service=groups(contracts["service"]), by_provider=groups(contracts["provider"]),
            by_level=groups(contracts["level"]), by_y=groups(y_of_contract),
            y_by_service=groups(sl["service"]), y_by_level=groups(sl["level"]),
            z_by_service=groups(contracts["service"].iloc[z_rows]),
        )

    # Year-dependent data: demand grows, prices change, at the instance's rates.
    def demand(self, c: int | np.ndarray, t: int) -> float | np.ndarray:
        """Episodes of contract c's service at its level in year t."""
        return self.base_demand[c] * (1.0 + self.growth[c]) ** t

    def sl_demand(self, j: int, t: int) -> float:
        row = self.derived.service_levels.loc[self.sl_rows[j]]
        return float(row["level_demand"] * (1.0 + row["growth"]) ** t)

    def price(self, c: int | np.ndarray, t: int) -> float | np.ndarray:
        """£ per episode of contract c in year t."""
        return self.base_price[c] * (1.0 + self.derived.price_change) ** t

    def big_m(self, c: int, t: int) -> float:
        """Smallest valid bound on x[c, t]: min(capacity, demand)."""
        demand = self.demand(c, t)
        cap = self.capacity[c]
        if np.isnan(cap) or not self.derived.on("offer_capacity") \
                or not self.derived.capacity_in_big_m:
            return float(demand)
        return float(min(cap, demand))


@dataclass
class BuiltModel:
    """A built model and the row maps needed to read a solution back into tables."""

    model: pyo.ConcreteModel
    derived: Derived
    data: ModelData

    @property
    def sl_rows(self) -> np.ndarray:
        return self.data.sl_rows

    @property
    def z_rows(self) -> np.ndarray:
        return self.data.z_rows

    @property
    def w_rows(self) -> np.ndarray:
        return self.data.w_rows

    def counts(self) -> dict[str, int]:
        m = self.model
        variables = sum(len(v) for v in m.component_objects(pyo.Var, active=True))
        binaries = sum(1 for v in m.component_data_objects(pyo.Var, active=True) if v.is_binary())
        constraints = sum(len(c) for c in m.component_objects(pyo.Constraint, active=True))
        return {"variables": variables, "binaries": binaries, "constraints": constraints}


def declare_variables(m: pyo.ConcreteModel, d: ModelData) -> None:
    n_c = len(d.derived.contracts)
    years = d.years
    m.x = pyo.Var([(c, t) for c in range(n_c) for t in years], domain=pyo.NonNegativeReals,
                  bounds=lambda _, c, t: (0, d.demand(c, t)))
    m.y = pyo.Var(range(len(d.sl_rows)), domain=pyo.Binary)
    m.z = pyo.Var([(k, t) for k in range(len(d.z_rows)) for t in years], domain=pyo.Binary)
    m.w = pyo.Var([(q, t) for q in range(len(d.w_rows)) for t in years], domain=pyo.Binary)


def _year_index(keys, years: range) -> list[tuple]:
    return [(key, t) for key in keys for t in years]


def add_level_choice_and_demand(m: pyo.ConcreteModel, d: ModelData) -> None:
    """1. One level per mandatory service (≤ 1 otherwise); 2. the chosen level's demand met."""
    services = d.derived.services.set_index("service")
    mandatory = services["mandatory"] & d.derived.on("mandatory")
    x, y = m.x, m.y

    def level_choice(_, s):
        total = pyo.quicksum(y[j] for j in d.y_by_service[s])
        return total == 1 if mandatory[s] else total <= 1

    m.level_choice = pyo.Constraint(list(d.y_by_service), rule=level_choice)
    m.demand = pyo.Constraint(
        _year_index(range(len(d.sl_rows)), d.years),
        rule=lambda _, j, t: pyo.quicksum(x[c, t] for c in d.by_y.get(j, ()))
        == d.sl_demand(j, t) * y[j])


def add_linking(m: pyo.ConcreteModel, d: ModelData) -> None:
    """3. x ≤ min(capacity, demand)·z; z ≤ y; z ≤ w (or x ≤ M·w where there is no z);
    a used provider delivers at least min(1, its largest contract's demand) episodes."""
    x, y, z, w = m.x, m.y, m.z, m.w
    contracts = d.derived.contracts
    z_rows = d.z_rows
    m.link_x_z = pyo.Constraint(_year_index(range(len(z_rows)), d.years),
                                rule=lambda _, k, t: x[z_rows[k], t] <= d.big_m(z_rows[k], t) * z[k, t])
    m.link_z_y = pyo.Constraint(_year_index(range(len(z_rows)), d.years),
                                rule=lambda _, k, t: z[k, t] <= y[d.y_of_contract[z_rows[k]]])
    provider_of = contracts["provider"].to_numpy()
    linked = [c for c in range(len(contracts)) if provider_of[c] in d.w_of]
    z_linked = [c for c in linked if c in d.z_of]
    x_linked = [c for c in linked if c not in d.z_of]
    m.link_z_w = pyo.Constraint(_year_index(z_linked, d.years),
                                rule=lambda _, c, t: z[d.z_of[c], t] <= w[d.w_of[provider_of[c]], t])
    m.link_x_w = pyo.Constraint(_year_index(x_linked, d.years),
                                rule=lambda _, c, t: x[c, t] <= d.big_m(c, t) * w[d.w_of[provider_of[c]], t])
    min_volume = d.derived.providers.set_index("provider")["min_volume"]
    m.provider_use = pyo.Constraint(
        _year_index(list(d.w_of), d.years),
        rule=lambda _, p, t: pyo.quicksum(x[c, t] for c in d.by_provider[p])
        >= min_volume[p] * w[d.w_of[p], t])


def add_capacity(m: pyo.ConcreteModel, d: ModelData) -> None:
    """4. Offer capacity (only where it can bind) and shared provider capacity."""
    x, w = m.x, m.w
    contracts = d.derived.contracts
    if d.derived.on("offer_capacity"):
        offer_key = contracts["provider"] + "\x1f" + contracts["service"]
        largest = d.demand(np.arange(len(contracts)), d.years[-1])
        most = pd.Series(np.maximum(largest, d.base_demand)).groupby(offer_key).transform("max")
        binding = ~np.isnan(d.capacity) & (d.capacity < most.to_numpy() - 1e-9)
        offers = groups(offer_key[binding])
        rows_of = {o: np.flatnonzero(binding)[rows] for o, rows in offers.items()}
        m.offer_capacity = pyo.Constraint(
            _year_index(list(rows_of), d.years),
            rule=lambda _, o, t: pyo.quicksum(x[c, t] for c in rows_of[o])
            <= d.capacity[rows_of[o][0]])
    if d.derived.on("provider_capacity"):
        use = contracts["capacity_use"].to_numpy()
        total = d.derived.providers.set_index("provider")["total_capacity"]
        last = d.years[-1]
        capped = [p for p, rows in d.by_provider.items() if not np.isnan(total[p])
                  and sum(use[c] * max(d.big_m(c, 0), d.big_m(c, last)) for c in rows)
                  > total[p] + 1e-9]

        def provider_capacity(_, p, t):
            used = pyo.quicksum(use[c] * x[c, t] for c in d.by_provider[p])
            return used <= total[p] * (w[d.w_of[p], t] if p in d.w_of else 1)

        m.provider_capacity = pyo.Constraint(_year_index(capped, d.years), rule=provider_capacity)


def add_share_quality_choice(m: pyo.ConcreteModel, d: ModelData) -> None:
    """5. Minimum share; 6. average quality; 7. number of providers and contracted headroom."""
    x, y, z = m.x, m.y, m.z
    on = d.derived.on
    services = d.derived.services.set_index("service")
    contracts = d.derived.contracts
    z_rows = d.z_rows
    share = contracts["service"].map(services["min_share"]).to_numpy()
    shared = [k for k, c in enumerate(z_rows) if share[c] > 0] if on("min_share") else []
    m.min_share = pyo.Constraint(_year_index(shared, d.years), rule=lambda _, k, t: x[z_rows[k], t]
                                 >= share[z_rows[k]] * d.demand(z_rows[k], t) * z[k, t])
    floor = services["min_avg_quality"]
    avg = [s for s, rows in d.by_service.items() if on("avg_quality") and floor[s] > 0
           and d.quality[rows].min() < floor[s] - 1e-12]
    m.avg_quality = pyo.Constraint(_year_index(avg, d.years), rule=lambda _, s, t: pyo.quicksum(
        (d.quality[c] - floor[s]) * x[c, t] for c in d.by_service[s]) >= 0)
    least, most = services["min_providers"], services["max_providers"]
    m.min_providers = pyo.Constraint(
        _year_index([s for s in d.z_by_service if on("min_providers") and least[s] > 1], d.years),
        rule=lambda _, s, t: pyo.quicksum(z[k, t] for k in d.z_by_service[s])
        >= least[s] * pyo.quicksum(y[j] for j in d.y_by_service[s]))
    m.max_providers = pyo.Constraint(
        _year_index([s for s in d.z_by_service if on("max_providers") and not np.isnan(most[s])
                     and most[s] < len(d.z_by_service[s])], d.years),
        rule=lambda _, s, t: pyo.quicksum(z[k, t] for k in d.z_by_service[s]) <= most[s])
    headroom = services["choice_headroom"]
    cap = np.where(np.isnan(d.capacity), np.inf, d.capacity)

    def headroom_rule(_, s, t):
        h = headroom[s]
        counted = pyo.quicksum(min(cap[z_rows[k]], (1 + h) * d.demand(z_rows[k], t)) * z[k, t]
                               for k in d.z_by_service[s])
        needed = pyo.quicksum((1 + h) * d.sl_demand(j, t) * y[j] for j in d.y_by_service[s])
        return counted >= needed

    m.headroom = pyo.Constraint(
        _year_index([s for s in d.z_by_service if on("headroom") and headroom[s] > 0], d.years),
        rule=headroom_rule)


def add_provider_break_even(m: pyo.ConcreteModel, d: ModelData) -> None:
    """8. A used provider receives at least its minimum income from this commissioner.

    Over several years the minimum income follows prices (price_change a year): a provider
    asked for tariff efficiency is expected to find the same efficiency in its own costs.
    """
    x, w = m.x, m.w
    min_income = d.derived.providers.set_index("provider")["min_income"]
    m.min_income = pyo.Constraint(
        _year_index([p for p in d.w_of if d.derived.on("min_income") and min_income[p] > 0],
                    d.years),
        rule=lambda _, p, t: pyo.quicksum(d.price(c, t) * x[c, t] for c in d.by_provider[p])
        >= min_income[p] * (1.0 + d.derived.price_change) ** t * w[d.w_of[p], t])


def add_running_costs(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Activity and transaction costs by year (£), the parts of spend that recur."""
    x, z = m.x, m.z
    n_c = len(d.derived.contracts)
    contract_cost = d.derived.contracts["contract_cost"].to_numpy()
    m.activity_spend = pyo.Expression(d.years, rule=lambda _, t: pyo.quicksum(
        d.price(c, t) * x[c, t] for c in range(n_c)))
    m.transaction_costs = pyo.Expression(d.years, rule=lambda _, t: pyo.quicksum(
        contract_cost[c] * z[k, t] for k, c in enumerate(d.z_rows) if contract_cost[c] > 0))


def add_level_limits(m: pyo.ConcreteModel, d: ModelData) -> None:
    """10. Management cost cap; 11. services per level and delegated budgets (per year)."""
    x, y, z = m.x, m.y, m.z
    on = d.derived.on
    policy = d.derived.instance.config.policy
    if on("management_cost") and policy.management_cost_cap is not None:
        m.management_cost = pyo.Constraint(
            d.years, rule=lambda _, t: m.transaction_costs[t] <= policy.management_cost_cap)
    levels = d.derived.levels.set_index("level")
    m.max_services = pyo.Constraint(
        [lv for lv, ys in d.y_by_level.items() if on("max_services")
         and not np.isnan(levels.at[lv, "max_services"]) and levels.at[lv, "max_services"] < len(ys)],
        rule=lambda _, lv: pyo.quicksum(y[j] for j in d.y_by_level[lv]) <= levels.at[lv, "max_services"])
    contract_cost = d.derived.contracts["contract_cost"].to_numpy()
    setup = d.derived.contracts["setup"].to_numpy()
    first_year_setup = d.extra.get("setup_terms")  # £ of set-up charged to a level in year t

    def delegated(_, lv, t):
        rows = d.by_level[lv]
        cost = pyo.quicksum(d.price(c, t) * x[c, t] for c in rows)
        running = pyo.quicksum(contract_cost[c] * z[d.z_of[c], t] for c in rows
                               if c in d.z_of and contract_cost[c] > 0)
        one_off = first_year_setup(rows, t) if first_year_setup else pyo.quicksum(
            setup[c] * z[d.z_of[c], t] for c in rows if c in d.z_of and setup[c] > 0)
        return cost + running + one_off <= levels.at[lv, "delegated_budget"]

    m.delegated_budget = pyo.Constraint(
        _year_index([lv for lv in d.by_level if on("delegated_budget")
                     and not np.isnan(levels.at[lv, "delegated_budget"])], d.years), rule=delegated)


def add_objective(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Minimise Σ_t spend_t + ρ·σ_t − λ·QALYs_t (all £); σ grows with demand and prices."""
    policy = d.derived.instance.config.policy
    sl = d.derived.service_levels.loc[d.sl_rows]
    risk = sl["risk_cost"].to_numpy()
    growth = sl["growth"].to_numpy()
    qaly = d.derived.contracts["qaly_per_episode"].to_numpy()
    n_c = len(qaly)

    def risk_factor(j: int, t: int) -> float:
        return (1 + d.derived.price_change) ** t * np.sqrt((1 + growth[j]) ** t)

    m.risk_cost = pyo.Expression(d.years, rule=lambda _, t: pyo.quicksum(
        risk[j] * risk_factor(j, t) * m.y[j] for j in range(len(risk)) if risk[j] > 0))
    m.qalys = pyo.Expression(d.years, rule=lambda _, t: pyo.quicksum(
        qaly[c] * m.x[c, t] for c in range(n_c) if qaly[c] > 0))
    m.value_per_qaly = pyo.Param(mutable=True, initialize=policy.value_per_qaly)
    m.objective = pyo.Objective(
        expr=pyo.quicksum(m.spend[t] + m.risk_cost[t] - m.value_per_qaly * m.qalys[t]
                          for t in d.years), sense=pyo.minimize)


def build_families(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Declare variables and families 1–8, 10, 11 and the running costs, for every year."""
    declare_variables(m, d)
    add_level_choice_and_demand(m, d)
    add_linking(m, d)
    add_capacity(m, d)
    add_share_quality_choice(m, d)
    add_provider_break_even(m, d)
    add_running_costs(m, d)
    add_level_limits(m, d)


def budgets(d: ModelData) -> list[float | None]:
    """£ budget of each year (a scalar budget applies to every year)."""
    return [d.derived.instance.budget_for_year(t if isinstance(
        d.derived.instance.config.policy.budget, list) else 0) for t in d.years]
