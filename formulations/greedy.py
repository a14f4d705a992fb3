"""The greedy heuristic behind the MIP start (:mod:`formulations.start`): a status-quo-based plan
of levels, contracts, providers and volumes.

Why: at region and England scale HiGHS's LP bound is within a fraction of a per cent of the
optimum, but its own heuristics take minutes to find any plan at all (none in 10 minutes at
England scale). Given a reasonable set of binaries, HiGHS fixes them, solves the remaining LP
for the volumes and, if that is feasible, starts branch and bound with a plan in hand, so a 1 %
gap is often proven at the root.

The start is only a hint. It never changes the model or its optimum: if the LP with these
binaries fixed is infeasible (a budget it misses, a bed-day limit it overlooks), HiGHS discards
it and solves as without it.

The heuristic:

1. per service and eligible level, rank the eligible contracts by £ per episode (price − λ ×
   QALYs per episode, plus the contract's transaction and set-up costs spread over the volume it
   can take) and let them in that order until capacity covers demand with the service's headroom
   (at least its minimum number of providers, each able to take its minimum share; then the best
   quality providers left until any average-quality floor is met); allocate the volume cheapest
   first;
2. choose each service's level: the cheapest such plan plus the level's risk cost, services with
   most to lose first, while a level has commissioning capacity; a non-mandatory service only if
   its plan is worth more than it costs;
3. keep incumbents the plan would drop where letting them contracts costs less than their exit
   cost; let more of a provider's contracts where those let could not pay its minimum income;
   once the plan is settled, give an incumbent it still drops one contract with a token volume
   where that costs less than its exit cost;
4. repair the allocation: move volume off hospitals it overfills (bed-days) onto contracts with
   room, and onto providers short of their minimum income from those with income to spare;
   what cannot be repaired is re-planned (overfull hospitals held to status-quo shares of their
   bed-days, unpayable providers left out).

The planned volumes are a witness that the binaries admit a feasible plan (up to the budget,
which is not checked), which is why HiGHS usually accepts the start. At region scale it is within
about 1 % of the optimum; at England scale within a few per cent (docs/performance.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from formulations.greedy_incomes import Incomes
from formulations.greedy_repair import Repair
from formulations.model_data import ModelData


@dataclass
class LevelPlan:
    """The contracts (rows of derived.contracts) let for a service at one level, and the cost."""

    j: int
    rows: list[int]
    cost: float
    volume: dict[int, float]


class Greedy(Repair, Incomes):
    """One run of the heuristic. ``budget_price`` μ ≥ 0 prices each £ of spend at 1 + μ against
    the value of health (a Lagrange multiplier on the budget row): :mod:`formulations.start`
    raises it until the plan's spend fits the budget. Steps 3 and 4 (module docstring) are its
    mixins :class:`~formulations.greedy_incomes.Incomes` and
    :class:`~formulations.greedy_repair.Repair`."""

    def __init__(self, d: ModelData, budget_price: float = 0.0):
        self.d = d
        derived = d.derived
        self.on = derived.on
        contracts = derived.contracts
        self.services = derived.services.set_index("service")
        self.providers = derived.providers.set_index("provider")
        self.provider_of = contracts["provider"].to_numpy()
        self.service_of = contracts["service"].to_numpy()
        value = derived.policy.value_per_qaly
        dearer = 1.0 + budget_price
        self.net_price = dearer * d.base_price - value * contracts["qaly_per_episode"].to_numpy()
        # £ a let contract costs the commissioner besides its activity (first year: set-up too)
        self.running = contracts["contract_cost"].to_numpy() + contracts["setup"].to_numpy()
        self.fixed = dearer * self.running
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
        self.income_room: dict[str, float] = {}
        self.spare: dict[str, float] = {}
        self.rules = self._rules()
        sl = derived.service_levels.loc[d.sl_rows]
        growth = sl["growth"].to_numpy()
        self.sl_demand = sl["level_demand"].to_numpy() * np.maximum(
            1.0, (1.0 + growth) ** (len(d.years) - 1))
        self.forced: set[int] = set()
        self.mandatory = {s: bool(v) for s, v in self.services["mandatory"].items()}

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
        take = self.candidates(j, banned, demand, share)
        ranked = self.ranked(take)
        picked: list[int] = []
        covered = contracted = 0.0
        for c in ranked:
            if covered >= demand and contracted >= demand * headroom \
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

    def candidates(self, j: int, banned: set[str], demand: float, share: float
                   ) -> dict[int, float]:
        """{contract: the most it can take} of level j's contracts whose provider is not banned
        and whose room reaches the min_share (vectorised: England has 10,000 levels here)."""
        c = np.asarray(self.d.by_y.get(j, ()), dtype=np.int64)
        if banned and len(c):  # set lookups: np.isin sorts, which costs more at this size
            c = c[np.fromiter((p not in banned for p in self.provider_of[c]), bool, len(c))]
        room = np.array([self.bed_room(int(k)) for k in c]) if self.limited \
            else np.full(len(c), math.inf)
        capacity = self.capacity[c]
        fits = np.minimum(capacity, room) >= max(share * demand - 1e-9, 1e-9)
        c = c[fits]
        take = np.minimum(np.minimum(capacity[fits], demand), room[fits])
        return dict(zip(c.tolist(), take.tolist()))

    def ranked(self, take: dict[int, float]) -> list[int]:
        """The contracts of ``take``: forced ones first, then by net £ per episode taken
        (price less QALY value, plus fixed costs spread over the volume), then by row."""
        c = np.fromiter(take, dtype=np.int64, count=len(take))
        volume = np.fromiter(take.values(), dtype=np.float64, count=len(take))
        per_episode = self.net_price[c] + self.fixed[c] / volume
        unforced = np.fromiter((k not in self.forced for k in take), bool, len(c)) \
            if self.forced else np.ones(len(c), bool)
        return c[np.lexsort((c, per_episode, unforced))].tolist()

    def mean_quality(self, volume: dict[int, float]) -> float:
        total = sum(volume.values())
        return sum(self.quality[c] * v for c, v in volume.items()) / total if total > 0 else 0.0

    def allocate(self, rows: list[int], take: dict[int, float], demand: float, share: float,
                 by_quality: bool) -> dict[int, float]:
        """Volumes: each contract's minimum share, the rest cheapest (or best quality) first."""
        volume = {c: share * demand for c in rows}
        left = demand - sum(volume.values())
        key = (lambda c: (-self.quality[c], c)) if by_quality else \
            (lambda c: (self.net_price[c], c))
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
            mandatory = self.mandatory[s] and self.on("mandatory")
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

    def counts_contracts(self, s: str) -> bool:
        """Whether the service's rules count its contracts (a contract let with no volume then
        still serves a purpose)."""
        return self.rule(s, "min_providers", "min_providers", 1.0) > 1 or \
            self.rule(s, "choice_headroom", "headroom", 0.0) > 0

    def plan(self) -> dict[str, LevelPlan]:
        """The heuristic's steps 1–4 (module docstring): {service: the level plan chosen}."""
        chosen = self.plan_services(banned=set())
        if self.keep_incumbents(chosen):  # where keeping a provider costs less than its exit
            chosen = self.plan_services(banned=self.banned)
        for _ in range(6):
            chosen = self.settle_incomes(chosen)
            if not self.repair(chosen):  # fit the volumes to bed-days and minimum incomes
                break
            # what could not be moved: hold overfull hospitals to their status-quo shares, and
            # do without providers the plan cannot pay their minimum income; then plan again
            self.limit_beds({p for p, room in self.spare.items() if room < -1e-6})
            self.banned |= {p for p, room in self.income_room.items() if room < -1e-6}
            chosen = self.plan_services(banned=self.banned)
        self.keep_dropped_incumbents(chosen)
        return chosen

    def let_and_used(self, chosen: dict[str, LevelPlan]) -> tuple[set[int], set[str]]:
        """The contracts let (those given volume, and any others a service's choice rules
        count) and the providers used."""
        let = {c for s, plan in chosen.items() for c in plan.rows
               if plan.volume.get(c, 0.0) > 1e-9 or self.counts_contracts(s)}
        return let, {self.provider_of[c] for c in let}

    def spend(self, chosen: dict[str, LevelPlan], one_off: tuple[list, list, list, float]) -> float:
        """The plan's first-year spend (£) as break-even counts it: activity at list prices,
        contract and set-up costs of the contracts let, entry costs of new providers used, exit
        costs of incumbents dropped (``one_off``: :func:`formulations.costs.one_off_cost_terms`).
        Volumes are the horizon's largest, so later years' growth is counted, not missed."""
        d = self.d
        let, used = self.let_and_used(chosen)
        activity = sum(d.base_price[c] * v for plan in chosen.values()
                       for c, v in plan.volume.items())
        _setups, entries, exits, stranded = one_off
        provider = {q: p for p, q in d.w_of.items()}
        return float(activity + sum(self.running[c] for c in let)
                     + sum(cost for cost, q in entries if provider[q] in used)
                     + sum(cost for cost, q in exits if provider[q] not in used) + stranded)
