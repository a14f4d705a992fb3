"""Checks across rows and tables: duplicates, references, contradictions, policy against horizon.

Each check returns Problems rather than raising, so the analyst sees them all at once. Checks that
need derived data (eligibility, capacity against demand) live in :mod:`planner.prechecks`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.errors import Problem
from planner.schema import TABLES, InstanceConfig


def _line(frame: pd.DataFrame, position: int, from_file: bool) -> int | None:
    return int(position) + 2 if from_file else None


def check_tables(config: InstanceConfig | None, tables: dict[str, pd.DataFrame],
                 from_file: bool) -> list[Problem]:
    problems: list[Problem] = []
    for name in ("levels", "services", "providers", "offers"):
        if len(tables[name]) == 0:
            problems.append(Problem(name, "has no rows.", f"Add at least one row to {name}."))
    problems += _duplicates(tables, from_file)
    problems += _references(tables, from_file)
    problems += _service_rows(tables, from_file)
    problems += _offer_rows(tables, from_file)
    if config is not None:
        problems += _policy(config, tables)
    return problems


def _duplicates(tables: dict[str, pd.DataFrame], from_file: bool) -> list[Problem]:
    problems = []
    for name, frame in tables.items():
        key = list(TABLES[name].key)
        repeated = frame.duplicated(subset=key, keep="first").to_numpy()
        for position in np.flatnonzero(repeated):
            label = "/".join(str(frame.iloc[position][k]) for k in key)
            problems.append(Problem(name, f"duplicate {'/'.join(key)} '{label}'.",
                                    "Keep one row per id (merge or rename the others).",
                                    row=label, line=_line(frame, position, from_file),
                                    column=key[-1]))
    return problems


def _unknown(frame: pd.DataFrame, table: str, column: str, known: set[str], what: str,
             from_file: bool, is_list: bool = False, source: str = "") -> list[Problem]:
    problems = []
    source = source or f"{what}s.csv"
    key = list(TABLES[table].key)
    for position, value in enumerate(frame[column].tolist()):
        values = value if is_list else (value,)
        for item in values:
            if item not in known:
                sample = ", ".join(sorted(known)[:8]) + (" ..." if len(known) > 8 else "")
                label = "/".join(str(frame.iloc[position][k]) for k in key)
                problems.append(Problem(table, f"unknown {what} '{item}'.",
                                        f"Use one defined in {source}: {sample}.",
                                        row=label, line=_line(frame, position, from_file),
                                        column=column))
    return problems


def _references(tables: dict[str, pd.DataFrame], from_file: bool) -> list[Problem]:
    levels = set(tables["levels"]["level"])
    services = set(tables["services"]["service"])
    providers = set(tables["providers"]["provider"])
    categories = set(tables["services"]["category"])
    problems = []
    problems += _unknown(tables["offers"], "offers", "provider", providers, "provider", from_file)
    problems += _unknown(tables["offers"], "offers", "service", services, "service", from_file)
    problems += _unknown(tables["services"], "services", "allowed_levels", levels, "level",
                         from_file, is_list=True)
    problems += _unknown(tables["providers"], "providers", "conflicted_levels", levels, "level",
                         from_file, is_list=True)
    effects = tables["level_effects"]
    problems += _unknown(effects, "level_effects", "level", levels, "level", from_file)
    problems += _unknown(effects, "level_effects", "category", categories, "category", from_file,
                         source="services.csv")
    return problems


def _service_rows(tables: dict[str, pd.DataFrame], from_file: bool) -> list[Problem]:
    services = tables["services"]
    problems = []
    for position, row in enumerate(services.itertuples(index=False)):
        where = {"row": row.service, "line": _line(services, position, from_file)}
        has_demand, has_rate = not np.isnan(row.demand), not np.isnan(row.activity_rate)
        if not has_demand and not has_rate:
            problems.append(Problem("services", "neither demand nor activity_rate is given.",
                                    "Give demand (episodes per year) or activity_rate "
                                    "(episodes per person per year).", column="demand", **where))
        elif has_demand and has_rate:
            problems.append(Problem("services", "both demand and activity_rate are given.",
                                    "Give one of them and leave the other blank.",
                                    column="activity_rate", **where))
        if not np.isnan(row.max_providers) and row.min_providers > row.max_providers:
            problems.append(Problem("services", f"min_providers {row.min_providers:g} exceeds "
                                    f"max_providers {row.max_providers:g}.",
                                    "Make min_providers ≤ max_providers.",
                                    column="min_providers", **where))
        if row.min_share * row.min_providers > 1 + 1e-9:
            problems.append(Problem("services", f"min_share {row.min_share:g} × min_providers "
                                    f"{row.min_providers:g} exceeds 1: no split of the demand "
                                    "can give each provider its minimum share.",
                                    "Lower min_share or min_providers.", column="min_share",
                                    **where))
    return problems


def _offer_rows(tables: dict[str, pd.DataFrame], from_file: bool) -> list[Problem]:
    offers = tables["offers"]
    tariff = tables["services"].drop_duplicates("service").set_index("service")["tariff"]
    incumbent = tables["providers"].drop_duplicates("provider").set_index("provider")["incumbent"]
    problems = []
    service_tariff = offers["service"].map(tariff)
    no_price = (service_tariff.isna() & offers["price"].isna()
                & offers["service"].isin(tariff.index)).to_numpy()
    for position in np.flatnonzero(no_price):
        row = offers.iloc[position]
        problems.append(Problem("offers", f"no price for {row['service']}, which has no tariff.",
                                "Give the local price (£ per episode) or a tariff in services.csv.",
                                row=f"{row['provider']}/{row['service']}",
                                line=_line(offers, position, from_file), column="price"))
    not_incumbent = (offers["incumbent_volume"] > 0) & offers["provider"].map(incumbent).eq(False)
    for position in np.flatnonzero(not_incumbent.to_numpy()):
        row = offers.iloc[position]
        problems.append(Problem("offers", f"incumbent_volume {row['incumbent_volume']:g} for "
                                f"provider '{row['provider']}', which is not an incumbent.",
                                "Set incumbent: true for the provider in providers.csv, or make "
                                "incumbent_volume 0.", row=f"{row['provider']}/{row['service']}",
                                line=_line(offers, position, from_file),
                                column="incumbent_volume"))
    return problems


def _policy(config: InstanceConfig, tables: dict[str, pd.DataFrame]) -> list[Problem]:
    policy, horizon = config.policy, config.horizon
    problems = []
    if isinstance(policy.budget, list) and len(policy.budget) != horizon:
        problems.append(Problem("instance.yaml", f"policy.budget lists {len(policy.budget)} "
                                f"years but the horizon is {horizon}.",
                                f"Give {horizon} budgets, one per year, or one number."))
    categories = set(tables["services"]["category"])
    for number, target in enumerate(policy.setting_targets, start=1):
        if target.category not in categories:
            problems.append(Problem("instance.yaml", f"setting_targets #{number}: unknown "
                                    f"category '{target.category}'.",
                                    f"Use a category of services.csv: {', '.join(sorted(categories))}."))
        shares = target.min_share if isinstance(target.min_share, list) else [target.min_share]
        if isinstance(target.min_share, list) and len(shares) != horizon:
            problems.append(Problem("instance.yaml", f"setting_targets #{number}: min_share "
                                    f"lists {len(shares)} years but the horizon is {horizon}.",
                                    f"Give {horizon} shares or one."))
        if any(not 0 <= s <= 1 for s in shares):
            problems.append(Problem("instance.yaml", f"setting_targets #{number}: min_share "
                                    "must be between 0 and 1.", "Give shares as fractions."))
    return problems
