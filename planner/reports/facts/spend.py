"""Facts: where the money goes (£ by level, provider kind and category), the continuum of
levels, and why each service sits at its level."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from planner.data.names import Names
from planner.errors import PlannerError
from planner.reports.formatting import money
from planner.results.folder import PlanFiles


def commissioned_by_level(files: PlanFiles) -> pd.Series:
    """How many services the plan commissions at each level in the first year (by level id)."""
    services = files.first("services")
    if not len(services):
        return pd.Series(dtype=int)
    return services.loc[services["commissioned"]].groupby("level").size()

def spend_breakdown(files: PlanFiles) -> pd.DataFrame:
    """£ of the first year by level, provider kind and category: activity, contracting and setup.

    Entry, exit and notice costs belong to providers rather than services and are left out here
    (the headline shows them), so each breakdown adds up to the same total.
    """
    contracts = files.first("contracts")
    if not len(contracts):
        return pd.DataFrame(columns=["by", "key", "spend", "share"])
    kinds = files.first("providers").drop_duplicates("provider").set_index("provider")["kind"]
    categories = files.first("services").drop_duplicates("service").set_index("service")["category"]
    cost = contracts.assign(
        total=contracts["spend"] + contracts["transaction_cost"].fillna(0.0)
        + contracts["setup_cost"].fillna(0.0),
        kind=contracts["provider"].map(kinds), category=contracts["service"].map(categories))
    whole = float(cost["total"].sum()) or 1.0
    frames = []
    order = {level: i for i, level in enumerate(files.level_order)}
    for dimension in ("level", "kind", "category"):
        grouped = cost.groupby(dimension)["total"].sum()
        if dimension == "level":
            grouped = grouped.sort_index(key=lambda idx: idx.map(lambda v: order.get(v, len(order))))
        else:
            grouped = grouped.sort_values(ascending=False, kind="stable")
        frames.append(pd.DataFrame({"by": dimension, "key": grouped.index,
                                    "spend": grouped.to_numpy(),
                                    "share": grouped.to_numpy() / whole}))
    return pd.concat(frames, ignore_index=True)


def year_totals(files: PlanFiles) -> pd.DataFrame:
    """plan.json's totals for each year (£ by component, QALYs), one row a year."""
    return pd.DataFrame([{"year": int(y), **v} for y, v in
                         (files.plan.get("totals_by_year") or {}).items()])


def level_table(files: PlanFiles) -> pd.DataFrame:
    """The continuum, low to high: units, people per unit, risk tolerance, and what each level does."""
    levels = files.first("levels")
    columns = ["level", "order", "population", "units", "transaction_cost", "risk_tolerance",
               "services", "contracts", "spend"]
    if not len(levels):
        return pd.DataFrame(columns=columns)
    frame = levels[["level", "services", "contracts", "spend"]].copy()
    if files.instance is not None:
        inst = files.instance.levels.set_index("level")
        population = files.instance.config.population
        frame["order"] = frame["level"].map(inst["order"])
        frame["population"] = frame["level"].map(inst["population"])
        frame["units"] = population / frame["population"]
        frame["transaction_cost"] = frame["level"].map(inst["transaction_cost"])
        frame["risk_tolerance"] = frame["level"].map(inst["risk_tolerance"])
        frame = frame.sort_values(["order", "level"], kind="stable")
    else:
        for column in ("order", "population", "units", "transaction_cost", "risk_tolerance"):
            frame[column] = np.nan
    return frame[columns].reset_index(drop=True)


def continuum(files: PlanFiles) -> pd.DataFrame:
    """Each service's level and why it sits there: risk pooling (the CV rule), demand effects,
    the levels allowed, or cost. Reasons need the instance; without it they say so."""
    services = files.first("services")
    columns = ["service", "category", "mandatory", "commissioned", "level", "demand", "providers",
               "spend", "cv", "risk_tolerance", "demand_factor", "reason"]
    if not len(services):
        return pd.DataFrame(columns=columns)
    frame = services[["service", "category", "mandatory", "commissioned", "level", "demand",
                      "providers", "spend"]].copy()
    frame["cv"] = np.nan
    frame["risk_tolerance"] = np.nan
    frame["demand_factor"] = np.nan
    if files.instance is None:
        frame["reason"] = np.where(frame["commissioned"], "", "not commissioned")
        return frame[columns]
    from planner.derive.tables import derive

    without = frozenset((files.plan.get("options") or {}).get("without") or ())
    try:
        derived = derive(files.instance, without)
    except PlannerError:
        frame["reason"] = ""
        return frame[columns]
    pairs = derived.service_levels
    levels = frame[["service", "level"]].dropna().astype({"level": str})
    chosen = pairs.merge(levels, on=["service", "level"], how="inner")
    keyed = chosen.set_index("service")
    frame["cv"] = frame["service"].map(keyed["cv"])
    frame["risk_tolerance"] = frame["service"].map(keyed["risk_tolerance"])
    frame["demand_factor"] = frame["service"].map(keyed["demand_factor"])
    value = files.instance.config.policy.value_per_qaly
    reasons = []
    for row in frame.itertuples(index=False):
        own = pairs.loc[pairs["service"] == row.service]
        reasons.append(_reason(row, own, value, files.names))
    frame["reason"] = reasons
    return frame[columns]


def continuum_in_level_order(files: PlanFiles) -> pd.DataFrame:
    """:func:`continuum` by level, individual to national (not commissioned last), then service."""
    services = continuum(files)
    order = {level: i for i, level in enumerate(files.level_order)}
    return services.assign(_o=services["level"].map(order).fillna(len(order))).sort_values(
        ["_o", "service"], kind="stable").drop(columns="_o")


def _reason(row: Any, own: pd.DataFrame, value_per_qaly: float, names: Names) -> str:
    """Why a service is commissioned where it is, in a sentence for a board paper (levels by
    their plain names)."""
    if not row.commissioned:
        if own.empty:
            return "Not commissioned: no demand."
        if not own["eligible"].any():
            return "Not commissioned: no level may commission it (allowed levels and risk)."
        worth = f"at {money(value_per_qaly)} per QALY" if value_per_qaly else "with no value on QALYs"
        return f"Not commissioned: optional, and not worth its cost {worth}."
    here = own.loc[own["level"] == row.level]
    if here.empty:
        return ""
    here_row = here.iloc[0]
    lower = own.loc[own["order"] < here_row["order"]]
    parts = []
    risky = lower.loc[lower["reason"] == "spread of spend above risk_tolerance"]
    if len(lower) and not lower["eligible"].any() and len(risky):
        below = risky.iloc[-1]
        parts.append(f"Risk pooling: one {names.level(below['level'])} unit's spend would swing too much "
                     f"(CV {below['cv']:.2f} > tolerance {below['risk_tolerance']:.2f})")
    elif len(lower) and not lower["eligible"].any():
        parts.append(f"Only allowed from {names.level(row.level)} level up")
    elif len(lower):
        others = ", ".join(names.level(v) for v in lower.loc[lower["eligible"], "level"])
        parts.append(f"Cheapest overall of the levels allowed (lower: {others})")
    else:
        parts.append("The lowest level on the continuum")
    factor = float(here_row["demand_factor"])
    if abs(factor - 1.0) > 1e-12:
        parts.append(f"demand effect: {'−' if factor < 1 else '+'}{abs(1 - factor):.0%} demand "
                     f"here (factor {factor:g})")
    return "; ".join(parts) + "."

