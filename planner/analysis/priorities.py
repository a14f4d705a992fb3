"""Programme budgeting and marginal analysis (issue 15): what to fund next, what to cut first.

Why: a board deciding at the margin needs, for every service it may choose (discretionary, or
partly coverable), what it buys per £ *after* the savings its effects unlock, whether the plan
funds it, and how much money would change that. This is the PBMA "wish list" (unfunded, best
value first) and "hit list" (funded, worst value first).

For service s over the horizon, at full demand D_s,t = D_s (1 + g_s)^t (level effects aside):
  cost_s    = Σ_t π_s,t · D_s,t                       π: tariff or the cheapest eligible offer's
                                                       price, with the yearly price change (£)
  saved_s   = Σ_e Σ_{t + L_e < T} −f_e · D_s,t · π̄_target,t+L_e   (£; π̄ tariff or mean offer)
  qalys_s   = Σ_t qaly_gain_s · q_s · D_s,t            q: that offer's quality
  net_cost_s = cost_s − saved_s;  cost_per_qaly_s = net_cost_s / qalys_s (blank if it gives no
  QALYs, or saves money overall: net_cost ≤ 0, which ranks first as the best value)

The budget at which a service comes in (wish list) or goes out (hit list) is found by solving
the plan's model with every year's budget scaled by each of BUDGET_STEPS (the whole model, all
rules, one MILP per step; nothing else changes): ``comes_in_at`` is the least tested budget above
today's at which the plan funds it, ``goes_out_at`` the greatest tested budget below today's at
which a *feasible* plan does not. A budget with no feasible plan says nothing about what would
be cut (no plan exists there at all), so it is never a ``goes_out_at``: the steps below today's
are taken nearest first and stop at the first with no plan (every smaller budget has none
either: :mod:`planner.analysis.budget_steps`). A service every feasible step funds, above such
a step, has ``goes_out_at`` blank and ``method`` says "no plan exists at £… or below" (that
step's budget). Above today's every step has a plan (a larger budget only adds plans to the
plan's own), so ``comes_in_at`` never names one without. Blank otherwise: no tested budget
changes it (or the instance has no budget). The budgets are the base year's £; the steps are
named in ``method``.

The steps are :mod:`planner.analysis.budget_steps`'s, shared with marginal_values.csv and
within the post-plan analyses' one time budget: many are answered exactly without a re-solve
(a larger budget's plan fits, or a larger budget is infeasible), and those neither answered
nor re-solved in time are not known. ``status`` says what that leaves of each row:
``computed`` (every step the row needs is known; a step with no feasible plan is known),
``partial`` (a value was found, but a nearer step is not known: ``comes_in_at`` is then at most,
``goes_out_at`` at least the true tested budget) or ``skipped`` (no value, and a step that could
give one is not known: a step not known before the first with no plan is one); ``method``
names the steps not known and why.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from planner.analysis.budget_steps import BudgetSteps
from planner.data.instance import Instance
from planner.formats import money
from planner.rules import Status

#: multiples of today's budget re-solved to find where each service comes in or goes out
BUDGET_STEPS = (0.8, 0.9, 0.95, 0.98, 1.02, 1.05, 1.1, 1.25)
COLUMNS = ["list", "rank", "service", "funded", "coverage", "cost", "saved", "net_cost",
           "qalys", "cost_per_qaly", "comes_in_at", "goes_out_at", "status", "method"]
#: a step's answer in ``_shares`` when that budget has no feasible plan (it funds nothing, and
#: says nothing about what would be cut)
NO_PLAN = "no plan"
#: how a hit-list row's ``method`` ends when its goes_out_at is blank because the steps below
#: today's that would drop it have no feasible plan (planner.reports.priorities reads it)
NO_PLAN_NOTE = "goes_out_at blank: no plan exists at {budget} or below (every year's budget × {factor})"


def candidates(instance: Instance) -> list[str]:
    """Services a board may choose: discretionary ones with demand, or partly coverable ones."""
    services = instance.services
    pick = (~services["mandatory"] | (services["min_coverage"] < 1)) & (services["demand"] > 0)
    return services.loc[pick, "service"].tolist()


def _scaled(instance: Instance, factor: float) -> Instance:
    policy = instance.config.policy
    budget = policy.budget
    scaled = [b * factor for b in budget] if isinstance(budget, list) else budget * factor
    config = instance.config.model_copy(update={"policy": policy.model_copy(
        update={"budget": scaled})})
    return dataclasses.replace(instance, config=config)


def funded_share(plan, services: list[str]) -> dict[str, float]:
    """Share of each service's horizon demand the plan buys (0 when not commissioned)."""
    table = plan.services
    volume = plan.contracts.groupby("service")["volume"].sum()
    demand = table.groupby("service")["demand"].sum()
    commissioned = table.groupby("service")["commissioned"].any()
    return {s: float(volume.get(s, 0.0) / demand[s]) if commissioned.get(s, False)
            and demand.get(s, 0) > 0 else 0.0 for s in services}


def value_table(instance: Instance, services: list[str]) -> pd.DataFrame:
    """cost, saved, net_cost, qalys and cost_per_qaly of each service at full demand (£)."""
    config = instance.config
    horizon, change = config.horizon, config.policy.price_change
    table = instance.services.set_index("service")
    offers = instance.offers.merge(table[["min_quality", "tariff"]], left_on="service",
                                   right_index=True)
    offers = offers.loc[offers["quality"] >= offers["min_quality"] - 1e-12]
    offers = offers.assign(unit=offers["tariff"].fillna(offers["price"]))
    best = offers.sort_values(["unit", "quality"], ascending=[True, False]).drop_duplicates("service")
    best = best.set_index("service")
    mean = instance.offers.groupby("service")["price"].mean()
    typical = table["tariff"].fillna(mean.reindex(table.index)).fillna(0.0)
    growth = table["growth"].fillna(config.policy.demand_growth)
    years = np.arange(horizon)
    rows = []
    for s in services:
        demand = float(table.at[s, "demand"]) * (1 + float(growth[s])) ** years
        prices = (1 + change) ** years
        if s not in best.index:
            continue  # no offer meets its quality threshold: it cannot be bought at all
        cost = float((best.at[s, "unit"] * prices * demand).sum())
        qalys = float(table.at[s, "qaly_gain"] * best.at[s, "quality"] * demand.sum())
        saved = 0.0
        for e in instance.effects.loc[instance.effects["source"] == s].itertuples(index=False):
            lag = int(e.lag)
            for t in range(horizon - lag):
                saved += -float(e.factor) * demand[t] * float(typical[e.target]) * prices[t + lag]
        net = cost - saved
        rows.append({"service": s, "cost": cost, "saved": saved, "net_cost": net, "qalys": qalys,
                     "cost_per_qaly": net / qalys if qalys > 1e-12 and net > 0 else math.nan})
    return pd.DataFrame(rows, columns=["service", "cost", "saved", "net_cost", "qalys",
                                       "cost_per_qaly"])


def _value_key(frame: pd.DataFrame) -> np.ndarray:
    """Best value first: money-saving services, then by £ per QALY, then costly with no QALYs."""
    key = frame["cost_per_qaly"].to_numpy(float).copy()
    saving = frame["net_cost"].to_numpy(float) <= 0
    key[saving] = -np.inf
    key[np.isnan(key)] = np.inf
    return key


def priorities(instance: Instance, plan, steps: BudgetSteps | None,
               factors: tuple[float, ...] = BUDGET_STEPS) -> pd.DataFrame:
    """priorities.csv: the wish list then the hit list (see the module docstring).

    ``steps`` answers the plan's model at every year's budget × each of ``factors``
    (planner.solve passes the ones it shares with the marginal values); None: no budget steps
    (``comes_in_at`` and ``goes_out_at`` blank, ``status`` ``skipped``)."""
    services = candidates(instance)
    if not services or not plan.has_solution:
        return pd.DataFrame(columns=COLUMNS)

    values = value_table(instance, services)
    share = funded_share(plan, services)
    values["funded"] = values["service"].map(lambda s: share[s] > 1e-9)
    values["coverage"] = values["service"].map(share)
    base = instance.budget_for_year(0)
    values["comes_in_at"], values["goes_out_at"] = math.nan, math.nan
    values["status"] = "computed"
    values["method"] = "no budget: no re-solve"
    if base is not None and base > 0:
        at, method = _shares(steps, services, factors)
        values["method"] = method
        above = sorted(f for f in factors if f > 1)
        below = sorted((f for f in factors if f < 1), reverse=True)
        for i, s in enumerate(values["service"]):
            if not values.at[i, "funded"]:
                hit, unknown, _ = _first(above, at, lambda shares, s=s: shares[s] > 1e-9)
                values.at[i, "comes_in_at"] = base * hit if hit else math.nan
            else:
                hit, unknown, no_plan = _first(below, at, lambda shares, s=s: shares[s] <= 1e-9,
                                               stop_at_no_plan=True)
                values.at[i, "goes_out_at"] = base * hit if hit else math.nan
                if no_plan is not None:
                    note = NO_PLAN_NOTE.format(budget=money(base * no_plan), factor=f"{no_plan:g}")
                    with_plan = any(isinstance(at[f], dict) for f in below if f > no_plan)
                    values.at[i, "method"] = f"{method}; {note}, and " + (
                        "no known step with a plan drops it (one not known might)" if unknown
                        else "no tested budget with a plan drops it" if with_plan
                        else "no tested budget below today's has a plan")
            if unknown:
                values.at[i, "status"] = "partial" if hit else "skipped"
    key = _value_key(values)
    wish = values.loc[~values["funded"]].assign(_k=key[~values["funded"].to_numpy()])
    hit = values.loc[values["funded"]].assign(_k=key[values["funded"].to_numpy()])
    wish = wish.sort_values(["_k", "service"], kind="stable").assign(list="wish")
    hit = hit.sort_values(["_k", "service"], ascending=[False, True], kind="stable").assign(list="hit")
    out = pd.concat([wish, hit], ignore_index=True) if len(wish) and len(hit) else (
        wish if len(wish) else hit).reset_index(drop=True)
    out["rank"] = out.groupby("list").cumcount() + 1
    return out[COLUMNS]


def _shares(steps: BudgetSteps | None, services: list[str], factors: tuple[float, ...]
            ) -> tuple[dict[float, dict[str, float] | str | None], str]:
    """Each factor's funded shares (``NO_PLAN`` where the step has no feasible plan, None where
    it is not known) and the method text."""
    head = ("every year's budget × " + ", ".join(f"{f:g}" for f in factors) + "; base-year £")
    if steps is None:
        return dict.fromkeys(factors), head + "; not re-solved"
    steps.want(factors).ensure()
    at: dict[float, dict[str, float] | str | None] = {}
    kinds: dict[str, list[float]] = {}
    for factor in factors:
        answer = steps.answer(factor)
        if answer.status is Status.INFEASIBLE:
            at[factor] = NO_PLAN
        elif answer.known:
            at[factor] = funded_share(steps.plan_at(answer), services)
        else:
            at[factor] = None
        kind = {"re-solved": "re-solved", "fits": "answered without a re-solve (a larger "
                "budget's optimal plan fits)", "infeasible": "answered without a re-solve "
                "(infeasible, as a larger budget is)", "skipped": "not re-solved (time budget)"
                }[answer.how]
        if answer.how == "re-solved" and answer.status is Status.INFEASIBLE:
            kind = "re-solved (infeasible)"
        elif answer.how == "re-solved" and not answer.known:
            kind = ("re-solve stopped at its time limit, not proven (not used)"
                    if answer.status in (Status.FEASIBLE, Status.TIME_LIMIT)
                    else f"re-solve ended {answer.status} (not used)")
        kinds.setdefault(kind, []).append(factor)
    parts = [f"{kind} at × " + ", ".join(f"{f:g}" for f in fs) for kind, fs in kinds.items()]
    return at, head + "; " + "; ".join(parts)


def _first(order: list[float], at: dict[float, dict[str, float] | str | None], test,
           stop_at_no_plan: bool = False) -> tuple[float | None, bool, float | None]:
    """The first factor of ``order`` whose shares pass ``test``, whether a factor before it (or
    any, when none passes) is not known, and the step with no feasible plan the search stopped
    at (None if none).

    A step with no plan never passes (there is no plan to fund or drop anything). With
    ``stop_at_no_plan`` (the steps below today's, nearest first) the search stops there: every
    smaller budget has no plan either. Otherwise it is passed over (above today's, where the
    plan's own feasibility means there is none)."""
    unknown = False
    for factor in order:
        shares = at[factor]
        if shares is None:
            unknown = True
        elif isinstance(shares, str):  # NO_PLAN
            if stop_at_no_plan:
                return None, unknown, factor
        elif test(shares):
            return factor, unknown, None
    return None, unknown, None
