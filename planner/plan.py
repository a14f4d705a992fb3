"""A solved plan: tidy tables read back from the solution, totals, and writing it to a folder.

Totals are recomputed from the extracted tables rather than read from model expressions, so what
the plan *says* is exactly what its tables add up to (and what :func:`planner.verify` rechecks).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner.csvsafe import unescape_cell, write_csv
from planner.errors import InputError, Problem
from planner.formats import money, number
from planner.instance import Instance
from planner.names import Names
from planner.outdir import (
    MARKER_TEXT,
    PLAN_MARKER,
    check_out_dir,
    clean_stale,
    locked,
    make_staging,
    replace_dir,
)
from planner.rules import DECIMALS, MONEY_DECIMALS, MONEY_FIELDS

#: Columns of plan tables that hold ids or words: read as text so "007" or "NA" stays itself.
TEXT_COLUMNS = ("service", "level", "provider", "category", "setting", "kind", "by", "key",
                "change", "level_a", "level_b", "constraint", "subject", "method", "unit",
                "status", "message", "reason", "differs", "scope", "payment", "bundle")
BOOL_COLUMNS = ("new", "mandatory", "commissioned", "incumbent", "used", "chosen")


@dataclass
class Plan:
    """The answer: which services, at which level, from whom, and what it costs (£ per year)."""

    instance: Instance
    status: str
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    totals: dict[str, float | None] = field(default_factory=dict)
    totals_by_year: dict[str, dict[str, float | None]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    contracts: pd.DataFrame = field(default_factory=pd.DataFrame)
    services: pd.DataFrame = field(default_factory=pd.DataFrame)
    providers: pd.DataFrame = field(default_factory=pd.DataFrame)
    levels: pd.DataFrame = field(default_factory=pd.DataFrame)
    budget: pd.DataFrame = field(default_factory=pd.DataFrame)
    marginal_values: pd.DataFrame | None = None
    #: why each optional service the plan does not buy is left out (planner.unfunded)
    unfunded: pd.DataFrame | None = None
    diagnosis: dict[str, Any] | None = None
    relaxed: bool = False  # an infeasible plan carrying the cheapest relaxed plan's tables
    #: the capitated bundles offered, chosen or not (issue 16, planner.payment_extract)
    bundles: pd.DataFrame | None = None

    @property
    def has_solution(self) -> bool:
        return self.status in ("optimal", "feasible")

    def summary(self) -> str:
        """A few lines for the terminal."""
        if not self.has_solution:
            return f"{self.instance.name}: {self.status}"
        t = self.totals
        lines = [f"{self.instance.name}: {self.status}"
                 + (f" (gap {self.gap:.2%})" if self.gap and self.gap > 1e-9 else ""),
                 f"  spend {money(t['spend'])}" + (f" of budget {money(t['budget'])}"
                                                   f" (headroom {money(t['headroom'])})"
                                                   if t.get("budget") is not None else "")]
        health = f"  health gained {number(t['qalys'], 1)} QALYs"
        if t["qalys"] > 1e-9:
            health += f"; value for money {money(t['spend'] / t['qalys'])} per QALY"
        lines.append(health)
        names = Names.of(self.instance)
        first = self.services["year"].min()
        services = self.services.loc[self.services["year"] == first]
        used = services.loc[services["commissioned"]]
        by_level = used.groupby("level").size().sort_values(ascending=False)
        lines.append(f"  {len(used)} of {len(services)} services commissioned across "
                     f"{len(by_level)} level{'s' if len(by_level) != 1 else ''}: "
                     + ", ".join(f"{names.level(lv)} {n}" for lv, n in by_level.items()))
        contracts = self.contracts.loc[self.contracts["year"] == first]
        providers = self.providers.loc[self.providers["year"] == first]
        lines.append(f"  {len(contracts)} contracts with {int(providers['used'].sum())} providers"
                     + (f" in {first}" if len(self.budget) > 1 else ""))
        if len(self.budget) > 1:
            lines.append(f"  over {len(self.budget)} years ({self.instance.config.policy.break_even}"
                         " break-even)")
        lines.append(f"  (found by minimising spend + risk − value of health: objective "
                     f"{money(self.objective)}, net benefit {money(t['net_benefit'])})")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "objective": self.objective, "bound": self.bound,
                "gap": self.gap, "totals": self.totals, "totals_by_year": self.totals_by_year,
                "counts": self.counts,
                "timings": self.timings, "versions": self.versions, "relaxed": self.relaxed,
                "instance": {"name": self.instance.name, "sha256": self.instance.sha256(),
                             "source": self.instance.source},
                "options": self.options}

    def to_dir(self, path: str | Path, extra: dict[str, pd.DataFrame] | None = None,
               reports: bool = True, force: bool = False) -> Path:
        """Write plan.json and the CSV tables atomically: all of them, or nothing.

        Files are written to a staging folder beside ``path`` and renamed into place, so an
        interrupted or failed write never leaves a half-written plan. An existing folder at
        ``path`` is replaced whole only when it is empty or a plan folder (it holds
        :data:`~planner.outdir.PLAN_MARKER`, written here), or with ``force``; never the
        instance's folder, the current or home folder, or one above them (see
        :func:`planner.outdir.check_out_dir`). Writers of one folder take turns under a lock and
        the last one wins whole; staging left by a killed writer is removed by the next.
        ``extra`` maps further file names to tables to write. ``reports`` adds report.html,
        plan.xlsx and summary.md, made from the files just written (see :mod:`planner.report`),
        inside the same staging so they too are all or nothing.
        """
        target = Path(path)
        check_out_dir(target, instance=self.instance.source, force=force)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = make_staging(target)
        try:
            _write_json(self.to_json(), staging / "plan.json")
            (staging / PLAN_MARKER).write_text(MARKER_TEXT, encoding="utf-8")
            if self.has_solution or self.relaxed:
                for name in ("contracts", "services", "providers", "levels", "budget"):
                    write_csv(to_the_penny(getattr(self, name)), staging / f"{name}.csv")
                if self.unfunded is not None:
                    write_csv(to_the_penny(self.unfunded), staging / "unfunded.csv")
                if self.bundles is not None and len(self.bundles):
                    write_csv(to_the_penny(self.bundles), staging / "bundles.csv")
            for name, frame in (extra or {}).items():
                write_csv(frame, staging / name)
            if self.marginal_values is not None:
                write_csv(self.marginal_values, staging / "marginal_values.csv")
            if self.diagnosis is not None:
                _write_json(self.diagnosis, staging / "diagnosis.json")
            # --- reports (issue 6): from the staged files, so `planner report` gives the same ---
            if reports:
                from planner.report import write_reports

                write_reports(staging, instance=self.instance)
            # --- end reports ---
            with locked(target):
                # checked again under the lock: another writer may have changed the folder
                check_out_dir(target, instance=self.instance.source, force=force)
                clean_stale(target)
                replace_dir(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return target


# --- reading a plan folder back: the one reader, with the writer's types -----------------------
def read_plan_table(path: str | Path) -> pd.DataFrame:
    """A plan CSV as the writer meant it: ids as text (``007``, ``100`` and ``NA`` stay
    themselves), csvsafe's formula escaping undone (``'=x`` back to ``=x``), true/false as bool,
    numbers as numbers and blanks as NaN. A file that does not parse is an InputError naming it
    (exit 2), not an internal error."""
    path = Path(path)
    try:
        header = pd.read_csv(path, nrows=0).columns
        # marginal_values.csv's 'change' is the step tried (a number), not a kind of change
        words = [c for c in TEXT_COLUMNS if not (c == "change" and path.stem == "marginal_values")]
        dtypes = {c: str for c in header if c in words}
        frame = pd.read_csv(path, dtype=dtypes, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError,
            ValueError) as exc:
        raise InputError(Problem(path.name, f"in '{path.parent}' cannot be read as a plan table "
                                 f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}).",
                                 "Write the plan folder again with 'planner solve'.")) from exc
    for column in frame.columns:
        if column in words:
            frame[column] = frame[column].map(unescape_cell)
        elif column in BOOL_COLUMNS and frame[column].dtype != bool:
            frame[column] = frame[column].map(
                lambda v: str(v).strip().lower() == "true" if not pd.isna(v) else False)
        elif frame[column].isna().all():
            # a numeric column with no value in any row (say avg_quality when no service is
            # commissioned) would otherwise be read as text and break arithmetic on it
            frame[column] = frame[column].astype(float)
    return frame


def read_plan_tables(folder: str | Path, names: Iterable[str],
                     required: Iterable[str] = ()) -> dict[str, pd.DataFrame]:
    """The tables ``names`` of a plan folder that exist, by file stem (``required`` ones must)."""
    folder = Path(folder)
    missing = [name for name in required if not (folder / f"{name}.csv").is_file()]
    if missing:
        raise InputError(Problem("plan", f"'{folder}' has no {', '.join(f'{m}.csv' for m in missing)}"
                                 " (not a plan folder with a solution, or an incomplete copy).",
                                 "Give a folder written by 'planner solve'."))
    return {name: read_plan_table(folder / f"{name}.csv") for name in names
            if (folder / f"{name}.csv").is_file()}


def read_plan_json(path: str | Path) -> dict[str, Any]:
    """plan.json (or diagnosis.json) of a plan folder; garbled or not an object is exit 2."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(Problem(path.name, f"in '{path.parent}' is not valid JSON ({exc}).",
                                 "Write the plan folder again with 'planner solve'.")) from None
    if not isinstance(data, dict):
        raise InputError(Problem(path.name, f"in '{path.parent}' is not a JSON object.",
                                 "Write the plan folder again with 'planner solve'."))
    return data


def _write_json(data: dict[str, Any], path: Path) -> None:
    text = json.dumps(_jsonable(data), indent=2, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")


def to_the_penny(frame: pd.DataFrame) -> pd.DataFrame:
    """£ columns rounded to the penny (MONEY_FIELDS), so solver noise is not written."""
    money = [c for c in frame.columns if c in MONEY_FIELDS and pd.api.types.is_float_dtype(frame[c])]
    if not money:
        return frame
    frame = frame.copy()
    frame[money] = frame[money].round(MONEY_DECIMALS) + 0.0  # + 0.0 turns −0.0 into 0.0
    return frame


def _jsonable(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if not np.isfinite(value):
            return None
        return round(value, MONEY_DECIMALS if key in MONEY_FIELDS else DECIMALS) + 0.0
    return value
