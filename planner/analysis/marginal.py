"""Marginal values of a solved plan: what one more £, episode of capacity or unit of a rule is worth.

A MILP has no duals. Two honest routes are used and labelled as such in ``method``:

* ``lp_dual``: fix every integer variable of the model at its value in the plan (auxiliary
  binaries included: see :mod:`planner.solver.fixed_lp`), solve the remaining LP, and read the shadow
  prices. They are marginal values *of the fixed plan* (which services, levels, contracts
  and providers stay as they are) for budget, capacities, break-even incomes, average quality,
  delegated budgets, the management cost cap and demand. As a dual at a degenerate vertex is
  only one side of a kink, each row also gives the value of one more and one fewer unit,
  measured by re-solving the fixed LP with the row moved (``value_plus_one``,
  ``value_minus_one``, ``degenerate``).
* ``milp_resolve``: re-solve the whole MILP with the budget at −5 %, −1 %, +1 % and +5 %, and with
  each binding choice rule (min/max providers, headroom) relaxed by one provider, because duals
  of a MILP can mislead: the true value of money may come in steps. A budget step whose MILP
  answer is known exactly without a re-solve (a larger budget's optimal plan still fits it, or
  a larger budget is already infeasible: :mod:`planner.analysis.budget_steps`) is
  ``milp_answered``, with its value and how it is known. The re-solves share the post-plan
  analyses' one time budget (:mod:`planner.analysis.resolves`); one re-solve with every binding
  choice rule relaxed answers them all when together they are worth nothing, and rows not
  re-solved have method ``skipped`` with the reason.

``marginal_value`` is the £ improvement of the objective (spend + risk − λ·QALYs) per unit of
relaxation, in ``unit``; ``qalys_per_unit`` is the change in QALYs where it is measured.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd
import pyomo.environ as pyo

from formulations.registry import rows_of
from formulations.tightening import implied_by_headroom
from planner.analysis.budget_steps import BudgetSteps, StepAnswer
from planner.analysis.diagnosis import FAMILIES, subject_of
from planner.analysis.marginal_duals import (  # noqa: F401 - DUAL_* were defined here
    DUAL_COMPONENTS,
    DUAL_TOL,
    MAX_KINK_RESOLVES,
    lp_duals,
)
from planner.analysis.resolves import (  # noqa: F401 - these were defined here
    MIN_BUDGET_S,
    RESOLVE_GAP,
    RESOLVE_TIME_FACTOR,
    Resolver,
    TimeBudget,
    default_budget,
    plan_start,
)
from planner.data.names import rule_name
from planner.formats import money as _money
from planner.formats import number
from planner.progress import progress
from planner.rules import Family, Status
from planner.solver.highs import SolveResult
from planner.solver.session import PlanningModel

BUDGET_STEPS = (-0.05, -0.01, 0.01, 0.05)
TOGETHER_TOL = 2 * RESOLVE_GAP  # relative: choice rules together worth less are answered at once
#: the choice rules re-solved as MILPs with one provider more or fewer (or headroom dropped)
CHOICE_COMPONENTS = tuple(rows_of(f)[0] for f in (Family.MIN_PROVIDERS, Family.MAX_PROVIDERS,
                                                  Family.HEADROOM))
COLUMNS = ["constraint", "subject", "method", "change", "unit", "marginal_value",
           "qalys_per_unit", "status", "message", "value_plus_one", "value_minus_one",
           "degenerate"]


@dataclass
class Resolve:
    """One MILP re-solve to make: the row it answers and how to run it (``run`` returns the
    finished row; it changes the model and restores it)."""

    constraint: str
    subject: str
    change: float
    unit: str
    run: Callable[[], dict]
    key: tuple | None = None  # (component, index) of a choice rule

    def skipped(self, reason: str, message: str) -> dict:
        return {"constraint": self.constraint, "subject": self.subject, "method": "skipped",
                "change": self.change, "unit": self.unit, "status": "skipped",
                "message": f"Skipped ({reason}): {message}"}


def marginal_values(session: PlanningModel, base: SolveResult, time_limit: float | None = None,
                    budget: TimeBudget | None = None,
                    steps: BudgetSteps | None = None) -> pd.DataFrame:
    """The marginal-values table of the plan solved as ``base`` (see module docstring).

    The LP duals come first (always computed: no MILP), then the budget steps (``steps``, shared
    with the priority lists when planner.solve passes them), then the choice rules. The MILP
    re-solves share ``budget`` (else :func:`default_budget`, counting the plan's own solve as
    the time gone by, within the user's ``time_limit``) and run as
    :class:`planner.analysis.resolves.Resolver` runs them: from the plan as MIP start, at a
    relative gap of RESOLVE_GAP. They measure steps in the value of money and rules, not the
    last pound; a re-solve cut short says so in status, and those the budget did not reach are
    rows with method ``skipped`` and the reason.
    """
    budget = budget or TimeBudget(default_budget(base.solve_s + base.transfer_s, time_limit))
    duals = lp_duals(session, base)
    steps = steps or BudgetSteps(session, base, budget)
    rows = _budget_rows(session, base, steps)
    choices = _choice_resolves(session, base)
    resolver = Resolver(session, base, budget)
    spent = budget.spent_message()
    try:
        with progress("marginal values", len(choices)) as bar:
            if len(choices) > 1 and resolver.ready():
                answered = _together(session, base, choices)
                if answered is not None:
                    rows += answered
                    bar.update(len(choices))
                    choices = []
            for job in choices:
                rows.append(job.run() if resolver.ready() else job.skipped("time budget", spent))
                bar.update()
    finally:
        resolver.restore()
    return pd.DataFrame(rows + duals, columns=COLUMNS)


def _totals(plan) -> dict:
    return {"qalys": plan.totals.get("qalys", 0.0), "spend": plan.totals.get("spend", 0.0)}


def _signed(value: float, decimals: int) -> str:
    """+1.25, −0.40, 0.00: a change with its sign (a real minus sign; zero unsigned)."""
    text = number(value, decimals)
    return text if text.startswith("−") or not text.strip("0.,") else "+" + text


def _cut_short(result: SolveResult) -> str:
    """A note for a re-solve that stopped at its time limit with a plan (status feasible)."""
    if result.status is not Status.FEASIBLE:
        return ""
    gap = "" if result.gap is None else f" (gap {result.gap:.2%})"
    return (f" The re-solve stopped at its time limit{gap}: this is the best plan it found, "
            "so the value may be understated.")


def _budget_rows(session: PlanningModel, base: SolveResult, steps: BudgetSteps) -> list[dict]:
    """The budget rows: −5 %, −1 %, +1 % and +5 %, each from its :class:`BudgetSteps` answer."""
    model = session.model
    if not hasattr(model, "budget_limit") or not session.base_budget:
        return []
    steps.want([1 + step for step in BUDGET_STEPS]).ensure()
    reference = _totals(steps.plan_at(steps.plan))
    total_budget = sum(session.base_budget.values())
    return [_budget_row(steps, steps.answer(1 + step), step, total_budget * step, base,
                        reference) for step in BUDGET_STEPS]


def _budget_row(steps: BudgetSteps, answer: StepAnswer, step: float, change: float,
                base: SolveResult, reference: dict) -> dict:
    row = {"constraint": "budget", "subject": f"budget {step:+.0%}", "change": change,
           "unit": "£"}
    if answer.how == "skipped":
        return {**row, "method": "skipped", "status": "skipped", "message": answer.reason}
    result = answer.result
    known = (f"Answered without a re-solve: {answer.note()}. " if answer.answered else "")
    row.update(method="milp_answered" if answer.answered else "milp_resolve",
               status=answer.status)
    if result.has_solution and answer.status is not Status.INFEASIBLE:
        now = _totals(steps.plan_at(answer))
        gain = (base.objective - result.objective) / change
        qalys = (now["qalys"] - reference["qalys"]) / change
        row.update(marginal_value=gain, qalys_per_unit=qalys, message=known + (
            f"A budget {step:+.0%} ({_money(change)}) changes the objective by "
            f"{_money(-gain * change)} and QALYs by {_signed(qalys * change, 2)} "
            f"({number(qalys * 1e6, 1)} QALYs per £1m).") + _cut_short(result))
    elif answer.status is Status.INFEASIBLE:
        row["message"] = known + f"With the budget {step:+.0%} there is no feasible plan."
    else:
        row["message"] = f"The re-solve with the budget {step:+.0%} stopped ({answer.status})."
    return row


def _choice_resolves(session: PlanningModel, base: SolveResult) -> list[Resolve]:
    """Re-solves with each binding choice rule relaxed by one provider (or dropped, headroom).
    A slack rule is not listed: relaxing it cannot change the plan (its value is 0)."""
    model = session.model
    z = {id(v): value for v, value in zip(model.z.values(), base.values.get("z", []))}
    y = {id(v): value for v, value in zip(model.y.values(), base.values.get("y", []))}
    family_of = {f.component: f for f in FAMILIES}

    def run(name: str, index: tuple, subject: str) -> dict:
        with _relaxed(session, [(name, index)]):
            result = session.run()
        gain = (base.objective - result.objective) if result.has_solution else None
        what = {"headroom": "dropping the headroom rule", "min_providers": "one provider fewer",
                "max_providers": "one provider more"}[name]
        if gain is not None:
            message = (f"For {subject}, {what} would improve the objective by {_money(gain)}."
                       + _cut_short(result))
        elif result.status is Status.INFEASIBLE:
            message = f"For {subject}, relaxing it gives no feasible plan."
        else:
            message = f"For {subject}, the re-solve with {what} stopped ({result.status})."
        return {"constraint": name, "subject": subject, "method": "milp_resolve", "change": 1,
                "unit": _choice_unit(name), "marginal_value": gain, "qalys_per_unit": None,
                "status": result.status, "message": message}

    jobs = []
    for name in CHOICE_COMPONENTS:
        component = getattr(model, name, None)
        for index in list(component.keys()) if component is not None else []:
            if not _binding(component[index], z, y):
                continue
            subject = subject_of(session.built, family_of[name], index)
            job = Resolve(name, subject, 1, _choice_unit(name),
                          lambda name=name, index=index, subject=subject: run(name, index, subject))
            job.key = (name, index)
            jobs.append(job)
    return jobs


def _together(session: PlanningModel, base: SolveResult, jobs: list[Resolve]) -> list[dict] | None:
    """One re-solve with every binding choice rule relaxed at once. Each rule relaxed alone
    allows fewer plans than all relaxed together, so if together they improve the objective by
    no more than the re-solves' precision (RESOLVE_GAP), neither can any one: every rule's row
    is answered by this one re-solve (rows with method ``skipped``, the bound in the message).
    None if they may improve it: then each is re-solved alone."""
    with _relaxed(session, [job.key for job in jobs]):
        result = session.run()
    if result.status is not Status.OPTIMAL or result.bound is None:
        return None
    most = max(base.objective - result.bound, 0.0)
    if most > TOGETHER_TOL * max(1.0, abs(base.objective)):
        return None
    return [job.skipped("answered together", (
        f"one re-solve with all {len(jobs)} binding choice rules relaxed at once improves the "
        f"objective by at most {_money(most)} (under {TOGETHER_TOL:.2%} of it, which re-solves "
        f"at a {RESOLVE_GAP:.2%} gap cannot tell from nothing), so relaxing this "
        f"rule (“{rule_name(job.constraint)}”) alone is worth no more.")) for job in jobs]


@contextmanager
def _relaxed(session: PlanningModel, keys: list[tuple[str, tuple]]) -> Iterator[None]:
    """Within the block, each choice row (component name, index) is replaced by its relaxed
    form (see :func:`_relaxed_choice`); the model is restored afterwards. A headroom row dropped
    takes with it the count of contracts its headroom implies (formulations.tightening)."""
    model = session.model
    cons = [getattr(model, name)[index] for name, index in keys]
    implied = [con for name, (service, t) in keys if name == "headroom"
               for con in implied_by_headroom(model, session.built.data, service, t)]
    added = []
    try:
        for con, (name, index) in zip(cons, keys):
            con.deactivate()
            relaxed = _relaxed_choice(session, name, index)
            if relaxed is not None:
                added.append(f"relaxed_choice_{len(added)}")
                model.add_component(added[-1], relaxed)
        for con in implied:
            con.deactivate()
        yield
    finally:
        for component in added:
            model.del_component(component)
        for con in cons + implied:
            con.activate()


def _choice_unit(name: str) -> str:
    return "providers" if name != "headroom" else "rule"


def _relaxed_choice(session: PlanningModel, name: str, index: tuple) -> pyo.Constraint | None:
    """The choice row of (service, year) with one provider fewer (min) or more (max)."""
    if name == "headroom":
        return None
    model, data = session.model, session.built.data
    service, t = index
    contracted = pyo.quicksum(model.z[k, t] for k in data.z_by_service[service])
    limits = session.derived.services.set_index("service")
    if name == "min_providers":
        chosen = pyo.quicksum(model.y[j] for j in data.y_by_service[service])
        return pyo.Constraint(expr=contracted >= (limits.at[service, "min_providers"] - 1) * chosen)
    return pyo.Constraint(expr=contracted <= limits.at[service, "max_providers"] + 1)


def _binding(con, z: dict, y: dict) -> bool:
    """True if a choice row holds with equality at the plan's binaries."""
    from pyomo.repn import generate_standard_repn

    values = {**z, **y}
    repn = generate_standard_repn(con.body)
    body = repn.constant + sum(coef * values.get(id(var), 0.0)
                               for var, coef in zip(repn.linear_vars, repn.linear_coefs))
    limit = con.upper if con.has_ub() else con.lower
    return abs(body - pyo.value(limit)) < 1e-6
