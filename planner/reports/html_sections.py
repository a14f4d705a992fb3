"""report.html's sections on money and change: the headline, what changes in £, what to relax,
year by year, where the money goes, changes from today, and the alternatives.

Each section formats facts of :mod:`planner.reports.facts`; none computes a figure itself.
"""

from __future__ import annotations

from html import escape

from planner.analysis.compare import STATUS_QUO
from planner.reports import charts, facts
from planner.reports.formatting import amount, money, number, percent, pounds, text
from planner.reports.html_parts import (
    Col,
    cards,
    figure,
    html_table,
    no_plan,
    para,
    year_note,
)
from planner.results.folder import PlanFiles

#: What spend is grouped by, in words (the ``by`` of spend_breakdown and spend_changes).
BY_WORDS = {"level": "level", "kind": "provider kind", "category": "category"}


def headline(files: PlanFiles) -> str:
    # the method's figures (objective, risk charge, ...) are under "How the plan was found"
    figures = cards([item for item in facts.headline(files)
                     if item.key != "status" and not item.technical])
    totals = files.totals
    parts = facts.spend_components(files)
    budget = totals.get("budget")
    title = "Spend against budget" if budget is not None else "Spend by component"
    chart = charts.spend_against_budget(parts, budget, title) if totals else ""
    caption = ("Spend by component; the red line is the budget"
               + (" (summed over the years)." if files.multi_year else ".")
               if budget is not None else "Spend by component; there is no budget limit.")
    return (para(facts.headline_sentence(files)) + figures
            + figure(chart, caption))


def decisions(files: PlanFiles) -> str:
    """What the plan changes against today, in £: the decisions a board is asked to take."""
    if not files.has_plan:
        return no_plan(files)
    contracts = facts.contract_decisions(files)
    providers = facts.provider_decisions(files)
    services = facts.service_decisions(files)
    at_risk = facts.risks(files)
    if "change" not in files.table("changes"):
        return para("No comparison with today's contracts was written with this plan "
                    "(changes.csv is absent; 'planner solve' writes it).")
    n = facts.decision_counts(contracts, providers, services)
    year = f" in {files.first_year}" if files.multi_year else ""

    def count(k: int, one: str, many: str) -> str:
        return f"{k} {one if k == 1 else many}"

    starts = count(n["started"], "contract starts", "contracts start")
    sentences = [f"Against today's contracts{year}: {starts}, worth "
                 f"{money(n['started_value'])} a year; {count(n['ended'], 'ends', 'end')}, "
                 f"worth {money(n['ended_value'])} a year today; "
                 f"{count(n['moved'], 'moves', 'move')} to another level."]
    if n["leaving"]:
        sentences.append(f"{count(n['leaving'], 'provider leaves or loses', 'providers leave or lose')}"
                         f" income, {money(n['income_lost'])} a year in all.")
    if n["newly_funded"] or n["no_longer_funded"]:
        sentences.append(f"{count(n['newly_funded'], 'service is', 'services are')} newly funded and "
                         f"{n['no_longer_funded']} no longer funded.")
    parts = [para(*sentences)]
    named = files.names
    if len(at_risk):
        names = ", ".join(f"{named.provider(r.provider)} ({money(r.shortfall)} short)"
                          for r in at_risk.itertuples(index=False))
        parts.append(f'<p class="warn"><strong>Risk:</strong> {escape(names)} would be paid below '
                     "the income it needs to break even.</p>")
    parts.append("<h3>Contracts started, ended and moved</h3>" + html_table(named.label(contracts), [
        Col("change", "change"), Col("service", "service", words=True), Col("provider", "provider"),
        # today's contracts have no level ("status quo" in changes.csv): an ended one shows none
        Col("level", "level", lambda v: "—" if text(v) in ("", STATUS_QUO) else text(v)),
        Col("episodes_today", "episodes today", number, True),
        Col("episodes_plan", "episodes in plan", number, True),
        Col("value_today", "£ a year today", pounds, True),
        Col("value_plan", "£ a year in plan", pounds, True),
        Col("value_change", "change", pounds, True)], more="changes.csv"))
    parts.append("<h3>Providers whose income changes</h3>" + html_table(named.label(providers), [
        Col("provider", "provider"), Col("kind", "kind", words=True), Col("change", "change"),
        Col("income_today", "income today", pounds, True),
        Col("income_plan", "income in plan", pounds, True),
        Col("income_change", "change", pounds, True)], more="providers.csv",
        row_class=lambda r: "bad" if r.change == "leaves" else ""))
    parts.append("<h3>Services funded, no longer funded, and not funded</h3>" + html_table(
        named.label(services), [Col("service", "service", words=True), Col("change", "change"),
                   Col("spend_plan", "spend in plan", pounds, True),
                   Col("reason", "why", wide=True)], more="unfunded.csv"))
    return "".join(parts)


def diagnosis(files: PlanFiles) -> str:
    relax = facts.relaxations(files)
    intro = para("No plan meets every rule. Each row marked “alone” would, by itself, make a plan "
                 "possible: it is the smallest change of that one rule with every other rule kept. "
                 "The “combined” rows are the cheapest mix of changes, with counts of providers or "
                 "services priced at an assumed £1m each.")
    if files.relaxed:
        intro += para("The tables in the rest of this report describe that cheapest relaxed plan, "
                      "not a plan that can be adopted as it stands.")
    columns = [Col("alone", "alone?", lambda v: "alone" if v else "combined", words=True),
               Col("constraint", "rule", words=True), Col("subject", "applies to"),
               Col("relax_by", "relax by", numeric=True),
               Col("message", "in words", wide=True)]
    relax = relax.assign(relax_by=[amount(a, u) for a, u in zip(relax["amount"], relax["unit"])])
    return intro + html_table(files.names.label(relax), columns, more="diagnosis.json")


def years(files: PlanFiles) -> str:
    budget = files.table("budget")
    chart = charts.budget_by_year(budget, "Spend and budget by year")
    by_year = facts.year_totals(files)
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
    parts = [para(f"The plan covers {len(files.years)} years, {files.years[0]}–{files.years[-1]}.",
                  (f"Break-even rule: {words.get(rule, rule)}." if limited else
                   "There is no budget limit.") if rule else "")]
    parts.append(figure(chart, "Bars: spend each year; red marks: that year's budget."))
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


def where_money_goes(files: PlanFiles) -> str:
    if not files.has_plan:
        return no_plan(files)
    breakdown = files.names.label(facts.spend_breakdown(files))
    chart = charts.spend_breakdown(breakdown, "Where the money goes")
    parts = [para("Spend on each service's contracts (payments to providers, contracting and set-up "
                  "costs), split three ways. One-off costs of bringing in or leaving providers are "
                  "in the headline, not here."), year_note(files),
             figure(chart, "£ by commissioning level (individual to national), by kind of "
                           "provider, and by category of care.")]
    tables = []
    for by, label in BY_WORDS.items():
        part = breakdown.loc[breakdown["by"] == by]
        tables.append(f"<div><h3>By {label}</h3>" + html_table(
            part, [Col("key", label, words=True), Col("spend", "spend", pounds, True),
                   Col("share", "share", percent, True)]) + "</div>")
    return "".join(parts) + f'<div class="columns">{"".join(tables)}</div>'


def changes(files: PlanFiles) -> str:
    if not files.has_plan:
        return no_plan(files)
    counts = facts.change_counts(files)
    if not counts:
        return para("No comparison with today's contracts was written with this plan "
                    "(changes.csv is absent; 'planner solve' writes it).")
    intro = para("Today's contracts (the status quo: each provider's current volume of each "
                 "service) against the plan's " + (f"first year, {files.first_year}."
                                                   if files.multi_year else "contracts."),
                 ", ".join(f"{n} {kind}" for kind, n in counts.items()) + ".")
    one_off = ", ".join(f"{label} {money(value)}" for label, value in facts.one_off_costs(files))
    intro += para(f"One-off costs of the change: {one_off}.")
    spend = files.names.label(files.table("spend_changes"))  # kinds and categories by name
    pieces = [intro]
    for by, label in list(BY_WORDS.items())[1:]:
        part = spend.loc[spend["by"] == by] if "by" in spend else spend
        chart = charts.before_after(part, f"Spend by {label}: today and in the plan",
                                    f"change-{by}")
        pieces.append(figure(chart, f"Grey: today; blue: the plan (activity spend by {label})."))
    pieces.append("<h3>Contracts that change</h3>" + html_table(
        files.names.label(facts.changed_contracts(files)),
        [Col("change", "change"), Col("service", "service", words=True), Col("provider", "provider"),
         Col("level_b", "level in plan", lambda v: text(v) or "—"),
         Col("volume_a", "episodes today", number, True),
         Col("volume_b", "episodes in plan", number, True),
         Col("volume_change", "change", number, True)], more="changes.csv"))
    if "by" in spend:
        pieces.append("<h3>Spend moved</h3>" + html_table(
            spend.loc[spend["by"] != "level"],
            [Col("by", "by", lambda v: BY_WORDS.get(text(v), text(v)), words=True),
             Col("key", "group", words=True),
             Col("spend_a", "today", pounds, True), Col("spend_b", "plan", pounds, True),
             Col("difference", "difference", pounds, True)], more="spend_changes.csv"))
    return "".join(pieces)


def alternatives(files: PlanFiles) -> str:
    """The near-optimal alternatives (``--alternatives K``), one sentence each."""
    first = facts.alternatives_found(files)
    intro = para(f"{len(first)} other plan{'s' if len(first) != 1 else ''} within the margin asked "
                 "for, each differing from this one in a decision a board would recognise (a level, "
                 "or a contract let or ended):")
    items = "".join(f"<li>Alternative {int(r.alternative)}: {escape(str(r.differs))}</li>"
                    for r in first.itertuples(index=False))
    return intro + f"<ul>{items}</ul>" + para("Every contract that differs is in alternatives.csv.")
