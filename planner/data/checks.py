"""Checks across rows and tables: duplicates, references, contradictions, policy against horizon.

Each check returns Problems rather than raising, so the analyst sees them all at once. Checks that
need derived data (eligibility, capacity against demand) live in :mod:`planner.derive.prechecks`.

A cell already reported as blank (or a column reported missing) is not reported again as a
duplicate or an unknown reference: one mistake, one message.

Data that are valid but badly scaled (amounts of money, or of activity, differing by more than
:data:`SCALE_RATIO`) raise a :class:`DataWarning` through Python's :mod:`warnings` module rather
than an error: the plan may still be right, but the solver works to relative tolerances of about
1e-9 and may lose the small amounts. :func:`scaling_warnings` returns the same texts as a list.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from planner.data.payment_checks import payment_problems
from planner.data.references import _bad, _did_you_mean, _line, _present, _unknown
from planner.data.schema import TABLES, InstanceConfig
from planner.data.tables import BAD_CELLS, LINES
from planner.errors import Problem

SCALE_RATIO = 1e9  # nonzero amounts further apart than this strain the solver's tolerances
MONEY_COLUMNS = {"levels": ("transaction_cost", "delegated_budget"), "services": ("tariff",),
                 "providers": ("min_income", "entry_cost", "exit_cost"),
                 "offers": ("price", "setup_cost")}
ACTIVITY_COLUMNS = {"services": ("demand",), "offers": ("capacity", "incumbent_volume")}


class DataWarning(UserWarning):
    """Valid data that may still mislead the solver or the analyst (e.g. badly scaled amounts)."""


def check_tables(config: InstanceConfig | None, tables: dict[str, pd.DataFrame],
                 from_file: bool) -> list[Problem]:
    """Every cross-row and cross-table problem; a DataWarning for badly scaled clean data (no
    bad cell, no cross-table problem: warnings about data being fixed would only distract).

    The reader's line numbers (``frame.attrs``) are dropped afterwards, so the instance's
    tables carry no hidden state into the model.
    """
    problems = _check_tables(config, tables, from_file)
    clean = not problems and not any(frame.attrs.get(BAD_CELLS) for frame in tables.values())
    for frame in tables.values():
        frame.attrs.pop(LINES, None)
        frame.attrs.pop(BAD_CELLS, None)
    texts = unused_effect_rows(tables) + (scaling_warnings(config, tables) if clean else [])
    for text in texts:
        warnings.warn(text, DataWarning, stacklevel=3)
    return problems


def _check_tables(config: InstanceConfig | None, tables: dict[str, pd.DataFrame],
                  from_file: bool) -> list[Problem]:
    problems: list[Problem] = []
    for name in ("levels", "services", "providers", "offers"):
        if len(tables[name]) == 0:
            problems.append(Problem(name, "has no rows.", f"Add at least one row to {name}."))
    problems += _duplicates(tables, from_file)
    problems += _references(tables, from_file)
    problems += _service_rows(tables, from_file)
    problems += _offer_rows(tables, from_file)
    problems += payment_problems(tables, from_file)  # issue 16: blocks and bundles
    if config is not None:
        problems += _policy(config, tables)
    from planner.data.shifting_checks import check_shifting  # effects.csv, min_coverage (issue 15)

    problems += check_shifting(config, tables, from_file)
    from planner.data.area_checks import check_areas  # areas.csv, access, pooled (issue 17)

    problems += check_areas(config, tables, from_file)
    return problems


def _duplicates(tables: dict[str, pd.DataFrame], from_file: bool) -> list[Problem]:
    """Every row repeating an earlier row's id, found in one pass (``DataFrame.duplicated``) and
    labelled column-wise, so 20,000 repeated rows cost milliseconds, not minutes."""
    problems = []
    for name, frame in tables.items():
        key = list(TABLES[name].key)
        present = frame[key].map(_present).all(axis=1).to_numpy()
        repeated = np.flatnonzero(frame.duplicated(subset=key, keep="first").to_numpy() & present)
        if not len(repeated):
            continue
        labels = frame[key].iloc[repeated].astype(str).agg("/".join, axis=1).tolist()
        for position, label in zip(repeated, labels):
            problems.append(Problem(name, f"duplicate {'/'.join(key)} '{label}'.",
                                    "Keep one row per id (merge or rename the others).",
                                    row=label, line=_line(frame, position, from_file),
                                    column=key[-1]))
    return problems


def _references(tables: dict[str, pd.DataFrame], from_file: bool) -> list[Problem]:
    levels = set(tables["levels"]["level"])
    services = set(tables["services"]["service"])
    providers = set(tables["providers"]["provider"])
    problems = []
    problems += _unknown(tables["offers"], "offers", "provider", providers, "provider", from_file)
    problems += _unknown(tables["offers"], "offers", "service", services, "service", from_file)
    problems += _unknown(tables["services"], "services", "allowed_levels", levels, "level",
                         from_file, is_list=True)
    problems += _unknown(tables["providers"], "providers", "conflicted_levels", levels, "level",
                         from_file, is_list=True)
    effects = tables["level_effects"]
    problems += _unknown(effects, "level_effects", "level", levels, "level", from_file)
    return problems


def unused_effect_rows(tables: dict[str, pd.DataFrame]) -> list[str]:
    """Warnings for level_effects rows whose category no service has.

    Such a row has no effect, but it is not an error: one national table of demand factors
    should serve every area, whichever categories the area's services happen to use.
    """
    effects = tables["level_effects"]
    if "category" not in effects or "category" not in tables["services"]:
        return []
    categories = {c for c in tables["services"]["category"] if _present(c)}
    out = []
    for level, category in zip(effects.get("level", [None] * len(effects)), effects["category"]):
        if _present(category) and category not in categories:
            hint = _did_you_mean(str(category), categories).replace("? ", "?")
            out.append(f"level_effects row {level}/{category}: no service has category "
                       f"'{category}': this row has no effect." + (f" {hint}" if hint else ""))
    return out


def _service_rows(tables: dict[str, pd.DataFrame], from_file: bool) -> list[Problem]:
    services = tables["services"]
    problems = []
    unreadable = _bad(services, "demand") | _bad(services, "activity_rate")
    no_size = services["demand"].isna() & services["activity_rate"].isna() & ~unreadable
    every_row = len(services) > 1 and bool(no_size.all())
    if every_row:  # one problem, not one per row: the column is missing or misnamed
        problems.append(Problem("services", "no row gives demand or activity_rate: the column is "
                                "missing, misnamed or empty.",
                                "Add a demand column (episodes per year) or an activity_rate "
                                "column (episodes per person per year), one of them on each row.",
                                column="demand"))
    for position, row in enumerate(services.itertuples(index=False)):
        where = {"row": row.service, "line": _line(services, position, from_file)}
        has_demand, has_rate = not np.isnan(row.demand), not np.isnan(row.activity_rate)
        if not has_demand and not has_rate and not unreadable[position] and not every_row:
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
    offers, services, providers = tables["offers"], tables["services"], tables["providers"]
    tariff = services.drop_duplicates("service").set_index("service")["tariff"]
    incumbent = providers.drop_duplicates("provider").set_index("provider")["incumbent"]
    bad_tariff = set(services.loc[_bad(services, "tariff"), "service"])
    bad_incumbent = set(providers.loc[_bad(providers, "incumbent"), "provider"])
    problems = []
    service_tariff = offers["service"].map(tariff)
    no_price = (service_tariff.isna() & offers["price"].isna() & (offers["payment"] != "block")
                & offers["service"].isin(tariff.index)).to_numpy() \
        & ~_bad(offers, "price") & ~offers["service"].isin(bad_tariff).to_numpy()
    for position in np.flatnonzero(no_price):
        row = offers.iloc[position]
        problems.append(Problem("offers", f"no price for {row['service']}, which has no tariff.",
                                "Give the local price (£ per episode) or a tariff in services.csv.",
                                row=f"{row['provider']}/{row['service']}",
                                line=_line(offers, position, from_file), column="price"))
    not_incumbent = ((offers["incumbent_volume"] > 0) & offers["provider"].map(incumbent).eq(False)
                     & ~offers["provider"].isin(bad_incumbent))
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
    from planner.data.prudent import policy_problems  # prudent budget (issue 18)

    problems.extend(policy_problems(config))
    return problems


def scaling_warnings(config: InstanceConfig | None, tables: dict[str, pd.DataFrame]) -> list[str]:
    """Texts warning of money, or activity, whose nonzero sizes span more than SCALE_RATIO.

    HiGHS works to tolerances of about 1e-9 relative to the largest numbers in a row, so a
    £0.0001 price beside a £400m budget (or 1e-6 episodes beside 1e6) may be lost in rounding.
    """
    population = config.population if config is not None else float("nan")
    money: list[tuple[float, str]] = []
    activity: list[tuple[float, str]] = []
    for sizes, columns in ((money, MONEY_COLUMNS), (activity, ACTIVITY_COLUMNS)):
        for table, names in columns.items():
            for name in names:
                values = pd.to_numeric(tables[table][name], errors="coerce")
                if table == "services" and name == "demand":
                    rate = pd.to_numeric(tables[table]["activity_rate"], errors="coerce")
                    values = values.fillna(rate * population)
                sizes += [(abs(v), f"{table}.{name}") for v in values if _sizeable(v)]
    if config is not None:
        policy = config.policy
        budgets = policy.budget if isinstance(policy.budget, list) else [policy.budget]
        money += [(abs(b), "policy.budget") for b in budgets if _sizeable(b)]
        if _sizeable(policy.management_cost_cap):
            money.append((abs(policy.management_cost_cap), "policy.management_cost_cap"))
    texts = []
    for what, unit, sizes in (("money", "£", money), ("activity", "episodes", activity)):
        if len(sizes) < 2:
            continue
        (low, low_at), (high, high_at) = min(sizes), max(sizes)
        if high > SCALE_RATIO * low:
            texts.append(f"{what} values span {low:g} {unit} ({low_at}) to {high:g} {unit} "
                         f"({high_at}), a ratio above {SCALE_RATIO:.0e}: the solver may lose the "
                         "small amounts in rounding. Check the units (e.g. £ against £ million), "
                         "or write negligible amounts as 0.")
    return texts


def _sizeable(value: object) -> bool:
    return isinstance(value, int | float | np.floating) and math.isfinite(value) and value != 0
