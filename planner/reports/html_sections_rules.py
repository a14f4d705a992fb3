"""report.html's sections on what shapes the plan: the continuum of levels, providers and
break-even, quality, the rules that bind, and how the plan was found.

Each section formats facts of :mod:`planner.reports.facts`; none computes a figure itself.
"""

from __future__ import annotations

from html import escape

from planner.reports import charts, facts
from planner.reports.formatting import is_missing, number, per_unit, percent, pounds, text
from planner.reports.html_parts import (
    Col,
    cards,
    figure,
    flag,
    html_table,
    no_plan,
    option_text,
    para,
    quality3,
    threshold,
    year_note,
)
from planner.results.folder import PlanFiles
from planner.rules import METHOD_WORDS


def continuum(files: PlanFiles) -> str:
    if not files.has_plan:
        return no_plan(files)
    named = files.names
    levels = named.label(facts.level_table(files))
    chart = charts.continuum(levels, "Spend commissioned at each level")
    parts = [para("Each service is commissioned at one level of the continuum, from individual "
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
             para("Among the levels allowed, the plan picks the cheapest overall: prices, the "
                  "contracting cost of each unit's contracts, the charge for risk, and every other "
                  "rule."), year_note(files),
             figure(chart, "£ commissioned at each level, with the number of services.")]
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
    services = facts.continuum_in_level_order(files)
    columns = [Col("service", "service", words=True),  # 'Cholecystectomy' whole in print
               Col("category", "category", words=True),
               Col("level", "level", lambda v: text(v) or "—"),
               Col("demand", "demand (episodes)", number, True),
               Col("spend", "spend", pounds, True),
               Col("cv", "CV at this level", lambda v: number(v, 3), True),
               Col("reason", "why here", wide=True)]
    parts.append("<h3>Which services, at which level, and why</h3>"
                 + html_table(named.label(services), columns, limit=200, more="services.csv",
                              row_class=lambda r: "" if r.commissioned else "muted"))
    return "".join(parts)


def providers(files: PlanFiles) -> str:
    if not files.has_plan:
        return no_plan(files)
    table = files.names.label(facts.break_even(files))
    ruled = table.loc[table["min_income"] > 0]
    intro = para("Some providers need a minimum income from this commissioner to stay viable "
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
    columns = [Col("provider", "provider"), Col("kind", "kind", words=True),
               Col("incumbent", "today?", flag),
               Col("used", "used?", flag), Col("income", "income", pounds, True),
               Col("min_income", "break-even income", pounds, True),
               Col("break_even_margin", "margin", pounds, True),
               Col("utilisation", "capacity used", percent, True), Col("position", "position")]
    return (intro + year_note(files) + figure(chart, caption)
            + html_table(table, columns, more="providers.csv",
                         row_class=lambda r: "bad" if r.position == "below break-even" else ""))


def quality(files: PlanFiles) -> str:
    if not files.has_plan:
        return no_plan(files)
    table = files.names.label(facts.quality(files))
    with_rule = facts.quality_with_thresholds(table)
    shown = with_rule if len(with_rule) else table
    chart = charts.quality_dots(shown, "Quality of commissioned providers"
                                + (" (services with a threshold)" if len(with_rule) else ""))
    intro = para("Quality is a 0–1 composite of outcomes, patient-reported measures, inspection "
                 "ratings and experience. A service may require a minimum quality of every provider "
                 "and a minimum average across its providers (weighted by episodes).")
    if not len(with_rule) and files.instance is not None:
        intro += para("No service in this instance sets a quality threshold.")
    table = table.assign(lowest=[f"{text(p)} ({number(q, 3)})" if not is_missing(q) else "—"
                                 for p, q in zip(table["lowest_provider"], table["lowest_quality"])])
    columns = [Col("service", "service", words=True), Col("level", "level"),
               Col("providers", "providers", number, True),
               Col("avg_quality", "average quality", quality3, True),
               Col("min_avg_quality", "average required", threshold, True),
               Col("lowest", "lowest-quality provider"),
               Col("min_quality", "minimum required", threshold, True), Col("position", "position")]
    return (intro + year_note(files)
            + figure(chart, "Dots: average quality; rings: the lowest-quality provider; red marks: "
                            "the thresholds.") + html_table(table, columns, more="services.csv"))


def constraints(files: PlanFiles) -> str:
    if not files.has_plan:
        return no_plan(files)
    table = files.names.label(facts.binding(files))
    intro = para("The rules that hold the plan back, and what relaxing each would be worth. "
                 "“Marginal value” is the improvement of the objective (£) per unit of relaxation. "
                 "A value “re-solved with the rule changed” is exact for the step tried, and so is "
                 "one “known without a re-solve”; a “shadow price” holds for the plan as it "
                 "stands, with the same services, levels and providers.")
    if "marginal_values" not in files.tables:
        intro += para("Marginal values were not computed for this plan (solve without "
                      "--no-marginal to get marginal_values.csv).")
    columns = [Col("constraint", "rule", words=True), Col("subject", "applies to"),
               Col("method", "how known", words=True),
               Col("value", "marginal value", numeric=True),
               Col("message", "in words", wide=True)]
    table = table.assign(value=[per_unit(v, u) for v, u in zip(table["marginal_value"],
                                                                table["unit"])],
                         method=[METHOD_WORDS.get(str(m), m) for m in table["method"]])
    return intro + html_table(table, columns, more="marginal_values.csv")


def solver(files: PlanFiles) -> str:
    plan = files.plan
    rows = [("Status", facts.STATUS_WORDS.get(files.status, files.status)),
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
    rows.append(("Options", ", ".join(f"{k} {option_text(v)}" for k, v in options.items())
                 or "defaults"))
    cells = "".join(f'<tr><th scope="row">{escape(k)}</th><td>{escape(v)}</td></tr>' for k, v in rows)
    return (para("The plan is the solution of a mixed-integer programme solved by HiGHS. It "
                 "minimises the objective: spend, plus a risk charge (a price put on the spread of "
                 "spend, not money spent), less the health gained valued at the instance's £ per "
                 "QALY; net benefit is that value of health less spend. “Optimal” means no plan "
                 "meeting every rule has a lower objective (within the gap).")
            + cards([item for item in facts.headline(files) if item.technical])
            + para("Risk pooling: the spread of a commissioning unit's annual spend on a service is "
                   "measured by its coefficient of variation (CV), √((1 + k²)/(r·n)) for a service "
                   "used at rate r per person with cost spread k, by a unit of n people. A level "
                   "may commission a service only if this CV is within its risk tolerance.")
            + f'<table class="facts"><tbody>{cells}</tbody></table>')
