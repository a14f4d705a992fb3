"""The decisions a plan asks a board to take, in £: the facts the report opens with.

Against today (the status quo: each provider's current volume of each service at its price):
contracts started and ended with their value a year, providers that leave or lose income,
services newly funded or no longer funded and why (``unfunded.csv``), and the risks (providers
left below their break-even income, and by how much). Every figure is a DataFrame computed here
from the plan folder's files; report.html, summary.md and plan.xlsx only format them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from planner.analysis.compare import offer_prices
from planner.reports.facts.providers import break_even
from planner.results.folder import PlanFiles

CONTRACT_COLUMNS = ["change", "service", "provider", "level", "episodes_today", "episodes_plan",
                    "value_today", "value_plan", "value_change"]
PROVIDER_COLUMNS = ["provider", "kind", "change", "income_today", "income_plan", "income_change"]
SERVICE_COLUMNS = ["service", "change", "spend_plan", "reason"]


def _prices(files: PlanFiles) -> pd.Series:
    """£ per episode of each (service, provider) in the first year: the tariff or the offer's
    price (empty without the instance)."""
    if files.instance is None:
        return pd.Series(dtype=float)
    offers = files.instance.offers
    return pd.Series(offer_prices(files.instance).to_numpy(),
                     index=pd.MultiIndex.from_frame(offers[["service", "provider"]]))


def contract_decisions(files: PlanFiles) -> pd.DataFrame:
    """Contracts started, ended, moved or resized against today, with their £ a year."""
    changes = files.table("changes")
    if "change" not in changes:
        return pd.DataFrame(columns=CONTRACT_COLUMNS)
    moved = changes.loc[changes["change"] != "same"].copy()
    price = _prices(files)
    keys = pd.MultiIndex.from_frame(moved[["service", "provider"]])
    unit = price.reindex(keys).to_numpy(float) if len(price) else np.full(len(moved), np.nan)
    frame = pd.DataFrame({
        "change": moved["change"].to_numpy(), "service": moved["service"].to_numpy(),
        "provider": moved["provider"].to_numpy(),
        "level": moved["level_b"].where(moved["level_b"].notna(), moved["level_a"]).to_numpy(),
        "episodes_today": moved["volume_a"].to_numpy(float),
        "episodes_plan": moved["volume_b"].to_numpy(float)})
    frame["value_today"] = frame["episodes_today"] * unit
    frame["value_plan"] = frame["episodes_plan"] * unit
    frame["value_change"] = frame["value_plan"] - frame["value_today"]
    order = {"started": 0, "ended": 1, "moved": 2, "volume changed": 3}
    frame = frame.assign(_o=frame["change"].map(order), _v=-frame["value_change"].abs())
    return frame.sort_values(["_o", "_v", "service", "provider"], kind="stable")[
        CONTRACT_COLUMNS].reset_index(drop=True)


def provider_decisions(files: PlanFiles) -> pd.DataFrame:
    """Providers whose income from this commissioner changes, worst hit first (£ a year)."""
    providers = files.first("providers")
    if not len(providers) or files.instance is None:
        return pd.DataFrame(columns=PROVIDER_COLUMNS)
    offers = files.instance.offers
    price = _prices(files)
    keys = pd.MultiIndex.from_frame(offers[["service", "provider"]])
    today = pd.Series(offers["incumbent_volume"].to_numpy(float) * price.reindex(keys).to_numpy(),
                      index=offers["provider"].to_numpy()).groupby(level=0).sum()
    frame = providers[["provider", "kind", "used", "income"]].copy()
    frame["income_today"] = frame["provider"].map(today).fillna(0.0).to_numpy(float)
    frame["income_plan"] = frame["income"].to_numpy(float)
    frame["income_change"] = frame["income_plan"] - frame["income_today"]
    incumbent = frame["income_today"] > 0.5
    frame["change"] = np.select(
        [incumbent & ~frame["used"], ~incumbent & frame["used"],
         frame["income_change"] < -0.5, frame["income_change"] > 0.5],
        ["leaves", "new", "loses income", "gains income"], "same")
    frame = frame.loc[frame["change"] != "same"].sort_values(["income_change", "provider"],
                                                             kind="stable")
    return frame[PROVIDER_COLUMNS].reset_index(drop=True)


def service_decisions(files: PlanFiles) -> pd.DataFrame:
    """Services newly funded, no longer funded, or left unfunded, with the reason where known."""
    services = files.first("services")
    if not len(services) or files.instance is None:
        return pd.DataFrame(columns=SERVICE_COLUMNS)
    offers = files.instance.offers
    funded_today = set(offers.loc[offers["incumbent_volume"] > 0, "service"])
    reasons = files.table("unfunded")
    why = reasons.set_index("service")["message"] if "message" in reasons else pd.Series(dtype=str)
    rows = []
    for row in services.itertuples(index=False):
        today = row.service in funded_today
        if row.commissioned and not today:
            rows.append((row.service, "newly funded", row.spend, ""))
        elif not row.commissioned:
            change = "no longer funded" if today else "not funded"
            rows.append((row.service, change, 0.0, str(why.get(row.service, "")) or
                         ("optional, and not bought" if not row.mandatory else "")))
    return pd.DataFrame(rows, columns=SERVICE_COLUMNS)


def risks(files: PlanFiles) -> pd.DataFrame:
    """Providers the plan uses below their break-even income (a board must know)."""
    table = break_even(files)
    if "position" not in table:
        return table
    below = table.loc[table["position"] == "below break-even"].reset_index(drop=True)
    return below.assign(shortfall=below["min_income"] - below["income"])


def decision_counts(contracts: pd.DataFrame, providers: pd.DataFrame,
                    services: pd.DataFrame) -> dict[str, Any]:
    """The decisions counted and valued (£ a year), from :func:`contract_decisions`,
    :func:`provider_decisions` and :func:`service_decisions`: contracts started (and their value
    in the plan), ended (their value today) and moved; providers that leave or lose income (and
    the income they lose); services newly funded and no longer funded."""
    started = contracts.loc[contracts["change"] == "started"]
    ended = contracts.loc[contracts["change"] == "ended"]
    leaving = providers.loc[providers["change"].isin(["leaves", "loses income"])]
    return {"started": len(started), "started_value": started["value_plan"].sum(),
            "ended": len(ended), "ended_value": ended["value_today"].sum(),
            "moved": int((contracts["change"] == "moved").sum()),
            "leaving": len(leaving), "income_lost": -leaving["income_change"].sum(),
            "newly_funded": int((services["change"] == "newly funded").sum()),
            "no_longer_funded": int((services["change"] == "no longer funded").sum())}
