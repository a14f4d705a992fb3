"""A solved plan: tidy tables read back from the solution, totals, and writing it to a folder.

Totals are recomputed from the extracted tables rather than read from model expressions, so what
the plan *says* is exactly what its tables add up to (and what :func:`planner.results.verify` rechecks).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner.csvsafe import write_csv
from planner.data.instance import Instance
from planner.data.names import Names
from planner.formats import money, number
from planner.results.folder import (  # noqa: F401 - the plan folder's reader lived here before
    BOOL_COLUMNS,
    TEXT_COLUMNS,
    read_plan_json,
    read_plan_table,
    read_plan_tables,
)
from planner.results.outdir import (
    PLAN_FOLDER_NAMES,
    check_out_dir,
    clean_stale,
    forced_over,
    kept_message,
    listing,
    locked,
    make_staging,
    replace_dir,
    write_marker,
)
from planner.rules import DECIMALS, MONEY_DECIMALS, MONEY_FIELDS, Status


@dataclass
class Plan:
    """The answer: which services, at which level, from whom, and what it costs (£ per year)."""

    instance: Instance
    status: Status  # a str given is parsed (planner.rules.Status)
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
    #: why each optional service the plan does not buy is left out (planner.analysis.unfunded)
    unfunded: pd.DataFrame | None = None
    #: shifting care (issue 15): episodes and £ each effect moves, by year (planner.shifting_tables)
    effects: pd.DataFrame | None = None
    #: areas (issue 17, planner.results.area_tables): episodes by area, the areas' fair shares
    #: and savings, and spend by funder
    area_contracts: pd.DataFrame | None = None
    areas: pd.DataFrame | None = None
    funders: pd.DataFrame | None = None
    #: PBMA wish list and hit list (planner.priorities)
    priorities: pd.DataFrame | None = None
    diagnosis: dict[str, Any] | None = None
    relaxed: bool = False  # an infeasible plan carrying the cheapest relaxed plan's tables
    #: contracts against the status quo (changes.csv) and spend moved by level, provider kind
    #: and category (spend_changes.csv): ``planner.solve(..., status_quo=True)``
    changes: pd.DataFrame | None = None
    spend_changes: pd.DataFrame | None = None
    #: near-optimal alternatives and how each differs (alternatives.csv):
    #: ``planner.solve(..., alternatives=K)``
    alternatives: pd.DataFrame | None = None
    #: the capitated bundles offered, chosen or not (issue 16, planner.solver.payment_extract)
    bundles: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        self.status = Status(self.status)

    @property
    def has_solution(self) -> bool:
        return self.status.has_plan

    def _pooled_words(self) -> str:
        """' plus £5.00m pooled by the local authority' where the LA's money paid for pooled
        levels in the first year (so spend above the NHS budget with headroom left reads true)."""
        budget = self.budget
        if "la_paid" not in budget or not len(budget):
            return ""
        paid = float(budget["la_paid"].iloc[0])
        return f" plus {money(paid)} pooled by the local authority" if paid > 0.005 else ""

    def summary(self) -> str:
        """A few lines for the terminal."""
        if not self.has_solution:
            return f"{self.instance.name}: {self.status}"
        t = self.totals
        lines = [f"{self.instance.name}: {self.status}"
                 + (f" (gap {self.gap:.2%})" if self.gap and self.gap > 1e-9 else ""),
                 f"  spend {money(t['spend'])}" + (f" of budget {money(t['budget'])}"
                                                   + self._pooled_words()
                                                   + f" (headroom {money(t['headroom'])})"
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

    def analysis_tables(self) -> dict[str, pd.DataFrame]:
        """The tables of the analyses asked of :func:`planner.solve`, by the file name
        :meth:`to_dir` writes them under: changes.csv, spend_changes.csv, alternatives.csv."""
        files = {"changes.csv": self.changes, "spend_changes.csv": self.spend_changes,
                 "alternatives.csv": self.alternatives}
        return {name: frame for name, frame in files.items() if frame is not None}

    def to_dir(self, path: str | Path, extra: dict[str, pd.DataFrame] | None = None,
               reports: bool = True, force: bool = False,
               notify: Callable[[str], None] | None = None) -> Path:
        """Write plan.json and the CSV tables atomically: all of them, or nothing.

        Files are written to a staging folder beside ``path`` and renamed into place, so an
        interrupted or failed write never leaves a half-written plan. An existing folder at
        ``path`` is replaced only when it is empty or a plan folder (it holds
        :data:`~planner.results.outdir.PLAN_MARKER`, written here with the names written), or with
        ``force``; never the instance's folder, the current or home folder, or one above them (see
        :func:`planner.results.outdir.check_out_dir`). A plan folder's files the planner wrote are
        replaced; whatever else the user put there is kept, moved into the new folder unchanged
        (``notify`` is told, default stderr), and a file of theirs with a name the plan writes is
        refused before anything is written. In a folder without the marker, forced, only the files
        named as a plan's are replaced (and named); the rest is kept. Writers of one folder take
        turns under a lock and the last one wins whole; staging
        left by a killed writer is removed by the next.
        The analyses' tables (:meth:`analysis_tables`) are written when the plan carries them;
        ``extra`` maps further file names to tables to write. ``reports`` adds report.html,
        plan.xlsx and summary.md, made from the files just written (see :mod:`planner.reports.writer`),
        inside the same staging so they too are all or nothing.
        """
        target = Path(path)
        check_out_dir(target, instance=self.instance.source, force=force,
                      writes=PLAN_FOLDER_NAMES | set(extra or {}), replaces=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = make_staging(target)
        try:
            _write_json(self.to_json(), staging / "plan.json")
            if self.has_solution or self.relaxed:
                for name in ("contracts", "services", "providers", "levels", "budget"):
                    write_csv(to_the_penny(getattr(self, name)), staging / f"{name}.csv")
                if self.unfunded is not None:
                    write_csv(to_the_penny(self.unfunded), staging / "unfunded.csv")
                if self.effects is not None:
                    write_csv(to_the_penny(self.effects), staging / "effects.csv")
                for name in ("area_contracts", "areas", "funders"):  # issue 17
                    if getattr(self, name) is not None:
                        write_csv(to_the_penny(getattr(self, name)), staging / f"{name}.csv")
                if self.priorities is not None:
                    write_csv(to_the_penny(self.priorities), staging / "priorities.csv")
                if self.bundles is not None and len(self.bundles):
                    write_csv(to_the_penny(self.bundles), staging / "bundles.csv")
            for name, frame in {**self.analysis_tables(), **(extra or {})}.items():
                write_csv(frame, staging / name)
            if self.marginal_values is not None:
                write_csv(self.marginal_values, staging / "marginal_values.csv")
            if self.diagnosis is not None:
                _write_json(self.diagnosis, staging / "diagnosis.json")
            # --- reports (issue 6): from the staged files, so `planner report` gives the same ---
            if reports:
                if _report_writer is None:
                    raise RuntimeError("no report writer: import planner (its root sets one)")
                _report_writer(staging, self.instance)
            # --- end reports ---
            written = os.listdir(staging)
            write_marker(staging, written)  # the names this plan wrote: all a next one replaces
            with locked(target):
                clean_stale(target)  # first: a writer killed mid-swap leaves an old copy to put back
                # checked again under the lock: another writer may have changed the folder
                check_out_dir(target, instance=self.instance.source, force=force, writes=written,
                              replaces=True)
                replaced = forced_over(target)  # --force on a folder without a marker
                kept = replace_dir(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        say = notify or (lambda text: print(text, file=sys.stderr))
        if replaced:
            say(f"--force: replaced or removed {listing(replaced, 10)} in {target}/ (files named "
                "as a plan's, e.g. an older plan's)")
        if kept:
            say(kept_message(target, kept))
        return target


#: Writes report.html, summary.md and plan.xlsx into a staged plan folder. The reports layer sits
#: above this one, so it is handed in, once, by the package root (planner/__init__.py) rather
#: than imported here: imports run one way (docs/architecture.md).
ReportWriter = Callable[[Path, Instance], None]
_report_writer: ReportWriter | None = None


def set_report_writer(writer: ReportWriter) -> None:
    """Use ``writer`` for the reports of :meth:`Plan.to_dir` (the package root calls this)."""
    global _report_writer
    _report_writer = writer


def _write_json(data: dict[str, Any], path: Path) -> None:
    text = json.dumps(jsonable(data), indent=2, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")


def to_the_penny(frame: pd.DataFrame) -> pd.DataFrame:
    """£ columns rounded to the penny (MONEY_FIELDS), so solver noise is not written."""
    money = [c for c in frame.columns if c in MONEY_FIELDS and pd.api.types.is_float_dtype(frame[c])]
    if not money:
        return frame
    frame = frame.copy()
    frame[money] = frame[money].round(MONEY_DECIMALS) + 0.0  # + 0.0 turns −0.0 into 0.0
    return frame


def jsonable(value: Any, key: str = "") -> Any:
    """``value`` as JSON can hold it, as every JSON file of a plan folder writes it: numpy
    scalars as Python numbers, non-finite floats as null, £ fields to the penny (MONEY_FIELDS)
    and other floats to DECIMALS places, keys as text."""
    if isinstance(value, dict):
        return {str(k): jsonable(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if not np.isfinite(value):
            return None
        return round(value, MONEY_DECIMALS if key in MONEY_FIELDS else DECIMALS) + 0.0
    return value
