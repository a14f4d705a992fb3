"""verify's recheck of areas (issue 17), from the raw tables and the plan's decisions only.

From areas.csv, area_demand.csv, services, offers, levels and the policy (never derive, the
model or the plan's areas.csv / funders.csv), with δ_sa each area's share of a service's demand
(area_demand.csv's, else P_a·N_a / Σ P·N) and V the plan's episodes by contract:

* each contract's area episodes (area_contracts.csv) add up to its volume;
* no episode goes to an area the offer cannot serve (offers.areas);
* a fully covered service gives each area δ_sa × its volume; a partly covered one gives area a
  at most δ_sa × its demand D_s,l,t and, with min_area_coverage μ_s, at least μ_s·δ_sa·D_s,l,t;
* with policy.fair_share_band β, each area's spend S_a = Σ episodes × the contract's price lies
  in [(1 − β)·w_a·S, (1 + β)·w_a·S] (w_a the need share, S all areas' spend);
* the local authority pays min(la_contribution_t, the pooled levels' activity and contract
  costs): :func:`la_paid`, which the budget check adds to the budget.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from planner.rules import agrees, within

if TYPE_CHECKING:
    from planner.results.verify_context import Context


def _active(ctx: Context) -> bool:
    instance, policy = ctx.instance, ctx.instance.config.policy
    money = policy.la_contribution
    return (not instance.areas.empty or policy.fair_share_band is not None
            or any(v > 0 for v in (money if isinstance(money, list) else [money]))
            or bool((instance.services["min_area_coverage"] > 0).any()))


def _areas(ctx: Context) -> pd.DataFrame:
    areas = ctx.instance.areas
    if areas.empty:
        return pd.DataFrame({"area": ["all"], "weight": [float(ctx.instance.config.population)]})
    return pd.DataFrame({"area": areas["area"], "weight": areas["population"]
                         * areas["need_index"]})


def _share(ctx: Context, areas: pd.DataFrame) -> dict[tuple[str, str], float]:
    """(service, area) -> δ_sa, from the raw tables."""
    need = dict(zip(areas["area"], areas["weight"] / areas["weight"].sum()))
    out = {(s, a): w for s in ctx.instance.services["service"] for a, w in need.items()}
    given = ctx.instance.area_demand
    totals = given.groupby("service")["demand"].sum()
    for service, total in totals.items():
        if total > 0:
            out.update({(service, a): 0.0 for a in need})
    for service, area, demand in zip(given["service"], given["area"], given["demand"]):
        if totals[service] > 0:
            out[service, area] = out[service, area] + float(demand) / float(totals[service])
    return out


def check_areas(ctx: Context) -> None:
    """Every area rule of the plan (see the module docstring)."""
    if not _active(ctx):
        return
    plan, bad = ctx.plan, ctx.bad
    by_area = getattr(plan, "area_contracts", None)
    if by_area is None:
        bad.append("areas: the instance has areas but the plan gives no episodes by area")
        return
    areas = _areas(ctx)
    share = _share(ctx, areas)
    contracts = plan.contracts
    keys = ["service", "level", "provider", "year"]
    total = by_area.groupby(keys)["volume"].sum()
    for c in contracts.itertuples(index=False):
        got = float(total.get((c.service, c.level, c.provider, c.year), 0.0))
        if not agrees(got, float(c.volume)):
            bad.append(f"areas: contract {c.service}/{c.level}/{c.provider} {c.year}: episodes by "
                       f"area add up to {got:g}, not its volume {c.volume:g}")
    offers = ctx.instance.offers
    access = {(p, s): set(a) for p, s, a in zip(offers["provider"], offers["service"],
                                                offers["areas"]) if len(a)}
    for row in by_area.itertuples(index=False):
        allowed = access.get((row.provider, row.service))
        if allowed is not None and row.area not in allowed and row.volume > 0:
            bad.append(f"areas: {row.provider} serves {row.service} in {row.area}, which its offer "
                       f"does not cover (offers.areas: {';'.join(sorted(allowed))})")
    _coverage(ctx, by_area, share)
    _fair_share(ctx, by_area, areas)


def _coverage(ctx: Context, by_area: pd.DataFrame, share: dict[tuple[str, str], float]) -> None:
    services = ctx.instance.services.set_index("service")
    volume = ctx.plan.contracts.groupby(["service", "year"])["volume"].sum()
    level = ctx.plan.contracts.groupby(["service", "year"])["level"].first()
    in_area = by_area.groupby(["service", "area", "year"])["volume"].sum()
    for (service, area), delta in share.items():
        for year in ctx.years:
            if (service, year) not in level.index:
                continue
            got = float(in_area.get((service, area, year), 0.0))
            if services.at[service, "min_coverage"] >= 1 - 1e-12:
                want = delta * float(volume[service, year])
                if not agrees(got, want):
                    bad = f"{delta:.6g} × its volume {float(volume[service, year]):g} = {want:g}"
                    ctx.bad.append(f"areas: {service} {year} gives {area} {got:g} episodes, not "
                                   f"its share {bad}")
                continue
            demand = delta * ctx.demand(service, level[service, year], ctx.t(year))
            floor = float(services.at[service, "min_area_coverage"])
            if not within(got, demand):
                ctx.bad.append(f"areas: {service} {year} gives {area} {got:g} episodes, more than "
                               f"its demand there {demand:g}")
            if ctx.on("area_coverage") and floor > 0 and not within(floor * demand, got):
                ctx.bad.append(f"area_coverage: {service} {year} covers {got:g} of {area}'s "
                               f"{demand:g} episodes, below min_area_coverage {floor:g}")


def _fair_share(ctx: Context, by_area: pd.DataFrame, areas: pd.DataFrame) -> None:
    band = ctx.instance.config.policy.fair_share_band
    if band is None or not ctx.on("fair_share"):
        return
    price = ctx.plan.contracts.set_index(["service", "level", "provider", "year"])["price"]
    key = pd.MultiIndex.from_frame(by_area[["service", "level", "provider", "year"]])
    spend = by_area.assign(spend=by_area["volume"].to_numpy() * price.reindex(key).to_numpy())
    need = dict(zip(areas["area"], areas["weight"] / areas["weight"].sum()))
    for year in ctx.years:
        mine = spend.loc[spend["year"] == year].groupby("area")["spend"].sum()
        whole = float(mine.sum())
        for area, w in need.items():
            got = float(mine.get(area, 0.0))
            low, high = (1 - band) * w * whole, (1 + band) * w * whole
            if not (within(low, got) and within(got, high)):
                ctx.bad.append(f"fair_share: {area} {year} spends £{got:,.2f}, outside "
                               f"[£{low:,.2f}, £{high:,.2f}] (±{band:g} of its need share "
                               f"{w:.4g} of £{whole:,.2f})")


def la_paid(ctx: Context, t: int) -> float:
    """£ the local authority pays in year index t: min(la_contribution_t, pooled levels' spend)."""
    money = ctx.instance.config.policy.la_contribution
    limit = float(money[t] if isinstance(money, list) else money)
    if limit <= 0:
        return 0.0
    levels = ctx.instance.levels
    pooled = set(levels.loc[levels["pooled"] | (levels["level"] == "joint_la"), "level"])
    contracts = ctx.plan.contracts
    mine = contracts.loc[(contracts["year"] == ctx.years[t]) & contracts["level"].isin(pooled)]
    running = float(np.sum(mine["volume"] * mine["price"]) + mine["transaction_cost"].sum())
    return min(limit, running)


def equity_qalys(ctx: Context) -> float:
    """QALYs the areas' qaly_weight adds to the objective: Σ episodes in area a × the offer's
    QALYs per episode (qaly_gain × quality) × (W_a − 1), over the horizon (0 without weights)."""
    areas = ctx.instance.areas
    by_area = getattr(ctx.plan, "area_contracts", None)
    if areas.empty or by_area is None or not (areas["qaly_weight"] != 1).any():
        return 0.0
    weight = dict(zip(areas["area"], areas["qaly_weight"].astype(float)))
    gain = ctx.instance.services.set_index("service")["qaly_gain"]
    quality = ctx.instance.offers.set_index(["provider", "service"])["quality"]
    per_episode = gain.reindex(by_area["service"]).to_numpy() * quality.reindex(
        pd.MultiIndex.from_frame(by_area[["provider", "service"]])).to_numpy()
    extra = by_area["area"].map(weight).to_numpy(float) - 1.0
    return float(np.nansum(by_area["volume"].to_numpy(float) * per_episode * extra))
