"""Areas and fair shares (issue 17): coverage by area, access, equity and pooled LA money.

Why: the seeds complain that commissioning had "little to show" for the shift of resources to
deprived areas and ask for movement "towards fair shares" and for money pooled with the local
authority. The model keeps its contracts x[c, t]; areas are added only where they change
something, so an instance without areas.csv (or with every offer serving every area and no
partly covered service) is exactly the model it was.

Symbols (a an area, j an eligible service-level of service s, c a contract of j, t a year):
  δ_sa      area a's share of s's demand (planner.derive.areas: population × need, or
            area_demand.csv);  w_a  a's need share P_a·N_a / Σ P·N;  W_a  a's qaly_weight
  D_jt      episodes of demand of j (coef sl_demand);  μ_s  services.min_area_coverage
  A_c       areas contract c's offer may serve (offers.areas; blank = all)
  x_ct, y_j, z_ct, cov_jt   the model's volumes, levels, contracts and coverage (shifting.py)
  u_cat ≥ 0   episodes of contract c for area a (split services only, a ∈ A_c, δ_sa > 0)
  v_jat ∈ [0, 1]   coverage of area a's demand (partly covered services only)
  p_t ≥ 0   £ of the local authority's contribution L_t paying the pooled levels' spend
  π_ct      £ per episode of c in year t;  β  policy.fair_share_band;  Q_c  QALYs per episode

A service is *split* when it is partly covered (min_coverage < 1) or one of its offers cannot
serve every area. Rows:
  area_split  (c, t)       Σ_a u_cat = x_ct                                 (split c)
  area_demand (j, a, t)    Σ_{c of j} u_cat = δ_sa·D_jt·v_jat   (partly covered)
                                          = δ_sa·D_jt·y_j       (fully covered, access-limited)
  area_coverage_sum (j, t) cov_jt = Σ_a δ_sa·v_jat      (so Σ_c x_ct = D_jt·cov_jt still holds)
  area_cover_cap (j, a, t) v_jat ≤ y_j
  area_floor (j, a, t)     μ_s·y_j ≤ v_jat                   (family area_coverage, μ_s > 0)
Spend attributed to area a (activity spend only; contract, set-up, entry and exit costs are the
commissioner's, not an area's): S_at = Σ_{split} π_ct·u_cat + Σ_{unsplit c of s} δ_sa·π_ct·x_ct,
and S_t = Σ_a S_at = Σ_c π_ct·x_ct. Family fair_share (β given):
  fair_high (a, t)         S_at ≤ (1 + β)·w_a·S_t
  fair_low  (a, t)         (1 − β)·w_a·S_t ≤ S_at
i.e. spend per need-weighted head S_at/(P_a N_a) within ±β of the mean S_t/Σ P·N.
Equity weights (any W_a ≠ 1) add to the objective −λ·Σ_t E_t with
  E_t = Σ_{split} Q_c·(W_a − 1)·u_cat + Σ_{unsplit c of s} Q_c·(Σ_a δ_sa W_a − 1)·x_ct
(the model's QALYs plus E_t are the weighted QALYs). Pooled funding (L_t > 0, levels pooled):
  la_limit (t)             p_t ≤ L_t
  pooled_limit (t)         p_t ≤ Σ_{c at pooled levels} (π_ct·x_ct + contract_cost_c·z_ct)
                           + the block and bundle sums at pooled levels (formulations.payment
                           extends the row, as it extends a delegated budget's)
  budget (budget.py)       spend_t ≤ budget_t + p_t        (the NHS pays spend_t − p_t)
The objective still counts all spend: pooled money is public money, it only relaxes the NHS
budget. Rows are built only over eligible pairs (contract-area pairs an offer can serve).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from formulations.rows import at_most, equal, expressions, linear, rows
from planner.rules import Family

if TYPE_CHECKING:
    from formulations.model_data import ModelData
    from planner.derive.tables import Derived

TINY = 1e-12


@dataclass
class AreaModel:
    """The area-level index sets of one build (positions into the derived tables)."""

    names: list[str]
    need_share: np.ndarray  # w_a
    weight: np.ndarray  # W_a
    pairs: pd.DataFrame  # contract, j, a, area: the (c, a) pairs with a u variable
    cover: pd.DataFrame  # j, a, share, floor: (j, a) of split service-levels with δ_sa > 0
    split: np.ndarray  # bool per contract: its service is split
    contract_share: np.ndarray  # δ_sa of each contract's service, contracts × areas
    covered: frozenset[int]  # partly covered j (they have v variables)
    pooled: np.ndarray  # bool per contract: at a pooled level
    band: float | None
    la: tuple[float, ...]
    #: the levels whose spend the pooled money may pay (a bundle at one is paid from it too)
    pooled_levels: frozenset[str] = frozenset()

    @property
    def weighted(self) -> bool:
        return bool(np.any(np.abs(self.weight - 1.0) > TINY))

    @property
    def pooling(self) -> bool:
        return any(v > 0 for v in self.la) and bool(self.pooled.any())


def prepare(derived: Derived, sl_rows: np.ndarray) -> AreaModel | None:
    """The area index sets, or None when no area rule changes the model (today's model)."""
    data = derived.areas
    if data is None:
        return None
    contracts = derived.contracts
    sl = derived.service_levels.loc[sl_rows].reset_index(drop=True)
    y_of_sl = {int(row): j for j, row in enumerate(sl_rows)}
    services = derived.services.set_index("service")
    partial = services["min_coverage"] < 1 - TINY
    split_services = set(services.index[partial]) | set(data.limited_services)
    names = data.names
    shares = data.shares.reindex(columns=names).fillna(0.0)
    contract_share = shares.reindex(contracts["service"]).fillna(0.0).to_numpy(float)
    split = contracts["service"].isin(split_services).to_numpy()
    pooled = contracts["level"].isin(data.pooled_levels).to_numpy()
    model = AreaModel(
        names=names, need_share=data.areas["need_share"].to_numpy(float),
        weight=data.areas["qaly_weight"].to_numpy(float), pairs=pd.DataFrame(),
        cover=pd.DataFrame(), split=split, contract_share=contract_share, covered=frozenset(),
        pooled=pooled, band=derived.policy.fair_share_band,
        la=derived.policy.la_contribution or (0.0,) * derived.horizon,
        pooled_levels=frozenset(data.pooled_levels))
    if not (split.any() or model.band is not None or model.weighted or model.pooling):
        return None
    # (c, a) pairs of split contracts: the cross product of a split service's contracts with
    # the areas holding its demand, less the areas its offer cannot serve
    chosen = contracts.loc[split, ["service", "provider", "sl"]].reset_index(names="contract")
    chosen["j"] = chosen["sl"].map(y_of_sl)
    area_of = pd.DataFrame({"area": names, "a": np.arange(len(names))})
    pairs = chosen.merge(area_of, how="cross")
    pairs = pairs.loc[contract_share[pairs["contract"], pairs["a"]] > TINY]
    if data.access:
        access = pd.DataFrame([(p, s, a) for (p, s), allowed in data.access.items()
                               for a in allowed], columns=["provider", "service", "area"])
        limited = pd.Series(list(zip(pairs["provider"], pairs["service"]))).isin(
            set(data.access)).to_numpy()
        allowed = pairs.merge(access.assign(ok=True), on=["provider", "service", "area"],
                              how="left")["ok"].fillna(False).to_numpy(bool)
        pairs = pairs.loc[~limited | allowed]
    model.pairs = pairs[["contract", "j", "a", "area"]].reset_index(drop=True)
    # (j, a) of split service-levels with demand in the area
    split_sl = sl.loc[sl["service"].isin(split_services)].reset_index(names="j")
    cover = split_sl[["j", "service"]].merge(area_of, how="cross")
    cover["share"] = shares.reindex(cover["service"]).to_numpy(float)[
        np.arange(len(cover)), cover["a"].to_numpy()] if len(cover) else np.zeros(0)
    cover = cover.loc[cover["share"] > TINY]
    cover["floor"] = cover["service"].map(data.min_area_coverage).fillna(0.0).to_numpy(float)
    cover["partly"] = cover["service"].map(partial).fillna(False).to_numpy(bool)
    model.cover = cover[["j", "a", "share", "floor", "partly"]].reset_index(drop=True)
    model.covered = frozenset(int(j) for j in cover.loc[cover["partly"], "j"])
    return model


def declare(m: pyo.ConcreteModel, d: ModelData) -> None:
    """The area variables and their structural rows (after shifting's coverage variables)."""
    am = d.areas
    if am is None:
        return
    years = list(d.years)
    pairs, cover = am.pairs, am.cover
    m.area_x = pyo.Var([(k, t) for k in range(len(pairs)) for t in years],
                       domain=pyo.NonNegativeReals)
    covered = cover.loc[cover["partly"]]
    v_keys = [(int(i), t) for i in covered.index for t in years]
    m.area_cover = pyo.Var(v_keys, bounds=(0, 1))
    by_contract = pairs.groupby("contract").indices
    split_contracts = [c for c in np.flatnonzero(am.split).tolist()]
    index = [(c, t) for c in split_contracts for t in years]
    m.area_split = rows(index, (equal(linear(
        [(1.0, m.area_x[int(k), t]) for k in by_contract.get(c, ())] + [(-1.0, d.x(c, t))]), 0.0)
        for c, t in index))
    by_cell = pairs.groupby(["j", "a"]).indices
    sl_demand = d.coef["sl_demand"]
    index = [(int(i), t) for i in cover.index for t in years]
    jj, aa = cover["j"].to_numpy(), cover["a"].to_numpy()
    share, partly = cover["share"].to_numpy(float), cover["partly"].to_numpy(bool)

    def area_demand(i: int, t: int):
        j = int(jj[i])
        need = share[i] * sl_demand[j, t]
        body = [(1.0, m.area_x[int(k), t]) for k in by_cell.get((j, int(aa[i])), ())]
        body.append((-need, m.area_cover[i, t] if partly[i] else d.yv[j]))
        return equal(linear(body), 0.0)

    m.area_demand = rows(index, (area_demand(i, t) for i, t in index))
    coverage = getattr(m, "coverage", None)
    by_j = covered.groupby("j").indices
    index = [(int(j), t) for j in sorted(by_j) for t in years
             if coverage is not None and (int(j), t) in coverage]
    rows_of_j = {int(j): covered.index[pos].tolist() for j, pos in by_j.items()}
    m.area_coverage_sum = rows(index, (equal(linear(
        [(1.0, coverage[j, t])] + [(-float(share[i]), m.area_cover[i, t]) for i in rows_of_j[j]]),
        0.0) for j, t in index))
    m.area_cover_cap = rows(v_keys, (at_most(linear(((1.0, m.area_cover[i, t]),
                                                     (-1.0, d.yv[int(jj[i])]))))
                                     for i, t in v_keys))
    _add_equity(m, d, am)
    _add_pooled(m, d, am)


def add_floors(m: pyo.ConcreteModel, d: ModelData) -> None:
    """area_coverage: μ_s·y_j ≤ v_jat, each area's least share of its demand (μ_s > 0)."""
    am = d.areas
    if am is None or not d.on(Family.AREA_COVERAGE):
        return
    cover = am.cover
    floors = cover.loc[cover["partly"] & (cover["floor"] > 0)]
    index = [(int(i), t) for i in floors.index for t in d.years]
    floor, jj = cover["floor"].to_numpy(float), cover["j"].to_numpy()
    m.area_floor = rows(index, (at_most(linear(((float(floor[i]), d.yv[int(jj[i])]),
                                                (-1.0, m.area_cover[i, t]))))
                                for i, t in index))


def _attributed(m: pyo.ConcreteModel, d: ModelData, am: AreaModel, a: int, t: int,
                mean: float) -> list:
    """Terms of S_at − mean·w_a·S_t (£): the area's attributed spend against ``mean`` × its
    need share of all activity spend."""
    price = d.coef["price"]
    target = mean * am.need_share[a]
    terms = []
    share = am.contract_share[:, a]
    for c in range(len(am.split)):
        coef = (0.0 if am.split[c] else share[c]) - target
        if abs(coef) > TINY:
            terms.append((coef * price[c, t], d.x(c, t)))
    pairs = am.pairs
    for k in np.flatnonzero(pairs["a"].to_numpy() == a).tolist():
        c = int(pairs.at[k, "contract"])
        terms.append((price[c, t], m.area_x[k, t]))
    return terms


def add_fair_share(m: pyo.ConcreteModel, d: ModelData) -> None:
    """fair_share: (1 − β)·w_a·S_t ≤ S_at ≤ (1 + β)·w_a·S_t by area and year (β given)."""
    am = d.areas
    if am is None or am.band is None or not d.on(Family.FAIR_SHARE):
        return
    index = [(a, t) for a in range(len(am.names)) for t in d.years]
    m.fair_high = rows(index, (at_most(linear(_attributed(m, d, am, a, t, 1.0 + am.band)))
                               for a, t in index))
    m.fair_low = rows(index, (at_most(linear((-coef, var) for coef, var in _attributed(
        m, d, am, a, t, 1.0 - am.band))) for a, t in index))


def _add_equity(m: pyo.ConcreteModel, d: ModelData, am: AreaModel) -> None:
    """equity_qalys[t] = E_t (QALYs): weighted health minus the model's own QALYs."""
    if not am.weighted:
        return
    qaly = d.derived.contracts["qaly_per_episode"].to_numpy(float)
    factor = am.contract_share @ am.weight - 1.0
    pairs = am.pairs
    contract, area = pairs["contract"].to_numpy(), pairs["a"].to_numpy()

    def extra(t: int):
        terms = [(float(qaly[c] * factor[c]), d.x(c, t)) for c in range(len(qaly))
                 if not am.split[c] and abs(qaly[c] * factor[c]) > TINY]
        terms += [(float(qaly[contract[k]] * (am.weight[area[k]] - 1.0)), m.area_x[k, t])
                  for k in range(len(pairs)) if abs(qaly[contract[k]] * (am.weight[area[k]] - 1))
                  > TINY]
        return linear(terms)

    m.equity_qalys = expressions(d.years, (extra(t) for t in d.years))


def _add_pooled(m: pyo.ConcreteModel, d: ModelData, am: AreaModel) -> None:
    """pooled_paid[t] (£) with la_limit and pooled_limit (see the module docstring)."""
    if not am.pooling:
        return
    years = [t for t in d.years if am.la[t] > 0]
    m.pooled_paid = pyo.Var(list(d.years), domain=pyo.NonNegativeReals)
    for t in d.years:
        if am.la[t] <= 0:
            m.pooled_paid[t].fix(0.0)
    m.la_limit = rows(years, (at_most(linear([(1.0, m.pooled_paid[t])]), am.la[t]) for t in years))
    price = d.coef["price"]
    cost = d.derived.contracts["contract_cost"].to_numpy(float)
    pooled = np.flatnonzero(am.pooled).tolist()
    z_pooled = [(k, c) for k, c in enumerate(d.z_rows.tolist()) if am.pooled[c] and cost[c] > 0]
    m.pooled_limit = rows(years, (at_most(linear(
        [(1.0, m.pooled_paid[t])] + [(-price[c, t], d.x(c, t)) for c in pooled]
        + [(-float(cost[c]), d.z(k, t)) for k, c in z_pooled])) for t in years))


def funded(m: pyo.ConcreteModel, t: int, factor: float = 1.0):
    """The money year t may spend against a budget row: factor·budget_t, plus p_t when pooled
    LA money pays for the pooled levels (unchanged without it)."""
    budget = m.budget[t] if factor == 1.0 else factor * m.budget[t]
    paid = getattr(m, "pooled_paid", None)
    return budget if paid is None else budget + paid[t]
