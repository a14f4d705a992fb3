"""Writing tables for spreadsheets: deterministic, and safe against formula injection.

A text cell beginning with ``=``, ``+``, ``-`` or ``@`` would be run as a formula by Excel or
LibreOffice when a plan is opened; such cells get a leading ``'``. Numeric cells stay numbers,
negative ones included.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@")
FLOAT_FORMAT = "%.6f"


def escape_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def unescape_cell(value: object) -> object:
    """Undo :func:`escape_cell` for a cell read back from a plan CSV, so an id is the id the
    analyst wrote (``'=x`` back to ``=x``). A value the analyst wrote with a leading ``'`` before
    a formula character cannot be told from an escaped one and loses that ``'``."""
    if isinstance(value, str) and len(value) > 1 and value[0] == "'" and value[1] in "".join(
            FORMULA_STARTS):
        return value[1:]
    return value


def escape_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(escape_cell)
    return out


def format_number(value: float) -> str:
    """Shortest fixed-point text of ``value`` to 6 decimals; blank for NaN."""
    if pd.isna(value):
        return ""
    rounded = round(float(value), 6)
    if rounded == 0:
        return "0"
    text = FLOAT_FORMAT % rounded
    return text.rstrip("0").rstrip(".") if "." in text else text


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as UTF-8 CSV with fixed float formatting (byte-identical across runs)."""
    formatted = escape_frame(frame)
    for column in formatted.columns:
        if pd.api.types.is_float_dtype(formatted[column]):
            formatted[column] = formatted[column].map(format_number)
    formatted.to_csv(path, index=False, lineterminator="\n")
