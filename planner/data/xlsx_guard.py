"""Checks on a workbook before and while it is read: sizes, XML declarations, formulas.

Why: an .xlsx file is a zip of XML parts, and a few kilobytes of it can unpack to gigabytes (50
million shared strings in 2.4 MB, one 2 GB string in 2 MB), declare a used range of 17 billion
cells (one stray cell at XFD1048576 made the reader pad a million rows to 16,384 columns), or
carry a DOCTYPE whose entities expand without end or point at files on the machine. openpyxl
uses ``defusedxml`` only when it is installed, so these checks do not rely on it. Every limit is
here, in one place, and is listed in docs/errors.md.

All checks read the zip's directory or stream a part; none loads a part whole.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.etree.ElementTree import ParseError, iterparse

from openpyxl.utils import get_column_letter

from planner.errors import InputError, Problem

MAX_WORKBOOK_BYTES = 100 * 1024 * 1024
"""The .xlsx file itself."""
MAX_UNPACKED_BYTES = 500 * 1024 * 1024
"""All the workbook's parts together, unpacked (a 100 MB workbook of tables is about this)."""
MAX_PART_BYTES = 200 * 1024 * 1024
"""One part (e.g. one sheet's XML), unpacked."""
MAX_SHARED_STRINGS_BYTES = 50 * 1024 * 1024
"""The shared-strings part, which openpyxl holds in memory whole (about a million texts)."""
MAX_SHEET_ROWS = 1_000_000
"""Rows of one sheet (Excel's own limit is 1,048,576)."""
MAX_SHEET_COLUMNS = 200
"""Columns of one sheet (a table has at most a dozen or so; notes columns included)."""
MAX_CELL_CHARS = 32_767
"""Characters in one cell: Excel's own limit."""
PROLOG_BYTES = 64 * 1024
"""How much of each XML part is read to find its first element (and any DOCTYPE before it)."""
MB = 1024 * 1024

_PROLOG = re.compile(r"\A(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.S)
_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _refuse(name: str, message: str, fix: str) -> InputError:
    return InputError(Problem(name, message, fix))


def check_archive(path: Path) -> None:
    """Refuse a workbook whose file, unpacked parts or XML declarations exceed what a table
    needs, before openpyxl reads any of it (InputError, exit 2)."""
    name = path.name
    size = path.stat().st_size
    if size > MAX_WORKBOOK_BYTES:
        raise _refuse(name, f"is {size / MB:,.0f} MB, larger than the "
                      f"{MAX_WORKBOOK_BYTES // MB} MB limit for a workbook.",
                      "Check it is the right file.")
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
            total = sum(part.file_size for part in parts)
            for part in parts:
                limit = (MAX_SHARED_STRINGS_BYTES if part.filename.lower().endswith(
                    "sharedstrings.xml") else MAX_PART_BYTES)
                if part.file_size > limit:
                    raise _refuse(name, f"its part '{part.filename}' unpacks to "
                                  f"{part.file_size / MB:,.0f} MB, beyond the {limit // MB} MB "
                                  "limit (a few MB of tables never need this: the file is "
                                  "damaged or built to exhaust memory).",
                                  "Save the tables into a new workbook from Excel or "
                                  "LibreOffice, or give them as CSV files.")
            if total > MAX_UNPACKED_BYTES:
                raise _refuse(name, f"unpacks to {total / MB:,.0f} MB, beyond the "
                              f"{MAX_UNPACKED_BYTES // MB} MB limit.",
                              "Give the tables as CSV files, or check it is the right file.")
            for part in parts:
                if part.filename.lower().endswith((".xml", ".rels", ".vml")):
                    _check_prolog(archive, part, name)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
            NotImplementedError, RuntimeError) as exc:
        raise _refuse(name, f"is not a readable Excel workbook ({exc}).",
                      "Save it from Excel or LibreOffice as .xlsx.") from None


def _check_prolog(archive: zipfile.ZipFile, part: zipfile.ZipInfo, name: str) -> None:
    """Refuse a DOCTYPE (and with it every ENTITY declaration, which may only appear inside
    one) in an XML part. A DOCTYPE can only come before the first element, so reading up to
    that element is enough; no Excel-written part has one."""
    with archive.open(part) as stream:
        head = stream.read(PROLOG_BYTES)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", errors="replace")
    else:
        text = head.decode("latin-1").removeprefix("\xef\xbb\xbf")
    rest = text[_PROLOG.match(text).end():]
    if rest.startswith("<!"):
        raise _refuse(name, f"its part '{part.filename}' declares a DOCTYPE or entities "
                      "(a spreadsheet never does; such declarations can expand without end or "
                      "read files on this machine).",
                      "Save the tables into a new workbook from Excel or LibreOffice.")
    if not rest and len(head) == PROLOG_BYTES:
        raise _refuse(name, f"its part '{part.filename}' has no element in its first "
                      f"{PROLOG_BYTES // 1024} KB.", "Save it from Excel or LibreOffice as .xlsx.")


def check_dimension(sheet, title: str, book_name: str) -> None:
    """Refuse a sheet whose declared used range exceeds the row or column limit (a stray cell
    far below or to the right of the table), naming the range."""
    rows, columns = sheet.max_row, sheet.max_column  # from <dimension>, or None if absent
    if (rows or 0) > MAX_SHEET_ROWS or (columns or 0) > MAX_SHEET_COLUMNS:
        corner = f"{get_column_letter(min(columns or 1, 16384))}{rows or 1}"
        raise _refuse(f"sheet '{title}'", f"its used range reaches cell {corner} "
                      f"({rows or 0:,} rows × {columns or 0:,} columns), beyond the limits of "
                      f"{MAX_SHEET_ROWS:,} rows and {MAX_SHEET_COLUMNS} columns.",
                      f"Delete the stray cells beyond the table (select the rows below and the "
                      f"columns to the right of it, Delete) and save {book_name} again.")


def uncached_formulas(archive_path: Path, part: str | None, title: str) -> list[Problem]:
    """A Problem for every formula cell of a sheet with no value stored beside it.

    Why: the planner reads the value a formula last calculated; a workbook written by a
    program (or never opened in Excel) stores none, and the cell would read as blank, i.e. an
    unlimited capacity or a missing price. Streams the sheet's XML once.
    """
    if not part:
        return []
    problems: list[Problem] = []
    try:
        with zipfile.ZipFile(archive_path) as archive, archive.open(part.lstrip("/")) as stream:
            for _, element in iterparse(stream):
                if element.tag != f"{_NS}c":
                    if element.tag == f"{_NS}row":
                        element.clear()
                    continue
                formula = element.find(f"{_NS}f")
                value = element.find(f"{_NS}v")
                if formula is not None and (value is None or not (value.text or "").strip()):
                    ref = element.get("r", "?")
                    line = int(re.sub(r"\D", "", ref) or 0) or None
                    problems.append(Problem(
                        f"sheet '{title}'", f"{title}!{ref}: formula without a cached value "
                        "(it would be read as blank).",
                        "Open and save the workbook in Excel (or LibreOffice), which stores "
                        "each formula's value, or type the value itself.", line=line))
    except (KeyError, ParseError, zipfile.BadZipFile, OSError) as exc:
        problems.append(Problem(f"sheet '{title}'", f"cannot be read ({exc}).",
                                "Save the workbook from Excel or LibreOffice as .xlsx."))
    return problems
