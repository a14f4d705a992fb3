"""The commissioning model over T years (MODEL §3), on the families shared with the single year.

The level of each service is chosen once for the horizon (y has no year); contracts, provider use
and spend are by year. Demand grows and prices change by year (in :class:`ModelData`). What this
module adds to the shared families:

* one-off costs in the year they arise: a set-up cost when a new contract starts, an entry cost
  when a non-incumbent provider starts being used, an exit cost when an incumbent stops being
  used. Year 0 compares with the status quo, so its events are the binaries themselves and the
  model at T = 1 is exactly the single-year model; later years use continuous event variables
  e_t ≥ b_t − b_{t−1}, which are 0/1 at any optimum because they are only ever paid for;
* notice: ending an incumbent contract (an offer with incumbent volume) costs half a year of its
  incumbent spend, 0.5 × incumbent_volume × price_t, in the year it ends, and cutting it costs
  the same pro rata on the episodes dropped, charged in the year of the drop (the running
  maximum of the shortfall, held exact by one binary per offer and year; T > 1 only, as §2 has
  no notice cost);
* contract stability: a contract started in year t runs at least ``min_contract_years``
  (z_τ ≥ z_t − z_{t−1} for τ < t + K; a new contract let in year 0 counts as started then, while
  an incumbent contract continuing into year 0 is not a new award);
* break-even: ``annual`` (spend_t ≤ B_t), ``carry_forward`` (an underspend may be spent in the next
  year only; one binary a year says whether a year overspends its own budget) or
  ``multi_year`` (spend within budget over every window of ``break_even_window`` years, and no
  year more than 2 % over its own budget);
* setting targets: a minimum share of a category's activity in given settings, by year.
"""

from __future__ import annotations

import time

import numpy as np
import pyomo.environ as pyo

from formulations import families as fam
from formulations import payment
from formulations.coefficients import incumbent_offers
from formulations.families import BuiltModel, ModelData, gc_paused
from formulations.single_year import add_annual_budget, one_off_cost_terms
from formulations.start import greedy_start
from planner.derive import Derived
from planner.rules import MULTI_YEAR_OVERSPEND, NOTICE_SHARE
from planner.solver import START_ATTRIBUTE


@gc_paused
def build(derived: Derived) -> BuiltModel:
    m = pyo.ConcreteModel(name=derived.instance.name)
    d = ModelData.prepare(derived)
    later = [t for t in d.years if t > 0]
    fam.declare_variables(m, d)
    fam.add_level_choice_and_demand(m, d)
    fam.add_linking(m, d)
    fam.add_capacity(m, d)
    fam.add_share_quality_choice(m, d)
    fam.add_provider_break_even(m, d)
    fam.add_running_costs(m, d)
    payment.add_payment(m, d)  # issue 16: blocks, bundles, guarantees
    setups, entries, exits, stranded = one_off_cost_terms(d)

    # Contract starts (set-up costs) and provider entries and exits, in the year they happen.
    m.start = pyo.Var([(k, t) for _, k in setups for t in later], bounds=(0, 1))
    m.start_rule = pyo.Constraint(list(m.start.index_set()),
                                  rule=lambda _, k, t: m.start[k, t] >= m.z[k, t] - m.z[k, t - 1])
    m.entry = pyo.Var([(q, t) for _, q in entries for t in later], bounds=(0, 1))
    m.entry_rule = pyo.Constraint(list(m.entry.index_set()),
                                  rule=lambda _, q, t: m.entry[q, t] >= m.w[q, t] - m.w[q, t - 1])
    m.exit = pyo.Var([(q, t) for _, q in exits for t in later], bounds=(0, 1))
    m.exit_rule = pyo.Constraint(list(m.exit.index_set()),
                                 rule=lambda _, q, t: m.exit[q, t] >= m.w[q, t - 1] - m.w[q, t])

    def started(k: int, t: int):
        return m.z[k, 0] if t == 0 else m.start[k, t]

    m.setup_costs = pyo.Expression(d.years, rule=lambda _, t: pyo.quicksum(
        cost * started(k, t) for cost, k in setups))
    m.entry_costs = pyo.Expression(d.years, rule=lambda _, t: pyo.quicksum(
        cost * (m.w[q, 0] if t == 0 else m.entry[q, t]) for cost, q in entries))
    m.exit_costs = pyo.Expression(d.years, rule=lambda _, t: (stranded if t == 0 else 0.0)
                                  + pyo.quicksum(cost * ((1 - m.w[q, 0]) if t == 0 else m.exit[q, t])
                                                 for cost, q in exits))
    setup = derived.contracts["setup"].to_numpy()
    d.extra["setup_terms"] = lambda rows, t: pyo.quicksum(
        setup[c] * started(d.z_of[c], t) for c in rows if c in d.z_of and setup[c] > 0)
    fam.add_level_limits(m, d)
    _add_notice(m, d)
    _add_contract_stability(m, d)
    m.spend = pyo.Expression(d.years, rule=lambda _, t: m.activity_spend[t]
                             + m.transaction_costs[t] + m.setup_costs[t] + m.entry_costs[t]
                             + m.exit_costs[t] + m.notice_costs[t] + m.payment_costs[t])
    _add_break_even(m, d)
    _add_setting_targets(m, d)
    fam.add_objective(m, d)
    clock = time.perf_counter()
    setattr(m, START_ATTRIBUTE, greedy_start(m, d))  # a hint for HiGHS only
    d.extra["start_seconds"] = time.perf_counter() - clock
    return BuiltModel(m, derived, d)


def _add_notice(m: pyo.ConcreteModel, d: ModelData) -> None:
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
    if d.derived.horizon == 1:
        m.notice_costs = pyo.Expression(d.years, rule=lambda _, t: 0.0)
        return
    contracts = d.derived.contracts
    incumbent = incumbent_offers(d.derived)
    contracts_of = fam.groups(contracts["provider"] + "\x1f" + contracts["service"])
    keys = [f"{r.provider}\x1f{r.service}" for r in incumbent.itertuples(index=False)]
    volume = dict(zip(keys, incumbent["incumbent_volume"].astype(float)))
    position = {o: i for i, o in enumerate(keys)}
    price, bound = d.coef["notice_price"], d.coef["notice_bound"]  # £/episode; episodes
    index = [(o, t) for o in keys for t in d.years]
    m.noticed = pyo.Var(index, bounds=lambda _, o, t: (0, volume[o]))

    def before(o, t):
        return m.noticed[o, t - 1] if t > 0 else 0.0

    def delivered(o, t):
        return pyo.quicksum(m.x[c, t] for c in contracts_of.get(o, ()))

    m.notice_running = pyo.Constraint([(o, t) for o, t in index if t > 0],
                                      rule=lambda _, o, t: m.noticed[o, t] >= m.noticed[o, t - 1])
    m.notice_shortfall = pyo.Constraint(index, rule=lambda _, o, t: m.noticed[o, t]
                                        + delivered(o, t) >= volume[o])
    policy = d.derived.instance.config.policy
    early_pays = d.derived.mutable or policy.price_change > 0 or (
        d.derived.on("budget") and policy.budget is not None)
    if early_pays:
        m.notice_step = pyo.Var(index, domain=pyo.Binary)
        m.notice_no_new = pyo.Constraint(index, rule=lambda _, o, t: m.noticed[o, t]
                                         <= before(o, t) + volume[o] * m.notice_step[o, t])
        m.notice_at_shortfall = pyo.Constraint(index, rule=lambda _, o, t: m.noticed[o, t]
                                               + delivered(o, t) <= volume[o]
                                               + bound[position[o], t] * (1 - m.notice_step[o, t]))
    m.notice_costs = pyo.Expression(d.years, rule=lambda _, t: pyo.quicksum(
        NOTICE_SHARE * price[position[o], t] * (m.noticed[o, t] - before(o, t)) for o in keys))


def _add_contract_stability(m: pyo.ConcreteModel, d: ModelData) -> None:
    """A contract, once awarded, runs at least K = min_contract_years (within the horizon)."""
    years = d.derived.instance.config.policy.min_contract_years
    new = d.derived.contracts["new"].to_numpy()
    rows = []
    for k, c in enumerate(d.z_rows):
        for t in d.years:
            if t == 0 and not new[c]:
                continue  # an incumbent contract continuing into year 0 is not a new award
            rows += [(k, t, tau) for tau in range(t + 1, min(t + years, d.derived.horizon))]

    def stability(_, k, t, tau):
        previous = m.z[k, t - 1] if t > 0 else 0
        return m.z[k, tau] >= m.z[k, t] - previous

    m.min_contract_years = pyo.Constraint(rows, rule=stability)


def _add_break_even(m: pyo.ConcreteModel, d: ModelData) -> None:
    """9. Commissioner break-even under the policy's regime."""
    policy = d.derived.instance.config.policy
    limits = fam.budgets(d)
    if policy.break_even == "annual" or d.derived.horizon == 1:
        add_annual_budget(m, d)
        return
    m.budget = pyo.Param(d.years, mutable=True,
                         initialize={t: (b if b is not None else 0.0) for t, b in zip(d.years, limits)})
    if not d.derived.on("budget") or limits[0] is None:
        return
    later = [t for t in d.years if t > 0]
    if policy.break_even == "carry_forward":
        # carried[t] = max(0, budget[t-1] − spend[t-1]): last year's underspend, usable in
        # year t only (a year's own budget is spent first, so unused carried money lapses).
        # over[t] = 1 if year t spends beyond its own budget, and then carries nothing on.
        m.carried = pyo.Var(later, domain=pyo.NonNegativeReals)
        m.over = pyo.Var(d.years[:-1], domain=pyo.Binary)

        def carried(t):
            return m.carried[t] if t > 0 else 0.0

        def can_carry_in(t):
            """£ a year can receive from the year before: at most that year's whole budget."""
            return m.budget[t - 1] if t > 0 else 0.0

        # Valid and tight big-Ms (all follow the budget Params if a sweep re-sets them): year t
        # overspends its own budget by at most what it carries in, spend_t − B_t ≤ B_{t−1}; an
        # underspend is at most the year's budget, B_t − spend_t ≤ B_t.
        m.budget_limit = pyo.Constraint(d.years, rule=lambda _, t: m.spend[t] <= m.budget[t]
                                        + carried(t))
        m.carry_over = pyo.Constraint(d.years[:-1], rule=lambda _, t: m.spend[t] - m.budget[t]
                                      <= can_carry_in(t) * m.over[t])
        m.carry_rule = pyo.Constraint(later, rule=lambda _, t: m.carried[t] <= m.budget[t - 1]
                                      - m.spend[t - 1] + can_carry_in(t - 1) * m.over[t - 1])
        m.carry_lapse = pyo.Constraint(later, rule=lambda _, t: m.carried[t]
                                       <= m.budget[t - 1] * (1 - m.over[t - 1]))
        return
    window = min(policy.break_even_window, d.derived.horizon)
    starts = range(0, d.derived.horizon - window + 1)
    m.budget_limit = pyo.Constraint(starts, rule=lambda _, s: pyo.quicksum(
        m.spend[t] for t in range(s, s + window)) <= pyo.quicksum(
        m.budget[t] for t in range(s, s + window)))
    m.budget_year_cap = pyo.Constraint(d.years, rule=lambda _, t: m.spend[t]
                                       <= (1 + MULTI_YEAR_OVERSPEND) * m.budget[t])


def _add_setting_targets(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Minimum share of a category's episodes delivered in the target settings, by year."""
    policy = d.derived.instance.config.policy
    if not d.derived.on("setting_targets") or not policy.setting_targets or d.derived.horizon == 1:
        return
    contracts = d.derived.contracts
    services = d.derived.services.set_index("service")
    category = contracts["service"].map(services["category"]).to_numpy()
    setting = contracts["service"].map(services["setting"]).to_numpy()
    rows: dict[tuple[int, int], tuple] = {}
    for number, target in enumerate(policy.setting_targets):
        shares = target.min_share if isinstance(target.min_share, list) \
            else [target.min_share] * d.derived.horizon
        in_category = np.flatnonzero(category == target.category)
        in_setting = in_category[np.isin(setting[in_category], target.settings)]
        for t in d.years:
            if shares[t] > 0 and len(in_category):
                rows[(number, t)] = (shares[t], in_category, in_setting)
    m.setting_target = pyo.Constraint(
        list(rows), rule=lambda _, n, t: pyo.quicksum(m.x[c, t] for c in rows[n, t][2])
        >= rows[n, t][0] * pyo.quicksum(m.x[c, t] for c in rows[n, t][1]))
