"""verify's checks of the commissioner's policies: the management cost cap, delegated budgets
and services per level, minimum contract years, and setting targets."""

from __future__ import annotations

import math

from planner.results.verify_context import Context, le


def check_levels(ctx: Context) -> None:
    """Management cost cap, services per level and delegated budgets."""
    instance, plan, bad = ctx.instance, ctx.plan, ctx.bad
    contracts = plan.contracts
    cap = instance.config.policy.management_cost_cap
    commissioned = plan.services.loc[plan.services["commissioned"]].drop_duplicates("service")
    for year in ctx.years:
        mine = contracts.loc[contracts["year"] == year]
        transaction = float(mine["transaction_cost"].sum())
        if ctx.on("management_cost") and cap is not None and not le(transaction, cap):
            bad.append(f"{year} management cost £{transaction:,.2f} exceeds the cap £{cap:,.2f}")
        for level_id, level in instance.levels.set_index("level").iterrows():
            if ctx.on("delegated_budget") and not math.isnan(level["delegated_budget"]):
                at = mine.loc[mine["level"] == level_id]
                cost = float((at["spend"] + at["transaction_cost"] + at["setup_cost"]).sum())
                if not le(cost, level["delegated_budget"]):
                    bad.append(f"level {level_id} in {year}: £{cost:,.2f} commissioned, above its "
                               f"delegated budget £{level['delegated_budget']:,.2f}")
    for level_id, level in instance.levels.set_index("level").iterrows():
        count = int((commissioned["level"] == level_id).sum())
        if ctx.on("max_services") and not math.isnan(level["max_services"]) \
                and count > level["max_services"]:
            bad.append(f"level {level_id}: {count} services, more than max_services "
                       f"{level['max_services']:g}")


def check_contract_years(ctx: Context) -> None:
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


def check_setting_targets(ctx: Context) -> None:
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
            if not le(share * total, shifted):
                ctx.bad.append(f"setting target #{number} in {year}: {shifted:g} of {total:g} "
                               f"{target.category} episodes in {'/'.join(target.settings)}, below "
                               f"{share:.0%}")

