"""A solved plan: tidy tables read back from the solution, totals, and writing it to a folder.

Totals are recomputed from the extracted tables rather than read from model expressions, so what
the plan *says* is exactly what its tables add up to (and what :func:`planner.verify` rechecks).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner.csvsafe import write_csv
from planner.instance import Instance
from planner.rules import DECIMALS


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
    diagnosis: dict[str, Any] | None = None
    relaxed: bool = False  # an infeasible plan carrying the cheapest relaxed plan's tables

    @property
    def has_solution(self) -> bool:
        return self.status in ("optimal", "feasible")

    def summary(self) -> str:
        """A few lines for the terminal."""
        if not self.has_solution:
            return f"{self.instance.name}: {self.status}"
        t = {k: (0.0 if isinstance(v, float) and abs(v) < 0.5 else v) for k, v in self.totals.items()}
        lines = [f"{self.instance.name}: {self.status}"
                 + (f" (gap {self.gap:.2%})" if self.gap and self.gap > 1e-9 else ""),
                 f"  spend £{t['spend']:,.0f}" + (f" of budget £{t['budget']:,.0f}"
                                                 f" (headroom £{t['headroom']:,.0f})"
                                                 if t.get("budget") is not None else ""),
                 f"  QALYs {t['qalys']:,.1f}; net benefit £{t['net_benefit']:,.0f}; "
                 f"objective £{self.objective:,.0f}"]
        first = self.services["year"].min()
        services = self.services.loc[self.services["year"] == first]
        used = services.loc[services["commissioned"]]
        by_level = used.groupby("level").size().sort_values(ascending=False)
        lines.append(f"  {len(used)} of {len(services)} services commissioned across "
                     f"{len(by_level)} level{'s' if len(by_level) != 1 else ''}: "
                     + ", ".join(f"{lv} {n}" for lv, n in by_level.items()))
        contracts = self.contracts.loc[self.contracts["year"] == first]
        providers = self.providers.loc[self.providers["year"] == first]
        lines.append(f"  {len(contracts)} contracts with {int(providers['used'].sum())} providers"
                     + (f" in {first}" if len(self.budget) > 1 else ""))
        if len(self.budget) > 1:
            lines.append(f"  over {len(self.budget)} years ({self.instance.config.policy.break_even}"
                         " break-even)")
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
               reports: bool = True) -> Path:
        """Write plan.json and the CSV tables atomically: all of them, or nothing.

        Files are written to a temporary folder beside ``path`` and renamed into place, so an
        interrupted or failed write never leaves a half-written plan. An existing folder at
        ``path`` is replaced whole. ``extra`` maps further file names to tables to write.
        ``reports`` adds report.html, plan.xlsx and summary.md, made from the files just written
        (see :mod:`planner.report`), inside the same staging so they too are all or nothing.
        """
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            _write_json(self.to_json(), staging / "plan.json")
            if self.has_solution or self.relaxed:
                for name in ("contracts", "services", "providers", "levels", "budget"):
                    write_csv(getattr(self, name), staging / f"{name}.csv")
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
            _replace(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return target


def _write_json(data: dict[str, Any], path: Path) -> None:
    text = json.dumps(_jsonable(data), indent=2, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")


def _replace(staging: Path, target: Path) -> None:
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        os.rmdir(old)
        os.replace(target, old)
        os.replace(staging, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, target)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if not np.isfinite(value):
            return None
        return round(value, DECIMALS)
    return value
