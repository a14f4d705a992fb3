"""The staged library API: load → derive → build → solve → plan → verify.

``planner.solve`` runs every stage and times each; scripts and other tools call it with an
:class:`Instance` (from files or DataFrames) and get a :class:`Plan` of DataFrames back. The CLI
is a thin layer over these same functions.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from planner.analysis.alternatives import alternatives as near_optimal
from planner.analysis.budget_steps import BudgetSteps
from planner.analysis.compare import PlanView, compare
from planner.analysis.diagnosis import diagnose
from planner.analysis.marginal import marginal_values
from planner.analysis.priorities import BUDGET_STEPS as PRIORITY_STEPS
from planner.analysis.priorities import priorities as priority_list
from planner.analysis.resolves import TimeBudget, default_budget
from planner.analysis.unfunded import unfunded_services
from planner.data.instance import Instance, load_instance
from planner.results.plan import Plan
from planner.results.shifting_tables import uses_shifting
from planner.rules import Status
from planner.solver.highs import SolveOptions
from planner.solver.highs import versions as versions  # re-exported: planner.versions(), doctor
from planner.solver.session import PlanningModel


def solve(
    instance: Instance | str | Path,
    *,
    time_limit: float | None = None,
    gap: float = 1e-6,
    threads: int | None = None,
    without: tuple[str, ...] | list[str] | frozenset[str] = (),
    log_file: str | None = None,
    check: bool = True,
    diagnose_infeasible: bool = True,
    marginal: bool = False,
    marginal_time: float | None = None,
    elastic: bool = False,
    highs_options: dict[str, object] | None = None,
    priorities: bool | None = None,
    status_quo: bool = False,
    alternatives: int = 0,
    within: float = 0.01,
    improve: bool | None = None,
) -> Plan:
    """Solve ``instance`` and return its plan (raises InputError for bad data).

    ``without`` switches constraint families off (see ``planner.derive.tables.FAMILIES``);
    ``check`` runs :func:`planner.results.verify` on the plan and raises VerificationError on any
    violation. An infeasible instance gives a plan with status ``infeasible`` and a diagnosis.
    ``marginal`` adds the plan's marginal values (:mod:`planner.analysis.marginal`) and why each
    optional service the plan does not buy is left out (``plan.unfunded``,
    :mod:`planner.analysis.unfunded`). Their MILP re-solves and the priority lists' share one
    time budget of ``marginal_time`` seconds (default: :func:`planner.analysis.resolves.default_budget`:
    until 45 s after this call began, at least 5 s, within ``time_limit``); rows and entries the
    budget does not reach say so, and the plan itself is never changed; ``elastic`` makes
    an infeasible plan carry the tables of the cheapest relaxed plan (relaxations priced in its
    diagnosis). ``highs_options`` passes further options to HiGHS (e.g. node limits).
    ``improve`` runs fix-and-optimise on a second core beside HiGHS (:mod:`planner.solver.improve`):
    None (default) = for MIPs of 20,000 binaries or more on two or more cores, unless
    ``threads=1``; True/False force it.
    ``priorities`` adds the PBMA wish and hit lists (``plan.priorities``, :mod:`planner.analysis.priorities`,
    the plan's model at each budget step, shared with the marginal values'); None (default) =
    only for an instance that shifts care (effects.csv or a min_coverage below 1).

    What ``planner solve`` writes besides: ``status_quo`` compares a solved plan with today's
    contracts (``plan.changes``, ``plan.spend_changes``: :func:`changes`); ``alternatives`` (K)
    finds up to K distinct plans within ``within`` (relative) of the optimum
    (``plan.alternatives``, :mod:`planner.analysis.alternatives`). ``plan.to_dir`` writes them as
    changes.csv, spend_changes.csv and alternatives.csv, the files of the CLI.
    """
    started = time.perf_counter()
    if not isinstance(instance, Instance):
        instance = load_instance(instance)
    loaded = time.perf_counter()
    options = SolveOptions(time_limit=time_limit, gap=gap, threads=threads, log_file=log_file,
                           highs_options=tuple(sorted((highs_options or {}).items())),
                           improve=improve)
    session = PlanningModel(instance, frozenset(without), options)
    result = session.run()
    solved_at = time.perf_counter()
    plan = session.plan(result, check=check)
    if result.status is Status.INFEASIBLE and (diagnose_infeasible or elastic):
        plan.diagnosis, relaxed = diagnose(instance, session.derived, options, elastic)
        if relaxed is not None:
            plan.relaxed = True
            relaxed.pop("objective")  # the elastic model's; the plan's own follows from totals
            plan.totals = relaxed.pop("totals")
            plan.totals_by_year = relaxed.pop("totals_by_year")
            for name, frame in relaxed.items():
                setattr(plan, name, frame)
            totals, policy = plan.totals, instance.config.policy
            plan.objective = (totals["spend"] + totals["risk_cost"]
                              - policy.value_per_qaly * totals["qalys"])
    wants_priorities = priorities or (priorities is None and uses_shifting(instance))
    if result.has_solution and (marginal or wants_priorities):
        # one time budget for every post-plan analysis (planner.analysis.resolves), and one set
        # of budget steps for the marginal values and the priority lists
        budget = TimeBudget(marginal_time if marginal_time is not None else
                            default_budget(time.perf_counter() - started, time_limit))
        steps = BudgetSteps(session, result, budget)
        if wants_priorities:
            steps.want(PRIORITY_STEPS)
        if marginal:
            plan.marginal_values = marginal_values(session, result, time_limit, budget, steps)
            plan.unfunded = unfunded_services(session, result, plan, time_budget=budget)
        if wants_priorities:
            plan.priorities = priority_list(instance, plan, steps)  # issue 15
    if status_quo and plan.has_solution:
        tables = changes(plan)
        plan.changes, plan.spend_changes = tables["changes.csv"], tables["spend_changes.csv"]
    if alternatives and plan.has_solution:
        _, plan.alternatives = near_optimal(instance, alternatives, within, options,
                                            frozenset(without))
    finished = time.perf_counter()
    plan.timings = {"load": loaded - started, **session.timings, "transfer": result.transfer_s,
                    "solve": result.solve_s, "report": finished - solved_at,
                    "total": finished - started}
    return plan


def changes(plan: Plan) -> dict[str, pd.DataFrame]:
    """A solved plan against the status quo (today's incumbent contracts), as ``planner solve``
    writes it: changes.csv (each contract started, ended, moved, resized or the same) and
    spend_changes.csv (£ today and in the plan by level, provider kind and category)."""
    tables = compare(PlanView.status_quo(plan.instance), PlanView.from_plan(plan))
    return {"changes.csv": tables["contract_changes"], "spend_changes.csv": tables["spend_by"]}
