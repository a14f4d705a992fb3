"""Why a service is not commissioned: not worth it, unaffordable, or kept out by a rule.

A board reading "optional, and not bought" needs to know which of three things holds, because
each calls for a different decision:

* **not worth it** at the instance's £ per QALY: bringing it in (at its best level, with every
  other decision free to change) makes the plan worse off (health at the £ per QALY, less
  spend and the risk charge: the objective), whatever the budget;
* **unaffordable**: with money enough it would make the plan better off, but the plan spends
  its budget and including it would need more money than there is (how much more is said);
* **kept out by a rule** other than the budget (a provider's capacity, a level's limit, ...):
  no plan meets the other rules with it.

Method (docs/outputs.md, ``unfunded.csv``): each optional service the plan does not buy is
forced in (its level choice fixed to "some level") and the model re-solved; where that is
infeasible, it is re-solved once more with the break-even rows switched off. Both re-solves use
the persistent model, so they cost a fraction of the first solve; they spend the post-plan
analyses' shared time budget (``time_budget``: planner.analysis.resolves, or seconds of their own),
and a service not reached in that time is reported as "not analysed". The one re-solve with
nothing forced and the break-even rows off starts from the plan (it meets every other rule);
those with the service forced have no start (the plan leaves the service out, so HiGHS would
only discard it).
A quick test comes first: a service whose episode, at the best quality on offer, is worth less
than its cheapest episode in the cheapest year is "not worth it" with no re-solve. When the
plan's own solve took longer than what is left of the time budget (a multi-year instance), the
re-solves are not tried and the other services are reported "not analysed", with the command
that asks.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from planner.analysis.resolves import TimeBudget, plan_start
from planner.formats import money, worse_off
from planner.results.plan import Plan
from planner.rules import Status
from planner.solver.highs import SolveResult
from planner.solver.session import PlanningModel

COLUMNS = ["service", "reason", "value_of_health", "least_cost", "extra_spend", "objective_change",
           "cost_unlimited", "message"]
TIME_BUDGET = 20.0  # s for all the re-solves together


def unfunded_services(session: PlanningModel, base: SolveResult, plan: Plan,
                      time_budget: float | TimeBudget = TIME_BUDGET) -> pd.DataFrame:
    """One row per optional service the plan does not commission, saying why (see module).
    ``time_budget``: the analyses' shared budget, or seconds for these re-solves alone."""
    derived = session.derived
    services = derived.services
    bought = set(plan.services.loc[plan.services["commissioned"], "service"])
    out = [s for s in services.loc[~services["mandatory"], "service"] if s not in bought]
    if not out or not base.has_solution:
        return pd.DataFrame(columns=COLUMNS)
    value = float(session.instance.config.policy.value_per_qaly)
    contracts = derived.contracts
    horizon = derived.horizon
    rows = []
    seconds = time_budget.remaining() if isinstance(time_budget, TimeBudget) else time_budget
    deadline = time.perf_counter() + seconds
    cheapest_year = float(min((1.0 + derived.price_change) ** t for t in range(horizon)))
    too_slow = base.solve_s > seconds  # one re-solve would take about as long as the plan
    session._unfunded_start = plan_start(session, base)
    for service in out:
        mine = contracts.loc[contracts["service"] == service]
        first_year = mine["level_demand"].to_numpy(float)
        health = value * float((mine["qaly_per_episode"] * first_year).max()) if len(mine) else 0.0
        least = float((mine["unit_price"] * first_year).min()) if len(mine) else np.inf
        row = {"service": service, "value_of_health": health, "least_cost": least,
               "extra_spend": np.nan, "objective_change": np.nan, "cost_unlimited": np.nan}
        # per episode, in every year: its health is worth at most this, it costs at least that
        worth = value * float(mine["qaly_per_episode"].max()) if len(mine) else 0.0
        price = float(mine["unit_price"].min()) * cheapest_year if len(mine) else np.inf
        if not len(mine):
            rows.append({**row, "reason": "no eligible contract",
                         "message": f"{service} has no eligible contract (levels, quality or "
                                    "conflicts rule out every offer)."})
        elif worth <= price:
            rows.append({**row, "reason": "not worth it",
                         "message": f"Not worth its cost at {money(value)} per QALY: an episode's "
                                    f"health is worth at most {money(worth)}, and an episode "
                                    f"costs at least {money(price)}."})
        elif too_slow or time.perf_counter() >= deadline:
            why = (f"each re-solve would take about as long as the plan's own "
                   f"{base.solve_s:,.0f} s solve, more than the {seconds:,.0f} s left of the "
                   "post-plan analyses' time budget" if too_slow else "the time for these "
                   "re-solves ran out")
            rows.append({**row, "reason": "not analysed",
                         "message": f"Not analysed: {why}. Ask with 'planner explain INSTANCE "
                                    f"--service {service} --level LEVEL'."})
        else:
            rows.append(_forced(session, service, base, plan, row, deadline))
    return pd.DataFrame(rows, columns=COLUMNS)


def _forced(session: PlanningModel, service: str, base: SolveResult, plan: Plan, row: dict,
            deadline: float) -> dict:
    """Re-solve with ``service`` commissioned; without the break-even rows if need be."""
    m, data = session.model, session.built.data
    ys = data.y_by_service[service]
    m.include_service = pyo.Constraint(expr=pyo.quicksum(m.y[int(j)] for j in ys) == 1)
    options = session.adapter.options
    session.adapter.options = replace(options, time_limit=max(0.5, deadline - time.perf_counter()))
    session._unfunded_deadline = deadline  # the later re-solves of this service share it
    value = float(session.instance.config.policy.value_per_qaly)
    try:
        result = _run(session, start=False)  # the plan leaves the service out: no start
        if result.status not in (Status.OPTIMAL, Status.INFEASIBLE):  # stopped by the time budget
            return {**row, "reason": "not analysed",
                    "message": "Not analysed: the time for these re-solves ran out."}
        if result.has_solution:
            with_it = session.plan(result, check=False)
            change = result.objective - base.objective
            spend = (with_it.totals.get("spend") or 0.0) - (plan.totals.get("spend") or 0.0)
            row.update(extra_spend=spend, objective_change=change)
            if change > 1e-6 * max(1.0, abs(base.objective)):
                free = _without_budget(session, dict(row), base, plan, value)
                worse = worse_off(change, session.derived.horizon, value)
                if free["reason"] == "unaffordable":  # worth it, but not within this budget
                    return {**free, "objective_change": change, "extra_spend": spend,
                            "message": f"Worth buying at {money(value)} per QALY, but the budget "
                                       "keeps it out: within this budget it would displace care "
                                       f"worth more, leaving the plan {worse}. With no budget "
                                       "limit it would be bought, at about "
                                       f"{money(free['cost_unlimited'])} a year."}
                return {**row, "reason": "not worth it",
                        "message": f"Not worth its cost at {money(value)} per QALY: including it "
                                   f"changes spend by {money(spend, sign=True)}, "
                                   f"leaving the plan {worse}."}
            return {**row, "reason": "as good",
                    "message": "Including it is as good (within the solver's gap): the plan "
                               "could buy it at no loss."}
        if result.status is not Status.INFEASIBLE:
            return {**row, "reason": "not analysed",
                    "message": "Not analysed: the time for these re-solves ran out."}
        return _without_budget(session, row, base, plan, value)
    finally:
        m.del_component(m.include_service)
        session.adapter.options = options


def _without_budget(session: PlanningModel, row: dict, base: SolveResult, plan: Plan,
                    value: float) -> dict:
    """Infeasible with the service in: is it the budget, and by how much, or another rule?"""
    with session.budget_off() as had_budget:
        result = _run(session, start=False) if had_budget else None  # the service still in
    if result is None:  # no budget rule: nothing more to learn
        return {**row, "reason": "not worth it", "message": ""}
    if result.status not in (Status.OPTIMAL, Status.INFEASIBLE) or (
            result.has_solution and _unlimited(session) is None):
        return {**row, "reason": "not analysed",
                "message": "Not analysed: the time for these re-solves ran out."}
    if not result.has_solution:
        return {**row, "reason": "kept out by a rule",
                "message": "Kept out by a rule other than the budget: no plan meets the other "
                           "rules with it (a provider's capacity or income, or a level's limit)."}
    with_it = session.plan(result, check=False)
    service = row["service"]
    mine = with_it.services.loc[with_it.services["service"] == service, "spend"]
    cost = float(mine.mean()) if len(mine) else 0.0  # £ a year of its own contracts
    change = result.objective - unlimited_objective(session)
    row.update(cost_unlimited=cost)
    if change > 1e-6 * max(1.0, abs(base.objective)):
        return {**row, "reason": "not worth it",
                "message": f"Not worth its cost at {money(value)} per QALY, and it does not fit "
                           "in the budget either."}
    return {**row, "reason": "unaffordable",
            "message": f"Worth buying at {money(value)} per QALY, but the budget keeps it out: "
                       "no plan within the budget can include it. With no budget limit it would "
                       f"be bought, at about {money(cost)} a year."}


def _run(session: PlanningModel, start: bool = True) -> SolveResult:
    """One re-solve within what is left of the time budget (at least half a second), from
    the plan as MIP start (``start``) where the plan is feasible for it."""
    left = getattr(session, "_unfunded_deadline", time.perf_counter() + 60.0) - time.perf_counter()
    session.adapter.options = replace(session.adapter.options, time_limit=max(0.5, left))
    session.adapter.solver.restart_from(getattr(session, "_unfunded_start", None) if start
                                        else None)
    return session.run()


def _unlimited(session: PlanningModel) -> Plan | None:
    """The best plan with the break-even rows off and nothing forced (solved once, kept); None
    when the time budget stops it before it is proven best."""
    cached = getattr(session, "_unlimited_plan", None)
    if cached is not None:
        return cached
    with session.budget_off(), session.switched_off("include_service"):
        result = _run(session)
    if result.status is not Status.OPTIMAL:  # stopped by the time budget: no reference to judge by
        return None
    session._unlimited_plan = session.plan(result, check=False)
    session._unlimited_objective = result.objective
    return session._unlimited_plan


def unlimited_objective(session: PlanningModel) -> float:
    _unlimited(session)
    return session._unlimited_objective
