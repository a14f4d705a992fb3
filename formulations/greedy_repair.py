"""Step 4 of the greedy heuristic (:mod:`formulations.greedy`): fit the planned volumes to the
providers' bed-days and minimum incomes.

Why apart: the heuristic plans each service on its own (cheapest contracts first); only here do
services meet, in the hospitals they share. A mixin of :class:`formulations.greedy.Greedy`: it
reads the run's arrays (``d``, ``provider_of``, ``service_of``, ``use``, ``capacity``,
``net_price``, ``quality``, ``total_capacity``) and keeps its books (``spare`` bed-days and
``income_room`` £ by provider, ``limited`` and ``reserved`` bed-days by contract).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from formulations.greedy import LevelPlan


class Repair:
    """Moves volume off overfull hospitals and onto providers short of their minimum income."""

    def bed_room(self, c: int) -> float:
        """Episodes of contract c its provider's bed-days allow (only for providers found
        overfull: elsewhere the offer capacity alone limits it)."""
        use = self.use[c]
        return self.limited.get(c, math.inf) / use if use > 0 else math.inf

    def overfull(self, chosen: dict[str, LevelPlan]) -> set[str]:
        """Providers whose bed-days (total_capacity) the planned volumes exceed."""
        return {p for p, used in self.loads(chosen).items()
                if used > self.total_capacity.get(p, math.inf) + 1e-6}

    def loads(self, chosen: dict[str, LevelPlan]) -> dict[str, float]:
        load: dict[str, float] = {}
        for plan in chosen.values():
            for c, v in plan.volume.items():
                load[self.provider_of[c]] = load.get(self.provider_of[c], 0.0) + self.use[c] * v
        return load

    def repair(self, chosen: dict[str, LevelPlan]) -> set[str]:
        """Move planned volume, service by service at its chosen level, until every hospital's
        bed-days hold it and every used provider's minimum income is paid by it: off overfull
        hospitals onto contracts with beds and capacity to spare, and onto providers short of
        income from providers with income to spare (letting new contracts where needed).
        Returns the providers still overfull or short, if any."""
        self.open_books(chosen)
        for p in sorted(p for p, room in self.spare.items() if room < -1e-6):
            mine = [(s, c) for s, plan in chosen.items() for c in plan.volume
                    if self.provider_of[c] == p and self.use[c] > 0]
            for s, c in sorted(mine, key=lambda sc: (-self.use[sc[1]] * chosen[sc[0]].volume[sc[1]],
                                                      sc[1])):
                if self.spare[p] >= -1e-6:
                    break
                excess = min(chosen[s].volume[c] - self.least(s, chosen[s]),
                             -self.spare[p] / self.use[c], self.room_to_lose(c))
                self.move_off(s, c, chosen[s], excess)
        for p in sorted(p for p, room in self.income_room.items() if room < -1e-6):
            mine = [int(c) for c in self.d.by_provider[p]
                    if self.service_of[c] in chosen
                    and self.d.y_of_contract[c] == chosen[self.service_of[c]].j]
            for c in sorted(mine, key=lambda c: (-self.d.base_price[c], c)):
                if self.income_room[p] >= -1e-6:
                    break
                s = self.service_of[c]
                self.move_on(s, c, chosen[s], -self.income_room[p] / self.d.base_price[c])
        return {p for p, room in self.spare.items() if room < -1e-6} | \
            {p for p, room in self.income_room.items() if room < -1e-6}

    def open_books(self, chosen: dict[str, LevelPlan]) -> None:
        """Each provider's ``spare`` bed-days and ``income_room`` £ under the planned volumes,
        which :meth:`shift` then keeps up to date (loads read once: per provider it made the
        repair quadratic)."""
        load = self.loads(chosen)
        self.spare = {p: total - load.get(p, 0.0) for p, total in self.total_capacity.items()}
        self.income_room = self.incomes_above_minimum(chosen)

    def least(self, s: str, plan: LevelPlan) -> float:
        """Episodes a let contract must keep: the service's minimum share."""
        return self.rule(s, "min_share", "min_share", 0.0) * self.demand(plan.j)

    def room_to_lose(self, c: int) -> float:
        """Episodes contract c may lose before its provider falls below its minimum income."""
        room = self.income_room.get(self.provider_of[c], math.inf)
        return room / self.d.base_price[c] if self.d.base_price[c] > 0 else math.inf

    def room_to_take(self, c: int, plan: LevelPlan) -> float:
        """Episodes contract c may gain: its offer capacity and its provider's free bed-days."""
        beds = self.spare.get(self.provider_of[c], math.inf) / self.use[c] \
            if self.use[c] > 0 else math.inf
        return min(self.capacity[c] - plan.volume.get(c, 0.0), beds)

    def can_let(self, s: str, k: int, plan: LevelPlan, amount: float) -> bool:
        """Whether contract k may take ``amount`` episodes (letting it if it is not let yet)."""
        if k in plan.volume:
            return True
        q = self.provider_of[k]
        if q not in self.income_room and self.on("min_income") \
                and self.providers.at[q, "min_income"] > 0:
            return False  # would bring in a provider whose minimum income no plan pays yet
        most = self.rule(s, "max_providers", "max_providers", math.inf)
        return amount >= self.least(s, plan) and len(plan.rows) + 1 <= most

    def move_off(self, s: str, c: int, plan: LevelPlan, excess: float) -> None:
        """Move up to ``excess`` episodes from contract c to the cheapest contracts with room."""
        floor = self.rule(s, "min_avg_quality", "avg_quality", 0.0)
        for k in sorted((int(k) for k in self.d.by_y.get(plan.j, ())
                         if int(k) != c and self.provider_of[k] not in self.banned
                         and self.quality[k] >= floor), key=lambda k: (self.net_price[k], k)):
            if excess <= 1e-9:
                break
            amount = min(self.room_to_take(k, plan), excess)
            if amount > 1e-9 and self.can_let(s, k, plan, amount):
                self.shift(plan, c, k, amount)
                excess -= amount

    def move_on(self, s: str, c: int, plan: LevelPlan, wanted: float) -> None:
        """Move up to ``wanted`` episodes onto contract c from the dearest contracts that can
        spare them (keeping their minimum shares and their providers' minimum incomes)."""
        wanted = min(wanted, self.room_to_take(c, plan))
        if wanted <= 1e-9 or not self.can_let(s, c, plan, wanted):
            return
        for k in sorted((k for k in plan.volume if k != c),
                        key=lambda k: (-self.net_price[k], k)):
            if wanted <= 1e-9:
                break
            amount = min(plan.volume[k] - self.least(s, plan), self.room_to_lose(k), wanted)
            if amount > 1e-9:
                self.shift(plan, k, c, amount)
                wanted -= amount

    def shift(self, plan: LevelPlan, c: int, k: int, amount: float) -> None:
        """Move ``amount`` episodes from contract c to contract k, keeping the books."""
        if k not in plan.volume:
            plan.rows.append(k)
            plan.volume[k] = 0.0
        plan.volume[c] -= amount
        plan.volume[k] += amount
        for contract, sign in ((c, 1.0), (k, -1.0)):
            p = self.provider_of[contract]
            if p in self.spare:
                self.spare[p] += sign * amount * self.use[contract]
            if p in self.income_room:
                self.income_room[p] -= sign * amount * self.d.base_price[contract]

    def limit_beds(self, providers: set[str]) -> None:
        """From now on, share these providers' bed-days among their services as the status
        quo does (see reserve_beds): the status quo fits, so its shares do."""
        for p in providers:
            for c in self.d.by_provider[p]:
                if int(c) in self.reserved:
                    self.limited[int(c)] = self.reserved[int(c)]

    def reserve_beds(self) -> dict[int, float]:
        """Each provider's bed-days shared among its services in proportion to their status-quo
        bed-day use (or, with no status quo, their capacity)."""
        contracts = self.d.derived.contracts
        incumbent = contracts["incumbent_volume"].to_numpy()
        basis = np.where(incumbent > 0, incumbent,
                         np.minimum(self.capacity, self.d.base_demand) * 1e-3)
        weight = self.use * basis
        reserved: dict[int, float] = {}
        for p, rows in self.d.by_provider.items():
            total = self.total_capacity.get(p)
            if total is None:
                continue
            offers: dict[str, float] = {}  # one weight per offer: its levels' contracts share it
            for c in rows:
                offers[self.service_of[c]] = max(offers.get(self.service_of[c], 0.0), weight[c])
            whole = sum(offers.values())
            for c in rows:
                if self.use[c] > 0:
                    reserved[int(c)] = total * offers[self.service_of[c]] / whole \
                        if whole > 0 else 0.0
        return reserved
