"""Why there is no plan: elastic re-solves that say what to relax, and by how much.

Each constraint family is made elastic in turn (a non-negative slack on each of its rows, in the
family's own unit), with every other rule kept hard, and the total slack minimised. Its optimum
is the smallest relaxation of that family, exact for the model as stated (for the budget, the
least possible spend minus the budget). A row is reported ``alone`` only if relaxing that row by
itself restores feasibility: when the optimum breaks one row, or when a row broken with others
is re-solved with the family's other rows kept hard; rows that help only together are
``together`` (an analyst acting on one of them alone would still have no plan). Then all
families are made elastic together with slacks priced in £ (episodes at the service's mean
price, counts of providers or services at a stated £1m each) and the cheapest combined
relaxation is reported (``combined``). Unmet demand is priced at 10 × the service's mean price,
and dropping a mandatory service at 10 × the most it could cost plus £1m (:func:`drop_price`),
so the planner asks for money, capacity or a rule change before it proposes leaving patients
untreated. Capacity is left out of the linking big-M here, so that capacity itself can be
relaxed. The pre-solve bound on spend is a precheck (:func:`planner.derive.prechecks.budget_lower_bound`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pyomo.environ as pyo

from formulations import BuiltModel, build
from formulations.registry import relaxable
from planner.data.instance import Instance
from planner.data.names import Names, rule_name
from planner.derive.prechecks import budget_lower_bound
from planner.derive.tables import Derived
from planner.formats import money
from planner.rules import Status
from planner.solver.highs import HighsAdapter, SolveOptions

COUNT_PRICE = 1_000_000.0  # £ per provider or service in the combined relaxation (assumption)
ELASTIC_TIME_LIMIT = 60.0  # s per elastic solve; a cut-short answer is marked exact: false
MAX_ALONE_CHECKS = 10  # rows of one family tried by themselves when it needs several
SLACK_TOL = 1e-3  # relaxations smaller than this (£, episodes, ...) are solver noise
UNMET_DEMAND_FACTOR = 10.0  # an untreated episode is priced at 10 × its mean price (assumption)
BUDGET_FAMILY = "budget"  # the family whose shortfall a board reads first


@dataclass(frozen=True)
class FamilyRows:
    """One component of a relaxable family as diagnosis reads it (from the registry)."""

    name: str  # the family name used in diagnosis.json
    component: str  # the Pyomo constraint component
    unit: str
    subject: str  # what the component's index names: service | provider | offer | ...


#: the rows diagnosis may relax, in the order it tries them (:func:`formulations.registry.relaxable`)
FAMILIES = tuple(FamilyRows(spec.name, rows.component, rows.unit, rows.subject)
                 for spec, rows in relaxable())


def subject_of(built: BuiltModel, family: FamilyRows, index: object) -> str:
    """Name what a constraint row is about, in the instance's ids (with the year if several)."""
    derived = built.derived
    year = None
    if family.subject in ("budget", "policy"):  # rows indexed by year alone
        year, index = index, None
    elif isinstance(index, tuple):
        index, year = index
    text = _key_subject(built, family, index)
    if year is not None and derived.horizon > 1:
        text += f" in {derived.years[int(year)]}"
    return text


def _key_subject(built: BuiltModel, family: FamilyRows, index: object) -> str:
    derived = built.derived
    if family.subject == "target":
        return f"setting target #{int(index) + 1}"
    if family.subject == "service_level":
        row = derived.service_levels.loc[built.sl_rows[index]]
        return f"{row['service']}@{row['level']}"
    if family.subject == "offer":
        provider, service = str(index).split("\x1f")
        return f"{provider}/{service}"
    if family.subject == "contract":
        row = derived.contracts.loc[built.z_rows[index]]
        return f"{row['service']}@{row['level']}/{row['provider']}"
    if index is None:
        return family.subject
    return str(index)


def _weight(built: BuiltModel, family: FamilyRows, index: object) -> float:
    """£ per unit of slack, for the combined relaxation: episodes at their mean price."""
    if family.unit == "£":
        return 1.0
    if family.name == "mandatory":
        return drop_price(built, str(index))
    if family.unit in ("providers", "services"):
        return COUNT_PRICE
    key = index[0] if isinstance(index, tuple) else index
    if family.subject == "provider":
        offers = built.derived.offers
        return float(offers.loc[offers["provider"] == key, "unit_price"].mean() or 1.0)
    if family.subject == "target":
        return float(built.derived.services["mean_price"].mean() or 1.0)
    subject = _key_subject(built, family, key)
    service = subject.split("@")[0].split("/")[-1]
    prices = built.derived.services.set_index("service")["mean_price"]
    factor = UNMET_DEMAND_FACTOR if family.name == "demand" else 1.0
    return factor * (float(prices.get(service, 1.0)) or 1.0)


def drop_price(built: BuiltModel, service: str) -> float:
    """£ for dropping mandatory ``service`` in the combined relaxation: UNMET_DEMAND_FACTOR ×
    the most it could cost (every year, its whole demand at its dearest contract, plus every
    set-up cost), plus COUNT_PRICE. Dropping it can save at most what it costs, so money,
    capacity or any other rule is always the cheaper relaxation when one of them would do."""
    derived = built.derived
    contracts = derived.contracts.loc[derived.contracts["service"] == service]
    if contracts.empty:
        return COUNT_PRICE
    years = np.arange(derived.horizon)
    demand = contracts["level_demand"].to_numpy(float)[:, None] \
        * (1.0 + contracts["growth"].to_numpy(float))[:, None] ** years
    prices = contracts["unit_price"].to_numpy(float)[:, None] * (1.0 + derived.price_change) ** years
    most = float((demand * prices).max(axis=0).sum() + contracts["setup"].sum())
    return UNMET_DEMAND_FACTOR * most + COUNT_PRICE


def _elastic(built: BuiltModel, families: list[FamilyRows], weighted: bool) -> dict:
    """Add slacks to the given families, replace the objective, return slack variables."""
    m = built.model
    m.objective.deactivate()
    slacks: dict = {}
    terms = []
    for family in families:
        component = getattr(m, family.component, None)
        if component is None:
            continue
        for index in list(component.keys()):
            con = component[index]
            slack = pyo.Var(domain=pyo.NonNegativeReals)
            m.add_component(f"slack_{family.name}_{len(slacks)}", slack)
            body, lower, upper = con.body, con.lower, con.upper
            con.deactivate()
            if con.equality:
                relaxed = pyo.Constraint(expr=body + slack == upper)
            elif upper is not None:
                relaxed = pyo.Constraint(expr=body - slack <= upper)
            else:
                relaxed = pyo.Constraint(expr=body + slack >= lower)
            m.add_component(f"elastic_{family.name}_{len(slacks)}", relaxed)
            slacks[(family, index)] = slack
            weight = _weight(built, family, index) if weighted else 1.0
            terms.append(weight * slack)
    m.elastic_objective = pyo.Objective(expr=pyo.quicksum(terms), sense=pyo.minimize)
    return slacks


def _relaxations(built: BuiltModel, slacks: dict, result, scope: str,
                 instance: Instance) -> list[dict]:
    """diagnosis.json rows for the positive slacks of ``result``; ``scope`` is ``alone``,
    ``together`` (one family's rows, needed together) or ``combined``."""
    rows = []
    for (family, index), slack in slacks.items():
        value = float(result.values[slack.name][0])
        if value <= SLACK_TOL:
            continue
        subject = subject_of(built, family, index)
        message = _message(family, subject, value, instance, built.derived)
        if scope == "together":
            message += (f" (Only together with the other “{rule_name(family.name)}” rows marked "
                        "together.)")
        rows.append({"constraint": family.name, "subject": subject, "amount": round(value, 6),
                     "unit": family.unit, "alone": scope == "alone", "scope": scope,
                     "exact": result.status is Status.OPTIMAL,
                     "cost": round(value * _weight(built, family, index), 2),
                     "message": message})
    if scope == "combined" and len(rows) > 1:  # the budget row is one part of a package
        for row in rows:
            if row["constraint"] == "budget":
                row["message"] = row["message"].replace(
                    "the cheapest plan that meets every other rule.",
                    "the cheapest plan in this combination: with the other rows marked "
                    "combined, not alone.")
    return rows


def _plain(message: str) -> str:
    """A message without its leading 'Or: ' (in a list of options the list says 'or')."""
    return message[4].upper() + message[5:] if message.startswith("Or: ") else message


def _more(value: float) -> str:
    """'19 more episodes', '0.76 more episodes', '1 more episode'."""
    return episodes(value).replace(" episode", " more episode", 1)


def episodes(value: float) -> str:
    return f"{value:,.0f} episodes" if value >= 10 else f"{value:,.2g} episode" + (
        "" if value == 1 else "s")


def _message(family: FamilyRows, subject: str, amount: float, instance: Instance,
             derived: Derived) -> str:
    if family.name == "budget":
        years = derived.years
        year = int(subject.rsplit(" ", 1)[-1]) if " in " in subject else years[0]
        budget = instance.budget_for_year(years.index(year) if isinstance(
            instance.config.policy.budget, list) else 0) or 0.0
        when = f" in {year}" if len(years) > 1 else ""
        return (f"The budget of {money(budget)}{when} is {money(amount)} short of the cheapest "
                "plan that meets every other rule.")
    if family.name == "offer_capacity":
        provider, service = subject.split(" in ")[0].split("/")
        when = f" in {subject.split(' in ')[1]}" if " in " in subject else ""
        return f"Or: {_more(amount)} of {service} capacity at {provider}{when}."
    if family.name == "demand":
        service, level = subject.split(" in ")[0].split("@")
        when = f" in {subject.split(' in ')[1]}" if " in " in subject else ""
        return (f"Or: leave {episodes(amount)} of {service} demand unmet at {level} "
                f"level{when} (commission less than the whole need).")
    if family.name == "min_income":
        return (f"Or: pay {subject} {money(amount)} less than its break-even income (lower "
                "its min_income, or accept the provider's exit).")
    if family.name == "mandatory":
        return (f"Or: stop commissioning {subject}, a mandatory service: the rest of the "
                "plan then meets every rule.")
    if family.name == "min_providers":
        return f"{subject} needs {amount:,.0f} fewer provider(s) than its min_providers requires."
    if family.name == "max_providers":
        return f"{subject} needs {amount:,.0f} more provider(s) than max_providers allows."
    if family.unit == "£":
        return f"{rule_name(family.name)} for {subject} must rise by {money(amount)}."
    return (f"{rule_name(family.name)} for {subject} must be relaxed by {amount:,.2f} "
            f"{family.unit}.")


def diagnose(instance: Instance, derived: Derived, options: SolveOptions,
             elastic_plan: bool = False) -> tuple[dict, dict | None]:
    """The diagnosis of an infeasible instance (MODEL §4 ``diagnosis.json``), and with
    ``elastic_plan`` the tables of the cheapest relaxed plan (else None)."""
    elastic = replace(derived, capacity_in_big_m=False, tighten=False)
    model = build(elastic).model
    present = [f for f in FAMILIES if len(getattr(model, f.component, ())) > 0]
    relaxations: list[dict] = []
    for name in dict.fromkeys(f.name for f in present):
        relaxations += _family_rows(elastic, [f for f in present if f.name == name], options,
                                    instance)
    built = build(elastic)
    slacks = _elastic(built, present, weighted=True)
    result = _solve_elastic(built, slacks, options, best_plan=elastic_plan)
    tables = None
    if result is not None:
        relaxations += _relaxations(built, slacks, result, "combined", instance)
        if elastic_plan:
            from planner.solver.extract import compute_totals, extract

            tables = extract(built, result)
            totals, by_year, budget = compute_totals(instance, tables)
            tables.update(budget=budget, totals=totals, totals_by_year=by_year,
                          objective=result.objective)
    return {"status": Status.INFEASIBLE, "prechecks": budget_lower_bound(instance, derived),
            "relaxations": in_reading_order(relaxations)}, tables


def first_relaxation(instance: Instance, derived: Derived, options: SolveOptions) -> dict | None:
    """The first relaxation of :func:`diagnose` in reading order (what ``planner solve`` prints
    first, and a sweep's message), found with one family's elastic solves where it can be.

    A budget row that alone restores feasibility comes first whatever the other families say
    (:func:`in_reading_order`: alone rows, the budget's first, then by price; the sort is stable,
    so ties keep the order :func:`diagnose` gives). So the budget family is made elastic first,
    and only if it has no such row is the whole diagnosis run. None: nothing explains it."""
    elastic = replace(derived, capacity_in_big_m=False, tighten=False)
    budget = [f for f in FAMILIES if f.name == BUDGET_FAMILY]
    rows = in_reading_order(_family_rows(elastic, budget, options, instance))
    if rows and rows[0]["alone"] and rows[0]["constraint"] == BUDGET_FAMILY:
        return rows[0]
    relaxations = diagnose(instance, derived, options)[0]["relaxations"]
    return relaxations[0] if relaxations else None


def budget_shortfall(row: dict, amount: float, instance: Instance, derived: Derived) -> dict:
    """The budget relaxation ``row`` (from :func:`first_relaxation` at another budget) restated
    for ``instance``'s budget, whose shortfall is ``amount`` £ (the caller knows it: the least
    spend is the same at every budget, see planner.sweeps.neighbours)."""
    family = next(f for f in FAMILIES if f.name == BUDGET_FAMILY)
    return {**row, "amount": round(amount, 6), "cost": round(amount, 2),
            "message": _message(family, row["subject"], amount, instance, derived)}


#: rows marked ``lead`` in diagnosis.json: the relaxations a reader should see first
LEADING = 2


def in_reading_order(rows: list[dict]) -> list[dict]:
    """The relaxations in the order a reader needs them, the first LEADING marked ``lead``.

    Rows that restore a plan alone come first, the budget shortfall first of them (money is
    the lever a board holds), then the others by their price; then rows that work only
    together; then the cheapest combination."""
    scope_order = {"alone": 0, "together": 1, "combined": 2}

    def key(row: dict) -> tuple:
        return (scope_order.get(row.get("scope", "alone" if row.get("alone") else "combined"), 3),
                row.get("constraint") != "budget", float(row.get("cost") or 0.0))

    ordered = sorted(rows, key=key)
    for number, row in enumerate(ordered):
        row["lead"] = number < LEADING and bool(row.get("alone"))
        if number == 0 and row["message"].startswith("Or: "):  # an option, but the first one
            row["message"] = row["message"][4].upper() + row["message"][5:]
    return ordered


def console_lines(diagnosis: dict, names: Names | None = None) -> list[str]:
    """What the CLI prints of a diagnosis: the leading relaxations in plain words (services,
    providers and levels by ``names``), then the rest grouped ("Other single changes",
    "Together", "Cheapest combination")."""
    names = names or Names()
    rows = [{**row, "message": names.message(row["message"], row.get("subject"))}
            for row in diagnosis.get("relaxations", [])]
    lines = [f"  {row['message']}" for row in rows if row.get("lead")]
    groups = (("Other single changes that would each make a plan possible:",
               lambda r: r.get("alone") and not r.get("lead")),
              ("Changes that work only together:", lambda r: r.get("scope") == "together"),
              ("The cheapest combination of changes:", lambda r: r.get("scope") == "combined"))
    leading = {_plain(row["message"]) for row in rows if row.get("lead")}
    for title, wanted in groups:
        chosen = [row for row in rows if wanted(row)]
        if title.startswith("The cheapest") and {_plain(r["message"]) for r in chosen} <= leading:
            continue  # the cheapest combination is a change already listed first
        if chosen:
            lines.append(f"  {title}")
            lines += [f"    - {_plain(row['message'])}" for row in chosen]
    for check in diagnosis.get("prechecks", []):
        if check.get("message"):
            lines.append(f"  Checked before solving: {check['message']}")
    return lines


def _family_rows(elastic: Derived, families: list[FamilyRows], options: SolveOptions,
                 instance: Instance) -> list[dict]:
    """The rows of one family made elastic by itself (every other rule hard).

    If the least relaxation needs one row, that row alone restores feasibility (``alone``). If
    it needs several, they restore it only together (``together``), and each is then tried by
    itself, the family's other rows kept hard: a row that restores feasibility that way is
    reported ``alone`` with its own (larger) amount, at most one per subject."""
    built = build(elastic)
    slacks = _elastic(built, families, weighted=False)
    adapter = HighsAdapter(_limited(options))
    result = _elastic_solve(adapter, built, slacks)
    if result is None:
        return []
    needed = [key for key, slack in slacks.items()
              if float(result.values[slack.name][0]) > SLACK_TOL]
    if len(needed) == 1:
        return _relaxations(built, slacks, result, "alone", instance)
    rows = _relaxations(built, slacks, result, "together", instance)
    alone: dict[str, dict] = {}
    for key in needed[:MAX_ALONE_CHECKS]:
        others = [slack for other, slack in slacks.items() if other != key]
        for slack in others:
            slack.fix(0.0)
        try:
            single = _elastic_solve(adapter, built, slacks)
        finally:
            for slack in others:
                slack.unfix()
        if single is None:
            continue
        for row in _relaxations(built, {key: slacks[key]}, single, "alone", instance):
            if row["subject"] not in alone or row["amount"] < alone[row["subject"]]["amount"]:
                alone[row["subject"]] = row
    return list(alone.values()) + rows


def _limited(options: SolveOptions) -> SolveOptions:
    limit = ELASTIC_TIME_LIMIT if options.time_limit is None else min(options.time_limit,
                                                                       ELASTIC_TIME_LIMIT)
    return replace(options, time_limit=limit)


def _elastic_solve(adapter: HighsAdapter, built: BuiltModel, slacks: dict):
    """The elastic model's least slack (None if even that has no solution)."""
    names = ("x", "y", "z", "w", *(v.name for v in slacks.values()))
    result = adapter.solve(built.model, var_names=names)
    return result if result.has_solution else None


def _solve_elastic(built: BuiltModel, slacks: dict, options: SolveOptions,
                   best_plan: bool = False):
    """Minimise the slack; with ``best_plan``, then the plan's own objective at that slack."""
    m = built.model
    names = ("x", "y", "z", "w", *(v.name for v in slacks.values()))
    options = _limited(options)
    result = HighsAdapter(options).solve(m, var_names=names)
    if not result.has_solution or not best_plan:
        return result if result.has_solution else None
    least = result.objective
    m.elastic_cap = pyo.Constraint(expr=m.elastic_objective.expr <= least + 1e-7 * max(1.0, least))
    m.elastic_objective.deactivate()
    m.objective.activate()
    second = HighsAdapter(options).solve(m, var_names=names)
    return second if second.has_solution else result
