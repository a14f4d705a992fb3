"""verify's recheck of shifting care (issue 15), from the raw tables and the plan's volumes only.

A service's required volume in year t at its chosen level l is

    R_s,t = D_s,l,t + Σ_{e: target s, t ≥ lag_e} factor_e × V_source_e,t−lag_e

with D_s,l,t its demand (demand × level demand_factor × growth^t, as verify computes it) and V the
episodes the plan's contracts give the source that year. A service with min_coverage κ < 1 may
carry any volume in [κ·D, D]; every other commissioned service carries exactly R. Nothing here
reads the model, derive or the plan's derived columns (demand, coverage, effects.csv).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from planner.results.verify_context import Context as _Context


class ShiftCheck:
    """The effects and coverage of one instance, against one plan's contract volumes."""

    def __init__(self, ctx: _Context):
        self.ctx = ctx

    @cached_property
    def volume(self) -> dict[tuple[str, int], float]:
        contracts = self.ctx.plan.contracts
        return contracts.groupby(["service", "year"])["volume"].sum().to_dict()

    @cached_property
    def effects(self) -> dict[str, list[tuple[str, float, int]]]:
        out: dict[str, list[tuple[str, float, int]]] = {}
        effects = self.ctx.instance.effects
        for source, target, factor, lag in zip(effects["source"], effects["target"],
                                               effects["factor"], effects["lag"]):
            out.setdefault(target, []).append((source, float(factor), int(lag)))
        return out

    @cached_property
    def coverage(self) -> dict[str, float]:
        services = self.ctx.instance.services
        return dict(zip(services["service"], services["min_coverage"].astype(float)))

    def shift(self, service: str, year: int) -> float:
        """Episodes the effects add to (+) or avoid from (−) the service's demand in ``year``."""
        t = self.ctx.t(year)
        return sum(factor * self.volume.get((source, year - lag), 0.0)
                   for source, factor, lag in self.effects.get(service, ()) if t >= lag)

    def problem(self, service: str, level: str, year: int, volume: float) -> str | None:
        """What is wrong with a commissioned service's volume in ``year`` (None if right)."""
        from planner.rules import agrees as _close
        from planner.rules import within as _le

        demand = self.ctx.demand(service, level, self.ctx.t(year))
        least = self.coverage.get(service, 1.0)
        if least < 1 - 1e-12:
            if not (_le(least * demand, volume) and _le(volume, demand)):
                return (f"volume {volume:g} outside the coverage [{least:g}, 1] × demand "
                        f"{demand:g} at {level}")
            return None
        required = demand + self.shift(service, year)
        if not _close(volume, required):
            moved = required - demand
            return (f"volume {volume:g} ≠ demand {required:g} at {level}"
                    + (f" ({demand:g} {moved:+g} shifted by effects.csv)" if moved else ""))
        return None
