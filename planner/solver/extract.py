"""Reading a solution back into the plan's tidy tables, by year, and adding up the totals.

Only decisions are read from the solver: volumes x, levels y, contracts z and provider use w.
Every cost (one-off events included) is then recomputed from those decisions and the data, so the
tables add up exactly to the totals and :func:`planner.results.verify` can recheck them independently.
Money is in £ (per year in the by-year tables), activity in episodes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from formulations.model_data import BuiltModel
from planner.data.instance import Instance
from planner.results.area_tables import plan_tables as area_tables
from planner.results.area_tables import with_la_money
from planner.results.shifting_tables import plan_tables
from planner.rules import DECIMALS, NOTICE_SHARE, VOLUME_TOL
from planner.solver import payment_extract
from planner.solver.highs import SolveResult


def _matrix(values: list[float], rows: int, years: int) -> np.ndarray:
    return np.asarray(values, dtype=float).reshape(rows, years) if rows else np.zeros((0, years))


def extract(built: BuiltModel, result: SolveResult) -> dict[str, pd.DataFrame]:
    """Tables contracts, services, providers, levels and budget from a solved model."""
    derived = built.derived
    instance = derived.instance
    contracts = derived.contracts
    horizon = derived.horizon
    years = np.asarray(derived.years)
    x = _matrix(result.values.get("x", []), len(contracts), horizon)
    x = np.where(x > VOLUME_TOL, np.round(x, DECIMALS), 0.0)
    y = np.asarray(result.values.get("y", []), dtype=float)
    z = _matrix(result.values.get("z", []), len(built.z_rows), horizon)
    w = _matrix(result.values.get("w", []), len(built.w_rows), horizon)

    let = x > 0
    if len(built.z_rows):
        let[built.z_rows] = z > 0.5
    price_factor = (1.0 + derived.price_change) ** np.arange(horizon)
    started = let & ~np.hstack([np.zeros((len(contracts), 1), dtype=bool), let[:, :-1]])
    rows, ts = np.nonzero(let)
    picked = contracts.iloc[rows]
    price = picked["unit_price"].to_numpy() * price_factor[ts]
    volume = x[rows, ts]
    table = pd.DataFrame({
        "service": picked["service"].to_numpy(), "level": picked["level"].to_numpy(),
        "provider": picked["provider"].to_numpy(), "year": years[ts], "volume": volume,
        "price": price, "spend": volume * price, "quality": picked["quality"].to_numpy(),
        "qalys": volume * picked["qaly_per_episode"].to_numpy(), "new": picked["new"].to_numpy(),
        "transaction_cost": picked["contract_cost"].to_numpy(),
        "setup_cost": np.where(started[rows, ts], picked["setup"].to_numpy(), 0.0),
    }).sort_values(["year", "service", "level", "provider"], kind="stable").reset_index(drop=True)
    table = payment_extract.contracts_with_payment(built, result, table, price_factor)  # issue 16

    chosen = derived.service_levels.loc[built.sl_rows[y > 0.5]]
    used = np.zeros((len(derived.providers), horizon), dtype=bool)
    position = {p: i for i, p in enumerate(derived.providers["provider"])}
    active = table.loc[table["volume"] > 0]
    used[[position[p] for p in active["provider"]], np.searchsorted(years, active["year"])] = True
    if len(built.w_rows):
        used[built.w_rows] = w > 0.5
    used_frame = pd.DataFrame(used, index=derived.providers["provider"], columns=years)
    services = services_table(instance, table, chosen, years, price_factor)
    tables = payment_extract.finish(built, result, {
        "contracts": table,
        "services": services,
        "providers": providers_table(instance, table, used_frame, price_factor),
        "levels": levels_table(derived.levels, table, chosen, years),
        **plan_tables(instance, table, services, years),  # effects.csv, coverage (issue 15)
    }, price_factor)
    tables.update(area_tables(built, result, tables))  # areas.csv, funders.csv (issue 17)
    return tables


def services_table(instance: Instance, contracts: pd.DataFrame, chosen: pd.DataFrame,
                   years: np.ndarray, price_factor: np.ndarray) -> pd.DataFrame:
    base = instance.services[["service", "category", "setting", "mandatory", "demand"]]
    frame = base.merge(pd.DataFrame({"year": years, "t": np.arange(len(years))}), how="cross")
    level = chosen.set_index("service")
    frame["commissioned"] = frame["service"].isin(level.index)
    frame["level"] = frame["service"].map(level["level"])
    growth = frame["service"].map(level["growth"]).fillna(0.0)
    demand = frame["service"].map(level["level_demand"]).fillna(frame["demand"])
    frame["demand"] = demand * (1.0 + growth) ** frame["t"]
    key = [contracts["service"], contracts["year"]]
    grouped = contracts.assign(
        weighted=contracts["quality"] * contracts["volume"],
        total=contracts["spend"] + contracts["transaction_cost"] + contracts["setup_cost"]
    ).groupby(key)
    index = pd.MultiIndex.from_frame(frame[["service", "year"]])
    frame["providers"] = grouped.size().reindex(index).fillna(0).astype(int).to_numpy()
    frame["spend"] = grouped["total"].sum().reindex(index).fillna(0.0).to_numpy()
    volume = grouped["volume"].sum().reindex(index).fillna(0.0).to_numpy()
    weighted = grouped["weighted"].sum().reindex(index).fillna(0.0).to_numpy()
    frame["avg_quality"] = np.where(volume > 0, weighted / np.where(volume > 0, volume, 1), np.nan)
    frame["qalys"] = grouped["qalys"].sum().reindex(index).fillna(0.0).to_numpy()
    risk = frame["service"].map(level["risk_cost"]).fillna(0.0)
    frame["risk_cost"] = risk * price_factor[frame["t"]] * np.sqrt((1.0 + growth) ** frame["t"])
    return frame[["service", "year", "category", "setting", "mandatory", "commissioned", "level",
                  "demand", "providers", "spend", "avg_quality", "qalys", "risk_cost"]]


def providers_table(instance: Instance, contracts: pd.DataFrame, used: pd.DataFrame,
                    price_factor: np.ndarray) -> pd.DataFrame:
    """Income, break-even margin, utilisation and one-off costs of each provider by year."""
    years = used.columns.to_numpy()
    providers = instance.providers
    offers = instance.offers
    frame = providers[["provider", "kind", "incumbent", "min_income", "entry_cost", "exit_cost",
                       "total_capacity"]].merge(pd.DataFrame({"year": years}), how="cross")
    index = pd.MultiIndex.from_frame(frame[["provider", "year"]])
    flags = used.to_numpy()
    before = np.hstack([providers["incumbent"].to_numpy()[:, None], flags[:, :-1]])
    frame["used"] = flags.reshape(-1)
    grouped = contracts.groupby([contracts["provider"], contracts["year"]])
    frame["volume"] = grouped["volume"].sum().reindex(index).fillna(0.0).to_numpy()
    frame["income"] = grouped["spend"].sum().reindex(index).fillna(0.0).to_numpy()
    frame["min_income"] = frame["min_income"] * np.tile(price_factor, len(providers))
    frame["break_even_margin"] = np.where(frame["used"] & (frame["min_income"] > 0),
                                          frame["income"] - frame["min_income"], np.nan)
    use = contracts.merge(offers[["provider", "service", "capacity_use"]],
                          on=["provider", "service"], how="left")
    resource = (use["capacity_use"] * use["volume"]).groupby([use["provider"], use["year"]]).sum()
    offered = offers.groupby("provider")["capacity"].agg(
        lambda c: np.nan if c.isna().any() else c.sum())
    denominator = frame["total_capacity"].fillna(frame["provider"].map(offered))
    numerator = np.where(frame["total_capacity"].notna(),
                         resource.reindex(index).fillna(0.0).to_numpy(), frame["volume"])
    frame["utilisation"] = np.where(denominator > 0, numerator / denominator, np.nan)
    entered = (flags & ~before).reshape(-1)
    left = (~flags & before).reshape(-1)
    frame["entry_cost_paid"] = np.where(entered & ~frame["incumbent"], frame["entry_cost"], 0.0)
    frame["exit_cost_paid"] = np.where(left & frame["incumbent"], frame["exit_cost"], 0.0)
    frame["notice_cost_paid"] = notice_costs(instance, contracts, years, price_factor) \
        .reindex(index).fillna(0.0).to_numpy()
    return frame[["provider", "year", "kind", "incumbent", "used", "volume", "income", "min_income",
                  "break_even_margin", "utilisation", "entry_cost_paid", "exit_cost_paid",
                  "notice_cost_paid"]]


def notice_costs(instance: Instance, contracts: pd.DataFrame, years: np.ndarray,
                 price_factor: np.ndarray) -> pd.Series:
    """£ of notice by (provider, year): half a year of the incumbent spend dropped.

    Over several years only (the single-year model has no notice cost). The episodes of an
    incumbent offer given notice by year t cover its largest shortfall so far below the
    incumbent volume; each year pays for the new shortfall at that year's price.
    """
    if len(years) == 1:
        return pd.Series(dtype=float)
    offers = instance.offers.loc[(instance.offers["incumbent_volume"] > 0)
                                 & (instance.offers["payment"] == "activity")]  # issue 16
    tariff = instance.services.set_index("service")["tariff"]
    withhold = instance.config.policy.quality_withhold
    if "payment" in contracts:
        contracts = contracts.loc[contracts["payment"] != "bundle"]
    volume = contracts.groupby(["provider", "service", "year"])["volume"].sum()
    charges: dict[tuple[str, int], float] = {}
    for offer in offers.itertuples(index=False):
        price = tariff.get(offer.service)
        price = offer.price if price is None or np.isnan(price) else price
        price *= 1.0 - withhold + withhold * offer.quality
        noticed = 0.0
        for t, year in enumerate(years):
            shortfall = offer.incumbent_volume - volume.get((offer.provider, offer.service, year), 0.0)
            if shortfall > noticed:
                key = (offer.provider, int(year))
                charges[key] = charges.get(key, 0.0) + NOTICE_SHARE * (shortfall - noticed) \
                    * price * price_factor[t]
                noticed = shortfall
    charges = payment_extract.block_notice(instance, contracts, years, price_factor, charges)
    return pd.Series(charges, dtype=float)


def levels_table(levels: pd.DataFrame, contracts: pd.DataFrame, chosen: pd.DataFrame,
                 years: np.ndarray) -> pd.DataFrame:
    frame = levels[["level"]].merge(pd.DataFrame({"year": years}), how="cross")
    index = pd.MultiIndex.from_frame(frame)
    grouped = contracts.groupby([contracts["level"], contracts["year"]])
    frame["services"] = frame["level"].map(chosen.groupby("level").size()).fillna(0).astype(int)
    frame["contracts"] = grouped.size().reindex(index).fillna(0).astype(int).to_numpy()
    frame["transaction_costs"] = grouped["transaction_cost"].sum().reindex(index).fillna(0.0).to_numpy()
    cost = (contracts["spend"] + contracts["transaction_cost"] + contracts["setup_cost"]).groupby(
        [contracts["level"], contracts["year"]]).sum()
    frame["spend"] = cost.reindex(index).fillna(0.0).to_numpy()
    return frame


def budget_table(instance: Instance, yearly: pd.DataFrame) -> pd.DataFrame:
    """Budget, spend, surplus (+) or deficit (−), and the balance carried, by year (£).

    ``annual``: nothing is carried. ``carry_forward``: the year's underspend, available in the
    next year only (a year's own budget is spent first, so unused carried money lapses).
    ``multi_year``: the running balance of budget less spend since the start of the horizon.
    """
    policy = instance.config.policy
    budgets = [instance.budget_for_year(t if isinstance(policy.budget, list) else 0)
               for t in range(len(yearly))]
    spend = yearly["spend"].to_numpy()
    frame = pd.DataFrame({"year": yearly["year"].to_numpy(), "budget": budgets, "spend": spend})
    frame["budget"] = frame["budget"].astype(float)
    frame["surplus"] = frame["budget"] - frame["spend"]
    carried = np.zeros(len(frame))
    if policy.break_even == "carry_forward":
        carried = np.maximum(0.0, frame["budget"].to_numpy() - spend)
    elif policy.break_even == "multi_year":
        carried = np.cumsum(frame["surplus"].to_numpy())
    frame["balance_carried"] = carried if frame["budget"].notna().all() else np.nan
    return frame


def yearly_totals(instance: Instance, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Spend and benefit by year, from the plan's tables (no model involved)."""
    contracts, services, providers = tables["contracts"], tables["services"], tables["providers"]
    policy = instance.config.policy
    years = sorted(services["year"].unique())
    by = {name: frame.groupby("year") for name, frame in
          (("c", contracts), ("s", services), ("p", providers))}

    def total(group: str, column: str) -> np.ndarray:
        return by[group][column].sum().reindex(years).fillna(0.0).to_numpy()

    frame = pd.DataFrame({"year": years})
    frame["activity_spend"] = total("c", "spend")
    payment_extract.split_totals(frame, contracts, providers, years)  # issue 16
    frame["transaction_costs"] = total("c", "transaction_cost")
    frame["setup_costs"] = total("c", "setup_cost")
    frame["entry_costs"] = total("p", "entry_cost_paid")
    frame["exit_costs"] = total("p", "exit_cost_paid")
    frame["notice_costs"] = total("p", "notice_cost_paid")
    frame["spend"] = frame[["activity_spend", "transaction_costs", "setup_costs", "entry_costs",
                            "exit_costs", "notice_costs", *payment_extract.PAYMENT_TOTALS]].sum(axis=1)
    frame["risk_cost"] = total("s", "risk_cost")
    frame["qalys"] = total("c", "qalys")
    frame["net_benefit"] = policy.value_per_qaly * frame["qalys"] - frame["spend"]
    return frame


def compute_totals(instance: Instance, tables: dict[str, pd.DataFrame]
                   ) -> tuple[dict[str, Any], dict[str, dict[str, Any]], pd.DataFrame]:
    """Horizon totals, totals by year, and the budget table."""
    yearly = yearly_totals(instance, tables)
    budget = budget_table(instance, yearly)
    budget = with_la_money(budget, tables.get("funders"))  # pooled LA money (issue 17)
    money = ["spend", "activity_spend", "transaction_costs", "setup_costs", "entry_costs",
             "exit_costs", "notice_costs", *payment_extract.PAYMENT_TOTALS, "risk_cost", "qalys",
             "net_benefit"]
    totals: dict[str, Any] = {key: float(yearly[key].sum()) for key in money}
    has_budget = bool(budget["budget"].notna().all())
    totals["budget"] = float(budget["budget"].sum()) if has_budget else None
    totals["headroom"] = totals["budget"] - totals["spend"] if has_budget else None
    if has_budget and "la_paid" in budget:  # the pooled LA money pays part of the spend
        totals["headroom"] += float(budget["la_paid"].sum())
    by_year = {}
    for row, brow in zip(yearly.to_dict("records"), budget.to_dict("records")):
        year = int(row.pop("year"))
        row["budget"] = brow["budget"] if has_budget else None
        row["headroom"] = brow["surplus"] if has_budget else None
        row["balance_carried"] = brow["balance_carried"] if has_budget else None
        by_year[str(year)] = {k: (float(v) if v is not None else None) for k, v in row.items()}
    return totals, by_year, budget
