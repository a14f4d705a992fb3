"""Rows a mutable model keeps but today's data leaves idle: switched off until they can bind.

A mutable build (sweeps re-set prices, demand and thresholds in place) keeps every row whose
presence in a plain build depends on the data: a contract's min_share row where the share is 0,
an average-quality row where every offer meets the floor, a minimum income of 0, a capacity the
demand cannot reach. HiGHS's presolve removes most but not all of them, and on the PCT the larger
model searched about 20 % slower than the plain one (docs/performance.md, *Sweeps that learn
from their neighbours*). So whenever the coefficients are set, each such row is made inactive if
it holds at every point within the variables' bounds at the Params' current values (interval
bounds on its body, :func:`pyomo.contrib.fbbt.fbbt.compute_bounds_on_expr`), and active
otherwise. A row switched off cannot be violated by any plan the bounds allow, so the feasible
set and every answer are unchanged; the persistent solver only removes or re-adds the rows
whose state changed.

The capacity rows use the plain build's own test instead (formulations/capacity.py), which
knows a service is bought at one level: an offer's row is idle where its capacity is at least
the most any one of its contracts could take, a provider's where all its contracts together
could not reach its total capacity. The other candidates use interval bounds. Symbols: for a
row  L ≤ a·v ≤ U  with bounds l ≤ v ≤ u,
    body⁻ = Σ min(a_i·l_i, a_i·u_i),  body⁺ = Σ max(a_i·l_i, a_i·u_i);
the row is idle when  L ≤ body⁻  (or no L)  and  body⁺ ≤ U  (or no U), to IDLE_TOLERANCE.
"""

from __future__ import annotations

import pandas as pd
import pyomo.environ as pyo
from pyomo.contrib.fbbt.fbbt import compute_bounds_on_expr

from formulations.capacity import offer_can_bind, offer_keys, provider_can_bind
from formulations.model_data import ModelData

#: the families whose rows a plain build leaves out where the data idles them (formulations/
#: choice.py, capacity.py, budget.py): the only ones a mutable build has more of
IDLE_CANDIDATES = ("min_share", "avg_quality", "min_income", "offer_capacity",
                   "provider_capacity")
IDLE_TOLERANCE = 1e-9  # relative: a row idle to within this holds at every bounded point


def set_idle_rows(m: pyo.ConcreteModel, d: ModelData) -> int:
    """Deactivate the candidate rows that cannot bind with the data ``d`` now holds (the
    Params' current values), activate the others; the number now inactive."""
    binds = _capacity_binds(m, d)
    idle = 0
    for name in IDLE_CANDIDATES:
        for key, con in getattr(m, name, {}).items():
            if binds.get(name, {}).get(key[0], True) and not _holds_within_bounds(con):
                con.activate()
            else:
                con.deactivate()
                idle += 1
    return idle


def _capacity_binds(m: pyo.ConcreteModel, d: ModelData) -> dict[str, dict]:
    """{family: {offer or provider: whether its row can bind}} by the plain build's test."""
    binds: dict[str, dict] = {}
    if hasattr(m, "offer_capacity"):
        key = offer_keys(d)
        can = pd.Series(offer_can_bind(d, key)).groupby(key.to_numpy())
        binds["offer_capacity"] = can.any().to_dict()
    if hasattr(m, "provider_capacity"):
        binds["provider_capacity"] = provider_can_bind(d)
    return binds


def _holds_within_bounds(con) -> bool:
    low, high = compute_bounds_on_expr(con.body)
    upper = None if con.upper is None else pyo.value(con.upper)
    lower = None if con.lower is None else pyo.value(con.lower)
    if upper is not None and (high is None or high > upper + IDLE_TOLERANCE * max(1.0, abs(upper))):
        return False
    return lower is None or (low is not None and low >= lower - IDLE_TOLERANCE * max(1.0, abs(lower)))
