"""Validation of shifting care (issue 15): ``effects.csv`` and ``services.min_coverage``.

Why a module of its own: these rules tie rows of two tables together through the horizon
(a lag must fall inside it, an avoided demand must not go below zero in any year), and they are
what stops the model in :mod:`formulations.shifting` from being asked something meaningless.
Every problem names table, row, column, what is wrong and what would fix it, and all are
reported together before anything is built (the contract of :mod:`planner.data.checks`).

Rules:
* ``source`` and ``target`` are services of services.csv, and differ;
* the ``target`` is mandatory (its demand must be met, whatever the effects make it);
* the effects form no cycle (A shifts B shifts A would make demand depend on itself);
* ``lag`` < horizon (an effect landing after the last year is a mistake, not a no-op);
* no effect can drive a target's demand below zero: the target's least demand in year t
  (its demand × the smallest level demand_factor × growth) plus Σ factor × the most episodes
  of each avoiding source at t − lag must be ≥ 0 (the message says by how many episodes not);
* a partly covered service (min_coverage < 1) is not mandatory (mandatory means in full);
* min_share and choice_headroom are measured against a fixed demand, so they are refused on a
  service whose volume the plan chooses (an effect target, or min_coverage < 1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.data.schema import InstanceConfig
from planner.errors import Problem


def _line(frame: pd.DataFrame, position: int, from_file: bool) -> int | None:
    from planner.data.references import _line as line_of

    return line_of(frame, position, from_file)


def check_shifting(config: InstanceConfig | None, tables: dict[str, pd.DataFrame],
                   from_file: bool) -> list[Problem]:
    """Every problem of effects.csv and min_coverage (an empty list when they are sound)."""
    from planner.data.references import _unknown

    effects, services = tables.get("effects"), tables["services"]
    problems = _coverage_rows(services, effects, from_file)
    if effects is None or effects.empty:
        return problems
    known = set(services["service"].dropna())
    problems += _unknown(effects, "effects", "source", known, "service", from_file)
    problems += _unknown(effects, "effects", "target", known, "service", from_file)
    mandatory = services.drop_duplicates("service").set_index("service")["mandatory"]
    for position, row in enumerate(effects.itertuples(index=False)):
        where = {"row": f"{row.source}/{row.target}", "line": _line(effects, position, from_file)}
        if row.source == row.target:
            problems.append(Problem("effects", f"service '{row.source}' changes its own demand.",
                                    "An effect links two different services; remove the row.",
                                    column="target", **where))
        elif row.target in known and not bool(mandatory.get(row.target, False)):
            problems.append(Problem("effects", f"target '{row.target}' is not mandatory, so "
                                    "nothing says its changed demand must be met.",
                                    f"Set mandatory: true for '{row.target}' in services.csv, or "
                                    "remove the row.", column="target", **where))
        if config is not None and row.lag >= config.horizon:
            problems.append(Problem("effects", f"lag {row.lag:g} years is not inside the horizon "
                                    f"of {config.horizon} year(s): the effect would land after "
                                    "the last year planned.",
                                    f"Give a lag below {config.horizon} (0 for a single year).",
                                    column="lag", **where))
    valid = effects.loc[effects["source"].isin(known) & effects["target"].isin(known)
                        & (effects["source"] != effects["target"])]
    problems += _cycles(valid)
    if config is not None:
        problems += _below_zero(config, tables, valid)
    return problems


def _coverage_rows(services: pd.DataFrame, effects: pd.DataFrame | None,
                   from_file: bool) -> list[Problem]:
    """Partly covered services: not mandatory; no rule measured against a fixed demand."""
    problems = []
    targets = set(effects["target"]) if effects is not None and not effects.empty else set()
    for position, row in enumerate(services.itertuples(index=False)):
        where = {"row": row.service, "line": _line(services, position, from_file)}
        partial = row.min_coverage < 1 - 1e-12
        if partial and row.mandatory:
            problems.append(Problem("services", f"min_coverage {row.min_coverage:g} on a mandatory "
                                    "service, which must be commissioned in full.",
                                    "Make min_coverage 1, or mandatory false.",
                                    column="min_coverage", **where))
        if partial or row.service in targets:
            why = (f"min_coverage {row.min_coverage:g} lets the plan choose its volume"
                   if partial else "effects.csv changes its demand")
            for column in ("min_share", "choice_headroom"):
                if getattr(row, column) > 0:
                    problems.append(Problem("services", f"{column} {getattr(row, column):g} is "
                                            f"measured against a fixed demand, but {why}.",
                                            f"Leave {column} blank (0) for this service.",
                                            column=column, **where))
    return problems


def _cycles(effects: pd.DataFrame) -> list[Problem]:
    """One problem per cycle of source → target edges (depth-first search, each cycle once)."""
    edges: dict[str, list[str]] = {}
    for source, target in zip(effects["source"], effects["target"]):
        edges.setdefault(source, []).append(target)
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    found: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        path.append(node)
        for nxt in edges.get(node, ()):
            if state.get(nxt) == 1:
                found.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path)
        path.pop()
        state[node] = 2

    for node in list(edges):
        if node not in state:
            visit(node, [])
    return [Problem("effects", f"the effects form a cycle {' → '.join(cycle)}: each demand would "
                    "depend on itself.", "Remove one effect of the cycle (keep the direction the "
                    "evidence supports).", row=f"{cycle[0]}/{cycle[1]}", column="target")
            for cycle in found]


def service_demand(config: InstanceConfig, services: pd.DataFrame) -> pd.Series:
    """Episodes per year of each service in the base year (demand, or rate × population)."""
    frame = services.drop_duplicates("service").set_index("service")
    return frame["demand"].fillna(frame["activity_rate"] * config.population).fillna(0.0)


def level_factors(services: pd.DataFrame, level_effects: pd.DataFrame,
                  levels: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(smallest, largest) level demand_factor each service can get (1 where no row applies)."""
    frame = services.drop_duplicates("service").set_index("service")
    factors = level_effects.groupby("category")["demand_factor"].agg(["min", "max"])
    counts = level_effects.groupby("category")["level"].nunique()
    n_levels = levels["level"].nunique()
    category = frame["category"]
    low = category.map(factors["min"]).fillna(1.0)
    high = category.map(factors["max"]).fillna(1.0)
    partial = category.map(counts).fillna(0) < n_levels  # some level keeps factor 1
    return (np.minimum(low, 1.0).where(partial, low), np.maximum(high, 1.0).where(partial, high))


def _below_zero(config: InstanceConfig, tables: dict[str, pd.DataFrame],
                effects: pd.DataFrame) -> list[Problem]:
    """Targets whose least demand the avoiding effects could push below zero, by year."""
    services = tables["services"]
    if effects.empty or services["service"].duplicated().any():
        return []
    demand = service_demand(config, services)
    low, high = level_factors(services, tables["level_effects"], tables["levels"])
    growth = services.set_index("service")["growth"].fillna(config.policy.demand_growth)
    problems = []
    avoiding = effects.loc[effects["factor"] < 0]
    for target, rows in avoiding.groupby("target"):
        for t in range(config.horizon):
            least = demand[target] * low[target] * (1 + growth[target]) ** t
            active = rows.loc[rows["lag"] <= t]
            most = (active["factor"] * active["source"].map(demand * high)
                    * (1 + active["source"].map(growth)) ** (t - active["lag"])).sum()
            if least + most < -1e-6:
                problems.append(Problem(
                    "effects", f"the effects on '{target}' could avoid {-most:,.1f} episodes in "
                    f"year {config.base_year + t}, more than its least demand {least:,.1f}: its "
                    f"demand would go {-(least + most):,.1f} episodes below zero.",
                    "Check the factors' sign and size (episodes of the target per episode of the "
                    "source), or the demands.", row=f"{', '.join(active['source'])}/{target}",
                    column="factor"))
                break
    return problems
