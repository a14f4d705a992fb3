"""What the plan costs (£): running costs, one-off costs, spend by year, and the objective.

These are named Expressions, not rows: the families read them (the management cost cap reads
transaction_costs, break-even reads spend) and the extraction reports them.

  activity      Σ price_t · x                  transaction  Σ contract_cost · z
  setup         Σ setup_c · started_c          (new contracts only; waived for incumbent offers)
  entry         Σ entry_p · entered_p          (providers that are not incumbents)
  exit          Σ exit_p · exited_p            (incumbents not retained; plus a constant for
                                                incumbents that can hold no eligible contract)
  notice        see :func:`formulations.years.add_notice` (T > 1; 0 for one year)
  spend         activity + transaction + setup + entry + exit + notice
In year 0 started, entered and exited are z, w and 1 − w (the status quo is compared with the
binaries themselves), so the T = 1 model is exactly the single-year model; later years use the
event variables of :func:`formulations.years.add_events`.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from formulations.model_data import ModelData
from formulations.rows import expressions, linear


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


def add_running_costs(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Activity and transaction costs by year (£), the parts of spend that recur."""
    n_c = len(d.derived.contracts)
    contract_cost = d.derived.contracts["contract_cost"].to_numpy()
    price = d.coef["price"]
    costly = [(float(contract_cost[c]), k) for k, c in enumerate(d.z_rows.tolist())
              if contract_cost[c] > 0]
    m.activity_spend = expressions(d.years, (linear((price[c, t], d.x(c, t)) for c in range(n_c))
                                             for t in d.years))
    m.transaction_costs = expressions(d.years, (linear((cost, d.z(k, t)) for cost, k in costly)
                                                for t in d.years))


def add_one_off_costs(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Set-up, entry and exit costs by year (£), in the year they arise (see module docstring)."""
    setups, entries, exits, stranded = one_off_cost_terms(d)
    if d.derived.horizon == 1:  # the single-year model: the binaries themselves
        m.setup_costs = expressions(d.years, (pyo.quicksum(cost * m.z[k, t] for cost, k in setups)
                                              for t in d.years))
        m.entry_costs = expressions(d.years, (pyo.quicksum(cost * m.w[q, t] for cost, q in entries)
                                              for t in d.years))
        m.exit_costs = expressions(d.years, (stranded + pyo.quicksum(
            cost * (1 - m.w[q, t]) for cost, q in exits) for t in d.years))
        m.notice_costs = expressions(d.years, (0.0 for _ in d.years))
        return
    m.setup_costs = expressions(d.years, (pyo.quicksum(cost * d.started(k, t) for cost, k in setups)
                                          for t in d.years))
    m.entry_costs = expressions(d.years, (pyo.quicksum(
        cost * (m.w[q, 0] if t == 0 else m.entry[q, t]) for cost, q in entries) for t in d.years))
    m.exit_costs = expressions(d.years, ((stranded if t == 0 else 0.0) + pyo.quicksum(
        cost * ((1 - m.w[q, 0]) if t == 0 else m.exit[q, t]) for cost, q in exits)
        for t in d.years))


def add_spend(m: pyo.ConcreteModel, d: ModelData) -> None:
    """spend_t (£): every cost of year t (what break-even holds to the budget)."""
    if d.derived.horizon == 1:  # no notice in a single year (MODEL §2)
        m.spend = expressions(d.years, (m.activity_spend[t] + m.transaction_costs[t]
                                        + m.setup_costs[t] + m.entry_costs[t] + m.exit_costs[t]
                                        + m.payment_costs[t] for t in d.years))
        return
    m.spend = expressions(d.years, (m.activity_spend[t] + m.transaction_costs[t] + m.setup_costs[t]
                                    + m.entry_costs[t] + m.exit_costs[t] + m.notice_costs[t]
                                    + m.payment_costs[t] for t in d.years))


def add_objective(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Minimise Σ_t spend_t + ρ·σ_t − λ·QALYs_t (all £); σ grows with demand and prices."""
    sl = d.derived.service_levels.loc[d.sl_rows]
    risky = sl["risk_cost"].to_numpy() > 0
    if d.derived.mutable:
        risky[:] = True
    qaly = d.derived.contracts["qaly_per_episode"].to_numpy()
    n_c = len(qaly)
    risk = d.coef["risk"]  # £ of risk premium by year: grows with prices and √demand
    m.risk_cost = expressions(d.years, (linear((risk[j, t], d.yv[j])
                                               for j in np.flatnonzero(risky).tolist())
                                        for t in d.years))
    m.qalys = expressions(d.years, (linear((float(qaly[c]), d.x(c, t)) for c in range(n_c)
                                           if qaly[c] > 0) for t in d.years))
    m.value_per_qaly = pyo.Param(mutable=True, initialize=d.derived.policy.value_per_qaly)
    if getattr(m, "equity_qalys", None) is not None:  # areas' equity weights (issue 17)
        m.objective = pyo.Objective(expr=pyo.quicksum(
            m.spend[t] + m.risk_cost[t] - m.value_per_qaly * (m.qalys[t] + m.equity_qalys[t])
            for t in d.years), sense=pyo.minimize)
        return
    m.objective = pyo.Objective(
        expr=pyo.quicksum(m.spend[t] + m.risk_cost[t] - m.value_per_qaly * m.qalys[t]
                          for t in d.years), sense=pyo.minimize)
