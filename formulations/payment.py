"""How care is paid for (issue 16): block contracts, capitated bundles and income guarantees.

The quality withhold needs no rows: it scales the price coefficient, π'_ps = π_ps (1 − w + w q_ps)
(:mod:`planner.derive.payment`). Everything else is added here, in two steps: :func:`add_payment`
(after the running costs, before spend is summed) declares the variables, the block and guarantee
rows and the £ they cost; :func:`after_objective` (the last step of every build) extends the
shared families' rows where a bundle takes part in them.

Symbols (t a year, pf_t = (1 + price_change)^t):

  c ∈ K         eligible contracts of block offers (payment: block); π'_c = 0 for them
  b_ct ∈ {0,1}  block contract c let in year t;  B_c block_price (£/yr), C_c the offer's capacity
  u_β ∈ {0,1}   bundle β chosen, for the whole horizon (a capitated contract runs the period)
  P_β           bundle price (£/yr); S_β its services with demand; l_β its level; p_β its provider
  j(s, l)       the service-level row of s at l;  D_jt its demand, σ_jt its risk charge ρ·sd
  g_pt ≥ 0      guarantee top-up paid to provider p in year t;  G_p income_guarantee (£/yr)
  tc_l          £ a year of one contract at level l for all its units (tc × units)

Rows:
  block_capacity   x_ct ≤ C_c · b_ct                         (a block buys at most its capacity)
  block_activity   x_ct ≥ min(1, C_c, D_ct) · b_ct           (a let block carries activity)
  demand (ext.)    Σ_p x_jpt + D_jt · Σ_{β ∋ j} u_β = D_jt · y_j
                   (so u_β = 1 forces level l_β for every s ∈ S_β, all its demand to p_β, no
                   other contract, and at most one chosen bundle per service)
  bundle_use       u_β ≤ w_{p_β,t}                           (where p_β has a use binary)
  provider_use     min_volume_p · w_pt ≤ Σ x_pt + min_volume_p · Σ_{β: p_β = p} u_β
  min_income (ext.) income_p · w_pt ≤ Σ π'_ct x_ct + Σ B_c pf_t b_ct + Σ P_β pf_t u_β
  guarantee        g_pt ≥ G_p pf_t · w_pt − Σ π'_ct x_ct − Σ_{c ∈ K_p} B_c pf_t b_ct
                   (bundle income does not count: the issue's guarantee is on activity and
                   blocks; at an optimum g_pt = max(0, G_p pf_t w_pt − income_pt))
  delegated (ext.) + Σ_{c ∈ K at l} B_c pf_t b_ct + Σ_{β at l} (P_β pf_t + tc_l) u_β
  pooled_limit (ext.) the same block and bundle terms for the pooled levels: the local
                   authority's pooled money pays them as it pays episodes (funders.csv, verify)
  setting targets (ext.) bundle episodes count as activity of their service's setting
  block notice     (T > 1) ended_ot ≥ L_o,t−1 − L_ot for an incumbent block offer o,
                   L_ot = Σ_{c ∈ o} b_ct, L_o,−1 = 1: half a year of its block price when it ends

Costs (£, by year): block_spend_t = Σ B_c pf_t b_ct; bundle_spend_t = Σ P_β pf_t u_β;
guarantee_payments_t = Σ g_pt; transaction_costs_t += Σ tc_{l_β} u_β (one contract per bundle per
unit of its level); risk_cost_t −= Σ_β Σ_{j ∈ β} σ_jt u_β (the provider bears the volume risk);
qalys_t += Σ_β Σ_{j ∈ β} qaly_s q_β D_jt u_β.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from formulations.model_data import ModelData
from formulations.rows import at_most, expressions, linear, rows
from planner.rules import MIN_CONTRACT_VOLUME, NOTICE_SHARE


@dataclass
class PaymentData:
    """What the payment rows share with the rows they extend: the block contracts (positions in
    the derived contracts, block price £ a year, capacity in episodes) and the bundles."""

    blocks: np.ndarray
    price: np.ndarray
    capacity: np.ndarray
    bundle_rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    bundle_names: list[str] = field(default_factory=list)


def block_rows(d: ModelData) -> np.ndarray:
    """Positions of the eligible contracts of block offers."""
    contracts = d.derived.contracts
    offers = d.derived.offers
    block = offers.loc[offers["payment"] == "block"]
    if not len(block):
        return np.zeros(0, dtype=int)
    keys = set(zip(block["provider"], block["service"]))
    flags = [key in keys for key in zip(contracts["provider"], contracts["service"])]
    return np.flatnonzero(np.asarray(flags, dtype=bool))


def _block_prices(d: ModelData, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(block_price £/yr, capacity episodes) of each block contract in ``rows``."""
    contracts = d.derived.contracts.iloc[rows]
    offers = d.derived.offers.set_index(["provider", "service"])
    keys = pd.MultiIndex.from_arrays([contracts["provider"], contracts["service"]])
    return (offers["block_price"].reindex(keys).to_numpy(float),
            offers["capacity"].reindex(keys).to_numpy(float))


def _factor(d: ModelData, t: int) -> float:
    return float((1.0 + d.derived.price_change) ** t)


def add_payment(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Blocks, bundles and guarantees: variables, their own rows and their £ (see module)."""
    years = d.years
    contracts = d.derived.contracts
    blocks = block_rows(d)
    price, cap = _block_prices(d, blocks)
    data = PaymentData(blocks, price, cap)
    index = [(i, t) for i in range(len(blocks)) for t in years]
    m.block = pyo.Var(index, domain=pyo.Binary)
    m.block_capacity = rows(index, (at_most(linear((
        (1.0, d.x(int(blocks[i]), t)), (-float(cap[i]), m.block[i, t])))) for i, t in index))
    floor = {(i, t): float(min(MIN_CONTRACT_VOLUME, cap[i], d.demand(int(blocks[i]), t)))
             for i, t in index}
    m.block_activity = rows(index, (at_most(linear((
        (floor[i, t], m.block[i, t]), (-1.0, d.x(int(blocks[i]), t))))) for i, t in index))
    m.block_spend = expressions(years, (linear(
        (float(price[i]) * _factor(d, t), m.block[i, t]) for i in range(len(blocks)))
        for t in years))
    _add_block_notice(m, d, blocks, price)

    chosen = d.derived.bundles
    chosen = chosen.loc[chosen["eligible"]] if len(chosen) else chosen
    names = list(dict.fromkeys(chosen["bundle"])) if len(chosen) else []
    data.bundle_rows, data.bundle_names = chosen.reset_index(drop=True), names
    d.payment = data
    m.bundle = pyo.Var(names, domain=pyo.Binary)
    first = chosen.loc[chosen["first"]].set_index("bundle") if len(chosen) else pd.DataFrame()
    m.bundle_spend = expressions(years, (linear(
        (float(first.at[b, "price"]) * _factor(d, t), m.bundle[b]) for b in names) for t in years))
    for t in years if names else ():  # one contract per bundle per unit of its level
        extra = linear((float(first.at[b, "contract_cost"]), m.bundle[b]) for b in names
                       if first.at[b, "contract_cost"] > 0)
        m.transaction_costs[t].set_value(m.transaction_costs[t].expr + extra)
    linked = [(b, t) for b in names for t in years if first.at[b, "provider"] in d.w_of]
    m.bundle_use = rows(linked, (at_most(linear((
        (1.0, m.bundle[b]), (-1.0, d.w(d.w_of[first.at[b, "provider"]], t))))) for b, t in linked))

    providers = d.derived.providers.set_index("provider")
    guaranteed = [p for p in d.w_of if providers.at[p, "income_guarantee"] > 0]
    m.guarantee = pyo.Var([(p, t) for p in guaranteed for t in years],
                          domain=pyo.NonNegativeReals)
    coef = d.coef["price"]
    block_of = pd.Series(range(len(blocks)), index=contracts["provider"].to_numpy()[blocks]) \
        if len(blocks) else pd.Series(dtype=int)

    def guarantee_row(p: str, t: int):
        income = [(-coef[c, t], d.x(c, t)) for c in d.by_provider[p].tolist()]
        mine = block_of.loc[[p]].tolist() if p in block_of.index else []
        income += [(-float(price[i]) * _factor(d, t), m.block[i, t]) for i in mine]
        owed = float(providers.at[p, "income_guarantee"]) * _factor(d, t)
        return at_most(linear([(owed, d.w(d.w_of[p], t)), (-1.0, m.guarantee[p, t])] + income))

    index = [(p, t) for p in guaranteed for t in years]
    m.guarantee_floor = rows(index, (guarantee_row(p, t) for p, t in index))
    m.guarantee_payments = expressions(years, (linear(
        (1.0, m.guarantee[p, t]) for p in guaranteed) for t in years))
    m.payment_costs = expressions(years, (m.block_spend[t] + m.bundle_spend[t]
                                          + m.guarantee_payments[t] + m.block_notice[t]
                                          for t in years))


def _add_block_notice(m: pyo.ConcreteModel, d: ModelData, blocks: np.ndarray,
                      price: np.ndarray) -> None:
    """Notice on an incumbent block contract that ends (T > 1 only, as for activity notice).

    For an incumbent block offer o (incumbent_volume > 0) let L_ot = Σ_{c ∈ o} b_ct (0 or 1:
    only the chosen level carries episodes), L_o,−1 = 1 (it runs today). Then
      ended_ot ≥ L_o,t−1 − L_ot,  0 ≤ ended_ot ≤ 1,
      block_notice_t = Σ_o NOTICE_SHARE · B_o · pf_t · ended_ot  (half a year of the block).
    ended is 1 exactly in a year the block stops, at any optimum (it is only ever paid for).
    """
    years = d.years
    contracts = d.derived.contracts
    offers = d.derived.offers.set_index(["provider", "service"])
    keys = list(zip(contracts["provider"].to_numpy()[blocks], contracts["service"].to_numpy()[blocks]))
    incumbent = {key for key in keys if offers.at[key, "incumbent_volume"] > 0}
    members: dict[tuple, list[int]] = {}
    for i, key in enumerate(keys):
        if key in incumbent:
            members.setdefault(key, []).append(i)
    names = list(members) if len(years) > 1 else []
    m.block_ended = pyo.Var([(n, t) for n in range(len(names)) for t in years], bounds=(0, 1))

    def let(n: int, t: int):
        return sum(m.block[i, t] for i in members[names[n]]) if t >= 0 else 1.0

    ended = list(m.block_ended.index_set())
    m.block_end_rule = rows(ended, (m.block_ended[n, t] >= let(n, t - 1) - let(n, t)
                                    for n, t in ended))
    share = {n: NOTICE_SHARE * float(price[members[names[n]][0]]) for n in range(len(names))}
    m.block_notice = expressions(years, (linear(
        (share[n] * _factor(d, t), m.block_ended[n, t]) for n in range(len(names))) for t in years))


def _extend(con, extra) -> None:
    """Add ``extra`` to the body of a row of a shared family (orientation kept)."""
    if con.equality:
        con.set_value(con.body + extra == con.upper)
    elif con.has_ub():
        con.set_value(con.body + extra <= con.upper)
    else:
        con.set_value(con.body + extra >= con.lower)


def after_objective(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Extend the shared families' rows with blocks and bundles (see the module's table)."""
    if d.payment is None:
        return
    blocks, price = d.payment.blocks, d.payment.price
    rows, names = d.payment.bundle_rows, d.payment.bundle_names
    if not len(blocks) and not names:
        return
    contracts = d.derived.contracts
    years = d.years
    y_of = {int(r): j for j, r in enumerate(d.sl_rows)}
    sl_demand, risk = d.coef["sl_demand"], d.coef["risk"]
    jr = [y_of[int(s)] for s in rows["sl"]] if len(rows) else []
    for r, j in enumerate(jr):
        b = rows.at[r, "bundle"]
        for t in years:
            _extend(m.demand[j, t], sl_demand[j, t] * m.bundle[b])
    for t in years:
        if names:
            m.risk_cost[t].set_value(m.risk_cost[t].expr - sum(
                risk[j, t] * m.bundle[rows.at[r, "bundle"]] for r, j in enumerate(jr)))
            m.qalys[t].set_value(m.qalys[t].expr + sum(
                float(rows.at[r, "qaly_per_episode"]) * sl_demand[j, t]
                * m.bundle[rows.at[r, "bundle"]] for r, j in enumerate(jr)))
    first = rows.loc[rows["first"]] if len(rows) else rows
    min_volume = d.coef["min_volume"]
    block_provider = contracts["provider"].to_numpy()[blocks]
    block_level = contracts["level"].to_numpy()[blocks]
    for t in years:
        pf = _factor(d, t)
        for p in set(first["provider"]) if len(first) else ():
            mine = first.loc[first["provider"] == p, "bundle"].tolist()
            if p in d.w_of and hasattr(m, "provider_use") and (p, t) in m.provider_use:
                _extend(m.provider_use[p, t], -sum(min_volume[d.w_of[p], t] * m.bundle[b]
                                                  for b in mine))
            if hasattr(m, "min_income") and (p, t) in m.min_income:
                _extend(m.min_income[p, t], -sum(float(first.loc[first["bundle"] == b, "price"]
                                                       .iloc[0]) * pf * m.bundle[b] for b in mine))
        if hasattr(m, "min_income"):
            for i, p in enumerate(block_provider):
                if (p, t) in m.min_income:
                    _extend(m.min_income[p, t], -float(price[i]) * pf * m.block[i, t])
        pooled_at = d.areas.pooled_levels if d.areas is not None else frozenset()
        if hasattr(m, "pooled_limit") and t in m.pooled_limit:  # the pool pays fixed sums too
            for i, level in enumerate(block_level):
                if level in pooled_at:
                    _extend(m.pooled_limit[t], -float(price[i]) * pf * m.block[i, t])
            for row in first.itertuples(index=False) if len(first) else ():
                if row.level in pooled_at:
                    _extend(m.pooled_limit[t], -(float(row.price) * pf + float(row.contract_cost))
                            * m.bundle[row.bundle])
        if hasattr(m, "delegated_budget"):
            for i, level in enumerate(block_level):
                if (level, t) in m.delegated_budget:
                    _extend(m.delegated_budget[level, t], float(price[i]) * pf * m.block[i, t])
            for row in first.itertuples(index=False) if len(first) else ():
                if (row.level, t) in m.delegated_budget:
                    _extend(m.delegated_budget[row.level, t],
                            (float(row.price) * pf + float(row.contract_cost)) * m.bundle[row.bundle])
    if names and hasattr(m, "setting_target"):
        _extend_setting_targets(m, d, rows, jr)


def _extend_setting_targets(m: pyo.ConcreteModel, d: ModelData, rows: pd.DataFrame,
                            jr: list[int]) -> None:
    """Bundle episodes count as activity of their service's category and setting."""
    targets = d.derived.policy.setting_targets
    services = d.derived.services.set_index("service")
    category = rows["service"].map(services["category"]).to_numpy()
    setting = rows["service"].map(services["setting"]).to_numpy()
    sl_demand = d.coef["sl_demand"]
    for number, t in list(m.setting_target):
        target = targets[number]
        share = target.shares[t]
        terms = [((1.0 if setting[r] in target.settings else 0.0) - share)
                 * sl_demand[j, t] * m.bundle[rows.at[r, "bundle"]]
                 for r, j in enumerate(jr) if category[r] == target.category]
        if terms:
            _extend_ge(m.setting_target[number, t], sum(terms))


def _extend_ge(con, extra) -> None:
    """Add ``extra`` to the larger side of a ≥ row built with Pyomo's operators (A ≥ B)."""
    lower, body, upper = con.to_bounded_expression()
    if upper is not None:  # stored as B − A ≤ upper
        con.set_value(body - extra <= upper)
    else:
        con.set_value(body + extra >= lower)
