"""Facts: the rules that bind the plan (with their marginal values), and what to relax when no
plan meets every rule (diagnosis.json)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from planner.csvsafe import unescape_cell
from planner.reports.facts.headline import tolerance
from planner.reports.facts.providers import break_even
from planner.reports.formatting import money, text
from planner.results.folder import PlanFiles

#: marginal_values.csv's MILP answers at a budget step: re-solved, or known without a re-solve
#: (a skipped row has no value and is never shown as one)
MILP_METHODS = ("milp_resolve", "milp_answered")


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
        milp = values["method"].isin(MILP_METHODS)
        budget_rows = values["constraint"].eq("budget") & milp & binds
        nonzero = values["marginal_value"].abs() > 1e-6
        picked = values.loc[budget_rows | nonzero].copy()
        resolve = picked["constraint"].eq("budget") & picked["method"].isin(MILP_METHODS)
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
        frame["message"] = frame["message"].map(unescape_cell)
        frame = frame.sort_values("alone", ascending=False, kind="stable").reset_index(drop=True)
    return frame



def alternatives_found(files: PlanFiles) -> pd.DataFrame:
    """One row per near-optimal alternative of alternatives.csv (its first), with ``differs``."""
    return files.table("alternatives").drop_duplicates("alternative")
