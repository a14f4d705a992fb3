"""report.html's section "What to fund next, what to cut first" (issue 15), from the plan folder.

Why separate: report.py is being split; this section reads only priorities.csv and effects.csv
(written by planner.priorities and planner.shifting_tables) and says, in a board's words, what
each invest-to-save service costs, what it saves and where, then the PBMA wish and hit lists.
"""

from __future__ import annotations

from html import escape
from typing import Any

import pandas as pd

from planner.formats import money, number


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
                             comes_in=_budget_cells(table, "comes_in_at", "≤ "),
                             goes_out=_budget_cells(table, "goes_out_at", "≥ "))
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
        method = str(table["method"].iloc[0])
        parts.append(f'<p class="note">Costs, savings and QALYs are over the horizon at full demand, '
                     "net of the savings the service's effects unlock; £ per QALY is blank where a "
                     "service saves money overall or gives no QALYs. The budgets at which a service "
                     f"comes in or goes out: {escape(method)} (blank: no tested budget changes "
                     "it)." + (_untested_note() if _status(table).ne("computed").any() else "")
                     + "</p>")
    return "".join(parts)


def _status(table: pd.DataFrame) -> pd.Series:
    """Each row's status (a plan folder written before issue 19 has none: all computed)."""
    if "status" not in table.columns:
        return pd.Series("computed", index=table.index)
    return table["status"].fillna("computed").astype(str)


def _budget_cells(table: pd.DataFrame, column: str, bound: str) -> list[str]:
    """The budget a service comes in or goes out at, as the board reads it: £ where every step
    it needs is known; "≤ £" / "≥ £" where a nearer step was not (status partial); "not
    tested" where no value was found and a step that could give one was not (skipped)."""
    cells = []
    for value, status in zip(table[column], _status(table)):
        if status == "skipped":
            cells.append("not tested")
        elif status == "partial" and not pd.isna(value):
            cells.append(bound + money(value))
        else:
            cells.append(_money(value))
    return cells


def _untested_note() -> str:
    return (" Some budget steps were not known within the time the analyses share (the steps "
            "not re-solved are named above): “≤ £” means the service comes in at that budget "
            "or a smaller tested one, “≥ £” that it goes out there or at a larger one, and “not "
            "tested” that no known step changes it and an unknown one might.")
