"""Independent verification of how care is paid for (issue 16), from the raw tables only.

Called from :func:`planner.verify.verify`. Like it, this module uses neither the derived tables
nor the model: it takes the plan's decisions (which contracts are let, with which payment form;
which bundles hold which services) and recomputes every £ from offers.csv, bundles.csv,
providers.csv and the policy:

* a contract's payment form is its offer's; an activity episode is paid
  price × pf_t × (1 − w + w × quality) (w = policy.quality_withhold); a block contract is paid
  block_price × pf_t and carries at most the offer's capacity (checked with offer capacity);
* a bundle's rows: its provider, its level, every listed service with demand taken whole, no
  other contract for those services, the same bundle every year, eligibility at its level (allowed
  levels, the CV rule, conflicts, quality floors), its price × pf_t in total and one transaction
  cost for all units of its level;
* a guarantee: a used provider (one holding a contract) with income_guarantee G is paid
  max(0, G × pf_t − its activity and block income), recomputed from the prices above.
"""

from __future__ import annotations

import math

import pandas as pd

from planner.rules import ABS_TOL, NOTICE_SHARE, REL_TOL


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= ABS_TOL + REL_TOL * max(1.0, abs(a), abs(b))


def payment_of(contracts: pd.DataFrame) -> pd.Series:
    """Each row's payment form (plans written before issue 16 are all activity)."""
    if "payment" in contracts:
        return contracts["payment"].fillna("activity").replace("", "activity")
    return pd.Series("activity", index=contracts.index)


def withhold_factor(ctx, quality: float) -> float:
    withhold = ctx.instance.config.policy.quality_withhold
    return 1.0 - withhold + withhold * float(quality)


def activity_price(ctx, provider: str, service: str, t: int) -> float:
    """£ per episode of an activity offer in year t, from the raw tables."""
    offer = ctx.instance.offers.set_index(["provider", "service"]).loc[(provider, service)]
    tariff = ctx.instance.services.set_index("service").at[service, "tariff"]
    base = tariff if not math.isnan(tariff) else offer["price"]
    return float(base) * ctx.price_factor(t) * withhold_factor(ctx, offer["quality"])


def bundled_keys(ctx) -> set[tuple[str, int]]:
    """(service, year) pairs the plan has bundled: they carry no risk charge."""
    contracts = ctx.plan.contracts
    mine = contracts.loc[payment_of(contracts) == "bundle"]
    return set(zip(mine["service"], mine["year"]))


def payment_totals(ctx, year: int) -> dict[str, float]:
    """block_spend, bundle_spend and guarantee_payments of ``year`` (£), from the raw tables."""
    instance = ctx.instance
    t = ctx.t(year)
    contracts = ctx.plan.contracts
    mine = contracts.loc[contracts["year"] == year]
    payment = payment_of(mine)
    offers = instance.offers.set_index(["provider", "service"])
    blocks = mine.loc[payment == "block"]
    block_price = {key: float(offers.at[key, "block_price"]) * ctx.price_factor(t)
                   for key in zip(blocks["provider"], blocks["service"]) if key in offers.index}
    bundles = instance.bundles.set_index("bundle")
    held = set(mine.loc[payment == "bundle", "bundle"]) & set(bundles.index)
    bundle_spend = sum(float(bundles.at[b, "price"]) * ctx.price_factor(t) for b in held)
    guarantee = sum(guarantees(ctx, year).values())
    return {"block_spend": sum(block_price.values()), "bundle_spend": bundle_spend,
            "guarantee_payments": guarantee}


def guarantees(ctx, year: int) -> dict[str, float]:
    """£ of guarantee top-up owed to each guaranteed provider used in ``year``."""
    instance = ctx.instance
    t = ctx.t(year)
    mine = ctx.plan.contracts.loc[ctx.plan.contracts["year"] == year]
    offers = instance.offers.set_index(["provider", "service"])
    owed: dict[str, float] = {}
    for provider in instance.providers.itertuples(index=False):
        own = mine.loc[mine["provider"] == provider.provider]
        if provider.income_guarantee <= 0 or not len(own):
            continue  # no guarantee, or not used: nothing is owed
        payment = payment_of(own)
        income = 0.0
        for row, form in zip(own.itertuples(index=False), payment):
            if (row.provider, row.service) not in offers.index or form == "bundle":
                continue
            if form == "block":
                income += float(offers.at[(row.provider, row.service), "block_price"]) \
                    * ctx.price_factor(t)
            else:
                income += activity_price(ctx, row.provider, row.service, t) * row.volume
        owed[provider.provider] = max(0.0, provider.income_guarantee * ctx.price_factor(t)
                                      - income)
    return owed


def check_payments(ctx) -> None:
    """Blocks, bundles and guarantees of the plan, against the raw tables (see module)."""
    _check_blocks(ctx)
    _check_bundles(ctx)
    _check_guarantees(ctx)


def _check_blocks(ctx) -> None:
    contracts = ctx.plan.contracts
    offers = ctx.instance.offers.set_index(["provider", "service"])
    payment = payment_of(contracts)
    for c, form in zip(contracts.itertuples(index=False), payment):
        if form == "bundle" or (c.provider, c.service) not in offers.index:
            continue
        label = f"contract {c.service}/{c.level}/{c.provider} in {c.year}"
        offered = offers.at[(c.provider, c.service), "payment"]
        if form != offered:
            ctx.bad.append(f"{label}: paid by {form} but the offer is paid by {offered}")
            continue
        if form == "block":
            price = float(offers.at[(c.provider, c.service), "block_price"]) \
                * ctx.price_factor(ctx.t(c.year))
            if not _close(c.spend, price):
                ctx.bad.append(f"{label}: block spend £{c.spend:,.2f} but the block price is "
                               f"£{price:,.2f}")
            capacity = float(offers.at[(c.provider, c.service), "capacity"])
            if c.volume > capacity + ABS_TOL + REL_TOL * capacity:  # whatever --without says
                ctx.bad.append(f"{label}: {c.volume:g} episodes, more than the block's "
                               f"{capacity:g}")


def _check_bundles(ctx) -> None:
    instance, bad = ctx.instance, ctx.bad
    contracts = ctx.plan.contracts
    payment = payment_of(contracts)
    rows = contracts.loc[payment == "bundle"]
    if not len(rows):
        return
    bundles = instance.bundles.set_index("bundle")
    services = instance.services.set_index("service")
    levels = instance.levels.set_index("level")
    providers = instance.providers.set_index("provider")
    population = instance.config.population
    others = contracts.loc[payment != "bundle"]
    other_keys = set(zip(others["service"], others["year"]))
    years_of: dict[str, set[int]] = {}
    for bundle_id, group in rows.groupby("bundle"):
        if bundle_id not in bundles.index:
            bad.append(f"bundle {bundle_id}: not in bundles.csv")
            continue
        bundle = bundles.loc[bundle_id]
        level = bundle["level"]
        for year, mine in group.groupby("year"):
            t = ctx.t(year)
            label = f"bundle {bundle_id} in {year}"
            years_of.setdefault(bundle_id, set()).add(int(year))
            if set(mine["provider"]) != {bundle["provider"]} or set(mine["level"]) != {level}:
                bad.append(f"{label}: rows name another provider or level than the bundle's "
                           f"({bundle['provider']} at {level})")
            wanted = {s for s in bundle["services"] if services.at[s, "demand"] > 0}
            if set(mine["service"]) != wanted or len(mine) != len(wanted):
                bad.append(f"{label}: holds {sorted(set(mine['service']))} but bundles "
                           f"{sorted(wanted)}, each once")
            for row in mine.itertuples(index=False):
                if row.service not in services.index:
                    continue
                service = services.loc[row.service]
                demand = ctx.demand(row.service, level, t)
                if not _close(row.volume, demand):
                    bad.append(f"{label}: {row.service} volume {row.volume:g} ≠ its demand "
                               f"{demand:g} at {level}")
                if (row.service, year) in other_keys:
                    bad.append(f"{label}: {row.service} also has a contract outside the bundle")
                if not _close(row.quality, bundle["quality"]) or not _close(
                        row.qalys, service["qaly_gain"] * bundle["quality"] * row.volume):
                    bad.append(f"{label}: {row.service} quality or QALYs differ from the bundle's "
                               f"quality {bundle['quality']:g}")
                _check_eligible(ctx, label, row.service, service, level, levels, providers,
                                bundle, population)
            price = float(bundle["price"]) * ctx.price_factor(t)
            if not _close(float(mine["spend"].sum()), price):
                bad.append(f"{label}: spend £{mine['spend'].sum():,.2f} but the bundle's price "
                           f"is £{price:,.2f}")
            units = population / levels.at[level, "population"]
            charge = levels.at[level, "transaction_cost"] * units
            if not _close(float(mine["transaction_cost"].sum()), charge):
                bad.append(f"{label}: transaction cost £{mine['transaction_cost'].sum():,.2f}, "
                           f"but one contract per unit of {level} costs £{charge:,.2f}")
    for bundle_id, held in years_of.items():
        if held != set(ctx.years):
            bad.append(f"bundle {bundle_id}: chosen in {sorted(held)} only; a bundle runs the "
                       "whole horizon")
    counted = rows.groupby(["service", "year"])["bundle"].nunique()
    for (service, year), n in counted.items():
        if n > 1:
            bad.append(f"service {service} in {year}: in {n} chosen bundles (at most one)")


def _check_eligible(ctx, label: str, service_id: str, service, level: str, levels, providers,
                    bundle, population: float) -> None:
    bad = ctx.bad
    allowed = service["allowed_levels"]
    if allowed and level not in allowed:
        bad.append(f"{label}: {service_id} may not be commissioned at {level} (allowed_levels)")
    tolerance = levels.at[level, "risk_tolerance"]
    least = min(1.0, (1.0 + ctx.growth(service_id)) ** (ctx.instance.config.horizon - 1))
    rate = service["demand"] / population * least
    if ctx.on("risk_pooling") and not math.isnan(tolerance) and rate > 0:
        cv = math.sqrt((1 + service["cost_cv"] ** 2) / (rate * levels.at[level, "population"]))
        if cv > tolerance + 1e-12:
            bad.append(f"{label}: {service_id} spend CV {cv:.4f} above {level}'s tolerance")
    if ctx.on("conflicts") and level in providers.at[bundle["provider"], "conflicted_levels"]:
        bad.append(f"{label}: provider {bundle['provider']} is conflicted at {level}")
    floors = [service["min_quality"] if ctx.on("min_quality") else 0.0,
              service["min_avg_quality"] if ctx.on("avg_quality") else 0.0]
    if bundle["quality"] < max(floors) - 1e-12:
        bad.append(f"{label}: quality {bundle['quality']:g} below {service_id}'s floor "
                   f"{max(floors):g}")


def _check_guarantees(ctx) -> None:
    """The plan's guarantee_paid column, provider by provider (the totals are checked too)."""
    providers = ctx.plan.providers
    if "guarantee_paid" not in providers:
        return
    for year in ctx.years:
        expected = guarantees(ctx, year)
        mine = providers.loc[providers["year"] == year]
        for provider, paid in zip(mine["provider"], mine["guarantee_paid"]):
            owed = expected.get(provider, 0.0)
            if not _close(float(paid), owed):
                ctx.bad.append(f"provider {provider} in {year}: guarantee paid £{paid:,.2f} but "
                               f"the data give £{owed:,.2f}")


def block_notice(ctx, out: dict[int, dict[str, float]]) -> None:
    """Add the notice on incumbent block contracts that end (several years) to ``out``: half a
    year of the block price, × pf_t, in the year it is first not let after being let (or today)."""
    offers = ctx.instance.offers
    incumbent = offers.loc[(offers["payment"] == "block") & (offers["incumbent_volume"] > 0)]
    if len(ctx.years) == 1 or not len(incumbent):
        return
    contracts = ctx.plan.contracts
    mine = contracts.loc[payment_of(contracts) == "block"]
    let = set(zip(mine["provider"], mine["service"], mine["year"]))
    for offer in incumbent.itertuples(index=False):
        before = True
        for year in ctx.years:
            now = (offer.provider, offer.service, year) in let
            if before and not now:
                out[year]["notice_costs"] += NOTICE_SHARE * float(offer.block_price) \
                    * ctx.price_factor(ctx.t(year))
            before = now
