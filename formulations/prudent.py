"""A prudent budget (``policy.budget_confidence``): break even with at least probability α.

Why: a plan that spends exactly its budget breaks even only about half the time once demand and
episode costs vary (small budgets give "windfall savings … and similarly … windfall losses").
A board asking for a 90 % chance of breaking even needs a budget row that leaves room for the
spread of spend, and the row must stay linear so the model remains a MILP on HiGHS.

The statistical model is the one of :mod:`planner.analysis.risk` and of derive's CV rule: the episodes of
service s in one commissioning unit of level l are Poisson, each episode's cost has mean π (the
contract's price) and coefficient of variation k_s, units and services are independent, and an
area smaller than one unit (units_l < 1) bears its population share of that unit's spend.

Symbols (single year):
  x_c      episodes on contract c = (s, l, p)                           [episodes]
  π_c      price of c: tariff_s, or the offer's price                  [£ / episode]
  k_s      cost_cv of service s                                         [–]
  m_l      min(1, units_l), units_l = N / n_l                           [–]
  Q(x)     Σ_c m_l (1 + k_s²) π_c² x_c                                  [£²]
  Q0       Σ_{s mandatory, D_s > 0} D_s (1 + k_s²) c̄_s²  (all services if none is mandatory;
           at least £1²), c̄_s the service's mean price                  [£²]
  z_α      the standard normal quantile of α = budget_confidence        [–]

Variance. A compound Poisson sum S = Σ_{i ≤ K} X_i with K ~ Poisson(λ) has E S = λ E X and
Var S = λ E[X²] = λ π² (1 + k²). The units of a level are independent, so their episodes add to
one Poisson of mean D_sl and the area's spend on s at l has variance m_l D_sl E[X²]. With several
providers the episode price is a mixture; E[X²] = (1 + k²) Σ_p (x_p / D_sl) π_p² (the mixture's
second moment, at least the squared mean price), so Var(spend) ≤ Q(x), linear in x.

Row. √ is concave, so its tangent at any Q0 > 0 lies above it: √Q ≤ √Q0 / 2 + Q / (2 √Q0).
Hence

    spend + z_α (√Q0 / 2 + Q(x) / (2 √Q0)) ≤ budget                       (budget_confidence)

implies spend + z_α √Var(spend) ≤ budget, i.e. (normal approximation) P(spend ≤ budget) ≥ α.
The row is valid for every plan whatever Q0 is; Q0 only decides where it is tight (exactly at
Q(x) = Q0, the variance of the mandatory services at their mean prices, the least any plan must
carry). Fixed costs (transaction, set-up, entry, exit) do not vary and enter through spend.
"""

from __future__ import annotations

import math

import numpy as np
import pyomo.environ as pyo

from formulations.model_data import ModelData
from formulations.rows import linear, rows
from planner.data.prudent import z_value


def reference_variance(d: ModelData) -> float:
    """Q0 (£²): the variance of the mandatory services' spend at their mean prices."""
    services = d.derived.services
    active = services.loc[services["demand"] > 0]
    mandatory = active.loc[active["mandatory"].astype(bool)]
    chosen = mandatory if len(mandatory) else active
    q0 = float((chosen["demand"] * (1.0 + chosen["cost_cv"] ** 2) * chosen["mean_price"] ** 2).sum())
    return max(q0, 1.0)


def variance_coefficients(d: ModelData) -> np.ndarray:
    """m_l (1 + k_s²) π_c² for every contract c (£² per episode)."""
    contracts = d.derived.contracts
    cv = contracts["service"].map(d.derived.services.set_index("service")["cost_cv"]).to_numpy(float)
    units = contracts["level"].map(d.derived.levels.set_index("level")["units"]).to_numpy(float)
    price = contracts["unit_price"].to_numpy(float)
    return np.minimum(1.0, units) * (1.0 + cv ** 2) * price ** 2


def add_budget_confidence(m: pyo.ConcreteModel, d: ModelData) -> None:
    """The prudent budget row of year 0 (single-year models only; see the module docstring)."""
    policy = d.derived.policy
    alpha = policy.budget_confidence
    if alpha is None or not d.derived.on("budget") or not policy.has_budget or d.derived.horizon != 1:
        return
    z = z_value(alpha)
    q0 = reference_variance(d)
    root = math.sqrt(q0)
    slope = variance_coefficients(d) * z / (2.0 * root)
    carried = np.flatnonzero(slope > 0).tolist()

    def row(t: int):
        body = linear((float(slope[c]), d.x(c, t)) for c in carried)
        return body + m.spend[t] + z * root / 2.0 <= m.budget[t]

    years = list(d.years)
    m.budget_confidence = rows(years, (row(t) for t in years))
