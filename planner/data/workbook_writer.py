"""Writing workbooks: an instance as one .xlsx (read back by :mod:`planner.data.workbook`), and
the cell and sheet helpers plan.xlsx (:mod:`planner.reports.xlsx`) shares.

Text cells beginning with ``=``, ``+``, ``-`` or ``@`` are written with a leading ``'`` (as
:mod:`planner.csvsafe` does for CSV), so a workbook never holds a formula planted in an id; the
reader removes that ``'`` again, so a round trip instance → workbook → instance is lossless
(same :meth:`Instance.sha256`). Workbooks are written byte-identically for the same data: fixed
document dates and zip entry times.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from planner.csvsafe import escape_cell
from planner.data.instance import Instance
from planner.data.schema import TABLE_NAMES, TABLES, InstanceConfig
from planner.data.workbook import INSTANCE_SHEET

__all__ = ["instance_workbook_bytes", "write_instance_workbook", "write_template_workbook"]

FIXED_TIME = dt.datetime(2000, 1, 1)  # document dates: fixed, so output is byte-identical
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDE6F0")
HEADER_BORDER = Border(bottom=Side(style="thin", color="1D70B8"))


# --- cells ------------------------------------------------------------------------------------
def _safe(value: Any) -> Any:
    """A value ready for a cell: NaN → blank, numpy → Python, text escaped against formulas."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list | tuple):
        value = ";".join(str(v) for v in value)
    return escape_cell(value) if isinstance(value, str) else value


def _deterministic(data: bytes) -> bytes:
    """Re-zip a workbook with fixed entry times and document dates (openpyxl stamps 'now')."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)",
                                 rb"\g<1>2000-01-01T00:00:00Z\g<2>", content)
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, content)
    return out.getvalue()


def _new_workbook() -> Workbook:
    book = Workbook()
    book.remove(book.active)
    book.properties.creator = "planner"
    book.properties.created = FIXED_TIME
    book.properties.modified = FIXED_TIME
    return book


def _save(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return _deterministic(buffer.getvalue())


def _write_sheet(book: Workbook, title: str, frame: pd.DataFrame,
                 headers: list[str] | None = None, formats: list[str | None] | None = None) -> Worksheet:
    """A formatted sheet: bold frozen header, filter, number formats and fitted column widths."""
    sheet = book.create_sheet(title)
    headers = headers or [str(c) for c in frame.columns]
    sheet.append(headers)
    for row in frame.itertuples(index=False):
        sheet.append([_safe(v) for v in row])
    for index, header in enumerate(headers, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font, cell.fill, cell.border = HEADER_FONT, HEADER_FILL, HEADER_BORDER
        cell.alignment = Alignment(vertical="top", wrap_text=True)
        fmt = formats[index - 1] if formats else None
        width = len(header)
        column = frame.iloc[:, index - 1] if len(frame.columns) >= index else pd.Series(dtype=object)
        for value in column.head(500):
            width = max(width, _display_width(value))
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width + 2, 8), 60)
        if fmt:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                if isinstance(cell.value, int | float) and not isinstance(cell.value, bool):
                    cell.number_format = fmt
    sheet.freeze_panes = "A2"
    if len(frame):
        sheet.auto_filter.ref = sheet.dimensions
    return sheet


def _display_width(value: Any) -> int:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return 0
    if isinstance(value, bool | np.bool_):
        return 5
    if isinstance(value, int | float | np.number):
        return len(f"{float(value):,.2f}")
    return min(len(str(value)), 60)


# --- an instance as a workbook ----------------------------------------------------------------
def _config_rows(config: InstanceConfig) -> list[tuple[str, Any, str]]:
    """instance.yaml as (key, value, meaning) rows; lists as JSON text."""
    data = config.model_dump(mode="json")
    meanings = {"name": "required: a short name for the area or scenario",
                "population": "required: people in the planning area",
                "horizon": "planning years (1 = a single year)",
                "base_year": "the (first) year of the plan", "currency": "a label; money is in £"}
    for key, field in type(config.policy).model_fields.items():
        meanings[f"policy.{key}"] = field.description or ""
    rows = []
    for key, value in data.items():
        if key == "tables":
            defaults = type(config.tables)().model_dump()
            rows += [(f"tables.{k}", v, "ignored in a workbook (sheets are named after tables)")
                     for k, v in value.items() if v != defaults[k]]
        elif key == "policy":
            rows += [(f"policy.{k}", v, meanings.get(f"policy.{k}", "")) for k, v in value.items()]
        else:
            rows.append((key, value, meanings.get(key, "")))
    out = []
    for key, value, meaning in rows:
        if value is None:
            value = "null"
        elif isinstance(value, list | dict):
            value = json.dumps(value)
        out.append((key, value, meaning))
    return out


def _table_for_sheet(instance: Instance, name: str) -> pd.DataFrame:
    frame = getattr(instance, name).copy()
    if name == "services":  # demand is filled from activity_rate on load; write only one of them
        frame["demand"] = frame["demand"].where(frame["activity_rate"].isna(), np.nan)
    for column in TABLES[name].columns:
        if column.kind == "list":
            frame[column.name] = frame[column.name].map(lambda items: ";".join(items))
    return frame[TABLES[name].column_names]


def instance_workbook_bytes(instance: Instance) -> bytes:
    book = _new_workbook()
    rows = pd.DataFrame(_config_rows(instance.config), columns=["key", "value", "meaning"])
    _write_sheet(book, INSTANCE_SHEET, rows).auto_filter.ref = None
    for name in TABLE_NAMES:
        _write_sheet(book, name, _table_for_sheet(instance, name))
    columns = [{"sheet": spec.name, "column": c.name, "kind": c.kind,
                "required": "yes" if c.required else "",
                "default": "" if c.default in (None, ()) else str(c.default),
                "meaning": c.meaning} for spec in TABLES.values() for c in spec.columns]
    _write_sheet(book, "columns", pd.DataFrame(columns))
    return _save(book)


def write_instance_workbook(instance: Instance, path: str | Path) -> Path:
    """Write ``instance`` as one workbook that :func:`planner.data.instance.read_instance_workbook` reads
    back losslessly."""
    target = Path(path)
    target.write_bytes(instance_workbook_bytes(instance))
    return target


def write_template_workbook(folder: str | Path) -> Path:
    """The template instance of ``planner new`` as ``folder/instance.xlsx``."""
    from importlib import resources

    template = resources.files("planner") / "templates"
    with resources.as_file(template) as source:
        instance = Instance.from_dir(source)
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    return write_instance_workbook(instance, target / "instance.xlsx")
