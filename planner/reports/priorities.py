"""report.html's section "What to fund next, what to cut first" (issue 15), from the plan folder.

Why separate: report.py is being split; this section reads only priorities.csv and effects.csv
(written by planner.priorities and planner.shifting_tables) and says, in a board's words, what
each invest-to-save service costs, what it saves and where, then the PBMA wish and hit lists.
"""

from __future__ import annotations

import re
from html import escape
from typing import Any

import pandas as pd

from planner.analysis.priorities import BUDGET_STEPS
from planner.formats import money, number

#: the end of a hit-list row's method when its goes_out_at is blank because the steps below
#: today's that would drop it have no feasible plan (planner.analysis.priorities.NO_PLAN_NOTE)
NO_PLAN = re.compile(r"; goes_out_at blank: no plan exists at (?P<budget>£\S+) or below "
                     r"\(every year's budget × (?P<factor>[0-9.]+)\)")


def _money(value: Any) -> str:
    return "" if pd.isna(value) else money(value)


def _share(value: Any) -> str:
    return "" if pd.isna(value) else f"{float(value):.0%}"


def has_section(files) -> bool:
    return len(files.table("priorities")) > 0 or len(files.table("effects")) > 0


def section(files) -> str:
    """The HTML of the section (tables via report.html_table, every cell escaped)."""
    from planner.reports.html_parts import Col, html_table

    names = files.names
    label = names.service
    parts = []
    effects = files.table("effects")
    if len(effects):
        by = effects.groupby(["source", "target"], sort=False).agg(
            episodes=("episodes", "sum"), saved=("saved", "sum")).reset_index()
        cost = files.table("contracts").groupby("service")["spend"].sum()
        items = []
        for r in by.itertuples(index=False):
            spent = float(cost.get(r.source, 0.0))
            moved = "avoids" if r.episodes < 0 else "adds"
            items.append(f"<li>{escape(label(r.source))} costs {escape(money(spent))} and {moved} "
                         f"{escape(number(abs(r.episodes), 1))} episodes of "
                         f"{escape(label(r.target))}, "
                         + (f"saving {escape(money(r.saved))}" if r.saved >= 0 else
                            f"costing {escape(money(-r.saved))} more") + ".</li>")
        parts.append("<p>Invest to save: what each service with demand effects costs in this plan, "
                     "and what its effects move elsewhere (at the target's price; effects.csv "
                     f"by year).</p><ul>{''.join(items)}</ul>")
    table = files.table("priorities")
    if len(table):
        table = table.assign(name=table["service"].map(label),
                             comes_in=_budget_cells(table, "comes_in_at", "≤ ",
                                                    not_by=_largest_tested(files)),
                             goes_out=_budget_cells(table, "goes_out_at", "≥ ",
                                                    no_plan=True))
        columns = [Col("rank", "#"), Col("name", "service"),
                   Col("coverage", "funded share", _share, numeric=True),
                   Col("net_cost", "net cost £", _money, numeric=True),
                   Col("saved", "of which saved £", _money, numeric=True),
                   Col("qalys", "QALYs", lambda v: number(v, 2), numeric=True),
                   Col("cost_per_qaly", "£ per QALY", _money, numeric=True)]
        wish = table.loc[table["list"] == "wish"]
        hit = table.loc[table["list"] == "hit"]
        parts.append("<h3>Wish list: what to fund next (best value first)</h3>")
        parts.append(html_table(wish, columns + [Col("comes_in", "comes in at budget £",
                                                     numeric=True)], more="priorities.csv"))
        parts.append("<h3>Hit list: what to cut first (worst value first)</h3>")
        parts.append(html_table(hit, columns + [Col("goes_out", "goes out at budget £",
                                                    numeric=True)], more="priorities.csv"))
        methods = table["method"].astype(str)
        method = NO_PLAN.split(methods.iloc[0])[0]  # the steps, shared by every row
        shown = methods[_status(table).ne("skipped")]  # a skipped row reads "not tested"
        no_plan = next(((m, text) for text in shown if (m := NO_PLAN.search(text))), None)
        parts.append(f'<p class="note">Costs, savings and QALYs are over the horizon at full demand, '
                     "net of the savings the service's effects unlock; £ per QALY is blank where a "
                     "service saves money overall or gives no QALYs. The budgets at which a service "
                     f"comes in or goes out: {escape(method)} (“not by £…”: not even at the largest "
                     "budget tested; blank: no tested budget with a plan changes it)."
                     + (_no_plan_note(*no_plan) if no_plan else "")
                     + (_untested_note() if _status(table).ne("computed").any() else "")
                     + "</p>")
    return "".join(parts)


def _status(table: pd.DataFrame) -> pd.Series:
    """Each row's status (a plan folder written before issue 19 has none: all computed)."""
    if "status" not in table.columns:
        return pd.Series("computed", index=table.index)
    return table["status"].fillna("computed").astype(str)


def _largest_tested(files) -> float | None:
    """The largest budget the steps test (base-year £: the first year's × the largest step),
    None without a budget."""
    budget = files.table("budget")
    if not len(budget) or "budget" not in budget or pd.isna(budget["budget"].iloc[0]):
        return None
    return float(budget["budget"].iloc[0]) * max(BUDGET_STEPS)


def _budget_cells(table: pd.DataFrame, column: str, bound: str, no_plan: bool = False,
                  not_by: float | None = None) -> list[str]:
    """The budget a service comes in or goes out at, as the board reads it: £ where every step
    it needs is known; "≤ £" / "≥ £" where a nearer step was not (status partial); "not
    tested" where no value was found and a step that could give one was not (skipped). With
    ``no_plan`` (goes out), a blank because the steps below today's that would drop it have no
    plan at all reads "none: no plan at ≤ £…", not a budget at which it is cut. With ``not_by``
    (comes in: the largest budget tested), a service no tested budget brings in reads "not by
    £…" rather than a blank a board would take for missing data."""
    cells = []
    methods = table["method"].astype(str) if "method" in table.columns else [""] * len(table)
    for value, status, method in zip(table[column], _status(table), methods):
        found = NO_PLAN.search(method) if no_plan and pd.isna(value) else None
        if status == "skipped":
            cells.append("not tested")
        elif status == "partial" and not pd.isna(value):
            cells.append(bound + money(value))
        elif found:
            cells.append(f"none: no plan at ≤ {found['budget']}")
        elif pd.isna(value) and not_by is not None and status == "computed" \
                and not method.startswith("no budget"):
            cells.append(f"not by {money(not_by)}")
        else:
            cells.append(_money(value))
    return cells


def _no_plan_note(found: re.Match, method: str) -> str:
    """The sentence under the table for "none: no plan at ≤ £…" (``found`` in the first such
    row's ``method``; the step with no plan, and whether a tested budget above it has a plan,
    are the same for every row)."""
    budget = escape(found["budget"])
    where = (f"at {budget} or below (every year's budget × {escape(found['factor'])}) no plan "
             "meets every rule, so the model does not say what would be cut there")
    if method.endswith("no tested budget below today's has a plan"):
        return (f" “none: no plan at ≤ {budget}”: no tested budget below today's has a plan: "
                f"{where}.")
    return (f" “none: no plan at ≤ {budget}”: the service is funded at every tested budget below "
            f"today's that has a plan; {where}.")


def _untested_note() -> str:
    return (" Some budget steps were not known within the time the analyses share (the steps "
            "not re-solved are named above): “≤ £” means the service comes in at that budget "
            "or a smaller tested one, “≥ £” that it goes out there or at a larger one, and “not "
            "tested” that no known step changes it and an unknown one might.")
