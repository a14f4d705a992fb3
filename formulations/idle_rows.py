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

Symbols: for a row  L ≤ a·v ≤ U  with bounds l ≤ v ≤ u,
    body⁻ = Σ min(a_i·l_i, a_i·u_i),  body⁺ = Σ max(a_i·l_i, a_i·u_i);
the row is idle when  L ≤ body⁻  (or no L)  and  body⁺ ≤ U  (or no U), to IDLE_TOLERANCE.
"""

from __future__ import annotations

import pyomo.environ as pyo
from pyomo.contrib.fbbt.fbbt import compute_bounds_on_expr

#: the families whose rows a plain build leaves out where the data idles them (formulations/
#: choice.py, capacity.py, budget.py): the only ones a mutable build has more of
IDLE_CANDIDATES = ("min_share", "avg_quality", "min_income", "offer_capacity",
                   "provider_capacity")
IDLE_TOLERANCE = 1e-9  # relative: a row idle to within this holds at every bounded point


def set_idle_rows(m: pyo.ConcreteModel) -> int:
    """Deactivate the candidate rows that cannot bind at the current Params, activate the
    others; the number now inactive."""
    idle = 0
    for name in IDLE_CANDIDATES:
        for con in getattr(m, name, {}).values():
            if _holds_within_bounds(con):
                con.deactivate()
                idle += 1
            else:
                con.activate()
    return idle


def _holds_within_bounds(con) -> bool:
    low, high = compute_bounds_on_expr(con.body)
    upper = None if con.upper is None else pyo.value(con.upper)
    lower = None if con.lower is None else pyo.value(con.lower)
    if upper is not None and (high is None or high > upper + IDLE_TOLERANCE * max(1.0, abs(upper))):
        return False
    return lower is None or (low is not None and low >= lower - IDLE_TOLERANCE * max(1.0, abs(lower)))
