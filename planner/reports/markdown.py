"""summary.md: a short Markdown summary of a plan for board papers and issue trackers.

It only formats the facts of :mod:`planner.reports.facts`. Money is in £ (per year), activity in
episodes per year, quality as a fraction 0–1. No timings (report.html has them), so the same
plan folder gives the same bytes.
"""

from __future__ import annotations

from typing import Any

from planner.csvsafe import FORMULA_STARTS
from planner.reports.facts import (
    binding,
    change_counts,
    changed_contracts,
    commissioned_by_level,
    headline,
    headline_sentence,
    relaxations,
    spend_breakdown,
)
from planner.reports.formatting import amount, number, per_unit, percent, pounds, text
from planner.reports.risk import markdown_lines
from planner.results.folder import PlanFiles

#: Bidirectional controls (U+202A–202E, U+2066–2069): they make an id read backwards.
BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def md_text(value: Any) -> str:
    """Analyst-written text made inert for Markdown renderers: bidi controls removed, ``<>&``
    HTML-escaped (no ``<script>``), a leading ``= + - @`` neutralised as csvsafe does (renderers
    that hand tables to spreadsheets would run it), and no line breaks."""
    shown = text(value).translate(BIDI_CONTROLS).replace("\n", " ").replace("\r", " ")
    shown = shown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "'" + shown if shown.startswith(FORMULA_STARTS) else shown


def _md_cell(value: Any) -> str:
    return md_text(value).replace("\\", "\\\\").replace("|", "\\|")


def _md_table(headers: list[str], rows: list[list[Any]], right: set[int] | None = None) -> str:
    right = right or set()
    lines = ["| " + " | ".join(_md_cell(h) for h in headers) + " |",
             "|" + "|".join("---:" if i in right else "---" for i in range(len(headers))) + "|"]
    lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


MD_LIMIT = 20  # rows of a long list shown in summary.md; the CSVs hold the rest


def render_markdown(files: PlanFiles) -> str:
    """summary.md: headline table, spend by level, contracts changed and binding constraints."""
    out = [f"# Commissioning plan: {_md_cell(files.name)}", "", headline_sentence(files), ""]
    if files.relaxed:
        out += ["> **No plan meets every rule.** The tables describe the cheapest *relaxed* plan "
                "(see the diagnosis below).", ""]
    out += ["## Headline", "",
            _md_table(["figure", "value", "note"],
                      [[h.label, h.text(), h.note] for h in headline(files)
                       if not h.technical], {1}), ""]
    out += markdown_lines(files)  # risk and provider failure (issue 18)
    names = files.names
    relax = names.label(relaxations(files))
    if len(relax):
        out += ["## What to relax", "", "No plan meets every rule. Each row marked *alone* would "
                "by itself make a plan possible; the others are the cheapest combination.", "",
                _md_table(["rule", "subject", "amount", "alone", "message"],
                          [[r.constraint, r.subject, amount(r.amount, r.unit),
                            "alone" if r.alone else "combined", r.message]
                           for r in relax.itertuples(index=False)], {2}), ""]
    if files.multi_year:
        budget = files.table("budget")
        out += ["## Budget by year", "",
                _md_table(["year", "budget", "spend", "surplus", "balance carried"],
                          [[int(r.year), pounds(r.budget), pounds(r.spend), pounds(r.surplus),
                            pounds(r.balance_carried)] for r in budget.itertuples(index=False)],
                          {1, 2, 3, 4}), ""]
    breakdown = spend_breakdown(files)
    levels = breakdown.loc[breakdown["by"] == "level"]
    if len(levels):
        year = f" ({files.first_year})" if files.multi_year else ""
        count = commissioned_by_level(files)
        out += [f"## Spend by level{year}", "",
                _md_table(["level", "services", "spend", "share"],
                          [[names.level(r.key), int(count.get(r.key, 0)), pounds(r.spend),
                            percent(r.share)] for r in levels.itertuples(index=False)],
                          {1, 2, 3}), ""]
    counts = change_counts(files)
    if counts:
        changed = names.label(changed_contracts(files))
        out += ["## Contracts changed against the status quo", "",
                ", ".join(f"{n} {kind}" for kind, n in counts.items()) + ".", ""]
        if len(changed):
            out += [_md_table(["change", "service", "provider", "level", "episodes before",
                               "episodes after"],
                              [[r.change, r.service, r.provider, text(r.level_b) or text(r.level_a),
                                number(r.volume_a), number(r.volume_b)]
                               for r in changed.head(MD_LIMIT).itertuples(index=False)], {4, 5})]
            if len(changed) > MD_LIMIT:
                out += ["", f"… and {len(changed) - MD_LIMIT} more in changes.csv."]
            out.append("")
    bind = names.label(binding(files))
    if len(bind):
        out += ["## Binding constraints", "",
                _md_table(["rule", "subject", "value per unit", "message"],
                          [[r.constraint, r.subject, per_unit(r.marginal_value, r.unit), r.message]
                           for r in bind.head(MD_LIMIT).itertuples(index=False)], {2})]
        if len(bind) > MD_LIMIT:
            out += ["", f"… and {len(bind) - MD_LIMIT} more in marginal_values.csv."]
        out.append("")
    plan = files.plan
    versions = plan.get("versions") or {}
    # No timings here (report.html has them): summary.md is byte-identical for the same data.
    method = "; ".join(f"{h.label.lower()} {h.text()}" for h in headline(files) if h.technical)
    out += ["## How the plan was found", "",
            (f"{method.capitalize()}. " if method else "")
            + f"Status {files.status}; HiGHS "  # the gap is among the method's figures
            f"{text(versions.get('highs'))}, planner {text(versions.get('planner'))}; instance "
            f"sha256 `{text((plan.get('instance') or {}).get('sha256'))[:12]}`.", ""]
    return "\n".join(out)
