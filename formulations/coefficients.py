"""The model's data-dependent coefficients, computed in one place so a sweep can re-set them.

Prices, demand and the thresholds (minimum average quality, minimum share, minimum income) enter
the model only as the coefficients below. A plain build writes them into the rows as numbers. A
*mutable* build (``Derived.mutable``, used by sweeps) declares each table as a mutable Pyomo
``Param`` instead, and lets no row's presence depend on these values (a row that a value makes
redundant is kept). A scenario whose derived *structure* (``structure_signature``) equals the
built model's then needs no rebuild: ``update_coefficients`` stores the scenario's values in the
parameters and the persistent HiGHS model takes only those changes
(:func:`planner.solver.signature.structure_signature` computes the structure).

Every table is an array of shape (rows, years), in the units stated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from formulations.idle_rows import set_idle_rows
from planner.rules import MIN_CONTRACT_VOLUME

if TYPE_CHECKING:
    from formulations.families import ModelData
    from planner.derive.tables import Derived

#: Derived columns whose values reach the model only through the tables below (plus columns
#: whose effect on the structure is already captured by a structural column: ``min_quality``
#: by ``meets_quality``, ``cv`` by ``eligible``). Every other column is structure.
VALUE_COLUMNS: dict[str, frozenset[str]] = {
    "levels": frozenset({"population"}),
    "services": frozenset({"demand", "activity_rate", "cost_cv", "tariff", "min_quality",
                           "min_avg_quality", "min_share", "growth", "rate", "least_rate",
                           "mean_price"}),
    "service_levels": frozenset({"reason", "cv", "demand_factor", "level_demand", "growth",
                                 "risk_sd", "risk_cost"}),
    "offers": frozenset({"price", "quality", "min_quality", "unit_price"}),
    "contracts": frozenset({"level_demand", "growth", "unit_price", "quality", "big_m"}),
    "providers": frozenset({"min_income", "min_volume"}),
    "bundles": frozenset(),  # issue 16: every bundle column is structure (a change rebuilds)
}
#: Policy keys that are parameters of a built model (the budget and £ per QALY are Params of
#: their own; the yearly price change reaches the model through the price tables).
VALUE_POLICY_KEYS = frozenset({"budget", "value_per_qaly", "price_change"})

TABLES = ("demand", "big_m", "sl_demand", "min_share_volume", "headroom_need", "headroom_cover",
          "quality_margin", "price", "min_income", "min_volume", "risk", "notice_price",
          "notice_bound", "let_volume")


def coefficient_tables(d: ModelData) -> dict[str, np.ndarray]:
    """Every mutable coefficient of the model, as arrays (rows × years)."""
    derived = d.derived
    years = np.arange(len(d.years))
    contracts = derived.contracts
    services = derived.services.set_index("service")
    rows = np.arange(len(contracts))
    prices = (1.0 + derived.price_change) ** years  # price factor per year
    demand = d.demand(rows[:, None], years[None, :])  # episodes of the contract's service-level
    sl = derived.service_levels.loc[d.sl_rows]
    sl_demand = sl["level_demand"].to_numpy(float)[:, None] \
        * (1.0 + sl["growth"].to_numpy(float))[:, None] ** years
    share = contracts["service"].map(services["min_share"]).to_numpy(float)
    headroom = contracts["service"].map(services["choice_headroom"]).to_numpy(float)
    sl_headroom = sl["service"].map(services["choice_headroom"]).to_numpy(float)
    capacity = np.where(np.isnan(d.capacity), np.inf, d.capacity)[:, None]
    floor = contracts["service"].map(services["min_avg_quality"]).to_numpy(float)
    w_providers = derived.providers.iloc[d.w_rows]
    change = prices[None, :]
    risk_growth = np.sqrt((1.0 + sl["growth"].to_numpy(float))[:, None] ** years)
    big_m = np.stack([d.big_m_array(rows, t) for t in d.years], axis=1) \
        if len(rows) else np.zeros((0, len(years)))
    # eligible contracts of each contract's service-level: if all were let, each could still
    # carry demand / count, so the floor below never makes a feasible instance infeasible
    sharing = contracts.groupby("sl")["sl"].transform("size").to_numpy(float) \
        if len(rows) else np.ones(0)
    incumbent = incumbent_offers(derived)
    offer_key = (contracts["provider"] + "\x1f" + contracts["service"]).to_numpy()
    largest = pd.DataFrame(big_m).groupby(offer_key).max().reindex(
        (incumbent["provider"] + "\x1f" + incumbent["service"]).to_numpy()).fillna(0.0)
    return {
        "demand": demand,
        "big_m": big_m,
        "sl_demand": sl_demand,
        "min_share_volume": share[:, None] * demand,
        "headroom_need": (1.0 + sl_headroom)[:, None] * sl_demand,
        "headroom_cover": np.minimum(capacity, (1.0 + headroom)[:, None] * demand),
        "quality_margin": np.repeat((d.quality - floor)[:, None], len(years), axis=1),
        "price": d.base_price[:, None] * change,
        "min_income": w_providers["min_income"].to_numpy(float)[:, None] * change,
        "min_volume": np.repeat(w_providers["min_volume"].to_numpy(float)[:, None], len(years),
                                axis=1),
        "risk": sl["risk_cost"].to_numpy(float)[:, None] * change * risk_growth,
        "notice_price": incumbent["unit_price"].to_numpy(float)[:, None] * change,
        # episodes: the most an incumbent offer's contracts can hold in year t (notice big-M)
        "notice_bound": largest.to_numpy(float).reshape(len(incumbent), len(years)),
        # episodes a let contract carries at least: one episode, or less where its bound is
        # smaller, or where the service-level's demand is smaller than its number of contracts
        "let_volume": np.minimum(np.minimum(MIN_CONTRACT_VOLUME, big_m),
                                 demand / np.maximum(sharing, 1.0)[:, None]),
    }


def incumbent_offers(derived: Derived) -> pd.DataFrame:
    """Offers with incumbent activity (they may owe notice over several years), in order."""
    offers = derived.offers
    return offers.loc[offers["incumbent_volume"] > 0]


class Table:
    """A coefficient table read as ``table[row, year]``: Python floats (a plain build)."""

    __slots__ = ("values",)

    def __init__(self, array: np.ndarray):
        self.values = array.tolist()

    def __getitem__(self, key: tuple[int, int]) -> float:
        return self.values[key[0]][key[1]]


def declare(m: pyo.ConcreteModel, d: ModelData) -> dict[str, object]:
    """The tables as the families read them: floats, or mutable Params in a mutable build."""
    tables = coefficient_tables(d)
    if not d.derived.mutable:
        return {name: Table(array) for name, array in tables.items()}
    out = {}
    for name, array in tables.items():
        index = [(i, t) for i in range(array.shape[0]) for t in range(array.shape[1])]
        param = pyo.Param(index, mutable=True, initialize=dict(zip(index, array.ravel().tolist())),
                          within=pyo.Reals)
        m.add_component(f"coef_{name}", param)
        out[name] = param
    return out


def update_coefficients(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Store the tables of ``d`` (same structure as the model's) in the model's Params."""
    for name, array in coefficient_tables(d).items():
        param = getattr(m, f"coef_{name}")
        if len(param) != array.size:
            raise ValueError(f"coefficient table {name} changed shape; the model needs a rebuild")
        index = [(i, t) for i in range(array.shape[0]) for t in range(array.shape[1])]
        param.store_values(dict(zip(index, array.ravel().tolist())))
    set_idle_rows(m, d)  # the rows the new values idle, or make bind (formulations.idle_rows)
