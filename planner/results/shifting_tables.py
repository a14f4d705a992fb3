"""The plan's view of shifting care (issue 15): effects.csv and the coverage of each service.

Why separate: extraction reads decisions only, and these tables follow from the contracts'
volumes and the instance's effects with no model involved (so planner.verify can recheck the
same quantities its own way). Money is in £, activity in episodes, by year.

effects.csv, one row per effect and year it lands in (year ≥ base year + lag):
  source, target, factor, lag, year, source_year   the effect and when it acts
  source_episodes   episodes of the source delivered in source_year
  episodes          factor × source_episodes: target episodes added (+) or avoided (−)
  price             £ per target episode that year: the plan's average price paid for the
                    target (its mean offer price, or tariff, with the price change, if unbought)
  saved             −episodes × price: £ the effect saves (negative = costs)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.data.instance import Instance

EFFECT_COLUMNS = ["source", "target", "factor", "lag", "year", "source_year", "source_episodes",
                  "episodes", "price", "saved"]


def target_prices(instance: Instance, contracts: pd.DataFrame, years: np.ndarray) -> pd.Series:
    """£ per episode of each service by (service, year): the plan's average, else the data's."""
    policy = instance.config.policy
    services = instance.services.set_index("service")
    mean_offer = instance.offers.groupby("service")["price"].mean()
    base = services["tariff"].fillna(mean_offer.reindex(services.index)).fillna(0.0)
    frame = pd.DataFrame([(s, int(y), float(base[s]) * (1 + policy.price_change) ** t)
                          for s in services.index for t, y in enumerate(years)],
                         columns=["service", "year", "price"]).set_index(["service", "year"])
    grouped = contracts.groupby(["service", "year"])[["spend", "volume"]].sum()
    paid = grouped["spend"] / grouped["volume"].where(grouped["volume"] > 0)
    return paid.dropna().combine_first(frame["price"])


def effects_table(instance: Instance, contracts: pd.DataFrame, years: np.ndarray) -> pd.DataFrame:
    """effects.csv of the plan (see the module docstring)."""
    effects = instance.effects
    if effects.empty:
        return pd.DataFrame(columns=EFFECT_COLUMNS)
    volume = contracts.groupby(["service", "year"])["volume"].sum()
    prices = target_prices(instance, contracts, years)
    rows = []
    for e in effects.itertuples(index=False):
        lag = int(e.lag)
        for year in years[lag:]:
            source_year = int(year) - lag
            delivered = float(volume.get((e.source, source_year), 0.0))
            moved = float(e.factor) * delivered
            price = float(prices.get((e.target, int(year)), 0.0))
            rows.append((e.source, e.target, float(e.factor), lag, int(year), source_year,
                         delivered, moved, price, -moved * price))
    return pd.DataFrame(rows, columns=EFFECT_COLUMNS)


def annotate_services(instance: Instance, services: pd.DataFrame,
                      effects: pd.DataFrame | None) -> pd.DataFrame:
    """services.csv gains ``shifted`` (episodes the effects add or avoid; demand then includes
    them) and ``coverage`` (the share of demand bought; blank where not commissioned)."""
    frame = services.copy()
    if effects is not None and len(effects):
        shifted = effects.groupby(["target", "year"])["episodes"].sum()
        key = pd.MultiIndex.from_frame(frame[["service", "year"]])
        frame["shifted"] = shifted.reindex(key).fillna(0.0).to_numpy()
        frame["demand"] = frame["demand"] + np.where(frame["commissioned"], frame["shifted"], 0.0)
    else:
        frame["shifted"] = 0.0
    minimum = frame["service"].map(instance.services.set_index("service")["min_coverage"])
    return frame.assign(coverage=np.nan, min_coverage=minimum.to_numpy())


def set_coverage(services: pd.DataFrame, contracts: pd.DataFrame) -> pd.DataFrame:
    """The share of each commissioned service's demand that its contracts carry."""
    volume = contracts.groupby(["service", "year"])["volume"].sum()
    key = pd.MultiIndex.from_frame(services[["service", "year"]])
    bought = volume.reindex(key).fillna(0.0).to_numpy()
    demand = services["demand"].to_numpy(float)
    share = np.where(demand > 0, bought / np.where(demand > 0, demand, 1.0), np.nan)
    services = services.copy()
    services["coverage"] = np.where(services["commissioned"], np.round(share, 9), np.nan)
    return services


def uses_shifting(instance: Instance) -> bool:
    """The instance has effects or a partly covered service (else the plan is as before)."""
    return not instance.effects.empty or bool((instance.services["min_coverage"] < 1).any())


def plan_tables(instance: Instance, contracts: pd.DataFrame, services: pd.DataFrame,
                years: np.ndarray) -> dict[str, pd.DataFrame]:
    """{services (annotated), effects} for an instance that shifts care; {} otherwise."""
    if not uses_shifting(instance):
        return {}
    effects = effects_table(instance, contracts, years)
    annotated = set_coverage(annotate_services(instance, services, effects), contracts)
    return {"services": annotated, "effects": effects}
