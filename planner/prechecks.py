"""Checks that need derived data but no model: can each mandatory service be commissioned at all?

These are data errors (exit 2) in the contract: a mandatory service with no level able to bear its
risk, no provider meeting its quality threshold, or more demand than every eligible provider
together can deliver. Each message says what is on offer and what would fix it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.derive import Derived
from planner.errors import Problem


def precheck(derived: Derived) -> list[Problem]:
    problems: list[Problem] = []
    services = derived.services
    mandatory = services.loc[services["mandatory"] & (services["demand"] > 0)]
    if not derived.on("mandatory"):
        return problems
    sl = derived.service_levels
    offers = derived.offers
    contracts = derived.contracts
    for row in mandatory.itertuples(index=False):
        own_levels = sl.loc[sl["service"] == row.service]
        eligible_levels = own_levels.loc[own_levels["eligible"]]
        if eligible_levels.empty:
            problems.append(_no_level(row, own_levels))
            continue
        own_offers = offers.loc[offers["service"] == row.service]
        own_contracts = contracts.loc[contracts["service"] == row.service]
        if own_contracts.empty:
            problems.append(_no_provider(row, own_offers, derived))
            continue
        problems += _capacity(row, own_contracts, derived)
    return problems


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


def _capacity(row, own_contracts: pd.DataFrame, derived: Derived) -> list[Problem]:
    """Demand (with headroom) against the capacity of eligible providers, at the best level."""
    problems = []
    headroom = row.choice_headroom if derived.on("headroom") else 0.0
    by_level = own_contracts.groupby("level").agg(
        demand=("level_demand", "first"),
        capacity=("capacity", lambda c: np.inf if c.isna().any() else c.sum()),
        providers=("provider", "nunique"))
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
