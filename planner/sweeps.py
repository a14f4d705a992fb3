"""Running sweeps: many scenarios, re-solved fast, in parallel, resumable, on a cluster if wanted.

* Each worker keeps persistent models built with prices, demand and thresholds as mutable
  parameters. A scenario re-sets the parameters of the model whose structure it shares and
  re-solves it; only a change of structure (eligibility, levels, providers, rules) builds a new
  model, which later scenarios of that structure then share (see ``_Models``).
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

from formulations.coefficients import structure_signature
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
        models = _Models(self.options)
        return [self.solve(scenario, models) for scenario in batch]

    def solve(self, scenario: Scenario, models: _Models) -> dict[str, Any]:
        start = time.perf_counter()
        row: dict[str, Any] = {"scenario": scenario.name, **dict(scenario.values)}
        try:
            variant = apply(self.instance, scenario)
            session, rebuilt = models.model_for(scenario, variant)
            result = session.run()
            plan = session.plan(result, instance=variant)
            row.update(_summary(plan, self.base_contracts), rebuilt=rebuilt, message="")
            if self.plans_dir is not None and plan.has_solution:
                plan.to_dir(self.plans_dir / scenario.name, reports=False)  # tables only: fast
        except (PlannerError, ValueError, RuntimeError) as exc:
            row.update(status="error", message=str(exc).replace("\n", " ").strip(), rebuilt=True)
        row["wall_s"] = time.perf_counter() - start
        return row


class _Models:
    """A worker's persistent models, one per structure, and which scenario data each holds.

    A scenario whose overrides, budget and £/QALY apart, are those a model already holds only
    re-sets those two parameters. Otherwise the scenario is derived: if its structure matches a
    model's, that model's prices, demand and thresholds are re-set in place (no rebuild);
    only a new structure (eligibility, levels, providers, ...) builds a new model.
    """

    KEEP = 4  # models a worker keeps at once (the least recently used goes): memory stays bounded

    def __init__(self, options: SolveOptions):
        self.options = options
        self.models: dict[str, PlanningModel] = {}  # structure signature -> model, oldest first
        self.holds: dict[str, str] = {}  # structure signature -> structure_key of its data

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
        if session is not None and session.update(variant, derived):
            self.holds[session.signature] = key
            return self._touch(session), False
        session = PlanningModel(variant, options=self.options, mutable=True, derived=derived)
        return self._keep(session, key), True

    def _keep(self, session: PlanningModel, key: str) -> PlanningModel:
        while len(self.models) >= self.KEEP:
            oldest = next(iter(self.models))
            del self.models[oldest], self.holds[oldest]
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
        models = _Models(job.options)
        for batch in singles:
            yield [job.solve(batch[0], models)]
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
