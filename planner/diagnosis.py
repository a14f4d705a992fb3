"""Why there is no plan: elastic re-solves that say what to relax, and by how much.

Each constraint family is made elastic in turn (a non-negative slack on each of its rows, in the
family's own unit), with every other rule kept hard, and the total slack minimised. A family whose
elastic model is feasible could restore feasibility by itself, and the optimum is the smallest
such relaxation (``alone: true``), exact for the model as stated: for the budget it is the least
possible spend minus the budget. Then all families are made elastic together with slacks priced
in £ (episodes at the service's mean price, counts of providers or services at a stated £1m each)
and the cheapest combined relaxation is reported (``alone: false``). Unmet demand is priced at
10 × the service's mean price, so the planner asks for money, capacity or a rule change before it
proposes leaving patients untreated. Capacity is left out of the linking big-M here, so that
capacity itself can be relaxed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pyomo.environ as pyo

from formulations import BuiltModel, build
from planner.derive import Derived
from planner.formats import money
from planner.instance import Instance
from planner.solver import HighsAdapter, SolveOptions

COUNT_PRICE = 1_000_000.0  # £ per provider or service in the combined relaxation (assumption)
ELASTIC_TIME_LIMIT = 60.0  # s per elastic solve; a cut-short answer is marked exact: false
SLACK_TOL = 1e-3  # relaxations smaller than this (£, episodes, ...) are solver noise
UNMET_DEMAND_FACTOR = 10.0  # an untreated episode is priced at 10 × its mean price (assumption)


@dataclass(frozen=True)
class Family:
    name: str  # the family name used in diagnosis.json
    component: str  # the Pyomo constraint component
    unit: str
    subject: str  # what the component's index names: service | provider | offer | ...


FAMILIES = (
    Family("budget", "budget_limit", "£", "budget"),
    Family("budget", "budget_year_cap", "£", "budget"),
    Family("budget", "carry_rule", "£", "budget"),
    Family("offer_capacity", "offer_capacity", "episodes", "offer"),
    Family("provider_capacity", "provider_capacity", "resource units", "provider"),
    Family("demand", "demand", "episodes", "service_level"),
    Family("min_income", "min_income", "£", "provider"),
    Family("avg_quality", "avg_quality", "quality-weighted episodes", "service"),
    Family("min_providers", "min_providers", "providers", "service"),
    Family("max_providers", "max_providers", "providers", "service"),
    Family("headroom", "headroom", "episodes", "service"),
    Family("min_share", "min_share", "episodes", "contract"),
    Family("management_cost", "management_cost", "£", "policy"),
    Family("max_services", "max_services", "services", "level"),
    Family("delegated_budget", "delegated_budget", "£", "level"),
    Family("mandatory", "level_choice", "services", "service"),
    Family("setting_targets", "setting_target", "episodes", "target"),
)


def subject_of(built: BuiltModel, family: Family, index: object) -> str:
    """Name what a constraint row is about, in the instance's ids (with the year if several)."""
    derived = built.derived
    year = None
    if family.subject == "budget":
        year, index = index, None
    elif isinstance(index, tuple):
        index, year = index
    text = _key_subject(built, family, index)
    if year is not None and derived.horizon > 1:
        text += f" in {derived.years[int(year)]}"
    return text


def _key_subject(built: BuiltModel, family: Family, index: object) -> str:
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


def _weight(built: BuiltModel, family: Family, index: object) -> float:
    """£ per unit of slack, for the combined relaxation: episodes at their mean price."""
    if family.unit == "£":
        return 1.0
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


def _elastic(built: BuiltModel, families: list[Family], weighted: bool) -> dict:
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


def _relaxations(built: BuiltModel, slacks: dict, result, alone: bool,
                 instance: Instance) -> list[dict]:
    rows = []
    for (family, index), slack in slacks.items():
        value = float(result.values[slack.name][0])
        if value <= SLACK_TOL:
            continue
        subject = subject_of(built, family, index)
        rows.append({"constraint": family.name, "subject": subject, "amount": round(value, 6),
                     "unit": family.unit, "alone": alone, "exact": result.status == "optimal",
                     "cost": round(value * _weight(built, family, index), 2),
                     "message": _message(family, subject, value, instance, built.derived)})
    return rows


def episodes(value: float) -> str:
    return f"{value:,.0f} episodes" if value >= 10 else f"{value:,.2g} episode" + (
        "" if value == 1 else "s")


def _message(family: Family, subject: str, amount: float, instance: Instance,
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
        return f"{service} needs {episodes(amount)} more capacity at {provider}."
    if family.name == "demand":
        service, level = subject.split(" in ")[0].split("@")
        when = f" in {subject.split(' in ')[1]}" if " in " in subject else ""
        return (f"{episodes(amount)} of {service} (at {level} level){when} cannot be delivered "
                "within the other rules.")
    if family.name == "min_income":
        return (f"{subject} would receive {money(amount)} less than its break-even income; "
                "lower its min_income or accept the provider's exit.")
    if family.name == "mandatory":
        return f"Mandatory service {subject} cannot be commissioned within the other rules."
    if family.name == "min_providers":
        return f"{subject} can have only {amount:,.0f} fewer provider(s) than min_providers requires."
    if family.name == "max_providers":
        return f"{subject} needs {amount:,.0f} more provider(s) than max_providers allows."
    if family.unit == "£":
        return f"{family.name} for {subject} must rise by {money(amount)}."
    return f"{family.name} for {subject} must be relaxed by {amount:,.2f} {family.unit}."


def diagnose(instance: Instance, derived: Derived, options: SolveOptions,
             elastic_plan: bool = False) -> tuple[dict, dict | None]:
    """The diagnosis of an infeasible instance (MODEL §4 ``diagnosis.json``), and with
    ``elastic_plan`` the tables of the cheapest relaxed plan (else None)."""
    relaxations: list[dict] = _presolve(instance, derived)
    elastic = replace(derived, capacity_in_big_m=False)
    model = build(elastic).model
    present = [f for f in FAMILIES if len(getattr(model, f.component, ())) > 0]
    for name in dict.fromkeys(f.name for f in present):
        built = build(elastic)
        slacks = _elastic(built, [f for f in present if f.name == name], weighted=False)
        result = _solve_elastic(built, slacks, options)
        if result is not None:
            relaxations += _relaxations(built, slacks, result, alone=True, instance=instance)
    built = build(elastic)
    slacks = _elastic(built, present, weighted=True)
    result = _solve_elastic(built, slacks, options, best_plan=elastic_plan)
    tables = None
    if result is not None:
        relaxations += _relaxations(built, slacks, result, alone=False, instance=instance)
        if elastic_plan:
            from planner.extract import compute_totals, extract

            tables = extract(built, result)
            totals, by_year, budget = compute_totals(instance, tables)
            tables.update(budget=budget, totals=totals, totals_by_year=by_year,
                          objective=result.objective)
    return {"status": "infeasible", "relaxations": relaxations}, tables


def _presolve(instance: Instance, derived: Derived) -> list[dict]:
    """What shows without a model: the cheapest conceivable first year, every mandatory service
    bought from its cheapest eligible contract (capacity, choice and one-off costs ignored), is
    a lower bound on spend; above the budget, no plan can exist."""
    budget = instance.budget_for_year(0)
    if budget is None or not derived.on("budget") or not derived.on("mandatory"):
        return []
    contracts = derived.contracts
    mandatory = set(derived.services.loc[derived.services["mandatory"], "service"])
    mine = contracts.loc[contracts["service"].isin(mandatory)]
    cheapest = (mine["unit_price"] * mine["level_demand"]).groupby(mine["service"]).min()
    least = float(cheapest.sum())
    if least <= budget * (1 + 1e-9):
        return []
    return [{"constraint": "budget", "subject": "budget", "amount": round(least - budget, 6),
             "unit": "£", "alone": True, "exact": False, "presolve": True, "cost": None,
             "message": (f"Even the cheapest conceivable plan (every mandatory service from its "
                         f"cheapest eligible provider, before capacities and other rules) costs "
                         f"{money(least)}, {money(least - budget)} more than the budget of "
                         f"{money(budget)}.")}]


def _solve_elastic(built: BuiltModel, slacks: dict, options: SolveOptions,
                   best_plan: bool = False):
    """Minimise the slack; with ``best_plan``, then the plan's own objective at that slack."""
    m = built.model
    names = ("x", "y", "z", "w", *(v.name for v in slacks.values()))
    limit = ELASTIC_TIME_LIMIT if options.time_limit is None else min(options.time_limit,
                                                                       ELASTIC_TIME_LIMIT)
    options = replace(options, time_limit=limit)
    result = HighsAdapter(options).solve(m, var_names=names)
    if not result.has_solution or not best_plan:
        return result if result.has_solution else None
    least = result.objective
    m.elastic_cap = pyo.Constraint(expr=m.elastic_objective.expr <= least + 1e-7 * max(1.0, least))
    m.elastic_objective.deactivate()
    m.objective.activate()
    second = HighsAdapter(options).solve(m, var_names=names)
    return second if second.has_solution else result
