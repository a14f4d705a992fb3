"""The plan's view of areas (issue 17): area_contracts.csv, areas.csv and funders.csv.

Why separate: extraction reads decisions only; these tables follow from the contracts' volumes
(and, for services split by area, the episodes the model gave each area), the instance's areas
and its policy, so :func:`planner.verify` can recheck the same quantities its own way. Money in
£, activity in episodes, by year.

area_contracts.csv: service, level, provider, area, year, volume, price, spend, qalys: each
  contract's episodes in each area (the model's u for split services; δ_sa × volume otherwise).
areas.csv, one row per area and year:
  population, need_index, need_weighted_population (P·N), need_share (w), demand (episodes of
  every service at its chosen level arising in the area), demand_met, coverage (met / demand),
  spend (£ activity spend attributed to the area), spend_per_head (£ per need-weighted head),
  mean_spend_per_head (all areas'), ratio_to_mean, fair_share_band, qalys, qaly_weight,
  weighted_qalys, indicative_budget (the area's budget that year: its indicative_budget plus
  the saving it kept the year before), saving (£ under it, ≥ 0), overspend (£ over it, ≥ 0),
  saving_kept (savings_retention × saving).
funders.csv, one row per year, funder and level: spend (£) paid by ``nhs`` or
  ``local_authority``. The local authority pays min(la_contribution, the pooled levels' activity
  and contract costs) first, shared across pooled levels by their spend; the NHS the rest, with
  set-up costs and the commissioner-wide entry, exit and notice costs under level ``(all)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.data.instance import Instance
from planner.derive.areas import AreaData, derive_areas, la_contributions
from planner.rules import DECIMALS, VOLUME_TOL

CONTRACT_COLUMNS = ["service", "level", "provider", "area", "year", "volume", "price", "spend",
                    "qalys"]
KEYS = ["service", "level", "provider", "year"]


def uses_areas(instance: Instance) -> bool:
    """The instance has areas.csv or an area rule (else the plan folder is as before)."""
    policy = instance.config.policy
    return (not instance.areas.empty or policy.fair_share_band is not None
            or any(v > 0 for v in la_contributions(instance))
            or bool((instance.services["min_area_coverage"] > 0).any()))


def area_contracts(data: AreaData, contracts: pd.DataFrame, split: pd.DataFrame,
                   split_services: set[str]) -> pd.DataFrame:
    """Each contract's episodes by area: ``split`` (service, level, provider, area, year, volume)
    for the services split by area, δ_sa × volume for the rest."""
    shares = data.shares.rename_axis("service").reset_index().melt(
        id_vars="service", var_name="area", value_name="share")
    whole = contracts.loc[~contracts["service"].isin(split_services)].merge(shares, on="service")
    whole = whole.assign(volume=whole["volume"] * whole["share"],  # δ_sa of each, QALYs too
                         qalys=whole["qalys"] * whole["share"]).drop(columns="share")
    per_episode = contracts.assign(qpe=contracts["qalys"] / contracts["volume"].where(
        contracts["volume"] > 0))[KEYS + ["price", "qpe"]]
    parts = split.merge(per_episode, on=KEYS, how="inner")
    parts = parts.assign(qalys=parts["volume"] * parts["qpe"].fillna(0.0))
    frame = pd.concat([whole[KEYS + ["area", "volume", "price", "qalys"]],
                       parts[KEYS + ["area", "volume", "price", "qalys"]]], ignore_index=True)
    frame = frame.loc[frame["volume"] > VOLUME_TOL].copy()
    frame["volume"] = frame["volume"].round(DECIMALS)
    frame["spend"] = frame["volume"] * frame["price"]
    order = {a: i for i, a in enumerate(data.names)}
    frame = frame.assign(_a=frame["area"].map(order)).sort_values(
        ["year", "service", "level", "provider", "_a"], kind="stable").drop(columns="_a")
    return frame[CONTRACT_COLUMNS].reset_index(drop=True)


def areas_table(instance: Instance, data: AreaData, by_area: pd.DataFrame,
                services: pd.DataFrame) -> pd.DataFrame:
    """areas.csv of the plan (see the module docstring)."""
    areas = data.areas
    years = sorted(services["year"].unique())
    frame = areas.merge(pd.DataFrame({"year": years}), how="cross")
    shares = data.shares.reindex(columns=data.names)
    demand = services.pivot_table(index="service", columns="year", values="demand",
                                  aggfunc="sum").reindex(shares.index).fillna(0.0)
    need = shares.T.to_numpy() @ demand.reindex(columns=years).to_numpy()  # areas × years
    frame["demand"] = need[frame.index // len(years), frame.index % len(years)]
    grouped = by_area.groupby(["area", "year"])[["volume", "spend", "qalys"]].sum()
    key = pd.MultiIndex.from_frame(frame[["area", "year"]])
    got = grouped.reindex(key).fillna(0.0)
    frame["demand_met"] = got["volume"].to_numpy()
    frame["coverage"] = np.where(frame["demand"] > 0, frame["demand_met"]
                                 / frame["demand"].where(frame["demand"] > 0, 1.0), np.nan)
    frame["spend"] = got["spend"].to_numpy()
    frame["spend_per_head"] = frame["spend"] / frame["need_weighted_population"]
    total = frame.groupby("year")[["spend", "need_weighted_population"]].transform("sum")
    frame["mean_spend_per_head"] = total["spend"] / total["need_weighted_population"]
    frame["ratio_to_mean"] = np.where(frame["mean_spend_per_head"] > 0, frame["spend_per_head"]
                                      / frame["mean_spend_per_head"].where(
                                          frame["mean_spend_per_head"] > 0, 1.0), np.nan)
    frame["fair_share_band"] = instance.config.policy.fair_share_band
    frame["qalys"] = got["qalys"].to_numpy()
    frame["weighted_qalys"] = frame["qalys"] * frame["qaly_weight"]
    return _savings(frame, instance.config.policy.savings_retention, years)


def _savings(frame: pd.DataFrame, retention: float, years: list) -> pd.DataFrame:
    """Indicative budgets, savings and overspends by year: a kept saving is added to the
    area's indicative budget the next year."""
    frame = frame.rename(columns={"indicative_budget": "base_budget"})
    out = []
    kept = pd.Series(0.0, index=frame["area"].unique())
    for year in years:
        rows = frame.loc[frame["year"] == year].copy()
        budget = (pd.to_numeric(rows["base_budget"]).to_numpy(float)
                  + np.asarray(kept.reindex(rows["area"]).to_numpy(), dtype=float))
        spend = rows["spend"].to_numpy(float)
        rows["indicative_budget"] = budget
        rows["saving"] = np.where(np.isnan(budget), np.nan, np.maximum(0.0, budget - spend))
        rows["overspend"] = np.where(np.isnan(budget), np.nan,
                                     np.maximum(0.0, spend - budget))
        rows["saving_kept"] = retention * rows["saving"]
        kept = pd.Series(rows["saving_kept"].fillna(0.0).to_numpy(), index=rows["area"])
        out.append(rows)
    frame = pd.concat(out).drop(columns="base_budget")
    columns = ["area", "year", "population", "need_index", "need_weighted_population",
               "need_share", "demand", "demand_met", "coverage", "spend", "spend_per_head",
               "mean_spend_per_head", "ratio_to_mean", "fair_share_band", "qalys", "qaly_weight",
               "weighted_qalys", "indicative_budget", "saving", "overspend", "saving_kept"]
    return frame[columns].sort_values(["year"], kind="stable").reset_index(drop=True)


def funders_table(instance: Instance, data: AreaData, contracts: pd.DataFrame,
                  providers: pd.DataFrame) -> pd.DataFrame:
    """funders.csv of the plan (see the module docstring)."""
    years = sorted(contracts["year"].unique()) if len(contracts) else []
    years = sorted(set(years) | set(providers["year"].unique()))
    contributions = la_contributions(instance)
    base = instance.config.base_year
    running = contracts.assign(running=contracts["spend"] + contracts["transaction_cost"])
    by_level = running.groupby(["year", "level"])[["running", "setup_cost"]].sum()
    rows = []
    for year in years:
        levels = by_level.loc[year] if year in by_level.index.get_level_values(0) else by_level.iloc[:0]
        pooled = levels.loc[levels.index.isin(data.pooled_levels), "running"]
        limit = contributions[int(year) - base] if int(year) - base < len(contributions) else 0.0
        paid = min(limit, float(pooled.sum()))
        share = pooled / pooled.sum() if pooled.sum() > 0 else pooled * 0.0
        for level, row in levels.iterrows():
            la = float(paid * share.get(level, 0.0))
            if la > 0:
                rows.append((int(year), "local_authority", level, la))
            rows.append((int(year), "nhs", level, float(row["running"] + row["setup_cost"]) - la))
        one_off = providers.loc[providers["year"] == year, ["entry_cost_paid", "exit_cost_paid",
                                                              "notice_cost_paid"]].to_numpy().sum()
        rows.append((int(year), "nhs", "(all)", float(one_off)))
    return pd.DataFrame(rows, columns=["year", "funder", "level", "spend"])


def plan_tables(built, result, tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """{area_contracts, areas, funders} for an instance with areas; {} otherwise."""
    derived = built.derived
    instance = derived.instance
    if not uses_areas(instance):
        return {}
    data = derived.areas or derive_areas(instance)
    am = built.data.areas
    contracts = tables["contracts"]
    split = pd.DataFrame(columns=["service", "level", "provider", "area", "year", "volume"])
    if am is not None and len(am.pairs) and "area_x" in result.values:
        horizon = derived.horizon
        u = np.asarray(result.values["area_x"], dtype=float).reshape(len(am.pairs), horizon)
        picked = derived.contracts.iloc[am.pairs["contract"].to_numpy()]
        split = pd.DataFrame({
            "service": np.repeat(picked["service"].to_numpy(), horizon),
            "level": np.repeat(picked["level"].to_numpy(), horizon),
            "provider": np.repeat(picked["provider"].to_numpy(), horizon),
            "area": np.repeat(am.pairs["area"].to_numpy(), horizon),
            "year": np.tile(np.asarray(derived.years), len(am.pairs)),
            "volume": np.where(u > VOLUME_TOL, u, 0.0).ravel()})
        split = split.loc[split["service"].isin(set(derived.contracts["service"][am.split]))]
    split_services = set(derived.contracts["service"][am.split]) if am is not None else set()
    by_area = area_contracts(data, contracts, split, split_services)
    return {"area_contracts": by_area,
            "areas": areas_table(instance, data, by_area, tables["services"]),
            "funders": funders_table(instance, data, contracts, tables["providers"])}


def with_la_money(budget: pd.DataFrame, funders: pd.DataFrame | None) -> pd.DataFrame:
    """budget.csv with the local authority's pooled money: ``la_paid`` (£) and a surplus of
    budget + la_paid − spend (the NHS budget pays only what the pooled money does not).
    Unchanged without LA money."""
    if funders is None or not (funders["funder"] == "local_authority").any():
        return budget
    paid = funders.loc[funders["funder"] == "local_authority"].groupby("year")["spend"].sum()
    budget = budget.copy()
    budget["la_paid"] = budget["year"].map(paid).fillna(0.0).to_numpy()
    budget["surplus"] = budget["surplus"] + budget["la_paid"]
    return budget
