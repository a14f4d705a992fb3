"""The pieces report.html is made of: tables, figures, paragraphs and figure cards (all escaped).

Only formatting: every value shown comes from :mod:`planner.reports.facts` or the plan's files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import pandas as pd

from planner.reports.facts import STATUS_WORDS
from planner.reports.formatting import is_missing, number, text
from planner.results.folder import PlanFiles

TABLE_LIMIT = 25  # rows above which a table scrolls on screen (every row is there, and printed)


@dataclass(frozen=True)
class Col:
    """A table column: the frame's column, its header, how to show a value, and alignment."""

    key: str
    header: str
    show: Callable[[Any], str] = text
    numeric: bool = False
    wide: bool = False  # running text: given room to wrap
    #: a name of a few short words (a provider kind, a category, a rule's name, a method id):
    #: printed, it wraps at spaces only, so a narrow column never breaks "Foundation trust" into
    #: "Foundatio / n trust" (nor "min_income" into "min_i / ncom / e")
    words: bool = False



def quality3(value: Any) -> str:
    return number(value, 3)


def threshold(value: Any) -> str:
    return "—" if is_missing(value) else ("none" if value <= 0 else number(value, 3))


def option_text(value: Any) -> str:
    if value is None or value in ([], {}, ""):
        return "default" if value is None else "none"
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def flag(value: Any) -> str:
    return "" if is_missing(value) else ("yes" if bool(value) else "no")


def html_table(frame: pd.DataFrame, columns: Sequence[Col], limit: int = TABLE_LIMIT,
               more: str = "", row_class: Callable[[Any], str] | None = None) -> str:
    """An HTML table of ``frame`` (escaped), every row of it: above ``limit`` rows it scrolls on
    screen (and prints in full); ``more`` names the file that holds it too."""
    if frame is None or not len(frame):
        return '<p class="none">None.</p>'
    classes = [" class=num" if c.numeric else " class=wide" if c.wide else
               " class=words" if c.words else "" for c in columns]
    head = "".join(f'<th scope="col"{css}>{escape(c.header)}</th>'
                   for c, css in zip(columns, classes))
    body = []
    for row in frame.itertuples(index=False):
        values = row._asdict()
        cells = "".join(f"<td{css}>{escape(c.show(values.get(c.key)))}</td>"
                        for c, css in zip(columns, classes))
        css = row_class(row) if row_class else ""
        body.append(f'<tr{f" class={css}" if css else ""}>{cells}</tr>')
    note, box = "", "scroll"
    if len(frame) > limit:
        box = "scroll long"
        note = (f'<p class="note">All {len(frame)} rows (scroll the table)'
                + (f"; also in {escape(more)}" if more else "") + ".</p>")
    return (f'<div class="{box}"><table><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>{note}')


def figure(svg: str, caption: str) -> str:
    if not svg:
        return ""
    return f'<figure>{svg}<figcaption>{escape(caption)}</figcaption></figure>'


def para(*sentences: str) -> str:
    return "<p>" + " ".join(escape(s) for s in sentences if s) + "</p>"


def no_plan(files: PlanFiles) -> str:
    return para(f"Not available: there is no plan ({STATUS_WORDS.get(files.status, files.status)}).")


def year_note(files: PlanFiles) -> str:
    if not files.multi_year:
        return ""
    return para(f"This section shows {files.first_year}, the first of {len(files.years)} years; "
                "plan.xlsx and the CSV files hold every year.")


def cards(items: Sequence[Any]) -> str:
    """Headline figures as cards (label, value, note), or '' for none."""
    shown = "".join(f'<div class="card"><div class="label">{escape(item.label)}</div>'
                    f'<div class="value">{escape(item.text())}</div>'
                    f'<div class="detail">{escape(item.note)}</div></div>' for item in items)
    return f'<div class="cards">{shown}</div>' if shown else ""
