"""verify's checks of money: providers (capacity, break-even income, entry and exit), the one-off
costs, every total of the plan, and the budget rule (annual, carry forward, multi-year)."""

from __future__ import annotations

import math

from planner.results import verify_payment as pay
from planner.results.verify_context import Context, close, le
from planner.rules import (
    ABS_TOL,
    MULTI_YEAR_OVERSPEND,
    NOTICE_SHARE,
)


def check_providers(ctx: Context) -> None:
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
                if not le(use, provider["total_capacity"]):
                    bad.append(f"{label}: uses {use:g} of total_capacity {provider['total_capacity']:g}")
            if ctx.on("min_income") and used and provider["min_income"] > 0:
                got = float(income.get((provider_id, year), 0.0))
                floor = provider["min_income"] * ctx.price_factor(ctx.t(year))
                if not le(floor, got):
                    bad.append(f"{label}: income £{got:,.2f} below its break-even £{floor:,.2f}")


def _one_off_costs(ctx: Context) -> dict[int, dict[str, float]]:
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


def check_totals(ctx: Context) -> dict[int, float]:
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
            if reported and (reported.get(key) is None or not close(reported[key], value)):
                bad.append(f"{year} total {key}: plan says {reported.get(key)}, the data give {value}")
    for key, value in horizon.items():
        if key in plan.totals and (plan.totals[key] is None or not close(plan.totals[key], value)):
            bad.append(f"total {key}: plan says {plan.totals[key]}, the data give {value}")
    objective = horizon["spend"] + horizon["risk_cost"] - policy.value_per_qaly * horizon["qalys"]
    from planner.results.verify_areas import equity_qalys  # areas' equity weights (issue 17)

    objective -= policy.value_per_qaly * equity_qalys(ctx)
    if plan.objective is not None and not close(plan.objective, objective):
        bad.append(f"objective: plan says {plan.objective}, the data give {objective}")
    return spend_by_year


def check_budget(ctx: Context, spend: dict[int, float]) -> None:
    """Commissioner break-even under the policy's regime."""
    if not ctx.on("budget") or ctx.budget(0) is None:
        return
    regime = ctx.instance.config.policy.break_even if len(ctx.years) > 1 else "annual"
    budgets = [ctx.budget(t) for t in range(len(ctx.years))]
    from planner.results.verify_areas import la_paid  # pooled LA money (issue 17)

    budgets = [budget + la_paid(ctx, t) for t, budget in enumerate(budgets)]
    spends = [spend[year] for year in ctx.years]
    if regime == "annual":
        for year, cost, budget in zip(ctx.years, spends, budgets):
            if not le(cost, budget):
                bad = f"budget: spend £{cost:,.2f} exceeds the budget £{budget:,.2f}"
                ctx.bad.append(bad if len(ctx.years) == 1 else f"{year} {bad}")
    elif regime == "carry_forward":
        available = 0.0  # last year's underspend; a year's own budget is spent first
        for year, cost, budget in zip(ctx.years, spends, budgets):
            if not le(cost, budget + available):
                ctx.bad.append(f"{year} budget: spend £{cost:,.2f} exceeds the budget £{budget:,.2f}"
                               f" plus £{available:,.2f} carried from the year before")
            available = max(0.0, budget - cost)
    else:
        window = min(ctx.instance.config.policy.break_even_window, len(ctx.years))
        for start in range(len(ctx.years) - window + 1):
            total, limit = sum(spends[start:start + window]), sum(budgets[start:start + window])
            if not le(total, limit):
                ctx.bad.append(f"budget {ctx.years[start]}–{ctx.years[start + window - 1]}: spend "
                               f"£{total:,.2f} exceeds the budgets £{limit:,.2f}")
        for year, cost, budget in zip(ctx.years, spends, budgets):
            if not le(cost, (1 + MULTI_YEAR_OVERSPEND) * budget):
                ctx.bad.append(f"{year} budget: spend £{cost:,.2f} more than 2 % over £{budget:,.2f}")

