"""A textbook formulation of the single-year model: a BENCHMARK BASELINE ONLY, never for planning.

``scripts/bench.py`` builds it to show what the planner's own formulation buys (it lives with
the benchmark scripts, outside the shipped ``formulations`` package; import it with ``scripts/``
on ``sys.path``, as bench.py and tests/test_generator.py do). It is the same
model (same optimum) written the way a first textbook attempt would write it:

* a dense index: x, z over every service × level × provider, y over every service × level, w
  over every provider, whether or not the provider offers the service or the level may commission
  it; ineligible triples and levels are switched off by constraints (z ≤ 0, y ≤ 0) rather than
  never built;
* a loose big-M: x ≤ M·z with M = the area's total demand (every service's episodes added up)
  instead of the tightest min(capacity, demand), and the provider-capacity rows kept wherever a
  provider has a total capacity.

Everything else reuses the planner's families (:mod:`formulations.registry`), so the two
models differ only in those two respects. Plans read back from it are the same tables (the
dense rows with no volume are simply not let), so they can be verified like any other.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from formulations import costs
from formulations.model_data import BuiltModel, ModelData, gc_paused
from formulations.registry import Stage, add_families
from formulations.rows import at_most, linear, rows
from formulations.variables import declare_variables
from planner.derive.tables import Derived


class TextbookData(ModelData):
    """ModelData with the loose big-M: total demand of the area, for every contract."""

    total_demand: float = 0.0

    def big_m(self, c: int, t: int) -> float:
        return self.total_demand


def densify(derived: Derived) -> tuple[Derived, np.ndarray, np.ndarray]:
    """The derived tables over every service × level × provider.

    Returns the dense Derived and two masks: which dense contracts are eligible, and which
    service-levels are. Rows that are not eligible carry zero price, quality and capacity use,
    no capacity limit and no status quo; constraints keep them at zero."""
    sl = derived.service_levels.copy()
    eligible_sl = sl["eligible"].to_numpy(copy=True)
    sl["eligible"] = True  # every service-level gets a y (ineligible ones fixed to 0 by a row)
    sl_of = {(s, lv): i for i, (s, lv) in enumerate(zip(sl["service"], sl["level"]))}
    providers = derived.providers
    real = derived.contracts.assign(dense_eligible=True)
    grid = sl[["service", "level", "level_demand", "growth", "contract_cost"]].reset_index(
        names="sl").merge(providers[["provider"]], how="cross")
    key = ["service", "level", "provider"]
    dense = grid.merge(real.drop(columns=["sl", "level_demand", "growth", "contract_cost"]),
                       on=key, how="left")
    dense["dense_eligible"] = dense["dense_eligible"].fillna(False).astype(bool)
    filler = {"unit_price": 0.0, "quality": 0.0, "capacity_use": 0.0, "setup_cost": 0.0,
              "incumbent_volume": 0.0, "new": True, "qaly_per_episode": 0.0, "setup": 0.0}
    for column, value in filler.items():
        dense[column] = dense[column].where(dense["dense_eligible"], value)
    dense["new"] = dense["new"].astype(bool)
    total = float(derived.services["demand"].sum())
    dense["big_m"] = total
    dense["needs_z"] = True
    dense["sl"] = [sl_of[(s, lv)] for s, lv in zip(dense["service"], dense["level"])]
    dense = dense.reset_index(drop=True)
    dense_providers = providers.copy()
    dense_providers["needs_w"] = dense_providers["provider"].isin(dense["provider"])
    # a provider with no eligible contract cannot be "used" (so an incumbent's exit cost stays)
    has_real = dense_providers["provider"].isin(real["provider"])
    dense_providers["min_volume"] = dense_providers["min_volume"].where(has_real, 1.0)
    out = replace(derived, service_levels=sl, contracts=dense, providers=dense_providers)
    return out, dense["dense_eligible"].to_numpy(), eligible_sl


@gc_paused
def build(derived: Derived) -> BuiltModel:
    """Build the textbook model of a single-year instance (benchmark baseline only)."""
    if derived.horizon != 1:
        raise ValueError("the textbook baseline covers the single-year model only")
    dense, eligible, eligible_sl = densify(derived)
    m = pyo.ConcreteModel(name=f"{derived.policy.name}-textbook")
    d = TextbookData.prepare(dense)
    d.total_demand = float(dense.contracts["big_m"].iloc[0]) if len(dense.contracts) else 0.0
    declare_variables(m, d)
    add_families(m, d, Stage.RULES)
    costs.add_running_costs(m, d)
    costs.add_one_off_costs(m, d)
    add_families(m, d, Stage.LIMITS)
    off = [(k, t) for k, c in enumerate(d.z_rows) if not eligible[c] for t in d.years]
    m.textbook_ineligible_contract = rows(off, (at_most(linear([(1.0, m.z[k, t])])) for k, t in off))
    levels_off = [j for j, row in enumerate(d.sl_rows) if not eligible_sl[row]]
    m.textbook_ineligible_level = rows(levels_off, (at_most(linear([(1.0, m.y[j])]))
                                                    for j in levels_off))
    costs.add_spend(m, d)
    add_families(m, d, Stage.BREAK_EVEN)
    costs.add_objective(m, d)
    return BuiltModel(m, dense, d)


def dense_size(derived: Derived) -> int:
    """Number of dense contracts (services with demand × levels × providers), to size it."""
    services = int((derived.services["demand"] > 0).sum())
    return services * len(derived.levels) * len(derived.providers)


__all__ = ["build", "dense_size", "densify", "TextbookData", "pd"]
