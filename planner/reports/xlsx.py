"""plan.xlsx: the plan's tables as one workbook, a summary sheet first, with units in the headers.

Cells and sheets are written with the helpers of :mod:`planner.data.workbook_writer` (formula
escaping, fixed dates, so the same plan gives the same bytes).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from openpyxl.styles import Font

from planner.data.workbook_writer import (
    HEADER_BORDER,
    HEADER_FILL,
    HEADER_FONT,
    _new_workbook,
    _safe,
    _save,
    _write_sheet,
)
from planner.reports.facts import headline, headline_sentence, relaxations
from planner.results.folder import PlanFiles

__all__ = ["plan_workbook_bytes"]


# --- the plan as plan.xlsx --------------------------------------------------------------------
MONEY = "#,##0"
UNITS: dict[str, tuple[str, str]] = {  # column -> (unit in the header, number format)
    "volume": ("episodes", MONEY), "volume_a": ("episodes", MONEY), "volume_b": ("episodes", MONEY),
    "volume_change": ("episodes", MONEY), "demand": ("episodes", MONEY),
    "price": ("£/episode", "#,##0.00"), "spend": ("£", MONEY), "spend_a": ("£", MONEY),
    "spend_b": ("£", MONEY), "difference": ("£", MONEY), "transaction_cost": ("£", MONEY),
    "setup_cost": ("£", MONEY), "transaction_costs": ("£", MONEY), "income": ("£", MONEY),
    "min_income": ("£", MONEY), "break_even_margin": ("£", MONEY),
    "entry_cost_paid": ("£", MONEY), "exit_cost_paid": ("£", MONEY),
    "notice_cost_paid": ("£", MONEY), "budget": ("£", MONEY), "surplus": ("£", MONEY),
    "balance_carried": ("£", MONEY), "risk_cost": ("£", MONEY), "objective": ("£", MONEY),
    "quality": ("0–1", "0.000"), "avg_quality": ("0–1", "0.000"), "qalys": ("QALYs", "#,##0.00"),
    "utilisation": ("share of capacity", "0.0%"), "year": ("", "0"), "providers": ("count", "0"),
    "services": ("count", "0"), "contracts": ("count", "0"), "amount": ("in unit", "#,##0.00"),
    "cost": ("£", MONEY), "marginal_value": ("£ per unit", "#,##0.0000"),
    "qalys_per_unit": ("QALYs per unit", "0.000000"), "gap": ("fraction", "0.00%"),
    # providers: income by how it is paid (issue 16)
    "activity_income": ("£", MONEY), "block_income": ("£", MONEY), "bundle_income": ("£", MONEY),
    "guarantee_paid": ("£", MONEY),
    # unfunded: what each service not bought would be worth and cost
    "value_of_health": ("£", MONEY), "least_cost": ("£", MONEY), "extra_spend": ("£", MONEY),
    "objective_change": ("£", MONEY), "cost_unlimited": ("£", MONEY),
    # priorities (PBMA) and effects: £ a year; the budget at which a service comes in or goes out
    "saved": ("£", MONEY), "net_cost": ("£", MONEY), "cost_per_qaly": ("£ per QALY", MONEY),
    "comes_in_at": ("£ budget", MONEY), "goes_out_at": ("£ budget", MONEY),
    # areas (issue 17): £ by area, and £ per need-weighted head
    "spend_per_head": ("£ per need-weighted head", "#,##0.00"),
    "mean_spend_per_head": ("£ per need-weighted head", "#,##0.00"),
    "indicative_budget": ("£", MONEY), "saving": ("£", MONEY), "overspend": ("£", MONEY),
    "saving_kept": ("£", MONEY),
}
SHEET_UNITS = {  # (sheet, column) -> as UNITS, where a sheet's column needs its own words
    ("marginal_values", "change"): ("in unit", "#,##0.00##"),  # 1.00, never a bare "1."
    # a plan folder's changes are always today (a: the status quo) against the plan (b)
    ("changes", "level_a"): ("today", None), ("changes", "level_b"): ("in plan", None),
    ("changes", "volume_a"): ("episodes today", MONEY),
    ("changes", "volume_b"): ("episodes in plan", MONEY),
    ("spend_changes", "spend_a"): ("£ today", MONEY), ("spend_changes", "spend_b"): ("£ in plan", MONEY),
}


def _headers(sheet: str, frame: pd.DataFrame) -> tuple[list[str], list[str | None]]:
    headers, formats = [], []
    for column in frame.columns:
        unit, fmt = SHEET_UNITS.get((sheet, column)) or UNITS.get(column, ("", None))
        if sheet == "changes" and column == "change":
            unit, fmt = "", None
        headers.append(f"{column} ({unit})" if unit else str(column))
        formats.append(fmt)
    return headers, formats


def plan_workbook_bytes(files: PlanFiles) -> bytes:
    """plan.xlsx for a :class:`planner.results.folder.PlanFiles`: a summary sheet (the headline
    facts of :mod:`planner.reports.facts`), then one sheet per table."""
    book = _new_workbook()
    sheet = book.create_sheet("summary")
    sheet.append([_safe(f"Commissioning plan: {files.name}")])
    sheet.append([_safe(headline_sentence(files))])
    sheet.append([])
    sheet.append(["figure", "value", "unit", "note"])
    for index in range(1, 5):
        cell = sheet.cell(row=4, column=index)
        cell.font, cell.fill, cell.border = HEADER_FONT, HEADER_FILL, HEADER_BORDER
    sheet["A1"].font = Font(bold=True, size=14)
    formats = {"£": MONEY, "£ per QALY": MONEY, "QALYs": "#,##0.00", "fraction": "0.00%",
               "count": "0"}
    for item in headline(files):
        unit = {"count": "", "fraction": ""}.get(item.unit, item.unit)
        money_like = item.unit in ("£", "£ per QALY") and isinstance(item.value, float)
        value = round(item.value, 2) + 0.0 if money_like else item.value
        sheet.append([_safe(item.label), _safe(value), unit, _safe(item.note)])
        sheet.cell(row=sheet.max_row, column=2).number_format = formats.get(item.unit, "General")
    for letter, width in zip("ABCD", (24, 18, 11, 60)):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A5"
    names = files.names
    relax = names.with_names(relaxations(files))  # rule ids kept, their names beside
    if len(relax):
        headers, formats = _headers("diagnosis", relax)
        _write_sheet(book, "diagnosis", relax, headers, formats)
    for name, frame in files.tables.items():
        frame = _clean_numbers(name, names.with_names(frame))
        headers, formats = _headers(name, frame)
        _write_sheet(book, name, frame, headers, formats)
    return _save(book)


def _clean_numbers(sheet: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers without float noise, still numbers: £ to the penny (so 341000000.000006 is
    341000000 and a headroom of −6e−06 is 0), other amounts to 10 significant figures (which
    keeps a marginal QALYs per £ of 2e−07), and never −0."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype.kind != "f":
            continue
        unit = (SHEET_UNITS.get((sheet, column)) or UNITS.get(column, ("", None)))[0]
        values = out[column].to_numpy(dtype=float)
        if unit == "£":
            values = np.round(values, 2)
        else:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                scale = 10.0 ** (9 - np.floor(np.log10(np.abs(values))))
                values = np.where(np.isfinite(scale) & (values != 0),
                                  np.round(values * scale) / scale, values)
        out[column] = values + 0.0
    return out


