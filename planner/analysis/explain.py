"""Why this, not that: re-solve with an alternative forced and say what it would cost, and why.

The alternative is one of: give a service to a provider (as much of it as the provider can
take), commission it at a level, or not commission it. The answer is the difference in the
objective, spend, QALYs and provider incomes, the cost items that moved, and the rules that bind
in one plan but not the other. When the alternative is impossible the answer says which rule of
the data forbids it (quality threshold, conflict of interest, the level's risk tolerance...).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.core.expr.visitor import identify_variables

from planner.analysis.diagnosis import FAMILIES, money, subject_of
from planner.data.instance import Instance
from planner.data.names import Names
from planner.errors import InputError, Problem
from planner.formats import number, pounds, worse_off
from planner.results.plan import Plan
from planner.solver.highs import SolveOptions, SolveResult
from planner.solver.session import PlanningModel

COST_ITEMS = ("activity_spend", "transaction_costs", "setup_costs", "entry_costs", "exit_costs",
              "notice_costs", "block_spend", "bundle_spend", "guarantee_payments",  # issue 16
              "risk_cost", "qalys")


@dataclass
class Explanation:
    question: str
    base: Plan
    alternative: Plan | None
    reason: str = ""  # why the alternative is impossible, when it is
    costs: pd.DataFrame = field(default_factory=pd.DataFrame)
    incomes: pd.DataFrame = field(default_factory=pd.DataFrame)
    constraints: pd.DataFrame = field(default_factory=pd.DataFrame)
    note: str = ""  # a plain answer that needs no re-solve (dropping what the plan does not buy)
    #: (service, provider) of a --provider question: the lines then show its episodes, plan →
    #: alternative, since the plan may already give the provider part of the service
    subject: tuple[str, str] | None = None

    @property
    def objective_change(self) -> float | None:
        if self.alternative is None or not self.alternative.has_solution:
            return None
        return self.alternative.objective - self.base.objective

    def text(self) -> str:
        lines = [self.question]
        if self.note:
            return "\n".join([*lines, f"  {self.note}"])
        if self.reason:
            return "\n".join([*lines, f"  Not possible: {self.reason}"])
        value = float(self.base.instance.config.policy.value_per_qaly)
        worse = worse_off(self.objective_change, self.base.instance.config.horizon, value)
        lines.append(f"  The alternative leaves the plan {worse}:")
        lines += self._episode_lines()
        for row in self.costs.itertuples():
            if abs(row.change) <= 1e-6:
                continue
            if row.item == "qalys":  # priced in £ so that the lines add up to the change
                change_text = ("+" if row.change > 0 else "") + number(row.change, 2)
                lines.append(f"  health gained: {number(row.plan, 2)} → {number(row.alternative, 2)}"
                             f" QALYs ({change_text} × {money(value)} = "
                             f"{money(-value * row.change)} of value)")
            else:
                lines.append(f"  {row.item.replace('_', ' ')}: {pounds(row.plan)} → "
                             f"{pounds(row.alternative)} ({money(row.change, sign=True)})")
        lines += self._budget_lines()
        names = Names.of(self.base.instance)
        for row in self.incomes.itertuples():
            lines.append(f"  income of {names.provider(row.provider)}: {pounds(row.plan)} → "
                         f"{pounds(row.alternative)}")
        for row in self.constraints.itertuples():
            lines.append(f"  binding only in the {row.binding_in}: {names.rule(row.constraint)} "
                         f"({names.subject(row.subject)})")
        return "\n".join(lines)

    def _episode_lines(self) -> list[str]:
        """A --provider question: the provider's episodes of the service, plan → alternative
        (first year), so that a provider the plan already uses shows what changes."""
        if self.subject is None or self.alternative is None:
            return []
        service, provider = self.subject
        names = Names.of(self.base.instance)
        plan, alternative = (episodes_of(p, service, provider) for p in (self.base, self.alternative))
        return [f"  episodes of {names.service(service)} from {names.provider(provider)}: "
                f"{number(plan[0])} of {number(plan[1])} → {number(alternative[0])} of "
                f"{number(alternative[1])} a year"]

    def _budget_lines(self) -> list[str]:
        """When the plan spends its whole budget, an alternative that costs more must find the
        money elsewhere in the plan, and one that costs less frees money the plan spends
        elsewhere: say which, and where the money moves."""
        headroom = self.base.totals.get("headroom")
        budget = self.base.totals.get("budget")
        if headroom is None or budget is None or self.alternative is None:
            return []
        if headroom > max(1.0, 1e-6 * abs(budget)):
            return []
        a = self.base.services.groupby("service")["spend"].sum()
        b = self.alternative.services.groupby("service")["spend"].sum()
        moved = (b - a).fillna(0.0)
        moved = moved.loc[moved.abs() > 0.5]
        costlier = float(self.alternative.totals.get("spend") or 0.0) > \
            float(self.base.totals.get("spend") or 0.0) + 0.5
        if costlier:
            lines = [f"  The budget is fully spent in the plan ({money(budget)}), so any extra "
                     "cost has to come from elsewhere in the plan:"]
        elif len(moved):
            lines = [f"  The budget is fully spent in the plan ({money(budget)}); the spend moves "
                     "between services:"]
        else:
            return []
        names = Names.of(self.base.instance)
        for service, change in moved.sort_values().items():
            lines.append(f"    {names.service(service)}: {money(change, sign=True)}")
        return lines


def episodes_of(plan: Plan, service: str, provider: str) -> tuple[float, float]:
    """(the provider's episodes of ``service``, all its episodes) in the plan's first year."""
    first = plan.contracts.loc[(plan.contracts["year"] == plan.contracts["year"].min())
                               & (plan.contracts["service"] == service)]
    return float(first.loc[first["provider"] == provider, "volume"].sum()), float(first["volume"].sum())


def _unknown(table: str, what: str, value: str, known: list[str]) -> InputError:
    """Exit 2 for an id the instance does not have (a mistyped --service, --provider or
    --level), suggesting the nearest and listing some."""
    near = difflib.get_close_matches(value, known, n=1)
    hint = f"Did you mean '{near[0]}'? " if near else ""
    sample = ", ".join(sorted(known)[:10]) + (" ..." if len(known) > 10 else "")
    return InputError(Problem(f"--{what}", f"'{value}' is not a {what} of this instance "
                              f"(unknown {what} '{value}').",
                              f"{hint}Use an id from {table}.csv: {sample}."))


def explain(instance: Instance, service: str, *, provider: str | None = None,
            level: str | None = None, drop: bool = False,
            options: SolveOptions | None = None) -> Explanation:
    """Compare the optimal plan with the best plan that makes the given choice."""
    if sum([provider is not None, level is not None, drop]) != 1:
        raise InputError("give exactly one of --provider, --level or --drop")
    if service not in set(instance.services["service"]):
        raise _unknown("services", "service", service, list(instance.services["service"]))
    if provider is not None and provider not in set(instance.providers["provider"]):
        raise _unknown("providers", "provider", provider, list(instance.providers["provider"]))
    if level is not None and level not in set(instance.levels["level"]):
        raise _unknown("levels", "level", level, list(instance.levels["level"]))
    session = PlanningModel(instance, options=options or SolveOptions())
    names = tuple(v.name for v in session.model.component_objects(pyo.Var))
    base_result = session.adapter.solve(session.model, var_names=names)
    base = session.plan(base_result)
    named = Names.of(instance)
    question = _question(named.service(service), named.provider(provider) if provider else None,
                         named.level(level) if level else None, drop)
    already = _already(base, service, provider, level, named) if base.has_solution else ""
    if provider is not None and base.has_solution and not already:
        given, total = episodes_of(base, service, provider)
        if given > 0:  # a share already: the question is why not all it can take
            question = (f"The plan gives {named.provider(provider)} {number(given)} of the "
                        f"{number(total)} episodes of {named.service(service)} a year: why not "
                        "all it can take?")
    if not base.has_solution:
        return Explanation(question, base, None, reason=f"the instance itself is {base.status}.")
    if drop and not bool(base.services.loc[base.services["service"] == service,
                                           "commissioned"].any()):
        return Explanation(question, base, None, note="The plan does not commission "
                           f"{named.service(service)}: "
                           "there is nothing to drop, and dropping it changes nothing.")
    if already:
        return Explanation(question, base, None, note=already)
    reason = _impossible(session, service, provider, level, drop, named)
    if reason:
        return Explanation(question, base, None, reason=reason)
    _force(session, service, provider, level, drop)
    result = session.adapter.solve(session.model, var_names=names)
    if not result.has_solution:
        return Explanation(question, base, None, reason=_why_infeasible(session, names))
    alternative = session.plan(result)
    return Explanation(question, base, alternative, costs=_costs(base, alternative),
                       incomes=_incomes(base, alternative),
                       constraints=_binding_difference(session, base_result, result),
                       subject=(service, provider) if provider is not None else None)


def _already(base: Plan, service: str, provider: str | None, level: str | None,
             named: Names) -> str:
    """The answer when the plan already makes the choice asked about ('' otherwise)."""
    first = base.contracts.loc[(base.contracts["year"] == base.contracts["year"].min())
                               & (base.contracts["service"] == service)]
    if level is not None and (first["level"] == level).any():
        return (f"The plan already commissions {named.service(service)} at "
                f"{named.level(level)} level.")
    if provider is not None and (first["provider"] == provider).any():
        episodes, total = episodes_of(base, service, provider)
        offers = base.instance.offers
        cap = offers.loc[(offers["provider"] == provider) & (offers["service"] == service),
                         "capacity"]
        most = min(total,
                   float(cap.iloc[0]) if len(cap) and cap.notna().iloc[0] else float("inf"))
        if episodes >= most - 1e-6:  # it already takes all of it it can
            return (f"The plan already gives {named.service(service)} to "
                    f"{named.provider(provider)}: {episodes:,.0f} episodes a year, all it can take.")
    return ""


def _question(service: str, provider: str | None, level: str | None, drop: bool) -> str:
    if provider:
        return f"Why not give {service} to {provider}?"
    if level:
        return f"Why not commission {service} at {level} level?"
    return f"Why commission {service} at all? (the plan without it)"


def _impossible(session: PlanningModel, service: str, provider: str | None,
                level: str | None, drop: bool, named: Names) -> str:
    """Why the choice asked about breaks a rule applied before the model (blank if it does not),
    by names, with the table and column to change."""
    derived = session.derived
    s_name = named.service(service)
    l_name = named.level(level) if level is not None else ""
    p_name = named.provider(provider) if provider is not None else ""
    services = derived.services.set_index("service")
    if drop and bool(services.at[service, "mandatory"]) and derived.on("mandatory"):
        return f"{s_name} is mandatory: it must be commissioned in full."
    if level is not None:
        row = derived.service_levels.loc[(derived.service_levels["service"] == service)
                                         & (derived.service_levels["level"] == level)]
        if row.empty:
            return f"{s_name} has no demand to commission."
        if not bool(row["eligible"].iloc[0]):
            r = row.iloc[0]
            if r["reason"] == "not in allowed_levels":
                return (f"{l_name} is not among the levels allowed for {s_name} "
                        "(services.csv, allowed_levels).")
            return (f"a {l_name} unit cannot bear {s_name}'s risk: the spread of its annual spend "
                    f"(CV {r['cv']:.3f}) is above the {r['risk_tolerance']:g} the level can bear "
                    "(levels.csv, risk_tolerance).")
        return ""
    if provider is None:
        return ""
    offers = derived.offers
    offer = offers.loc[(offers["service"] == service) & (offers["provider"] == provider)]
    if offer.empty:
        return f"{p_name} does not offer {s_name} (no row in offers.csv)."
    if not bool(offer["meets_quality"].iloc[0]):
        return (f"{p_name}'s quality {offer['quality'].iloc[0]:g} is below the "
                f"{offer['min_quality'].iloc[0]:g} {s_name} requires (services.csv, min_quality).")
    contracts = derived.contracts
    if contracts.loc[(contracts["service"] == service) & (contracts["provider"] == provider)].empty:
        return (f"{p_name} is conflicted at every level able to commission {s_name} "
                "(providers.csv, conflicted_levels).")
    return ""


def _why_infeasible(session: PlanningModel, names: tuple[str, ...]) -> str:
    """Say whether the budget alone stands in the way of the forced choice, and by how much."""
    with session.budget_off() as had_budget:
        result = session.adapter.solve(session.model, var_names=names) if had_budget else None
    if result is None or not result.has_solution:
        return "no plan meets every rule with this choice, even with unlimited budget."
    plan = session.plan(result, check=False)
    over = plan.budget["spend"] - plan.budget["budget"]
    year = plan.budget.loc[over.idxmax(), "year"]
    return (f"it would overspend the budget by {money(float(over.max()))}"
            + (f" in {year}" if len(plan.budget) > 1 else "") + " (every other rule can be met).")


def _force(session: PlanningModel, service: str, provider: str | None, level: str | None,
           drop: bool) -> None:
    m, d = session.model, session.built.data
    ys = d.y_by_service.get(service, np.array([], dtype=int))
    sl = session.derived.service_levels.loc[d.sl_rows]
    if drop:
        m.forced = pyo.Constraint(expr=pyo.quicksum(m.y[j] for j in ys) == 0)
    elif level is not None:
        j = next(int(j) for j in ys if sl.iloc[int(j)]["level"] == level)
        m.forced = pyo.Constraint(expr=m.y[j] == 1)
    else:
        rows = [c for c in d.by_service[service]
                if session.derived.contracts.at[int(c), "provider"] == provider]
        # The service at a level where the provider can serve it, taking all it can there.
        m.forced_level = pyo.Constraint(expr=pyo.quicksum(m.y[d.y_of_contract[c]] for c in rows) == 1)
        m.forced = pyo.Constraint(d.years, rule=lambda _, t: pyo.quicksum(m.x[c, t] for c in rows)
                                  >= pyo.quicksum(d.big_m(c, t) * m.y[d.y_of_contract[c]]
                                                  for c in rows))


def _costs(base: Plan, alternative: Plan) -> pd.DataFrame:
    rows = [{"item": k, "plan": base.totals.get(k) or 0.0,
             "alternative": alternative.totals.get(k) or 0.0} for k in COST_ITEMS]
    frame = pd.DataFrame(rows)
    frame["change"] = frame["alternative"] - frame["plan"]
    return frame


def _incomes(base: Plan, alternative: Plan) -> pd.DataFrame:
    first = base.providers["year"].min()
    a = base.providers.loc[base.providers["year"] == first].set_index("provider")["income"]
    b = alternative.providers.loc[alternative.providers["year"] == first].set_index("provider")["income"]
    frame = pd.DataFrame({"plan": a, "alternative": b}).fillna(0.0)
    frame = frame.loc[~np.isclose(frame["plan"], frame["alternative"], atol=0.5)]
    return frame.reset_index(names="provider")


def _binding_difference(session: PlanningModel, base: SolveResult,
                        alternative: SolveResult) -> pd.DataFrame:
    """Rules binding in one plan and not the other, named in the instance's ids."""
    family_of = {f.component: f for f in FAMILIES}
    services = session.derived.services
    mandatory = set(services.loc[services["mandatory"], "service"])
    seen = {}
    for label, result in (("plan", base), ("alternative", alternative)):
        _load(session.model, result)
        binding = set()
        for component, family in family_of.items():
            con = getattr(session.model, component, None)
            for index in (con.keys() if con is not None else ()):
                row = con[index]
                body = pyo.value(row.body)
                limit = pyo.value(row.upper) if row.has_ub() else pyo.value(row.lower)
                if not row.equality and abs(body - limit) <= 1e-6 * max(1.0, abs(limit)) \
                        and _in_use(row):
                    subject = subject_of(session.built, family, index)
                    if family.name == "mandatory" and subject not in mandatory:
                        continue  # an optional service bought: no rule binds it
                    binding.add((family.name, subject))
        seen[label] = binding
    rows = [{"binding_in": "alternative", "constraint": c, "subject": s}
            for c, s in sorted(seen["alternative"] - seen["plan"])]
    rows += [{"binding_in": "plan", "constraint": c, "subject": s}
             for c, s in sorted(seen["plan"] - seen["alternative"])]
    return pd.DataFrame(rows, columns=["binding_in", "constraint", "subject"])


def _in_use(row) -> bool:
    """Whether any of the row's variables is non-zero: a row of a contract the plan does not let
    (a minimum share, 0 ≤ 0 with its x and z both 0) holds with equality but binds nothing."""
    return any(abs(v.value or 0.0) > 1e-9 for v in identify_variables(row.body))


def _load(model: pyo.ConcreteModel, result: SolveResult) -> None:
    for name, values in result.values.items():
        var = model.component(name)
        for data, value in zip(var.values(), values):
            data.set_value(value, skip_validation=True)
