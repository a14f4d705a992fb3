"""Running sweeps: many scenarios, re-solved fast, in parallel, resumable, on a cluster if wanted.

* Scenarios that change only mutable parameters (the budget, the value of a QALY) re-solve one
  persistent model per worker; any other change rebuilds the model for that scenario's structure
  (and scenarios sharing a structure share the rebuilt model).
* ``workers`` > 1 runs batches in separate processes; ``scheduler`` sends the same batches to a
  Dask distributed cluster (the engine people already run across machines).
* With ``out``, every finished scenario is written at once to ``out/rows/``; a re-run with the
  same ``out`` skips them, so an interrupted sweep resumes. The results table is the same for the
  same inputs whatever the number of workers (``wall_s`` apart).
* A scenario that fails (bad override, solver error) is recorded with its reason; the sweep goes on.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from planner.errors import InputError, PlannerError, Problem
from planner.instance import Instance, load_instance
from planner.scenarios import Scenario, SweepFile, apply, load_sweep, scenarios, sweep_hash, value_columns
from planner.session import PlanningModel
from planner.solver import SolveOptions

RESULT_COLUMNS = ["status", "objective", "bound", "gap", "spend", "qalys", "net_benefit",
                  "levels_used", "contracts", "contracts_changed", "wall_s", "rebuilt", "message"]


def sweep(instance: Instance | str | Path, sweep_file: SweepFile | str | Path | dict[str, Any],
          *, workers: int = 1, scheduler: str | Any | None = None, out: str | Path | None = None,
          plans: bool = False, options: SolveOptions | None = None,
          progress: bool | None = None) -> pd.DataFrame:
    """Solve every scenario of ``sweep_file`` over ``instance`` and return the results table.

    One row per scenario with ``scenario``, one column per swept parameter, and the columns of
    RESULT_COLUMNS. ``scheduler`` is a Dask scheduler address or a ``distributed.Client``.
    """
    if not isinstance(instance, Instance):
        instance = load_instance(instance)
    spec = sweep_file if isinstance(sweep_file, SweepFile) else load_sweep(sweep_file)
    items = scenarios(spec)
    if not items:
        raise InputError(Problem("sweep", "the sweep has no scenarios.",
                                 "Add parameters: or scenarios: to the sweep file."))
    for scenario in items:  # every scenario is validated before anything is solved
        apply(instance, scenario)
    options = options or SolveOptions()
    base_contracts = _base_contracts(instance, options)
    done = _resume(Path(out), spec, instance) if out else {}
    todo = [s for s in items if s.name not in done]
    plans_dir = Path(out) / "plans" if (out and plans) else None
    batches = _batches(todo, max(1, workers))
    job = _Job(instance, options, base_contracts, plans_dir)
    rows = dict(done)
    show = sys.stderr.isatty() if progress is None else progress
    with tqdm(total=len(items), initial=len(done), disable=not show, unit="scenario") as bar:
        for finished in _run(job, batches, workers, scheduler):
            for row in finished:
                rows[row["scenario"]] = row
                if out:
                    _write_row(Path(out), row)
                bar.update(1)
    table = _table(items, rows)
    if out:
        _write_results(Path(out), table)
    return table


class _Job:
    """What a worker needs: picklable, so it can go to a process or a Dask worker."""

    def __init__(self, instance: Instance, options: SolveOptions,
                 base_contracts: dict[tuple[str, str, str], float], plans_dir: Path | None):
        self.instance = instance
        self.options = options
        self.base_contracts = base_contracts
        self.plans_dir = plans_dir

    def __call__(self, batch: list[Scenario]) -> list[dict[str, Any]]:
        sessions: dict[str, PlanningModel] = {}
        return [self.solve(scenario, sessions) for scenario in batch]

    def solve(self, scenario: Scenario, sessions: dict[str, PlanningModel]) -> dict[str, Any]:
        start = time.perf_counter()
        row: dict[str, Any] = {"scenario": scenario.name, **dict(scenario.values)}
        try:
            variant = apply(self.instance, scenario)
            key = scenario.structure_key()
            session = sessions.get(key)
            rebuilt = session is None or not _can_update(session, variant)
            if rebuilt:
                structure = apply(self.instance, Scenario(scenario.name, scenario.structural(), ()))
                session = PlanningModel(structure, options=self.options)
                sessions[key] = session
            _set_mutable(session, variant)
            result = session.run()
            plan = session.plan(result, instance=variant)
            row.update(_summary(plan, self.base_contracts), rebuilt=rebuilt, message="")
            if self.plans_dir is not None and plan.has_solution:
                plan.to_dir(self.plans_dir / scenario.name, reports=False)  # tables only: fast
        except (PlannerError, ValueError, RuntimeError) as exc:
            row.update(status="error", message=str(exc).replace("\n", " ").strip(), rebuilt=True)
        row["wall_s"] = time.perf_counter() - start
        return row


def _can_update(session: PlanningModel, variant: Instance) -> bool:
    """True if the variant differs from the session's model only in mutable parameters."""
    model = session.model
    has_limit = hasattr(model, "budget_limit")
    wants_limit = variant.config.policy.budget is not None
    return has_limit == wants_limit or "budget" in session.without


def _set_mutable(session: PlanningModel, variant: Instance) -> None:
    model = session.model
    policy = variant.config.policy
    for t in model.budget:
        budget = variant.budget_for_year(t if isinstance(policy.budget, list) else 0)
        model.budget[t] = budget if budget is not None else 0.0
    model.value_per_qaly = policy.value_per_qaly


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


def _base_contracts(instance: Instance, options: SolveOptions) -> dict[tuple[str, str, str], float]:
    """Contracts of the base plan (first year), against which changes are counted."""
    session = PlanningModel(instance, options=options)
    plan = session.plan(session.run())
    if not plan.has_solution:
        return {}
    first = plan.contracts["year"].min() if len(plan.contracts) else None
    contracts = plan.contracts.loc[plan.contracts["year"] == first]
    return {(r.service, r.level, r.provider): r.volume for r in contracts.itertuples()}


def _batches(items: list[Scenario], workers: int) -> list[list[Scenario]]:
    """Balanced batches, one per worker; scenarios sharing a structure stay together where the
    balance allows (one built model serves them), and a large group is split across workers."""
    groups: dict[str, list[Scenario]] = {}
    for scenario in items:
        groups.setdefault(scenario.structure_key(), []).append(scenario)
    size = -(-len(items) // workers)  # ceiling: the most scenarios one worker should get
    pieces = [group[i:i + size] for group in groups.values() for i in range(0, len(group), size)]
    batches: list[list[Scenario]] = [[] for _ in range(min(workers, len(pieces)) or 1)]
    for piece in sorted(pieces, key=len, reverse=True):
        min(batches, key=len).extend(piece)
    return [b for b in batches if b]


def _run(job: _Job, batches: list[list[Scenario]], workers: int,
         scheduler: str | Any | None) -> Iterable[list[dict[str, Any]]]:
    """Yield each batch's rows as it finishes (in-process, process pool or Dask)."""
    singles = [[s] for batch in batches for s in batch]
    if scheduler is not None:
        yield from _run_dask(job, batches, scheduler)
    elif workers <= 1:
        sessions: dict[str, PlanningModel] = {}
        for batch in singles:
            yield [job.solve(batch[0], sessions)]
    else:
        pool = ProcessPoolExecutor(max_workers=workers)
        try:
            futures = [pool.submit(job, batch) for batch in batches]
            for future in as_completed(futures):
                yield future.result()
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)  # finished rows stay for a resume
            raise
        pool.shutdown()


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
            yield future.result()
    finally:
        if client is not scheduler:
            client.close()


# --- results on disk, resumable ----------------------------------------------------------------
def _resume(out: Path, spec: SweepFile, instance: Instance) -> dict[str, dict[str, Any]]:
    """Rows already finished in ``out`` (after checking they belong to this very sweep)."""
    out.mkdir(parents=True, exist_ok=True)
    marker = out / "sweep.json"
    identity = {"sweep_sha256": sweep_hash(spec, instance), "instance": instance.name}
    if marker.is_file():
        known = json.loads(marker.read_text(encoding="utf-8"))
        if known.get("sweep_sha256") != identity["sweep_sha256"]:
            raise InputError(Problem("sweep", f"'{out}' holds results of a different sweep or "
                                     "instance.", "Use a new --out folder, or delete this one."))
    else:
        _atomic_write(marker, json.dumps(identity, indent=2))
    rows = {}
    for path in sorted((out / "rows").glob("*.json")) if (out / "rows").is_dir() else []:
        row = json.loads(path.read_text(encoding="utf-8"))
        rows[row["scenario"]] = row
    return rows


def _write_row(out: Path, row: dict[str, Any]) -> None:
    (out / "rows").mkdir(parents=True, exist_ok=True)
    _atomic_write(out / "rows" / f"{row['scenario']}.json", json.dumps(row, default=_plain))


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def _atomic_write(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(text)
    os.replace(temporary, path)


def _table(items: list[Scenario], rows: dict[str, dict[str, Any]]) -> pd.DataFrame:
    columns = ["scenario", *value_columns(items), *RESULT_COLUMNS]
    table = pd.DataFrame([rows[s.name] for s in items if s.name in rows])
    for column in columns:
        if column not in table:
            table[column] = None
    return table[columns]


def _write_results(out: Path, table: pd.DataFrame) -> None:
    from planner.csvsafe import write_csv

    staging = out / ".results.csv.tmp"
    write_csv(table, staging)
    os.replace(staging, out / "results.csv")
    parquet = table.copy()
    for column in parquet.columns:
        if parquet[column].dtype == object:
            parquet[column] = parquet[column].map(lambda v: None if v is None else str(v))
    parquet.to_parquet(out / ".results.parquet.tmp", index=False)
    os.replace(out / ".results.parquet.tmp", out / "results.parquet")


__all__ = ["sweep"]
