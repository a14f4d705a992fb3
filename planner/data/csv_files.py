"""Reading a table's file as text rows, with the line each row came from, gathering every problem.

Files are read with Python's :mod:`csv` module rather than ``pandas.read_csv`` so that every row
keeps the line it came from (blank lines and cells holding line breaks would otherwise shift the
line numbers in messages), and so that a row with too many cells is reported as such instead of
pandas silently turning the first column into an index. Before parsing, the bytes are checked
for what spreadsheets commonly produce instead of a UTF-8 CSV (an Excel workbook renamed .csv,
UTF-16 "Unicode text", Latin-1, semicolon- or tab-separated values), each with a message saying
how to save the file properly. :mod:`planner.data.tables` then parses the cells into typed columns.
"""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import pandas as pd

from planner.errors import Problem

MAX_TABLE_BYTES = 100_000_000  # 100 MB: a larger CSV is surely a mistake for a commissioning plan
LINES = "lines"  # key of frame.attrs holding the file line of each row
SAVE_AS_UTF8 = "Save it as 'CSV UTF-8 (Comma delimited)' from your spreadsheet program."


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
                        f"'{clip(header[0])}').",
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


def clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[:width] + "..."
