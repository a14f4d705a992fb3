"""An instance: the validated configuration and typed tables of one commissioning problem.

An instance is built from a folder (``instance.yaml`` plus CSV tables) or from pandas DataFrames.
Either way the same checks run, and *every* problem is reported in one :class:`InputError`
before anything is modelled.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import ValidationError

from planner.checks import check_tables
from planner.errors import InputError, Problem
from planner.schema import TABLES, InstanceConfig, TablePaths
from planner.tables import parse_table, read_csv_text

TABLE_NAMES = ("levels", "services", "providers", "offers", "level_effects", "bundles")


def _empty_bundles() -> pd.DataFrame:
    """The optional bundles table when an instance has none (issue 16)."""
    return parse_table(pd.DataFrame(columns=TABLES["bundles"].column_names, dtype=str),
                       TABLES["bundles"], [], False)
MAX_YAML_BYTES = 1024 * 1024


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
    #: capitated bundles (optional bundles.csv, issue 16): see planner.payment_data
    bundles: pd.DataFrame = field(default_factory=_empty_bundles)

    # --- construction -----------------------------------------------------------------------
    @classmethod
    def from_dir(cls, path: str | Path) -> Instance:
        """Load and validate an instance folder (or a path to its ``instance.yaml``, or an .xlsx
        workbook with the tables as sheets: see :mod:`planner.excel`)."""
        folder = Path(path)
        # --- Excel workbooks (issue 6): same validation, sheet rows as lines -----------------
        if folder.suffix.lower() in (".xlsx", ".xls", ".xlsm", ".ods") and not folder.is_dir():
            if folder.suffix.lower() != ".xlsx":
                raise InputError(Problem(folder.name, f"'{path}' is not an .xlsx workbook.",
                                         "Save it from your spreadsheet program as .xlsx."))
            from planner.excel import read_instance_workbook

            return read_instance_workbook(folder)
        # --- end Excel workbooks -----------------------------------------------------------
        if folder.is_file() and folder.suffix in (".yaml", ".yml"):
            folder = folder.parent
        if not folder.is_dir():
            raise InputError(Problem("instance", f"'{path}' is not an instance folder.",
                                     "Give the folder holding instance.yaml and the CSV tables."))
        workbooks = [p for p in folder.glob("*.xlsx") if not p.name.startswith("~$")]
        if len(workbooks) == 1 and not (folder / "instance.yaml").exists():
            from planner.excel import read_instance_workbook  # a folder holding one workbook

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
            if TABLES[name].optional and not table_path.exists():
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
        bundles: pd.DataFrame | None = None,
    ) -> Instance:
        """Build and validate an instance from DataFrames with the columns of the CSV tables."""
        problems: list[Problem] = []
        if not isinstance(config, InstanceConfig):
            config = _validate_config(dict(config), problems)
        if level_effects is None:
            level_effects = pd.DataFrame(columns=TABLES["level_effects"].column_names)
        if bundles is None:
            bundles = pd.DataFrame(columns=TABLES["bundles"].column_names, dtype=str)
        raw = {"levels": levels, "services": services, "providers": providers,
               "offers": offers, "level_effects": level_effects, "bundles": bundles}
        return cls._validated(config, raw, from_file=False, source=None, problems=problems)

    @classmethod
    def _validated(cls, config: InstanceConfig | None, raw: dict[str, pd.DataFrame | None],
                   from_file: bool, source: str | None, problems: list[Problem]) -> Instance:
        """Type every table and run every cross-check, then raise all problems together."""
        typed: dict[str, pd.DataFrame] = {}
        for name in TABLE_NAMES:
            frame = raw[name]
            if frame is None:
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


def load_instance(path: str | Path) -> Instance:
    """Load and validate the instance folder (or .xlsx workbook) at ``path`` (raises InputError
    listing every problem)."""
    return Instance.from_dir(path)


# --- helpers ---------------------------------------------------------------------------------
MAX_NUMBER = 1e15  # as in the tables: a larger number in instance.yaml is a units mistake
MAX_YAML_DEPTH = 50  # PyYAML's scanner takes time quadratic in the depth of [ and { nesting


class _UniqueKeyLoader(yaml.SafeLoader):
    """The safe loader, refusing a key given twice in one mapping (YAML would keep the last
    silently, so a second ``budget:`` line would overrule the first without a word)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                repeated = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: the base class explains it
                continue
            if repeated:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key '{key}' appears twice", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path) -> dict[str, Any]:
    """Read instance.yaml safely: plain YAML only, no aliases, no object tags, at most 1 MB.

    Aliases are refused before anything is built (a "billion laughs" file expands a few lines
    into gigabytes), and so are tags that would build Python objects.
    """
    from planner.tables import decode_text

    def refuse(message: str, fix: str) -> InputError:
        return InputError(Problem("instance.yaml", message, fix))

    try:
        if not path.is_file():
            if path.exists():
                raise refuse("is not a regular file.", "Make instance.yaml a plain text file.")
            raise refuse(f"no instance.yaml in '{path.parent}'.",
                         "Create one (planner new DIR writes a template).")
        if path.stat().st_size > MAX_YAML_BYTES:
            raise refuse("is larger than 1 MB.",
                         "instance.yaml holds settings only; tables go in CSV files.")
        data = path.read_bytes()
    except OSError as exc:
        raise refuse(f"cannot be read: {exc.strerror or exc}.",
                     "Check the file exists and is readable.") from None
    problems: list[Problem] = []
    text = decode_text(data, "instance.yaml", "instance.yaml", problems,
                       fix="Save it as UTF-8 text (in Notepad: Save As, Encoding UTF-8).")
    if text is None:
        raise InputError(problems)
    if _flow_depth(text) > MAX_YAML_DEPTH:
        raise refuse(f"nests brackets more than {MAX_YAML_DEPTH} deep.",
                     "instance.yaml holds a few settings; remove the deep nesting.")
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            line = event.start_mark.line + 1
            if isinstance(event, yaml.AliasEvent):
                raise refuse(f"uses YAML anchors/aliases (*name) at line {line}.",
                             "Write each value out in full.")
            tag = getattr(event, "tag", None) or ""
            if "python/" in tag:
                raise refuse(f"is not valid YAML at line {line}: the tag "
                             f"'{tag.replace('tag:yaml.org,2002:', '!!')}' would build a Python "
                             "object, and such tags are refused.",
                             "Write plain values (numbers, text, lists, key: value).")
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        fix = ("Keep one of them." if problem.endswith("appears twice")
               else "Check indentation and quoting; plain YAML tags only.")
        raise refuse(f"is not valid YAML{where}: {problem}.", fix) from None
    except RecursionError:
        raise refuse("is nested too deeply to read.",
                     "instance.yaml holds a few settings; remove the deep nesting.") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise refuse(f"holds a value that cannot be read as a number: {exc}.",
                     "Write numbers with at most a few dozen digits (1e12, not 1 and 12 zeros "
                     "written out).") from None
    if not isinstance(data, dict):
        raise refuse("must be a mapping of keys to values.",
                     "Start from the template written by 'planner new'.")
    return data


def _flow_depth(text: str) -> int:
    """The deepest nesting of YAML flow brackets ([ and {), counting every bracket.

    A linear pre-scan, so that a file of 100,000 opening brackets is refused at once instead of
    keeping PyYAML busy for hours. Brackets inside quotes or comments count too: that can only
    over-count, and a settings file never nests anything near MAX_YAML_DEPTH deep.
    """
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(0, depth - 1)
    return deepest


def _validate_config(data: dict[str, Any], problems: list[Problem]) -> InstanceConfig | None:
    """Validate instance.yaml; on failure append one Problem per bad key and return None.

    Beyond the schema, every number must be finite and at most MAX_NUMBER in size, as in the
    tables: ``.inf`` passes a ``≥ 0`` check but would make the model meaningless.
    """
    try:
        config = InstanceConfig.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            key = ".".join(str(part) for part in error["loc"])
            if error["type"] == "extra_forbidden":
                message, fix = f"unknown key '{key}'.", "Remove it or correct its spelling."
                close = _close_key(error["loc"])
                if close:
                    fix = f"Did you mean '{close}'?"
            elif error["type"] == "missing":
                message, fix = f"required key '{key}' is missing.", f"Add '{key}'."
            else:
                shown = repr(error.get("input"))
                shown = shown if len(shown) <= 60 else shown[:57] + "..."
                message = f"key '{key}': {error['msg']} (got {shown})."
                fix = "Correct the value."
            problems.append(Problem("instance.yaml", message, fix))
        return None
    import math

    bad = [(key, value) for key, value in _numbers(config.model_dump())
           if not math.isfinite(value) or abs(value) > MAX_NUMBER]
    for key, value in bad:
        problem = "is not a finite number" if not math.isfinite(value) else "is implausibly large"
        problems.append(Problem("instance.yaml", f"key '{key}': {value:g} {problem}.",
                                f"Give a finite value below {MAX_NUMBER:.0e}; check the units "
                                "(£, people)." + (" Use null for no limit." if "budget" in key
                                                  or "cap" in key else "")))
    return None if bad else config


def _numbers(value: Any, key: str = "") -> list[tuple[str, float]]:
    """Every float in a nested dump of the config, with its dotted key."""
    if isinstance(value, dict):
        return [item for k, v in value.items() for item in _numbers(v, f"{key}.{k}" if key else k)]
    if isinstance(value, list):
        return [item for i, v in enumerate(value) for item in _numbers(v, f"{key}[{i}]")]
    if isinstance(value, float):
        return [(key, value)]
    return []


def _close_key(location: tuple) -> str | None:
    """The known key closest to a misspelt one, e.g. value_per_qualy -> value_per_qaly."""
    model: type = InstanceConfig
    for part in location[:-1]:
        field = model.model_fields.get(str(part)) if hasattr(model, "model_fields") else None
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and hasattr(annotation, "model_fields")):
            return None
        model = annotation
    close = difflib.get_close_matches(str(location[-1]), list(model.model_fields), n=1)
    return ".".join([*map(str, location[:-1]), close[0]]) if close else None


def _fallback_paths(data: dict[str, Any]) -> TablePaths:
    """Table paths when instance.yaml is invalid, so the tables can still be checked."""
    try:
        return TablePaths.model_validate(data.get("tables") or {})
    except ValidationError:
        return TablePaths()


def _inside(folder: Path, relative: str, name: str, problems: list[Problem]) -> Path | None:
    """Resolve a table path, refusing any that leave the instance folder (symlinks included)."""
    try:
        candidate = (folder / relative).resolve()
        root = folder.resolve()
        exists = candidate.exists()
    except (OSError, ValueError, RuntimeError):  # a NUL byte, a symlink loop, a name too long
        problems.append(Problem("instance.yaml", f"table path {relative!r} for {name} is not a "
                                "usable file name.", "Give a plain relative path such as "
                                f"'{name}.csv'."))
        return None
    if Path(relative).is_absolute() or not candidate.is_relative_to(root):
        problems.append(Problem("instance.yaml", f"table path '{relative}' for {name} leaves the "
                                "instance folder.", "Keep every table inside the instance folder."))
        return None
    if not exists and not TABLES[name].optional:
        problems.append(Problem(name, f"file '{relative}' not found in {folder}.",
                                f"Add {relative} (see docs/data-format.md)."))
        return None
    return candidate
