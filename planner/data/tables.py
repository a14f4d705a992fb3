"""Reading the tables and turning text cells into typed columns, gathering every problem.

Files are read as text rows, each with the line it came from, by :mod:`planner.data.csv_files`
(which also catches what spreadsheets produce instead of a UTF-8 CSV).

Cells are then parsed column by column (vectorised with pandas), so a bad cell is reported with
its table, row id, line and column instead of surfacing later as a cryptic type error. Columns
whose name starts with ``note`` or ``#`` are the analyst's own and are dropped; so are columns
with no header and no values (the trailing commas spreadsheets add).

Line numbers travel with a table read from a file as ``frame.attrs["lines"]`` (one per row), and
the cells already reported as bad as ``frame.attrs["bad_cells"]`` (so that a cross-check does not
report the same mistake again, e.g. "no price" after "'£30' is not a number"), until
:func:`planner.data.checks.check_tables` has used them.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from planner.data.csv_files import (  # noqa: F401 - read_csv_text, decode_text: their home before
    LINES,
    MAX_TABLE_BYTES,
    SAVE_AS_UTF8,
    SharedMapping,
    SharedTuple,
    clip,
    decode_text,
    read_csv_text,
)
from planner.data.schema import Column, TableSpec
from planner.errors import Problem

TRUE_WORDS = {"true", "yes", "y", "1", "t"}
FALSE_WORDS = {"false", "no", "n", "0", "f"}
CURRENCY_SYMBOLS = "£$€"  # named in the message for a number cell holding one (never guessed)
BAD_CELLS = "bad_cells"  # key of frame.attrs: {column: positions of cells already reported}
_UNNAMED = re.compile(r"^(Unnamed: \d+(_level_\d+)?)?$")  # '' from a file, 'Unnamed: 3' from pandas

Locate = Callable[[int], dict[str, object]]


















def _is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def _row_label(frame: pd.DataFrame, spec: TableSpec, position: int) -> str | None:
    keys = [k for k in spec.key if k in frame.columns]
    if not keys:
        return None
    values = ["" if _is_blank(v) else str(v).strip() for v in frame.iloc[position][keys]]
    label = "/".join(values)
    return label if label.strip("/") else None


def _clean_name(name: object) -> str:
    """A header as written, without surrounding spaces or stray byte-order marks."""
    return str(name).replace("\ufeff", "").strip()


def parse_table(
    raw: pd.DataFrame, spec: TableSpec, problems: list[Problem], from_file: bool
) -> pd.DataFrame:
    """Return a typed copy of ``raw`` following ``spec``; append a Problem for every bad cell."""
    lines = raw.attrs.get(LINES) if from_file else None
    frame = raw.reset_index(drop=True)
    frame.attrs = {}
    frame.columns = [_clean_name(c) for c in frame.columns]
    keep = []
    for number, name in enumerate(frame.columns, start=1):
        if name.lower().startswith(("note", "#")):
            continue
        if _UNNAMED.match(name):
            if frame.iloc[:, number - 1].map(_is_blank).all():
                continue  # an empty column without a header: a spreadsheet's trailing commas
            problems.append(Problem(spec.name, f"column {number} has values but no header.",
                                    f"Name it (known columns: {', '.join(spec.column_names)}), "
                                    "or delete it."))
            continue
        keep.append(number - 1)
    frame = frame.iloc[:, keep]
    known = set(spec.column_names)
    seen: set[str] = set()
    for name in frame.columns:
        original = name.rsplit(".", 1)[0]
        if name in seen:
            problems.append(Problem(spec.name, f"column '{name}' appears twice.",
                                    "Keep one column of each name.", column=name))
            continue
        seen.add(name)
        if name not in known and original in known and name.rsplit(".", 1)[-1].isdigit():
            problems.append(Problem(spec.name, f"column '{original}' appears twice.",
                                    "Keep one column of each name.", column=original))
            continue
        if name not in known:
            close = difflib.get_close_matches(name, spec.column_names, n=1)
            hint = f"Did you mean '{close[0]}'? " if close else ""
            problems.append(Problem(spec.name, f"unknown column '{clip(name)}'.",
                                    f"{hint}Known columns: {', '.join(spec.column_names)}; "
                                    "columns starting with 'note' are ignored.",
                                    column=clip(name)))
    frame = frame.loc[:, ~frame.columns.duplicated()]
    has_key = all(k in frame.columns for k in spec.key)

    bad: dict[str, set[int]] = {}

    def locator(name: str) -> Locate:
        """Locate a cell of column ``name`` for a Problem, remembering it as bad."""
        marks = bad.setdefault(name, set())

        def locate(position: int) -> dict[str, object]:
            marks.add(int(position))
            line = None
            if from_file:
                line = int(lines[position]) if lines is not None else position + 2
            return {"row": _row_label(frame, spec, position) if has_key else None, "line": line}

        return locate

    out = pd.DataFrame(index=frame.index)
    for column in spec.columns:
        if column.name not in frame.columns:
            if column.required:
                problems.append(Problem(spec.name, f"required column '{column.name}' is missing.",
                                        f"Add a '{column.name}' column ({column.meaning or column.kind}).",
                                        column=column.name))
            out[column.name] = _default_series(column, len(frame))
            continue
        out[column.name] = _parse_column(frame[column.name], column, spec, problems,
                                         locator(column.name))
    if lines is not None:
        out.attrs[LINES] = SharedTuple(lines)
    out.attrs[BAD_CELLS] = SharedMapping({name: frozenset(marks) for name, marks in bad.items()
                                           if marks})
    return out


def _default_series(column: Column, length: int) -> pd.Series:
    if column.kind == "list":
        return pd.Series([tuple(column.default or ())] * length, dtype=object)
    if column.kind in ("number", "integer"):
        value = np.nan if column.default is None else float(column.default)
        return pd.Series([value] * length, dtype=float)
    if column.kind == "bool":
        return pd.Series([bool(column.default)] * length, dtype=bool)
    return pd.Series([column.default] * length, dtype=object)


def _parse_column(values: pd.Series, column: Column, spec: TableSpec,
                  problems: list[Problem], locate: Locate) -> pd.Series:
    blank = values.map(_is_blank).to_numpy(dtype=bool)
    for position in np.flatnonzero(blank & (not column.blank_ok)):
        problems.append(Problem(spec.name, f"'{column.name}' is blank.",
                                f"Give a value ({column.meaning or column.kind}).",
                                column=column.name, **locate(position)))
    text = values.map(lambda v: "" if _is_blank(v) else str(v).strip())
    if column.kind in ("number", "integer"):
        return _parse_numbers(values, text, blank, column, spec, problems, locate)
    if column.kind == "bool":
        lowered = text.str.lower()
        result = lowered.isin(TRUE_WORDS)
        bad = ~blank & ~lowered.isin(TRUE_WORDS | FALSE_WORDS)
        for position in np.flatnonzero(bad.to_numpy()):
            problems.append(Problem(spec.name, f"'{text.iloc[position]}' is not true or false.",
                                    "Write true or false.", column=column.name, **locate(position)))
        return result.where(~blank, bool(column.default)).astype(bool)
    if column.kind == "list":
        def as_tuple(raw: object, joined: str) -> tuple[str, ...]:
            if isinstance(raw, list | tuple | set):
                return tuple(str(item).strip() for item in raw if str(item).strip())
            return tuple(part.strip() for part in joined.split(";") if part.strip())

        return pd.Series([as_tuple(raw, joined) for raw, joined in zip(values, text)],
                         index=values.index, dtype=object)
    if column.kind == "choice":
        bad = ~blank & ~text.isin(column.choices)
        for position in np.flatnonzero(bad.to_numpy()):
            problems.append(Problem(spec.name, f"'{text.iloc[position]}' is not a known "
                                    f"{column.name}.", f"Use one of: {', '.join(column.choices)}.",
                                    column=column.name, **locate(position)))
        return text.where(~blank, column.default).astype(object)
    return text.where(~blank, column.default).astype(object)


def _parse_numbers(values: pd.Series, text: pd.Series, blank: np.ndarray, column: Column,
                   spec: TableSpec, problems: list[Problem], locate: Locate) -> pd.Series:
    numbers = pd.to_numeric(text.where(~pd.Series(blank, index=text.index), None),
                            errors="coerce").astype(float)
    where = locate
    for position in np.flatnonzero(~blank & numbers.isna().to_numpy()):
        cell = text.iloc[position]
        fix = "Write a plain number such as 1200 or 0.25"
        if "," in cell and any(symbol in cell for symbol in CURRENCY_SYMBOLS):
            fix = ("Write a plain number without the currency symbol or thousands separators "
                   "(1200, not £1,200)")
        elif "," in cell:
            fix = "Write the number without thousands separators (e.g. 1200, not 1,200)"
        elif cell.startswith("£") or cell.endswith("%"):
            fix = "Write a plain number without £ or % (e.g. 0.25 for 25 %)"
        elif any(symbol in cell for symbol in CURRENCY_SYMBOLS):
            fix = "Write a plain number without the currency symbol (e.g. 30, not $30)"
        problems.append(Problem(spec.name, f"'{cell}' is not a number.", fix + ".",
                                column=column.name, **where(position)))
    arr = numbers.to_numpy()
    finite = np.isfinite(arr)
    present = ~blank & ~np.isnan(arr)
    for position in np.flatnonzero(present & ~finite):
        problems.append(Problem(spec.name, f"'{text.iloc[position]}' is not a finite number.",
                                "Give a finite value, or leave the cell blank where allowed.",
                                column=column.name, **where(position)))
    ok = present & finite
    for position in np.flatnonzero(ok & (np.abs(arr) > 1e15)):
        problems.append(Problem(spec.name, f"{arr[position]:g} is implausibly large.",
                                "Check the units (£, episodes); values above 1e15 are refused.",
                                column=column.name, **where(position)))
    if column.minimum is not None:
        for position in np.flatnonzero(ok & (arr < column.minimum)):
            problems.append(Problem(spec.name, f"{arr[position]:g} is below the minimum "
                                    f"{column.minimum:g}.", f"Give a value ≥ {column.minimum:g}.",
                                    column=column.name, **where(position)))
    if column.maximum is not None:
        for position in np.flatnonzero(ok & (arr > column.maximum)):
            problems.append(Problem(spec.name, f"{arr[position]:g} is above the maximum "
                                    f"{column.maximum:g}.", f"Give a value ≤ {column.maximum:g}.",
                                    column=column.name, **where(position)))
    if column.strictly_positive:
        for position in np.flatnonzero(ok & (arr <= 0)):
            problems.append(Problem(spec.name, f"{arr[position]:g} must be greater than 0.",
                                    "Give a positive value" + (
                                        ", or leave it blank for no limit." if column.blank_ok
                                        else "."),
                                    column=column.name, **where(position)))
    if column.kind == "integer":
        for position in np.flatnonzero(ok & (np.abs(arr) < 1e15) & (arr != np.round(arr))):
            problems.append(Problem(spec.name, f"{arr[position]:g} is not a whole number.",
                                    "Give a whole number.", column=column.name, **where(position)))
    result = pd.Series(np.where(ok, arr, np.nan), index=text.index, dtype=float)
    if column.default is not None:
        result = result.where(~pd.Series(blank, index=text.index), float(column.default))
    return result
