"""Validation of areas (issue 17): ``areas.csv``, ``area_demand.csv``, ``offers.areas`` and the
area policy (``fair_share_band``, ``la_contribution``).

Why a module of its own: these rules tie the areas to the instance's population, to the
services' demand and to the offers, and they stop :mod:`formulations.areas` from being asked
something meaningless. Every problem names table, row, column, what is wrong and what would fix
it, and all are reported together before anything is built (as :mod:`planner.data.checks`).

Rules:
* the areas' populations sum to instance.yaml's population (within 0.01 %);
* ``offers.areas`` and ``area_demand.area`` name areas of areas.csv (and need the file);
* ``area_demand.service`` names a service, and a service's area demands sum to its demand;
* an effect target (whose demand the effects move) cannot have offers limited to some areas;
* ``la_contribution`` has one number per year (a list for T > 1), is refused under
  carry_forward break-even (whose carried money would mix the two purses), and needs a pooled
  level (``pooled: true`` in levels.csv, or a level called joint_la).
"""

from __future__ import annotations

import pandas as pd

from planner.data.schema import InstanceConfig
from planner.errors import Problem

#: relative tolerance of a sum of populations or of area demands against its total
SUM_TOL = 1e-4


def check_areas(config: InstanceConfig | None, tables: dict[str, pd.DataFrame],
                from_file: bool) -> list[Problem]:
    """Every problem of the area tables and policy (an empty list when they are sound)."""
    from planner.data.references import _line, _unknown

    areas = tables.get("areas")
    area_demand = tables.get("area_demand")
    offers, services = tables["offers"], tables["services"]
    problems: list[Problem] = []
    has_areas = areas is not None and not areas.empty
    known = set(areas["area"].dropna()) if has_areas else set()
    if has_areas and config is not None and "population" in areas:
        total = float(areas["population"].fillna(0).sum())
        if abs(total - config.population) > SUM_TOL * config.population:
            problems.append(Problem(
                "areas", f"the areas' populations sum to {total:,.0f} people, but instance.yaml's "
                f"population is {config.population:,.0f}.",
                "Make the populations add up to the instance's population (or change "
                "population in instance.yaml).", column="population"))
    limited = offers.loc[offers["areas"].map(len) > 0] if "areas" in offers else offers.iloc[:0]
    if len(limited) and not has_areas:
        first = limited.iloc[0]
        problems.append(Problem("offers", "names areas, but the instance has no areas.csv.",
                                "Add areas.csv with those areas, or leave the areas column blank.",
                                row=f"{first['provider']}/{first['service']}", column="areas"))
    elif len(limited):
        problems += _unknown(offers, "offers", "areas", known, "area", from_file, is_list=True)
    if area_demand is not None and not area_demand.empty:
        if not has_areas:
            problems.append(Problem("area_demand", "gives demand by area, but the instance has "
                                    "no areas.csv.", "Add areas.csv, or remove area_demand.csv."))
        else:
            problems += _unknown(area_demand, "area_demand", "area", known, "area", from_file)
        problems += _unknown(area_demand, "area_demand", "service", set(services["service"]),
                             "service", from_file)
        problems += _demand_sums(config, area_demand, services)
    targets = set(tables["effects"]["target"]) if tables.get("effects") is not None else set()
    for position, row in enumerate(limited.itertuples(index=False)):
        if row.service in targets:
            problems.append(Problem(
                "offers", f"service '{row.service}' is an effect target (effects.csv), whose "
                "demand the plan moves; its offers cannot be limited to some areas.",
                "Leave this offer's areas blank, or remove the effect.",
                row=f"{row.provider}/{row.service}", line=_line(limited, position, from_file),
                column="areas"))
    if config is not None:
        problems += _policy(config, tables)
    return problems


def _demand_sums(config: InstanceConfig | None, area_demand: pd.DataFrame,
                 services: pd.DataFrame) -> list[Problem]:
    """A service's area demands sum to its demand (episodes a year)."""
    population = config.population if config is not None else float("nan")
    frame = services.drop_duplicates("service").set_index("service")
    demand = frame["demand"].fillna(frame["activity_rate"] * population)
    problems = []
    for service, given in area_demand.groupby("service")["demand"].sum().items():
        total = demand.get(service)
        if total is None or pd.isna(total):
            continue
        if abs(given - total) > SUM_TOL * max(1.0, total):
            problems.append(Problem(
                "area_demand", f"service '{service}''s area demands sum to {given:,.6g} episodes, "
                f"but services.csv gives it {total:,.6g}.",
                "Make the areas' demands add up to the service's demand (services.csv), or "
                "leave the service out of area_demand.csv to split it by population × need.",
                row=str(service), column="demand"))
    return problems


def _policy(config: InstanceConfig, tables: dict[str, pd.DataFrame]) -> list[Problem]:
    policy = config.policy
    value = policy.la_contribution
    problems = []
    if isinstance(value, list) and len(value) != config.horizon:
        problems.append(Problem("instance.yaml", f"policy.la_contribution has {len(value)} numbers "
                                f"for a horizon of {config.horizon} years.",
                                f"Give one £ amount per year ({config.horizon}), or one number."))
        return problems
    if not any(v > 0 for v in (value if isinstance(value, list) else [value])):
        return problems
    if policy.break_even == "carry_forward" and config.horizon > 1:
        problems.append(Problem("instance.yaml", "policy.la_contribution is not supported with "
                                "carry_forward break-even (carried money would mix the two "
                                "purses).", "Use annual or multi_year break-even, or set "
                                "la_contribution to 0."))
    levels = tables["levels"]
    pooled = levels["pooled"].fillna(False).astype(bool) if "pooled" in levels else False
    if not (pooled | (levels["level"] == "joint_la")).any():
        problems.append(Problem("instance.yaml", "policy.la_contribution is set, but no level is "
                                "pooled, so the money could pay for nothing.",
                                "Mark the level(s) commissioned jointly with the local authority "
                                "pooled: true in levels.csv (or name one joint_la), or set "
                                "la_contribution to 0."))
    return problems
