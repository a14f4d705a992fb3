"""Comparing two plans, or a plan with the status quo (today's incumbent contracts).

A board asks what changes: which contracts start, end or move, where the money goes (by level,
by provider kind, by category), which providers fall below break-even, and what the change costs
in notice and exit. Comparisons are made year by year on the first year both plans share.
Money in £ per year, activity in episodes per year.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from planner.data.instance import Instance
from planner.formats import money

STATUS_QUO = "status quo"


@dataclass(frozen=True)
class PlanView:
    """The parts of a plan a comparison needs (first year only)."""

    name: str
    contracts: pd.DataFrame  # service, level, provider, volume, spend
    providers: pd.DataFrame  # provider, kind, income, min_income
    categories: pd.Series  # service -> category
    totals: dict

    @classmethod
    def from_plan(cls, plan, name: str = "plan") -> PlanView:
        first = plan.contracts["year"].min() if len(plan.contracts) else None
        contracts = plan.contracts.loc[plan.contracts["year"] == first] if first else plan.contracts
        providers = plan.providers.loc[plan.providers["year"] == plan.providers["year"].min()]
        categories = plan.instance.services.set_index("service")["category"]
        return cls(name, contracts, providers, categories, plan.totals)

    @classmethod
    def from_dir(cls, folder: str | Path) -> PlanView:
        """A plan folder read with :func:`planner.results.folder.read_plan_tables`, the writer's own
        types: ids such as ``007``, ``NA`` or ``=x`` compare as the ids they are."""
        from planner.results.folder import read_plan_meta, read_plan_tables

        folder = Path(folder)
        report = read_plan_meta(folder)
        tables = read_plan_tables(folder, ("contracts", "providers", "services"),
                                  required=("contracts", "providers", "services"))
        contracts, providers, services = (tables[name] for name in
                                          ("contracts", "providers", "services"))
        if "year" in contracts and len(contracts):
            contracts = contracts.loc[contracts["year"] == contracts["year"].min()]
        if "year" in providers:
            providers = providers.loc[providers["year"] == providers["year"].min()]
        categories = services.drop_duplicates("service").set_index("service")["category"]
        return cls(folder.name, contracts, providers, categories, report.get("totals") or {})

    @classmethod
    def status_quo(cls, instance: Instance) -> PlanView:
        """Today's contracts: every offer with incumbent volume, at its price."""
        offers = instance.offers.loc[instance.offers["incumbent_volume"] > 0]
        price = offer_prices(instance).loc[offers.index]
        contracts = pd.DataFrame({"service": offers["service"], "level": STATUS_QUO,
                                  "provider": offers["provider"],
                                  "volume": offers["incumbent_volume"],
                                  "spend": offers["incumbent_volume"] * price})
        income = contracts.groupby("provider")["spend"].sum()
        providers = instance.providers[["provider", "kind", "min_income"]].copy()
        providers["income"] = providers["provider"].map(income).fillna(0.0)
        providers["used"] = providers["provider"].isin(contracts["provider"])
        categories = instance.services.set_index("service")["category"]
        return cls(STATUS_QUO, contracts.reset_index(drop=True), providers, categories,
                   {"spend": float(contracts["spend"].sum())})


def offer_prices(instance: Instance) -> pd.Series:
    """£ per episode of each offer (row of ``instance.offers``) today: the service's tariff
    where it has one, else the offer's price."""
    offers = instance.offers
    return offers["service"].map(instance.services.set_index("service")["tariff"]) \
        .fillna(offers["price"]).astype(float)


def contract_changes(a: PlanView, b: PlanView) -> pd.DataFrame:
    """Each (service, provider) in either plan: started, ended, moved level, changed or same."""
    key = ["service", "provider"]
    left = a.contracts.groupby(key).agg(level_a=("level", "first"), volume_a=("volume", "sum"))
    right = b.contracts.groupby(key).agg(level_b=("level", "first"), volume_b=("volume", "sum"))
    both = left.join(right, how="outer").reset_index()
    both[["volume_a", "volume_b"]] = both[["volume_a", "volume_b"]].fillna(0.0)
    in_a, in_b = both["level_a"].notna(), both["level_b"].notna()
    moved = in_a & in_b & (both["level_a"] != both["level_b"]) & \
        (both["level_a"] != STATUS_QUO) & (both["level_b"] != STATUS_QUO)
    changed = in_a & in_b & ~np.isclose(both["volume_a"], both["volume_b"], rtol=1e-9, atol=1e-6)
    both["change"] = np.select([in_b & ~in_a, in_a & ~in_b, moved, changed],
                               ["started", "ended", "moved", "volume changed"], "same")
    both["volume_change"] = both["volume_b"] - both["volume_a"]
    return both[["service", "provider", "change", "level_a", "level_b", "volume_a", "volume_b",
                 "volume_change"]]


def spend_by(a: PlanView, b: PlanView) -> pd.DataFrame:
    """Activity spend by level, provider kind and category in each plan (£ per year)."""
    frames = []
    for view, label in ((a, "spend_a"), (b, "spend_b")):
        contracts = view.contracts.assign(
            kind=view.contracts["provider"].map(view.providers.set_index("provider")["kind"]),
            category=view.contracts["service"].map(view.categories))
        for dimension in ("level", "kind", "category"):
            grouped = contracts.groupby(dimension)["spend"].sum()
            frames.append(pd.DataFrame({"by": dimension, "key": grouped.index,
                                        "plan": label, "spend": grouped.to_numpy()}))
    table = pd.concat(frames).pivot_table(index=["by", "key"], columns="plan", values="spend",
                                          aggfunc="sum", fill_value=0.0).reset_index()
    for column in ("spend_a", "spend_b"):
        if column not in table:
            table[column] = 0.0
    table["difference"] = table["spend_b"] - table["spend_a"]
    table.columns.name = None
    return table[["by", "key", "spend_a", "spend_b", "difference"]]


def below_break_even(a: PlanView, b: PlanView) -> pd.DataFrame:
    """Providers with a break-even income whose income in B falls below it."""
    providers = b.providers.set_index("provider")
    before = a.providers.set_index("provider")["income"]
    at_risk = providers.loc[(providers["min_income"] > 0) & (providers["income"]
                                                            < providers["min_income"] - 1.0)]
    return pd.DataFrame({"provider": at_risk.index, "kind": at_risk["kind"].to_numpy(),
                         "income_a": at_risk.index.map(before).fillna(0.0),
                         "income_b": at_risk["income"].to_numpy(),
                         "min_income": at_risk["min_income"].to_numpy(),
                         "shortfall": (at_risk["min_income"] - at_risk["income"]).to_numpy()})


def compare(a: PlanView, b: PlanView) -> dict[str, pd.DataFrame]:
    return {"contract_changes": contract_changes(a, b), "spend_by": spend_by(a, b),
            "below_break_even": below_break_even(a, b)}


def summary(a: PlanView, b: PlanView, tables: dict[str, pd.DataFrame]) -> str:
    """A few lines for the terminal or a board paper."""
    changes = tables["contract_changes"]["change"].value_counts()
    spend_a = float(a.contracts["spend"].sum())
    spend_b = float(b.contracts["spend"].sum())
    lines = [f"{b.name} against {a.name}:",
             "  contracts: " + ", ".join(f"{changes.get(k, 0)} {k}" for k in
                                         ("started", "ended", "moved", "volume changed", "same")),
             f"  activity spend {money(spend_a)} → {money(spend_b)} "
             f"({money(spend_b - spend_a, sign=True)})"]
    one_off = {k: b.totals.get(k) or 0.0 for k in ("notice_costs", "exit_costs", "entry_costs",
                                                    "setup_costs")}
    lines.append("  one-off costs in " + b.name + " (whole horizon): " + ", ".join(
        f"{k.replace('_costs', '')} {money(v)}" for k, v in one_off.items()))
    below = tables["below_break_even"]
    if len(below):
        lines.append("  below break-even in " + b.name + ": " + ", ".join(
            f"{r.provider} (short {money(r.shortfall)})" for r in below.itertuples()))
    return "\n".join(lines)
