"""Shifting care (issue 15): demand effects between services, and partial coverage.

Why: the seeds' business case for community and preventive services is that they prevent, and
substitute for, hospital care; with every demand fixed the model could not see that buying one
service saves money elsewhere, nor buy part of a service. Two additions to family 2 (demand):

Symbols (j an eligible service-level of service s, t a year, e an effect row):
  D_jt      episodes of demand of j in year t (level effects and growth applied), coef sl_demand
  y_j       1 if level j is chosen for s (binary, families.py)
  x_ct      episodes on contract c in year t (families.py); X_st = Σ_{c of s} x_ct
  c_jt      coverage: the share of D_jt bought, continuous (services.min_coverage < 1 only)
  a_jt      episodes added to (+) or avoided from (−) j's demand by effects, continuous
  f_e, L_e  effect e's factor (episodes of target per episode of source) and lag (years)
  κ_s       min_coverage of s;  lo_st, hi_st  the least and most the effects on s can add in t

Rows (per j and t unless stated):
  demand (replaces family 2)   Σ_{c of j} x_ct = D_jt·y_j + a_jt          (effect targets)
                               Σ_{c of j} x_ct = D_jt·c_jt               (partly covered)
  coverage_floor / _cap        κ_s·y_j ≤ c_jt ≤ y_j
  shift_low / shift_high       lo_st·y_j ≤ a_jt ≤ hi_st·y_j               (a lives at the chosen level)
  effect_balance (per s, t)    Σ_{j of s} a_jt = Σ_{e: target s, t ≥ L_e} f_e·X_{source_e, t − L_e}

lo_st (hi_st) sums f_e × the most episodes the source can carry in t − L_e over the avoiding
(adding) effects, so the two rows never cut off a feasible plan. A target is mandatory (checked
in :mod:`planner.data.shifting_checks`), so exactly one y_j of s is 1 and all its shift sits there;
an effect lands only inside the horizon (source episodes before the base year are not counted:
the demand D of a target is its demand without the sources). qalys, spend, capacities,
provider income and average quality all read x, so they follow the volume actually bought.
The contracts of a target may carry up to max_t hi_st episodes more than D (ModelData.demand).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pyomo.environ as pyo

from formulations.rows import at_most, equal, linear, rows

if TYPE_CHECKING:
    from formulations.model_data import ModelData
    from planner.derive.tables import Derived


@dataclass
class ShiftData:
    """Which service-levels are partly covered or effect targets, and the effect rows."""

    covered: dict[int, float] = field(default_factory=dict)  # j -> min_coverage
    target_of: dict[int, str] = field(default_factory=dict)  # j -> target service
    targets: dict[str, list[int]] = field(default_factory=dict)  # target -> its j
    # target -> [(factor, lag, source contract rows)]
    effects: dict[str, list[tuple[float, int, list[int]]]] = field(default_factory=dict)
    low: dict[tuple[str, int], float] = field(default_factory=dict)  # episodes, ≤ 0
    high: dict[tuple[str, int], float] = field(default_factory=dict)  # episodes, ≥ 0

    @property
    def active(self) -> bool:
        return bool(self.covered or self.targets)


def prepare(derived: Derived, by_service: dict[object, np.ndarray],
            sl_rows: np.ndarray) -> ShiftData:
    """The shifting data of a derived instance (empty when it has no effects or coverage)."""
    data = ShiftData()
    sl = derived.service_levels.loc[sl_rows].reset_index(drop=True)
    coverage = derived.services.set_index("service")["min_coverage"]
    partial = sl["service"].map(coverage).fillna(1.0).to_numpy()
    data.covered = {int(j): float(partial[j]) for j in np.flatnonzero(partial < 1 - 1e-12)}
    effects = derived.effects
    if effects.empty:
        return data
    years = range(derived.horizon)
    growth = (1.0 + sl["growth"].to_numpy(float))
    demand = sl["level_demand"].to_numpy(float)
    most = {s: [float(np.max(demand[r] * growth[r] ** t)) for t in years]
            for s, r in sl.groupby("service").indices.items()}  # episodes a source can carry
    services_of_sl = sl["service"].to_numpy()
    for target, effect_rows in effects.groupby("target", sort=False):
        positions = np.flatnonzero(services_of_sl == target).tolist()
        if not positions:
            continue  # no eligible level: prechecks report a mandatory service without one
        data.targets[target] = positions
        data.target_of.update({j: target for j in positions})
        items = []
        for source, factor, lag in zip(effect_rows["source"], effect_rows["factor"],
                                       effect_rows["lag"]):
            contracts = by_service.get(source)
            if contracts is None or source not in most:
                continue  # a source nobody can deliver shifts nothing
            items.append((float(factor), int(lag), contracts.tolist()))
            for t in years:
                if t >= lag:
                    moved = float(factor) * most[source][t - int(lag)]
                    key = (target, t)
                    data.low[key] = data.low.get(key, 0.0) + min(moved, 0.0)
                    data.high[key] = data.high.get(key, 0.0) + max(moved, 0.0)
        data.effects[target] = items
    return data


def added_demand(data: ShiftData, derived: Derived) -> np.ndarray:
    """Episodes each contract may carry above its service-level's demand (effects that add)."""
    contracts = derived.contracts
    added = np.zeros(len(contracts))
    for target in data.targets:
        most = max((data.high.get((target, t), 0.0) for t in range(derived.horizon)), default=0.0)
        if most > 0:
            added[(contracts["service"] == target).to_numpy()] = most
    return added


def declare(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Coverage and shift variables and their rows (before the demand rows, which use them)."""
    data = d.shifting
    if data is None:
        return
    years = list(d.years)
    covered = [(j, t) for j in data.covered for t in years]
    m.coverage = pyo.Var(covered, bounds=(0, 1))
    m.coverage_floor = rows(covered, (at_most(linear(((data.covered[j], d.yv[j]),
                                                      (-1.0, m.coverage[j, t]))))
                                      for j, t in covered))
    m.coverage_cap = rows(covered, (at_most(linear(((1.0, m.coverage[j, t]), (-1.0, d.yv[j]))))
                                    for j, t in covered))
    shifted = [(j, t) for j in data.target_of for t in years]
    low = {(j, t): data.low.get((data.target_of[j], t), 0.0) for j, t in shifted}
    high = {(j, t): data.high.get((data.target_of[j], t), 0.0) for j, t in shifted}
    m.shifted = pyo.Var(shifted, bounds=lambda _, j, t: (low[j, t], high[j, t]))
    lows = [k for k in shifted if low[k] < 0]
    m.shift_low = rows(lows, (at_most(linear(((low[k], d.yv[k[0]]), (-1.0, m.shifted[k]))))
                              for k in lows))
    highs = [k for k in shifted if high[k] > 0]
    m.shift_high = rows(highs, (at_most(linear(((1.0, m.shifted[k]), (-high[k], d.yv[k[0]]))))
                                for k in highs))
    balance = [(s, t) for s in data.targets for t in years]

    def effect_balance(s: str, t: int):
        moved = [(-factor, m.x[c, t - lag]) for factor, lag, contracts in data.effects.get(s, ())
                 if t >= lag for c in contracts]
        return equal(linear([(1.0, m.shifted[j, t]) for j in data.targets[s]] + moved), 0.0)

    m.effect_balance = rows(balance, (effect_balance(s, t) for s, t in balance))


def demand_side(m: pyo.ConcreteModel, d: ModelData, j: int, t: int, demand: object) -> list:
    """The right-hand side of j's demand row in year t as (coefficient, variable) terms of
    Σx − (…) = 0: −D·y normally, −D·c when partly covered, and −a where effects shift it."""
    data = d.shifting
    if data is None or not data.active:
        return [(-demand, d.yv[j])]
    terms = [(-demand, m.coverage[j, t] if j in data.covered else d.yv[j])]
    if j in data.target_of:
        terms.append((-1.0, m.shifted[j, t]))
    return terms
