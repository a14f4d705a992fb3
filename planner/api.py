"""The staged library API: load → derive → build → solve → plan → verify.

``planner.solve`` runs every stage and times each; scripts and other tools call it with an
:class:`Instance` (from files or DataFrames) and get a :class:`Plan` of DataFrames back. The CLI
is a thin layer over these same functions.
"""

from __future__ import annotations

import time
from pathlib import Path

from planner.analysis.diagnosis import diagnose
from planner.analysis.marginal import TimeBudget, default_budget, marginal_values
from planner.analysis.unfunded import unfunded_services
from planner.data.instance import Instance, load_instance
from planner.results.plan import Plan
from planner.rules import Status
from planner.solve.highs import SolveOptions
from planner.solve.highs import versions as versions  # re-exported: planner.versions(), doctor
from planner.solve.session import PlanningModel

#: The why-not-bought re-solves (planner.analysis.unfunded) get this share of the marginal values' time
#: budget (at least REASONS_SHARE × REASONS_MIN_S seconds): a few services, two solves each.
REASONS_SHARE = 0.5
REASONS_MIN_S = 20.0


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
) -> Plan:
    """Solve ``instance`` and return its plan (raises InputError for bad data).

    ``without`` switches constraint families off (see ``planner.derive.tables.FAMILIES``);
    ``check`` runs :func:`planner.results.verify` on the plan and raises VerificationError on any
    violation. An infeasible instance gives a plan with status ``infeasible`` and a diagnosis.
    ``marginal`` adds the plan's marginal values (:mod:`planner.analysis.marginal`), whose MILP re-solves
    share ``marginal_time`` seconds (default: ``planner.analysis.marginal.default_budget``, within
    ``time_limit``; rows the budget does not reach say so), and why each optional service the
    plan does not buy is left out (``plan.unfunded``, :mod:`planner.analysis.unfunded`, in half that
    time again, at least 10 s); ``elastic`` makes
    an infeasible plan carry the tables of the cheapest relaxed plan (relaxations priced in its
    diagnosis). ``highs_options`` passes further options to HiGHS (e.g. node limits).
    """
    started = time.perf_counter()
    if not isinstance(instance, Instance):
        instance = load_instance(instance)
    loaded = time.perf_counter()
    options = SolveOptions(time_limit=time_limit, gap=gap, threads=threads, log_file=log_file,
                           highs_options=tuple(sorted((highs_options or {}).items())))
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
    if marginal and result.has_solution:
        budget = None if marginal_time is None else TimeBudget(marginal_time)
        plan.marginal_values = marginal_values(session, result, time_limit, budget)
        reasons_s = REASONS_SHARE * (marginal_time if marginal_time is not None
                                     else max(REASONS_MIN_S, default_budget(result, time_limit)))
        plan.unfunded = unfunded_services(session, result, plan, time_budget=reasons_s)
    finished = time.perf_counter()
    plan.timings = {"load": loaded - started, **session.timings, "transfer": result.transfer_s,
                    "solve": result.solve_s, "report": finished - solved_at,
                    "total": finished - started}
    return plan
