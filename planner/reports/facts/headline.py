"""Facts: the headline figures and sentence, and what each part of the spend is (£)."""

from __future__ import annotations

from dataclasses import dataclass

from planner.reports.facts.spend import commissioned_by_level
from planner.reports.formatting import money, number, percent, text
from planner.results.folder import PlanFiles


def tolerance(reference: float) -> float:
    """How close to a limit counts as *at* the limit (the verifier's tolerance, in its units)."""
    return 1e-3 + 1e-6 * max(1.0, abs(reference))


@dataclass(frozen=True)
class Headline:
    """One headline figure: a label, a value in ``unit`` and a plain-English note."""

    key: str
    label: str
    value: float | str | None
    unit: str  # "£", "£ per QALY", "QALYs", "count", "fraction" or "" (text)
    note: str = ""
    #: a figure of the method (objective, risk charge, net benefit, gap): shown under "how the
    #: plan was found", not in a board's headline
    technical: bool = False

    def text(self) -> str:
        if self.unit in ("£", "£ per QALY"):
            return money(self.value)
        if self.unit == "QALYs":
            return number(self.value, 1 if abs(float(self.value or 0)) >= 100 else 2)
        if self.unit == "count":
            return number(self.value)
        if self.unit == "fraction":
            return percent(self.value, 2)
        return text(self.value)


def headline(files: PlanFiles) -> list[Headline]:
    """Headline figures against the budget (over the horizon when it is several years)."""
    plan = files.plan
    totals = files.totals
    span = f" over {len(files.years)} years" if files.multi_year else " per year"
    rows = [Headline("status", "Status", STATUS_WORDS.get(files.status, files.status), "")]
    if not totals:
        return rows
    spend, budget, headroom = totals.get("spend"), totals.get("budget"), totals.get("headroom")
    rows.append(Headline("spend", "Spend", spend, "£", f"all costs{span}"))
    if budget is not None:
        rows.append(Headline("budget", "Budget", budget, "£", f"available{span}"))
        share = headroom / budget if budget and headroom is not None else None
        over = headroom is not None and headroom < -tolerance(budget)
        rows.append(Headline("headroom", "Headroom", headroom, "£",
                             ("over the budget" if over else "budget left unspent")
                             + (f" ({percent(abs(share) if over else share)})"
                                if share is not None else "")))
    one_off = sum(totals.get(k) or 0.0 for k in ("setup_costs", "entry_costs", "exit_costs",
                                                  "notice_costs"))
    # issue 16: blocks, bundles and guarantee top-ups are paid to providers too
    other_forms = sum(totals.get(k) or 0.0 for k in ("block_spend", "bundle_spend",
                                                      "guarantee_payments"))
    paid = totals.get("activity_spend")
    rows += [Headline("activity_spend", "Paid to providers",
                      paid + other_forms if paid is not None and other_forms else paid, "£",
                      "episodes × prices" if not other_forms
                      else "episodes × prices, blocks, bundles and income guarantees"),
             Headline("transaction_costs", "Contracting costs", totals.get("transaction_costs"),
                      "£", "commissioners' cost of letting and managing contracts"),
             Headline("one_off_costs", "One-off costs", one_off, "£",
                      "setting up contracts, new providers, exits and notice")]
    services = files.first("services")
    if len(services):
        commissioned = int(services["commissioned"].sum())
        rows.append(Headline("services", "Services commissioned", f"{commissioned} of "
                             f"{len(services)}", "", "the rest are optional and not bought "
                             "(the report says why)" if commissioned < len(services)
                             else "every service"))
    contracts, providers = files.first("contracts"), files.first("providers")
    if len(providers):
        rows.append(Headline("contracts", "Contracts", len(contracts), "count",
                             f"with {int(providers['used'].sum())} providers"
                             + (f" in {files.first_year}" if files.multi_year else "")))
    rows += [Headline("qalys", "Health gained", totals.get("qalys"), "QALYs",
                      f"quality-adjusted life years{span}")]
    qalys = totals.get("qalys") or 0.0
    if qalys > 1e-9 and spend:
        rows.append(Headline("value_for_money", "Value for money", spend / qalys, "£ per QALY",
                             "spent per QALY gained (all spend, over all health gained)"))
    if files.instance is not None:
        value = files.instance.config.policy.value_per_qaly
    else:  # without the instance, infer λ > 0 from net benefit ≠ −spend
        value = abs((totals.get("net_benefit") or 0.0) + (spend or 0.0)) > tolerance(spend or 0.0)
    if value:
        rows.append(Headline("net_benefit", "Net benefit", totals.get("net_benefit"), "£",
                             (f"QALYs valued at {money(value)} each" if value is not True
                              else "value of QALYs") + ", less spend", technical=True))
    if totals.get("risk_cost"):
        rows.append(Headline("risk_cost", "Risk charge", totals.get("risk_cost"), "£",
                             "price put on the spread of spend (not money spent)",
                             technical=True))
    rows.append(Headline("objective", "Objective", plan.get("objective"), "£",
                         "what the optimiser minimised: spend + risk charge − value of QALYs",
                         technical=True))
    if plan.get("gap") is not None:
        rows.append(Headline("gap", "Optimality gap", plan.get("gap"), "fraction",
                             "0 % = proven best plan", technical=True))
    return rows


def spend_components(files: PlanFiles) -> dict[str, float]:
    """The plan's spend by component (£, over the horizon): what it pays providers, contracting,
    set-up, new providers, exits and notice, and blocks, bundles and guarantee top-ups where the
    plan pays them; they add up to the headline spend."""
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
    return parts


def one_off_costs(files: PlanFiles) -> list[tuple[str, float]]:
    """The one-off costs of the change (£): set-up, new providers, exits and notice."""
    totals = files.totals
    return [(label, totals.get(key) or 0.0) for key, label in
            (("setup_costs", "set-up"), ("entry_costs", "new providers"),
             ("exit_costs", "exits"), ("notice_costs", "notice"))]


STATUS_WORDS = {
    "optimal": "optimal: the best plan that meets every rule",
    "feasible": "feasible: a plan meeting every rule, not proven best (time limit)",
    "infeasible": "infeasible: no plan meets every rule",
    "time_limit": "time limit: no plan found in the time allowed",
    "error": "error: the solver failed",
}


NO_PLAN = {
    "infeasible": "No plan meets every rule. “What to relax” lists the changes that would make "
                  "one possible, and by how much.",
    "time_limit": "No plan was found within the time limit; solve again with a longer one.",
    "error": "The solver failed, so there is no plan.",
}


def la_paid(files: PlanFiles) -> float:
    """£ the local authority's pooled money pays (funders.csv, issue 17); 0 without it."""
    funders = files.table("funders")
    if not len(funders) or "funder" not in funders:
        return 0.0
    first = funders.loc[funders["year"] == funders["year"].min()] if "year" in funders else funders
    return float(first.loc[first["funder"] == "local_authority", "spend"].sum()) if not \
        files.multi_year else float(funders.loc[funders["funder"] == "local_authority", "spend"].sum())


def headline_sentence(files: PlanFiles) -> str:
    """One sentence a board member can repeat."""
    totals = files.totals
    if not totals:
        return NO_PLAN.get(files.status, f"There is no plan (status {files.status}).")
    spend, budget = totals.get("spend"), totals.get("budget")
    subject = "the cheapest relaxed plan" if files.relaxed else "the plan"
    span = f"Over {len(files.years)} years {subject}" if files.multi_year else subject.capitalize()
    sentence = f"{span} spends {money(spend)}"
    pooled = la_paid(files)
    if budget is not None:
        headroom = totals.get("headroom") or 0.0
        if pooled > 0 and spend is not None:  # issue 17: the local authority pays first
            sentence += (f": {money(pooled)} pooled by the local authority and "
                         f"{money(spend - pooled)} of the NHS budget of {money(budget)}")
            if headroom > tolerance(budget):
                sentence += (f", leaving {money(headroom)} "
                             f"({percent(headroom / budget if budget else 0)})")
            elif headroom < -tolerance(budget):
                sentence += f", {money(-headroom)} over it"
        elif abs(headroom) <= tolerance(budget):
            sentence += f", the whole budget of {money(budget)}"
        elif headroom > 0:
            sentence += (f" of a budget of {money(budget)}, leaving {money(headroom)} "
                         f"({percent(headroom / budget if budget else 0)})")
        else:
            sentence += f", {money(-headroom)} over the budget of {money(budget)}"
    services = files.first("services")
    if len(services):
        by_level = commissioned_by_level(files)
        sentence += (f". It commissions {int(services['commissioned'].sum())} of {len(services)} "
                     f"services at {len(by_level)} level{'s' if len(by_level) != 1 else ''}")
    contracts = files.first("contracts")
    providers = files.first("providers")
    if len(providers):
        sentence += (f" through {len(contracts)} contracts with {int(providers['used'].sum())} "
                     "providers")
    return sentence + "."

