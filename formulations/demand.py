"""Families 1–3: the level chosen for each service, its demand met, and the linking rows that
tie volumes, contracts, levels and providers together (MODEL §2)."""

from __future__ import annotations

import pyomo.environ as pyo

from formulations import shifting
from formulations.model_data import ModelData, year_index
from formulations.rows import at_most, equal, linear, rows
from planner.rules import Family


def add_level_choice(m: pyo.ConcreteModel, d: ModelData) -> None:
    """1. One level per mandatory service (≤ 1 otherwise: ``--without mandatory`` makes every
    service optional). Rows by service, in services."""
    services = d.derived.services.set_index("service")
    mandatory = (services["mandatory"] & d.on(Family.MANDATORY)).to_dict()
    keys = list(d.y_by_service)

    def level_choice(s):
        total = linear((1.0, d.yv[j]) for j in d.y_by_service[s])
        return equal(total, 1) if mandatory[s] else at_most(total, 1)

    m.level_choice = rows(keys, (level_choice(s) for s in keys))


def add_demand(m: pyo.ConcreteModel, d: ModelData) -> None:
    """2. The chosen level's demand met: Σ_c x[c, t] = demand[j, t]·y[j] (episodes), by
    eligible service-level j and year."""
    index = year_index(range(len(d.sl_rows)), d.years)
    by_y = {j: rows_.tolist() for j, rows_ in d.by_y.items()}
    sl_demand = d.coef["sl_demand"]

    def demand(j, t):
        body = [(1.0, d.x(c, t)) for c in by_y.get(j, ())]
        body += shifting.demand_side(m, d, j, t, sl_demand[j, t])  # −D·y (or coverage, effects)
        return equal(linear(body), 0)

    m.demand = rows(index, (demand(j, t) for j, t in index))


def add_linking(m: pyo.ConcreteModel, d: ModelData) -> None:
    """3. x ≤ min(capacity, demand)·z; a let contract carries x ≥ min(1, bound, D/K)·z episodes
    (K the service-level's contracts, so the floors of all of them fit in its demand); z ≤ y;
    z ≤ w (or x ≤ M·w where there is no z); a used provider delivers at least min(1, its
    largest contract's demand) episodes."""
    contracts = d.derived.contracts
    z_rows = d.z_rows.tolist()
    years = d.years
    index = year_index(range(len(z_rows)), years)
    big_m = d.coef["big_m"]
    m.link_x_z = rows(index, (at_most(linear(((1.0, d.x(z_rows[k], t)),
                                              (-big_m[z_rows[k], t], d.z(k, t)))))
                              for k, t in index))
    let = d.coef["let_volume"]  # a let contract carries activity: x ≥ min(1, bound)·z
    m.let_activity = rows(index, (at_most(linear(((let[z_rows[k], t], d.z(k, t)),
                                                  (-1.0, d.x(z_rows[k], t)))))
                                  for k, t in index))
    y_of = d.y_of_contract.tolist()
    m.link_z_y = rows(index, (at_most(linear(((1.0, d.z(k, t)), (-1.0, d.yv[y_of[z_rows[k]]]))))
                              for k, t in index))
    provider_of = contracts["provider"].to_numpy()
    linked = [c for c in range(len(contracts)) if provider_of[c] in d.w_of]
    z_linked = [c for c in linked if c in d.z_of]
    x_linked = [c for c in linked if c not in d.z_of]
    q_of = [d.w_of.get(p) for p in provider_of]
    index = year_index(z_linked, years)
    m.link_z_w = rows(index, (at_most(linear(((1.0, d.z(d.z_of[c], t)), (-1.0, d.w(q_of[c], t)))))
                              for c, t in index))
    index = year_index(x_linked, years)
    m.link_x_w = rows(index, (at_most(linear(((1.0, d.x(c, t)), (-big_m[c, t], d.w(q_of[c], t)))))
                              for c, t in index))
    min_volume = d.coef["min_volume"]
    index = year_index(list(d.w_of), years)
    by_provider = {p: r.tolist() for p, r in d.by_provider.items()}
    m.provider_use = rows(index, (at_most(linear(
        [(min_volume[d.w_of[p], t], d.w(d.w_of[p], t))]
        + [(-1.0, d.x(c, t)) for c in by_provider[p]])) for p, t in index))
