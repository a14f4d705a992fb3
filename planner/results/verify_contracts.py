"""verify's checks of each contract (eligible, priced and costed as the data say) and of each
service (demand met at one level, quality thresholds, shares), from the raw tables only."""

from __future__ import annotations

import math

from planner.results import verify_payment as pay
from planner.results.verify_context import Context, close, le, tol
from planner.results.verify_shifting import ShiftCheck
from planner.rules import (
    ABS_TOL,
    MIN_CONTRACT_VOLUME,
    VOLUME_TOL,
)


def check_contracts(ctx: Context) -> None:
    """Each contract: eligible, priced and costed as the data say."""
    instance, bad = ctx.instance, ctx.bad
    population = instance.config.population
    levels = instance.levels.set_index("level")
    services = instance.services.set_index("service")
    providers = instance.providers.set_index("provider")
    offers = instance.offers.set_index(["provider", "service"])
    contracts = ctx.plan.contracts
    contracts = contracts.loc[pay.payment_of(contracts) != "bundle"]  # bundles: verify_payment
    block = set(zip(*[contracts.loc[pay.payment_of(contracts) == "block", k]
                      for k in ("provider", "service", "year")]))
    running = set(zip(contracts["service"], contracts["level"], contracts["provider"],
                      contracts["year"]))
    for c in contracts.itertuples(index=False):
        label = f"contract {c.service}/{c.level}/{c.provider} in {c.year}"
        if (c.provider, c.service) not in offers.index or c.level not in levels.index:
            bad.append(f"{label}: no such offer or level in the data")
            continue
        t = ctx.t(c.year)
        offer, service = offers.loc[(c.provider, c.service)], services.loc[c.service]
        allowed = service["allowed_levels"]
        if allowed and c.level not in allowed:
            bad.append(f"{label}: level not in the service's allowed_levels")
        tolerance = levels.at[c.level, "risk_tolerance"]
        least = min(1.0, (1.0 + ctx.growth(c.service)) ** (instance.config.horizon - 1))
        rate = service["demand"] / population * least
        if ctx.on("risk_pooling") and not math.isnan(tolerance) and rate > 0:
            cv = math.sqrt((1 + service["cost_cv"] ** 2) / (rate * levels.at[c.level, "population"]))
            if cv > tolerance + 1e-12:
                bad.append(f"{label}: spend CV {cv:.4f} exceeds the level's tolerance {tolerance:g}")
        if ctx.on("conflicts") and c.level in providers.at[c.provider, "conflicted_levels"]:
            bad.append(f"{label}: provider is conflicted at this level")
        if ctx.on("min_quality") and offer["quality"] < service["min_quality"] - 1e-12:
            bad.append(f"{label}: quality {offer['quality']:g} below min_quality "
                       f"{service['min_quality']:g}")
        base = service["tariff"] if not math.isnan(service["tariff"]) else offer["price"]
        price = base * ctx.price_factor(t) * pay.withhold_factor(ctx, offer["quality"])
        if (c.provider, c.service, c.year) in block:  # a block's £ is checked in verify_payment
            price = c.spend / c.volume if c.volume > 0 else c.price
        if not close(c.price, price):
            bad.append(f"{label}: price {c.price:g} but the data give {price:g}")
        if c.volume < -ABS_TOL:
            bad.append(f"{label}: negative volume {c.volume}")
        least = _least_volume(ctx, c, offer, service, levels.at[c.level, "transaction_cost"])
        if c.volume <= 0 or c.volume < least - tol(least):
            bad.append(f"{label}: a let contract with {c.volume:g} episodes (at least "
                       f"{max(least, 0):g}): an empty contract is choice on paper only")
        if not close(c.spend, price * c.volume):
            bad.append(f"{label}: spend {c.spend} ≠ price × volume {price * c.volume}")
        if not close(c.quality, offer["quality"]):
            bad.append(f"{label}: quality {c.quality:g} but the offer's is {offer['quality']:g}")
        if not close(c.qalys, service["qaly_gain"] * offer["quality"] * c.volume):
            bad.append(f"{label}: qalys {c.qalys} do not match qaly_gain × quality × volume")
        is_new = offer["incumbent_volume"] <= 0
        if bool(c.new) != is_new:
            bad.append(f"{label}: new={c.new} but incumbent_volume is {offer['incumbent_volume']}")
        units = population / levels.at[c.level, "population"]
        if not close(c.transaction_cost, levels.at[c.level, "transaction_cost"] * units):
            bad.append(f"{label}: transaction cost {c.transaction_cost} ≠ tc × units")
        starts = t == 0 or (c.service, c.level, c.provider, c.year - 1) not in running
        setup = offer["setup_cost"] if is_new and starts else 0.0
        if not close(c.setup_cost, setup):
            bad.append(f"{label}: setup cost {c.setup_cost} but the data give {setup}")
        if ctx.on("min_share") and not le(service["min_share"] * ctx.demand(c.service, c.level, t),
                                          c.volume):
            bad.append(f"{label}: volume {c.volume:g} below the minimum share "
                       f"{service['min_share']:g} of demand")
    if ctx.on("offer_capacity"):
        volume = contracts.groupby(["provider", "service", "year"])["volume"].sum()
        for (p, s, year), total in volume.items():
            cap = offers.at[(p, s), "capacity"]
            if not math.isnan(cap) and not le(total, cap):
                bad.append(f"offer {p}/{s} in {year}: volume {total:g} above capacity {cap:g}")


def _least_volume(ctx: Context, c, offer, service, transaction_cost: float) -> float:
    """Episodes a let contract must carry: min(1, its capacity, demand / the service's offers)
    where the contract costs money to hold or a rule counts it (docs/model.md, family 3); 0
    (any activity at all) for a contract that is only volume."""
    policy = ctx.instance.config.policy
    counted = (transaction_cost > 0 or (offer["incumbent_volume"] <= 0 and offer["setup_cost"] > 0)
               or (ctx.on("min_share") and service["min_share"] > 0)
               or (ctx.on("min_providers") and service["min_providers"] > 1)
               or (ctx.on("max_providers") and not math.isnan(service["max_providers"]))
               or (ctx.on("headroom") and service["choice_headroom"] > 0)
               or (len(ctx.years) > 1 and policy.min_contract_years > 1))
    if not counted:
        return 0.0
    cap = offer["capacity"]
    demand = ctx.demand(c.service, c.level, ctx.t(c.year))
    return min(MIN_CONTRACT_VOLUME, math.inf if math.isnan(cap) else cap,
               demand / max(1, ctx.offers_of(c.service)))


def check_services(ctx: Context) -> None:
    """Each service: one level for the horizon, demand met in full, quality and choice rules."""
    instance, bad = ctx.instance, ctx.bad
    offers = instance.offers.set_index(["provider", "service"])
    contracts = ctx.plan.contracts
    reported = ctx.plan.services.set_index(["service", "year"])
    groups = {key: g for key, g in contracts.groupby(["service", "year"])}
    shifts = ShiftCheck(ctx)  # issue 15: demand shifted by effects.csv, partial coverage
    for service_id, service in instance.services.set_index("service").iterrows():
        levels_used = set(contracts.loc[contracts["service"] == service_id, "level"])
        if len(levels_used) > 1:
            bad.append(f"service {service_id}: contracted at several levels {sorted(levels_used)}")
            continue
        for year in ctx.years:
            t = ctx.t(year)
            group = groups.get((service_id, year), contracts.iloc[0:0])
            commissioned = bool(reported.at[(service_id, year), "commissioned"])
            if service["demand"] <= VOLUME_TOL:
                continue  # no demand a plan can carry (1e-300 episodes is solver noise)
            label = f"service {service_id} in {year}"
            if ctx.on("mandatory") and service["mandatory"] and not commissioned:
                bad.append(f"{label}: mandatory but not commissioned")
            if not commissioned:
                if len(group):
                    bad.append(f"{label}: contracts but reported not commissioned")
                continue
            level = reported.at[(service_id, year), "level"]
            if levels_used and level not in levels_used:
                bad.append(f"{label}: reported at {level} but contracted at {levels_used}")
            demand = ctx.demand(service_id, level, t)
            volume = float(group["volume"].sum())
            problem = shifts.problem(service_id, level, year, volume)  # effects, coverage
            if problem:
                bad.append(f"{label}: {problem}")
            if ctx.on("avg_quality") and service["min_avg_quality"] > 0:
                quality = [offers.at[(p, service_id), "quality"] if form != "bundle" else
                           ctx.instance.bundles.set_index("bundle").at[b, "quality"]
                           for p, form, b in zip(group["provider"], pay.payment_of(group),
                                                 group.get("bundle", [""] * len(group)))]
                weighted = float((group["volume"].to_numpy() * quality).sum())  # from the data
                if not le(service["min_avg_quality"] * volume, weighted):
                    bad.append(f"{label}: average quality {weighted / max(volume, 1e-12):.4f} "
                               f"below {service['min_avg_quality']:g}")
            n = len(group)
            if ctx.on("min_providers") and n < service["min_providers"]:
                bad.append(f"{label}: {n} providers, fewer than min_providers "
                           f"{service['min_providers']:g}")
            if ctx.on("max_providers") and not math.isnan(service["max_providers"]) \
                    and n > service["max_providers"]:
                bad.append(f"{label}: {n} providers, more than max_providers "
                           f"{service['max_providers']:g}")
            if ctx.on("headroom") and service["choice_headroom"] > 0:
                caps = [offers.at[(p, service_id), "capacity"] for p in group["provider"]]
                contracted = sum(math.inf if math.isnan(cap) else cap for cap in caps)
                needed = (1 + service["choice_headroom"]) * demand
                if not le(needed, contracted):
                    bad.append(f"{label}: contracted capacity {contracted:g} below demand plus "
                               f"headroom {needed:g}")

