"""The MIP start: the greedy plan's binaries (:mod:`formulations.greedy`), fitted so that HiGHS
accepts them.

Why: at region and England scale HiGHS's own heuristics take a long time to find any plan (none
in 10 minutes at England scale; 48 s at region scale). Given the binaries, HiGHS fixes them,
solves the remaining LP for the volumes and, if that is feasible, starts branch and bound with a
plan in hand.

The start is only a hint. It never changes the model or its optimum, and a start that is
infeasible is discarded by HiGHS without a word (its log says "Infeasible" once, at the top).
Until December 2026 that happened on most shipped instances: the greedy plan overspent the
PCT's budget by £3m, and at region scale left 16 mandatory services without a level. Two fits,
each measured in docs/performance.md, make it a start HiGHS keeps:

1. **The budget.** If the plan's first-year spend (:meth:`Greedy.spend`) exceeds the smallest
   year's budget, the heuristic runs again with each £ of spend priced at 1 + μ against the value
   of health (a Lagrange multiplier on the budget row), μ found by growing it fourfold from
   :data:`FIRST_PRICE` and then by bisection:
   the smallest μ tried whose plan fits (at most :data:`BUDGET_RUNS` runs of the heuristic).
2. **Services it could not plan.** A mandatory service the heuristic found no plan for, at any
   level, is left out of the start: its levels and contracts, the providers that could serve it
   (where the plan does not already use them), and the levels and contracts of every service
   those providers offer. HiGHS then completes the start by a small
   search over what was left out (``setSolution`` with some values: HiGHS's
   ``mip_max_start_nodes``), instead of rejecting it.

What remains unchecked (pooled local-authority money, a multi-year window, notice costs) can still
make HiGHS reject the start; it then solves as without it.
"""

from __future__ import annotations

import pyomo.environ as pyo

from formulations.costs import one_off_cost_terms
from formulations.greedy import Greedy, LevelPlan
from formulations.model_data import ModelData
from planner.rules import Family

START_ATTRIBUTE = "_mip_start"
"""Attribute of a Pyomo model holding [(VarData, value)], a MIP start passed to HiGHS on the first
transfer (:mod:`planner.solver.highs` reads it); absent or empty: no start."""

BUDGET_RUNS = 12
"""Most runs of the heuristic spent fitting the budget (PCT: 0.03 s each; 245 services: ~0.3 s)."""
FIRST_PRICE = 0.02  # μ first tried: 2p of health forgone per £ over; × 4 until the plan fits
PRICE_PRECISION = 0.1  # bisection stops once μ is known within 10 %


def greedy_start(m: pyo.ConcreteModel, d: ModelData, fit: bool = True) -> list[tuple]:
    """Start values [(VarData, 0/1)] for y, z and w; the volumes x are left to HiGHS.
    ``fit`` False: the heuristic's plan as it comes (for ``scripts/bench_start_fit.py``)."""
    greedy = Greedy(d)
    chosen = greedy.plan()
    budget = _smallest_budget(m, d)
    if budget is not None and fit:
        one_off = one_off_cost_terms(d)
        if greedy.spend(chosen, one_off) > budget:
            greedy, chosen = _within_budget(d, budget, one_off, (greedy, chosen))
    return _values(greedy, chosen, leave_open=fit)


def _smallest_budget(m: pyo.ConcreteModel, d: ModelData) -> float | None:
    """The smallest year's budget (£) the model holds, or None without a budget row."""
    if not d.on(Family.BUDGET) or not hasattr(m, "budget_limit"):
        return None
    return min(float(pyo.value(m.budget[t])) for t in d.years)


def _within_budget(d: ModelData, budget: float, one_off: tuple,
                   over: tuple[Greedy, dict[str, LevelPlan]]) -> tuple[Greedy, dict[str, LevelPlan]]:
    """The plan at the smallest budget price μ tried whose spend fits ``budget``: μ grown fourfold
    from :data:`FIRST_PRICE` until a plan fits, then bisected. If none fits (mandatory services alone
    overspend), the plan of the largest μ tried: the cheapest the heuristic found."""
    low, high, fit, last, price = 0.0, None, None, over, FIRST_PRICE
    for _ in range(BUDGET_RUNS):
        greedy = Greedy(d, budget_price=price)
        chosen = greedy.plan()
        if greedy.spend(chosen, one_off) <= budget:
            high, fit = price, (greedy, chosen)
            if high - low <= PRICE_PRECISION * high:
                break
        else:
            low, last = price, (greedy, chosen)
        price = price * 4 if high is None else (low + high) / 2
    return fit or last


def _values(greedy: Greedy, chosen: dict[str, LevelPlan], leave_open: bool) -> list[tuple]:
    """The start: levels chosen, contracts let, providers used; leaving out the binaries of
    mandatory services with no plan (and of the unused providers that could serve them), for
    HiGHS to complete."""
    d = greedy.d
    let, used = greedy.let_and_used(chosen)
    picked_y = {plan.j for plan in chosen.values()}
    mandatory = d.on(Family.MANDATORY)
    unplanned = {s for s in d.y_by_service
                 if leave_open and mandatory and greedy.mandatory[s] and s not in chosen}
    open_p = {greedy.provider_of[c] for s in unplanned for j in d.y_by_service[s]
              for c in d.by_y.get(int(j), ())} - used
    # and every service those providers offer: one the heuristic dropped (short of its minimum
    # income) may need other services' contracts, at other levels, to be paid its minimum
    open_s = unplanned | {greedy.service_of[c] for p in open_p for c in d.by_provider.get(p, ())}
    open_y = {int(j) for s in open_s for j in d.y_by_service[s]}
    open_c = {int(c) for j in open_y for c in d.by_y.get(j, ())}
    open_p |= {greedy.provider_of[c] for c in open_c} - used
    # the variables by position (ModelData's lists), not by Pyomo index: 80,000 lookups
    start = [(d.yv[j], float(j in picked_y)) for j in range(len(d.sl_rows)) if j not in open_y]
    start += [(d.z(k, t), float(int(c) in let)) for k, c in enumerate(d.z_rows)
              if int(c) not in open_c for t in d.years]
    start += [(d.w(q, t), float(p in used)) for p, q in d.w_of.items() if p not in open_p
              for t in d.years]
    return start
