"""An instance: the validated configuration and typed tables of one commissioning problem.

An instance is built from a folder (``instance.yaml`` plus CSV tables) or from pandas DataFrames.
Either way the same checks run, and *every* problem is reported in one :class:`InputError`
before anything is modelled.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from planner.data.checks import check_tables
from planner.data.config import _fallback_paths, _inside, _read_yaml, _validate_config
from planner.data.schema import OPTIONAL_TABLES, TABLE_NAMES, TABLES, InstanceConfig
from planner.data.tables import parse_table, read_csv_text
from planner.data.workbook import read_workbook_tables
from planner.errors import InputError, Problem


@dataclass(frozen=True)
class Instance:
    """A validated commissioning instance. Tables are typed DataFrames (one row per id).

    Money is in £ (per year unless stated), activity in episodes per year, populations in people.
    """

    config: InstanceConfig
    levels: pd.DataFrame
    services: pd.DataFrame
    providers: pd.DataFrame
    offers: pd.DataFrame
    level_effects: pd.DataFrame
    source: str | None = None
    #: substitution / invest-to-save effects between services (issue 15); empty = none
    effects: pd.DataFrame = field(default_factory=lambda: _empty("effects"))
    #: capitated bundles (optional bundles.csv, issue 16; empty = none)
    bundles: pd.DataFrame = field(default_factory=lambda: _empty("bundles"))
    #: localities with their population and need (issue 17); empty = one area, as before
    areas: pd.DataFrame = field(default_factory=lambda: _empty("areas"))
    #: each area's demand for a service (issue 17); empty = demand split by population × need
    area_demand: pd.DataFrame = field(default_factory=lambda: _empty("area_demand"))

    # --- construction -----------------------------------------------------------------------
    @classmethod
    def from_dir(cls, path: str | Path) -> Instance:
        """Load and validate an instance folder (or a path to its ``instance.yaml``, or an .xlsx
        workbook with the tables as sheets: see :mod:`planner.reports.xlsx`)."""
        folder = Path(path)
        # --- Excel workbooks (issue 6): same validation, sheet rows as lines -----------------
        if folder.suffix.lower() in (".xlsx", ".xls", ".xlsm", ".ods") and not folder.is_dir():
            if folder.suffix.lower() != ".xlsx":
                raise InputError(Problem(folder.name, f"'{path}' is not an .xlsx workbook.",
                                         "Save it from your spreadsheet program as .xlsx."))
            return read_instance_workbook(folder)
        # --- end Excel workbooks -----------------------------------------------------------
        if folder.is_file() and folder.suffix in (".yaml", ".yml"):
            folder = folder.parent
        if not folder.is_dir():
            raise InputError(Problem("instance", f"'{path}' is not an instance folder.",
                                     "Give the folder holding instance.yaml and the CSV tables."))
        workbooks = [p for p in folder.glob("*.xlsx") if not p.name.startswith("~$")]
        if len(workbooks) == 1 and not (folder / "instance.yaml").exists():
            return read_instance_workbook(workbooks[0])
        config_data = _read_yaml(folder / "instance.yaml")
        problems: list[Problem] = []
        config = _validate_config(config_data, problems)
        paths = config.tables if config is not None else _fallback_paths(config_data)
        raw: dict[str, pd.DataFrame | None] = {}
        for name in TABLE_NAMES:
            relative = getattr(paths, name)
            table_path = _inside(folder, relative, name, problems)
            if table_path is None:
                raw[name] = None
                continue
            if name in OPTIONAL_TABLES and not table_path.exists():
                raw[name] = pd.DataFrame(columns=TABLES[name].column_names, dtype=str)
                continue
            raw[name] = read_csv_text(table_path, name, problems)
        return cls._validated(config, raw, from_file=True, source=str(folder.resolve()), problems=problems)

    @classmethod
    def from_frames(
        cls,
        config: InstanceConfig | dict[str, Any],
        levels: pd.DataFrame,
        services: pd.DataFrame,
        providers: pd.DataFrame,
        offers: pd.DataFrame,
        level_effects: pd.DataFrame | None = None,
        effects: pd.DataFrame | None = None,
        bundles: pd.DataFrame | None = None,
        areas: pd.DataFrame | None = None,
        area_demand: pd.DataFrame | None = None,
    ) -> Instance:
        """Build and validate an instance from DataFrames with the columns of the CSV tables."""
        problems: list[Problem] = []
        if not isinstance(config, InstanceConfig):
            config = _validate_config(dict(config), problems)
        if level_effects is None:
            level_effects = pd.DataFrame(columns=TABLES["level_effects"].column_names)
        if effects is None:
            effects = pd.DataFrame(columns=TABLES["effects"].column_names)
        if bundles is None:
            bundles = pd.DataFrame(columns=TABLES["bundles"].column_names, dtype=str)
        areas = pd.DataFrame(columns=TABLES["areas"].column_names) if areas is None else areas
        if area_demand is None:
            area_demand = pd.DataFrame(columns=TABLES["area_demand"].column_names)
        raw = {"levels": levels, "services": services, "providers": providers,
               "offers": offers, "level_effects": level_effects, "effects": effects,
               "bundles": bundles, "areas": areas, "area_demand": area_demand}
        return cls._validated(config, raw, from_file=False, source=None, problems=problems)

    def with_changes(self, config: InstanceConfig | dict[str, Any],
                     changed: dict[str, pd.DataFrame]) -> Instance:
        """A copy of this instance with ``config`` and the ``changed`` tables, validated like any
        instance (every cross-table check runs); the tables not changed were typed when this
        instance was validated and are not parsed again (a sweep's scenario changes one column
        of one table, or only the policy)."""
        problems: list[Problem] = []
        if not isinstance(config, InstanceConfig):
            config = _validate_config(dict(config), problems)
        raw = {name: changed.get(name, getattr(self, name)) for name in TABLE_NAMES}
        return type(self)._validated(config, raw, from_file=False, source=None, problems=problems,
                                     typed_already=frozenset(TABLE_NAMES) - set(changed))

    @classmethod
    def _validated(cls, config: InstanceConfig | None, raw: dict[str, pd.DataFrame | None],
                   from_file: bool, source: str | None, problems: list[Problem],
                   typed_already: frozenset[str] = frozenset()) -> Instance:
        """Type every table (but those ``typed_already``, from a validated instance) and run
        every cross-check, then raise all problems together."""
        typed: dict[str, pd.DataFrame] = {}
        for name in TABLE_NAMES:
            frame = raw[name]
            if frame is None:
                continue
            if name in typed_already:
                typed[name] = frame.copy()  # a copy, as parse_table gives: no table is shared
                continue
            if not isinstance(frame, pd.DataFrame):
                problems.append(Problem(name, "is not a pandas DataFrame.",
                                        "Pass a DataFrame with the table's columns."))
                continue
            typed[name] = parse_table(frame, TABLES[name], problems, from_file)
        if len(typed) == len(TABLE_NAMES):
            problems.extend(check_tables(config, typed, from_file))
        if problems or config is None:
            raise InputError(problems)
        services = typed["services"].copy()
        # Demand given as a rate becomes episodes; the rate is then cleared so that the instance
        # says each thing once (and re-validating a copy, e.g. a scenario, stays valid).
        services["demand"] = services["demand"].fillna(
            services["activity_rate"] * config.population)
        services["activity_rate"] = float("nan")
        typed["services"] = services
        return cls(config=config, source=source, **typed)

    # --- identity ---------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.config.name

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in TABLE_NAMES}

    def sha256(self) -> str:
        """A hash of the validated content: same data, same hash, whatever the file layout."""
        digest = hashlib.sha256()
        digest.update(json.dumps(self.config.model_dump(mode="json"), sort_keys=True).encode())
        for name, frame in self.tables().items():
            if name in ("effects", "bundles", "areas", "area_demand") and frame.empty:
                continue  # an instance without them hashes as it did before they existed
            buffer = io.StringIO()
            frame.to_csv(buffer, index=False, lineterminator="\n")
            digest.update(name.encode())
            digest.update(buffer.getvalue().encode())
        return digest.hexdigest()

    def budget_for_year(self, year_index: int = 0) -> float | None:
        budget = self.config.policy.budget
        if isinstance(budget, list):
            return budget[year_index]
        return budget


def _empty(name: str) -> pd.DataFrame:
    """An optional table with no rows, typed as parse_table types it."""
    frame = parse_table(pd.DataFrame(columns=TABLES[name].column_names), TABLES[name], [], False)
    frame.attrs = {}
    return frame


def load_instance(path: str | Path) -> Instance:
    """Load and validate the instance folder (or .xlsx workbook) at ``path`` (raises InputError
    listing every problem)."""
    return Instance.from_dir(path)




def read_instance_workbook(path: str | Path) -> Instance:
    """Load and validate an instance from one .xlsx workbook (every problem reported at once,
    each located at its sheet and row): :mod:`planner.data.workbook` reads the cells."""
    tables = read_workbook_tables(path)
    try:
        return Instance._validated(tables.config, tables.raw, from_file=True, source=str(path),
                                   problems=tables.problems)
    except InputError as error:
        raise InputError([tables.locate(p) for p in error.problems]) from None
