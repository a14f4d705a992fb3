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
  of a MILP can mislead: the true value of money may come in steps. The re-solves share one
  time budget (:func:`default_budget`) so a default solve stays within about a minute; one
  re-solve with every binding choice rule relaxed answers them all when together they are
  worth nothing, and rows not re-solved have method ``skipped`` with the reason.

``marginal_value`` is the £ improvement of the objective (spend + risk − λ·QALYs) per unit of
relaxation, in ``unit``; ``qalys_per_unit`` is the change in QALYs where it is measured.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import pandas as pd
import pyomo.environ as pyo

from formulations.registry import rows_of
from planner.analysis.diagnosis import FAMILIES, subject_of
from planner.analysis.marginal_duals import (  # noqa: F401 - DUAL_* were defined here
    DUAL_COMPONENTS,
    DUAL_TOL,
    MAX_KINK_RESOLVES,
    lp_duals,
)
from planner.formats import money as _money
from planner.formats import number
from planner.progress import progress
from planner.rules import Family, Status
from planner.solver.highs import SolveResult
from planner.solver.session import PlanningModel

BUDGET_STEPS = (-0.05, -0.01, 0.01, 0.05)
RESOLVE_GAP = 1e-4  # relative MIP gap of the re-solves
TOGETHER_TOL = 2 * RESOLVE_GAP  # relative: choice rules together worth less are answered at once
RESOLVE_TIME_FACTOR = 3.0  # each re-solve may take this many times the plan's own solve
MIN_BUDGET_S = 10.0  # the re-solves share at least this many seconds ...
BUDGET_FACTOR = 0.5  # ... or this many times the plan's own solve (see default_budget)
#: the choice rules re-solved as MILPs with one provider more or fewer (or headroom dropped)
CHOICE_COMPONENTS = tuple(rows_of(f)[0] for f in (Family.MIN_PROVIDERS, Family.MAX_PROVIDERS,
                                                  Family.HEADROOM))


def default_budget(base: SolveResult, time_limit: float | None = None) -> float:
    """Wall seconds the MILP re-solves share: MIN_BUDGET_S or BUDGET_FACTOR times the plan's own
    solve, whichever is more, and never more than the user's ``time_limit`` (they share it).

    Why shared: each re-solve of a multi-year instance takes about as long as the plan itself,
    and there may be dozens; one budget keeps a default solve within a small multiple of the
    plan's own time, whatever the number of binding rules."""
    seconds = max(MIN_BUDGET_S, BUDGET_FACTOR * (base.solve_s + base.transfer_s))
    return seconds if time_limit is None else min(seconds, time_limit)


@dataclass
class TimeBudget:
    """Wall seconds left for re-solves, from the moment it is made (``clock`` is injectable so
    tests can spend it deterministically)."""

    seconds: float
    clock: Callable[[], float] = time.perf_counter
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def remaining(self) -> float:
        return max(0.0, self.seconds - (self.clock() - self.started))


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
                    budget: TimeBudget | None = None) -> pd.DataFrame:
    """The marginal-values table of the plan solved as ``base`` (see module docstring).

    The MILP re-solves share one time budget (``budget``, else :func:`default_budget` with
    the user's ``time_limit``); each starts from the plan itself (a feasible start for every
    relaxation), stops at a relative gap of RESOLVE_GAP (or the plan's own, if looser) and may
    take at most RESOLVE_TIME_FACTOR times the plan's own solve (+1 s) or what is left of the
    budget. They measure steps in the value of money and rules, not the last pound; a re-solve
    cut short says so in status, and those the budget did not reach are rows with method
    ``skipped`` and the reason.
    """
    budget = budget or TimeBudget(default_budget(base, time_limit))
    exact = session.adapter.options
    per_resolve = RESOLVE_TIME_FACTOR * (base.solve_s + base.transfer_s) + 1.0
    options = replace(exact, gap=max(exact.gap, RESOLVE_GAP))
    start = plan_start(session, base)

    def ready() -> bool:
        """Set the next re-solve's time limit and start; False once the budget is spent."""
        left = budget.remaining()
        if left <= 0:
            return False
        limit = min(left, per_resolve)
        session.adapter.options = replace(options, time_limit=limit if exact.time_limit is None
                                          else min(limit, exact.time_limit))
        session.adapter.solver.restart_from(start)
        return True

    spent = (f"the {budget.seconds:,.0f} s shared by the marginal-value re-solves was spent "
             "before this one; planner.solve(..., marginal_time=SECONDS) allows more.")
    jobs = _budget_resolves(session, base)
    choices = _choice_resolves(session, base)
    rows: list[dict] = []
    try:
        with progress("marginal values", len(jobs) + len(choices)) as bar:
            for job in jobs:
                rows.append(job.run() if ready() else job.skipped("time budget", spent))
                bar.update()
            if len(choices) > 1 and ready():
                answered = _together(session, base, choices)
                if answered is not None:
                    rows += answered
                    bar.update(len(choices))
                    choices = []
            for job in choices:
                rows.append(job.run() if ready() else job.skipped("time budget", spent))
                bar.update()
    finally:
        session.adapter.options = exact
        session.adapter.solver.restart_from(start)  # a later run of the session starts at the plan
    rows += lp_duals(session, base)
    columns = ["constraint", "subject", "method", "change", "unit", "marginal_value",
               "qalys_per_unit", "status", "message", "value_plus_one", "value_minus_one",
               "degenerate"]
    return pd.DataFrame(rows, columns=columns)


def plan_start(session: PlanningModel, base: SolveResult) -> list[tuple]:
    """The plan's integer decisions as a MIP start [(VarData, value)]: HiGHS fixes them, solves
    the LP for the volumes, and so starts every relaxation (more budget, a choice rule eased)
    with the plan in hand and has only to prove or beat it. Volumes are left to HiGHS so the
    start stays feasible when the budget moves."""
    model, start = session.model, []
    for name, values in base.values.items():
        var = getattr(model, name, None)
        if var is None:
            continue
        for i, value in zip(var.index_set(), values):
            if var[i].is_integer() or var[i].is_binary():
                start.append((var[i], round(value)))
    return start


def _totals(session: PlanningModel, result: SolveResult) -> dict:
    plan = session.plan(result, check=False)
    return {"objective": result.objective, "qalys": plan.totals.get("qalys", 0.0),
            "spend": plan.totals.get("spend", 0.0)}




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


def _budget_resolves(session: PlanningModel, base: SolveResult) -> list[Resolve]:
    model = session.model
    if not hasattr(model, "budget_limit") or not session.base_budget:
        return []
    reference = _totals(session, base)
    total_budget = sum(session.base_budget.values())

    def run(step: float) -> dict:
        session.scale_budget(1 + step)
        try:
            result = session.run()
        finally:
            session.scale_budget(1.0)
        change = total_budget * step
        row = {"constraint": "budget", "subject": f"budget {step:+.0%}",
               "method": "milp_resolve", "change": change, "unit": "£", "status": result.status}
        if result.has_solution:
            now = _totals(session, result)
            gain = (reference["objective"] - now["objective"]) / change
            qalys = (now["qalys"] - reference["qalys"]) / change
            row.update(marginal_value=gain, qalys_per_unit=qalys, message=(
                f"A budget {step:+.0%} ({_money(change)}) changes the objective by "
                f"{_money(-gain * change)} and QALYs by {_signed(qalys * change, 2)} "
                f"({number(qalys * 1e6, 1)} QALYs per £1m).") + _cut_short(result))
        elif result.status is Status.INFEASIBLE:
            row["message"] = f"With the budget {step:+.0%} there is no feasible plan."
        else:
            row["message"] = f"The re-solve with the budget {step:+.0%} stopped ({result.status})."
        return row

    return [Resolve("budget", f"budget {step:+.0%}", total_budget * step, "£",
                    lambda step=step: run(step)) for step in BUDGET_STEPS]


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
        f"{job.constraint} rule alone is worth no more.")) for job in jobs]


@contextmanager
def _relaxed(session: PlanningModel, keys: list[tuple[str, tuple]]) -> Iterator[None]:
    """Within the block, each choice row (component name, index) is replaced by its relaxed
    form (see :func:`_relaxed_choice`); the model is restored afterwards."""
    model = session.model
    cons = [getattr(model, name)[index] for name, index in keys]
    added = []
    try:
        for con, (name, index) in zip(cons, keys):
            con.deactivate()
            relaxed = _relaxed_choice(session, name, index)
            if relaxed is not None:
                added.append(f"relaxed_choice_{len(added)}")
                model.add_component(added[-1], relaxed)
        yield
    finally:
        for component in added:
            model.del_component(component)
        for con in cons:
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






