"""Charts for report.html: matplotlib figures returned as inline SVG text, deterministic.

Figures are made with :class:`matplotlib.figure.Figure` directly, never through pyplot, so no GUI
backend is touched and no global state changes (this works under the Agg backend, in threads and
in sweeps' worker processes). Each chart's settings are applied in a ``rc_context``: a fixed
``svg.hashsalt`` (per chart, so ids never clash when several charts share one page), text kept as
text (``svg.fonttype: none``, so it is searchable and small) and no date in the metadata, so the
same data give byte-identical SVG. Money is drawn in £ (axes in £k or £m), quality as 0–1.
"""

from __future__ import annotations

import io
import math
import re
import textwrap
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

WIDTH_IN = 9.5  # inches: about 910 px at 96 dpi, the width of the report's column
ROW_IN = 0.26  # inches per bar in horizontal bar charts
MAX_BARS = 40  # longer lists are cut to the largest, with a note in the chart's title
COLOURS = {"plan": "#1d70b8", "before": "#b1b4b6", "budget": "#d4351c", "ok": "#00703c",
           "warn": "#f47738", "bad": "#d4351c", "threshold": "#0b0c0c"}
#: A character's average width in DejaVu Sans, as a share of the font size (0.53 measured; a little
#: more so that a line of wide letters still fits its slot).
CHAR_EM = 0.6
PARTS = ("#1d70b8", "#5694ca", "#28a197", "#f47738", "#912b88", "#85994b", "#6f72af")


def _rc(name: str) -> dict[str, object]:
    return {"svg.hashsalt": f"planner-{name}", "svg.fonttype": "none", "font.size": 10,
            "font.family": "sans-serif",
            "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica", "Liberation Sans"],
            "axes.spines.top": False, "axes.spines.right": False, "axes.titlesize": 10,
            "axes.titleweight": "bold", "axes.titlelocation": "left", "path.simplify": True,
            # every label is plain text: an id such as 'a$x^2$b' is shown as written (and one
            # such as 'a$x^$b' no longer stops the report with a mathtext error)
            "text.parse_math": False, "text.usetex": False}


#: rc_context changes matplotlib's global settings for its duration, so charts are drawn one at a
#: time per process (threads of a sweep would otherwise swap each other's hash salts and fonts).
_LOCK = threading.RLock()


@contextmanager
def _figure(name: str, height_in: float, ncols: int = 1) -> Iterator[tuple[Figure, list]]:
    with _LOCK, matplotlib.rc_context(_rc(name)):
        figure = Figure(figsize=(WIDTH_IN, max(1.4, height_in)), layout="constrained")
        axes = figure.subplots(1, ncols, squeeze=False)[0].tolist()
        yield figure, axes


def to_svg(figure: Figure, name: str, title: str) -> str:
    """The figure as an ``<svg>`` element with an accessible title, no XML prolog, no date."""
    buffer = io.StringIO()
    with _LOCK, matplotlib.rc_context(_rc(name)):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, flags=re.S)  # RDF boilerplate
    # matplotlib numbers its element ids per figure (figure_1, axes_1, ...): prefix them with the
    # chart's name so ids stay unique on a page holding several charts.
    prefix = f"{name}-"
    svg = re.sub(r' id="([^"]+)"', lambda m: f' id="{prefix}{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"', svg)
    head_end = svg.index(">") + 1
    from html import escape

    return (svg[:head_end].replace("<svg ", f'<svg role="img" aria-label="{escape(title)}" ', 1)
            + f"<title>{escape(title)}</title>" + svg[head_end:]).strip() + "\n"


def _money_axis(values: Sequence[float]) -> tuple[float, str]:
    """Divisor and label of a £ axis: £m from £1m, else £k."""
    top = max((abs(v) for v in values if not math.isnan(v)), default=0.0)
    return (1e6, "£m") if top >= 1e6 else (1e3, "£k")


def _money_formatter(unit: str) -> FuncFormatter:
    """Tick labels such as £0, £0.25m, £1.5m, £120k for an axis already divided into ``unit``."""

    def fmt(value: float, _pos: int) -> str:
        if abs(value) < 1e-12:
            return "£0"
        digits = f"{abs(value):,.0f}" if abs(value) >= 10 else \
            f"{abs(value):.2f}".rstrip("0").rstrip(".")
        return ("\u2212" if value < 0 else "") + f"£{digits}{unit[1:]}"

    return FuncFormatter(fmt)


def _money_ticks(axis, unit: str, which: str = "x", bins: int = 5) -> None:
    target = axis.xaxis if which == "x" else axis.yaxis
    target.set_major_formatter(_money_formatter(unit))
    target.set_major_locator(MaxNLocator(nbins=bins, steps=[1, 2, 2.5, 5, 10]))


def _slot_labels(labels: Sequence[str], fontsize: float) -> tuple[list[str], bool]:
    """Tick labels for bars across the figure's width, each wrapped at spaces to fit its slot (so
    "PCT with the local authority" does not run into its neighbours), and whether some still do
    not fit (a word longer than the slot): those labels are to be turned upright instead, as
    written. Words are never broken."""
    if not labels:
        return [], False
    slot_in = WIDTH_IN * 0.9 / len(labels)  # the value axis and its labels take the rest
    chars = max(4, int(slot_in * 72 / (CHAR_EM * fontsize)))
    wrapped = [textwrap.fill(label, chars, break_long_words=False, break_on_hyphens=False)
               or label for label in labels]
    if all(len(line) <= chars for label in wrapped for line in label.split("\n")):
        return wrapped, False
    return list(labels), True


def _cut(series: pd.Series) -> tuple[pd.Series, str]:
    """The largest MAX_BARS entries of a series (by size), and a note if any were left out."""
    if len(series) <= MAX_BARS:
        return series, ""
    kept = series.reindex(series.abs().sort_values(ascending=False, kind="stable").index[:MAX_BARS])
    return kept, f" (largest {MAX_BARS} of {len(series)})"


def spend_against_budget(parts: dict[str, float], budget: float | None, title: str) -> str:
    """One stacked bar of spend by component, with the budget as a red line."""
    values = [v for v in parts.values() if v > 0]
    if not values:
        return ""
    divisor, unit = _money_axis([*values, budget or 0.0])
    with _figure("budget", 1.6) as (figure, (axis,)):
        left = 0.0
        for (label, value), colour in zip(parts.items(), PARTS):
            if value <= 0:
                continue
            axis.barh([0], [value / divisor], left=left, color=colour, label=label, height=0.5)
            left += value / divisor
        if budget is not None:
            axis.axvline(budget / divisor, color=COLOURS["budget"], linewidth=2,
                         label="budget")
        axis.set_yticks([])
        _money_ticks(axis, unit)
        axis.set_xlim(0, max(left, (budget or 0) / divisor) * 1.05)
        axis.set_title(title)
        figure.legend(loc="outside lower center", ncol=min(len(parts) + 1, 4), frameon=False,
                      fontsize=9)
        return to_svg(figure, "budget", title)


def horizontal_bars(series: pd.Series, title: str, name: str) -> str:
    """A horizontal £ bar per entry, in the order given (top first)."""
    series = series.dropna()
    if series.empty:
        return ""
    series, note = _cut(series)
    values = series.to_numpy(dtype=float)
    divisor, unit = _money_axis(list(values))
    positions = np.arange(len(series))[::-1]
    with _figure(name, 0.7 + ROW_IN * len(series)) as (figure, (axis,)):
        axis.barh(positions, values / divisor, color=COLOURS["plan"], height=0.7)
        axis.set_yticks(positions, [str(i) for i in series.index])
        axis.set_ylim(-0.6, len(series) - 0.4)
        _money_ticks(axis, unit)
        axis.axvline(0, color="#0b0c0c", linewidth=0.8)
        axis.set_title(title + note)
        return to_svg(figure, name, title)


def spend_breakdown(breakdown: pd.DataFrame, title: str) -> str:
    """Three panels: £ by level (continuum order), by provider kind and by category."""
    if breakdown.empty:
        return ""
    panels = [("level", "By level"), ("kind", "By provider kind"), ("category", "By category")]
    divisor, unit = _money_axis(list(breakdown["spend"]))
    rows = max(int((breakdown["by"] == by).sum()) for by, _ in panels)
    with _figure("breakdown", 0.9 + ROW_IN * min(rows, MAX_BARS), ncols=3) as (figure, axes):
        for axis, (by, label) in zip(axes, panels):
            part = breakdown.loc[breakdown["by"] == by]
            part, note = _cut(part.set_index("key")["spend"])
            positions = np.arange(len(part))[::-1]
            axis.barh(positions, part.to_numpy(dtype=float) / divisor, color=COLOURS["plan"],
                      height=0.7)
            axis.set_yticks(positions, [str(k).replace("_", " ") for k in part.index], fontsize=8)
            axis.set_ylim(-0.6, max(len(part), 1) - 0.4)
            _money_ticks(axis, unit, bins=3)
            axis.tick_params(axis="x", labelsize=8)
            axis.set_title(label + note)
        figure.suptitle(title, x=0.01, ha="left", fontsize=10, fontweight="bold")
        return to_svg(figure, "breakdown", title)


def continuum(levels: pd.DataFrame, title: str) -> str:
    """Levels along the continuum (individual → national): £ commissioned, services annotated."""
    if levels.empty:
        return ""
    divisor, unit = _money_axis(list(levels["spend"]))
    labels, turned = _slot_labels([str(v).replace("_", " ") for v in levels["level"]], 8)
    longest = max(len(line) for label in labels for line in label.split("\n"))
    # turned labels stand on the axis: the figure grows by their length, so the bars keep room
    height = 2.6 + (longest * CHAR_EM * 8 / 72 if turned else 0.0)
    with _figure("continuum", height) as (figure, (axis,)):
        positions = np.arange(len(levels))
        spend = levels["spend"].to_numpy(dtype=float) / divisor
        axis.bar(positions, spend, color=COLOURS["plan"], width=0.65)
        top = float(spend.max()) if len(spend) else 0.0
        for x, value, count in zip(positions, spend, levels["services"]):
            axis.annotate(f"{int(count)} service{'s' if int(count) != 1 else ''}",
                          (x, value), xytext=(0, 3), textcoords="offset points", ha="center",
                          fontsize=8)
        axis.set_xticks(positions, labels, fontsize=8, rotation=90 if turned else 0)
        axis.set_ylim(0, top * 1.18 if top > 0 else 1)
        _money_ticks(axis, unit, "y")
        axis.set_xlabel("individual  \u2192  national")
        axis.set_title(title)
        return to_svg(figure, "continuum", title)


def quality_dots(frame: pd.DataFrame, title: str) -> str:
    """Each service's average quality (dot) and lowest provider quality (ring), with thresholds."""
    if frame.empty:
        return ""
    frame = frame.head(MAX_BARS)
    positions = np.arange(len(frame))[::-1]
    with _figure("quality", 0.9 + ROW_IN * len(frame)) as (figure, (axis,)):
        axis.scatter(frame["avg_quality"], positions, color=COLOURS["plan"], s=28,
                     label="average quality", zorder=3)
        axis.scatter(frame["lowest_quality"], positions, facecolors="none",
                     edgecolors=COLOURS["plan"], s=28, label="lowest provider", zorder=3)
        for column, marker, label in (("min_avg_quality", "|", "average required"),
                                      ("min_quality", "x", "minimum for any provider")):
            values = frame[column].to_numpy(dtype=float)
            shown = ~np.isnan(values) & (values > 0)
            if shown.any():
                axis.scatter(values[shown], positions[shown], marker=marker, s=90,
                             color=COLOURS["bad"], label=label, zorder=4)
        axis.set_yticks(positions, [str(s) for s in frame["service"]], fontsize=8)
        axis.set_ylim(-0.6, len(frame) - 0.4)
        values = pd.concat([frame[c] for c in ("avg_quality", "lowest_quality", "min_avg_quality",
                                                "min_quality")]).to_numpy(dtype=float)
        values = values[~np.isnan(values) & (values > 0)]
        low = math.floor((values.min() - 0.05) * 10) / 10 if len(values) else 0.0
        axis.set_xlim(max(0.0, low), 1.02)
        axis.set_xlabel("quality (0 = worst, 1 = best)")
        axis.grid(axis="x", color="#dddddd", linewidth=0.6)
        figure.legend(loc="outside lower center", ncol=4, frameon=False, fontsize=9)
        axis.set_title(title)
        return to_svg(figure, "quality", title)


def before_after(frame: pd.DataFrame, title: str, name: str) -> str:
    """Paired bars: the status quo (grey) and the plan (blue), £ per entry."""
    if frame.empty:
        return ""
    frame = frame.head(MAX_BARS)
    divisor, unit = _money_axis(list(frame["spend_a"]) + list(frame["spend_b"]))
    positions = np.arange(len(frame))[::-1]
    with _figure(name, 0.9 + 1.6 * ROW_IN * len(frame)) as (figure, (axis,)):
        axis.barh(positions + 0.2, frame["spend_a"] / divisor, height=0.38,
                  color=COLOURS["before"], label="status quo")
        axis.barh(positions - 0.2, frame["spend_b"] / divisor, height=0.38, color=COLOURS["plan"],
                  label="plan")
        axis.set_yticks(positions, [str(k).replace("_", " ") for k in frame["key"]], fontsize=8)
        axis.set_ylim(-0.7, len(frame) - 0.3)
        _money_ticks(axis, unit)
        figure.legend(loc="outside upper right", ncol=2, frameon=False, fontsize=9)
        axis.set_title(title)
        return to_svg(figure, name, title)


def budget_by_year(budget: pd.DataFrame, title: str) -> str:
    """Spend by year (bars) against each year's budget (red ticks)."""
    if budget.empty:
        return ""
    divisor, unit = _money_axis(list(budget["spend"]) + list(budget["budget"].fillna(0.0)))
    positions = np.arange(len(budget))
    with _figure("years", 2.4) as (figure, (axis,)):
        axis.bar(positions, budget["spend"] / divisor, color=COLOURS["plan"], width=0.6,
                 label="spend")
        if budget["budget"].notna().any():
            axis.scatter(positions, budget["budget"] / divisor, marker="_", s=900, linewidths=2.5,
                         color=COLOURS["budget"], label="budget", zorder=3)
        axis.set_xticks(positions, [str(int(y)) for y in budget["year"]])
        _money_ticks(axis, unit, "y")
        axis.set_ylim(0, max(budget["spend"].max(), budget["budget"].max(skipna=True)
                             if budget["budget"].notna().any() else 0) / divisor * 1.15)
        figure.legend(loc="outside upper right", ncol=2, frameon=False, fontsize=9)
        axis.set_title(title)
        return to_svg(figure, "years", title)


def break_even(frame: pd.DataFrame, title: str) -> str:
    """Income as a share of break-even income, one bar per provider with a break-even rule.

    Red: below break-even; orange: at it (the rule binds); blue: above. The line is 100 %.
    """
    frame = frame.loc[frame["min_income"] > 0]
    if frame.empty:
        return ""
    share = (frame["income"] / frame["min_income"]).to_numpy(dtype=float)
    frame = frame.assign(share=share).sort_values(["share", "provider"], kind="stable").head(MAX_BARS)
    share = frame["share"].to_numpy(dtype=float)
    colours = [COLOURS["bad"] if s < 1 - 1e-6 else COLOURS["warn"] if s <= 1 + 1e-6
               else COLOURS["plan"] for s in share]
    positions = np.arange(len(frame))[::-1]
    with _figure("breakeven", 0.9 + ROW_IN * len(frame)) as (figure, (axis,)):
        axis.barh(positions, share * 100, color=colours, height=0.7)
        axis.axvline(100, color=COLOURS["threshold"], linewidth=1.2, linestyle="--")
        axis.set_yticks(positions, [str(p) for p in frame["provider"]], fontsize=9)
        axis.set_ylim(-0.6, len(frame) - 0.4)
        axis.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f} %"))
        # centred under an axis that the providers' names may leave narrow, a long title would
        # run off the figure's edge (constrained layout makes room for its height only): two
        # short lines, and wrap=True re-wraps them within the figure if the axis is narrower still
        axis.set_xlabel("income from this plan as a share of\nbreak-even income (100 % = breaks even)",
                        wrap=True)
        axis.set_title(title)
        return to_svg(figure, "breakeven", title)
