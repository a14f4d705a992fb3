"""report.html's section "Fair shares" (issue 17): spend per need-weighted head by area with the
band, and the funder statement. Formats :mod:`planner.reports.facts.areas` only; map-free."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from planner.data.names import plain_name
from planner.formats import money, number
from planner.reports.facts.areas import fair_shares, funder_statement


def _money(value: Any) -> str:
    return "" if pd.isna(value) else money(value)


def _share(value: Any) -> str:
    return "" if pd.isna(value) else f"{float(value):.0%}"


def has_section(files) -> bool:
    return len(files.table("areas")) > 0


def chart(frame: pd.DataFrame) -> str:
    """Horizontal bars of £ per need-weighted head by area, the mean and the band as lines."""
    from planner.reports.charts import COLOURS, ROW_IN, _figure, _money_ticks, to_svg

    title = "Spend per need-weighted head by area (£)"
    values = frame["spend_per_head"].to_numpy(float)
    positions = np.arange(len(frame))[::-1]
    with _figure("fair-shares", 0.9 + ROW_IN * len(frame)) as (figure, (axis,)):
        axis.barh(positions, values, color=COLOURS["plan"], height=0.7)
        axis.set_yticks(positions, [str(a) for a in frame["area"]])  # named by the caller
        axis.set_ylim(-0.6, len(frame) - 0.4)
        mean = float(frame["mean_spend_per_head"].iloc[0])
        axis.axvline(mean, color="#0b0c0c", linewidth=1.0)
        if frame["low"].notna().all():
            for limit in (float(frame["low"].iloc[0]), float(frame["high"].iloc[0])):
                axis.axvline(limit, color="#0b0c0c", linewidth=0.8, linestyle="--")
        _money_ticks(axis, "£")  # £ per head: £1,050, not 1050
        axis.set_title(title + " — line: mean; dashed: the fair-share band")
        return to_svg(figure, "fair-shares", title)


def section(files) -> str:
    from planner.reports.html_parts import Col, html_table

    names = files.names
    frame = names.label(fair_shares(files))  # areas and levels by name, as every section
    parts = [chart(frame)] if len(frame) else []
    parts.append(html_table(frame, [
        Col("area", "Area"), Col("population", "Population", lambda v: number(v, 0), True),
        Col("need_index", "Need index", lambda v: number(v, 3), True),
        Col("spend", "Spend", _money, True),
        Col("spend_per_head", "£ per need-weighted head", _money, True),
        Col("ratio_to_mean", "Against the mean", lambda v: number(v, 3), True),
        Col("coverage", "Demand met", _share, True),
        Col("indicative_budget", "Indicative budget", _money, True),
        Col("saving_kept", "Saving kept", _money, True),
        Col("overspend", "Overspend", _money, True)], more="areas.csv"))
    funders = names.label(funder_statement(files))
    if len(funders):
        funders["funder"] = [plain_name(f) for f in funders["funder"]]  # 'Local authority'
        # funders.csv's level '(all)': the costs of no one level (set-up, entry, exit, notice)
        funders["level"] = funders["level"].replace(
            "(all)", "Commissioner-wide (set-up, entry, exit, notice)")
        parts.append("<h3>Who pays</h3>")
        parts.append(html_table(funders, [Col("funder", "Funder"), Col("level", "Level"),
                                          Col("spend", "Spend", _money, True)], more="funders.csv"))
    return "\n".join(parts)
