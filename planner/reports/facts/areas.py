"""The plan's facts about areas (issue 17): fair shares by area and spend by funder.

Computed from the plan folder's areas.csv and funders.csv only (written by
planner.results.area_tables), so ``planner report`` gives the same figures as ``planner solve``.
"""

from __future__ import annotations

import pandas as pd

from planner.results.folder import PlanFiles


def fair_shares(files: PlanFiles) -> pd.DataFrame:
    """By area (the first year): spend, need-weighted population, £ per need-weighted head, its
    ratio to the mean, the band's limits (blank without a band), coverage and saving kept."""
    areas = files.table("areas")
    if not len(areas):
        return pd.DataFrame()
    first = areas.loc[areas["year"] == areas["year"].min()].copy()
    band = pd.to_numeric(first["fair_share_band"], errors="coerce")
    first["low"] = first["mean_spend_per_head"] * (1 - band)
    first["high"] = first["mean_spend_per_head"] * (1 + band)
    columns = ["area", "population", "need_index", "need_weighted_population", "spend",
               "spend_per_head", "mean_spend_per_head", "ratio_to_mean", "low", "high",
               "coverage", "weighted_qalys", "indicative_budget", "saving_kept", "overspend"]
    return first[columns].reset_index(drop=True)


def funder_statement(files: PlanFiles) -> pd.DataFrame:
    """£ by funder and level over the horizon, with each funder's total."""
    funders = files.table("funders")
    if not len(funders):
        return pd.DataFrame()
    by = funders.groupby(["funder", "level"], sort=False)["spend"].sum().reset_index()
    return by.loc[by["spend"].abs() > 0.005].reset_index(drop=True)
