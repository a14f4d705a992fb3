"""Checks that need derived data but no model: can each mandatory service be commissioned at all?

These are data errors (exit 2) in the contract: a mandatory service with no level able to bear its
risk, no provider meeting its quality threshold, or more demand than every eligible provider
together can deliver. Each message says what is on offer and what would fix it. Also the
pre-solve lower bound on spend that an infeasible instance's diagnosis reports first
(:func:`budget_lower_bound`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.data.instance import Instance
from planner.derive.tables import Derived
from planner.errors import Problem
from planner.formats import money


def precheck(derived: Derived) -> list[Problem]:
    problems: list[Problem] = []
    services = derived.services
    mandatory = services.loc[services["mandatory"] & (services["demand"] > 0)]
    if not derived.on("mandatory"):
        return problems
    # every table split by service once (not filtered per service: 1,000 services × 100,000
    # contracts would be 10^8 comparisons)
    levels_of = _by_service(derived.service_levels)
    offers_of = _by_service(derived.offers)
    contracts = derived.contracts
    served = set(contracts["service"])
    stats_of = _by_service(_level_stats(contracts).reset_index())
    for row in mandatory.itertuples(index=False):
        own_levels = levels_of.get(row.service, derived.service_levels.iloc[:0])
        if not own_levels["eligible"].any():
            problems.append(_no_level(row, own_levels))
            continue
        if row.service not in served:
            problems.append(_no_provider(row, offers_of.get(row.service, derived.offers.iloc[:0]),
                                         derived))
            continue
        problems += _capacity(row, stats_of[row.service].set_index("level"), derived)
    return problems


def _by_service(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {service: rows for service, rows in frame.groupby("service", sort=False)}


def _level_stats(contracts: pd.DataFrame) -> pd.DataFrame:
    """Per (service, level): demand (episodes), capacity of its eligible contracts (episodes,
    inf if any is unlimited) and the number of providers."""
    keys = [contracts["service"], contracts["level"]]
    grouped = contracts.groupby(keys, sort=False)
    unlimited = contracts["capacity"].isna().groupby(keys, sort=False).any()
    capacity = grouped["capacity"].sum()
    return pd.DataFrame({"demand": grouped["level_demand"].first(),
                         "capacity": capacity.where(~unlimited, np.inf),
                         "providers": grouped["provider"].nunique()}).rename_axis(
        ["service", "level"])


def _no_level(row, own_levels: pd.DataFrame) -> Problem:
    allowed = own_levels.loc[own_levels["reason"] != "not in allowed_levels"]
    if allowed.empty:
        message = "mandatory, but none of its allowed_levels is defined in levels.csv."
        fix = "List levels that exist in allowed_levels, or leave it blank for all."
    else:
        best = allowed.sort_values("cv").iloc[0]
        message = (f"mandatory, but no allowed level can bear its risk: the spread (CV) of one "
                   f"unit's annual spend is {best['cv']:.3f} at best (level '{best['level']}'), "
                   f"above its risk_tolerance {best['risk_tolerance']:.3f}.")
        fix = ("Allow a level with a larger population, or raise that level's risk_tolerance "
               "in levels.csv.")
    return Problem("services", message, fix, row=row.service, column="allowed_levels")


def _no_provider(row, own_offers: pd.DataFrame, derived: Derived) -> Problem:
    if own_offers.empty:
        return Problem("services", "mandatory, but no provider offers it in offers.csv.",
                       "Add an offer for it, or make it not mandatory.", row=row.service,
                       column="mandatory")
    best = own_offers.sort_values("quality", ascending=False).iloc[0]
    if derived.on("min_quality") and best["quality"] < row.min_quality:
        return Problem("services", f"mandatory, but no provider meets its min_quality "
                       f"{row.min_quality:g}: the best quality on offer is {best['quality']:g} "
                       f"at '{best['provider']}'.",
                       "Lower min_quality, or add an offer from a provider meeting it.",
                       row=row.service, column="min_quality")
    usable = own_offers.loc[~derived.on("min_quality") | (own_offers["quality"] >= row.min_quality)]
    if (usable["capacity"].fillna(np.inf) <= 0).all():
        names = ", ".join(f"'{p}'" for p in usable["provider"])
        return Problem("offers", f"service '{row.service}' is mandatory, but every offer of it "
                       f"meeting its quality threshold has capacity 0 ({names}).",
                       "Give at least one of these offers a capacity above 0 (blank for "
                       "unlimited), or make the service not mandatory.",
                       row=f"{usable.iloc[0]['provider']}/{row.service}", column="capacity")
    return Problem("services", "mandatory, but every provider offering it is conflicted at "
                   "every level able to commission it.",
                   "Allow another level, or add an offer from a provider without the conflict.",
                   row=row.service, column="allowed_levels")


def _capacity(row, by_level: pd.DataFrame, derived: Derived) -> list[Problem]:
    """Demand (with headroom) against the capacity of eligible providers, at the best level."""
    problems = []
    headroom = row.choice_headroom if derived.on("headroom") else 0.0
    if derived.on("offer_capacity"):
        shortfall = by_level["demand"] * (1 + headroom) - by_level["capacity"]
        if (shortfall > 1e-6).all():
            best = shortfall.idxmin()
            need = "demand" + (f" plus {headroom:.0%} headroom" if headroom else "")
            problems.append(Problem(
                "services", f"mandatory {need} of {by_level.loc[best, 'demand'] * (1 + headroom):,.0f}"
                f" episodes exceeds the {by_level.loc[best, 'capacity']:,.0f} episodes of capacity "
                f"at eligible providers (best level '{best}') by {shortfall[best]:,.0f}.",
                "Add capacity or providers in offers.csv, or lower min_quality.",
                row=row.service, column="demand"))
    if derived.on("min_providers") and (by_level["providers"] < row.min_providers).all():
        problems.append(Problem(
            "services", f"needs at least {row.min_providers:g} providers but only "
            f"{by_level['providers'].max()} eligible ones offer it.",
            "Lower min_providers or add eligible offers.", row=row.service,
            column="min_providers"))
    return problems


def budget_lower_bound(instance: Instance, derived: Derived) -> list[dict]:
    """diagnosis.json's ``prechecks``: what shows without a model. The cheapest conceivable first
    year, every mandatory service bought from its cheapest eligible contract (capacity, choice
    and one-off costs ignored), is a lower bound on spend; above the budget no plan can exist,
    and the budget must rise by at least the difference. It is a bound, not a relaxation: the
    exact amount is the ``budget`` row of ``relaxations``."""

    budget = instance.budget_for_year(0)
    if budget is None or not derived.on("budget") or not derived.on("mandatory"):
        return []
    contracts = derived.contracts
    mandatory = set(derived.services.loc[derived.services["mandatory"], "service"])
    mine = contracts.loc[contracts["service"].isin(mandatory)]
    cheapest = (mine["unit_price"] * mine["level_demand"]).groupby(mine["service"]).min()
    least = float(cheapest.sum())
    if least <= budget * (1 + 1e-9):
        return []
    return [{"check": "budget_lower_bound", "constraint": "budget", "subject": "budget",
             "amount": round(least - budget, 6), "unit": "£", "at_least": True,
             "message": (f"Even the cheapest conceivable plan (every mandatory service from its "
                         f"cheapest eligible provider, before capacities and other rules) costs "
                         f"{money(least)}, {money(least - budget)} more than the budget of "
                         f"{money(budget)}: the budget must rise by at least that.")}]


UNITS_FACTOR = 0.1
"""A first year's budget below this share of what the mandatory services alone cost at their
cheapest reads as a units mistake (£ million typed as £), not a tight budget."""


def budget_units_warning(derived: Derived) -> str | None:
    """A warning when year 1's budget is far below the least the mandatory services can cost.

    The least cost: for each mandatory service, over its eligible levels, the level's demand ×
    the cheapest price offered there plus one contract's cost; summed. Demand effects or
    shifting could lower it, so only a budget under a tenth of it is named, where £m for £ (a
    factor of 10⁶) or £k for £ (10³) is the likelier reading. The solve would find no plan and
    diagnose the shortfall; validate says so before any solve."""
    budget = derived.policy.budgets[0] if derived.policy.budgets else None
    mandatory = derived.services.loc[derived.services["mandatory"], "service"]
    contracts = derived.contracts.loc[derived.contracts["service"].isin(mandatory)]
    if budget is None or contracts.empty:
        return None
    by_level = contracts.groupby(["service", "level"]).agg(
        demand=("level_demand", "first"), price=("unit_price", "min"),
        contract=("contract_cost", "min"))
    least = float((by_level["demand"] * by_level["price"] + by_level["contract"])
                  .groupby(level="service").min().sum())
    if budget >= UNITS_FACTOR * least:
        return None
    return (f"policy.budget {money(budget)} is under a tenth of the least the mandatory services "
            f"alone can cost ({money(least)}: each one's demand at the cheapest price offered): "
            "no plan will meet it. Check its units (£, not £ million or £ thousand).")
