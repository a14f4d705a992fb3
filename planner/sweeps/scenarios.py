"""Sweep files and scenarios: the base instance with named changes, each validated like an instance.

A sweep file (YAML) lists parameters to vary and how to combine them:

    mode: product                      # product (every combination) or zip (position by position)
    parameters:
      policy.budget: [380e6, 400e6]    # a policy key: the values to set
      services.demand:                 # a table column
        scale: [0.95, 1.0, 1.1]        # multiply (or `set:` to replace)
        where: {category: long_term_conditions}
    scenarios:                         # optional named scenarios, applied as given
      no_practice_level: {levels.max_services: {set: 0, where: {level: practice}}}

Every scenario is the base instance with its overrides applied and then validated exactly like
an instance read from files, so a bad override gets the same clear message, prefixed with the
scenario's name. Changes that only touch the budget or the value of a QALY need not even be
derived: a sweep re-sets those Params of a persistent model. Prices, demand and thresholds are
re-set in place too, after a structure check (planner.sweeps.runner, formulations.coefficients).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from planner.data.instance import TABLE_NAMES, Instance, _read_yaml
from planner.data.references import _did_you_mean
from planner.data.schema import TABLES, InstanceConfig, Policy
from planner.errors import InputError, Problem

#: Overrides a persistent model takes by re-setting a Param, without deriving the scenario.
MUTABLE_KEYS = frozenset({"policy.budget", "policy.value_per_qaly"})

#: The most scenarios one sweep may make. A product of a few long lists grows fast (ten lists of
#: ten values are 10^10 scenarios): such a sweep is refused before anything is expanded.
MAX_SCENARIOS = 100_000


class ColumnChange(BaseModel):
    """A change to a table column: ``set`` or ``scale`` by a value (or a list, when swept)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    set: Any = None
    scale: Any = None
    where: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_operation(self) -> ColumnChange:
        if (self.set is None) == (self.scale is None):
            raise ValueError("give exactly one of 'set' or 'scale'")
        return self


class SweepFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    mode: Literal["product", "zip"] = "product"
    parameters: dict[str, Any] = Field(default_factory=dict)
    scenarios: dict[str, dict[str, Any]] = Field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    """One scenario: a name, its overrides (key -> ColumnChange or value), the swept values."""

    name: str
    overrides: tuple[tuple[str, Any], ...]
    values: tuple[tuple[str, Any], ...]  # the swept parameter's value, for the results table

    @property
    def mutable_only(self) -> bool:
        return all(key in MUTABLE_KEYS for key, _ in self.overrides)

    def structural(self) -> tuple[tuple[str, Any], ...]:
        """The overrides that need a rebuild (everything but the mutable ones)."""
        return tuple((k, v) for k, v in self.overrides if k not in MUTABLE_KEYS)

    def structure_key(self) -> str:
        """Scenarios with the same key share one built model (text, so it can be hashed)."""
        return json.dumps([[k, v.model_dump(mode="json") if isinstance(v, ColumnChange) else v]
                           for k, v in self.structural()], sort_keys=True, default=str)


def load_sweep(sweep: str | Path | dict[str, Any]) -> SweepFile:
    """Read and check a sweep file (or an equivalent dict).

    A file is read by instance.yaml's own safe loader (planner.data.instance): at most 1 MB of UTF-8,
    no anchors or aliases (a "billion laughs" file is refused at its first alias, before
    anything is expanded), no Python tags, no key given twice, no deep bracket nesting.
    """
    if isinstance(sweep, str | Path):
        path = Path(sweep)
        if not path.is_file():
            raise InputError(Problem("sweep", f"no sweep file '{sweep}'.", "Give a YAML sweep file."))
        data = _read_sweep_yaml(path)
    else:
        data = sweep
    try:
        return SweepFile.model_validate(data or {})
    except ValidationError as exc:
        raise InputError([_problem(e, SweepFile, "key", "See docs/sweeps.md for the sweep file "
                                   "format.") for e in exc.errors()]) from None


def _problem(error: dict[str, Any], model: type[BaseModel], what: str, fix: str) -> Problem:
    """One of pydantic's errors as the sweep's Problem; an unknown key (a typo such as
    'paramters' or 'scael') with a did-you-mean among ``model``'s keys."""
    where = ".".join(map(str, error["loc"]))
    if error["type"] != "extra_forbidden":
        return Problem("sweep", f"{what} '{where}': {error['msg']}.", fix)
    known = set(model.model_fields)
    hint = _did_you_mean(str(error["loc"][-1]), known)
    return Problem("sweep", f"unknown {what} '{where}'.",
                   f"{hint}The keys here are {', '.join(sorted(known))}. {fix}")


def _read_sweep_yaml(path: Path) -> dict[str, Any]:
    """``path`` read by instance.yaml's loader, its messages re-worded for a sweep file."""
    def reworded(problem: Problem) -> Problem:
        fix = problem.fix or ""
        if "instance.yaml" in fix or "planner new" in fix or "CSV" in fix:
            fix = "See docs/sweeps.md for the sweep file format."
        message = problem.message.replace("instance.yaml", path.name)
        if not message.startswith(path.name):
            message = f"{path.name} {message}"
        return Problem("sweep", message, fix)

    try:
        return _read_yaml(path)
    except InputError as exc:
        raise InputError([reworded(p) for p in exc.problems]) from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise InputError(Problem("sweep", f"{path.name}: {exc}.",
                                 "Write numbers of sensible size (1e9, not a thousand digits)."))\
            from None


def scenario_count(sweep: SweepFile) -> int:
    """How many scenarios ``sweep`` makes, from the lengths of its lists (nothing expanded)."""
    lengths = [len(values) for values, _ in
               (_swept_values(key, spec) for key, spec in sweep.parameters.items())]
    if not lengths:
        swept = 0
    elif sweep.mode == "zip":
        swept = max(lengths)
    else:
        swept = math.prod(lengths)
    return swept + len(sweep.scenarios)


def sweep_hash(sweep: SweepFile, instance: Instance) -> str:
    """Identifies a sweep over an instance, so a resumed run cannot mix two different sweeps."""
    text = json.dumps(sweep.model_dump(mode="json"), sort_keys=True) + instance.sha256()
    return hashlib.sha256(text.encode()).hexdigest()


def _swept_values(key: str, spec: Any) -> tuple[list[Any], Any]:
    """(values to sweep over, how to build one override from a value)."""
    if isinstance(spec, dict):
        change = _column_change(key, spec, allow_list=True)
        operation = "set" if change.set is not None else "scale"
        values = getattr(change, operation)
        values = values if isinstance(values, list) else [values]
        return values, lambda v: ColumnChange(**{operation: v, "where": change.where})
    values = spec if isinstance(spec, list) else [spec]
    return values, lambda v: v


def _column_change(key: str, spec: dict[str, Any], allow_list: bool = False) -> ColumnChange:
    try:
        return ColumnChange.model_validate(spec)
    except ValidationError as exc:
        error = exc.errors()[0]
        if error["type"] == "extra_forbidden":
            error = {**error, "loc": (key, *error["loc"])}
            raise InputError(_problem(error, ColumnChange, "key", "Write {set: ...} or "
                                      "{scale: ...}, optionally with where: {...}.")) from None
        raise InputError(Problem("sweep", f"parameter '{key}': {error['msg']}.",
                                 "Write {set: ...} or {scale: ...}, optionally with where: {...}."))\
            from None


def known_keys() -> list[str]:
    """Every key a sweep may set: ``policy.<key>``, a top-level key of instance.yaml, and
    ``<table>.<column>``."""
    return ([f"policy.{field}" for field in Policy.model_fields]
            + [field for field in InstanceConfig.model_fields if field != "policy"]
            + [f"{table}.{column}" for table in TABLE_NAMES for column in TABLES[table].column_names])


def key_problem(key: str, where: str = "") -> Problem | None:
    """What is wrong with a key no instance has (None for a known one), with the nearest known
    key: it depends on the key alone, so it is the same in every scenario. ``where`` says where
    the key is written ("in parameters", "in scenario 'x'")."""
    head, _, rest = key.partition(".")
    at = f" ({where})" if where else ""
    if head == "policy" or key in InstanceConfig.model_fields:
        if head != "policy" or rest in Policy.model_fields:
            return None
        return Problem("sweep", f"unknown key '{key}'{at}.",
                       f"{_nearest(key)}Known policy keys: {', '.join(Policy.model_fields)}.")
    if head not in TABLE_NAMES or not rest:
        return Problem("sweep", f"unknown key '{key}'{at}.",
                       f"{_nearest(key)}Use policy.<key> or <table>.<column> with a table of: "
                       + ", ".join(TABLE_NAMES) + ".")
    if rest not in TABLES[head].column_names:
        return Problem("sweep", f"unknown column '{rest}' in key '{key}'{at}.",
                       f"{_nearest(key)}Columns of {head}: {', '.join(TABLES[head].column_names)}.")
    return None


def _nearest(key: str) -> str:
    """'Did you mean …? ' among every known key: asked only of a key found wrong (a known key
    costs no search, in every scenario of a sweep)."""
    return _did_you_mean(key, set(known_keys()))


def _refuse_unknown_keys(sweep: SweepFile) -> None:
    """A mistyped key is wrong wherever it is written: refuse it once, for the key (a key of
    ``parameters`` is in every swept scenario), before any scenario is made or checked."""
    places: dict[str, list[str]] = {key: ["in parameters"] for key in sweep.parameters}
    for name, changes in sweep.scenarios.items():
        for key in changes:
            places.setdefault(key, []).append(f"in scenario '{name}'")
    problems = [p for key, where in places.items()
                if (p := key_problem(key, "; ".join(where[:3])
                                     + ("; ..." if len(where) > 3 else ""))) is not None]
    if problems:
        raise InputError(problems)


def scenarios(sweep: SweepFile) -> list[Scenario]:
    """The scenarios of a sweep, in a stable order: swept combinations, then named ones."""
    _refuse_unknown_keys(sweep)
    keys = list(sweep.parameters)
    builders, lists = [], []
    for key in keys:
        values, build = _swept_values(key, sweep.parameters[key])
        lists.append(values)
        builders.append(build)
    count = scenario_count(sweep)
    if count > MAX_SCENARIOS:
        raise InputError(Problem("sweep", f"the sweep makes {count:,} scenarios ("
                                 + " × ".join(str(len(v)) for v in lists)
                                 + (f" + {len(sweep.scenarios)} named" if sweep.scenarios else "")
                                 + f"), more than the limit of {MAX_SCENARIOS:,}.",
                                 "Sweep fewer values, use mode: zip, or split the sweep into "
                                 "several files."))
    combos: list[tuple] = []
    if keys:
        if sweep.mode == "zip":
            lengths = {len(v) for v in lists}
            if len(lengths) > 1:
                raise InputError(Problem("sweep", "mode zip needs lists of equal length; got "
                                         + ", ".join(f"{k}: {len(v)}" for k, v in zip(keys, lists))
                                         + ".", "Give every parameter the same number of values."))
            combos = list(zip(*lists))
        else:
            combos = list(itertools.product(*lists))
    width = len(str(len(combos)))
    out = [Scenario(name=f"s{i + 1:0{width}d}",
                    overrides=tuple((k, build(v)) for k, build, v in zip(keys, builders, combo)),
                    values=tuple(zip(keys, combo)))
           for i, combo in enumerate(combos)]
    for name, changes in sweep.scenarios.items():
        overrides = tuple((key, _column_change(key, spec) if isinstance(spec, dict) else spec)
                          for key, spec in changes.items())
        out.append(Scenario(name=str(name), overrides=overrides, values=()))
    _refuse_duplicate_names(out, len(combos))
    return out


def _refuse_duplicate_names(items: list[Scenario], swept: int) -> None:
    """Two scenarios of one name would share a results row: refuse them, naming both."""
    def described(index: int) -> str:
        scenario = items[index]
        if index < swept:
            values = ", ".join(f"{k}={v}" for k, v in scenario.values)
            return f"swept scenario {index + 1} ({values})"
        return f"named scenario '{scenario.name}'"

    first: dict[str, int] = {}
    problems = []
    for index, scenario in enumerate(items):
        if scenario.name in first:
            problems.append(Problem(
                "sweep", f"scenario name '{scenario.name}' is used twice: by "
                f"{described(first[scenario.name])} and by {described(index)}.",
                "Rename the named scenario (swept scenarios are named s1, s2, ...)."))
        else:
            first[scenario.name] = index
    if problems:
        raise InputError(problems)


def apply(instance: Instance, scenario: Scenario) -> Instance:
    """The base instance with the scenario's overrides, validated like any instance."""
    config = instance.config.model_dump(mode="python")
    touched = {key.partition(".")[0] for key, _ in scenario.overrides} & set(TABLE_NAMES)
    tables = {name: frame.copy() if name in touched else frame
              for name, frame in instance.tables().items()}
    problems: list[Problem] = []
    for key, change in scenario.overrides:
        _apply_one(key, change, config, tables, problems)
    if problems:
        raise InputError([_prefixed(scenario.name, p) for p in problems])
    try:
        return instance.with_changes(config, {name: tables[name] for name in touched})
    except InputError as exc:
        raise InputError([_prefixed(scenario.name, p) for p in exc.problems]) from None


def _prefixed(name: str, problem: Problem) -> Problem:
    return Problem(problem.table, f"scenario {name}: {problem.message}", problem.fix,
                   problem.row, problem.line, problem.column)


def _apply_one(key: str, change: Any, config: dict[str, Any], tables: dict[str, pd.DataFrame],
               problems: list[Problem]) -> None:
    problem = key_problem(key)  # for scenarios made by hand: sweep files are checked before
    if problem is not None:
        problems.append(problem)
        return
    head, _, rest = key.partition(".")
    if head == "policy" or key in InstanceConfig.model_fields:
        target, field = (config["policy"], rest) if head == "policy" else (config, key)
        value = change
        if isinstance(change, ColumnChange):
            current = target.get(field)
            value = change.set if change.set is not None else _scaled(current, change.scale)
        target[field] = value
        return
    if not isinstance(change, ColumnChange):
        change = ColumnChange(set=change)
    frame = tables[head]
    mask = np.ones(len(frame), dtype=bool)
    for column, wanted in change.where.items():
        if column not in frame.columns:
            problems.append(Problem("sweep", f"unknown column '{column}' in where of '{key}'.",
                                    f"Columns of {head}: {', '.join(frame.columns)}."))
            return
        options = wanted if isinstance(wanted, list) else [wanted]
        mask &= frame[column].isin(options).to_numpy()
    if change.where and not mask.any():
        problems.append(Problem("sweep", f"where {change.where} of '{key}' matches no row.",
                                "Check the ids and values in the where filter."))
        return
    if change.set is not None:
        if pd.api.types.is_numeric_dtype(frame[rest]) and not isinstance(change.set, bool):
            frame[rest] = frame[rest].astype(float)
        frame.loc[mask, rest] = change.set
    else:
        if not pd.api.types.is_numeric_dtype(frame[rest]):
            problems.append(Problem("sweep", f"'{key}' is not a numeric column; it cannot be "
                                    "scaled.", "Use set: instead of scale:."))
            return
        frame.loc[mask, rest] = frame.loc[mask, rest].astype(float) * float(change.scale)


def _scaled(current: Any, factor: Any) -> Any:
    if isinstance(current, list):
        return [None if v is None else v * float(factor) for v in current]
    return None if current is None else current * float(factor)


def value_columns(items: list[Scenario]) -> list[str]:
    """The swept parameter names, as results columns."""
    return list(dict.fromkeys(key for s in items for key, _ in s.values))
