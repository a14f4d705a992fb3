"""The risk and stress parts of report.html and summary.md (issue 18), from risk.json and
stress.json in the plan folder (written by ``planner risk`` and ``planner stress --plan``).

A board reads the chance of breaking even off one chart: the simulated distribution of the
year's spend, the budget as a red line and the 5th and 95th percentiles as dashed lines; then
how likely each level's units are to stay within their share of the budget, and what a
provider's failure would cost.
"""

from __future__ import annotations

from html import escape
from typing import Any

import numpy as np

from planner.formats import money
from planner.reports import charts
from planner.results.folder import EXTRA_FILES

RISK_FILE = EXTRA_FILES["risk"]
STRESS_FILE = EXTRA_FILES["stress"]


def spend_distribution(risk: dict[str, Any], title: str) -> str:
    """Histogram of simulated spend with the budget (red) and p05/p95 (dashed) as lines."""
    histogram = risk.get("histogram") or {}
    edges, counts = np.asarray(histogram.get("edges") or []), np.asarray(histogram.get("counts") or [])
    if len(edges) < 2 or counts.sum() <= 0:
        return ""
    budget = risk.get("budget")
    marks = [v for v in (budget, risk.get("p05"), risk.get("p95")) if v is not None]
    divisor, unit = charts._money_axis([*edges, *marks])
    with charts._figure("risk", 2.6) as (figure, (axis,)):
        axis.bar(edges[:-1] / divisor, counts / counts.sum(), width=np.diff(edges) / divisor,
                 align="edge", color=charts.COLOURS["plan"], label="simulated spend")
        for value, label, style in ((risk.get("p05"), "5th percentile", "--"),
                                    (risk.get("p95"), "95th percentile", "--")):
            if value is not None:
                axis.axvline(value / divisor, color="#505a5f", linestyle=style, linewidth=1.2,
                             label=label)
        if budget is not None:
            axis.axvline(budget / divisor, color=charts.COLOURS["budget"], linewidth=2,
                         label="budget")
        charts._money_ticks(axis, unit)
        axis.set_ylabel("share of years")
        axis.set_title(title)
        figure.legend(loc="outside lower center", ncol=4, frameon=False, fontsize=9)
        return charts.to_svg(figure, "risk", title)


def risk_html(files: Any) -> str:
    """The "Risk" section: the sentence, the chart and the table by level."""
    risk = files.extras.get("risk")
    out = [f"<p>{escape(sentence(risk))}</p>"]
    chart = spend_distribution(risk, "Simulated spend in a year")
    if chart:
        out.append(f"<figure>{chart}<figcaption>Share of {risk['draws']:,} simulated years by "
                   "spend; the red line is the budget, the dashed lines the 5th and 95th "
                   "percentiles.</figcaption></figure>")
    levels = risk.get("levels") or []  # along the continuum (planner.analysis.risk)
    if levels and risk.get("budget") is not None:
        rows = "".join(
            f"<tr><td>{escape(files.names.level(str(r['level'])))}</td>"
            f"<td class=\"num\">{escape(_units(r['units']))}</td>"
            f"<td class=\"num\">{r['services']}</td>"
            f"<td class=\"num\">{escape(money(r['unit_mean_spend']))}</td>"
            f"<td class=\"num\">{escape(money(r['unit_budget_share']))}</td>"
            f"<td class=\"num\">{_percent(r['p_unit_within'])}</td></tr>" for r in levels)
        out.append("<p>Each unit's share of the budget is the budget in proportion to its expected "
                   "spend. A unit with few patients is likelier to overspend its share (a windfall "
                   "loss) or to underspend it (a windfall saving).</p>"
                   "<table><thead><tr><th>level</th><th>units</th><th>services</th>"
                   + ("<th>a unit's mean spend (the area's part of one)</th>"
                      if any(r["units"] < 1 for r in levels) else "<th>a unit's mean spend</th>")
                   + "<th>its share of the budget</th>"
                   "<th>chance a unit stays within</th></tr></thead><tbody>" + rows
                   + "</tbody></table>")
    return "".join(out)


def _units(units: float) -> str:
    """A level's units in this area: a count, or the area's share of one unit (a region)."""
    return f"{units:,.4g}" if units >= 1 else f"{units:.1%} of one"


def stress_html(files: Any) -> str:
    """The "Provider failure" section: one row per failure scenario."""
    results = files.extras.get("stress", {}).get("results") or []
    rows = "".join(
        f"<tr><td>{escape(', '.join(files.names.provider(p) for p in r['failed']))}</td>"
        f"<td>{escape(str(r['status']))}</td>"
        f"<td class=\"num\">{escape(money(r['recovery_cost']))}</td>"
        f"<td>{escape(r['message'])}</td></tr>" for r in results)
    return ("<p>Each row re-plans with the failed providers' offers removed, starting from this "
            "plan (its contracts with other providers kept where possible). The cost of recovery "
            "is the re-planned spend less this plan's running spend.</p>"
            "<table><thead><tr><th>failed</th><th>status</th><th>cost of recovery (£ a year)</th>"
            "<th>what happens</th></tr></thead><tbody>" + rows + "</tbody></table>")


def markdown_lines(files: Any) -> list[str]:
    """summary.md's sentences on risk and provider failure (none when neither file exists)."""
    out = []
    risk = files.extras.get("risk")
    if risk:
        out += ["## Risk", "", sentence(risk), ""]
    stress = files.extras.get("stress")
    if stress:
        out += ["## Provider failure", ""] + [f"- {r['message']}" for r in stress.get("results") or []]
        out.append("")
    return out


def sentence(risk: dict[str, Any]) -> str:
    from planner.analysis.risk import sentence as risk_sentence

    return risk_sentence(risk)


def _percent(value: Any) -> str:
    return "–" if value is None or value != value else f"{value:.1%}"
