"""Areas (issue 17): the localities of the population, each service's demand in each, and access.

Why derived: the model and the reports need the same few tables (an area's share of need, its
share of each service's demand, which areas each offer may serve, which levels are pooled with
the local authority) and both must read them from one place. Computed with pandas from the raw
tables; nothing here builds a model.

Symbols (documented in docs/model.md, "Areas and fair shares"):
  P_a   population of area a (people);  N_a  its need_index;  W_a  its qaly_weight
  w_a   need share  P_a·N_a / Σ_b P_b·N_b
  δ_sa  area a's share of service s's demand: area_demand.csv's demand_sa / Σ_b demand_sb when
        the file lists s, else w_a (demand follows population × need)
  A_o   areas offer o may serve (offers.areas; blank = every area)

Without areas.csv there is one area, ``all``, with the instance's population (so a
``min_area_coverage`` or a pooled contribution still means something); the area rows are then
built only when one of the area rules is asked for (:attr:`AreaData.active`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planner.data.instance import Instance

#: the one area of an instance without areas.csv
WHOLE = "all"
#: the level pooled with the local authority whatever levels.pooled says (issue 17)
JOINT_LA = "joint_la"


@dataclass(frozen=True)
class AreaData:
    """The area tables the model, the plan's tables and the reports read."""

    areas: pd.DataFrame  # area, population, need_index, qaly_weight, indicative_budget, need_share
    shares: pd.DataFrame  # δ: index service, columns area (rows sum to 1)
    access: dict[tuple[str, str], frozenset[str]]  # (provider, service) -> areas; absent = all
    pooled_levels: frozenset[str]
    from_file: bool  # areas.csv was given
    min_area_coverage: dict[str, float] = field(default_factory=dict)  # service -> μ_s (> 0 only)

    @property
    def names(self) -> list[str]:
        return self.areas["area"].tolist()

    def serves(self, provider: str, service: str) -> list[str]:
        """The areas offer (provider, service) may serve, in areas' order."""
        allowed = self.access.get((provider, service))
        return self.names if allowed is None else [a for a in self.names if a in allowed]

    @property
    def limited_services(self) -> frozenset[str]:
        """Services with an offer that cannot serve every area."""
        every = set(self.names)
        return frozenset(s for (_, s), allowed in self.access.items() if not every <= allowed)


def area_frame(instance: Instance) -> pd.DataFrame:
    """areas.csv with need shares, or the one area ``all`` (population from instance.yaml)."""
    areas = instance.areas
    if areas.empty:
        areas = pd.DataFrame({"area": [WHOLE], "name": [""], "population":
                              [float(instance.config.population)], "need_index": [1.0],
                              "qaly_weight": [1.0], "indicative_budget": [np.nan]})
    areas = areas[["area", "population", "need_index", "qaly_weight", "indicative_budget"]].copy()
    weighted = areas["population"].to_numpy(float) * areas["need_index"].to_numpy(float)
    areas["need_weighted_population"] = weighted
    areas["need_share"] = weighted / weighted.sum()
    return areas.reset_index(drop=True)


def demand_shares(instance: Instance, areas: pd.DataFrame) -> pd.DataFrame:
    """δ_sa, services × areas: area_demand.csv where it lists a service, else the need share."""
    services = instance.services["service"].tolist()
    names = areas["area"].tolist()
    shares = pd.DataFrame(np.tile(areas["need_share"].to_numpy(float), (len(services), 1)),
                          index=services, columns=names)
    given = instance.area_demand
    if not given.empty:
        table = given.pivot_table(index="service", columns="area", values="demand",
                                  aggfunc="sum").reindex(columns=names).fillna(0.0)
        totals = table.sum(axis=1)
        table = table.loc[totals > 0].div(totals[totals > 0], axis=0)
        shares.loc[table.index] = table.to_numpy()
    return shares


def derive_areas(instance: Instance) -> AreaData:
    """The :class:`AreaData` of ``instance``."""
    areas = area_frame(instance)
    offers = instance.offers
    access = {(p, s): frozenset(a) for p, s, a in zip(offers["provider"], offers["service"],
                                                      offers["areas"]) if len(a)}
    levels = instance.levels
    pooled = frozenset(levels.loc[levels["pooled"] | (levels["level"] == JOINT_LA), "level"])
    floors = instance.services.set_index("service")["min_area_coverage"]
    return AreaData(areas=areas, shares=demand_shares(instance, areas), access=access,
                    pooled_levels=pooled, from_file=not instance.areas.empty,
                    min_area_coverage={s: float(v) for s, v in floors.items() if v > 0})


def la_contributions(instance: Instance) -> tuple[float, ...]:
    """£ the local authority pools in each year of the horizon (policy.la_contribution)."""
    value = instance.config.policy.la_contribution
    horizon = instance.config.horizon
    return tuple(float(v) for v in (value if isinstance(value, list) else [value] * horizon))
