"""Reading how care is paid for back into the plan's tables (issue 16).

Only decisions come from the solver (volumes, blocks let, bundles chosen); the £ follow from the
data, as everywhere in :mod:`planner.solve.extract`:

* contracts.csv gains ``payment`` (activity, block or bundle) and ``bundle`` (the bundle's id on
  its rows). A block row's spend is the block price of its year (its ``price`` the £ per episode
  that works out at); a chosen bundle has one row per service and year carrying the service's
  whole demand at the bundle's level, its price shared over the rows in proportion to demand ×
  mean price (:func:`planner.payment_derive.bundle_shares`), its transaction cost (one contract
  per unit of its level) on its first row;
* providers.csv gains ``activity_income``, ``block_income``, ``bundle_income`` (``income`` is
  their sum, as before the sum of its contracts' spend) and ``guarantee_paid``, the top-up
  max(0, income_guarantee − activity and block income) paid while the provider is used;
* services.csv: a bundled service carries no risk charge;
* bundles.csv (the plan's): every bundle with whether it was chosen, why it could not be, its
  price and what the same services cost contract by contract (:func:`contract_by_contract`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from formulations.model_data import BuiltModel
from planner.derive.payment import bundle_shares
from planner.rules import DECIMALS, NOTICE_SHARE
from planner.solver import SolveResult

PAYMENT_TOTALS = ("block_spend", "bundle_spend", "guarantee_payments")


def contracts_with_payment(built: BuiltModel, result: SolveResult, table: pd.DataFrame,
                           price_factor: np.ndarray) -> pd.DataFrame:
    """The contracts table with ``payment`` and ``bundle``, block £ and the bundles' rows."""
    derived = built.derived
    years = np.asarray(derived.years)
    offers = derived.offers.set_index(["provider", "service"])
    keys = pd.MultiIndex.from_arrays([table["provider"], table["service"]])
    table = table.assign(payment=offers["payment"].reindex(keys).fillna("activity").to_numpy(),
                         bundle="")
    block = (table["payment"] == "block").to_numpy()
    if block.any():
        yearly = offers["block_price"].reindex(keys).to_numpy(float)[block] \
            * price_factor[np.searchsorted(years, table.loc[block, "year"].to_numpy())]
        table.loc[block, "spend"] = yearly
        table.loc[block, "price"] = yearly / table.loc[block, "volume"].to_numpy()
    payment = built.data.payment
    rows, names = (payment.bundle_rows, payment.bundle_names) if payment else (pd.DataFrame(), [])
    chosen = _chosen(result, names)
    if not chosen:
        return table
    picked = rows.loc[rows["bundle"].isin(chosen)].reset_index(drop=True)
    share = bundle_shares(picked)
    horizon = len(years)
    t = np.tile(np.arange(horizon), len(picked))
    r = np.repeat(np.arange(len(picked)), horizon)
    p = picked.iloc[r]
    volume = np.round(p["level_demand"].to_numpy(float) * (1 + p["growth"].to_numpy(float)) ** t,
                      DECIMALS)
    spend = p["price"].to_numpy(float) * share[r] * price_factor[t]
    extra = pd.DataFrame({
        "service": p["service"].to_numpy(), "level": p["level"].to_numpy(),
        "provider": p["provider"].to_numpy(), "year": years[t], "volume": volume,
        "price": spend / np.where(volume > 0, volume, 1.0), "spend": spend,
        "quality": p["quality"].to_numpy(float),
        "qalys": volume * p["qaly_per_episode"].to_numpy(float), "new": True,
        "transaction_cost": np.where(p["first"].to_numpy(bool), p["contract_cost"].to_numpy(float),
                                     0.0),
        "setup_cost": 0.0, "payment": "bundle", "bundle": p["bundle"].to_numpy()})
    return pd.concat([table, extra], ignore_index=True).sort_values(
        ["year", "service", "level", "provider"], kind="stable").reset_index(drop=True)


def _chosen(result: SolveResult, names: list[str]) -> list[str]:
    values = result.values.get("bundle", [])
    return [b for b, v in zip(names, values) if v > 0.5]


def finish(built: BuiltModel, result: SolveResult, tables: dict[str, pd.DataFrame],
           price_factor: np.ndarray) -> dict[str, pd.DataFrame]:
    """Risk of bundled services, providers' income split and guarantees, and bundles.csv."""
    instance = built.derived.instance
    contracts = tables["contracts"]
    bundled = contracts.loc[contracts["payment"] == "bundle", ["service", "year"]]
    services = tables["services"]
    keys = set(zip(bundled["service"], bundled["year"]))
    mask = np.array([key in keys for key in zip(services["service"], services["year"])], dtype=bool)
    services.loc[mask, "risk_cost"] = 0.0
    tables["providers"] = income_split(instance, contracts, tables["providers"], price_factor)
    tables["bundles"] = bundles_table(built, result, tables)
    return tables


def income_split(instance, contracts: pd.DataFrame, providers: pd.DataFrame,
                 price_factor: np.ndarray) -> pd.DataFrame:
    """Income by payment form and the guarantee top-up, by provider and year (£)."""
    index = pd.MultiIndex.from_frame(providers[["provider", "year"]])
    payment = contracts.get("payment", pd.Series("activity", index=contracts.index))
    for form in ("activity", "block", "bundle"):
        mine = contracts.loc[payment == form]
        providers[f"{form}_income"] = mine.groupby(["provider", "year"])["spend"].sum() \
            .reindex(index).fillna(0.0).to_numpy()
    guarantee = providers["provider"].map(instance.providers.set_index("provider")[
        "income_guarantee"]).fillna(0.0).to_numpy()
    t = (providers["year"].to_numpy() - instance.config.base_year).astype(int)
    owed = guarantee * price_factor[t] - providers["activity_income"].to_numpy() \
        - providers["block_income"].to_numpy()
    providers["guarantee_paid"] = np.where(providers["used"].to_numpy(bool) & (guarantee > 0),
                                           np.maximum(0.0, owed), 0.0)
    return providers


def bundles_table(built: BuiltModel, result: SolveResult,
                  tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every bundle: chosen or not (and why not), price and the contract-by-contract cost."""
    derived = built.derived
    rows = derived.bundles
    columns = ["bundle", "provider", "level", "services", "chosen", "reason", "price",
               "transaction_cost", "contract_cost", "plan_cost"]
    if not len(derived.instance.bundles):
        return pd.DataFrame(columns=columns)
    names = built.data.payment.bundle_names if built.data.payment else []
    chosen = set(_chosen(result, names))
    alone = contract_by_contract(derived, rows)
    services = tables["services"]
    first_year = services["year"].min()
    base = services.loc[services["year"] == first_year].set_index("service")
    cost = base["spend"] + base["risk_cost"]
    out = []
    for bundle in derived.instance.bundles.itertuples(index=False):
        mine = rows.loc[rows["bundle"] == bundle.bundle] if len(rows) else rows
        reason = mine["reason"].iloc[0] if len(mine) else "no listed service has demand"
        listed = [s for s in bundle.services if s in base.index]
        out.append({
            "bundle": bundle.bundle, "provider": bundle.provider, "level": bundle.level,
            "services": ";".join(bundle.services), "chosen": bundle.bundle in chosen,
            "reason": reason, "price": float(bundle.price),
            "transaction_cost": float(mine["contract_cost"].iloc[0]) if len(mine) else 0.0,
            "contract_cost": float(alone.get(bundle.bundle, np.nan)),
            "plan_cost": float(cost.reindex(listed).fillna(0.0).sum())})
    return pd.DataFrame(out, columns=columns)


def contract_by_contract(derived, rows: pd.DataFrame) -> dict[str, float]:
    """£ a year to buy each bundle's services one contract at a time at the bundle's level.

    For each service: its eligible contracts at that level, cheapest price first, filled up to
    their capacity until the demand is met (a block contract counted at its block price for
    the episodes it can hold), plus one transaction cost per contract used and the service's
    risk charge (which a bundle does not carry). Other rules (minimum shares, incomes, budgets)
    are ignored: it is the price of the same care bought the ordinary way, not a re-solve.
    NaN where the offers at that level cannot meet the demand.
    """
    if not len(rows):
        return {}
    contracts = derived.contracts
    offers = derived.offers.set_index(["provider", "service"])
    keys = pd.MultiIndex.from_arrays([contracts["provider"], contracts["service"]])
    block_price = offers["block_price"].reindex(keys).to_numpy(float)
    capacity = contracts["capacity"].to_numpy(float)
    per_episode = np.where(np.isnan(block_price), contracts["unit_price"].to_numpy(float),
                           block_price / np.where(capacity > 0, capacity, 1.0))
    frame = contracts.assign(per_episode=per_episode)
    by_sl = {sl: g.sort_values("per_episode", kind="stable") for sl, g in frame.groupby("sl")}
    totals: dict[str, float] = {}
    for row in rows.itertuples(index=False):
        group = by_sl.get(row.sl)
        need, cost = float(row.level_demand), float(row.risk_cost)
        if group is not None:
            for c in group.itertuples(index=False):
                if need <= 1e-9:
                    break
                take = need if np.isnan(c.capacity) else min(need, float(c.capacity))
                cost += take * c.per_episode + c.contract_cost
                need -= take
        totals[row.bundle] = totals.get(row.bundle, 0.0) + (cost if need <= 1e-9 else np.nan)
    return totals


def split_totals(frame: pd.DataFrame, contracts: pd.DataFrame, providers: pd.DataFrame,
                 years: list) -> None:
    """Split ``activity_spend`` (all contracts' spend) by payment form and add guarantees (£).

    After this, ``activity_spend`` is activity-paid care only, and spend adds block_spend,
    bundle_spend and guarantee_payments. Plans written before issue 16 are activity only."""
    payment = contracts["payment"] if "payment" in contracts else pd.Series("activity",
                                                                            index=contracts.index)
    for form, key in (("block", "block_spend"), ("bundle", "bundle_spend")):
        part = contracts.loc[payment == form].groupby("year")["spend"].sum()
        frame[key] = part.reindex(years).fillna(0.0).to_numpy()
        frame["activity_spend"] = frame["activity_spend"] - frame[key]
    paid = providers.get("guarantee_paid")
    frame["guarantee_payments"] = 0.0 if paid is None else \
        paid.groupby(providers["year"]).sum().reindex(years).fillna(0.0).to_numpy()


def block_notice(instance, contracts: pd.DataFrame, years: np.ndarray, price_factor: np.ndarray,
                 charges: dict[tuple[str, int], float]) -> dict[tuple[str, int], float]:
    """Add to ``charges`` (£ by provider and year) half a year of an incumbent block's price in
    each year it ends (several years only; it runs today, so year 0 ends it if not let)."""
    offers = instance.offers
    incumbent = offers.loc[(offers["payment"] == "block") & (offers["incumbent_volume"] > 0)]
    if len(years) == 1 or not len(incumbent):
        return charges
    payment = contracts.get("payment", pd.Series("activity", index=contracts.index))
    let = set(zip(*[contracts.loc[payment == "block", k] for k in ("provider", "service", "year")]))
    for offer in incumbent.itertuples(index=False):
        before = True
        for t, year in enumerate(years):
            now = (offer.provider, offer.service, int(year)) in let
            if before and not now:
                key = (offer.provider, int(year))
                charges[key] = charges.get(key, 0.0) + NOTICE_SHARE * offer.block_price \
                    * price_factor[t]
            before = now
    return charges
