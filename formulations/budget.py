"""Families 8 and 9: provider break-even (minimum income) and commissioner break-even (the
budget, under the policy's regime: annual, carry_forward or multi_year)."""

from __future__ import annotations

import pyomo.environ as pyo

from formulations.areas import funded
from formulations.model_data import ModelData, year_index
from formulations.prudent import add_budget_confidence
from formulations.rows import at_most, linear, rows
from planner.rules import MULTI_YEAR_OVERSPEND, Family


def add_min_income(m: pyo.ConcreteModel, d: ModelData) -> None:
    """8. A used provider receives at least its minimum income from this commissioner:
    min_income_t·w ≤ Σ price_t·x (£), by provider and year.

    Over several years the minimum income follows prices (price_change a year): a provider
    asked for tariff efficiency is expected to find the same efficiency in its own costs.
    """
    min_income = d.derived.providers.set_index("provider")["min_income"].to_dict()
    index = year_index([p for p in d.w_of if d.on(Family.MIN_INCOME)
                        and (d.derived.mutable or min_income[p] > 0)], d.years)
    price, income = d.coef["price"], d.coef["min_income"]
    m.min_income = rows(index, (at_most(linear(
        [(income[d.w_of[p], t], d.w(d.w_of[p], t))]
        + [(-price[c, t], d.x(c, t)) for c in d.by_provider[p].tolist()])) for p, t in index))


def budgets(d: ModelData) -> list[float | None]:
    """£ budget of each year (a scalar budget applies to every year)."""
    return list(d.derived.policy.budgets)


def add_break_even(m: pyo.ConcreteModel, d: ModelData) -> None:
    """9. Commissioner break-even under the policy's regime (annual for one year). The budget
    is a mutable £ Param by year (declared even with the family off: sessions re-set it)."""
    policy = d.derived.policy
    limits = budgets(d)
    m.budget = pyo.Param(d.years, mutable=True,
                         initialize={t: (b if b is not None else 0.0) for t, b in zip(d.years, limits)})
    if not d.on(Family.BUDGET) or limits[0] is None:
        return
    if policy.break_even == "annual" or d.derived.horizon == 1:
        # spend_t ≤ budget_t each year (+ the pooled LA money paying for pooled levels, issue 17)
        m.budget_limit = rows(list(d.years), (m.spend[t] <= funded(m, t) for t in d.years))
        add_budget_confidence(m, d)  # the prudent budget (issue 18): off unless asked
        return
    if policy.break_even == "carry_forward":
        _add_carry_forward(m, d)
        return
    # multi_year: spend within budget over every window of break_even_window years, and no year
    # more than MULTI_YEAR_OVERSPEND over its own budget
    window = min(policy.break_even_window, d.derived.horizon)
    starts = list(range(0, d.derived.horizon - window + 1))
    m.budget_limit = rows(starts, (pyo.quicksum(m.spend[t] for t in range(s, s + window))
                                   <= pyo.quicksum(funded(m, t) for t in range(s, s + window))
                                   for s in starts))
    m.budget_year_cap = rows(list(d.years), (m.spend[t] <= funded(m, t, 1 + MULTI_YEAR_OVERSPEND)
                                             for t in d.years))


def _add_carry_forward(m: pyo.ConcreteModel, d: ModelData) -> None:
    """carried[t] = max(0, budget[t-1] − spend[t-1]): last year's underspend, usable in year t
    only (a year's own budget is spent first, so unused carried money lapses). over[t] = 1 if
    year t spends beyond its own budget, and then carries nothing on.

    Valid and tight big-Ms (all follow the budget Params if a sweep re-sets them): year t
    overspends its own budget by at most what it carries in, spend_t − B_t ≤ B_{t−1}; an
    underspend is at most the year's budget, B_t − spend_t ≤ B_t."""
    later = [t for t in d.years if t > 0]
    first = list(d.years[:-1])
    m.carried = pyo.Var(later, domain=pyo.NonNegativeReals)
    m.over = pyo.Var(d.years[:-1], domain=pyo.Binary)

    def carried(t):
        return m.carried[t] if t > 0 else 0.0

    def can_carry_in(t):
        """£ a year can receive from the year before: at most that year's whole budget."""
        return m.budget[t - 1] if t > 0 else 0.0

    m.budget_limit = rows(list(d.years), (m.spend[t] <= m.budget[t] + carried(t) for t in d.years))
    m.carry_over = rows(first, (m.spend[t] - m.budget[t] <= can_carry_in(t) * m.over[t]
                                for t in first))
    m.carry_rule = rows(later, (m.carried[t] <= m.budget[t - 1] - m.spend[t - 1]
                                + can_carry_in(t - 1) * m.over[t - 1] for t in later))
    m.carry_lapse = rows(later, (m.carried[t] <= m.budget[t - 1] * (1 - m.over[t - 1])
                                 for t in later))
