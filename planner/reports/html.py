"""report.html: a self-contained report of a plan, written for a board member, not an OR specialist.

One HTML file with its styles and charts inline (SVG made with matplotlib, see
:mod:`planner.reports.charts`) and no scripts: it opens offline, prints, and cannot leak a request (a
Content-Security-Policy forbids any). :func:`render_html` makes it from the plan folder's files
(:class:`planner.results.folder.PlanFiles`) and only formats the facts of
:mod:`planner.reports.facts`: the sections are in :mod:`planner.reports.html_sections` (money and
change) and :mod:`planner.reports.html_sections_rules` (what shapes the plan), their pieces in
:mod:`planner.reports.html_parts`; :mod:`planner.reports.writer` writes it with summary.md and
plan.xlsx.

Sections (their ids are stable, for links and tests): ``headline``, ``diagnosis`` (no plan),
``years`` (several years), ``money``, ``continuum``, ``providers``, ``quality``, ``changes``,
``constraints``, ``solver``.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from planner.reports import areas, payment, priorities, risk
from planner.reports import html_sections as money
from planner.reports import html_sections_rules as rules
from planner.reports.facts import STATUS_WORDS
from planner.reports.formatting import text
from planner.results.folder import PlanFiles

SECTIONS = (("headline", "Headline"), ("decisions", "What changes, in £"),
            ("diagnosis", "What to relax"), ("years", "Year by year"),
            ("money", "Where the money goes"), ("risk", "Risk: the chance of breaking even"),
            ("stress", "If a provider fails"),
            ("priorities", "What to fund next, what to cut first"),
            ("fair_shares", "Fair shares"),
            ("continuum", "The commissioning continuum"),
            ("providers", "Providers and break-even"), ("payment", "How care is paid for"),
            ("quality", "Quality"),
            ("changes", "Changes from today"), ("alternatives", "Other plans nearly as good"),
            ("constraints", "What binds the plan"),
            ("solver", "How the plan was found"))



# --- the page ---------------------------------------------------------------------------------
STYLE = """
:root { --ink: #0b0c0c; --muted: #505a5f; --line: #b1b4b6; --blue: #1d70b8; --red: #d4351c;
        --green: #00703c; --pale: #f3f2f1; }
* { box-sizing: border-box; }
body { font: 16px/1.45 "Helvetica Neue", Arial, "Liberation Sans", sans-serif; color: var(--ink);
       margin: 0; background: #fff; }
header { background: var(--blue); color: #fff; padding: 24px 32px; }
header h1 { margin: 0 0 4px; font-size: 28px; }
header p { margin: 4px 0; max-width: 60em; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 3px; font-weight: bold;
         background: #fff; color: var(--blue); }
.badge.bad { color: var(--red); }
nav { padding: 12px 32px; background: var(--pale); border-bottom: 1px solid var(--line); }
nav a { margin-right: 16px; color: var(--blue); white-space: nowrap; }
main { padding: 0 32px 32px; max-width: 1216px; }
section { border-bottom: 1px solid var(--line); padding: 8px 0 24px; }
h2 { font-size: 22px; margin: 24px 0 8px; }
h3 { font-size: 17px; margin: 20px 0 6px; }
p { max-width: 60em; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 12px;
         margin: 12px 0; }
.card { border-left: 5px solid var(--blue); background: var(--pale); padding: 10px 14px; }
.card .label { font-size: 14px; color: var(--muted); }
.card .value { font-size: 24px; font-weight: bold; }
.card .detail { font-size: 13px; color: var(--muted); }
figure { margin: 12px 0; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 14px; color: var(--muted); }
.scroll { overflow-x: auto; }
.columns { display: flex; flex-wrap: wrap; gap: 0 32px; align-items: flex-start; }
table { border-collapse: collapse; font-size: 14px; margin: 8px 0; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left;
         vertical-align: top; }
thead th { background: var(--pale); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
td.wide { min-width: 22em; }
td.words { min-width: 7em; }
tr.muted td { color: var(--muted); }
tr.bad td { color: var(--red); font-weight: bold; }
table.facts th { width: 12em; }
.warn { border-left: 5px solid #f47738; background: #fff7e6; padding: 8px 12px; }
.alert { border-left: 5px solid var(--red); background: #fdecea; padding: 8px 12px; }
.note, .none { color: var(--muted); font-size: 14px; }
footer { padding: 16px 32px; color: var(--muted); font-size: 13px; }
.scroll.long { max-height: 36em; overflow-y: auto; }
/* Print (A4): the header and headline on the first page, every row and column of every table
   within the page width, table headers repeated on each page. */
@page { size: A4; margin: 12mm 10mm; }
@media print {
  body { font-size: 10pt; }
  nav, .note { display: none; }
  header { background: none; color: var(--ink); padding: 0 0 6px; }
  header h1 { font-size: 18pt; }
  .badge { border: 1px solid var(--ink); }
  main { padding: 0; max-width: none; }
  section { padding: 4px 0 10px; }
  h2 { break-after: avoid-page; margin-top: 10px; }
  h3 { break-after: avoid-page; }
  .cards { grid-template-columns: repeat(4, 1fr); gap: 6px; }
  .card .value { font-size: 14pt; }
  .scroll, .scroll.long { overflow: visible; max-height: none; }
  table { width: 100%; table-layout: auto; font-size: 7.5pt; }
  th, td { padding: 2px 4px; }
  td:not(.num) { overflow-wrap: anywhere; }
  td.words { overflow-wrap: normal; }
  td.wide { min-width: 0; }
  td.num { white-space: nowrap; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  figure { break-inside: avoid; }
  figure svg { max-height: 120mm; }
  .columns { display: block; }
  footer { padding: 8px 0; }
}
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def render_html(files: PlanFiles) -> str:
    """The whole report as one HTML document (UTF-8, no external resources, no scripts)."""
    builders: dict[str, Callable[[PlanFiles], str]] = {
        "headline": money.headline, "decisions": money.decisions, "diagnosis": money.diagnosis,
        "years": money.years, "money": money.where_money_goes, "continuum": rules.continuum,
        "providers": rules.providers, "quality": rules.quality, "changes": money.changes,
        "alternatives": money.alternatives, "constraints": rules.constraints,
        "solver": rules.solver, "risk": risk.risk_html, "stress": risk.stress_html,
        "priorities": priorities.section, "payment": payment.payment_section,
        "fair_shares": areas.section}
    present = [(key, title) for key, title in SECTIONS
               if (key != "diagnosis" or files.diagnosis is not None)
               and (key != "decisions" or (files.has_plan and not files.relaxed))
               and (key != "alternatives" or "differs" in files.table("alternatives"))
               and (key != "years" or files.multi_year)
               and (key not in ("risk", "stress") or key in files.extras)
               and (key != "priorities" or priorities.has_section(files))
               and (key != "payment" or payment.has_payments(files))
               and (key != "fair_shares" or areas.has_section(files))]
    nav = "\n".join(f'<a href="#{key}">{escape(title)}</a>' for key, title in present)
    body = "\n".join(f'<section id="{key}"><h2>{escape(title)}</h2>{builders[key](files)}</section>'
                   for key, title in present)
    description = files.instance.config.description if files.instance is not None else ""
    good = files.status in ("optimal", "feasible")
    status = STATUS_WORDS.get(files.status, files.status)
    years = (f"{files.years[0]}–{files.years[-1]}" if files.multi_year
             else str(files.first_year) if files.first_year else "")
    alert = ""
    if files.relaxed:
        alert = ('<p class="alert"><strong>No plan meets every rule.</strong> The figures below '
                 "describe the cheapest relaxed plan; see “What to relax”.</p>")
    elif not good:
        alert = f'<p class="alert"><strong>There is no plan.</strong> {escape(status)}.</p>'
    version = text((files.plan.get("versions") or {}).get("planner"))
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Commissioning plan: {escape(files.name)}</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<h1>Commissioning plan: {escape(files.name)}{f" ({escape(years)})" if years else ""}</h1>
{f"<p>{escape(description)}</p>" if description else ""}
<p><span class="badge{"" if good else " bad"}">{escape(files.status)}</span> {escape(status)}</p>
</header>
<nav aria-label="Sections">{nav}</nav>
<main>
{alert}
{body}
</main>
<footer>Made by planner {escape(version)} from the plan folder's files (plan.json and the CSV
tables). Money is in £ a year unless stated; activity in episodes a year; quality from 0 to 1.
Every table here is in plan.xlsx in full.</footer>
</body>
</html>
"""
