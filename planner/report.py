"""report.html: a self-contained report of a plan, written for a board member, not an OR specialist.

One HTML file with its styles and charts inline (SVG made with matplotlib, see
:mod:`planner.charts`) and no scripts: it opens offline, prints, and cannot leak a request (a
Content-Security-Policy forbids any). It is made from the plan folder's files by
:func:`write_reports`, which also writes ``plan.xlsx`` (:mod:`planner.excel`) and ``summary.md``
(:mod:`planner.summary`); ``Plan.to_dir`` calls it inside its atomic staging, and
``planner report PLAN_DIR`` calls it again later. Same files in, byte-identical reports out.

Sections (their ids are stable, for links and tests): ``headline``, ``diagnosis`` (no plan),
``years`` (several years), ``money``, ``continuum``, ``providers``, ``quality``, ``changes``,
``constraints``, ``solver``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from planner import charts
from planner.decisions import contract_decisions, provider_decisions, risks, service_decisions
from planner.instance import Instance
from planner.report_payment import has_payments, payment_section
from planner.summary import (
    STATUS_WORDS,
    PlanFiles,
    amount,
    binding,
    break_even,
    change_counts,
    changed_contracts,
    continuum,
    headline,
    headline_sentence,
    is_missing,
    level_table,
    money,
    number,
    per_unit,
    percent,
    pounds,
    quality,
    relaxations,
    render_markdown,
    spend_breakdown,
    text,
)

REPORT_FILES = ("report.html", "summary.md", "plan.xlsx")
TABLE_LIMIT = 25  # rows above which a table scrolls on screen (every row is there, and printed)
SECTIONS = (("headline", "Headline"), ("decisions", "What changes, in £"),
            ("diagnosis", "What to relax"), ("years", "Year by year"),
            ("money", "Where the money goes"), ("continuum", "The commissioning continuum"),
            ("providers", "Providers and break-even"), ("payment", "How care is paid for"),
            ("quality", "Quality"),
            ("changes", "Changes from today"), ("alternatives", "Other plans nearly as good"),
            ("constraints", "What binds the plan"),
            ("solver", "How the plan was found"))


# --- writing ----------------------------------------------------------------------------------
def write_reports(folder: str | Path, instance: Instance | None = None,
                  out: str | Path | None = None, find_instance: bool = True) -> list[Path]:
    """Write report.html, summary.md and plan.xlsx for the plan folder ``folder`` into ``out``
    (default: the folder itself)."""
    files = PlanFiles.read(folder, instance=instance, find_instance=find_instance)
    return write_files(files, Path(out) if out is not None else Path(folder))


def write_files(files: PlanFiles, target: Path) -> list[Path]:
    """Write the three reports of ``files`` into the folder ``target``. Each is written to a
    temporary name and renamed into place, so a reader never sees half a report."""
    from planner.excel import plan_workbook_bytes

    target.mkdir(parents=True, exist_ok=True)
    makers = {"report.html": lambda: render_html(files).encode("utf-8"),
              "summary.md": lambda: render_markdown(files).encode("utf-8"),
              "plan.xlsx": lambda: plan_workbook_bytes(files)}
    contents = {name: makers[name]() for name in REPORT_FILES}  # all made before any is written
    return [_write_atomic(target / name, data) for name, data in contents.items()]


def _write_atomic(path: Path, data: bytes) -> Path:
    """Write to a hidden temporary file beside ``path`` (usual permissions), then rename it."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(temporary, "xb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


# --- HTML pieces ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Col:
    """A table column: the frame's column, its header, how to show a value, and alignment."""

    key: str
    header: str
    show: Callable[[Any], str] = text
    numeric: bool = False
    wide: bool = False  # running text: given room to wrap


def _q(value: Any) -> str:
    return number(value, 3)


def _threshold(value: Any) -> str:
    return "—" if is_missing(value) else ("none" if value <= 0 else number(value, 3))


def _option(value: Any) -> str:
    if value is None or value in ([], {}, ""):
        return "default" if value is None else "none"
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def _flag(value: Any) -> str:
    return "" if is_missing(value) else ("yes" if bool(value) else "no")


def html_table(frame: pd.DataFrame, columns: Sequence[Col], limit: int = TABLE_LIMIT,
               more: str = "", row_class: Callable[[Any], str] | None = None) -> str:
    """An HTML table of ``frame`` (escaped), every row of it: above ``limit`` rows it scrolls on
    screen (and prints in full); ``more`` names the file that holds it too."""
    if frame is None or not len(frame):
        return '<p class="none">None.</p>'
    classes = [" class=num" if c.numeric else " class=wide" if c.wide else "" for c in columns]
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


def _figure(svg: str, caption: str) -> str:
    if not svg:
        return ""
    return f'<figure>{svg}<figcaption>{escape(caption)}</figcaption></figure>'


def _p(*sentences: str) -> str:
    return "<p>" + " ".join(escape(s) for s in sentences if s) + "</p>"


def _no_plan(files: PlanFiles) -> str:
    return _p(f"Not available: there is no plan ({STATUS_WORDS.get(files.status, files.status)}).")


def _year_note(files: PlanFiles) -> str:
    if not files.multi_year:
        return ""
    return _p(f"This section shows {files.first_year}, the first of {len(files.years)} years; "
              "plan.xlsx and the CSV files hold every year.")


# --- sections ---------------------------------------------------------------------------------
def _cards(items: Sequence[Any]) -> str:
    """Headline figures as cards (label, value, note), or '' for none."""
    cards = "".join(f'<div class="card"><div class="label">{escape(item.label)}</div>'
                    f'<div class="value">{escape(item.text())}</div>'
                    f'<div class="detail">{escape(item.note)}</div></div>' for item in items)
    return f'<div class="cards">{cards}</div>' if cards else ""


def _headline(files: PlanFiles) -> str:
    # the method's figures (objective, risk charge, ...) are under "How the plan was found"
    cards = _cards([item for item in headline(files)
                    if item.key != "status" and not item.technical])
    totals = files.totals
    parts = {"paid to providers": totals.get("activity_spend") or 0.0,
             "contracting": totals.get("transaction_costs") or 0.0,
             "contract set-up": totals.get("setup_costs") or 0.0,
             "new providers": totals.get("entry_costs") or 0.0,
             "exits": totals.get("exit_costs") or 0.0,
             "notice": totals.get("notice_costs") or 0.0}
    parts.update({name: totals[key] for name, key in (  # issue 16, where the plan pays them
        ("blocks", "block_spend"), ("bundles", "bundle_spend"),
        ("income guarantees", "guarantee_payments")) if (totals.get(key) or 0) > 0})
    budget = totals.get("budget")
    title = "Spend against budget" if budget is not None else "Spend by component"
    chart = charts.spend_against_budget(parts, budget, title) if totals else ""
    caption = ("Spend by component; the red line is the budget"
               + (" (summed over the years)." if files.multi_year else ".")
               if budget is not None else "Spend by component; there is no budget limit.")
    return (_p(headline_sentence(files)) + cards
            + _figure(chart, caption))


def _decisions(files: PlanFiles) -> str:
    """What the plan changes against today, in £: the decisions a board is asked to take."""
    if not files.has_plan:
        return _no_plan(files)
    contracts = contract_decisions(files)
    providers = provider_decisions(files)
    services = service_decisions(files)
    at_risk = risks(files)
    if "change" not in files.table("changes"):
        return _p("No comparison with today's contracts was written with this plan "
                  "(changes.csv is absent; 'planner solve' writes it).")
    started = contracts.loc[contracts["change"] == "started"]
    ended = contracts.loc[contracts["change"] == "ended"]
    moved = contracts.loc[contracts["change"] == "moved"]
    year = f" in {files.first_year}" if files.multi_year else ""
    def count(n: int, one: str, many: str) -> str:
        return f"{n} {one if n == 1 else many}"

    starts = count(len(started), "contract starts", "contracts start")
    sentences = [f"Against today's contracts{year}: {starts}, worth "
                 f"{money(started['value_plan'].sum())} a year; {count(len(ended), 'ends', 'end')}, "
                 f"worth {money(ended['value_today'].sum())} a year today; "
                 f"{count(len(moved), 'moves', 'move')} to another level."]
    leaving = providers.loc[providers["change"].isin(["leaves", "loses income"])]
    if len(leaving):
        sentences.append(f"{count(len(leaving), 'provider leaves or loses', 'providers leave or lose')}"
                         f" income, {money(-leaving['income_change'].sum())} a year in all.")
    newly = services.loc[services["change"] == "newly funded"]
    dropped = services.loc[services["change"] == "no longer funded"]
    if len(newly) or len(dropped):
        sentences.append(f"{count(len(newly), 'service is', 'services are')} newly funded and "
                         f"{len(dropped)} no longer funded.")
    parts = [_p(*sentences)]
    named = files.names
    if len(at_risk):
        names = ", ".join(f"{named.provider(r.provider)} ({money(r.min_income - r.income)} short)"
                          for r in at_risk.itertuples(index=False))
        parts.append(f'<p class="warn"><strong>Risk:</strong> {escape(names)} would be paid below '
                     "the income it needs to break even.</p>")
    parts.append("<h3>Contracts started, ended and moved</h3>" + html_table(named.label(contracts), [
        Col("change", "change"), Col("service", "service"), Col("provider", "provider"),
        Col("level", "level", lambda v: text(v) or "—"),
        Col("episodes_today", "episodes today", number, True),
        Col("episodes_plan", "episodes in plan", number, True),
        Col("value_today", "£ a year today", pounds, True),
        Col("value_plan", "£ a year in plan", pounds, True),
        Col("value_change", "change", pounds, True)], more="changes.csv"))
    parts.append("<h3>Providers whose income changes</h3>" + html_table(named.label(providers), [
        Col("provider", "provider"), Col("kind", "kind"), Col("change", "change"),
        Col("income_today", "income today", pounds, True),
        Col("income_plan", "income in plan", pounds, True),
        Col("income_change", "change", pounds, True)], more="providers.csv",
        row_class=lambda r: "bad" if r.change == "leaves" else ""))
    parts.append("<h3>Services funded, no longer funded, and not funded</h3>" + html_table(
        named.label(services), [Col("service", "service"), Col("change", "change"),
                   Col("spend_plan", "spend in plan", pounds, True),
                   Col("reason", "why", wide=True)], more="unfunded.csv"))
    return "".join(parts)


def _diagnosis(files: PlanFiles) -> str:
    relax = relaxations(files)
    intro = _p("No plan meets every rule. Each row marked “alone” would, by itself, make a plan "
               "possible: it is the smallest change of that one rule with every other rule kept. "
               "The “combined” rows are the cheapest mix of changes, with counts of providers or "
               "services priced at an assumed £1m each.")
    if files.relaxed:
        intro += _p("The tables in the rest of this report describe that cheapest relaxed plan, "
                    "not a plan that can be adopted as it stands.")
    columns = [Col("alone", "alone?", lambda v: "alone" if v else "combined"),
               Col("constraint", "rule"), Col("subject", "applies to"),
               Col("relax_by", "relax by", numeric=True),
               Col("message", "in words", wide=True)]
    relax = relax.assign(relax_by=[amount(a, u) for a, u in zip(relax["amount"], relax["unit"])])
    return intro + html_table(files.names.label(relax), columns, more="diagnosis.json")


def _years(files: PlanFiles) -> str:
    budget = files.table("budget")
    chart = charts.budget_by_year(budget, "Spend and budget by year")
    by_year = pd.DataFrame([{"year": int(y), **v} for y, v in
                            (files.plan.get("totals_by_year") or {}).items()])
    columns = [Col("year", "year", lambda v: str(int(v))), Col("budget", "budget", pounds, True),
               Col("spend", "spend", pounds, True),
               Col("surplus", "surplus (+) or deficit (−)", pounds, True),
               Col("balance_carried", "balance carried", pounds, True)]
    rule = files.instance.config.policy.break_even if files.instance is not None else None
    words = {"annual": "every year must break even on its own",
             "carry_forward": "an underspend may be used in the next year only",
             "multi_year": "spend must be within budget over each window of years, "
                           "and no year more than 2 % over"}
    limited = bool(budget["budget"].notna().any()) if "budget" in budget else False
    parts = [_p(f"The plan covers {len(files.years)} years, {files.years[0]}–{files.years[-1]}.",
                (f"Break-even rule: {words.get(rule, rule)}." if limited else
                 "There is no budget limit.") if rule else "")]
    parts.append(_figure(chart, "Bars: spend each year; red marks: that year's budget."))
    parts.append(html_table(budget, columns, more="budget.csv"))
    if len(by_year):
        more = [Col("year", "year", lambda v: str(int(v))),
                Col("activity_spend", "paid to providers", pounds, True),
                Col("transaction_costs", "contracting", pounds, True),
                Col("setup_costs", "set-up", pounds, True),
                Col("entry_costs", "new providers", pounds, True),
                Col("exit_costs", "exits", pounds, True),
                Col("notice_costs", "notice", pounds, True),
                Col("qalys", "QALYs", lambda v: number(v, 2), True)]
        parts.append("<h3>Spend by year and component</h3>" + html_table(by_year, more))
    return "".join(parts)


def _money(files: PlanFiles) -> str:
    if not files.has_plan:
        return _no_plan(files)
    breakdown = files.names.label(spend_breakdown(files))
    chart = charts.spend_breakdown(breakdown, "Where the money goes")
    parts = [_p("Spend on each service's contracts (payments to providers, contracting and set-up "
                "costs), split three ways. One-off costs of bringing in or leaving providers are "
                "in the headline, not here."), _year_note(files),
             _figure(chart, "£ by commissioning level (individual to national), by kind of "
                            "provider, and by category of care.")]
    tables = []
    for by, label in (("level", "level"), ("kind", "provider kind"), ("category", "category")):
        part = breakdown.loc[breakdown["by"] == by]
        tables.append(f"<div><h3>By {label}</h3>" + html_table(
            part, [Col("key", label), Col("spend", "spend", pounds, True),
                   Col("share", "share", percent, True)]) + "</div>")
    return "".join(parts) + f'<div class="columns">{"".join(tables)}</div>'



def _continuum(files: PlanFiles) -> str:
    if not files.has_plan:
        return _no_plan(files)
    named = files.names
    levels = named.label(level_table(files))
    chart = charts.continuum(levels, "Spend commissioned at each level")
    parts = [_p("Each service is commissioned at one level of the continuum, from individual "
                "budgets through practices, localities and the PCT to regional and national "
                "commissioning. Two effects pull services along it:"),
             "<ul><li><strong>Risk pooling.</strong> "
             + escape("A small commissioning unit sees few cases of a rare or costly service, "
                      "so its spend swings from year to year. A level may commission a service "
                      "only if that swing is within what the level can bear (its risk "
                      "tolerance), so rare, costly services move up the continuum; how the "
                      "swing is measured is under “How the plan was found”.")
             + "</li><li><strong>Demand effects.</strong> "
             + escape("Commissioning close to patients can change demand (clinically led demand "
                      "management of long-term conditions at practice level, for instance).")
             + "</li></ul>",
             _p("Among the levels allowed, the plan picks the cheapest overall: prices, the "
                "contracting cost of each unit's contracts, the charge for risk, and every other "
                "rule."), _year_note(files),
             _figure(chart, "£ commissioned at each level, with the number of services.")]
    if files.instance_note:
        parts.append(f'<p class="warn">{escape(files.instance_note)}</p>')
    columns = [Col("level", "level"), Col("population", "people per unit",
                                          lambda v: number(v), True),
               Col("units", "units in the area", lambda v: number(v, 0 if v >= 100 else 2), True),
               Col("transaction_cost", "£ per contract per unit", pounds, True),
               Col("risk_tolerance", "risk tolerance (CV)",
                   lambda v: "unlimited" if is_missing(v) else number(v, 2), True),
               Col("services", "services", number, True), Col("contracts", "contracts", number, True),
               Col("spend", "spend", pounds, True)]
    if files.instance is None:
        columns = [c for c in columns if c.key in ("level", "services", "contracts", "spend")]
    parts.append("<h3>Levels</h3>" + html_table(levels, columns))
    services = continuum(files)
    order = {level: i for i, level in enumerate(files.level_order)}
    services = services.assign(_o=services["level"].map(order).fillna(len(order))).sort_values(
        ["_o", "service"], kind="stable")
    columns = [Col("service", "service"), Col("category", "category"),
               Col("level", "level", lambda v: text(v) or "—"),
               Col("demand", "demand (episodes)", number, True),
               Col("spend", "spend", pounds, True),
               Col("cv", "CV at this level", lambda v: number(v, 3), True),
               Col("reason", "why here", wide=True)]
    parts.append("<h3>Which services, at which level, and why</h3>"
                 + html_table(named.label(services), columns, limit=200, more="services.csv",
                              row_class=lambda r: "" if r.commissioned else "muted"))
    return "".join(parts)


def _providers(files: PlanFiles) -> str:
    if not files.has_plan:
        return _no_plan(files)
    table = files.names.label(break_even(files))
    ruled = table.loc[table["min_income"] > 0]
    intro = _p("Some providers need a minimum income from this commissioner to stay viable "
               "(their break-even income). The plan must pay at least that to any such provider "
               "it uses; a provider it stops using may cost an exit payment instead.")
    if len(ruled):
        chart = charts.break_even(ruled, "Income against break-even income")
        caption = ("Each bar is a provider's income from this plan as a share of the income it "
                   "needs to break even: blue above, orange exactly at it (the rule binds), red "
                   "below. Providers with no break-even income are in the table only.")
    else:
        chart = charts.horizontal_bars(table.set_index("provider")["income"].head(charts.MAX_BARS),
                                       "Income from this plan", "breakeven")
        caption = "No provider has a break-even income in this instance; bars show income."
    columns = [Col("provider", "provider"), Col("kind", "kind"), Col("incumbent", "today?", _flag),
               Col("used", "used?", _flag), Col("income", "income", pounds, True),
               Col("min_income", "break-even income", pounds, True),
               Col("break_even_margin", "margin", pounds, True),
               Col("utilisation", "capacity used", percent, True), Col("position", "position")]
    return (intro + _year_note(files) + _figure(chart, caption)
            + html_table(table, columns, more="providers.csv",
                         row_class=lambda r: "bad" if r.position == "below break-even" else ""))


def _quality(files: PlanFiles) -> str:
    if not files.has_plan:
        return _no_plan(files)
    table = files.names.label(quality(files))
    with_rule = table.loc[(table["min_avg_quality"].fillna(0) > 0) | (table["min_quality"].fillna(0)
                                                                      > 0)]
    shown = with_rule if len(with_rule) else table
    chart = charts.quality_dots(shown, "Quality of commissioned providers"
                                + (" (services with a threshold)" if len(with_rule) else ""))
    intro = _p("Quality is a 0–1 composite of outcomes, patient-reported measures, inspection "
               "ratings and experience. A service may require a minimum quality of every provider "
               "and a minimum average across its providers (weighted by episodes).")
    if not len(with_rule) and files.instance is not None:
        intro += _p("No service in this instance sets a quality threshold.")
    table = table.assign(lowest=[f"{text(p)} ({number(q, 3)})" if not is_missing(q) else "—"
                                 for p, q in zip(table["lowest_provider"], table["lowest_quality"])])
    columns = [Col("service", "service"), Col("level", "level"),
               Col("providers", "providers", number, True),
               Col("avg_quality", "average quality", _q, True),
               Col("min_avg_quality", "average required", _threshold, True),
               Col("lowest", "lowest-quality provider"),
               Col("min_quality", "minimum required", _threshold, True), Col("position", "position")]
    return (intro + _year_note(files)
            + _figure(chart, "Dots: average quality; rings: the lowest-quality provider; red marks: "
                             "the thresholds.") + html_table(table, columns, more="services.csv"))


def _changes(files: PlanFiles) -> str:
    if not files.has_plan:
        return _no_plan(files)
    counts = change_counts(files)
    if not counts:
        return _p("No comparison with today's contracts was written with this plan "
                  "(changes.csv is absent; 'planner solve' writes it).")
    intro = _p("Today's contracts (the status quo: each provider's current volume of each "
               "service) against the plan's " + (f"first year, {files.first_year}."
                                                 if files.multi_year else "contracts."),
               ", ".join(f"{n} {kind}" for kind, n in counts.items()) + ".")
    totals = files.totals
    one_off = ", ".join(f"{label} {money(totals.get(key) or 0.0)}" for key, label in
                        (("setup_costs", "set-up"), ("entry_costs", "new providers"),
                         ("exit_costs", "exits"), ("notice_costs", "notice")))
    intro += _p(f"One-off costs of the change: {one_off}.")
    spend = files.table("spend_changes")
    pieces = [intro]
    for by, label in (("kind", "provider kind"), ("category", "category")):
        part = spend.loc[spend["by"] == by] if "by" in spend else spend
        chart = charts.before_after(part, f"Spend by {label}: today and in the plan",
                                    f"change-{by}")
        pieces.append(_figure(chart, f"Grey: today; blue: the plan (activity spend by {label})."))
    pieces.append("<h3>Contracts that change</h3>" + html_table(
        files.names.label(changed_contracts(files)),
        [Col("change", "change"), Col("service", "service"), Col("provider", "provider"),
         Col("level_b", "level in plan", lambda v: text(v) or "—"),
         Col("volume_a", "episodes today", number, True),
         Col("volume_b", "episodes in plan", number, True),
         Col("volume_change", "change", number, True)], more="changes.csv"))
    if "by" in spend:
        pieces.append("<h3>Spend moved</h3>" + html_table(
            spend.loc[spend["by"] != "level"],
            [Col("by", "by"), Col("key", "group"), Col("spend_a", "today", pounds, True),
             Col("spend_b", "plan", pounds, True),
             Col("difference", "difference", pounds, True)], more="spend_changes.csv"))
    return "".join(pieces)


def _alternatives(files: PlanFiles) -> str:
    """The near-optimal alternatives (``--alternatives K``), one sentence each."""
    table = files.table("alternatives")
    first = table.drop_duplicates("alternative")
    intro = _p(f"{len(first)} other plan{'s' if len(first) != 1 else ''} within the margin asked "
               "for, each differing from this one in a decision a board would recognise (a level, "
               "or a contract let or ended):")
    items = "".join(f"<li>Alternative {int(r.alternative)}: {escape(str(r.differs))}</li>"
                    for r in first.itertuples(index=False))
    return intro + f"<ul>{items}</ul>" + _p("Every contract that differs is in alternatives.csv.")


def _constraints(files: PlanFiles) -> str:
    if not files.has_plan:
        return _no_plan(files)
    table = files.names.label(binding(files))
    intro = _p("The rules that hold the plan back, and what relaxing each would be worth. "
               "“Marginal value” is the improvement of the objective (£) per unit of relaxation. "
               "Re-solves (method milp_resolve) are exact for the step tried; LP duals (lp_dual) "
               "hold for the plan as it stands, with the same services, levels and providers.")
    if "marginal_values" not in files.tables:
        intro += _p("Marginal values were not computed for this plan (solve without "
                    "--no-marginal to get marginal_values.csv).")
    columns = [Col("constraint", "rule"), Col("subject", "applies to"), Col("method", "how known"),
               Col("value", "marginal value", numeric=True),
               Col("message", "in words", wide=True)]
    table = table.assign(value=[per_unit(v, u) for v, u in zip(table["marginal_value"],
                                                                table["unit"])])
    return intro + html_table(table, columns, more="marginal_values.csv")


def _solver(files: PlanFiles) -> str:
    plan = files.plan
    rows = [("Status", STATUS_WORDS.get(files.status, files.status)),
            ("Objective", pounds(plan.get("objective"))), ("Best bound", pounds(plan.get("bound"))),
            ("Gap", percent(plan.get("gap"), 4))]
    counts = plan.get("counts") or {}
    if counts:
        rows.append(("Model size", f"{number(counts.get('variables'))} variables "
                     f"({number(counts.get('binaries'))} yes/no decisions), "
                     f"{number(counts.get('constraints'))} constraints"))
    timings = plan.get("timings") or {}
    if timings:
        rows.append(("Time (seconds)", ", ".join(f"{k} {number(v, 2)}" for k, v in timings.items())))
    versions = plan.get("versions") or {}
    rows.append(("Versions", ", ".join(f"{k} {v}" for k, v in versions.items())))
    meta = plan.get("instance") or {}
    rows.append(("Instance", f"{text(meta.get('name'))} (sha256 {text(meta.get('sha256'))})"))
    options = plan.get("options") or {}
    rows.append(("Options", ", ".join(f"{k} {_option(v)}" for k, v in options.items())
                 or "defaults"))
    cells = "".join(f'<tr><th scope="row">{escape(k)}</th><td>{escape(v)}</td></tr>' for k, v in rows)
    return (_p("The plan is the solution of a mixed-integer programme solved by HiGHS. It "
               "minimises the objective: spend, plus a risk charge (a price put on the spread of "
               "spend, not money spent), less the health gained valued at the instance's £ per "
               "QALY; net benefit is that value of health less spend. “Optimal” means no plan "
               "meeting every rule has a lower objective (within the gap).")
            + _cards([item for item in headline(files) if item.technical])
            + _p("Risk pooling: the spread of a commissioning unit's annual spend on a service is "
                 "measured by its coefficient of variation (CV), √((1 + k²)/(r·n)) for a service "
                 "used at rate r per person with cost spread k, by a unit of n people. A level "
                 "may commission a service only if this CV is within its risk tolerance.")
            + f'<table class="facts"><tbody>{cells}</tbody></table>')


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
        "headline": _headline, "decisions": _decisions, "diagnosis": _diagnosis, "years": _years,
        "money": _money,
        "continuum": _continuum, "providers": _providers, "quality": _quality,
        "payment": payment_section,  # issue 16
        "changes": _changes, "alternatives": _alternatives, "constraints": _constraints,
        "solver": _solver}
    present = [(key, title) for key, title in SECTIONS
               if (key != "diagnosis" or files.diagnosis is not None)
               and (key != "decisions" or (files.has_plan and not files.relaxed))
               and (key != "alternatives" or "differs" in files.table("alternatives"))
               and (key != "years" or files.multi_year)
               and (key != "payment" or has_payments(files))]
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
