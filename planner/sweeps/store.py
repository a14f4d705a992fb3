"""A sweep's ``--out`` folder: one row file per finished scenario, resumable, and the results.

``sweep.json`` says which sweep and instance the folder belongs to; ``rows/`` holds one JSON
file per finished scenario, written atomically by whichever process solved it, so a sweep
stopped at any moment (even by SIGKILL) resumes from the rows it finished. File names never come
from scenario names; ``results.csv`` and ``results.parquet`` are written at the end.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from planner.data.instance import Instance
from planner.errors import InputError, Problem
from planner.results.outdir import record_written
from planner.sweeps.scenarios import Scenario, SweepFile, sweep_hash, value_columns

#: what a sweep writes into its --out folder
SWEEP_FILES = ("sweep.json", "rows", "plans", "results.csv", "results.parquet")
RESULT_COLUMNS = ["status", "objective", "bound", "gap", "spend", "qalys", "net_benefit",
                  "levels_used", "contracts", "contracts_changed", "wall_s", "rebuilt", "message"]


def file_names(items: list[Scenario]) -> dict[str, str]:
    """Each scenario's file name stem: its position and a slug of its name, never the name.

    A name such as ``../../victim`` or ``/etc`` would otherwise lead a row or plan folder out
    of ``--out``; the position keeps the stems distinct whatever the slugs (``A`` and ``a``,
    or two names of only punctuation). The real name stays inside each file.
    """
    width = len(str(len(items)))
    stems = {}
    for index, scenario in enumerate(items, start=1):
        slug = re.sub(r"[^A-Za-z0-9_-]+", "-", scenario.name).strip("-_")[:40]
        stems[scenario.name] = f"{index:0{width}d}" + (f"-{slug}" if slug else "")
    return stems


def resume(out: Path, spec: SweepFile, instance: Instance, items: list[Scenario]
           ) -> dict[str, dict[str, Any]]:
    """Rows already finished in ``out`` (after checking they belong to this very sweep)."""
    out.mkdir(parents=True, exist_ok=True)
    record_written(out, SWEEP_FILES)  # a plan folder as --out: these names are the planner's
    marker = out / "sweep.json"
    identity = {"sweep_sha256": sweep_hash(spec, instance), "instance": instance.name}
    if marker.is_file():
        try:
            known = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            known = None
        if not isinstance(known, dict) or known.get("sweep_sha256") != identity["sweep_sha256"]:
            raise InputError(Problem("sweep", f"'{out}' holds results of a different sweep or "
                                     "instance.", "Use a new --out folder, or delete this one."))
    else:
        atomic_write(marker, json.dumps(identity, indent=2))
    wanted = {s.name for s in items}
    rows = {}
    for path in sorted((out / "rows").glob("[!.]*.json")) if (out / "rows").is_dir() else []:
        try:
            row = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # unreadable: solved again
            continue
        if isinstance(row, dict) and row.get("scenario") in wanted:
            rows[row["scenario"]] = row
    return rows


def write_row(rows_dir: Path, stem: str, row: dict[str, Any]) -> None:
    rows_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(rows_dir / f"{stem}.json", json.dumps(row, default=_plain))


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to a hidden temporary file beside ``path``, then rename it into place: a
    reader (a resume) sees the whole file or none, whenever the writer is killed."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def table(items: list[Scenario], rows: dict[str, dict[str, Any]]) -> pd.DataFrame:
    columns = ["scenario", *value_columns(items), *RESULT_COLUMNS]
    table = pd.DataFrame([rows[s.name] for s in items if s.name in rows])
    for column in columns:
        if column not in table:
            table[column] = None
    return table[columns]


def write_results(out: Path, table: pd.DataFrame) -> None:
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
