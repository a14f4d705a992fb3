"""The data every family reads, prepared once, and the built model handed to the solver.

Index sets are ranges over rows of the derived tables (eligible contracts, eligible
service-levels, providers): no dense product is ever formed. Groupings (the contracts of a
service, of a provider, of a service-level) are computed once with pandas in :class:`ModelData`,
and each family is declared only over the rows where it can bind.

Variables (units), declared by :func:`formulations.variables.declare_variables`:
  x[c, t]  episodes in year t on eligible contract c = (service, level, provider)
  y[j]     1 if service-level j is the level chosen for its service (for the whole horizon)
  z[k, t]  1 if contract z_rows[k] is let in year t; only where it has a cost or choice role
  w[q, t]  1 if provider w_rows[q] is used in year t; only where income, entry or exit matter
Money is in £ (per year unless stated).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC

from formulations import areas, shifting
from formulations.areas import AreaModel
from formulations.shifting import ShiftData
from planner.derive.tables import Derived

if TYPE_CHECKING:
    from formulations.payment import PaymentData


def gc_paused(function):
    """Run ``function`` with Python's cyclic garbage collector paused.

    A model is hundreds of thousands of small, long-lived objects; while they are being made the
    collector repeatedly walks all of them for cycles that do not exist. Pausing it (as Pyomo's
    own writers do) cut building and transfer by a fifth to a half (docs/performance.md)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with PauseGC():
            return function(*args, **kwargs)

    return wrapper


def groups(keys: pd.Series | np.ndarray) -> dict[object, np.ndarray]:
    """Positions of each key's rows, in row order."""
    keys = pd.Series(keys).reset_index(drop=True)
    return {key: np.asarray(rows) for key, rows in keys.groupby(keys, sort=False).indices.items()}


@dataclass
class ModelData:
    """Arrays and groupings of the derived tables, prepared once for every family."""

    derived: Derived
    years: range
    sl_rows: np.ndarray
    z_rows: np.ndarray
    w_rows: np.ndarray
    z_of: dict[int, int]
    w_of: dict[str, int]
    y_of_contract: np.ndarray
    base_price: np.ndarray
    base_demand: np.ndarray
    growth: np.ndarray
    capacity: np.ndarray
    quality: np.ndarray
    by_service: dict[object, np.ndarray]
    by_provider: dict[object, np.ndarray]
    by_level: dict[object, np.ndarray]
    by_y: dict[object, np.ndarray]
    y_by_service: dict[object, np.ndarray]
    y_by_level: dict[object, np.ndarray]
    z_by_service: dict[object, np.ndarray]
    # coefficient tables read [row, year] (formulations.coefficients): floats or mutable Params
    coef: dict[str, object] = field(default_factory=dict)
    # the variables in index order, for positional access while building (declare_variables)
    xv: list = field(default_factory=list)
    yv: list = field(default_factory=list)
    zv: list = field(default_factory=list)
    wv: list = field(default_factory=list)
    # contract starts of the multi-year model, start[k, t] for t > 0 (formulations.years)
    sv: dict[tuple[int, int], object] = field(default_factory=dict)
    # wall seconds the greedy MIP start took (formulations.start; reported by scripts/bench.py)
    start_seconds: float = 0.0
    #: coverage and effects (issue 15, :mod:`formulations.shifting`); None: the instance has none
    shifting: ShiftData | None = None
    #: episodes a contract may carry above its level's demand (effects that add demand)
    added: np.ndarray | float = 0.0
    #: block contracts and chosen-able bundles (issue 16, :mod:`formulations.payment`)
    payment: PaymentData | None = None
    #: areas, access, fair shares and pooled money (issue 17, :mod:`formulations.areas`);
    #: None: no area rule changes the model
    areas: AreaModel | None = None

    #: the fields the build fills in (declare_variables, years, payment), not prepare(): a
    #: mutable model re-set to new data keeps its own (planner.solver.session.update); ``coef``
    #: is re-stored in place instead (formulations.coefficients.update_coefficients)
    BUILT_FIELDS: ClassVar[tuple[str, ...]] = ("xv", "yv", "zv", "wv", "sv", "payment")

    def keep_built(self, built: ModelData) -> None:
        """Take the build's own fields (BUILT_FIELDS) from ``built``, the model's data."""
        for name in self.BUILT_FIELDS:
            setattr(self, name, getattr(built, name))

    @classmethod
    def prepare(cls, derived: Derived) -> ModelData:
        contracts = derived.contracts
        sl = derived.service_levels.loc[derived.service_levels["eligible"]]
        sl_rows = sl.index.to_numpy()
        providers = derived.providers
        z_rows = np.flatnonzero(contracts["needs_z"].to_numpy())
        w_rows = np.flatnonzero(providers["needs_w"].to_numpy())
        y_of_sl = {int(row): j for j, row in enumerate(sl_rows)}
        y_of_contract = contracts["sl"].map(y_of_sl).to_numpy()
        by_provider = groups(contracts["provider"])
        for row in w_rows:  # a provider used only through a bundle holds no contract (issue 16)
            by_provider.setdefault(providers.at[int(row), "provider"], np.zeros(0, dtype=int))
        data = cls(
            derived=derived, years=range(derived.horizon), sl_rows=sl_rows, z_rows=z_rows,
            w_rows=w_rows, z_of={int(c): k for k, c in enumerate(z_rows)},
            w_of={providers.at[int(r), "provider"]: q for q, r in enumerate(w_rows)},
            y_of_contract=y_of_contract,
            base_price=contracts["unit_price"].to_numpy(),
            base_demand=contracts["level_demand"].to_numpy(),
            growth=contracts["growth"].to_numpy(),
            capacity=contracts["capacity"].to_numpy(),
            quality=contracts["quality"].to_numpy(),
            by_service=groups(contracts["service"]), by_provider=by_provider,
            by_level=groups(contracts["level"]), by_y=groups(y_of_contract),
            y_by_service=groups(sl["service"]), y_by_level=groups(sl["level"]),
            z_by_service=groups(contracts["service"].iloc[z_rows]),
        )
        shift = shifting.prepare(derived, data.by_service, sl_rows)  # issue 15
        if shift.active:
            data.shifting = shift
            data.added = shifting.added_demand(shift, derived)
        data.areas = areas.prepare(derived, sl_rows)  # issue 17
        return data

    # Year-dependent data (demand grows at the instance's rates); the model's coefficients by
    # year are tabled in formulations.coefficients.
    def demand(self, c: int | np.ndarray, t: int) -> float | np.ndarray:
        """Episodes of contract c's service at its level in year t."""
        added = self.added[c] if isinstance(self.added, np.ndarray) else 0.0
        return self.base_demand[c] * (1.0 + self.growth[c]) ** t + added

    def big_m(self, c: int, t: int) -> float:
        """Smallest valid bound on x[c, t]: min(capacity, demand)."""
        return float(self.big_m_array(np.asarray([c]), t)[0])

    def big_m_array(self, rows: np.ndarray, t: int) -> np.ndarray:
        """big_m of many contracts at once (subclasses override this one)."""
        demand = self.demand(rows, t)
        if not self.derived.on("offer_capacity") or not self.derived.capacity_in_big_m:
            return demand
        cap = self.capacity[rows]
        return np.where(np.isnan(cap), demand, np.minimum(cap, demand))

    # Positional access to the variables (index order of declare_variables)
    def x(self, c: int, t: int):
        return self.xv[c * len(self.years) + t]

    def z(self, k: int, t: int):
        return self.zv[k * len(self.years) + t]

    def w(self, q: int, t: int):
        return self.wv[q * len(self.years) + t]

    def started(self, k: int, t: int):
        """1 if contract z_rows[k] starts in year t: z in year 0 (the status quo is compared
        with the binary itself), the start variable after it (set-up costs with T > 1)."""
        return self.z(k, t) if t == 0 else self.sv[k, t]

    def on(self, family) -> bool:
        """Whether ``family`` (a :class:`planner.rules.Family`) is on in this build."""
        return self.derived.on(family)


@dataclass
class BuiltModel:
    """A built model and the row maps needed to read a solution back into tables."""

    model: pyo.ConcreteModel
    derived: Derived
    data: ModelData

    @property
    def sl_rows(self) -> np.ndarray:
        return self.data.sl_rows

    @property
    def z_rows(self) -> np.ndarray:
        return self.data.z_rows

    @property
    def w_rows(self) -> np.ndarray:
        return self.data.w_rows

    def counts(self) -> dict[str, int]:
        m = self.model
        variables = sum(len(v) for v in m.component_objects(pyo.Var, active=True))
        binaries = sum(1 for v in m.component_data_objects(pyo.Var, active=True) if v.is_binary())
        constraints = sum(len(c) for c in m.component_objects(pyo.Constraint, active=True))
        return {"variables": variables, "binaries": binaries, "constraints": constraints}


def year_index(keys, years: range) -> list[tuple]:
    """(key, t) for every key and year, key-major: the index of a family's rows by year."""
    return [(key, t) for key in keys for t in years]
