"""The staged library API: load → derive → build → solve → plan → verify.

``planner.solve`` runs every stage and times each; scripts and other tools call it with an
:class:`Instance` (from files or DataFrames) and get a :class:`Plan` of DataFrames back. The CLI
is a thin layer over these same functions.
"""

from __future__ import annotations

import platform
import time
from importlib import metadata
from pathlib import Path

import pyomo

from formulations import build
from planner.derive import derive
from planner.diagnosis import diagnose
from planner.errors import InputError, VerificationError
from planner.extract import compute_totals, extract
from planner.instance import Instance, load_instance
from planner.plan import Plan
from planner.prechecks import precheck
from planner.solver import HighsAdapter, SolveOptions, highs_version
from planner.verify import verify


def versions() -> dict[str, str]:
    try:
        planner_version = metadata.version("planner")
    except metadata.PackageNotFoundError:
        planner_version = "unknown"
    return {"planner": planner_version, "pyomo": pyomo.version.version,
            "highs": highs_version(), "python": platform.python_version()}


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
) -> Plan:
    """Solve ``instance`` and return its plan (raises InputError for bad data).

    ``without`` switches constraint families off (see ``planner.derive.FAMILIES``);
    ``check`` runs :func:`planner.verify` on the plan and raises VerificationError on any
    violation. An infeasible instance gives a plan with status ``infeasible`` and a diagnosis.
    """
    started = time.perf_counter()
    if not isinstance(instance, Instance):
        instance = load_instance(instance)
    loaded = time.perf_counter()
    without = frozenset(without)
    options = SolveOptions(time_limit=time_limit, gap=gap, threads=threads, log_file=log_file)
    derived = derive(instance, without)
    problems = precheck(derived)
    if problems:
        raise InputError(problems)
    derived_at = time.perf_counter()
    built = build(derived)
    built_at = time.perf_counter()
    result = HighsAdapter(options).solve(built.model)
    solved_at = time.perf_counter()
    plan = Plan(instance=instance, status=result.status, objective=result.objective,
                bound=result.bound, gap=result.gap, counts=built.counts(),
                options={**options.as_dict(), "without": sorted(without)},
                versions=versions())
    if result.has_solution:
        tables = extract(built, result)
        for name, frame in tables.items():
            setattr(plan, name, frame)
        plan.totals, plan.totals_by_year, plan.budget = compute_totals(instance, tables)
        if check:
            violations = verify(instance, plan)
            if violations:
                raise VerificationError(violations)
    elif result.status == "infeasible" and diagnose_infeasible:
        plan.diagnosis = diagnose(instance, derived, options)
    finished = time.perf_counter()
    plan.timings = {"load": loaded - started, "derive": derived_at - loaded,
                    "build": built_at - derived_at, "transfer": result.transfer_s,
                    "solve": result.solve_s,
                    "report": finished - solved_at, "total": finished - started}
    return plan
