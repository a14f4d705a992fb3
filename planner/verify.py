"""Independent verification: recheck a plan against every rule, from the raw instance tables.

This module deliberately does not use :mod:`planner.derive` or the Pyomo model: it recomputes
prices, eligibility (allowed levels, the risk-pooling CV rule, conflicts, quality thresholds),
demand at the chosen level, and every total straight from the instance, so a bug in derivation or
formulation shows up here as a violation instead of as a wrong plan.

Tolerances (documented in docs/outputs.md): a quantity passes if it is within
``ABS_TOL + REL_TOL × max(1, |reference|)`` of its limit, with ABS_TOL = 1e-3 (episodes or £)
and REL_TOL = 1e-6. These absorb solver feasibility tolerances and the 6-decimal rounding of
written volumes, and are far below anything a commissioner could act on.
"""

from __future__ import annotations

import math

from planner.instance import Instance

ABS_TOL = 1e-3
REL_TOL = 1e-6


def _tol(reference: float) -> float:
    return ABS_TOL + REL_TOL * max(1.0, abs(reference))


def _le(value: float, limit: float) -> bool:
    return value <= limit + _tol(limit)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= _tol(max(abs(a), abs(b)))


def verify(instance: Instance, plan, without: frozenset[str] | set[str] | None = None
           ) -> list[str]:
    """Return every violated rule of ``plan`` (empty when the plan is right).

    ``without`` names constraint families switched off for the solve (default: the plan's own
    options); those rules are not checked.
    """
    if not plan.has_solution:
        return []
    if without is None:
        without = frozenset(plan.options.get("without", ()))
    on = lambda family: family not in without  # noqa: E731
    config, policy = instance.config, instance.config.policy
    population = config.population
    levels = instance.levels.set_index("level")
    services = instance.services.set_index("service")
    providers = instance.providers.set_index("provider")
    offers = instance.offers.set_index(["provider", "service"])
    effects = {(r.level, r.category): r.demand_factor
               for r in instance.level_effects.itertuples(index=False)}
    contracts = plan.contracts
    bad: list[str] = []

    def demand_at(service: str, level: str) -> float:
        row = services.loc[service]
        return float(row["demand"]) * effects.get((level, row["category"]), 1.0)

    def mean_price(service: str) -> float:
        tariff = services.at[service, "tariff"]
        if not math.isnan(tariff):
            return float(tariff)
        prices = instance.offers.loc[instance.offers["service"] == service, "price"]
        return float(prices.mean()) if len(prices) else 0.0

    # Each contract: eligible, priced and costed as the data say.
    for c in contracts.itertuples(index=False):
        label = f"contract {c.service}/{c.level}/{c.provider}"
        if (c.provider, c.service) not in offers.index:
            bad.append(f"{label}: {c.provider} does not offer {c.service}")
            continue
        offer = offers.loc[(c.provider, c.service)]
        service = services.loc[c.service]
        if c.level not in levels.index:
            bad.append(f"{label}: unknown level")
            continue
        allowed = service["allowed_levels"]
        if allowed and c.level not in allowed:
            bad.append(f"{label}: level not in the service's allowed_levels")
        tolerance = levels.at[c.level, "risk_tolerance"]
        rate = service["demand"] / population
        if on("risk_pooling") and not math.isnan(tolerance) and rate > 0:
            cv = math.sqrt((1 + service["cost_cv"] ** 2) / (rate * levels.at[c.level, "population"]))
            if cv > tolerance + 1e-12:
                bad.append(f"{label}: spend CV {cv:.4f} exceeds the level's tolerance {tolerance:g}")
        if on("conflicts") and c.level in providers.at[c.provider, "conflicted_levels"]:
            bad.append(f"{label}: provider is conflicted at this level")
        if on("min_quality") and offer["quality"] < service["min_quality"] - 1e-12:
            bad.append(f"{label}: quality {offer['quality']:g} below min_quality "
                       f"{service['min_quality']:g}")
        price = service["tariff"] if not math.isnan(service["tariff"]) else offer["price"]
        if not _close(c.price, price):
            bad.append(f"{label}: price {c.price:g} but the data give {price:g}")
        if c.volume < -ABS_TOL:
            bad.append(f"{label}: negative volume {c.volume}")
        if not _close(c.spend, price * c.volume):
            bad.append(f"{label}: spend {c.spend} ≠ price × volume {price * c.volume}")
        if not _close(c.qalys, service["qaly_gain"] * offer["quality"] * c.volume):
            bad.append(f"{label}: qalys {c.qalys} do not match qaly_gain × quality × volume")
        is_new = offer["incumbent_volume"] <= 0
        if bool(c.new) != is_new:
            bad.append(f"{label}: new={c.new} but incumbent_volume is {offer['incumbent_volume']}")
        units = population / levels.at[c.level, "population"]
        if not _close(c.transaction_cost, levels.at[c.level, "transaction_cost"] * units):
            bad.append(f"{label}: transaction cost {c.transaction_cost} ≠ tc × units")
        if not _close(c.setup_cost, offer["setup_cost"] if is_new else 0.0):
            bad.append(f"{label}: setup cost {c.setup_cost} does not match the offer")
        if on("min_share") and not _le(service["min_share"] * demand_at(c.service, c.level),
                                       c.volume):
            bad.append(f"{label}: volume {c.volume:g} below the minimum share "
                       f"{service['min_share']:g} of demand")

    # Each service: one level, demand met in full, quality and choice rules.
    plan_services = plan.services.set_index("service")
    by_service = {s: g for s, g in contracts.groupby("service")}
    for service_id, service in services.iterrows():
        group = by_service.get(service_id, contracts.iloc[0:0])
        used_levels = set(group["level"])
        if len(used_levels) > 1:
            bad.append(f"service {service_id}: contracts at several levels {sorted(used_levels)}")
            continue
        commissioned = bool(plan_services.at[service_id, "commissioned"])
        if service["demand"] <= 0:
            continue
        if on("mandatory") and service["mandatory"] and not commissioned:
            bad.append(f"service {service_id}: mandatory but not commissioned")
        if not commissioned:
            if len(group):
                bad.append(f"service {service_id}: contracts but reported not commissioned")
            continue
        level = plan_services.at[service_id, "level"]
        if used_levels and level not in used_levels:
            bad.append(f"service {service_id}: reported at {level} but contracted at "
                       f"{used_levels.pop()}")
        demand = demand_at(service_id, level)
        volume = float(group["volume"].sum())
        if not _close(volume, demand):
            bad.append(f"service {service_id}: volume {volume:g} ≠ demand {demand:g} at {level}")
        if on("avg_quality") and service["min_avg_quality"] > 0:
            weighted = float((group["quality"] * group["volume"]).sum())
            if not _le(service["min_avg_quality"] * volume, weighted):
                bad.append(f"service {service_id}: average quality {weighted / volume:.4f} "
                           f"below {service['min_avg_quality']:g}")
        n = len(group)
        if on("min_providers") and n < service["min_providers"]:
            bad.append(f"service {service_id}: {n} providers, fewer than min_providers "
                       f"{service['min_providers']:g}")
        if on("max_providers") and not math.isnan(service["max_providers"]) \
                and n > service["max_providers"]:
            bad.append(f"service {service_id}: {n} providers, more than max_providers "
                       f"{service['max_providers']:g}")
        if on("headroom") and service["choice_headroom"] > 0:
            caps = [offers.at[(p, service_id), "capacity"] for p in group["provider"]]
            contracted = sum(math.inf if math.isnan(cap) else cap for cap in caps)
            needed = (1 + service["choice_headroom"]) * demand
            if not _le(needed, contracted):
                bad.append(f"service {service_id}: contracted capacity {contracted:g} below "
                           f"demand plus headroom {needed:g}")

    # Offer and provider capacities, provider use and break-even.
    if on("offer_capacity"):
        for (p, s), volume in contracts.groupby(["provider", "service"])["volume"].sum().items():
            cap = offers.at[(p, s), "capacity"]
            if not math.isnan(cap) and not _le(volume, cap):
                bad.append(f"offer {p}/{s}: volume {volume:g} above capacity {cap:g}")
    plan_providers = plan.providers.set_index("provider")
    income = contracts.groupby("provider")["spend"].sum()
    volume_by_provider = contracts.groupby("provider")["volume"].sum()
    for provider_id, provider in providers.iterrows():
        used = bool(plan_providers.at[provider_id, "used"])
        volume = float(volume_by_provider.get(provider_id, 0.0))
        if volume > ABS_TOL and not used:
            bad.append(f"provider {provider_id}: has activity but is reported unused")
        if used and volume <= 0:
            bad.append(f"provider {provider_id}: reported used but has no activity")
        if on("provider_capacity") and not math.isnan(provider["total_capacity"]):
            mine = contracts.loc[contracts["provider"] == provider_id]
            use = sum(offers.at[(provider_id, s), "capacity_use"] * v
                      for s, v in zip(mine["service"], mine["volume"]))
            if not _le(use, provider["total_capacity"]):
                bad.append(f"provider {provider_id}: uses {use:g} of total_capacity "
                           f"{provider['total_capacity']:g}")
        if on("min_income") and used and provider["min_income"] > 0:
            got = float(income.get(provider_id, 0.0))
            if not _le(provider["min_income"], got):
                bad.append(f"provider {provider_id}: income £{got:,.2f} below its break-even "
                           f"£{provider['min_income']:,.2f}")

    # Totals, budget, management cost, levels.
    activity = float((contracts["price"] * contracts["volume"]).sum())
    transaction = float(contracts["transaction_cost"].sum())
    setup = float(contracts["setup_cost"].sum())
    used_flags = plan_providers["used"].reindex(providers.index).fillna(False).astype(bool)
    entry = float(providers.loc[used_flags & ~providers["incumbent"], "entry_cost"].sum())
    exit_ = float(providers.loc[~used_flags & providers["incumbent"], "exit_cost"].sum())
    spend = activity + transaction + setup + entry + exit_
    qalys = float(contracts["qalys"].sum())
    risk = 0.0
    for service_id, row in plan_services.loc[plan_services["commissioned"]].iterrows():
        service = services.loc[service_id]
        rate = service["demand"] / population
        sd = (mean_price(service_id) * math.sqrt(rate * (1 + service["cost_cv"] ** 2))
              * population / math.sqrt(levels.at[row["level"], "population"]))
        risk += policy.risk_aversion * sd
    expected = {"activity_spend": activity, "transaction_costs": transaction,
                "setup_costs": setup, "entry_costs": entry, "exit_costs": exit_,
                "spend": spend, "qalys": qalys, "risk_cost": risk,
                "net_benefit": policy.value_per_qaly * qalys - spend}
    for key, value in expected.items():
        reported = plan.totals.get(key)
        if reported is None or not _close(reported, value):
            bad.append(f"total {key}: plan says {reported}, the data give {value}")
    objective = spend + risk - policy.value_per_qaly * qalys
    if plan.objective is not None and not _close(plan.objective, objective):
        bad.append(f"objective: plan says {plan.objective}, the data give {objective}")
    budget = instance.budget_for_year(0)
    if on("budget") and budget is not None and not _le(spend, budget):
        bad.append(f"budget: spend £{spend:,.2f} exceeds the budget £{budget:,.2f}")
    cap = policy.management_cost_cap
    if on("management_cost") and cap is not None and not _le(transaction, cap):
        bad.append(f"management cost £{transaction:,.2f} exceeds the cap £{cap:,.2f}")
    commissioned = plan_services.loc[plan_services["commissioned"]]
    for level_id, level in levels.iterrows():
        count = int((commissioned["level"] == level_id).sum())
        if on("max_services") and not math.isnan(level["max_services"]) \
                and count > level["max_services"]:
            bad.append(f"level {level_id}: {count} services, more than max_services "
                       f"{level['max_services']:g}")
        if on("delegated_budget") and not math.isnan(level["delegated_budget"]):
            mine = contracts.loc[contracts["level"] == level_id]
            cost = float((mine["spend"] + mine["transaction_cost"] + mine["setup_cost"]).sum())
            if not _le(cost, level["delegated_budget"]):
                bad.append(f"level {level_id}: £{cost:,.2f} commissioned, above its delegated "
                           f"budget £{level['delegated_budget']:,.2f}")
    return bad
