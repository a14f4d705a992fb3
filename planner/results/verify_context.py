"""What every check of :func:`planner.results.verify.verify` shares: the tolerances and the
instance's raw tables read once (demand with level effects and growth, budgets, price changes).

Like the rest of verify it reads only the instance's tables and config, never derived data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

from planner.data.instance import Instance
from planner.rules import agrees as close
from planner.rules import tolerance as tol
from planner.rules import within as le

__all__ = ["Context", "close", "le", "tol"]  # the tolerance tests are planner.rules'


@dataclass
class Context:
    instance: Instance
    plan: object
    without: frozenset[str]
    bad: list[str]

    def on(self, family: str) -> bool:
        return family not in self.without

    @property
    def years(self) -> list[int]:
        base, horizon = self.instance.config.base_year, self.instance.config.horizon
        return [base + t for t in range(horizon)]

    def t(self, year: int) -> int:
        return int(year) - self.instance.config.base_year

    def budget(self, t: int) -> float | None:
        budget = self.instance.config.policy.budget
        return budget[t] if isinstance(budget, list) else budget

    def price_factor(self, t: int) -> float:
        return (1.0 + self.instance.config.policy.price_change) ** t

    @cached_property
    def _services(self) -> dict[str, tuple[float, str, float]]:
        """service -> (demand in episodes, category, yearly growth), read once."""
        default = self.instance.config.policy.demand_growth
        services = self.instance.services
        return {s: (float(d), c, default if math.isnan(g) else float(g)) for s, d, c, g in zip(
            services["service"], services["demand"], services["category"], services["growth"])}

    @cached_property
    def _demand_factors(self) -> dict[tuple[str, str], float]:
        """(level, category) -> demand_factor (the first row, as the data give it)."""
        effects = self.instance.level_effects
        factors: dict[tuple[str, str], float] = {}
        for level, category, factor in zip(effects["level"], effects["category"],
                                           effects["demand_factor"]):
            factors.setdefault((level, category), float(factor))
        return factors

    @cached_property
    def _offer_counts(self) -> dict[str, int]:
        return self.instance.offers["service"].value_counts().to_dict()

    def offers_of(self, service: str) -> int:
        """Offers of a service: at least its contracts at any one level."""
        return int(self._offer_counts.get(service, 0))

    def growth(self, service: str) -> float:
        return self._services[service][2]

    def demand(self, service: str, level: str, t: int) -> float:
        demand, category, growth = self._services[service]
        factor = self._demand_factors.get((level, category), 1.0)
        return demand * factor * (1.0 + growth) ** t

