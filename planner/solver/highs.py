"""The one adapter between the planner and HiGHS (via ``pyomo.contrib.solver``'s persistent Highs).

Everything solver-specific lives here: options, the status mapping, and copying the solution out
at once (a later solve on the same persistent solver invalidates earlier results). Times are wall
times measured here; HiGHS's own run time accumulates across solves and is not used.
"""

from __future__ import annotations

import math
import platform
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import highspy
import numpy as np
import pyomo
import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC
from pyomo.common.timing import HierarchicalTimer
from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition
from pyomo.contrib.solver.solvers.highs import Highs

from formulations.neighbourhoods import NEIGHBOURHOODS_ATTRIBUTE
from formulations.start import START_ATTRIBUTE
from planner.rules import Status
from planner.solver import improve
from planner.solver.fast_transfer import FastTransfer
from planner.solver.improve_worker import lp_arrays, tolerance
from planner.solver.interrupt import SignalsDuringSolve, interrupted


@dataclass(frozen=True)
class SolveOptions:
    """How to run HiGHS. ``gap`` is the relative MIP gap; ``time_limit`` in seconds."""

    time_limit: float | None = None
    gap: float = 1e-6
    threads: int | None = None
    log_file: str | None = None
    seed: int = 0
    highs_options: tuple[tuple[str, object], ...] = ()  # further HiGHS options, e.g. node limits
    improve: bool | None = None  # fix-and-optimise on a second core (None: by instance class)

    def as_dict(self) -> dict[str, object]:
        return {"time_limit": self.time_limit, "gap": self.gap, "threads": self.threads,
                "log_file": self.log_file, "seed": self.seed,
                "highs_options": dict(self.highs_options), "improve": self.improve}


@dataclass
class SolveResult:
    """What a solve produced, copied out of the solver: no live references remain."""

    status: Status  # optimal | feasible | infeasible | time_limit | error (a str given is parsed)
    termination: str
    objective: float | None
    bound: float | None
    gap: float | None
    values: dict[str, list[float]] = field(default_factory=dict)  # component name -> values
    duals: dict[str, dict[object, float]] = field(default_factory=dict)
    transfer_s: float = 0.0  # building HiGHS's copy of the model, wall seconds
    solve_s: float = 0.0  # HiGHS's run, wall seconds
    worker_plan: bool = False  # the plan came from fix-and-optimise (planner.solver.improve)

    def __post_init__(self) -> None:
        self.status = Status(self.status)

    @property
    def has_solution(self) -> bool:
        return self.status.has_plan


def highs_version() -> str:
    return f"{highspy.HIGHS_VERSION_MAJOR}.{highspy.HIGHS_VERSION_MINOR}.{highspy.HIGHS_VERSION_PATCH}"


def versions() -> dict[str, str]:
    """The versions a plan records (planner, Pyomo, HiGHS, Python), so a run can be repeated."""
    try:
        planner_version = metadata.version("planner")
    except metadata.PackageNotFoundError:
        planner_version = "unknown"
    return {"planner": planner_version, "pyomo": pyomo.version.version,
            "highs": highs_version(), "python": platform.python_version()}


class HighsAdapter:
    """A persistent HiGHS solver for one model; re-solving after a mutable change is cheap."""

    def __init__(self, options: SolveOptions | None = None):
        self.options = options or SolveOptions()
        self.solver = FastHighs()
        self._model: pyo.ConcreteModel | None = None
        # [(VarData, value)] of every variable in the last solve's plan (None without one): a
        # neighbouring scenario's MIP start (planner.sweeps.neighbours); live references, kept here and
        # never in a SolveResult.
        self.incumbent: list[tuple] | None = None

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
        solver_options.update(tuned_options(model))
        solver_options.update(dict(opts.highs_options))  # the caller's own options win
        timer = HierarchicalTimer()
        start = time.perf_counter()
        self.solver.improve_request = (opts.improve, opts.threads, opts.seed)
        with PauseGC():  # transfer makes many small objects: see formulations.model_data.gc_paused
            results = self.solver.solve(
                model, time_limit=opts.time_limit, rel_gap=opts.gap, threads=opts.threads,
                load_solutions=False, raise_exception_on_nonoptimal_result=False,
                solver_options=solver_options, timer=timer)
        wall = time.perf_counter() - start
        self._model = model
        self.incumbent = None
        worker_plan = _adopt_worker_plan(self.solver, results, opts.gap)
        transfer = _timer_total(timer, "set_instance") + _timer_total(timer, "update")
        if interrupted(self.solver):
            raise KeyboardInterrupt  # Ctrl-C reached HiGHS: stop, and write nothing
        status = _map_status(results.termination_condition, results.solution_status)
        result = SolveResult(status=status, termination=results.termination_condition.name,
                             objective=None, bound=None, gap=None,
                             transfer_s=transfer, solve_s=max(wall - transfer, 0.0),
                             worker_plan=worker_plan)
        if result.has_solution:
            primals = results.solution_loader.get_vars()
            self.incumbent = list(primals.items())
            for name in (*var_names, *PAYMENT_VARS):  # issue 16: payment decisions too
                var = getattr(model, name, None)
                if var is not None:
                    result.values[name] = [primals.get(var[i], 0.0)
                                           for i in var.index_set()]
            result.objective = results.incumbent_objective
            result.bound = results.objective_bound
            if result.bound is None and status is Status.OPTIMAL:
                result.bound = result.objective
            if duals:
                loaded = results.solution_loader.get_duals()
                for con in model.component_objects(pyo.Constraint, active=True):
                    result.duals[con.name] = {i: loaded.get(con[i], 0.0) for i in con}
            result.gap = _gap(result.objective, result.bound)
        return result


def _adopt_worker_plan(solver: FastHighs, results, gap: float) -> bool:
    """Make fix-and-optimise's plan the result where it beats HiGHS's own incumbent; the bound
    stays HiGHS's (:mod:`planner.solver.improve`)."""
    found, solver.improved = solver.improved, None
    if found is None:
        return False
    objective, values = found
    incumbent = results.incumbent_objective
    if incumbent is not None and objective >= incumbent - tolerance(incumbent):
        return False
    solution = highspy.HighsSolution()
    solution.col_value = values.tolist()
    solution.value_valid = True
    solver._sol = solution
    results.incumbent_objective = objective
    results.solution_status = SolutionStatus.feasible
    bound = results.objective_bound
    if bound is not None and math.isfinite(bound) and _gap(objective, bound) <= gap:
        results.termination_condition = TerminationCondition.convergenceCriteriaSatisfied
        results.solution_status = SolutionStatus.optimal
    return True


#: Variables of how care is paid for (formulations.payment), read with every solution.
PAYMENT_VARS = ("block", "bundle", "guarantee")


class FastHighs(FastTransfer, Highs):
    """Pyomo's persistent HiGHS interface with a first transfer linear in the model's size.

    Two costs of ``Highs.set_instance`` dominate planner runs at PCT scale and above:

    * variables are discovered constraint by constraint, and each discovery calls HiGHS's
      ``addVars`` and ``changeColsIntegrality`` for one or two columns; each of those calls costs
      time proportional to the model so far, so the transfer is quadratic (25 s for 100,000
      two-term rows). Here every variable is added in one batch first.
    * each expression is walked several times. Here plain linear rows and the objective are
      read in one pass each (:mod:`planner.solver.fast_transfer`); anything else takes Pyomo's
      own path, so re-solves after changing a parameter behave exactly as before.

    ``tests/solve/test_fast_transfer.py`` checks the HiGHS model is the same as Pyomo's.
    """

    improve_request: tuple = (None, None, 0)  # (SolveOptions.improve, threads, seed)
    improved: tuple | None = None  # fix-and-optimise's (objective, column values), if any
    _last_start: tuple | None = None  # the last MIP start given, (columns, values)

    def _solve(self):
        """Pyomo's solve, with fix-and-optimise on the second core where it pays, and Ctrl-C
        (or SIGTERM, where Python handles it) taken over while HiGHS runs
        (:class:`planner.solver.interrupt.SignalsDuringSolve`)."""
        with SignalsDuringSolve(self._solver_model):
            worker = self._start_improver()
            if worker is None:
                return super()._solve()
            highs = self._solver_model
            worker.subscribe(highs)
            try:
                return super()._solve()
            finally:
                worker.unsubscribe(highs)
                self.improved = worker.finish()

    def _start_improver(self) -> improve.Improver | None:
        self.improved = None
        wanted, threads, seed = self.improve_request
        groups = getattr(self._model, NEIGHBOURHOODS_ATTRIBUTE, None) or []
        highs = self._solver_model
        if wanted is False or len(groups) < 2 or (wanted is None and (
                self._last_start is None  # no MIP start given: an LP (fixed_lp) or not ours
                or highs.getNumCol() < improve.LARGE_MIP_BINARIES)):
            return None
        arrays = lp_arrays(highs.getLp())  # one copy of the model, for the count and the worker
        binaries = int((arrays["integrality"] == arrays["integer"]).sum())
        if not improve.wanted(wanted, threads, binaries) or \
                arrays["sense"] != int(highspy.ObjSense.kMinimize):
            return None
        col = self._pyomo_var_to_solver_var_map
        columns = [np.array([col[id(v)] for v in group if id(v) in col], dtype=np.int64)
                   for group in groups]
        config = self._active_config
        options = {key: value for key, value in config.solver_options.items()
                   if key not in ("log_file", "output_flag", "log_to_console", "time_limit")}
        try:
            return improve.Improver(arrays, columns, self._last_start, options, seed,
                                    config.time_limit)
        except OSError:  # no temporary file or no process to be had: HiGHS alone
            return None

    def set_instance(self, model):
        super().set_instance(model)
        self._pass_start(getattr(model, START_ATTRIBUTE, None))

    def update(self, timer=None):
        """Send the model's changes; then a start given since the last solve (a re-set model's
        new greedy start), since any change to HiGHS's model discards a solution given before."""
        super().update(timer=timer)
        pending, self._pending_start = getattr(self, "_pending_start", None), None
        self._pass_start(pending)

    def restart_from(self, start: list[tuple] | None) -> None:
        """Use ``start`` as the MIP start of the next solve (after the model's changes)."""
        self._pending_start = start

    def _pass_start(self, start: list[tuple] | None) -> None:
        """Give HiGHS the model's MIP start (values of some variables; HiGHS solves for the rest
        with these fixed, and keeps the result as its first incumbent if it is feasible)."""
        if not start:
            return
        col = self._pyomo_var_to_solver_var_map
        pairs = sorted((col[id(v)], float(value)) for v, value in start if id(v) in col)
        if pairs:
            index, value = zip(*pairs)
            self._last_start = (index, value)
            self._solver_model.setSolution(len(index), np.array(index, dtype=np.int32),
                                           np.array(value, dtype=np.double))

    def add_block(self, block):
        new = [v for v in block.component_data_objects(pyo.Var, descend_into=True)
               if id(v) not in self._referenced_variables]
        if new:
            self.add_variables(new)
        super().add_block(block)


LARGE_MIP_BINARIES = improve.LARGE_MIP_BINARIES
"""Binaries from which HiGHS's probing and enumeration presolve rules are switched off (and
fix-and-optimise runs on the second core: :mod:`planner.solver.improve`)."""
PROBING_AND_ENUMERATION = (1 << 15) | (1 << 16)
"""presolve_rule_off bits of HiGHS 1.15's rules 15 (probing) and 16 (enumeration)."""


def tuned_options(model: pyo.ConcreteModel) -> dict[str, object]:
    """HiGHS options by instance class, each kept only because it measurably helped.

    Large MIPs (England scale, 80,000 binaries): HiGHS's presolve spent 75 s (idle machine) to
    over 200 s (loaded) in probing and in enumeration and removed under 0.1 % of the rows with
    them; with those two rules off presolve takes 3–6 s and removes the same rows otherwise
    (docs/performance.md). Below the threshold they are cheap and left on.
    """
    if binary_count(model) >= LARGE_MIP_BINARIES:
        return {"presolve_rule_off": PROBING_AND_ENUMERATION}
    return {}


def binary_count(model: pyo.ConcreteModel) -> int:
    """The model's binaries (each Var component is all binary or none: formulations.variables)."""
    binaries = 0
    for var in model.component_objects(pyo.Var, active=True):
        first = next(iter(var.values()), None)
        if first is not None and first.is_binary():
            binaries += len(var)
    return binaries


def _empty_model_result(model: pyo.ConcreteModel, var_names: tuple[str, ...]) -> SolveResult:
    """A model with no variables (nothing to commission) is trivially optimal; HiGHS calls it
    an empty model rather than solving it."""
    for con in model.component_data_objects(pyo.Constraint, active=True):
        body = pyo.value(con.body)
        if (con.has_lb() and body < pyo.value(con.lower) - 1e-9) or (
                con.has_ub() and body > pyo.value(con.upper) + 1e-9):
            return SolveResult(status=Status.INFEASIBLE, termination="provenInfeasible",
                               objective=None, bound=None, gap=None)
    objective = next(model.component_data_objects(pyo.Objective, active=True), None)
    value = float(pyo.value(objective.expr)) if objective is not None else 0.0
    return SolveResult(status=Status.OPTIMAL, termination="convergenceCriteriaSatisfied",
                       objective=value, bound=value, gap=0.0,
                       values={name: [] for name in var_names})


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


def _map_status(termination: TerminationCondition, solution: SolutionStatus) -> Status:
    has_solution = solution in (SolutionStatus.optimal, SolutionStatus.feasible)
    if termination == TerminationCondition.convergenceCriteriaSatisfied and has_solution:
        return Status.OPTIMAL
    if termination in (TerminationCondition.provenInfeasible,
                       TerminationCondition.infeasibleOrUnbounded,
                       TerminationCondition.locallyInfeasible):
        return Status.INFEASIBLE
    if has_solution:
        return Status.FEASIBLE
    if termination in (TerminationCondition.maxTimeLimit, TerminationCondition.iterationLimit):
        return Status.TIME_LIMIT
    return Status.ERROR
