"""Facts: providers' income against break-even, and quality against the services' thresholds."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from planner.reports.facts.headline import tolerance
from planner.reports.formatting import is_missing
from planner.results.folder import PlanFiles


def break_even(files: PlanFiles) -> pd.DataFrame:
    """Each provider's income against its break-even income (min_income), first year."""
    providers = files.first("providers")
    columns = ["provider", "kind", "incumbent", "used", "income", "min_income",
               "break_even_margin", "utilisation", "position"]
    if not len(providers):
        return pd.DataFrame(columns=columns)
    frame = providers.copy()

    def position(row: Any) -> str:
        if not row.used:
            return "not used" + (" (incumbent leaves)" if row.incumbent else "")
        if not row.min_income or row.min_income <= 0:
            return "no break-even rule"
        margin = row.income - row.min_income
        if margin < -tolerance(row.min_income):
            return "below break-even"
        if margin <= tolerance(row.min_income):
            return "at break-even (binds)"
        return "above break-even"

    frame["position"] = [position(r) for r in frame.itertuples(index=False)]
    frame = frame.sort_values(["income"], ascending=False, kind="stable")
    return frame[columns].reset_index(drop=True)


def quality(files: PlanFiles) -> pd.DataFrame:
    """Quality of each commissioned service's providers against its thresholds, first year."""
    services = files.first("services")
    contracts = files.first("contracts")
    columns = ["service", "level", "providers", "avg_quality", "min_avg_quality", "lowest_quality",
               "lowest_provider", "min_quality", "position"]
    if not len(services):
        return pd.DataFrame(columns=columns)
    frame = services.loc[services["commissioned"], ["service", "level", "providers",
                                                    "avg_quality"]].copy()
    if frame.empty:  # nothing commissioned: no quality to report
        return pd.DataFrame(columns=columns)
    active = contracts.sort_values(["quality", "provider"], kind="stable").drop_duplicates("service")
    lowest = active.set_index("service")
    frame["lowest_quality"] = frame["service"].map(lowest["quality"])
    frame["lowest_provider"] = frame["service"].map(lowest["provider"])
    if files.instance is not None:
        thresholds = files.instance.services.set_index("service")
        frame["min_avg_quality"] = frame["service"].map(thresholds["min_avg_quality"])
        frame["min_quality"] = frame["service"].map(thresholds["min_quality"])
    else:
        frame["min_avg_quality"] = np.nan
        frame["min_quality"] = np.nan

    def position(row: Any) -> str:
        if is_missing(row.min_avg_quality) and is_missing(row.min_quality):
            return "thresholds unknown"
        if not (row.min_avg_quality or 0) and not (row.min_quality or 0):
            return "no threshold"
        if not is_missing(row.avg_quality) and row.min_avg_quality and \
                row.avg_quality - row.min_avg_quality <= 1e-6:
            return "average at threshold (binds)"
        if not is_missing(row.lowest_quality) and row.min_quality and \
                row.lowest_quality - row.min_quality <= 1e-6:
            return "a provider at the threshold"
        return "above thresholds"

    frame["position"] = [position(r) for r in frame.itertuples(index=False)]
    # Services with a threshold first, tightest margin first: where quality constrains the plan.
    margin = np.fmin(
        np.where(frame["min_avg_quality"].fillna(0) > 0,
                 frame["avg_quality"] - frame["min_avg_quality"], np.nan),
        np.where(frame["min_quality"].fillna(0) > 0,
                 frame["lowest_quality"] - frame["min_quality"], np.nan))
    frame = frame.assign(_ruled=np.isnan(margin), _margin=margin).sort_values(
        ["_ruled", "_margin"], kind="stable")
    return frame[columns].reset_index(drop=True)



def quality_with_thresholds(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a :func:`quality` table whose service sets a quality threshold."""
    return table.loc[(table["min_avg_quality"].fillna(0) > 0) | (table["min_quality"].fillna(0) > 0)]
