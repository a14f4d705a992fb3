"""A greedy, status-quo-based MIP start: levels, contracts and providers, for HiGHS to complete.

Why: at region and England scale HiGHS's LP bound is within a fraction of a per cent of the
optimum, but its own heuristics take minutes to find any plan at all (none in 10 minutes at
England scale). Given a reasonable set of binaries, HiGHS fixes them, solves the remaining LP
for the volumes and, if that is feasible, starts branch and bound with a plan in hand, so a 1 %
gap is often proven at the root.

The start is only a hint. It never changes the model or its optimum: if the LP with these
binaries fixed is infeasible (a budget it misses, a bed-day limit it overlooks), HiGHS discards
it and solves as without it.

The heuristic, per service and eligible level: rank the eligible contracts by £ per episode
(price − λ × QALYs per episode, plus the contract's transaction and set-up costs spread over the
volume it can take), and let contracts in that order until capacity covers demand with the
service's headroom (and at least its minimum number of providers, each able to take its minimum
share). The level chosen is the cheapest such plan plus the level's risk cost, taking services
with most to lose first while a level has commissioning capacity. A non-mandatory service is
commissioned only if that plan is worth more than it costs. Then any provider whose contracts
cannot reach its minimum income is dropped and its services re-planned without it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from formulations.families import ModelData

STEP = 0.5  # bed-day price raised per round, as a share of the typical £ per bed-day × overload
SLACK = 1.0  # volume the let contracts can take, above demand: room for the LP to move


@dataclass
class LevelPlan:
    """The contracts (rows of derived.contracts) let for a service at one level, and the cost."""

    j: int
    rows: list[int]
    cost: float
    volume: dict[int, float]


def greedy_start(m: pyo.ConcreteModel, d: ModelData) -> list[tuple]:
    """Start values [(VarData, 0/1)] for y, z and w; the volumes x are left to HiGHS."""
    planner = _Greedy(d)
    chosen = planner.plan_services(banned=set())
    for round_ in range(10):  # re-plan while hospitals are overfull or providers cannot break even
        full = planner.overfull(chosen)
        short = planner.short_of_income(chosen)
        if not full and not short:
            break
        if round_ < 5:
            planner.price_beds(full, chosen)  # first steer volume away with a bed-day price
        else:
            planner.limit_beds(full)  # then hold the rest to their status-quo shares
        for p in sorted(short):
            planner.secure_income(p, chosen)
        chosen = planner.plan_services(banned=planner.banned)
    return planner.values(m, chosen)


class _Greedy:
    def __init__(self, d: ModelData):
        self.d = d
        derived = d.derived
        self.on = derived.on
        contracts = derived.contracts
        self.services = derived.services.set_index("service")
        self.providers = derived.providers.set_index("provider")
        self.provider_of = contracts["provider"].to_numpy()
        self.service_of = contracts["service"].to_numpy()
        value = derived.instance.config.policy.value_per_qaly
        self.net_price = d.base_price - value * contracts["qaly_per_episode"].to_numpy()
        self.fixed = contracts["contract_cost"].to_numpy() + contracts["setup"].to_numpy()
        capacity = d.capacity if self.on("offer_capacity") else np.full(len(contracts), np.nan)
        self.capacity = np.where(np.isnan(capacity), np.inf, capacity)
        self.risk = derived.service_levels.loc[d.sl_rows, "risk_cost"].to_numpy()
        self.levels = derived.levels.set_index("level")
        self.level_of_y = derived.service_levels.loc[d.sl_rows, "level"].to_numpy()
        self.quality = d.quality
        self.use = contracts["capacity_use"].to_numpy()
        total = self.providers["total_capacity"] if self.on("provider_capacity") else None
        self.total_capacity = {} if total is None else \
            {p: float(v) for p, v in total.items() if not np.isnan(v)}
        self.banned: set[str] = set()
        self.limited: dict[int, float] = {}
        self.reserved = self.reserve_beds()
        self.rules = self._rules()
        sl = derived.service_levels.loc[d.sl_rows]
        growth = sl["growth"].to_numpy()
        self.sl_demand = sl["level_demand"].to_numpy() * np.maximum(
            1.0, (1.0 + growth) ** (len(d.years) - 1))
        self.forced: set[int] = set()
        self.bed_price: dict[str, float] = {}
        self.penalty = np.zeros(len(contracts))

    def demand(self, j: int) -> float:
        """The service-level's largest demand over the horizon."""
        return self.sl_demand[j]

    def rule(self, s: str, name: str, family: str, default: float) -> float:
        return self.rules[(s, name)] if self.on(family) else default

    def _rules(self) -> dict[tuple[str, str], float]:
        """The choice and quality rules of each service, as floats (blank: no rule)."""
        defaults = {"min_share": 0.0, "min_providers": 1.0, "max_providers": math.inf,
                    "min_avg_quality": 0.0, "choice_headroom": 0.0}
        out = {}
        for name, default in defaults.items():
            for s, value in self.services[name].items():
                out[(s, name)] = default if value is None or pd.isna(value) else float(value)
        return out

    def plan_level(self, s: str, j: int, banned: set[str]) -> LevelPlan | None:
        """Cheapest contracts covering the service at level j, or None if they cannot."""
        demand = self.demand(j)
        share = self.rule(s, "min_share", "min_share", 0.0)
        least = self.rule(s, "min_providers", "min_providers", 1.0)
        most = self.rule(s, "max_providers", "max_providers", math.inf)
        floor = self.rule(s, "min_avg_quality", "avg_quality", 0.0)
        headroom = 1.0 + self.rule(s, "choice_headroom", "headroom", 0.0)
        take = {}
        for c in self.d.by_y.get(j, ()):
            c = int(c)
            if self.provider_of[c] in banned:
                continue
            room = self.bed_room(c)
            if min(self.capacity[c], room) >= max(share * demand - 1e-9, 1e-9):
                take[c] = min(self.capacity[c], demand, room)
        ranked = sorted(take, key=lambda c: (c not in self.forced, self.net_price[c]
                                             + self.penalty[c] + self.fixed[c] / take[c], c))
        picked: list[int] = []
        covered = contracted = 0.0
        for c in ranked:
            if covered >= demand * SLACK and contracted >= demand * headroom \
                    and len(picked) >= least and c not in self.forced:
                break
            picked.append(c)
            covered += take[c]
            contracted += min(self.capacity[c], demand * headroom)
        if covered < demand - 1e-6 or contracted < demand * headroom - 1e-6:
            return None
        volume = self.allocate(picked, take, demand, share, floor > 0)
        for c in sorted(set(take) - set(picked), key=lambda c: (-self.quality[c], c)):
            if floor <= 0 or self.mean_quality(volume) >= floor - 1e-9:
                break
            picked.append(c)  # raise the average quality with the best providers left
            volume = self.allocate(picked, take, demand, share, True)
        if len(picked) < least or len(picked) > most or (
                floor > 0 and self.mean_quality(volume) < floor - 1e-9):
            return None
        cost = sum(self.net_price[c] * v + self.fixed[c] for c, v in volume.items()) + self.risk[j]
        return LevelPlan(j, picked, float(cost), volume)

    def bed_room(self, c: int) -> float:
        """Episodes of contract c its provider's bed-days allow (only for providers found
        overfull: elsewhere the offer capacity alone limits it)."""
        use = self.use[c]
        return self.limited.get(c, math.inf) / use if use > 0 else math.inf

    def overfull(self, chosen: dict[str, LevelPlan]) -> set[str]:
        """Providers whose bed-days (total_capacity) the planned volumes exceed."""
        return {p for p, used in self.loads(chosen).items()
                if used > self.total_capacity.get(p, math.inf) + 1e-6}

    def price_beds(self, providers: set[str], chosen: dict[str, LevelPlan]) -> None:
        """Raise a £-per-bed-day price on overfull providers in proportion to their overload,
        so that the next plan moves the bed-using volume that is cheapest to move elsewhere."""
        load = self.loads(chosen)
        for p in providers:
            rows = [int(c) for c in self.d.by_provider[p] if self.use[c] > 0]
            typical = float(np.median([self.d.base_price[c] / self.use[c] for c in rows]))
            overload = load[p] / self.total_capacity[p] - 1.0
            self.bed_price[p] = self.bed_price.get(p, 0.0) + typical * STEP * max(overload, 0.01)
        for c, p in enumerate(self.provider_of):
            if p in self.bed_price:
                self.penalty[c] = self.bed_price[p] * self.use[c]

    def loads(self, chosen: dict[str, LevelPlan]) -> dict[str, float]:
        load: dict[str, float] = {}
        for plan in chosen.values():
            for c, v in plan.volume.items():
                load[self.provider_of[c]] = load.get(self.provider_of[c], 0.0) + self.use[c] * v
        return load

    def limit_beds(self, providers: set[str]) -> None:
        """From now on, share these providers' bed-days among their services as the status
        quo does (see reserve_beds): the status quo fits, so its shares do."""
        for p in providers:
            for c in self.d.by_provider[p]:
                if int(c) in self.reserved:
                    self.limited[int(c)] = self.reserved[int(c)]

    def mean_quality(self, volume: dict[int, float]) -> float:
        total = sum(volume.values())
        return sum(self.quality[c] * v for c, v in volume.items()) / total if total > 0 else 0.0

    def allocate(self, rows: list[int], take: dict[int, float], demand: float, share: float,
                 by_quality: bool) -> dict[int, float]:
        """Volumes: each contract's minimum share, the rest cheapest (or best quality) first."""
        volume = {c: share * demand for c in rows}
        left = demand - sum(volume.values())
        key = (lambda c: (-self.quality[c], c)) if by_quality else \
            (lambda c: (self.net_price[c] + self.penalty[c], c))
        for c in sorted(rows, key=key):
            extra = max(min(take[c] - volume[c], left), 0.0)
            volume[c] += extra
            left -= extra
        return volume

    def plan_services(self, banned: set[str]) -> dict[str, LevelPlan]:
        """A level plan per service: most regret first, within each level's max_services."""
        options: dict[str, list[LevelPlan]] = {}
        for s, ys in self.d.y_by_service.items():
            plans = [p for p in (self.plan_level(s, int(j), banned) for j in ys) if p]
            mandatory = bool(self.services.at[s, "mandatory"]) and self.on("mandatory")
            if not mandatory:
                plans = [p for p in plans if p.cost < 0]
            options[s] = sorted(plans, key=lambda p: (p.cost, p.j))

        def regret(s: str) -> float:
            plans = options[s]
            return plans[1].cost - plans[0].cost if len(plans) > 1 else math.inf

        room = {lv: self.levels.at[lv, "max_services"] for lv in self.levels.index
                if self.on("max_services") and not np.isnan(self.levels.at[lv, "max_services"])}
        chosen: dict[str, LevelPlan] = {}
        for s in sorted((s for s in options if options[s]), key=lambda s: (-regret(s), s)):
            for plan in options[s]:
                level = self.level_of_y[plan.j]
                if room.get(level, 1) >= 1:
                    room[level] = room.get(level, math.inf) - 1
                    chosen[s] = plan
                    break
        return chosen

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

    def secure_income(self, p: str, chosen: dict[str, LevelPlan]) -> None:
        """Let more of provider p's contracts (at its services' chosen levels, most income
        first) until they could pay its minimum income; if even all cannot, do not use p."""
        need = self.providers.at[p, "min_income"]
        income = 0.0
        candidates = []
        for c in self.d.by_provider[p]:
            c = int(c)
            plan = chosen.get(self.service_of[c])
            if plan is None or self.d.y_of_contract[c] != plan.j:
                continue
            most = min(self.capacity[c], self.demand(plan.j), self.bed_room(c)) * self.d.base_price[c]
            if c in plan.rows or c in self.forced:
                income += most
            else:
                candidates.append((-most, c))
        for most, c in sorted(candidates):
            if income >= need - 1e-6:
                break
            self.forced.add(c)
            income -= most
        if income < need - 1e-6:
            self.banned.add(p)
            self.forced -= {int(c) for c in self.d.by_provider[p]}

    def short_of_income(self, chosen: dict[str, LevelPlan]) -> set[str]:
        """Providers used whose let contracts could not pay their minimum income in full."""
        if not self.on("min_income"):
            return set()
        most: dict[str, float] = {}
        for plan in chosen.values():
            demand = self.demand(plan.j)
            for c in plan.rows:
                p = self.provider_of[c]
                most[p] = most.get(p, 0.0) + min(self.capacity[c], demand) * self.d.base_price[c]
        return {p for p, income in most.items()
                if income < self.providers.at[p, "min_income"] - 1e-6}

    def values(self, m: pyo.ConcreteModel, chosen: dict[str, LevelPlan]) -> list[tuple]:
        d = self.d
        let = {c for plan in chosen.values() for c in plan.rows}
        used = {self.provider_of[c] for c in let}
        picked_y = {plan.j for plan in chosen.values()}
        start = [(m.y[j], float(j in picked_y)) for j in range(len(d.sl_rows))]
        start += [(m.z[k, t], float(int(c) in let)) for k, c in enumerate(d.z_rows) for t in d.years]
        start += [(m.w[q, t], float(p in used)) for p, q in d.w_of.items() for t in d.years]
        return start
