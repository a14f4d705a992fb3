"""Spend against QALYs: the Pareto front by the ε-constraint method.

Each point maximises QALYs with spend capped at ε (all the other rules kept, the budget
included), ε stepping from the least possible spend to the spend of the most QALYs the budget
allows. A tiny weight on spend picks, among plans with equal QALYs, the cheapest, so each point
is non-dominated. The plan chosen at the instance's own £/QALY is marked. Risk cost is left out
of both axes. One persistent model is re-solved for every ε.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from planner.instance import Instance
from planner.session import PlanningModel
from planner.solver import SolveOptions

TIE_BREAK = 1e-9  # QALYs per £ of spend used to break ties between equal-QALY plans


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
    rows = []
    if least.has_solution and most.has_solution:
        m.epsilon = pyo.Param(mutable=True, initialize=most.totals["spend"])
        m.spend_cap = pyo.Constraint(expr=total_spend <= m.epsilon)
        for epsilon in np.linspace(least.totals["spend"], most.totals["spend"], points):
            m.epsilon = float(epsilon) * (1 + 1e-12) + 1e-6
            plan = session.plan(session.run(), check=False)
            if plan.has_solution:
                rows.append({"epsilon": float(epsilon), "spend": plan.totals["spend"],
                             "qalys": plan.totals["qalys"], "status": plan.status})
    front = _non_dominated(pd.DataFrame(rows, columns=["epsilon", "spend", "qalys", "status"]))
    front["chosen"] = False
    if chosen.has_solution:
        mark = pd.DataFrame([{"epsilon": np.nan, "spend": chosen.totals["spend"],
                              "qalys": chosen.totals["qalys"], "status": chosen.status,
                              "chosen": True}])
        front = pd.concat([front, mark], ignore_index=True).sort_values(
            ["spend", "chosen"], kind="stable").reset_index(drop=True)
    front["value_per_qaly"] = instance.config.policy.value_per_qaly
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
    axes.plot(line["spend"] / 1e6, line["qalys"], marker="o", label="non-dominated plans")
    pick = front.loc[front["chosen"]]
    if len(pick):
        axes.scatter(pick["spend"] / 1e6, pick["qalys"], s=120, marker="*", color="crimson",
                     zorder=3, label=f"chosen at £{front['value_per_qaly'].iloc[0]:,.0f}/QALY")
    axes.set_xlabel("spend (£m)")
    axes.set_ylabel("QALYs")
    axes.set_title("What more money buys: spend against QALYs")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, format="svg", metadata={"Date": None})
    plt.close(figure)
