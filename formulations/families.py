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

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC
from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression
from pyomo.core.expr.relational_expr import EqualityExpression, InequalityExpression

from formulations import coefficients
from planner.derive import Derived


def gc_paused(function):
    """Run ``function`` with Python's cyclic garbage collector paused.

    A model is hundreds of thousands of small, long-lived objects; while they are being made the
    collector repeatedly walks all of them for cycles that do not exist. Pausing it (as Pyomo's
    own writers do) cut building and transfer by a fifth to a half (docs/performance.md)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with PauseGC():
            return function(*args, **kwargs)

    return wrapper


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
    # coefficient tables read [row, year] (formulations.coefficients): floats or mutable Params
    coef: dict[str, object] = field(default_factory=dict)
    # the variables in index order, for positional access while building (declare_variables)
    xv: list = field(default_factory=list)
    yv: list = field(default_factory=list)
    zv: list = field(default_factory=list)
    wv: list = field(default_factory=list)

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
        by_provider = groups(contracts["provider"])
        for row in w_rows:  # a provider used only through a bundle holds no contract (issue 16)
            by_provider.setdefault(providers.at[int(row), "provider"], np.zeros(0, dtype=int))
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
            by_service=groups(contracts["service"]), by_provider=by_provider,
            by_level=groups(contracts["level"]), by_y=groups(y_of_contract),
            y_by_service=groups(sl["service"]), y_by_level=groups(sl["level"]),
            z_by_service=groups(contracts["service"].iloc[z_rows]),
        )

    # Year-dependent data (demand grows at the instance's rates); the model's coefficients by
    # year are tabled in formulations.coefficients.
    def demand(self, c: int | np.ndarray, t: int) -> float | np.ndarray:
        """Episodes of contract c's service at its level in year t."""
        return self.base_demand[c] * (1.0 + self.growth[c]) ** t

    def big_m(self, c: int, t: int) -> float:
        """Smallest valid bound on x[c, t]: min(capacity, demand)."""
        return float(self.big_m_array(np.asarray([c]), t)[0])

    def big_m_array(self, rows: np.ndarray, t: int) -> np.ndarray:
        """big_m of many contracts at once (subclasses override this one)."""
        demand = self.demand(rows, t)
        if not self.derived.on("offer_capacity") or not self.derived.capacity_in_big_m:
            return demand
        cap = self.capacity[rows]
        return np.where(np.isnan(cap), demand, np.minimum(cap, demand))

    # Positional access to the variables (index order of declare_variables)
    def x(self, c: int, t: int):
        return self.xv[c * len(self.years) + t]

    def z(self, k: int, t: int):
        return self.zv[k * len(self.years) + t]

    def w(self, q: int, t: int):
        return self.wv[q * len(self.years) + t]


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
    """The coefficient tables first (variable bounds use them), then x, y, z and w."""
    d.coef = coefficients.declare(m, d)
    n_c = len(d.derived.contracts)
    years = d.years
    upper = d.coef["demand"]
    m.x = pyo.Var([(c, t) for c in range(n_c) for t in years], domain=pyo.NonNegativeReals,
                  bounds=lambda _, c, t: (0, upper[c, t]))
    m.y = pyo.Var(range(len(d.sl_rows)), domain=pyo.Binary)
    m.z = pyo.Var([(k, t) for k in range(len(d.z_rows)) for t in years], domain=pyo.Binary)
    m.w = pyo.Var([(q, t) for q in range(len(d.w_rows)) for t in years], domain=pyo.Binary)
    d.xv, d.yv, d.zv, d.wv = (list(m.x.values()), list(m.y.values()), list(m.z.values()),
                              list(m.w.values()))


def _year_index(keys, years: range) -> list[tuple]:
    return [(key, t) for key in keys for t in years]


# --- building rows directly ------------------------------------------------------------------
# Rows are made as LinearExpression objects of (coefficient, variable) terms and wrapped in the
# relational expression Pyomo itself would make from the operators, with the same orientation
# (a >= b is stored as b - a <= 0, as Pyomo stores it). Coefficients are Python floats: a numpy
# scalar times a Pyomo variable goes through numpy's ufunc machinery, several times slower.
# Building this way instead of through operator overloading and generator sums roughly halves
# the time to declare the large families (see docs/performance.md).


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


def add_level_choice_and_demand(m: pyo.ConcreteModel, d: ModelData) -> None:
    """1. One level per mandatory service (≤ 1 otherwise); 2. the chosen level's demand met."""
    services = d.derived.services.set_index("service")
    mandatory = (services["mandatory"] & d.derived.on("mandatory")).to_dict()
    keys = list(d.y_by_service)

    def level_choice(s):
        total = linear((1.0, d.yv[j]) for j in d.y_by_service[s])
        return equal(total, 1) if mandatory[s] else at_most(total, 1)

    m.level_choice = rows(keys, (level_choice(s) for s in keys))
    index = _year_index(range(len(d.sl_rows)), d.years)
    by_y = {j: rows_.tolist() for j, rows_ in d.by_y.items()}
    sl_demand = d.coef["sl_demand"]

    def demand(j, t):
        body = [(1.0, d.x(c, t)) for c in by_y.get(j, ())]
        body.append((-sl_demand[j, t], d.yv[j]))
        return equal(linear(body), 0)

    m.demand = rows(index, (demand(j, t) for j, t in index))


def add_linking(m: pyo.ConcreteModel, d: ModelData) -> None:
    """3. x ≤ min(capacity, demand)·z; a let contract carries x ≥ min(1, bound, D/K)·z episodes
    (K the service-level's contracts, so the floors of all of them fit in its demand); z ≤ y;
    z ≤ w (or x ≤ M·w where there is no z); a used provider delivers at least min(1, its
    largest contract's demand) episodes."""
    contracts = d.derived.contracts
    z_rows = d.z_rows.tolist()
    years = d.years
    index = _year_index(range(len(z_rows)), years)
    big_m = d.coef["big_m"]
    m.link_x_z = rows(index, (at_most(linear(((1.0, d.x(z_rows[k], t)),
                                              (-big_m[z_rows[k], t], d.z(k, t)))))
                              for k, t in index))
    let = d.coef["let_volume"]  # a let contract carries activity: x ≥ min(1, bound)·z
    m.let_activity = rows(index, (at_most(linear(((let[z_rows[k], t], d.z(k, t)),
                                                  (-1.0, d.x(z_rows[k], t)))))
                                  for k, t in index))
    y_of = d.y_of_contract.tolist()
    m.link_z_y = rows(index, (at_most(linear(((1.0, d.z(k, t)), (-1.0, d.yv[y_of[z_rows[k]]]))))
                              for k, t in index))
    provider_of = contracts["provider"].to_numpy()
    linked = [c for c in range(len(contracts)) if provider_of[c] in d.w_of]
    z_linked = [c for c in linked if c in d.z_of]
    x_linked = [c for c in linked if c not in d.z_of]
    q_of = [d.w_of.get(p) for p in provider_of]
    index = _year_index(z_linked, years)
    m.link_z_w = rows(index, (at_most(linear(((1.0, d.z(d.z_of[c], t)), (-1.0, d.w(q_of[c], t)))))
                              for c, t in index))
    index = _year_index(x_linked, years)
    m.link_x_w = rows(index, (at_most(linear(((1.0, d.x(c, t)), (-big_m[c, t], d.w(q_of[c], t)))))
                              for c, t in index))
    min_volume = d.coef["min_volume"]
    index = _year_index(list(d.w_of), years)
    by_provider = {p: r.tolist() for p, r in d.by_provider.items()}
    m.provider_use = rows(index, (at_most(linear(
        [(min_volume[d.w_of[p], t], d.w(d.w_of[p], t))]
        + [(-1.0, d.x(c, t)) for c in by_provider[p]])) for p, t in index))


def add_capacity(m: pyo.ConcreteModel, d: ModelData) -> None:
    """4. Offer capacity (only where it can bind) and shared provider capacity."""
    contracts = d.derived.contracts
    if d.derived.on("offer_capacity"):
        offer_key = contracts["provider"] + "\x1f" + contracts["service"]
        largest = d.demand(np.arange(len(contracts)), d.years[-1])
        most = pd.Series(np.maximum(largest, d.base_demand)).groupby(offer_key).transform("max")
        binding = ~np.isnan(d.capacity)
        if not d.derived.mutable:  # a mutable build keeps rows that only today's demand idles
            binding &= d.capacity < most.to_numpy() - 1e-9
        offers = groups(offer_key[binding])
        positions = np.flatnonzero(binding)
        rows_of = {o: positions[r].tolist() for o, r in offers.items()}
        index = _year_index(list(rows_of), d.years)
        m.offer_capacity = rows(index, (at_most(linear((1.0, d.x(c, t)) for c in rows_of[o]),
                                                float(d.capacity[rows_of[o][0]]))
                                        for o, t in index))
    if d.derived.on("provider_capacity"):
        use = contracts["capacity_use"].to_numpy()
        total = d.derived.providers.set_index("provider")["total_capacity"].to_dict()
        last = d.years[-1]
        all_rows = np.arange(len(contracts))
        most = use * np.maximum(d.big_m_array(all_rows, 0), d.big_m_array(all_rows, last))
        capped = [p for p, r in d.by_provider.items() if not np.isnan(total[p])
                  and (d.derived.mutable or most[r].sum() > total[p] + 1e-9)]
        use_of = use.tolist()

        def provider_capacity(p, t):
            used = [(use_of[c], d.x(c, t)) for c in d.by_provider[p].tolist()]
            if p in d.w_of:
                return at_most(linear(used + [(-float(total[p]), d.w(d.w_of[p], t))]))
            return at_most(linear(used), float(total[p]))

        index = _year_index(capped, d.years)
        m.provider_capacity = rows(index, (provider_capacity(p, t) for p, t in index))


def add_share_quality_choice(m: pyo.ConcreteModel, d: ModelData) -> None:
    """5. Minimum share; 6. average quality; 7. number of providers and contracted headroom."""
    on = d.derived.on
    services = d.derived.services.set_index("service")
    contracts = d.derived.contracts
    z_rows = d.z_rows.tolist()
    share = contracts["service"].map(services["min_share"]).to_numpy()
    mutable = d.derived.mutable  # then no row's presence depends on a threshold's value
    shared = [k for k, c in enumerate(z_rows) if mutable or share[c] > 0] \
        if on("min_share") else []
    index = _year_index(shared, d.years)
    volume = d.coef["min_share_volume"]
    m.min_share = rows(index, (at_most(linear((
        (volume[z_rows[k], t], d.z(k, t)), (-1.0, d.x(z_rows[k], t))))) for k, t in index))
    floor = services["min_avg_quality"].to_dict()
    avg = [s for s, r in d.by_service.items() if on("avg_quality") and (mutable or (
        floor[s] > 0 and d.quality[r].min() < floor[s] - 1e-12))]
    index = _year_index(avg, d.years)
    margin = d.coef["quality_margin"]
    m.avg_quality = rows(index, (at_least(linear(
        (margin[c, t], d.x(c, t)) for c in d.by_service[s].tolist()), 0) for s, t in index))
    least, most = services["min_providers"].to_dict(), services["max_providers"].to_dict()
    index = _year_index([s for s in d.z_by_service if on("min_providers") and least[s] > 1],
                        d.years)
    m.min_providers = rows(index, (at_most(linear(
        [(float(least[s]), d.yv[j]) for j in d.y_by_service[s]]
        + [(-1.0, d.z(k, t)) for k in d.z_by_service[s]])) for s, t in index))
    index = _year_index([s for s in d.z_by_service if on("max_providers") and not np.isnan(most[s])
                         and most[s] < len(d.z_by_service[s])], d.years)
    m.max_providers = rows(index, (at_most(linear((1.0, d.z(k, t)) for k in d.z_by_service[s]),
                                           float(most[s])) for s, t in index))
    headroom = services["choice_headroom"].to_dict()
    need, cover = d.coef["headroom_need"], d.coef["headroom_cover"]

    def headroom_row(s, t):
        needed = [(need[j, t], d.yv[j]) for j in d.y_by_service[s]]
        counted = [(-cover[z_rows[k], t], d.z(k, t)) for k in d.z_by_service[s]]
        return at_most(linear(needed + counted))

    index = _year_index([s for s in d.z_by_service if on("headroom") and headroom[s] > 0], d.years)
    m.headroom = rows(index, (headroom_row(s, t) for s, t in index))


def add_provider_break_even(m: pyo.ConcreteModel, d: ModelData) -> None:
    """8. A used provider receives at least its minimum income from this commissioner.

    Over several years the minimum income follows prices (price_change a year): a provider
    asked for tariff efficiency is expected to find the same efficiency in its own costs.
    """
    min_income = d.derived.providers.set_index("provider")["min_income"].to_dict()
    index = _year_index([p for p in d.w_of if d.derived.on("min_income")
                         and (d.derived.mutable or min_income[p] > 0)], d.years)
    price, income = d.coef["price"], d.coef["min_income"]
    m.min_income = rows(index, (at_most(linear(
        [(income[d.w_of[p], t], d.w(d.w_of[p], t))]
        + [(-price[c, t], d.x(c, t)) for c in d.by_provider[p].tolist()])) for p, t in index))


def add_running_costs(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Activity and transaction costs by year (£), the parts of spend that recur."""
    n_c = len(d.derived.contracts)
    contract_cost = d.derived.contracts["contract_cost"].to_numpy()
    price = d.coef["price"]
    costly = [(float(contract_cost[c]), k) for k, c in enumerate(d.z_rows.tolist())
              if contract_cost[c] > 0]
    m.activity_spend = pyo.Expression(d.years, rule=lambda _, t: linear(
        (price[c, t], d.x(c, t)) for c in range(n_c)))
    m.transaction_costs = pyo.Expression(d.years, rule=lambda _, t: linear(
        (cost, d.z(k, t)) for cost, k in costly))


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
    price = d.coef["price"]

    def delegated(_, lv, t):
        rows_ = d.by_level[lv].tolist()
        cost = pyo.quicksum(price[c, t] * x[c, t] for c in rows_)
        running = pyo.quicksum(contract_cost[c] * z[d.z_of[c], t] for c in rows_
                               if c in d.z_of and contract_cost[c] > 0)
        one_off = first_year_setup(rows_, t) if first_year_setup else pyo.quicksum(
            setup[c] * z[d.z_of[c], t] for c in rows_ if c in d.z_of and setup[c] > 0)
        return cost + running + one_off <= levels.at[lv, "delegated_budget"]

    m.delegated_budget = pyo.Constraint(
        _year_index([lv for lv in d.by_level if on("delegated_budget")
                     and not np.isnan(levels.at[lv, "delegated_budget"])], d.years), rule=delegated)


def add_objective(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Minimise Σ_t spend_t + ρ·σ_t − λ·QALYs_t (all £); σ grows with demand and prices."""
    policy = d.derived.instance.config.policy
    sl = d.derived.service_levels.loc[d.sl_rows]
    risky = sl["risk_cost"].to_numpy() > 0
    if d.derived.mutable:
        risky[:] = True
    qaly = d.derived.contracts["qaly_per_episode"].to_numpy()
    n_c = len(qaly)
    risk = d.coef["risk"]  # £ of risk premium by year: grows with prices and √demand
    m.risk_cost = pyo.Expression(d.years, rule=lambda _, t: linear(
        (risk[j, t], d.yv[j]) for j in np.flatnonzero(risky).tolist()))
    m.qalys = pyo.Expression(d.years, rule=lambda _, t: linear(
        (float(qaly[c]), d.x(c, t)) for c in range(n_c) if qaly[c] > 0))
    m.value_per_qaly = pyo.Param(mutable=True, initialize=policy.value_per_qaly)
    m.objective = pyo.Objective(
        expr=pyo.quicksum(m.spend[t] + m.risk_cost[t] - m.value_per_qaly * m.qalys[t]
                          for t in d.years), sense=pyo.minimize)
    from formulations import payment  # issue 16: bundles and blocks in the shared rows

    payment.after_objective(m, d)


def build_families(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Declare variables and families 1–8, 10, 11 and the running costs, for every year."""
    declare_variables(m, d)
    add_level_choice_and_demand(m, d)
    add_linking(m, d)
    add_capacity(m, d)
    add_share_quality_choice(m, d)
    add_provider_break_even(m, d)
    add_running_costs(m, d)
    from formulations import payment  # issue 16: blocks, bundles, guarantees

    payment.add_payment(m, d)
    add_level_limits(m, d)


#: The rows of family 9, commissioner break-even, under every regime (annual, carry_forward,
#: multi_year): the rows that hold spend to the budget, named once for whoever relaxes them.
BUDGET_ROWS = ("budget_limit", "budget_year_cap", "carry_over", "carry_rule", "carry_lapse")


def budgets(d: ModelData) -> list[float | None]:
    """£ budget of each year (a scalar budget applies to every year)."""
    return [d.derived.instance.budget_for_year(t if isinstance(
        d.derived.instance.config.policy.budget, list) else 0) for t in d.years]
