"""Step 3 of the greedy heuristic (:mod:`formulations.greedy`): providers' minimum incomes and
incumbents' exit costs.

Why apart: a provider with a minimum income is used whole or not at all, and an incumbent dropped
costs its exit cost, so whether to use a provider depends on every service it offers, not on one
service's cheapest contracts. A mixin of :class:`formulations.greedy.Greedy`: it reads the run's
arrays and marks contracts ``forced`` (let whatever their rank) and providers ``banned``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from planner.rules import MIN_CONTRACT_VOLUME

if TYPE_CHECKING:
    from formulations.greedy import LevelPlan


class Incomes:
    """Lets enough of a provider's contracts to pay its minimum income, or leaves it out."""

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

    def exit_at_stake(self, p: str, used: set[str]) -> float:
        """£ of exit cost provider p would cost the plan: an incumbent not used and not
        banned; 0 otherwise (and where the exit cost is blank)."""
        if p in used or p in self.banned or not self.providers.at[p, "incumbent"]:
            return 0.0
        cost = float(self.providers.at[p, "exit_cost"] or 0.0)
        return cost if cost > 0 else 0.0

    def keep_incumbents(self, chosen: dict[str, LevelPlan]) -> bool:
        """Let contracts of incumbents the plan drops, where that costs less than their exit
        cost: the contracts' fixed costs, enough of them to pay any minimum income (the volume
        itself is moved onto them by repair)."""
        if "exit_cost" not in self.providers:
            return False
        used = {self.provider_of[c] for plan in chosen.values() for c in plan.rows}
        kept = False
        for p in sorted(self.d.w_of):
            exit_cost = self.exit_at_stake(p, used)
            if not exit_cost > 0:
                continue
            need = self.providers.at[p, "min_income"] if self.on("min_income") else 0.0
            options = []
            for c in self.d.by_provider[p]:
                plan = chosen.get(self.service_of[c])
                if plan is not None and self.d.y_of_contract[c] == plan.j:
                    most = min(self.capacity[c], self.demand(plan.j), self.bed_room(c))
                    options.append((self.fixed[c] / max(most * self.d.base_price[c], 1e-9),
                                    int(c), most * self.d.base_price[c]))
            picks, income, fixed = [], 0.0, 0.0
            for _ratio, c, most in sorted(options):
                if picks and income >= need - 1e-6:
                    break
                picks.append(c)
                income += most
                fixed += self.fixed[c]
            if picks and income >= need - 1e-6 and fixed < exit_cost:
                self.forced |= set(picks)
                kept = True
        return kept

    def keep_dropped_incumbents(self, chosen: dict[str, LevelPlan]) -> int:
        """Once the plan is settled: an incumbent it leaves out (with no minimum income to
        pay) keeps one contract, at a level its service has chosen, where letting it with a
        token volume costs less than the incumbent's exit cost: the contract's fixed costs plus
        the dearer price of the token episodes, moved from the plan's largest contract.

        Why: step 3 forces such contracts before the levels are re-planned; a service that
        then chooses another level lets none of them, and one that keeps it may give a forced
        contract no episodes (cheapest first), so the provider was dropped anyway. At England
        scale this keeps 47 incumbents and lowers the start from £40,565m to £40,116m, which
        fix-and-optimise otherwise spent its first minute finding. Returns how many kept."""
        if "exit_cost" not in self.providers:
            return 0
        self.open_books(chosen)  # for shift() below
        _let, used = self.let_and_used(chosen)
        kept = 0
        for p in sorted(self.d.w_of):
            exit_cost = self.exit_at_stake(p, used)
            need = self.providers.at[p, "min_income"] if self.on("min_income") else 0.0
            if not exit_cost > 0 or need > 0:
                continue
            best = min((move for c in self.d.by_provider[p]
                        if (move := self.token_move(int(c), chosen)) is not None),
                       default=None)
            if best is not None and best[0] < exit_cost:
                _cost, c, donor, amount = best
                self.shift(chosen[self.service_of[c]], donor, c, amount)
                kept += 1
        return kept

    def token_move(self, c: int, chosen: dict[str, LevelPlan]) -> tuple | None:
        """(£ it costs, c, donor, episodes) to let contract c with a token volume taken from
        its plan's largest contract, or None where c is not at its service's chosen level or
        the plan's rules (shares, incomes, beds, quality, number of providers) forbid it."""
        s = self.service_of[c]
        plan = chosen.get(s)
        if plan is None or self.d.y_of_contract[c] != plan.j \
                or plan.volume.get(c, 0.0) > 1e-9:
            return None
        least = self.least(s, plan)
        amount = max(min(MIN_CONTRACT_VOLUME, self.demand(plan.j) / (len(plan.rows) + 1)), least)
        donor = max(plan.volume, key=lambda k: (plan.volume[k], -k), default=None)
        if donor is None:
            return None
        if donor == c or amount <= 1e-9 or self.room_to_take(c, plan) < amount \
                or plan.volume[donor] - amount < least or self.room_to_lose(donor) < amount \
                or not self.can_let(s, c, plan, amount):
            return None
        floor = self.rule(s, "min_avg_quality", "avg_quality", 0.0)
        if floor > 0:
            after = {**plan.volume, c: amount, donor: plan.volume[donor] - amount}
            if self.mean_quality(after) < floor - 1e-9:
                return None
        cost = self.fixed[c] + amount * (self.net_price[c] - self.net_price[donor])
        return float(cost), c, donor, amount

    def settle_incomes(self, chosen: dict[str, LevelPlan]) -> dict[str, LevelPlan]:
        """Re-plan while some provider's contracts cannot pay its minimum income."""
        for _ in range(6):
            short = self.short_of_income(chosen)
            if not short:
                break
            for p in sorted(short):
                self.secure_income(p, chosen)
            chosen = self.plan_services(banned=self.banned)
        return chosen

    def incomes_above_minimum(self, chosen: dict[str, LevelPlan]) -> dict[str, float]:
        """£ of planned income each provider with a minimum income has above it."""
        if not self.on("min_income"):
            return {}
        income: dict[str, float] = {}
        for plan in chosen.values():
            for c, v in plan.volume.items():
                income[self.provider_of[c]] = income.get(self.provider_of[c], 0.0) \
                    + v * self.d.base_price[c]
        return {p: value - self.providers.at[p, "min_income"] for p, value in income.items()
                if self.providers.at[p, "min_income"] > 0}

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
