"""Derived data for how care is paid for (issue 16), computed with pandas before modelling.

* The price the model charges per episode of an offer, π'_ps:
  activity offers π'_ps = π_ps × (1 − w + w × q_ps), with w = ``policy.quality_withhold`` (the
  withheld share, earned back in proportion to quality: a CQUIN-like scheme); block offers
  π'_ps = 0, because a block is paid by its ``block_price`` whatever the volume.
* The bundle rows: one per (bundle, service with demand), with the bundle's level, its
  eligibility and the data the model needs (the service-level row, demand, risk charge, the
  level's transaction cost per contract for all its units). A bundle is eligible when every one
  of its services may be commissioned at the bundle's level (allowed levels and the CV rule),
  the provider is not conflicted at that level, and the bundle's quality meets each service's
  ``min_quality`` and ``min_avg_quality`` (the bundle is the service's only provider, so its
  quality is the service's average). Ineligible bundles are kept with their ``reason``, never
  modelled.

Units: £ per episode for prices, £ per year for bundle prices and transaction costs, episodes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.data.instance import Instance

BUNDLE_COLUMNS = ["bundle", "provider", "service", "level", "price", "quality", "sl", "eligible",
                  "reason", "level_demand", "growth", "risk_cost", "contract_cost", "mean_price",
                  "qaly_per_episode", "first"]


def withhold_factor(quality: pd.Series | np.ndarray, withhold: float) -> np.ndarray:
    """Share of the price paid per episode at ``quality``: 1 − w + w × quality."""
    return 1.0 - withhold + withhold * np.asarray(quality, dtype=float)


def paid_price(offers: pd.DataFrame, withhold: float) -> pd.Series:
    """π' per episode: the withheld activity price, and 0 for block offers (paid per year)."""
    price = offers["unit_price"] * withhold_factor(offers["quality"], withhold)
    return price.where(offers["payment"] != "block", 0.0)


def bundle_rows(instance: Instance, services: pd.DataFrame, service_levels: pd.DataFrame,
                without: frozenset[str]) -> pd.DataFrame:
    """One row per (bundle, service with demand), with the bundle's eligibility (see module)."""
    bundles = instance.bundles
    if not len(bundles):
        return pd.DataFrame(columns=BUNDLE_COLUMNS)
    rows = bundles.explode("services").rename(columns={"services": "service"})
    rows = rows.loc[rows["service"].notna()].reset_index(drop=True)
    svc = services.set_index("service")
    rows = rows.loc[rows["service"].map(svc["demand"]).fillna(0.0).to_numpy() > 0]
    keyed = service_levels.reset_index(names="sl").set_index(["service", "level"])
    pairs = pd.MultiIndex.from_arrays([rows["service"], rows["level"]])
    found = keyed.reindex(pairs)
    rows = rows.assign(sl=found["sl"].to_numpy(), level_ok=found["eligible"].fillna(False)
                       .astype(bool).to_numpy(),
                       level_demand=found["level_demand"].to_numpy(),
                       growth=found["growth"].to_numpy(), risk_cost=found["risk_cost"].to_numpy(),
                       contract_cost=found["contract_cost"].to_numpy())
    conflicted = instance.providers.set_index("provider")["conflicted_levels"]
    blocked = np.array([level in conflicted.get(p, ()) for p, level in
                        zip(rows["provider"], rows["level"])], dtype=bool) \
        if "conflicts" not in without else np.zeros(len(rows), dtype=bool)
    floor = np.zeros(len(rows))
    if "min_quality" not in without:
        floor = np.maximum(floor, rows["service"].map(svc["min_quality"]).to_numpy(float))
    if "avg_quality" not in without:
        floor = np.maximum(floor, rows["service"].map(svc["min_avg_quality"]).to_numpy(float))
    low = rows["quality"].to_numpy(float) < floor - 1e-12
    reason = np.where(~rows["level_ok"], "a service may not be commissioned at this level",
                      np.where(blocked, "provider conflicted at this level",
                               np.where(low, "quality below a service's floor", "")))
    rows["reason"] = reason
    bad = pd.Series(reason != "").groupby(rows["bundle"].to_numpy()).transform("any").to_numpy()
    rows["eligible"] = ~bad
    first_reason = pd.Series(reason).where(reason != "").groupby(rows["bundle"].to_numpy()) \
        .transform("first").fillna("")
    rows["reason"] = first_reason.to_numpy()
    rows["mean_price"] = rows["service"].map(svc["mean_price"]).to_numpy(float)
    rows["qaly_per_episode"] = rows["service"].map(svc["qaly_gain"]).to_numpy(float) \
        * rows["quality"].to_numpy(float)
    rows["first"] = ~rows["bundle"].duplicated()
    return rows[BUNDLE_COLUMNS].reset_index(drop=True)


def bundle_shares(rows: pd.DataFrame) -> np.ndarray:
    """Share of its bundle's price each row carries in the plan's tables: in proportion to the
    service's demand at the level × its mean price (what the services would cost by activity),
    or to demand where no service has a price. The model pays the price once per bundle; the
    shares only say where in contracts.csv and services.csv it is shown."""
    if not len(rows):
        return np.zeros(0)
    value = rows["level_demand"].to_numpy(float) * rows["mean_price"].to_numpy(float)
    demand = rows["level_demand"].to_numpy(float)
    key = rows["bundle"].to_numpy()
    total = pd.Series(value).groupby(key).transform("sum").to_numpy()
    total_demand = pd.Series(demand).groupby(key).transform("sum").to_numpy()
    return np.where(total > 0, value / np.where(total > 0, total, 1.0),
                    demand / np.where(total_demand > 0, total_demand, 1.0))
