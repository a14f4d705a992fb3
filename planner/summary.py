"""A plan folder read back and summarised: the facts report.html, plan.xlsx and summary.md share.

Every report is made from the *files* of a plan folder (plan.json and the CSV tables), never from
the solver's objects, so that ``planner solve`` and a later ``planner report PLAN_DIR`` write
byte-identical reports, and a report can only say what the plan's own tables say. The instance
adds what the tables do not hold (the levels' populations and risk tolerances, quality thresholds,
level effects); it is used only when its sha256 matches the one the plan was solved with.

This module also writes ``summary.md``: a short Markdown summary for board papers and issue
trackers. Money is in £ (per year), activity in episodes per year, quality as a fraction 0–1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner.csvsafe import FORMULA_STARTS, unescape_cell
from planner.errors import InputError, PlannerError, Problem
from planner.instance import Instance, load_instance
from planner.names import Names
from planner.plan import (  # noqa: F401 - TEXT_COLUMNS and BOOL_COLUMNS, for older importers
    BOOL_COLUMNS,
    TEXT_COLUMNS,
    read_plan_json,
    read_plan_table,
    read_plan_tables,
)

#: The plan folder's tables, by file stem, in the order reports list them.
TABLE_FILES = ("budget", "contracts", "services", "providers", "levels", "changes",
               "spend_changes", "marginal_values", "alternatives", "unfunded", "bundles")
CHANGE_KINDS = ("started", "ended", "moved", "volume changed", "same")


def tolerance(reference: float) -> float:
    """How close to a limit counts as *at* the limit (the verifier's tolerance, in its units)."""
    return 1e-3 + 1e-6 * max(1.0, abs(reference))


# --- formatting shared by the HTML, Markdown and Excel summaries ------------------------------
from planner.formats import MINUS, is_missing, money, number, pounds  # noqa: E402,F401

UNIT_ONE = {"episodes": "episode", "providers": "provider", "services": "service",
            "resource units": "resource unit",
            "quality-weighted episodes": "quality-weighted episode"}


def per_unit(value: Any, unit: Any) -> str:
    """A marginal value: '£1.00 per episode', '−£6,000.00 per episode', '£0.2101 per £'."""
    if is_missing(value):
        return "—"
    amount = float(value)
    digits = 2 if abs(amount) >= 1 or amount == 0 else 4
    sign = MINUS if amount < 0 and round(abs(amount), digits) > 0 else ""
    return f"{sign}£{abs(amount):,.{digits}f} per {UNIT_ONE.get(text(unit), text(unit))}"


def amount(value: Any, unit: Any) -> str:
    """A relaxation in its unit: £83,000; 18.74 episodes."""
    return pounds(value) if unit == "£" else f"{number(value, 2)} {text(unit)}"


def percent(value: Any, decimals: int = 1) -> str:
    if is_missing(value):
        return "—"
    return number(100.0 * float(value), decimals) + " %"


def text(value: Any) -> str:
    return "" if is_missing(value) else str(value)


# --- the plan folder: read with planner.plan's one reader (same types as the writer) ---------
unescape = unescape_cell
read_table = read_plan_table


@dataclass
class PlanFiles:
    """A plan folder's contents: plan.json, the tables, diagnosis.json and (if found) the instance."""

    name: str
    plan: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    diagnosis: dict[str, Any] | None = None
    instance: Instance | None = None
    instance_note: str = ""
    #: (the instance they came from, its names): made once per instance, not per cell
    _names: tuple[Any, Names] | None = field(default=None, repr=False)

    @classmethod
    def read(cls, folder: str | Path, instance: Instance | None = None,
             find_instance: bool = True) -> PlanFiles:
        """Read a plan folder; use ``instance`` (or reload plan.json's instance.source) if its
        data are the data the plan was solved with."""
        folder = Path(folder)
        plan_json = folder / "plan.json"
        if not plan_json.is_file():
            raise InputError(Problem("plan", f"'{folder}' is not a plan folder (no plan.json).",
                                     "Give a folder written by 'planner solve'."))
        plan = read_plan_json(plan_json)
        tables = read_plan_tables(folder, TABLE_FILES)
        diagnosis_path = folder / "diagnosis.json"
        diagnosis = read_plan_json(diagnosis_path) if diagnosis_path.is_file() else None
        name = (plan.get("instance") or {}).get("name") or folder.name
        files = cls(name=name, plan=plan, tables=tables, diagnosis=diagnosis)
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


# --- facts ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Headline:
    """One headline figure: a label, a value in ``unit`` and a plain-English note."""

    key: str
    label: str
    value: float | str | None
    unit: str  # "£", "QALYs", "count", "fraction" or "" (text)
    note: str = ""
    #: a figure of the method (objective, risk charge, net benefit, gap): shown under "how the
    #: plan was found", not in a board's headline
    technical: bool = False

    def text(self) -> str:
        if self.unit == "£":
            return money(self.value)
        if self.unit == "QALYs":
            return number(self.value, 1 if abs(float(self.value or 0)) >= 100 else 2)
        if self.unit == "count":
            return number(self.value)
        if self.unit == "fraction":
            return percent(self.value, 2)
        return text(self.value)


def headline(files: PlanFiles) -> list[Headline]:
    """Headline figures against the budget (over the horizon when it is several years)."""
    plan = files.plan
    totals = files.totals
    span = f" over {len(files.years)} years" if files.multi_year else " per year"
    rows = [Headline("status", "Status", STATUS_WORDS.get(files.status, files.status), "")]
    if not totals:
        return rows
    spend, budget, headroom = totals.get("spend"), totals.get("budget"), totals.get("headroom")
    rows.append(Headline("spend", "Spend", spend, "£", f"all costs{span}"))
    if budget is not None:
        rows.append(Headline("budget", "Budget", budget, "£", f"available{span}"))
        share = headroom / budget if budget and headroom is not None else None
        over = headroom is not None and headroom < -tolerance(budget)
        rows.append(Headline("headroom", "Headroom", headroom, "£",
                             ("over the budget" if over else "budget left unspent")
                             + (f" ({percent(abs(share) if over else share)})"
                                if share is not None else "")))
    one_off = sum(totals.get(k) or 0.0 for k in ("setup_costs", "entry_costs", "exit_costs",
                                                  "notice_costs"))
    # issue 16: blocks, bundles and guarantee top-ups are paid to providers too
    other_forms = sum(totals.get(k) or 0.0 for k in ("block_spend", "bundle_spend",
                                                      "guarantee_payments"))
    paid = totals.get("activity_spend")
    rows += [Headline("activity_spend", "Paid to providers",
                      paid + other_forms if paid is not None and other_forms else paid, "£",
                      "episodes × prices" if not other_forms
                      else "episodes × prices, blocks, bundles and income guarantees"),
             Headline("transaction_costs", "Contracting costs", totals.get("transaction_costs"),
                      "£", "commissioners' cost of letting and managing contracts"),
             Headline("one_off_costs", "One-off costs", one_off, "£",
                      "setting up contracts, new providers, exits and notice")]
    services = files.first("services")
    if len(services):
        commissioned = int(services["commissioned"].sum())
        rows.append(Headline("services", "Services commissioned", f"{commissioned} of "
                             f"{len(services)}", "", "the rest are optional and not bought "
                             "(the report says why)" if commissioned < len(services)
                             else "every service"))
    contracts, providers = files.first("contracts"), files.first("providers")
    if len(providers):
        rows.append(Headline("contracts", "Contracts", len(contracts), "count",
                             f"with {int(providers['used'].sum())} providers"
                             + (f" in {files.first_year}" if files.multi_year else "")))
    rows += [Headline("qalys", "Health gained", totals.get("qalys"), "QALYs",
                      f"quality-adjusted life years{span}")]
    qalys = totals.get("qalys") or 0.0
    if qalys > 1e-9 and spend:
        rows.append(Headline("value_for_money", "Value for money", spend / qalys, "£",
                             "spent per QALY gained (all spend, over all health gained)"))
    if files.instance is not None:
        value = files.instance.config.policy.value_per_qaly
    else:  # without the instance, infer λ > 0 from net benefit ≠ −spend
        value = abs((totals.get("net_benefit") or 0.0) + (spend or 0.0)) > tolerance(spend or 0.0)
    if value:
        rows.append(Headline("net_benefit", "Net benefit", totals.get("net_benefit"), "£",
                             (f"QALYs valued at {money(value)} each" if value is not True
                              else "value of QALYs") + ", less spend", technical=True))
    if totals.get("risk_cost"):
        rows.append(Headline("risk_cost", "Risk charge", totals.get("risk_cost"), "£",
                             "price put on the spread of spend (not money spent)",
                             technical=True))
    rows.append(Headline("objective", "Objective", plan.get("objective"), "£",
                         "what the optimiser minimised: spend + risk charge − value of QALYs",
                         technical=True))
    if plan.get("gap") is not None:
        rows.append(Headline("gap", "Optimality gap", plan.get("gap"), "fraction",
                             "0 % = proven best plan", technical=True))
    return rows


STATUS_WORDS = {
    "optimal": "optimal: the best plan that meets every rule",
    "feasible": "feasible: a plan meeting every rule, not proven best (time limit)",
    "infeasible": "infeasible: no plan meets every rule",
    "time_limit": "time limit: no plan found in the time allowed",
    "error": "error: the solver failed",
}


NO_PLAN = {
    "infeasible": "No plan meets every rule. “What to relax” lists the changes that would make "
                  "one possible, and by how much.",
    "time_limit": "No plan was found within the time limit; solve again with a longer one.",
    "error": "The solver failed, so there is no plan.",
}


def headline_sentence(files: PlanFiles) -> str:
    """One sentence a board member can repeat."""
    totals = files.totals
    if not totals:
        return NO_PLAN.get(files.status, f"There is no plan (status {files.status}).")
    spend, budget = totals.get("spend"), totals.get("budget")
    subject = "the cheapest relaxed plan" if files.relaxed else "the plan"
    span = f"Over {len(files.years)} years {subject}" if files.multi_year else subject.capitalize()
    sentence = f"{span} spends {money(spend)}"
    if budget is not None:
        headroom = totals.get("headroom") or 0.0
        if abs(headroom) <= tolerance(budget):
            sentence += f", the whole budget of {money(budget)}"
        elif headroom > 0:
            sentence += (f" of a budget of {money(budget)}, leaving {money(headroom)} "
                         f"({percent(headroom / budget if budget else 0)})")
        else:
            sentence += f", {money(-headroom)} over the budget of {money(budget)}"
    services = files.first("services")
    if len(services):
        by_level = services.loc[services["commissioned"]].groupby("level").size()
        sentence += (f". It commissions {int(services['commissioned'].sum())} of {len(services)} "
                     f"services at {len(by_level)} level{'s' if len(by_level) != 1 else ''}")
    contracts = files.first("contracts")
    providers = files.first("providers")
    if len(providers):
        sentence += (f" through {len(contracts)} contracts with {int(providers['used'].sum())} "
                     "providers")
    return sentence + "."


def spend_breakdown(files: PlanFiles) -> pd.DataFrame:
    """£ of the first year by level, provider kind and category: activity, contracting and setup.

    Entry, exit and notice costs belong to providers rather than services and are left out here
    (the headline shows them), so each breakdown adds up to the same total.
    """
    contracts = files.first("contracts")
    if not len(contracts):
        return pd.DataFrame(columns=["by", "key", "spend", "share"])
    kinds = files.first("providers").drop_duplicates("provider").set_index("provider")["kind"]
    categories = files.first("services").drop_duplicates("service").set_index("service")["category"]
    cost = contracts.assign(
        total=contracts["spend"] + contracts["transaction_cost"].fillna(0.0)
        + contracts["setup_cost"].fillna(0.0),
        kind=contracts["provider"].map(kinds), category=contracts["service"].map(categories))
    whole = float(cost["total"].sum()) or 1.0
    frames = []
    order = {level: i for i, level in enumerate(files.level_order)}
    for dimension in ("level", "kind", "category"):
        grouped = cost.groupby(dimension)["total"].sum()
        if dimension == "level":
            grouped = grouped.sort_index(key=lambda idx: idx.map(lambda v: order.get(v, len(order))))
        else:
            grouped = grouped.sort_values(ascending=False, kind="stable")
        frames.append(pd.DataFrame({"by": dimension, "key": grouped.index,
                                    "spend": grouped.to_numpy(),
                                    "share": grouped.to_numpy() / whole}))
    return pd.concat(frames, ignore_index=True)


def level_table(files: PlanFiles) -> pd.DataFrame:
    """The continuum, low to high: units, people per unit, risk tolerance, and what each level does."""
    levels = files.first("levels")
    columns = ["level", "order", "population", "units", "transaction_cost", "risk_tolerance",
               "services", "contracts", "spend"]
    if not len(levels):
        return pd.DataFrame(columns=columns)
    frame = levels[["level", "services", "contracts", "spend"]].copy()
    if files.instance is not None:
        inst = files.instance.levels.set_index("level")
        population = files.instance.config.population
        frame["order"] = frame["level"].map(inst["order"])
        frame["population"] = frame["level"].map(inst["population"])
        frame["units"] = population / frame["population"]
        frame["transaction_cost"] = frame["level"].map(inst["transaction_cost"])
        frame["risk_tolerance"] = frame["level"].map(inst["risk_tolerance"])
        frame = frame.sort_values(["order", "level"], kind="stable")
    else:
        for column in ("order", "population", "units", "transaction_cost", "risk_tolerance"):
            frame[column] = np.nan
    return frame[columns].reset_index(drop=True)


def continuum(files: PlanFiles) -> pd.DataFrame:
    """Each service's level and why it sits there: risk pooling (the CV rule), demand effects,
    the levels allowed, or cost. Reasons need the instance; without it they say so."""
    services = files.first("services")
    columns = ["service", "category", "mandatory", "commissioned", "level", "demand", "providers",
               "spend", "cv", "risk_tolerance", "demand_factor", "reason"]
    if not len(services):
        return pd.DataFrame(columns=columns)
    frame = services[["service", "category", "mandatory", "commissioned", "level", "demand",
                      "providers", "spend"]].copy()
    frame["cv"] = np.nan
    frame["risk_tolerance"] = np.nan
    frame["demand_factor"] = np.nan
    if files.instance is None:
        frame["reason"] = np.where(frame["commissioned"], "", "not commissioned")
        return frame[columns]
    from planner.derive import derive

    without = frozenset((files.plan.get("options") or {}).get("without") or ())
    try:
        derived = derive(files.instance, without)
    except PlannerError:
        frame["reason"] = ""
        return frame[columns]
    pairs = derived.service_levels
    levels = frame[["service", "level"]].dropna().astype({"level": str})
    chosen = pairs.merge(levels, on=["service", "level"], how="inner")
    keyed = chosen.set_index("service")
    frame["cv"] = frame["service"].map(keyed["cv"])
    frame["risk_tolerance"] = frame["service"].map(keyed["risk_tolerance"])
    frame["demand_factor"] = frame["service"].map(keyed["demand_factor"])
    value = files.instance.config.policy.value_per_qaly
    reasons = []
    for row in frame.itertuples(index=False):
        own = pairs.loc[pairs["service"] == row.service]
        reasons.append(_reason(row, own, value, files.names))
    frame["reason"] = reasons
    return frame[columns]


def _reason(row: Any, own: pd.DataFrame, value_per_qaly: float, names: Names) -> str:
    """Why a service is commissioned where it is, in a sentence for a board paper (levels by
    their plain names)."""
    if not row.commissioned:
        if own.empty:
            return "Not commissioned: no demand."
        if not own["eligible"].any():
            return "Not commissioned: no level may commission it (allowed levels and risk)."
        worth = f"at {money(value_per_qaly)} per QALY" if value_per_qaly else "with no value on QALYs"
        return f"Not commissioned: optional, and not worth its cost {worth}."
    here = own.loc[own["level"] == row.level]
    if here.empty:
        return ""
    here_row = here.iloc[0]
    lower = own.loc[own["order"] < here_row["order"]]
    parts = []
    risky = lower.loc[lower["reason"] == "spread of spend above risk_tolerance"]
    if len(lower) and not lower["eligible"].any() and len(risky):
        below = risky.iloc[-1]
        parts.append(f"Risk pooling: one {names.level(below['level'])} unit's spend would swing too much "
                     f"(CV {below['cv']:.2f} > tolerance {below['risk_tolerance']:.2f})")
    elif len(lower) and not lower["eligible"].any():
        parts.append(f"Only allowed from {names.level(row.level)} level up")
    elif len(lower):
        others = ", ".join(names.level(v) for v in lower.loc[lower["eligible"], "level"])
        parts.append(f"Cheapest overall of the levels allowed (lower: {others})")
    else:
        parts.append("The lowest level on the continuum")
    factor = float(here_row["demand_factor"])
    if abs(factor - 1.0) > 1e-12:
        parts.append(f"demand effect: {'−' if factor < 1 else '+'}{abs(1 - factor):.0%} demand "
                     f"here (factor {factor:g})")
    return "; ".join(parts) + "."


def break_even(files: PlanFiles) -> pd.DataFrame:
    """Each provider's income against its break-even income (min_income), first year."""
    providers = files.first("providers")
    columns = ["provider", "kind", "incumbent", "used", "income", "min_income",
               "break_even_margin", "utilisation", "position"]
    if not len(providers):
        return pd.DataFrame(columns=columns)
    frame = providers.copy()

    def position(row: Any) -> str:
        if not row.used:
            return "not used" + (" (incumbent leaves)" if row.incumbent else "")
        if not row.min_income or row.min_income <= 0:
            return "no break-even rule"
        margin = row.income - row.min_income
        if margin < -tolerance(row.min_income):
            return "below break-even"
        if margin <= tolerance(row.min_income):
            return "at break-even (binds)"
        return "above break-even"

    frame["position"] = [position(r) for r in frame.itertuples(index=False)]
    frame = frame.sort_values(["income"], ascending=False, kind="stable")
    return frame[columns].reset_index(drop=True)


def quality(files: PlanFiles) -> pd.DataFrame:
    """Quality of each commissioned service's providers against its thresholds, first year."""
    services = files.first("services")
    contracts = files.first("contracts")
    columns = ["service", "level", "providers", "avg_quality", "min_avg_quality", "lowest_quality",
               "lowest_provider", "min_quality", "position"]
    if not len(services):
        return pd.DataFrame(columns=columns)
    frame = services.loc[services["commissioned"], ["service", "level", "providers",
                                                    "avg_quality"]].copy()
    if frame.empty:  # nothing commissioned: no quality to report
        return pd.DataFrame(columns=columns)
    active = contracts.sort_values(["quality", "provider"], kind="stable").drop_duplicates("service")
    lowest = active.set_index("service")
    frame["lowest_quality"] = frame["service"].map(lowest["quality"])
    frame["lowest_provider"] = frame["service"].map(lowest["provider"])
    if files.instance is not None:
        thresholds = files.instance.services.set_index("service")
        frame["min_avg_quality"] = frame["service"].map(thresholds["min_avg_quality"])
        frame["min_quality"] = frame["service"].map(thresholds["min_quality"])
    else:
        frame["min_avg_quality"] = np.nan
        frame["min_quality"] = np.nan

    def position(row: Any) -> str:
        if is_missing(row.min_avg_quality) and is_missing(row.min_quality):
            return "thresholds unknown"
        if not (row.min_avg_quality or 0) and not (row.min_quality or 0):
            return "no threshold"
        if not is_missing(row.avg_quality) and row.min_avg_quality and \
                row.avg_quality - row.min_avg_quality <= 1e-6:
            return "average at threshold (binds)"
        if not is_missing(row.lowest_quality) and row.min_quality and \
                row.lowest_quality - row.min_quality <= 1e-6:
            return "a provider at the threshold"
        return "above thresholds"

    frame["position"] = [position(r) for r in frame.itertuples(index=False)]
    # Services with a threshold first, tightest margin first: where quality constrains the plan.
    margin = np.fmin(
        np.where(frame["min_avg_quality"].fillna(0) > 0,
                 frame["avg_quality"] - frame["min_avg_quality"], np.nan),
        np.where(frame["min_quality"].fillna(0) > 0,
                 frame["lowest_quality"] - frame["min_quality"], np.nan))
    frame = frame.assign(_ruled=np.isnan(margin), _margin=margin).sort_values(
        ["_ruled", "_margin"], kind="stable")
    return frame[columns].reset_index(drop=True)


def change_counts(files: PlanFiles) -> dict[str, int]:
    changes = files.table("changes")
    if "change" not in changes:
        return {}
    counts = changes["change"].value_counts()
    return {kind: int(counts.get(kind, 0)) for kind in CHANGE_KINDS}


def changed_contracts(files: PlanFiles) -> pd.DataFrame:
    """Contracts that start, end, move or change volume against the status quo (not 'same')."""
    changes = files.table("changes")
    if "change" not in changes:
        return changes
    order = {kind: i for i, kind in enumerate(CHANGE_KINDS)}
    moved = changes.loc[changes["change"] != "same"].copy()
    moved["_order"] = moved["change"].map(order)
    moved["_size"] = -moved["volume_change"].abs()
    moved = moved.sort_values(["_order", "_size", "service", "provider"], kind="stable")
    return moved.drop(columns=["_order", "_size"]).reset_index(drop=True)


def binding(files: PlanFiles) -> pd.DataFrame:
    """Rules that bind the plan, with what relaxing them is worth where marginal_values.csv says.

    From the plan's own tables: the budget when headroom is nil, providers held at their
    break-even income or full capacity. From marginal_values.csv: every rule with a non-zero value
    (LP duals of the fixed plan and MILP re-solves), and the budget re-solves when the budget
    binds (with headroom left, a budget step worth £0 is not a rule that holds the plan back).
    """
    rows: list[dict[str, Any]] = []
    totals = files.totals
    budget, headroom = totals.get("budget"), totals.get("headroom")
    if budget is not None and headroom is not None and abs(headroom) <= tolerance(budget):
        rows.append({"constraint": "budget", "subject": "budget", "method": "plan",
                     "marginal_value": np.nan, "unit": "£",
                     "message": f"The plan spends the whole budget of {money(budget)}."})
    for row in break_even(files).itertuples(index=False):
        if row.position == "at break-even (binds)":
            rows.append({"constraint": "min_income", "subject": row.provider, "method": "plan",
                         "marginal_value": np.nan, "unit": "£",
                         "message": f"{files.names.provider(row.provider)} is paid exactly "
                                    f"its break-even income of {money(row.min_income)}."})
    values = files.table("marginal_values")
    if len(values):
        binds = budget is not None and headroom is not None and abs(headroom) <= tolerance(budget)
        budget_rows = values["constraint"].eq("budget") & values["method"].eq("milp_resolve") \
            & binds
        nonzero = values["marginal_value"].abs() > 1e-6
        picked = values.loc[budget_rows | nonzero].copy()
        resolve = picked["constraint"].eq("budget") & picked["method"].eq("milp_resolve")
        picked["_rank"] = np.select([resolve, picked["constraint"].eq("demand")], [0, 2], 1)
        picked["_size"] = np.where(resolve, 0.0, -picked["marginal_value"].abs().fillna(0.0))
        picked = picked.sort_values(["_rank", "_size"], kind="stable")
        for row in picked.itertuples(index=False):
            rows.append({"constraint": row.constraint, "subject": row.subject,
                         "method": row.method, "marginal_value": row.marginal_value,
                         "unit": row.unit, "message": text(row.message)})
    return pd.DataFrame(rows, columns=["constraint", "subject", "method", "marginal_value", "unit",
                                       "message"])


def relaxations(files: PlanFiles) -> pd.DataFrame:
    """diagnosis.json's relaxations: those that alone restore a plan first, then the combined."""
    rows = (files.diagnosis or {}).get("relaxations") or []
    frame = pd.DataFrame(rows, columns=["constraint", "subject", "amount", "unit", "alone", "cost",
                                        "message"])
    if len(frame):
        frame["message"] = frame["message"].map(unescape)
        frame = frame.sort_values("alone", ascending=False, kind="stable").reset_index(drop=True)
    return frame


# --- summary.md -------------------------------------------------------------------------------
#: Bidirectional controls (U+202A–202E, U+2066–2069): they make an id read backwards.
BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def md_text(value: Any) -> str:
    """Analyst-written text made inert for Markdown renderers: bidi controls removed, ``<>&``
    HTML-escaped (no ``<script>``), a leading ``= + - @`` neutralised as csvsafe does (renderers
    that hand tables to spreadsheets would run it), and no line breaks."""
    shown = text(value).translate(BIDI_CONTROLS).replace("\n", " ").replace("\r", " ")
    shown = shown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "'" + shown if shown.startswith(FORMULA_STARTS) else shown


def _md_cell(value: Any) -> str:
    return md_text(value).replace("\\", "\\\\").replace("|", "\\|")


def _md_table(headers: list[str], rows: list[list[Any]], right: set[int] | None = None) -> str:
    right = right or set()
    lines = ["| " + " | ".join(_md_cell(h) for h in headers) + " |",
             "|" + "|".join("---:" if i in right else "---" for i in range(len(headers))) + "|"]
    lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


MD_LIMIT = 20  # rows of a long list shown in summary.md; the CSVs hold the rest


def render_markdown(files: PlanFiles) -> str:
    """summary.md: headline table, spend by level, contracts changed and binding constraints."""
    out = [f"# Commissioning plan: {_md_cell(files.name)}", "", headline_sentence(files), ""]
    if files.relaxed:
        out += ["> **No plan meets every rule.** The tables describe the cheapest *relaxed* plan "
                "(see the diagnosis below).", ""]
    out += ["## Headline", "",
            _md_table(["figure", "value", "note"],
                      [[h.label, h.text(), h.note] for h in headline(files)
                       if not h.technical], {1}), ""]
    names = files.names
    relax = names.label(relaxations(files))
    if len(relax):
        out += ["## What to relax", "", "No plan meets every rule. Each row marked *alone* would "
                "by itself make a plan possible; the others are the cheapest combination.", "",
                _md_table(["rule", "subject", "amount", "alone", "message"],
                          [[r.constraint, r.subject, amount(r.amount, r.unit),
                            "alone" if r.alone else "combined", r.message]
                           for r in relax.itertuples(index=False)], {2}), ""]
    if files.multi_year:
        budget = files.table("budget")
        out += ["## Budget by year", "",
                _md_table(["year", "budget", "spend", "surplus", "balance carried"],
                          [[int(r.year), pounds(r.budget), pounds(r.spend), pounds(r.surplus),
                            pounds(r.balance_carried)] for r in budget.itertuples(index=False)],
                          {1, 2, 3, 4}), ""]
    breakdown = spend_breakdown(files)
    levels = breakdown.loc[breakdown["by"] == "level"]
    if len(levels):
        year = f" ({files.first_year})" if files.multi_year else ""
        services = files.first("services")
        count = services.loc[services["commissioned"]].groupby("level").size()
        out += [f"## Spend by level{year}", "",
                _md_table(["level", "services", "spend", "share"],
                          [[names.level(r.key), int(count.get(r.key, 0)), pounds(r.spend),
                            percent(r.share)] for r in levels.itertuples(index=False)],
                          {1, 2, 3}), ""]
    counts = change_counts(files)
    if counts:
        changed = names.label(changed_contracts(files))
        out += ["## Contracts changed against the status quo", "",
                ", ".join(f"{n} {kind}" for kind, n in counts.items()) + ".", ""]
        if len(changed):
            out += [_md_table(["change", "service", "provider", "level", "episodes before",
                               "episodes after"],
                              [[r.change, r.service, r.provider, text(r.level_b) or text(r.level_a),
                                number(r.volume_a), number(r.volume_b)]
                               for r in changed.head(MD_LIMIT).itertuples(index=False)], {4, 5})]
            if len(changed) > MD_LIMIT:
                out += ["", f"… and {len(changed) - MD_LIMIT} more in changes.csv."]
            out.append("")
    bind = names.label(binding(files))
    if len(bind):
        out += ["## Binding constraints", "",
                _md_table(["rule", "subject", "value per unit", "message"],
                          [[r.constraint, r.subject, per_unit(r.marginal_value, r.unit), r.message]
                           for r in bind.head(MD_LIMIT).itertuples(index=False)], {2})]
        if len(bind) > MD_LIMIT:
            out += ["", f"… and {len(bind) - MD_LIMIT} more in marginal_values.csv."]
        out.append("")
    plan = files.plan
    versions = plan.get("versions") or {}
    # No timings here (report.html has them): summary.md is byte-identical for the same data.
    method = "; ".join(f"{h.label.lower()} {h.text()}" for h in headline(files) if h.technical)
    out += ["## How the plan was found", "",
            (f"{method.capitalize()}. " if method else "")
            + f"Status {files.status}; gap {percent(plan.get('gap'), 4)}; HiGHS "
            f"{text(versions.get('highs'))}, planner {text(versions.get('planner'))}; instance "
            f"sha256 `{text((plan.get('instance') or {}).get('sha256'))[:12]}`.", ""]
    return "\n".join(out)
