"""Neighbourhoods of the model's binaries, one per service, for fix-and-optimise.

Why: services couple only through the budget, provider incomes and capacities, and level
limits, so the binaries that decide one service (its levels ``y``, its contracts ``z`` and the
providers ``w`` that offer it) form a natural block. Fixing every binary outside a few such
blocks at the incumbent and solving what is left is a small MIP that HiGHS solves in seconds
even at England scale, and any plan it finds is a plan of the whole model (only bounds were
tightened). :mod:`planner.solver.improve` runs that loop on the second core.

The neighbourhoods are hints, like the MIP start: they never change the model or its optimum.
"""

from __future__ import annotations

import pyomo.environ as pyo

from formulations.model_data import ModelData

NEIGHBOURHOODS_ATTRIBUTE = "_neighbourhoods"
"""Attribute of a Pyomo model holding [[VarData]]: per service, the binaries that decide it
(:mod:`planner.solver.improve` reads it); absent or empty: no fix-and-optimise."""


def service_neighbourhoods(m: pyo.ConcreteModel, d: ModelData) -> list[list]:
    """Per service (in the order of ``d.y_by_service``): its y, its contracts' z in every year,
    and the w of every provider offering it in every year. A provider shared by several services
    appears in each of their neighbourhoods; freeing it lets a group enter or leave it."""
    contracts = d.derived.contracts
    provider_of = contracts["provider"].to_numpy()
    years = list(d.years)
    out: list[list] = []
    for service, ys in d.y_by_service.items():
        block = [d.yv[int(j)] for j in ys]
        block += [m.z[int(k), t] for k in d.z_by_service.get(service, ()) for t in years]
        providers = {provider_of[int(c)] for c in d.by_service.get(service, ())}
        block += [m.w[d.w_of[p], t] for p in sorted(providers) if p in d.w_of for t in years]
        out.append(block)
    return out
