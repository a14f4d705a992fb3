"""The families of the multi-year model only (MODEL §3): one-off events by year, notice on
incumbent contracts, contract stability and setting targets.

* one-off costs in the year they arise: a set-up cost when a new contract starts, an entry cost
  when a non-incumbent provider starts being used, an exit cost when an incumbent stops being
  used. Year 0 compares with the status quo, so its events are the binaries themselves and the
  model at T = 1 is exactly the single-year model; later years use continuous event variables
  e_t ≥ b_t − b_{t−1}, which are 0/1 at any optimum because they are only ever paid for;
* notice: ending an incumbent contract (an offer with incumbent volume) costs half a year of its
  incumbent spend, 0.5 × incumbent_volume × price_t, in the year it ends, and cutting it costs
  the same pro rata on the episodes dropped, charged in the year of the drop;
* contract stability: a contract started in year t runs at least ``min_contract_years``;
* setting targets: a minimum share of a category's activity in given settings, by year.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from formulations.coefficients import incumbent_offers
from formulations.costs import one_off_cost_terms
from formulations.model_data import ModelData, groups
from formulations.rows import at_most, expressions, linear, rows
from planner.rules import NOTICE_SHARE, Family


def add_events(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Contract starts (set-up costs) and provider entries and exits after year 0:
    start ≥ z_t − z_{t−1}, entry ≥ w_t − w_{t−1}, exit ≥ w_{t−1} − w_t (each in [0, 1])."""
    later = [t for t in d.years if t > 0]
    setups, entries, exits, _ = one_off_cost_terms(d)
    m.start = pyo.Var([(k, t) for _, k in setups for t in later], bounds=(0, 1))
    index = list(m.start.index_set())
    m.start_rule = rows(index, (at_most(linear(((1.0, d.z(k, t)), (-1.0, d.z(k, t - 1)),
                                                (-1.0, m.start[k, t])))) for k, t in index))
    m.entry = pyo.Var([(q, t) for _, q in entries for t in later], bounds=(0, 1))
    index = list(m.entry.index_set())
    m.entry_rule = rows(index, (at_most(linear(((1.0, d.w(q, t)), (-1.0, d.w(q, t - 1)),
                                                (-1.0, m.entry[q, t])))) for q, t in index))
    m.exit = pyo.Var([(q, t) for _, q in exits for t in later], bounds=(0, 1))
    index = list(m.exit.index_set())
    m.exit_rule = rows(index, (at_most(linear(((1.0, d.w(q, t - 1)), (-1.0, d.w(q, t)),
                                               (-1.0, m.exit[q, t])))) for q, t in index))
    d.sv = {key: m.start[key] for key in m.start.index_set()}


def add_notice(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Notice on incumbent contracts, charged in the year of the drop (T > 1).

    For an incumbent offer o with incumbent volume V_o, let X_{o,t} = Σ_c x[c, t] over its
    contracts (any level) and s_{o,t} = max(0, V_o − X_{o,t}) the shortfall. The episodes noticed
    by the end of year t are the running maximum N_{o,t} = max(N_{o,t−1}, s_{o,t}), N_{o,−1} = 0,
    and year t pays NOTICE_SHARE × p_{o,t} × (N_{o,t} − N_{o,t−1}). Dropping the whole contract
    therefore costs half a year of incumbent spend in the year it ends; cutting it costs the same
    pro rata; restoring volume and cutting again is not charged twice.

    ``N ≥ N_{t−1}`` and ``N ≥ V − X`` alone would let the model give notice early (in a cheaper
    year, or one with budget to spare): N is held *at* the running maximum by a binary b_{o,t}
    (1 if year t sets a new maximum), with M_{o,t} ≥ X_{o,t} the largest volume the offer can hold:

      N_t ≤ N_{t−1} + V·b_t            (no new notice unless this year sets the maximum)
      N_t ≤ V − X_t + M_t·(1 − b_t)    (and then only up to this year's shortfall)

    When prices never rise and no budget rule is on, early notice can only cost more, so the
    binaries are left out (a mutable build always has them: a sweep may re-set the prices).
    """
    contracts = d.derived.contracts
    incumbent = incumbent_offers(d.derived)
    contracts_of = groups(contracts["provider"] + "\x1f" + contracts["service"])
    keys = [f"{r.provider}\x1f{r.service}" for r in incumbent.itertuples(index=False)]
    volume = dict(zip(keys, incumbent["incumbent_volume"].astype(float)))
    position = {o: i for i, o in enumerate(keys)}
    price, bound = d.coef["notice_price"], d.coef["notice_bound"]  # £/episode; episodes
    index = [(o, t) for o in keys for t in d.years]
    m.noticed = pyo.Var(index, bounds=lambda _, o, t: (0, volume[o]))
    delivered = {(o, t): [(1.0, d.x(int(c), t)) for c in contracts_of.get(o, ())] for o, t in index}

    def before(o, t):
        return m.noticed[o, t - 1] if t > 0 else 0.0

    later = [(o, t) for o, t in index if t > 0]
    m.notice_running = rows(later, (at_most(linear(((1.0, m.noticed[o, t - 1]),
                                                    (-1.0, m.noticed[o, t]))))
                                    for o, t in later))
    m.notice_shortfall = rows(index, (volume[o] <= linear([(1.0, m.noticed[o, t])]
                                                          + delivered[o, t])
                                      for o, t in index))
    policy = d.derived.policy
    early_pays = d.derived.mutable or policy.price_change > 0 or (
        d.on(Family.BUDGET) and policy.has_budget)
    if early_pays:
        m.notice_step = pyo.Var(index, domain=pyo.Binary)
        earlier = {(o, t): [(-1.0, m.noticed[o, t - 1])] if t > 0 else [] for o, t in index}
        m.notice_no_new = rows(index, (at_most(linear(
            [(1.0, m.noticed[o, t])] + earlier[o, t] + [(-volume[o], m.notice_step[o, t])]))
            for o, t in index))
        m.notice_at_shortfall = rows(index, (m.noticed[o, t] + pyo.quicksum(
            m.x[c, t] for c in contracts_of.get(o, ())) <= volume[o]
            + bound[position[o], t] * (1 - m.notice_step[o, t]) for o, t in index))
    m.notice_costs = expressions(d.years, (pyo.quicksum(
        NOTICE_SHARE * price[position[o], t] * (m.noticed[o, t] - before(o, t)) for o in keys)
        for t in d.years))


def add_contract_stability(m: pyo.ConcreteModel, d: ModelData) -> None:
    """A contract, once awarded, runs at least K = min_contract_years (within the horizon):
    z_τ ≥ z_t − z_{t−1} for t < τ < t + K (a new contract let in year 0 counts as started
    then; an incumbent contract continuing into year 0 is not a new award)."""
    years = d.derived.policy.min_contract_years
    new = d.derived.contracts["new"].to_numpy()
    index = []
    for k, c in enumerate(d.z_rows):
        for t in d.years:
            if t == 0 and not new[c]:
                continue  # an incumbent contract continuing into year 0 is not a new award
            index += [(k, t, tau) for tau in range(t + 1, min(t + years, d.derived.horizon))]

    def stability(k, t, tau):
        previous = [(-1.0, d.z(k, t - 1))] if t > 0 else []
        return at_most(linear([(1.0, d.z(k, t))] + previous + [(-1.0, d.z(k, tau))]))

    m.min_contract_years = rows(index, (stability(*key) for key in index))


def add_setting_targets(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Minimum share of a category's episodes delivered in the target settings, by year:
    Σ_{in settings} x ≥ share_t · Σ_{in category} x (episodes), by target and year."""
    targets = d.derived.policy.setting_targets
    if not d.on(Family.SETTING_TARGETS) or not targets or d.derived.horizon == 1:
        return
    contracts = d.derived.contracts
    services = d.derived.services.set_index("service")
    category = contracts["service"].map(services["category"]).to_numpy()
    setting = contracts["service"].map(services["setting"]).to_numpy()
    terms: dict[tuple[int, int], list] = {}
    for number, target in enumerate(targets):
        in_category = np.flatnonzero(category == target.category)
        in_setting = in_category[np.isin(setting[in_category], list(target.settings))]
        for t in d.years:
            share = target.shares[t]
            if share > 0 and len(in_category):
                terms[(number, t)] = [(share, d.x(int(c), t)) for c in in_category] \
                    + [(-1.0, d.x(int(c), t)) for c in in_setting]
    index = list(terms)
    m.setting_target = rows(index, (at_most(linear(terms[key])) for key in index))
