"""Reading an instance from one .xlsx workbook (the writing side is :mod:`planner.reports.xlsx`).

A sheet per table (``levels``, ``services``, ``providers``, ``offers``, optional
``level_effects``) with the CSV's columns, and an ``instance`` sheet of key/value rows
(``policy.budget`` and so on; lists as JSON or YAML flow text). Cells are read as text and go
through exactly the validation of CSV tables, so every message is the same, with the sheet's
row number as the line and the sheet named where a CSV file would be.

The workbook is checked before it is read (:mod:`planner.data.xlsx_guard`: sizes, DOCTYPEs, used
ranges), only the cells a sheet holds are read (never the declared range padded out), and a
formula with no stored value is an error rather than a blank.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from planner.csvsafe import FORMULA_STARTS
from planner.data.config import MAX_YAML_DEPTH, _flow_depth, _UniqueKeyLoader, _validate_config
from planner.data.schema import OPTIONAL_TABLES, TABLE_NAMES, TABLES, InstanceConfig
from planner.data.xlsx_guard import (
    MAX_CELL_CHARS,
    MAX_SHEET_COLUMNS,
    MAX_SHEET_ROWS,
    check_archive,
    check_dimension,
    uncached_formulas,
)
from planner.errors import InputError, Problem

INSTANCE_SHEET = "instance"
_CSV_NAME = re.compile(r"\b(" + "|".join(TABLE_NAMES) + r")\.csv\b")


def _sheet_label(name: str) -> str:
    return f"sheet '{name}'"


def _as_text(value: Any) -> str:
    """A cell as the text a CSV would have held (numbers exactly, true/false, dates ISO)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return _unescape(str(value))


def _unescape(value: str) -> str:
    if len(value) > 1 and value[0] == "'" and value[1] in "".join(FORMULA_STARTS):
        return value[1:]
    return value


@dataclass(frozen=True)
class WorkbookTables:
    """A workbook's cells as the CSV reader would give them, before typing and cross-checks."""

    config: InstanceConfig | None
    raw: dict[str, pd.DataFrame | None]
    problems: list[Problem]
    row_numbers: dict[str, list[int]]
    key_rows: dict[str, int]
    config_label: str

    def locate(self, problem: Problem) -> Problem:
        """The problem with the sheet's row number as its line (and the key's row for config)."""
        return _locate(problem, self.row_numbers, self.key_rows, self.config_label)


def read_workbook_tables(path: str | Path) -> WorkbookTables:
    """Read an instance workbook's sheets (checked first: see :mod:`planner.data.xlsx_guard`)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(Problem(path.name, f"'{path}' is not a file.", "Give an .xlsx workbook."))
    check_archive(path)
    book = _open(path)
    try:
        sheets = {str(title).strip().lower(): (title, book[title]) for title in book.sheetnames}
        problems: list[Problem] = []
        for name in (INSTANCE_SHEET, *TABLE_NAMES):
            if name in sheets:
                title, sheet = sheets[name]
                check_dimension(sheet, title, path.name)
                problems += uncached_formulas(path, getattr(sheet, "_worksheet_path", None),
                                              title)
        config_data, key_rows, config_label = _config_data(path, sheets, problems)
        config = _validate_config(config_data, problems) if config_data is not None else None
        raw: dict[str, pd.DataFrame | None] = {}
        row_numbers: dict[str, list[int]] = {}
        for name in TABLE_NAMES:
            if name not in sheets:
                if name in OPTIONAL_TABLES:
                    raw[name] = pd.DataFrame(columns=TABLES[name].column_names, dtype=str)
                    row_numbers[name] = []
                else:
                    problems.append(Problem(_sheet_label(name), f"is missing from {path.name}.",
                                            f"Add a sheet named '{name}' with the columns of "
                                            f"the {name} table (see docs/data-format.md)."))
                    raw[name] = None
                continue
            title, sheet = sheets[name]
            raw[name], row_numbers[name] = _read_sheet(sheet, title, path.name, problems)
    finally:
        book.close()
    return WorkbookTables(config, raw, problems, row_numbers, key_rows, config_label)


def _open(path: Path):
    try:
        return load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on a damaged file
        raise InputError(Problem(path.name, f"is not a readable Excel workbook "
                                 f"({type(exc).__name__}: {str(exc)[:200]}).",
                                 "Save it from Excel or LibreOffice as .xlsx.")) from None


def _rows(sheet, title: str, book_name: str):
    """(row number, cell values) of the rows a sheet holds, without padding to the declared
    range (``reset_dimensions``), refusing a cell beyond the row or column limits."""
    sheet.reset_dimensions()
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        if not values:
            continue
        if len(values) > MAX_SHEET_COLUMNS or number > MAX_SHEET_ROWS:
            far = [i for i, v in enumerate(values) if v is not None and
                   (i >= MAX_SHEET_COLUMNS or number > MAX_SHEET_ROWS)]
            if far:
                cell = f"{get_column_letter(far[0] + 1)}{number}"
                raise InputError(Problem(
                    _sheet_label(title), f"cell {cell} holds a value beyond the limits of "
                    f"{MAX_SHEET_ROWS:,} rows and {MAX_SHEET_COLUMNS} columns.",
                    f"Delete the stray cell {cell} and save {book_name} again."))
            values = values[:MAX_SHEET_COLUMNS]
        yield number, values


def _cell_text(value: Any, title: str, number: int, column: int,
               problems: list[Problem]) -> str:
    text = _as_text(value)
    if len(text) > MAX_CELL_CHARS:
        problems.append(Problem(_sheet_label(title), f"cell {get_column_letter(column + 1)}"
                                f"{number} holds {len(text):,} characters, more than Excel's "
                                f"{MAX_CELL_CHARS:,}.", "Shorten it.", line=number))
        return text[:60]
    return text


def _read_sheet(sheet, title: str, book_name: str,
                problems: list[Problem]) -> tuple[pd.DataFrame, list[int]]:
    """A sheet as text cells: the first non-blank row is the header; blank rows are skipped.

    Returns the frame and, for each of its rows, the row number in the sheet (for messages).
    """
    header: list[str] | None = None
    rows: list[list[str]] = []
    numbers: list[int] = []
    for number, values in _rows(sheet, title, book_name):
        cells = [_cell_text(v, title, number, i, problems) for i, v in enumerate(values)]
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header = [c.strip() for c in cells]
            continue
        rows.append(cells)
        numbers.append(number)
    header = header or []
    widest = max((len(r) for r in rows), default=0)
    header += [""] * max(0, widest - len(header))  # a value right of the header is reported
    while header and not header[-1] and not any(len(r) >= len(header) and r[len(header) - 1].strip()
                                                for r in rows):
        header.pop()
    width = len(header)
    named = [h or f"column {get_column_letter(i + 1)}" for i, h in enumerate(header)]
    body = [(r + [""] * width)[:width] for r in rows]
    return pd.DataFrame(body, columns=named, dtype=str), numbers


def _config_data(path: Path, sheets: dict, problems: list[Problem]
                 ) -> tuple[dict[str, Any] | None, dict[str, int], str]:
    """The instance settings: the ``instance`` sheet's key/value rows, or a YAML file beside it."""
    if INSTANCE_SHEET not in sheets:
        from planner.data.config import _read_yaml

        for candidate in (path.with_suffix(".yaml"), path.parent / "instance.yaml"):
            if candidate.is_file():
                return _read_yaml(candidate), {}, candidate.name
        problems.append(Problem(_sheet_label(INSTANCE_SHEET), f"is missing from {path.name}.",
                                "Add a sheet 'instance' with key and value columns (name, "
                                "population, policy.budget, ...), or an instance.yaml beside it."))
        return None, {}, _sheet_label(INSTANCE_SHEET)
    title, sheet = sheets[INSTANCE_SHEET]
    data: dict[str, Any] = {}
    key_rows: dict[str, int] = {}
    for number, values in _rows(sheet, title, path.name):
        values = list(values) + [None, None]
        key = _cell_text(values[0], title, number, 0, problems).strip()
        if not key or key.lower() in ("key", "keys") or key.startswith(("#", "note")):
            continue
        value = values[1]
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if isinstance(value, str):
            if len(value) > MAX_CELL_CHARS:
                _cell_text(value, title, number, 1, problems)
                continue
            value = _parse_value(_unescape(value.strip()), key, number, problems)
        elif isinstance(value, dt.datetime | dt.date):
            value = value.isoformat()
        key_rows[key] = number
        target = data
        parts = key.split(".")
        for part in parts[:-1]:
            nested = target.setdefault(part, {})
            if not isinstance(nested, dict):
                problems.append(Problem(_sheet_label(INSTANCE_SHEET), f"key '{key}' clashes with "
                                        f"'{part}' given as a value.", "Give each key once.",
                                        line=number))
                break
            target = nested
        else:
            if parts[-1] in target:
                problems.append(Problem(_sheet_label(INSTANCE_SHEET), f"key '{key}' is given twice.",
                                        "Keep one row per key.", line=number))
            target[parts[-1]] = value
    return data, key_rows, _sheet_label(INSTANCE_SHEET)


def _parse_value(value: str, key: str, number: int, problems: list[Problem]) -> Any:
    """Text in a value cell: null, a list or mapping as JSON or YAML flow text, else the text
    itself (numbers are converted when the settings are validated).

    Why not plain ``yaml.safe_load``: a 12 KB cell of aliases expanded to gigabytes and 10,000
    brackets overflowed the stack. Brackets are counted first, JSON is tried next (no aliases,
    no tags), and YAML is read only after its events show no alias, anchor or tag.
    """
    def refuse(message: str) -> None:
        problems.append(Problem(_sheet_label(INSTANCE_SHEET), f"key '{key}': {message}",
                                "Write it as JSON, e.g. [1400000, 1450000] or "
                                '[{"category": "x", "settings": ["home"], "min_share": 0.2}].',
                                row=key, line=number))

    if value.lower() in ("null", "none", "~"):
        return None
    if value[0] not in "[{":
        return value
    if _flow_depth(value) > MAX_YAML_DEPTH:
        refuse(f"the value nests brackets more than {MAX_YAML_DEPTH} deep.")
        return None
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        pass
    try:
        for event in yaml.parse(value, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                refuse("the value uses YAML anchors or aliases (&name, *name), which are refused.")
                return None
            if getattr(event, "tag", None):
                refuse(f"the value uses the YAML tag '{event.tag}', and tags are refused.")
                return None
        return yaml.load(value, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except (yaml.YAMLError, RecursionError):
        refuse(f"'{value[:60]}' is not a valid list or mapping.")
        return None


def _locate(problem: Problem, row_numbers: dict[str, list[int]], key_rows: dict[str, int],
            config_label: str) -> Problem:
    """Name the sheet (in the message and fix too, where a CSV file is named) and give the
    sheet's row number as the line."""
    problem = replace(problem, message=_CSV_NAME.sub(r"sheet '\1'", problem.message),
                      fix=_CSV_NAME.sub(r"sheet '\1'", problem.fix))
    if problem.table == "instance.yaml":
        line = problem.line
        row_id = problem.row
        for key, row in key_rows.items():
            if f"'{key}'" in problem.message:
                line, row_id = row, key
                break
        return replace(problem, table=config_label, line=line, row=row_id)
    if problem.table in row_numbers:
        line = problem.line
        numbers = row_numbers[problem.table]
        if line is not None and 0 <= line - 2 < len(numbers):
            line = numbers[line - 2]
        return replace(problem, table=_sheet_label(problem.table), line=line)
    return problem
