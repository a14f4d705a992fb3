"""Running sweeps: many scenarios, re-solved fast, in parallel, resumable, on a cluster if wanted.

* Each worker keeps persistent models built with prices, demand and thresholds as mutable
  parameters. A scenario re-sets the parameters of the model whose structure it shares and
  re-solves it; only a change of structure (eligibility, levels, providers, rules) builds a new
  model, which later scenarios of that structure then share (see ``_Models``).
* ``workers`` > 1 runs batches in separate processes; ``scheduler`` sends the same batches to a
  Dask distributed cluster (the engine people already run across machines).
* With ``out``, every finished scenario is written at once (atomically) to ``out/rows/``, by the
  process that solved it; a re-run with the same ``out`` skips them, so a sweep stopped by
  Ctrl-C, SIGTERM or even SIGKILL resumes. The results table is the same for the same inputs
  whatever the number of workers (``wall_s`` apart).
* File names never come from scenario names (which may hold ``../`` or be absolute paths): a
  scenario's row and plan folder are named by its position and a slug, the name kept inside.
* Workers ignore Ctrl-C (the parent handles it) and die with the parent; on Ctrl-C or SIGTERM
  the parent stops them before it exits, so no process outlives the command.
* A scenario that fails (bad override, solver error) is recorded with its reason, an infeasible
  one with its diagnosis' first message; the sweep goes on.
* Scenarios sharing a model are solved in order of their swept values, and each starts from the
  last solved scenario's plan, or takes its proven answer where the change only tightens the
  model (``warm``, see planner.sweeps.neighbours); the results come back in the user's order.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import queue as queues
import signal
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from contextlib import suppress
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from planner.data.instance import Instance, load_instance
from planner.errors import InputError, PlannerError, Problem
from planner.rules import Status
from planner.solver.highs import SolveOptions
from planner.solver.session import PlanningModel
from planner.solver.signature import structure_signature
from planner.sweeps.neighbours import Neighbours, neighbour_order
from planner.sweeps.scenarios import Scenario, SweepFile, apply, load_sweep, scenarios
from planner.sweeps.signals import Terminated, check_signals, quiet_signals, signals_stop_the_sweep
from planner.sweeps.store import RESULT_COLUMNS, file_names, resume, table, write_results, write_row


def sweep(instance: Instance | str | Path, sweep_file: SweepFile | str | Path | dict[str, Any],
          *, workers: int = 1, scheduler: str | Any | None = None, out: str | Path | None = None,
          plans: bool = False, options: SolveOptions | None = None,
          progress: bool | None = None, notify: Callable[[str], None] | None = None,
          warm: bool = True) -> pd.DataFrame:
    """Solve every scenario of ``sweep_file`` over ``instance`` and return the results table.

    One row per scenario with ``scenario``, one column per swept parameter, and the columns of
    RESULT_COLUMNS. ``scheduler`` is a Dask scheduler address or a ``distributed.Client``.
    ``notify`` receives one-line news such as how many scenarios a resume skipped (default:
    printed to stderr). ``warm`` False solves every scenario from the greedy start, without
    learning from its neighbours (the same results; for measuring what warm starts buy).
    """
    with signals_stop_the_sweep():  # SIGINT and SIGTERM at any moment: exit 130 / 143, workers stopped
        return _sweep(instance, sweep_file, workers=workers, scheduler=scheduler, out=out,
                      plans=plans, options=options, progress=progress, notify=notify, warm=warm)


def _sweep(instance: Instance | str | Path, sweep_file: SweepFile | str | Path | dict[str, Any],
           *, workers: int, scheduler: str | Any | None, out: str | Path | None, plans: bool,
           options: SolveOptions | None, progress: bool | None,
           notify: Callable[[str], None] | None, warm: bool) -> pd.DataFrame:
    if not isinstance(instance, Instance):
        instance = load_instance(instance)
    spec = sweep_file if isinstance(sweep_file, SweepFile) else load_sweep(sweep_file)
    items = scenarios(spec)  # refuses too many scenarios and duplicate names, before any solve
    if not items:
        raise InputError(Problem("sweep", "the sweep has no scenarios.",
                                 "Add parameters: or scenarios: to the sweep file."))
    for scenario in items:  # every scenario is validated before anything is solved
        apply(instance, scenario)
    notify = notify or (lambda text: print(text, file=sys.stderr))
    options = options or SolveOptions()
    if workers > 1 and options.improve is None:  # the cores are the workers': no second search
        options = dataclasses.replace(options, improve=False)
    names = file_names(items)
    done = resume(Path(out), spec, instance, items) if out else {}
    if done:
        notify(f"resuming: {len(done)} of {len(items)} scenarios already done, skipped")
    todo = [s for s in items if s.name not in done]
    show = sys.stderr.isatty() if progress is None else progress
    rows = dict(done)
    with tqdm(total=len(items), initial=len(done), disable=not show, unit="scenario") as bar:
        # in-process, the base is solved on the scenarios' own models: built once, its plan
        # the first scenario's start
        local = _Models(options, warm) if workers <= 1 and scheduler is None else None
        base_contracts = _base_contracts(instance, options, local) if todo else {}
        # Dask workers may be on other machines: there the parent writes the rows it receives.
        rows_dir = Path(out) / "rows" if out and scheduler is None else None
        plans_dir = Path(out) / "plans" if (out and plans) else None
        job = _Job(instance, options, base_contracts, names, rows_dir, plans_dir, warm)
        finishing = _run(job, _batches(todo, max(1, workers)), workers, scheduler, local)
        try:
            for row in finishing:
                if row["scenario"] in rows:
                    continue
                rows[row["scenario"]] = row
                if out and rows_dir is None:
                    write_row(Path(out) / "rows", names[row["scenario"]], row)
                bar.update(1)
        finally:  # stop the workers now, not whenever the generator is collected
            finishing.close()
    check_signals()  # a signal whose exception was lost still stops the sweep here
    results = table(items, rows)
    if out:
        write_results(Path(out), results)
    return results


class _Job:
    """What a worker needs: picklable, so it can go to a process or a Dask worker."""

    def __init__(self, instance: Instance, options: SolveOptions,
                 base_contracts: dict[tuple[str, str, str], float], names: dict[str, str],
                 rows_dir: Path | None, plans_dir: Path | None, warm: bool = True):
        self.instance = instance
        self.warm = warm
        self.options = options
        self.base_contracts = base_contracts
        self.names = names
        self.rows_dir = rows_dir
        self.plans_dir = plans_dir

    def __call__(self, batch: list[Scenario]) -> list[dict[str, Any]]:
        models = _Models(self.options, self.warm)
        rows = []
        for scenario in batch:
            rows.append(self.solve_and_save(scenario, models))
            if _FINISHED is not None:  # in a pool worker: tell the parent at once
                _FINISHED.put(rows[-1])
        return rows

    def solve_and_save(self, scenario: Scenario, models: _Models) -> dict[str, Any]:
        """Solve ``scenario`` and, with an ``out`` folder, write its row at once."""
        row = self.solve(scenario, models)
        if self.rows_dir is not None:
            write_row(self.rows_dir, self.names[scenario.name], row)
        return row

    def solve(self, scenario: Scenario, models: _Models) -> dict[str, Any]:
        start = time.perf_counter()
        row: dict[str, Any] = {"scenario": scenario.name, **dict(scenario.values)}
        try:
            variant = apply(self.instance, scenario)
            session, rebuilt = models.model_for(scenario, variant)
            result = models.solve(session, scenario, rebuilt)
            plan = session.plan(result, instance=variant)
            message = _diagnosis_message(variant, self.options, models, session, scenario) \
                if plan.status is Status.INFEASIBLE else ""
            row.update(_summary(plan, self.base_contracts), rebuilt=rebuilt, message=message)
            if self.plans_dir is not None and plan.has_solution:
                named = pd.DataFrame([{"scenario": scenario.name, **dict(scenario.values)}])
                plan.to_dir(self.plans_dir / self.names[scenario.name], reports=False,
                            extra={"scenario.csv": named})  # tables only: fast
        except (PlannerError, ValueError, RuntimeError) as exc:
            row.update(status=Status.ERROR, message=str(exc).replace("\n", " ").strip(), rebuilt=True)
        row["wall_s"] = time.perf_counter() - start
        return row


def _diagnosis_message(variant: Instance, options: SolveOptions, models: _Models,
                       session: PlanningModel, scenario: Scenario) -> str:
    """The first message of the infeasible scenario's diagnosis (e.g. how far short the budget
    is), as ``planner solve`` would print first; a budget shortfall is carried from a
    neighbour of the same data where one was found (planner.sweeps.neighbours)."""
    from planner.analysis.diagnosis import first_relaxation
    from planner.derive.tables import derive

    try:
        derived = derive(variant)
        if models.neighbours is None:
            row = first_relaxation(variant, derived, options)
        else:
            row = models.neighbours.first_relaxation(session, scenario.structure_key(), variant,
                                                     derived, options)
    except (PlannerError, ValueError, RuntimeError) as exc:
        return f"no diagnosis: {exc}".replace("\n", " ")
    return row["message"] if row else "no single rule explains it."


class _Models:
    """A worker's persistent models, one per structure, and which scenario data each holds.

    A scenario whose overrides, budget and £/QALY apart, are those a model already holds only
    re-sets those two parameters. Otherwise the scenario is derived: if its structure matches a
    model's, that model's prices, demand and thresholds are re-set in place (no rebuild);
    only a new structure (eligibility, levels, providers, ...) builds a new model.
    """

    KEEP = 4  # models a worker keeps at once (the least recently used goes): memory stays bounded

    def __init__(self, options: SolveOptions, warm: bool = True):
        self.options = options
        self.models: dict[str, PlanningModel] = {}  # structure signature -> model, oldest first
        self.holds: dict[str, str] = {}  # structure signature -> structure_key of its data
        self.neighbours = Neighbours() if warm else None

    def solve(self, session: PlanningModel, scenario: Scenario, rebuilt: bool):
        """Solve the scenario ``session`` now holds (from its neighbour's plan if warm)."""
        if self.neighbours is None:
            return session.run()
        return self.neighbours.solve(session, scenario.structure_key(), fresh=rebuilt)

    def model_for(self, scenario: Scenario, variant: Instance) -> tuple[PlanningModel, bool]:
        """(the model, now answering ``variant``; whether it had to be built)."""
        key = scenario.structure_key()
        has_budget = variant.config.policy.budget is not None
        for signature, held in self.holds.items():
            session = self.models[signature]
            if held == key and (session.instance.config.policy.budget is not None) == has_budget:
                session.set_policy(variant)
                return self._touch(session), False
        if not self.models:
            session = PlanningModel(variant, options=self.options, mutable=True)
            return self._keep(session, key), True
        derived = next(iter(self.models.values())).derive(variant)
        session = self.models.get(structure_signature(derived))
        if session is not None and session.update(variant, derived,
                                                  greedy=self.neighbours is None):
            self.holds[session.signature] = key
            return self._touch(session), False
        session = PlanningModel(variant, options=self.options, mutable=True, derived=derived)
        return self._keep(session, key), True

    def _keep(self, session: PlanningModel, key: str) -> PlanningModel:
        while len(self.models) >= self.KEEP:
            oldest = next(iter(self.models))
            del self.models[oldest], self.holds[oldest]
            if self.neighbours is not None:
                self.neighbours.forget(oldest)
        self.models[session.signature] = session
        self.holds[session.signature] = key
        return session

    def _touch(self, session: PlanningModel) -> PlanningModel:
        """Mark ``session`` as the most recently used."""
        self.models[session.signature] = self.models.pop(session.signature)
        return session


def _summary(plan, base_contracts: dict[tuple[str, str, str], float]) -> dict[str, Any]:
    row = {"status": plan.status, "objective": plan.objective, "bound": plan.bound,
           "gap": plan.gap}
    if not plan.has_solution:
        return row
    first = plan.contracts["year"].min() if len(plan.contracts) else None
    contracts = plan.contracts.loc[plan.contracts["year"] == first]
    mine = {(r.service, r.level, r.provider): r.volume for r in contracts.itertuples()}
    keys = set(mine) | set(base_contracts)
    changed = sum(1 for k in keys if abs(mine.get(k, -1.0) - base_contracts.get(k, -1.0)) > 1e-6)
    services = plan.services.loc[plan.services["commissioned"]]
    row.update(spend=plan.totals["spend"], qalys=plan.totals["qalys"],
               net_benefit=plan.totals["net_benefit"], levels_used=int(services["level"].nunique()),
               contracts=len(contracts), contracts_changed=changed)
    return row


def _base_contracts(instance: Instance, options: SolveOptions, models: _Models | None = None
                    ) -> dict[tuple[str, str, str], float]:
    """Contracts of the base plan (first year), against which changes are counted; solved on
    ``models`` where given (the in-process sweep's own models), else on a model of its own."""
    if models is None:
        session = PlanningModel(instance, options=options)
        result = session.run()
    else:
        base = Scenario("base", (), ())
        session, rebuilt = models.model_for(base, instance)
        result = models.solve(session, base, rebuilt)
    plan = session.plan(result, instance=instance)
    if not plan.has_solution:
        return {}
    first = plan.contracts["year"].min() if len(plan.contracts) else None
    contracts = plan.contracts.loc[plan.contracts["year"] == first]
    return {(r.service, r.level, r.provider): r.volume for r in contracts.itertuples()}


def _batches(items: list[Scenario], workers: int) -> list[list[Scenario]]:
    """Balanced batches, one per worker; scenarios sharing a structure stay together where the
    balance allows (one built model serves them), in neighbour order (a large group is split
    across workers into runs of neighbours)."""
    groups: dict[str, list[Scenario]] = {}
    for scenario in items:
        groups.setdefault(scenario.structure_key(), []).append(scenario)
    groups = {key: neighbour_order(group) for key, group in groups.items()}
    size = -(-len(items) // workers)  # ceiling: the most scenarios one worker should get
    pieces = [group[i:i + size] for group in groups.values() for i in range(0, len(group), size)]
    batches: list[list[Scenario]] = [[] for _ in range(min(workers, len(pieces)) or 1)]
    for piece in sorted(pieces, key=len, reverse=True):
        min(batches, key=len).extend(piece)
    return [b for b in batches if b]


def _run(job: _Job, batches: list[list[Scenario]], workers: int,
         scheduler: str | Any | None, models: _Models | None = None) -> Iterable[dict[str, Any]]:
    """Yield each scenario's row as it finishes (in-process on ``models``, process pool or
    Dask)."""
    if scheduler is not None:
        for rows in _run_dask(job, batches, scheduler):
            yield from rows
    elif workers <= 1:
        models = models or _Models(job.options, job.warm)
        for scenario in (s for batch in batches for s in batch):
            check_signals()
            yield job.solve_and_save(scenario, models)
    else:
        yield from _run_pool(job, batches, workers)


_FINISHED: Any = None  # in a pool worker: the queue on which each finished row goes to the parent


def _start_worker(finished: Any, parent: int) -> None:
    """A pool worker ignores Ctrl-C (the parent handles it and stops the workers: no worker
    prints a KeyboardInterrupt traceback after the parent's message), takes SIGTERM's default
    action, and on Linux dies with its parent, even one killed by SIGKILL."""
    global _FINISHED
    _FINISHED = finished
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        import ctypes

        with suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)


def _run_pool(job: _Job, batches: list[list[Scenario]], workers: int
              ) -> Iterable[dict[str, Any]]:
    """Batches in a process pool; rows stream back one by one as the workers finish them."""
    context = multiprocessing.get_context()
    finished = context.Queue()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker,
                               initargs=(finished, os.getpid()))
    ended = False
    try:
        with quiet_signals():  # the workers are forked here: no signal is lost in a fork handler
            futures = [pool.submit(job, batch) for batch in batches]
        pending = set(futures)
        while pending:
            check_signals()
            try:
                row = finished.get(timeout=0.1)
            except queues.Empty:
                row = None
            if row is not None:
                yield row
            for future in [f for f in pending if f.done()]:
                pending.discard(future)
                yield from future.result()  # the batch's rows again (the caller skips repeats)
        with quiet_signals():
            pool.shutdown()
        ended = True
        finished.close()
    finally:  # Ctrl-C, SIGTERM, a broken pool, the caller stopping: stop every worker
        if not ended:
            with quiet_signals():
                _stop_pool(pool, finished)


def _stop_pool(pool: ProcessPoolExecutor, finished: Any) -> None:
    """Stop the pool's workers and let the parent exit without waiting for them. Idempotent,
    and every step runs even if one before it fails."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    for process in processes:
        with suppress(Exception):
            process.terminate()
    for process in processes:
        with suppress(Exception):
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join(timeout=10)
    with suppress(Exception):
        pool.shutdown(wait=False, cancel_futures=True)
    with suppress(Exception):  # it sees the workers gone and closes its pipes: let it finish, or
        # concurrent.futures' exit hook may write to a pipe as it closes ("Exception ignored in:
        # <module 'threading'>", OSError at exit)
        if manager is not None:
            manager.join(timeout=10)
    with suppress(Exception):
        finished.cancel_join_thread()


def _run_dask(job: _Job, batches: list[list[Scenario]], scheduler: str | Any
              ) -> Iterable[list[dict[str, Any]]]:
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError:
        raise InputError(Problem("sweep", "--scheduler needs Dask distributed.",
                                 "pip install 'planner[dask]'.")) from None
    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        futures = [client.submit(job, batch, pure=False) for batch in batches]
        for future in dask_completed(futures):
            check_signals()
            yield future.result()
    finally:
        if client is not scheduler:
            client.close()


__all__ = ["RESULT_COLUMNS", "Terminated", "sweep"]
