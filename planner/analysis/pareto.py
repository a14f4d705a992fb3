"""Spend against QALYs: the Pareto front by the ε-constraint method.

Each point maximises QALYs with spend capped at ε (all the other rules kept, the budget
included), ε stepping from the least possible spend to the spend of the most QALYs the budget
allows. A tiny weight on spend picks, among plans with equal QALYs, the cheapest, so each point
is non-dominated. The plan chosen at the instance's own £/QALY is marked. Risk cost is left out
of both axes. One persistent model is re-solved for every ε.

A board asks what more money would buy as well as what less would lose, so the front goes on
above the budget: the budget is raised by up to :data:`ABOVE_BUDGET` (+10 %) and ε steps on from
the most the budget buys to the most that larger budget buys. Those points are marked
``within_budget: false`` (they are what-ifs, not plans the budget allows).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from planner.data.instance import Instance
from planner.formats import money
from planner.solver.highs import SolveOptions
from planner.solver.session import PlanningModel

TIE_BREAK = 1e-9  # QALYs per £ of spend used to break ties between equal-QALY plans
ABOVE_BUDGET = 0.10  # how far above the budget the front is traced (a share of the budget)
COLUMNS = ["epsilon", "spend", "qalys", "status", "within_budget"]


def pareto_front(instance: Instance, points: int = 11,
                 options: SolveOptions | None = None) -> pd.DataFrame:
    """A table of non-dominated (spend £, QALYs) plans, with the instance's own choice marked."""
    session = PlanningModel(instance, options=options or SolveOptions())
    m = session.model
    chosen = session.plan(session.run())
    years = list(m.spend.keys())
    total_spend = pyo.quicksum(m.spend[t] for t in years)
    total_qalys = pyo.quicksum(m.qalys[t] for t in years)
    m.objective.deactivate()
    m.cheapest = pyo.Objective(expr=total_spend)
    least = session.plan(session.run(), check=False)
    m.cheapest.deactivate()
    m.most_qalys = pyo.Objective(expr=-total_qalys + TIE_BREAK * total_spend)
    most = session.plan(session.run(), check=False)
    budget = sum(session.base_budget.values()) if hasattr(m, "budget_limit") else 0.0
    limit = budget * (1 + 1e-9) + 1e-3 if budget > 0 else np.inf  # spend within the budget

    def point(epsilon: float) -> dict | None:
        m.epsilon = float(epsilon) * (1 + 1e-12) + 1e-6
        plan = session.plan(session.run(), check=False)
        if not plan.has_solution:
            return None
        return {"epsilon": float(epsilon), "spend": plan.totals["spend"],
                "qalys": plan.totals["qalys"], "status": plan.status,
                "within_budget": bool(plan.totals["spend"] <= limit)}

    rows: list[dict | None] = []
    if least.has_solution and most.has_solution:
        m.epsilon = pyo.Param(mutable=True, initialize=most.totals["spend"])
        m.spend_cap = pyo.Constraint(expr=total_spend <= m.epsilon)
        rows += [point(e) for e in np.linspace(least.totals["spend"], most.totals["spend"],
                                               points)]
        if budget > 0:  # what more money buys: the budget raised by up to ABOVE_BUDGET
            session.scale_budget(1 + ABOVE_BUDGET)
            m.epsilon = 2 * (1 + ABOVE_BUDGET) * max(budget, most.totals["spend"]) + 1.0
            richest = session.plan(session.run(), check=False)
            if richest.has_solution and richest.totals["spend"] > most.totals["spend"] + 1e-3:
                steps = np.linspace(most.totals["spend"], richest.totals["spend"],
                                    max(2, points // 2 + 1))[1:]
                rows += [point(e) for e in steps]
            session.scale_budget(1.0)
    front = _non_dominated(pd.DataFrame([r for r in rows if r], columns=COLUMNS))
    front["within_budget"] = front["within_budget"].astype(bool)
    front["chosen"] = False
    if chosen.has_solution:
        mark = pd.DataFrame([{"epsilon": np.nan, "spend": chosen.totals["spend"],
                              "qalys": chosen.totals["qalys"], "status": chosen.status,
                              "within_budget": bool(chosen.totals["spend"] <= limit),
                              "chosen": True}])
        front = pd.concat([front, mark], ignore_index=True).sort_values(
            ["spend", "chosen"], kind="stable").reset_index(drop=True)
    front["value_per_qaly"] = instance.config.policy.value_per_qaly
    front["budget"] = budget if budget > 0 else np.nan
    return front


def _non_dominated(points: pd.DataFrame) -> pd.DataFrame:
    """Keep points no other point beats on both spend (lower) and QALYs (higher)."""
    ordered = points.sort_values(["spend", "qalys"], ascending=[True, False]).drop_duplicates(
        subset=["spend", "qalys"])
    keep, best = [], -np.inf
    for index, row in ordered.iterrows():
        if row["qalys"] > best + 1e-9:
            keep.append(index)
            best = row["qalys"]
    return ordered.loc[keep].reset_index(drop=True)


def pareto_chart(front: pd.DataFrame, path) -> None:
    """Write the front as an SVG chart (matplotlib, no network, deterministic)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "planner"
    figure, axes = plt.subplots(figsize=(7, 4.5))
    line = front.loc[~front["chosen"]]
    inside = line.loc[line["within_budget"]]
    axes.plot(inside["spend"] / 1e6, inside["qalys"], marker="o", label="non-dominated plans")
    beyond = line.loc[~line["within_budget"]]
    if len(beyond):  # joined to the last plan within the budget, drawn as a what-if
        joined = pd.concat([inside.tail(1), beyond])
        axes.plot(joined["spend"] / 1e6, joined["qalys"], marker="o", linestyle="--",
                  markerfacecolor="white", color="tab:blue",
                  label=f"with up to {ABOVE_BUDGET:.0%} more budget")
    if "budget" in front and front["budget"].notna().any():
        axes.axvline(float(front["budget"].iloc[0]) / 1e6, color="grey", linewidth=1,
                     linestyle=":", label="budget")
    pick = front.loc[front["chosen"]]
    if len(pick):
        axes.scatter(pick["spend"] / 1e6, pick["qalys"], s=120, marker="*", color="crimson",
                     zorder=3, label=f"chosen at {money(front['value_per_qaly'].iloc[0])}/QALY")
    axes.set_xlabel("spend (£m)")
    axes.set_ylabel("QALYs")
    axes.set_title("What more money buys: spend against QALYs")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, format="svg", metadata={"Date": None})
    plt.close(figure)
