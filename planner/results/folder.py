"""The plan folder read back: plan.json, the CSV tables and diagnosis.json, with the writer's types.

:meth:`planner.results.plan.Plan.to_dir` writes a plan folder; this module is its one reader.
:class:`PlanFiles` holds a whole folder (and the instance it was solved from, when that is found
and unchanged): every report, ``planner report`` and ``planner compare`` read through it or
through :func:`read_plan_table`, so an id such as ``007`` or ``NA`` stays itself everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from planner.csvsafe import unescape_cell
from planner.data.instance import Instance, load_instance
from planner.data.names import Names
from planner.errors import InputError, PlannerError, Problem

#: Columns of plan tables that hold ids or words: read as text so "007" or "NA" stays itself.
TEXT_COLUMNS = ("service", "level", "provider", "category", "setting", "kind", "by", "key",
                "change", "level_a", "level_b", "constraint", "subject", "method", "unit",
                "status", "message", "reason", "differs", "scope", "payment", "bundle")
BOOL_COLUMNS = ("new", "mandatory", "commissioned", "incumbent", "used", "chosen")
#: columns the planner always writes as numbers: a cell that is not one (a hand edit, 'abc' in
#: a year) makes the folder corrupt, exit 2, rather than a report of wrong figures
#: (names numbers in every table that has them; counts such as 'services' are left out, since
#: bundles.csv's 'services' is a list of ids)
NUMBER_COLUMNS = ("year", "volume", "price", "spend", "quality", "qalys", "income", "min_income",
                  "demand", "budget", "surplus", "transaction_cost", "setup_cost",
                  "transaction_costs")


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
        if column in NUMBER_COLUMNS and column not in words and \
                not pd.api.types.is_numeric_dtype(frame[column]) and not frame[column].isna().all():
            numbers = pd.to_numeric(frame[column], errors="coerce")
            bad = frame[column].notna() & numbers.isna()
            if bad.any():
                row = int(bad.to_numpy().argmax())
                raise InputError(Problem(path.name, f"in '{path.parent}', line {row + 2}, column "
                                         f"'{column}': {frame[column].iloc[row]!r} is not a number "
                                         "(the file was edited or damaged).",
                                         "Write the plan folder again with 'planner solve'."))
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


#: The plan folder's tables, by file stem, in the order reports list them.
TABLE_FILES = ("budget", "contracts", "services", "providers", "levels", "changes",
               "spend_changes", "marginal_values", "alternatives", "unfunded", "effects",
               "priorities", "bundles", "areas", "funders")
#: JSON files ``planner risk`` and ``planner stress --plan`` add to a plan folder (issue 18)
EXTRA_FILES = {"risk": "risk.json", "stress": "stress.json"}


def read_plan_meta(folder: str | Path) -> dict[str, Any]:
    """plan.json of the plan folder ``folder``; a folder without one is exit 2, naming it."""
    folder = Path(folder)
    plan_json = folder / "plan.json"
    if not plan_json.is_file():
        raise InputError(Problem("plan", f"'{folder}' is not a plan folder (no plan.json).",
                                 "Give a folder written by 'planner solve'."))
    return read_plan_json(plan_json)


@dataclass
class PlanFiles:
    """A plan folder's contents: plan.json, the tables, diagnosis.json and (if found) the instance."""

    name: str
    plan: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    diagnosis: dict[str, Any] | None = None
    instance: Instance | None = None
    instance_note: str = ""
    #: risk.json and stress.json when present (planner risk / planner stress --plan, issue 18)
    extras: dict[str, Any] = field(default_factory=dict)
    #: (the instance they came from, its names): made once per instance, not per cell
    _names: tuple[Any, Names] | None = field(default=None, repr=False)

    @classmethod
    def read(cls, folder: str | Path, instance: Instance | None = None,
             find_instance: bool = True) -> PlanFiles:
        """Read a plan folder; use ``instance`` (or reload plan.json's instance.source) if its
        data are the data the plan was solved with."""
        folder = Path(folder)
        plan = read_plan_meta(folder)
        tables = read_plan_tables(folder, TABLE_FILES)
        diagnosis_path = folder / "diagnosis.json"
        diagnosis = read_plan_json(diagnosis_path) if diagnosis_path.is_file() else None
        name = (plan.get("instance") or {}).get("name") or folder.name
        files = cls(name=name, plan=plan, tables=tables, diagnosis=diagnosis)
        files.extras = {key: read_plan_json(folder / file) for key, file in EXTRA_FILES.items()
                        if (folder / file).is_file()}
        files._attach(instance, find_instance)
        return files

    def _attach(self, instance: Instance | None, find_instance: bool) -> None:
        meta = self.plan.get("instance") or {}
        expected = meta.get("sha256")
        source = meta.get("source")
        if instance is None and find_instance and source and Path(source).exists():
            try:
                instance = load_instance(source)
            except PlannerError:
                self.instance_note = (f"The instance at {source} no longer loads, so levels, "
                                      "thresholds and level effects are not shown.")
                return
        if instance is None:
            self.instance_note = ("The instance this plan was solved from was not found"
                                  + (f" ({source})" if source else "") + ", so levels, thresholds "
                                  "and level effects are not shown. Give it with "
                                  "'planner report PLAN_DIR --instance PATH'.")
            return
        if expected and instance.sha256() != expected:
            solved_from = meta.get("name")
            if solved_from and instance.name != solved_from:  # another instance altogether
                self.instance_note = (f"The instance given ({instance.name}) is not the one this "
                                      f"plan was solved from ({solved_from}), so it is not used.")
            else:
                self.instance_note = ("The instance found has changed since this plan was solved "
                                      "(its sha256 differs), so it is not used.")
            return
        self.instance = instance

    # --- convenience ----------------------------------------------------------------------
    @property
    def names(self) -> Names:
        """Plain names of services, providers and levels from the instance (ids without it)."""
        if self._names is None or self._names[0] is not self.instance:
            self._names = (self.instance, Names.of(self.instance))
        return self._names[1]

    def table(self, name: str) -> pd.DataFrame:
        return self.tables.get(name, pd.DataFrame())

    @property
    def status(self) -> str:
        return str(self.plan.get("status", "unknown"))

    @property
    def has_plan(self) -> bool:
        """True when there are plan tables: a solution, or an infeasible plan's relaxed tables."""
        return "services" in self.tables and "contracts" in self.tables

    @property
    def relaxed(self) -> bool:
        return bool(self.plan.get("relaxed"))

    @property
    def years(self) -> list[int]:
        budget = self.table("budget")
        if "year" in budget and len(budget):
            return [int(y) for y in budget["year"]]
        return sorted(int(y) for y in (self.plan.get("totals_by_year") or {}))

    @property
    def multi_year(self) -> bool:
        return len(self.years) > 1

    @property
    def first_year(self) -> int | None:
        years = self.years
        return years[0] if years else None

    def first(self, name: str) -> pd.DataFrame:
        """A table's rows for the first year (the year a board acts on)."""
        frame = self.table(name)
        if "year" not in frame or not len(frame) or self.first_year is None:
            return frame
        return frame.loc[frame["year"] == self.first_year].reset_index(drop=True)

    @property
    def totals(self) -> dict[str, Any]:
        return self.plan.get("totals") or {}

    @property
    def level_order(self) -> list[str]:
        """Levels from individual to national: the instance's order, else levels.csv's rows."""
        if self.instance is not None:
            levels = self.instance.levels.sort_values(["order", "level"], kind="stable")
            return list(levels["level"])
        return list(dict.fromkeys(self.table("levels").get("level", pd.Series(dtype=str))))

