"""Independent verification: recheck a plan against every rule, from the raw instance tables.

This module deliberately does not use :mod:`planner.derive`, the formulation or the extraction
code: it recomputes prices (with yearly price change), eligibility (allowed levels, the
risk-pooling CV rule, conflicts, quality thresholds), demand at the chosen level (with level
effects and growth), one-off costs (set-up, entry, exit, notice) and every total straight from
the instance and the plan's decisions, so a bug upstream shows as a violation, not a wrong plan.

It trusts none of the plan's derived columns: average quality comes from the offers, a
provider is used when it holds a contract (so entry and exit costs follow the contracts), and a
let contract must carry activity. Only the decisions (levels, contracts and their volumes) are
taken from the plan.

Tolerances (docs/outputs.md, constants in :mod:`planner.rules`): a quantity passes if within
``ABS_TOL + REL_TOL × max(1, |reference|)`` of its limit, ABS_TOL = 1e-3 (episodes or £) and
REL_TOL = 1e-8 (£5.50 on a £550m budget). They absorb solver feasibility tolerances and the
6-decimal rounding of written volumes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from planner import verify_payment as pay
from planner.instance import Instance
from planner.rules import (
    ABS_TOL,
    MIN_CONTRACT_VOLUME,
    MULTI_YEAR_OVERSPEND,
    NOTICE_SHARE,
    REL_TOL,
    VOLUME_TOL,
)


def _tol(reference: float) -> float:
    return ABS_TOL + REL_TOL * max(1.0, abs(reference))


def _le(value: float, limit: float) -> bool:
    return value <= limit + _tol(limit)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= _tol(max(abs(a), abs(b)))


@dataclass
class _Context:
    instance: Instance
    plan: object
    without: frozenset[str]
    bad: list[str]

    def on(self, family: str) -> bool:
        return family not in self.without

    @property
    def years(self) -> list[int]:
        base, horizon = self.instance.config.base_year, self.instance.config.horizon
        return [base + t for t in range(horizon)]

    def t(self, year: int) -> int:
        return int(year) - self.instance.config.base_year

    def budget(self, t: int) -> float | None:
        budget = self.instance.config.policy.budget
        return budget[t] if isinstance(budget, list) else budget

    def price_factor(self, t: int) -> float:
        return (1.0 + self.instance.config.policy.price_change) ** t

    @cached_property
    def _services(self) -> dict[str, tuple[float, str, float]]:
        """service -> (demand in episodes, category, yearly growth), read once."""
        default = self.instance.config.policy.demand_growth
        services = self.instance.services
        return {s: (float(d), c, default if math.isnan(g) else float(g)) for s, d, c, g in zip(
            services["service"], services["demand"], services["category"], services["growth"])}

    @cached_property
    def _demand_factors(self) -> dict[tuple[str, str], float]:
        """(level, category) -> demand_factor (the first row, as the data give it)."""
        effects = self.instance.level_effects
        factors: dict[tuple[str, str], float] = {}
        for level, category, factor in zip(effects["level"], effects["category"],
                                           effects["demand_factor"]):
            factors.setdefault((level, category), float(factor))
        return factors

    @cached_property
    def _offer_counts(self) -> dict[str, int]:
        return self.instance.offers["service"].value_counts().to_dict()

    def offers_of(self, service: str) -> int:
        """Offers of a service: at least its contracts at any one level."""
        return int(self._offer_counts.get(service, 0))

    def growth(self, service: str) -> float:
        return self._services[service][2]

    def demand(self, service: str, level: str, t: int) -> float:
        demand, category, growth = self._services[service]
        factor = self._demand_factors.get((level, category), 1.0)
        return demand * factor * (1.0 + growth) ** t


def verify(instance: Instance | str | Path, plan,
           without: frozenset[str] | set[str] | None = None) -> list[str]:
    """Return every violated rule of ``plan`` (empty when the plan is right).

    ``without`` names constraint families switched off for the solve (default: the plan's own
    options); those rules are not checked.
    """
    if isinstance(instance, (str, Path)):
        from planner.instance import load_instance

        instance = load_instance(instance)
    if not plan.has_solution:
        return []
    foreign = _foreign_ids(instance, plan)
    if foreign:
        return [f"the plan names {foreign} that this instance does not have: it answers another "
                f"instance ('{plan.instance.name}'), not '{instance.name}'"]
    if without is None:
        without = frozenset(plan.options.get("without", ()))
    ctx = _Context(instance, plan, frozenset(without), [])
    _check_contracts(ctx)
    _check_services(ctx)
    _check_providers(ctx)
    spend_by_year = _check_totals(ctx)
    _check_budget(ctx, spend_by_year)
    _check_levels(ctx)
    _check_contract_years(ctx)
    _check_setting_targets(ctx)
    pay.check_payments(ctx)  # issue 16: blocks, bundles, guarantees
    return ctx.bad


def _foreign_ids(instance: Instance, plan) -> str:
    """Service and provider ids of the plan's tables missing from ``instance`` ('' if none)."""
    parts = []
    for table, column in (("services", "service"), ("providers", "provider")):
        known = set(getattr(instance, table)[column])
        missing = sorted(set(getattr(plan, table)[column]) - known)
        if missing:
            parts.append(f"{table} {', '.join(map(str, missing[:5]))}"
                         + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
    return "; ".join(parts)


def _check_contracts(ctx: _Context) -> None:
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
        if not _close(c.price, price):
            bad.append(f"{label}: price {c.price:g} but the data give {price:g}")
        if c.volume < -ABS_TOL:
            bad.append(f"{label}: negative volume {c.volume}")
        least = _least_volume(ctx, c, offer, service, levels.at[c.level, "transaction_cost"])
        if c.volume <= 0 or c.volume < least - _tol(least):
            bad.append(f"{label}: a let contract with {c.volume:g} episodes (at least "
                       f"{max(least, 0):g}): an empty contract is choice on paper only")
        if not _close(c.spend, price * c.volume):
            bad.append(f"{label}: spend {c.spend} ≠ price × volume {price * c.volume}")
        if not _close(c.quality, offer["quality"]):
            bad.append(f"{label}: quality {c.quality:g} but the offer's is {offer['quality']:g}")
        if not _close(c.qalys, service["qaly_gain"] * offer["quality"] * c.volume):
            bad.append(f"{label}: qalys {c.qalys} do not match qaly_gain × quality × volume")
        is_new = offer["incumbent_volume"] <= 0
        if bool(c.new) != is_new:
            bad.append(f"{label}: new={c.new} but incumbent_volume is {offer['incumbent_volume']}")
        units = population / levels.at[c.level, "population"]
        if not _close(c.transaction_cost, levels.at[c.level, "transaction_cost"] * units):
            bad.append(f"{label}: transaction cost {c.transaction_cost} ≠ tc × units")
        starts = t == 0 or (c.service, c.level, c.provider, c.year - 1) not in running
        setup = offer["setup_cost"] if is_new and starts else 0.0
        if not _close(c.setup_cost, setup):
            bad.append(f"{label}: setup cost {c.setup_cost} but the data give {setup}")
        if ctx.on("min_share") and not _le(service["min_share"] * ctx.demand(c.service, c.level, t),
                                           c.volume):
            bad.append(f"{label}: volume {c.volume:g} below the minimum share "
                       f"{service['min_share']:g} of demand")
    if ctx.on("offer_capacity"):
        volume = contracts.groupby(["provider", "service", "year"])["volume"].sum()
        for (p, s, year), total in volume.items():
            cap = offers.at[(p, s), "capacity"]
            if not math.isnan(cap) and not _le(total, cap):
                bad.append(f"offer {p}/{s} in {year}: volume {total:g} above capacity {cap:g}")


def _least_volume(ctx: _Context, c, offer, service, transaction_cost: float) -> float:
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


def _check_services(ctx: _Context) -> None:
    """Each service: one level for the horizon, demand met in full, quality and choice rules."""
    instance, bad = ctx.instance, ctx.bad
    offers = instance.offers.set_index(["provider", "service"])
    contracts = ctx.plan.contracts
    reported = ctx.plan.services.set_index(["service", "year"])
    groups = {key: g for key, g in contracts.groupby(["service", "year"])}
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
            if not _close(volume, demand):
                bad.append(f"{label}: volume {volume:g} ≠ demand {demand:g} at {level}")
            if ctx.on("avg_quality") and service["min_avg_quality"] > 0:
                quality = [offers.at[(p, service_id), "quality"] if form != "bundle" else
                           ctx.instance.bundles.set_index("bundle").at[b, "quality"]
                           for p, form, b in zip(group["provider"], pay.payment_of(group),
                                                 group.get("bundle", [""] * len(group)))]
                weighted = float((group["volume"].to_numpy() * quality).sum())  # from the data
                if not _le(service["min_avg_quality"] * volume, weighted):
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
                if not _le(needed, contracted):
                    bad.append(f"{label}: contracted capacity {contracted:g} below demand plus "
                               f"headroom {needed:g}")


def _check_providers(ctx: _Context) -> None:
    """Provider use, shared capacity and break-even income, by year."""
    instance, bad = ctx.instance, ctx.bad
    offers = instance.offers.set_index(["provider", "service"])
    contracts = ctx.plan.contracts
    reported = ctx.plan.providers.set_index(["provider", "year"])
    income = contracts.groupby(["provider", "year"])["spend"].sum()
    volume = contracts.groupby(["provider", "year"])["volume"].sum()
    for provider_id, provider in instance.providers.set_index("provider").iterrows():
        for year in ctx.years:
            label = f"provider {provider_id} in {year}"
            used = bool(reported.at[(provider_id, year), "used"])
            delivered = float(volume.get((provider_id, year), 0.0))
            if (provider_id, year) in volume.index and not used:
                bad.append(f"{label}: holds a contract but is reported unused (a provider with "
                           "any contract is used, and pays its entry cost)")
            if used and delivered <= 0:
                bad.append(f"{label}: reported used but has no activity")
            if ctx.on("provider_capacity") and not math.isnan(provider["total_capacity"]):
                mine = contracts.loc[(contracts["provider"] == provider_id) & (contracts["year"] == year)
                                     & (pay.payment_of(contracts) != "bundle")]
                use = sum(offers.at[(provider_id, s), "capacity_use"] * v
                          for s, v in zip(mine["service"], mine["volume"]))
                if not _le(use, provider["total_capacity"]):
                    bad.append(f"{label}: uses {use:g} of total_capacity {provider['total_capacity']:g}")
            if ctx.on("min_income") and used and provider["min_income"] > 0:
                got = float(income.get((provider_id, year), 0.0))
                floor = provider["min_income"] * ctx.price_factor(ctx.t(year))
                if not _le(floor, got):
                    bad.append(f"{label}: income £{got:,.2f} below its break-even £{floor:,.2f}")


def _one_off_costs(ctx: _Context) -> dict[int, dict[str, float]]:
    """Entry, exit and notice costs by year, from the contracts alone (£).

    A provider is used in a year when it holds a contract then; notice is the running maximum of
    an incumbent offer's shortfall, charged in the year it grows (MODEL §3)."""
    instance = ctx.instance
    contracts = ctx.plan.contracts
    # used = holds a contract that year, from the contracts, not the plan's own "used" column
    holding = set(zip(contracts["provider"], contracts["year"]))
    tariff = instance.services.set_index("service")["tariff"]
    out = {year: {"entry_costs": 0.0, "exit_costs": 0.0, "notice_costs": 0.0} for year in ctx.years}
    for provider in instance.providers.itertuples(index=False):
        before = bool(provider.incumbent)
        for year in ctx.years:
            used = (provider.provider, year) in holding
            if used and not before and not provider.incumbent:
                out[year]["entry_costs"] += provider.entry_cost
            if before and not used and provider.incumbent:
                out[year]["exit_costs"] += provider.exit_cost
            before = used
    if len(ctx.years) > 1:
        activity = contracts.loc[pay.payment_of(contracts) != "bundle"]
        volume = activity.groupby(["provider", "service", "year"])["volume"].sum()
        for offer in instance.offers.loc[(instance.offers["incumbent_volume"] > 0)
                                         & (instance.offers["payment"] == "activity")].itertuples():
            base = tariff.get(offer.service)
            base = offer.price if base is None or math.isnan(base) else base
            base *= pay.withhold_factor(ctx, offer.quality)
            noticed = 0.0  # episodes given notice so far: the largest shortfall yet
            for year in ctx.years:
                short = offer.incumbent_volume - float(volume.get((offer.provider, offer.service,
                                                                   year), 0.0))
                if short > noticed + ABS_TOL:
                    out[year]["notice_costs"] += (NOTICE_SHARE * (short - noticed) * base
                                                  * ctx.price_factor(ctx.t(year)))
                    noticed = short
        pay.block_notice(ctx, out)  # issue 16: an incumbent block that ends
    return out


def _check_totals(ctx: _Context) -> dict[int, float]:
    """Recompute spend, QALYs, risk cost and the objective, by year and in total."""
    instance, plan, bad = ctx.instance, ctx.plan, ctx.bad
    policy = instance.config.policy
    population = instance.config.population
    levels = instance.levels.set_index("level")
    services = instance.services.set_index("service")
    contracts = plan.contracts
    one_off = _one_off_costs(ctx)
    level_of = plan.services.loc[plan.services["commissioned"]].drop_duplicates("service") \
        .set_index("service")["level"]
    horizon: dict[str, float] = {}
    spend_by_year = {}
    bundled = pay.bundled_keys(ctx)  # a bundle's provider bears its services' volume risk
    for year in ctx.years:
        t = ctx.t(year)
        mine = contracts.loc[contracts["year"] == year]
        risk = 0.0
        for service_id, level in level_of.items():
            if (service_id, year) in bundled:
                continue
            service = services.loc[service_id]
            tariff = service["tariff"]
            prices = instance.offers.loc[instance.offers["service"] == service_id, "price"]
            mean_price = tariff if not math.isnan(tariff) else (prices.mean() if len(prices) else 0.0)
            mean_price = 0.0 if math.isnan(mean_price) else mean_price  # block offers: no price
            rate = service["demand"] * (1 + ctx.growth(service_id)) ** t / population
            sd = (mean_price * ctx.price_factor(t) * math.sqrt(rate * (1 + service["cost_cv"] ** 2))
                  * population / math.sqrt(levels.at[level, "population"]))
            risk += policy.risk_aversion * sd
        paid = pay.payment_totals(ctx, year)
        activity = mine.loc[pay.payment_of(mine) == "activity"]
        values = {"activity_spend": float((activity["price"] * activity["volume"]).sum()), **paid,
                  "transaction_costs": float(mine["transaction_cost"].sum()),
                  "setup_costs": float(mine["setup_cost"].sum()), **one_off[year],
                  "qalys": float(mine["qalys"].sum()), "risk_cost": risk}
        values["spend"] = sum(values[k] for k in ("activity_spend", "transaction_costs",
                                                  "setup_costs", "entry_costs", "exit_costs",
                                                  "notice_costs", *paid))
        values["net_benefit"] = policy.value_per_qaly * values["qalys"] - values["spend"]
        spend_by_year[year] = values["spend"]
        reported = plan.totals_by_year.get(str(year), {})
        for key, value in values.items():
            horizon[key] = horizon.get(key, 0.0) + value
            if reported and (reported.get(key) is None or not _close(reported[key], value)):
                bad.append(f"{year} total {key}: plan says {reported.get(key)}, the data give {value}")
    for key, value in horizon.items():
        if key in plan.totals and (plan.totals[key] is None or not _close(plan.totals[key], value)):
            bad.append(f"total {key}: plan says {plan.totals[key]}, the data give {value}")
    objective = horizon["spend"] + horizon["risk_cost"] - policy.value_per_qaly * horizon["qalys"]
    if plan.objective is not None and not _close(plan.objective, objective):
        bad.append(f"objective: plan says {plan.objective}, the data give {objective}")
    return spend_by_year


def _check_budget(ctx: _Context, spend: dict[int, float]) -> None:
    """Commissioner break-even under the policy's regime."""
    if not ctx.on("budget") or ctx.budget(0) is None:
        return
    regime = ctx.instance.config.policy.break_even if len(ctx.years) > 1 else "annual"
    budgets = [ctx.budget(t) for t in range(len(ctx.years))]
    spends = [spend[year] for year in ctx.years]
    if regime == "annual":
        for year, cost, budget in zip(ctx.years, spends, budgets):
            if not _le(cost, budget):
                bad = f"budget: spend £{cost:,.2f} exceeds the budget £{budget:,.2f}"
                ctx.bad.append(bad if len(ctx.years) == 1 else f"{year} {bad}")
    elif regime == "carry_forward":
        available = 0.0  # last year's underspend; a year's own budget is spent first
        for year, cost, budget in zip(ctx.years, spends, budgets):
            if not _le(cost, budget + available):
                ctx.bad.append(f"{year} budget: spend £{cost:,.2f} exceeds the budget £{budget:,.2f}"
                               f" plus £{available:,.2f} carried from the year before")
            available = max(0.0, budget - cost)
    else:
        window = min(ctx.instance.config.policy.break_even_window, len(ctx.years))
        for start in range(len(ctx.years) - window + 1):
            total, limit = sum(spends[start:start + window]), sum(budgets[start:start + window])
            if not _le(total, limit):
                ctx.bad.append(f"budget {ctx.years[start]}–{ctx.years[start + window - 1]}: spend "
                               f"£{total:,.2f} exceeds the budgets £{limit:,.2f}")
        for year, cost, budget in zip(ctx.years, spends, budgets):
            if not _le(cost, (1 + MULTI_YEAR_OVERSPEND) * budget):
                ctx.bad.append(f"{year} budget: spend £{cost:,.2f} more than 2 % over £{budget:,.2f}")


def _check_levels(ctx: _Context) -> None:
    """Management cost cap, services per level and delegated budgets."""
    instance, plan, bad = ctx.instance, ctx.plan, ctx.bad
    contracts = plan.contracts
    cap = instance.config.policy.management_cost_cap
    commissioned = plan.services.loc[plan.services["commissioned"]].drop_duplicates("service")
    for year in ctx.years:
        mine = contracts.loc[contracts["year"] == year]
        transaction = float(mine["transaction_cost"].sum())
        if ctx.on("management_cost") and cap is not None and not _le(transaction, cap):
            bad.append(f"{year} management cost £{transaction:,.2f} exceeds the cap £{cap:,.2f}")
        for level_id, level in instance.levels.set_index("level").iterrows():
            if ctx.on("delegated_budget") and not math.isnan(level["delegated_budget"]):
                at = mine.loc[mine["level"] == level_id]
                cost = float((at["spend"] + at["transaction_cost"] + at["setup_cost"]).sum())
                if not _le(cost, level["delegated_budget"]):
                    bad.append(f"level {level_id} in {year}: £{cost:,.2f} commissioned, above its "
                               f"delegated budget £{level['delegated_budget']:,.2f}")
    for level_id, level in instance.levels.set_index("level").iterrows():
        count = int((commissioned["level"] == level_id).sum())
        if ctx.on("max_services") and not math.isnan(level["max_services"]) \
                and count > level["max_services"]:
            bad.append(f"level {level_id}: {count} services, more than max_services "
                       f"{level['max_services']:g}")


def _check_contract_years(ctx: _Context) -> None:
    """A contract awarded in year t runs at least min_contract_years (within the horizon)."""
    years = ctx.instance.config.policy.min_contract_years
    if len(ctx.years) == 1 or years <= 1:
        return
    contracts = ctx.plan.contracts
    new = ctx.instance.offers.set_index(["provider", "service"])["incumbent_volume"] <= 0
    running = set(zip(contracts["service"], contracts["level"], contracts["provider"],
                      contracts["year"]))
    for service, level, provider, year in sorted(running):
        t = ctx.t(year)
        awarded = (t > 0 and (service, level, provider, year - 1) not in running) or \
            (t == 0 and bool(new.get((provider, service), True)))
        if not awarded:
            continue
        for later in range(year + 1, min(year + years, ctx.years[-1] + 1)):
            if (service, level, provider, later) not in running:
                ctx.bad.append(f"contract {service}/{level}/{provider} awarded in {year} ends before "
                               f"{years} years (missing in {later})")
                break


def _check_setting_targets(ctx: _Context) -> None:
    targets = ctx.instance.config.policy.setting_targets
    if not targets or not ctx.on("setting_targets"):
        return
    services = ctx.instance.services.set_index("service")
    contracts = ctx.plan.contracts.assign(
        category=lambda f: f["service"].map(services["category"]),
        setting=lambda f: f["service"].map(services["setting"]))
    for number, target in enumerate(targets, start=1):
        shares = target.min_share if isinstance(target.min_share, list) \
            else [target.min_share] * len(ctx.years)
        for year, share in zip(ctx.years, shares):
            mine = contracts.loc[(contracts["year"] == year) & (contracts["category"] == target.category)]
            total = float(mine["volume"].sum())
            shifted = float(mine.loc[mine["setting"].isin(target.settings), "volume"].sum())
            if not _le(share * total, shifted):
                ctx.bad.append(f"setting target #{number} in {year}: {shifted:g} of {total:g} "
                               f"{target.category} episodes in {'/'.join(target.settings)}, below "
                               f"{share:.0%}")


__all__ = ["verify"]
