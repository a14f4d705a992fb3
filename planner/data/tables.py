"""Reading the tables and turning text cells into typed columns, gathering every problem.

Files are read with Python's :mod:`csv` module rather than ``pandas.read_csv`` so that every row
keeps the line it came from (blank lines and cells holding line breaks would otherwise shift the
line numbers in messages), and so that a row with too many cells is reported as such instead of
pandas silently turning the first column into an index. Before parsing, the bytes are checked
for what spreadsheets commonly produce instead of a UTF-8 CSV (an Excel workbook renamed .csv,
UTF-16 "Unicode text", Latin-1, semicolon- or tab-separated values), each with a message saying
how to save the file properly.

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

import codecs
import csv
import difflib
import io
import math
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from planner.data.schema import Column, TableSpec
from planner.errors import Problem

TRUE_WORDS = {"true", "yes", "y", "1", "t"}
FALSE_WORDS = {"false", "no", "n", "0", "f"}
MAX_TABLE_BYTES = 100_000_000  # 100 MB: a larger CSV is surely a mistake for a commissioning plan
CURRENCY_SYMBOLS = "£$€"  # named in the message for a number cell holding one (never guessed)
LINES = "lines"  # key of frame.attrs holding the file line of each row
BAD_CELLS = "bad_cells"  # key of frame.attrs: {column: positions of cells already reported}
SAVE_AS_UTF8 = "Save it as 'CSV UTF-8 (Comma delimited)' from your spreadsheet program."
_UNNAMED = re.compile(r"^(Unnamed: \d+(_level_\d+)?)?$")  # '' from a file, 'Unnamed: 3' from pandas

Locate = Callable[[int], dict[str, object]]


class SharedTuple(tuple):
    """A tuple that ``copy.deepcopy`` shares instead of copying (it is immutable anyway).

    Why: pandas deep-copies ``frame.attrs`` into every frame or row it derives (``frame.iloc[i]``
    included), so line numbers kept as a plain tuple made each row lookup cost a copy of all of
    them, and a check touching every row of a 20,000-row table took minutes.
    """

    def __deepcopy__(self, memo: dict) -> SharedTuple:
        return self


class SharedMapping(dict):
    """The bad-cell marks of a table, shared by ``copy.deepcopy`` as :class:`SharedTuple` is
    (never modified after :func:`parse_table` has built it)."""

    def __deepcopy__(self, memo: dict) -> SharedMapping:
        return self


def read_csv_text(path: Path, table: str, problems: list[Problem]) -> pd.DataFrame | None:
    """Read a CSV table as text cells, or append a Problem saying why it cannot be read.

    The size is checked before anything is read, and only regular files are opened (a folder,
    a FIFO or a device given as a table would crash or hang the reader).
    """
    name = path.name
    try:
        if not path.is_file():
            what = "a folder" if path.is_dir() else "a pipe, socket or device"
            problems.append(Problem(table, f"'{name}' is {what}, not a CSV file.",
                                    "Give the path of the table's CSV file."))
            return None
        size = path.stat().st_size
        if size > MAX_TABLE_BYTES:
            problems.append(Problem(table, f"{name} is {size / 1e6:,.0f} MB, larger than the "
                                    f"{MAX_TABLE_BYTES / 1e6:.0f} MB limit for one table.",
                                    "Check it is the right file."))
            return None
        data = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(table, f"cannot read {name}: {exc.strerror or exc}.",
                                "Check the file exists and is readable."))
        return None
    text = decode_text(data, name, table, problems)
    if text is None:
        return None
    return _parse_csv(text, name, table, problems)


def decode_text(data: bytes, name: str, table: str, problems: list[Problem],
                fix: str = SAVE_AS_UTF8) -> str | None:
    """UTF-8 text of a file (a byte-order mark is allowed), or None with a Problem saying what
    the file looks like instead (a workbook, UTF-16, Latin-1) and ``fix``."""
    what = None
    if data.startswith(b"PK\x03\x04"):
        what = "an Excel workbook (.xlsx) or another zip file, not text"
    elif data.startswith(b"\xd0\xcf\x11\xe0"):
        what = "an Excel 97-2003 workbook (.xls), not text"
    elif data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        what = "not UTF-8: it is UTF-32 text"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        what = "not UTF-8: it is UTF-16 text (Excel's 'Unicode Text')"
    elif b"\x00" in data:
        what = ("not UTF-8: it contains NUL bytes, so it is UTF-16 text without a byte-order "
                "mark or a binary file")
    if what is not None:
        problems.append(Problem(table, f"{name} is {what}.", fix))
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start]
        guess = ""
        try:
            char = bytes([byte]).decode("cp1252")
            guess = f" ('{char}' in Latin-1/Windows-1252, the encoding it was probably saved in)"
        except UnicodeDecodeError:
            pass
        problems.append(Problem(table, f"{name} is not UTF-8 text: line {line} has the byte "
                                f"0x{byte:02x}{guess}.", fix))
        return None


def _parse_csv(text: str, name: str, table: str, problems: list[Problem]) -> pd.DataFrame | None:
    """Split CSV text into a frame of text cells, keeping each row's line in the file.

    Blank lines and rows whose every cell is blank (spreadsheets export ``,,,,``) are skipped;
    so are blank cells beyond the header's width. A row with more cells than the header is a
    problem: its cells would be matched to the wrong columns.
    """
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True, strict=True)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    too_long: list[Problem] = []
    start = 1
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = record
                separator = _wrong_separator(header)
                if separator is not None:
                    problems.append(Problem(
                        table, f"{name} is separated by {separator}, not commas (its header is "
                        f"'{_clip(header[0])}').",
                        f"{SAVE_AS_UTF8[:-1]}, which separates cells with commas and uses a "
                        "decimal point (0.85, not 0,85)."))
                    return None
                continue
            if len(record) > len(header):
                if any(cell.strip() for cell in record[len(header):]):
                    too_long.append(Problem(
                        table, f"has {len(record)} cells but the header has {len(header)}.",
                        "Write numbers without thousands separators (1200, not 1,200) and put "
                        "text containing commas in double quotes.",
                        line=line))
                    continue
                record = record[:len(header)]
            rows.append(record + [""] * (len(header) - len(record)))
            lines.append(line)
    except csv.Error as exc:
        problems.append(Problem(table, f"{name} is not a readable CSV table: the row starting "
                                f"on line {start} has {_csv_error(str(exc))}.",
                                "Close every double quote that opens a cell, and quote whole "
                                "cells only (\"a, b\")."))
        return None
    if header is None:
        problems.append(Problem(table, f"{name} is empty: it has no header row.",
                                "Add the header row and the table's rows (see "
                                "docs/data-format.md), or remove the file if the table is "
                                "optional."))
        return None
    if too_long:
        problems.extend(too_long)
        return None
    frame = pd.DataFrame(rows, columns=header, dtype=str) if rows \
        else pd.DataFrame(columns=header, dtype=str)
    frame.attrs[LINES] = SharedTuple(lines)
    return frame


def _wrong_separator(header: list[str]) -> str | None:
    """'semicolons' or 'tabs' when a one-cell header is clearly split by one of them."""
    if len(header) != 1:
        return None
    if ";" in header[0]:
        return "semicolons"
    if "\t" in header[0]:
        return "tabs"
    return None


def _csv_error(message: str) -> str:
    if "unexpected end of data" in message:
        return "a double quote that is never closed"
    if "field larger than field limit" in message:
        return "a cell longer than 128 KB (probably an unclosed double quote)"
    return f"malformed quoting ({message})"


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[:width] + "..."


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
            problems.append(Problem(spec.name, f"unknown column '{_clip(name)}'.",
                                    f"{hint}Known columns: {', '.join(spec.column_names)}; "
                                    "columns starting with 'note' are ignored.",
                                    column=_clip(name)))
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
