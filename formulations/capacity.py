"""Family 4: offer capacity (episodes per offer) and shared provider capacity (resource units)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from formulations.model_data import ModelData, groups, year_index
from formulations.rows import at_most, linear, rows
from planner.rules import Family


def add_offer_capacity(m: pyo.ConcreteModel, d: ModelData) -> None:
    """4a. Σ x over an offer's contracts (any level) ≤ its capacity, by offer and year; only
    where it can bind (an offer whose capacity exceeds the most its contracts could take has no
    row, except in a mutable build, where demand may be re-set)."""
    if not d.on(Family.OFFER_CAPACITY):
        return
    offer_key = offer_keys(d)
    binding = ~np.isnan(d.capacity)
    if not d.derived.mutable:  # a mutable build keeps rows that only today's demand idles
        binding &= offer_can_bind(d, offer_key)
    offers = groups(offer_key[binding])
    positions = np.flatnonzero(binding)
    rows_of = {o: positions[r].tolist() for o, r in offers.items()}
    index = year_index(list(rows_of), d.years)
    m.offer_capacity = rows(index, (at_most(linear((1.0, d.x(c, t)) for c in rows_of[o]),
                                            float(d.capacity[rows_of[o][0]]))
                                    for o, t in index))


def offer_keys(d: ModelData) -> pd.Series:
    """Each contract's offer, as the offer_capacity rows are indexed: provider \x1f service."""
    contracts = d.derived.contracts
    return contracts["provider"] + "\x1f" + contracts["service"]


def offer_can_bind(d: ModelData, offer_key: pd.Series) -> np.ndarray:
    """By contract: its offer's capacity is below the most any one of the offer's contracts
    could take (a service is bought at one level, so its contracts never add up beyond that)."""
    largest = d.demand(np.arange(len(offer_key)), d.years[-1])
    most = pd.Series(np.maximum(largest, d.base_demand)).groupby(offer_key).transform("max")
    return d.capacity < most.to_numpy() - 1e-9


def provider_can_bind(d: ModelData) -> dict[str, bool]:
    """By provider with a total capacity: whether its contracts could ever exceed it."""
    use = d.derived.contracts["capacity_use"].to_numpy()
    total = d.derived.providers.set_index("provider")["total_capacity"].to_dict()
    all_rows = np.arange(len(use))
    most = use * np.maximum(d.big_m_array(all_rows, 0), d.big_m_array(all_rows, d.years[-1]))
    return {p: bool(most[r].sum() > total[p] + 1e-9) for p, r in d.by_provider.items()
            if not np.isnan(total[p])}


def add_provider_capacity(m: pyo.ConcreteModel, d: ModelData) -> None:
    """4b. Σ capacity_use·x over a provider's contracts ≤ total_capacity (·w where the provider
    has a use binary), by provider and year; only where the contracts could exceed it."""
    if not d.on(Family.PROVIDER_CAPACITY):
        return
    use = d.derived.contracts["capacity_use"].to_numpy()
    total = d.derived.providers.set_index("provider")["total_capacity"].to_dict()
    capped = [p for p, binds in provider_can_bind(d).items() if d.derived.mutable or binds]
    use_of = use.tolist()

    def provider_capacity(p, t):
        used = [(use_of[c], d.x(c, t)) for c in d.by_provider[p].tolist()]
        if p in d.w_of:
            return at_most(linear(used + [(-float(total[p]), d.w(d.w_of[p], t))]))
        return at_most(linear(used), float(total[p]))

    index = year_index(capped, d.years)
    m.provider_capacity = rows(index, (provider_capacity(p, t) for p, t in index))
