"""The single-year commissioning model (MODEL §2): families 1–11 and the objective, for T = 1.

The constraint families themselves live in :mod:`formulations.families`, shared with the
multi-year model; this module adds what is particular to one year: one-off costs charged directly
on the contract and provider binaries, and the annual budget.

  setup   Σ setup_c · z_c            (new contracts only; waived for incumbent offers)
  entry   Σ entry_p · w_p            (providers that are not incumbents)
  exit    Σ exit_p · (1 − w_p)       (incumbents not retained; a constant for incumbents
                                      that can hold no eligible contract at all)
  spend   activity + transaction + setup + entry + exit ≤ budget
"""

from __future__ import annotations

import time

import pyomo.environ as pyo

from formulations.families import (
    BuiltModel,
    ModelData,
    add_objective,
    budgets,
    build_families,
    gc_paused,
)
from formulations.start import greedy_start
from planner.derive import Derived
from planner.solver import START_ATTRIBUTE


def one_off_cost_terms(d: ModelData) -> tuple[list, list, list, float]:
    """(setup, entry, exit) as (coefficient £, binary key) pairs, and the stranded exit £."""
    contracts = d.derived.contracts
    providers = d.derived.providers.set_index("provider")
    setup = contracts["setup"].to_numpy()
    setups = [(setup[c], k) for k, c in enumerate(d.z_rows) if setup[c] > 0]
    entries = [(providers.at[p, "entry_cost"], q) for p, q in d.w_of.items()
               if not providers.at[p, "incumbent"] and providers.at[p, "entry_cost"] > 0]
    exits = [(providers.at[p, "exit_cost"], q) for p, q in d.w_of.items()
             if providers.at[p, "incumbent"] and providers.at[p, "exit_cost"] > 0]
    all_providers = d.derived.providers
    stranded = float(all_providers.loc[all_providers["incumbent"] & ~all_providers["provider"].isin(
        contracts["provider"]), "exit_cost"].sum())
    return setups, entries, exits, stranded


@gc_paused
def build(derived: Derived) -> BuiltModel:
    """Build the single-year model; families in ``derived.without`` are omitted."""
    if derived.horizon != 1:
        raise ValueError("single_year.build needs horizon 1; use formulations.multi_year")
    m = pyo.ConcreteModel(name=derived.instance.name)
    d = ModelData.prepare(derived)
    build_families(m, d)
    add_spend_budget_and_objective(m, d)
    clock = time.perf_counter()
    setattr(m, START_ATTRIBUTE, greedy_start(m, d))  # a hint for HiGHS only
    d.extra["start_seconds"] = time.perf_counter() - clock
    return BuiltModel(m, derived, d)


def add_spend_budget_and_objective(m: pyo.ConcreteModel, d: ModelData) -> None:
    """One year's one-off costs (set-ups, entries, exits), its spend (£), family 9 and the
    objective: what a single-year model adds to the shared families."""
    setups, entries, exits, stranded = one_off_cost_terms(d)
    m.setup_costs = pyo.Expression(d.years, rule=lambda _, t: pyo.quicksum(
        cost * m.z[k, t] for cost, k in setups))
    m.entry_costs = pyo.Expression(d.years, rule=lambda _, t: pyo.quicksum(
        cost * m.w[q, t] for cost, q in entries))
    m.exit_costs = pyo.Expression(d.years, rule=lambda _, t: stranded + pyo.quicksum(
        cost * (1 - m.w[q, t]) for cost, q in exits))
    m.notice_costs = pyo.Expression(d.years, rule=lambda _, t: 0.0)
    m.spend = pyo.Expression(d.years, rule=lambda _, t: m.activity_spend[t]
                             + m.transaction_costs[t] + m.setup_costs[t] + m.entry_costs[t]
                             + m.exit_costs[t] + m.payment_costs[t])
    add_annual_budget(m, d)
    add_objective(m, d)


def add_annual_budget(m: pyo.ConcreteModel, d: ModelData) -> None:
    """9. Commissioner break-even each year: spend_t ≤ budget_t (a mutable £ parameter)."""
    limits = budgets(d)
    m.budget = pyo.Param(d.years, mutable=True,
                         initialize={t: (b if b is not None else 0.0) for t, b in zip(d.years, limits)})
    if d.derived.on("budget") and limits[0] is not None:
        m.budget_limit = pyo.Constraint(d.years, rule=lambda _, t: m.spend[t] <= m.budget[t])
