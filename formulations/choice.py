"""Families 5–7: a contract's minimum share, average quality, and patient choice (the number of
providers and the contracted headroom)."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from formulations.model_data import ModelData, year_index
from formulations.rows import at_least, at_most, linear, rows
from planner.rules import Family


def add_min_share(m: pyo.ConcreteModel, d: ModelData) -> None:
    """5. A let contract carries at least min_share × its service-level's demand:
    min_share·demand·z ≤ x (episodes), by contract binary and year."""
    services = d.derived.services.set_index("service")
    z_rows = d.z_rows.tolist()
    share = d.derived.contracts["service"].map(services["min_share"]).to_numpy()
    mutable = d.derived.mutable  # then no row's presence depends on a threshold's value
    shared = [k for k, c in enumerate(z_rows) if mutable or share[c] > 0] \
        if d.on(Family.MIN_SHARE) else []
    index = year_index(shared, d.years)
    volume = d.coef["min_share_volume"]
    m.min_share = rows(index, (at_most(linear((
        (volume[z_rows[k], t], d.z(k, t)), (-1.0, d.x(z_rows[k], t))))) for k, t in index))


def add_avg_quality(m: pyo.ConcreteModel, d: ModelData) -> None:
    """6. Volume-weighted average quality at least the floor: Σ (quality − floor)·x ≥ 0, by
    service and year, where some contract is below the floor."""
    services = d.derived.services.set_index("service")
    mutable = d.derived.mutable
    floor = services["min_avg_quality"].to_dict()
    avg = [s for s, r in d.by_service.items() if d.on(Family.AVG_QUALITY) and (mutable or (
        floor[s] > 0 and d.quality[r].min() < floor[s] - 1e-12))]
    index = year_index(avg, d.years)
    margin = d.coef["quality_margin"]
    m.avg_quality = rows(index, (at_least(linear(
        (margin[c, t], d.x(c, t)) for c in d.by_service[s].tolist()), 0) for s, t in index))


def add_min_providers(m: pyo.ConcreteModel, d: ModelData) -> None:
    """7a. Patient choice: Σ z ≥ min_providers·Σ y over the service, by service and year."""
    least = d.derived.services.set_index("service")["min_providers"].to_dict()
    index = year_index([s for s in d.z_by_service if d.on(Family.MIN_PROVIDERS) and least[s] > 1],
                       d.years)
    m.min_providers = rows(index, (at_most(linear(
        [(float(least[s]), d.yv[j]) for j in d.y_by_service[s]]
        + [(-1.0, d.z(k, t)) for k in d.z_by_service[s]])) for s, t in index))


def add_max_providers(m: pyo.ConcreteModel, d: ModelData) -> None:
    """7b. Lead provider: Σ z ≤ max_providers over the service, by service and year, where
    the service has more contract binaries than that."""
    most = d.derived.services.set_index("service")["max_providers"].to_dict()
    index = year_index([s for s in d.z_by_service if d.on(Family.MAX_PROVIDERS)
                        and not np.isnan(most[s]) and most[s] < len(d.z_by_service[s])], d.years)
    m.max_providers = rows(index, (at_most(linear((1.0, d.z(k, t)) for k in d.z_by_service[s]),
                                           float(most[s])) for s, t in index))


def add_headroom(m: pyo.ConcreteModel, d: ModelData) -> None:
    """7c. Contracted headroom: the capacity of the let contracts covers (1 + headroom) × the
    chosen level's demand (episodes), by service and year."""
    headroom = d.derived.services.set_index("service")["choice_headroom"].to_dict()
    z_rows = d.z_rows.tolist()
    need, cover = d.coef["headroom_need"], d.coef["headroom_cover"]

    def headroom_row(s, t):
        needed = [(need[j, t], d.yv[j]) for j in d.y_by_service[s]]
        counted = [(-cover[z_rows[k], t], d.z(k, t)) for k in d.z_by_service[s]]
        return at_most(linear(needed + counted))

    index = year_index([s for s in d.z_by_service if d.on(Family.HEADROOM) and headroom[s] > 0],
                       d.years)
    m.headroom = rows(index, (headroom_row(s, t) for s, t in index))
