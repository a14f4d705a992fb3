"""The one adapter between the planner and HiGHS (via ``pyomo.contrib.solver``'s persistent Highs).

Everything solver-specific lives here: options, the status mapping, and copying the solution out
at once (a later solve on the same persistent solver invalidates earlier results). Times are wall
times measured here; HiGHS's own run time accumulates across solves and is not used.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import highspy
import pyomo.environ as pyo
from pyomo.common.timing import HierarchicalTimer
from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition
from pyomo.contrib.solver.solvers.highs import Highs


@dataclass(frozen=True)
class SolveOptions:
    """How to run HiGHS. ``gap`` is the relative MIP gap; ``time_limit`` in seconds."""

    time_limit: float | None = None
    gap: float = 1e-6
    threads: int | None = None
    log_file: str | None = None
    seed: int = 0
    highs_options: tuple[tuple[str, object], ...] = ()  # further HiGHS options, e.g. node limits

    def as_dict(self) -> dict[str, object]:
        return {"time_limit": self.time_limit, "gap": self.gap, "threads": self.threads,
                "log_file": self.log_file, "seed": self.seed,
                "highs_options": dict(self.highs_options)}


@dataclass
class SolveResult:
    """What a solve produced, copied out of the solver: no live references remain."""

    status: str  # optimal | feasible | infeasible | time_limit | error
    termination: str
    objective: float | None
    bound: float | None
    gap: float | None
    values: dict[str, list[float]] = field(default_factory=dict)  # component name -> values
    duals: dict[str, dict[object, float]] = field(default_factory=dict)
    transfer_s: float = 0.0  # building HiGHS's copy of the model, wall seconds
    solve_s: float = 0.0  # HiGHS's run, wall seconds

    @property
    def has_solution(self) -> bool:
        return self.status in ("optimal", "feasible")


def highs_version() -> str:
    return f"{highspy.HIGHS_VERSION_MAJOR}.{highspy.HIGHS_VERSION_MINOR}.{highspy.HIGHS_VERSION_PATCH}"


class HighsAdapter:
    """A persistent HiGHS solver for one model; re-solving after a mutable change is cheap."""

    def __init__(self, options: SolveOptions | None = None):
        self.options = options or SolveOptions()
        self.solver = Highs()
        self._model: pyo.ConcreteModel | None = None

    def solve(self, model: pyo.ConcreteModel, var_names: tuple[str, ...] = ("x", "y", "z", "w"),
              duals: bool = False) -> SolveResult:
        if not any(True for _ in model.component_data_objects(pyo.Var, active=True)):
            return _empty_model_result(model, var_names)
        opts = self.options
        solver_options: dict[str, object] = {"random_seed": opts.seed, "output_flag": False}
        if opts.log_file:
            Path(opts.log_file).parent.mkdir(parents=True, exist_ok=True)
            solver_options.update({"log_file": str(opts.log_file), "output_flag": True,
                                   "log_to_console": False})
        solver_options.update(dict(opts.highs_options))
        timer = HierarchicalTimer()
        start = time.perf_counter()
        results = self.solver.solve(
            model, time_limit=opts.time_limit, rel_gap=opts.gap, threads=opts.threads,
            load_solutions=False, raise_exception_on_nonoptimal_result=False,
            solver_options=solver_options, timer=timer)
        wall = time.perf_counter() - start
        self._model = model
        transfer = _timer_total(timer, "set_instance") + _timer_total(timer, "update")
        if _interrupted(self.solver):
            raise KeyboardInterrupt  # Ctrl-C reached HiGHS: stop, and write nothing
        status = _map_status(results.termination_condition, results.solution_status)
        result = SolveResult(status=status, termination=results.termination_condition.name,
                             objective=None, bound=None, gap=None,
                             transfer_s=transfer, solve_s=max(wall - transfer, 0.0))
        if result.has_solution:
            primals = results.solution_loader.get_vars()
            for name in var_names:
                var = getattr(model, name, None)
                if var is not None:
                    result.values[name] = [primals.get(var[i], 0.0)
                                           for i in var.index_set()]
            result.objective = results.incumbent_objective
            result.bound = results.objective_bound
            if result.bound is None and status == "optimal":
                result.bound = result.objective
            if duals:
                loaded = results.solution_loader.get_duals()
                for con in model.component_objects(pyo.Constraint, active=True):
                    result.duals[con.name] = {i: loaded.get(con[i], 0.0) for i in con}
            result.gap = _gap(result.objective, result.bound)
        return result


def _empty_model_result(model: pyo.ConcreteModel, var_names: tuple[str, ...]) -> SolveResult:
    """A model with no variables (nothing to commission) is trivially optimal; HiGHS calls it
    an empty model rather than solving it."""
    for con in model.component_data_objects(pyo.Constraint, active=True):
        body = pyo.value(con.body)
        if (con.has_lb() and body < pyo.value(con.lower) - 1e-9) or (
                con.has_ub() and body > pyo.value(con.upper) + 1e-9):
            return SolveResult(status="infeasible", termination="provenInfeasible",
                               objective=None, bound=None, gap=None)
    objective = next(model.component_data_objects(pyo.Objective, active=True), None)
    value = float(pyo.value(objective.expr)) if objective is not None else 0.0
    return SolveResult(status="optimal", termination="convergenceCriteriaSatisfied",
                       objective=value, bound=value, gap=0.0,
                       values={name: [] for name in var_names})


def _interrupted(solver: Highs) -> bool:
    """True if HiGHS stopped because of Ctrl-C (Pyomo maps that status to 'unknown')."""
    highs = getattr(solver, "_solver_model", None)
    if highs is None:
        return False
    status = highs.getModelStatus()
    return status in (highspy.HighsModelStatus.kInterrupt,
                      getattr(highspy.HighsModelStatus, "kHighsInterrupt", None))


def _timer_total(timer: HierarchicalTimer, name: str) -> float:
    try:
        return float(timer.get_total_time(name))
    except (KeyError, RuntimeError):
        return 0.0


def _gap(objective: float | None, bound: float | None) -> float | None:
    """Relative gap |objective − bound| / max(|objective|, 1), as HiGHS reports it."""
    if objective is None or bound is None or not math.isfinite(bound):
        return None
    return abs(objective - bound) / max(abs(objective), 1.0)


def _map_status(termination: TerminationCondition, solution: SolutionStatus) -> str:
    has_solution = solution in (SolutionStatus.optimal, SolutionStatus.feasible)
    if termination == TerminationCondition.convergenceCriteriaSatisfied and has_solution:
        return "optimal"
    if termination in (TerminationCondition.provenInfeasible,
                       TerminationCondition.infeasibleOrUnbounded,
                       TerminationCondition.locallyInfeasible):
        return "infeasible"
    if has_solution:
        return "feasible"
    if termination in (TerminationCondition.maxTimeLimit, TerminationCondition.iterationLimit):
        return "time_limit"
    return "error"
