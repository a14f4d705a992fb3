"""Property-based tests of issue 8: the planner never crashes, hangs, lies or half-writes.

Three properties, each over data drawn by hypothesis:

1. **Random valid instances** of varied shape (every column of every table, budget or none,
   λ, ρ): a plan (optimal or feasible) passes :func:`planner.results.verify`; an infeasible instance
   carries a diagnosis; an :class:`InputError` comes only from the mandatory-service checks, and
   only for a service that truly cannot be commissioned (rechecked here from the data).
2. **Brute force on tiny instances** (at most 3 services × 2 levels × 3 providers, one year):
   the optimal objective equals the best of an enumeration of the binaries, each leaving a
   linear programme solved separately with highspy. The LPs are built here from the instance
   tables, independently of ``formulations/`` and ``planner.derive.tables`` (see :class:`BruteForce`).
3. **Mutated files**: random damage to a valid instance folder (deleted cells, garbage text,
   swapped columns, duplicated rows, negative, NaN, inf and huge numbers, unicode, corrupted
   bytes, empty files) never gives a traceback: ``planner validate`` and ``planner solve`` run
   in subprocesses exit 0, 2 or 3, each exit-2 message names its table, and a refused solve
   writes nothing.

Examples are derandomised (the same every run, so the suite is stable in CI); set
``PLANNER_HYPOTHESIS=explore`` to draw new, more numerous examples when hunting bugs.
"""

from __future__ import annotations

import itertools
import math
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import highspy
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import build
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st

import planner
from planner.cli.main import main
from planner.data.checks import DataWarning
from planner.errors import InputError
from planner.sweeps.scenarios import ColumnChange

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "instances" / "toy"
TABLE_NAMES = ("instance.yaml", "levels", "services", "providers", "offers", "level_effects",
               "instance")

EXPLORE = os.environ.get("PLANNER_HYPOTHESIS") == "explore"


def budgeted(examples: int) -> settings:
    """Settings for one property: ``examples`` draws (×10 when exploring), no deadline."""
    return settings(max_examples=examples * (10 if EXPLORE else 1), deadline=None,
                    derandomize=not EXPLORE, database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])


# --- random valid instances ------------------------------------------------------------------
@dataclass
class Drawn:
    """A drawn instance as rows of each table (cells as Python values; None = blank)."""

    config: dict[str, Any]
    levels: list[dict[str, Any]]
    services: list[dict[str, Any]]
    providers: list[dict[str, Any]]
    offers: list[dict[str, Any]]
    level_effects: list[dict[str, Any]] = field(default_factory=list)

    def instance(self) -> planner.Instance:
        def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
            return pd.DataFrame(rows, dtype=object)

        effects = frame(self.level_effects) if self.level_effects else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            return planner.Instance.from_frames(
                self.config, levels=frame(self.levels), services=frame(self.services),
                providers=frame(self.providers), offers=frame(self.offers),
                level_effects=effects)


DEMAND_FACTORS = [0.5, 0.9, 1.2]  # a factor must be above 0 (see test_zero_demand_factor_refused)
CAPACITIES = [None, None, 0, 5, 20, 100, 1_000]


def _subset(draw: st.DrawFn, items: list[str]) -> list[str]:
    return [item for item in items if draw(st.booleans())]


@st.composite
def drawn_instances(draw: st.DrawFn, max_services: int = 4, max_levels: int = 3,
                    max_providers: int = 4, mandatory_one_in: int = 3) -> Drawn:
    """A valid instance: every table's columns drawn from small sets of telling values.

    One service in ``mandatory_one_in`` is mandatory (mandatory services make instances
    infeasible or refused; optional ones make level and provider choices matter).

    Values are "nice" (integers, simple fractions) and scaled like a small area (£10–£1,000 per
    episode, budgets £1k–£10m), so both feasible and infeasible instances are common.
    """
    population = draw(st.sampled_from([1_000, 10_000, 100_000]))
    n_levels = draw(st.integers(1, max_levels))
    level_ids = [f"L{i}" for i in range(n_levels)]
    levels = [{
        "level": level, "order": i + 1,
        "population": population * draw(st.sampled_from([0.05, 0.25, 1.0, 3.0])),
        "transaction_cost": draw(st.sampled_from([None, 0, 5, 50, 500])),
        "risk_tolerance": draw(st.sampled_from([None, None, 0.05, 0.3, 2.0])),
        "max_services": draw(st.sampled_from([None, None, None, 0, 1, 2])),
        "delegated_budget": draw(st.sampled_from([None, None, None, 1_000, 50_000, 1e6])),
    } for i, level in enumerate(level_ids)]

    n_services = draw(st.integers(1, max_services))
    services = []
    for j in range(n_services):
        min_providers = draw(st.sampled_from([None, 0, 1, 1, 2, 3]))
        least = 1 if min_providers is None else min_providers
        most = draw(st.sampled_from([None, None, *range(max(1, least), 4)]))
        shares = [s for s in (0, 0, 0.1, 0.3, 0.5) if s * least <= 1]
        row: dict[str, Any] = {
            "service": f"S{j}", "category": draw(st.sampled_from(["acute", "ltc"])),
            "setting": draw(st.sampled_from([None, "hospital", "community", "home"])),
            "cost_cv": draw(st.sampled_from([None, 0, 0.5, 2.0])),
            "tariff": draw(st.sampled_from([None, None, 10, 100, 1_000])),
            "mandatory": draw(st.integers(1, mandatory_one_in)) == 1,
            "qaly_gain": draw(st.sampled_from([None, 0, 0.01, 0.1])),
            "min_quality": draw(st.sampled_from([None, 0, 0.5, 0.8])),
            "min_avg_quality": draw(st.sampled_from([None, 0, 0.6, 0.85])),
            "min_providers": min_providers, "max_providers": most,
            "choice_headroom": draw(st.sampled_from([None, 0, 0.1, 0.5])),
            "min_share": draw(st.sampled_from(shares)),
            "allowed_levels": ";".join(_subset(draw, level_ids)) or None,
        }
        if draw(st.integers(0, 4)) == 0:
            row["activity_rate"] = draw(st.sampled_from([0.0, 0.001, 0.01]))
        else:
            row["demand"] = draw(st.sampled_from([0, 1, 7.5, 20, 100, 400]))
        services.append(row)

    n_providers = draw(st.integers(1, max_providers))
    providers = []
    for k in range(n_providers):
        incumbent = draw(st.booleans())
        providers.append({
            "provider": f"P{k}",
            "kind": draw(st.sampled_from(["nhs_trust", "independent", "gp_practice"])),
            "min_income": draw(st.sampled_from([None, 0, 0, 100, 5_000])),
            "entry_cost": draw(st.sampled_from([None, 0, 200, 5_000])),
            "exit_cost": draw(st.sampled_from([None, 0, 300, 8_000])),
            "incumbent": incumbent,
            "total_capacity": draw(st.sampled_from([None, None, 10, 100, 1_000])),
            "conflicted_levels": ";".join(
                level for level in level_ids if draw(st.integers(0, 4)) == 0) or None,
        })

    offers = []
    for provider, service in itertools.product(providers, services):
        if not draw(st.booleans()):
            continue
        offers.append(_offer(draw, provider, service))
    if not offers:
        offers.append(_offer(draw, providers[0], services[0]))

    effects = [{"level": level, "category": category,
                "demand_factor": draw(st.sampled_from(DEMAND_FACTORS))}
               for level in level_ids for category in sorted({s["category"] for s in services})
               if draw(st.integers(0, 5)) == 0]
    policy = {
        "budget": draw(st.sampled_from([None, 1_000, 10_000, 100_000, 1e6, 1e7])),
        "value_per_qaly": draw(st.sampled_from([0, 0, 20_000, 300_000])),
        "risk_aversion": draw(st.sampled_from([0, 0, 0.01, 0.5])),
        "management_cost_cap": draw(st.sampled_from([None, None, 100, 10_000])),
    }
    config = {"name": "drawn", "population": population, "policy": policy}
    return Drawn(config, levels, services, providers, offers, effects)


def _offer(draw: st.DrawFn, provider: dict[str, Any], service: dict[str, Any]) -> dict[str, Any]:
    needs_price = service["tariff"] is None
    return {
        "provider": provider["provider"], "service": service["service"],
        "capacity": draw(st.sampled_from(CAPACITIES)),
        "price": draw(st.sampled_from([5, 20, 100, 250] + ([] if needs_price else [None]))),
        "quality": draw(st.sampled_from([0.3, 0.6, 0.8, 0.9, 1.0])),
        "capacity_use": draw(st.sampled_from([None, 0.5, 1, 2])),
        "setup_cost": draw(st.sampled_from([None, 0, 50, 1_000])),
        "incumbent_volume": draw(st.sampled_from([0, 10, 50])) if provider["incumbent"] else 0,
    }


# --- an independent reading of the data ------------------------------------------------------
@dataclass(frozen=True)
class Contract:
    """An eligible contract (service, level, provider) with everything the LP needs (£, episodes)."""

    service: str
    level: str
    provider: str
    price: float
    quality: float
    bound: float  # min(capacity, demand at the level)
    capacity: float  # inf when blank
    use: float  # capacity_use
    value: float  # λ × qaly_gain × quality, £ per episode
    fixed: float  # transaction cost (κ_l) plus setup cost if new, £


@dataclass
class Option:
    """One service's choice: not commissioned (level None), or a level and the contracts let."""

    service: str
    level: str | None
    contracts: tuple[Contract, ...]
    demand: float  # D_sl, episodes
    fixed: float  # ρ σ_sl + Σ contract fixed costs, £
    bound: float  # a lower bound of this option's share of the objective, £


class BruteForce:
    """The single-year model (docs/model.md) solved by enumeration, straight from the tables.

    What is enumerated, and why it covers the model:

    - **y**: for each service with demand, the level it is commissioned at (one of its
      eligible levels), or none if it is optional. Level choice (1) holds by construction.
    - **z**: the set of contracts let, any subset of the eligible contracts of the service at
      that level (offers meeting min_quality, from providers not conflicted there, with
      capacity above 0: an offer of no capacity is no contract). This treats every
      contract as having a z; the model gives z only to contracts with a cost or choice role,
      but a contract without one has no transaction or setup cost, so letting it at zero
      volume changes nothing, and "let when x > 0" is one of the enumerated subsets.
    - **w** is implied: a provider is used iff it holds a let contract. z ≤ w forces w = 1 when
      it holds one; with none, w = 1 would need activity ≥ m_p > 0 (provider use), which it
      cannot have. (A provider without costs has no w in the model, and its use changes
      nothing.)

    The choice (7) rules, commissioning capacity (max_services) and the management cost cap
    depend on the binaries alone and are checked before any LP. Given the binaries, what
    remains is a linear programme in the volumes x: demand met in full, x ≤ min(capacity,
    demand), minimum shares, average quality, shared provider capacity, break-even income and
    provider use of used providers, delegated budgets and the budget, minimising spend + ρσ −
    λ·QALYs. Each LP is built here with highspy. Combinations are tried in order of a lower
    bound (fixed costs plus each service's demand at its cheapest let contract), and those
    whose bound cannot beat the best found are skipped.
    """

    def __init__(self, instance: planner.Instance):
        self.instance = instance
        config = instance.config
        self.policy = config.policy
        population = config.population
        levels = instance.levels.set_index("level")
        providers = instance.providers.set_index("provider")
        offers = instance.offers
        effects = {(r.level, r.category): r.demand_factor
                   for r in instance.level_effects.itertuples(index=False)}
        rho, lam = self.policy.risk_aversion, self.policy.value_per_qaly
        self.providers = providers
        self.levels = levels
        self.options: list[list[Option]] = []
        self.eligible: dict[str, list[Contract]] = {}  # by provider: every eligible contract
        self.feasible_alone: dict[str, bool] = {}  # mandatory services: some level could serve
        for s in instance.services.itertuples(index=False):
            if not s.demand > 0:
                continue
            rate = s.demand / population
            own = offers.loc[offers["service"] == s.service]
            mean_price = s.tariff if not math.isnan(s.tariff) else (
                float(own["price"].mean()) if len(own) else 0.0)
            mean_price = 0.0 if math.isnan(mean_price) else mean_price
            choices: list[Option] = []
            if not s.mandatory:
                choices.append(Option(s.service, None, (), 0.0, 0.0, 0.0))
            serviceable = False
            for level, lv in levels.iterrows():
                if s.allowed_levels and level not in s.allowed_levels:
                    continue
                cv = math.sqrt((1 + s.cost_cv ** 2) / (rate * lv["population"]))
                if not math.isnan(lv["risk_tolerance"]) and cv > lv["risk_tolerance"] + 1e-12:
                    continue
                demand = s.demand * effects.get((level, s.category), 1.0)
                units = population / lv["population"]
                sigma = mean_price * math.sqrt(rate * (1 + s.cost_cv ** 2)) * population \
                    / math.sqrt(lv["population"])
                contracts = []
                for o in own.itertuples(index=False):
                    if o.quality < s.min_quality - 1e-12:
                        continue
                    if level in providers.at[o.provider, "conflicted_levels"]:
                        continue
                    price = s.tariff if not math.isnan(s.tariff) else o.price
                    capacity = math.inf if math.isnan(o.capacity) else o.capacity
                    if capacity <= 0:
                        continue  # an offer of no capacity is no contract (planner.derive.tables)
                    setup = o.setup_cost if o.incumbent_volume <= 0 else 0.0
                    contract = Contract(
                        s.service, level, o.provider, price, o.quality, min(capacity, demand),
                        capacity, o.capacity_use, lam * s.qaly_gain * o.quality,
                        lv["transaction_cost"] * units + setup)
                    contracts.append(contract)
                    self.eligible.setdefault(o.provider, []).append(contract)
                least = 1 if math.isnan(s.min_providers) else s.min_providers
                need = (1 + s.choice_headroom) * demand
                if len(contracts) >= least and sum(c.capacity for c in contracts) \
                        >= need - 1e-6 * max(1.0, need):
                    serviceable = True
                for size in range(1, len(contracts) + 1):
                    for chosen in itertools.combinations(contracts, size):
                        option = self._option(s, level, chosen, demand, rho * sigma)
                        if option is not None:
                            choices.append(option)
            if s.mandatory:
                self.feasible_alone[s.service] = serviceable
            self.options.append(choices)
        self.use_floor = {p: min(1.0, max(c.bound for c in cs)) for p, cs in self.eligible.items()}

    def _option(self, s: Any, level: str, chosen: tuple[Contract, ...], demand: float,
                risk: float) -> Option | None:
        """The option of letting ``chosen`` at ``level``, or None if its choice rules fail."""
        if not chosen:
            return None  # D_sl > 0 (demand factors are positive): someone must serve it
        count = len(chosen)
        if count < s.min_providers or (not math.isnan(s.max_providers) and count > s.max_providers):
            return None
        need = (1 + s.choice_headroom) * demand
        if s.choice_headroom > 0 and sum(c.capacity for c in chosen) < need - 1e-6 * max(1.0, need):
            return None
        if sum(c.bound for c in chosen) < demand - 1e-9 * max(1.0, demand):
            return None
        if s.min_share * demand * count > demand + 1e-9 * max(1.0, demand):
            return None
        fixed = risk + sum(c.fixed for c in chosen)
        cheapest = min((c.price - c.value for c in chosen), default=0.0)
        return Option(s.service, level, chosen, demand, fixed, fixed + cheapest * demand)

    def one_off(self, used: set[str]) -> float:
        """Entry costs of used non-incumbents and exit costs of incumbents not used (£)."""
        total = 0.0
        for p, row in self.providers.iterrows():
            if row["incumbent"] and p not in used:
                total += row["exit_cost"]
            if not row["incumbent"] and p in used:
                total += row["entry_cost"]
        return total

    def solve(self) -> float | None:
        """The optimal objective, or None when no combination is feasible."""
        cap = self.policy.management_cost_cap
        combos = []
        for combo in itertools.product(*self.options):
            at_level: dict[str, int] = {}
            for option in combo:
                if option.level is not None:
                    at_level[option.level] = at_level.get(option.level, 0) + 1
            if any(not math.isnan(self.levels.at[lv, "max_services"])
                   and n > self.levels.at[lv, "max_services"] for lv, n in at_level.items()):
                continue
            contracts = [c for option in combo for c in option.contracts]
            if cap is not None:
                transaction = sum(self.levels.at[c.level, "transaction_cost"]
                                  * self.instance.config.population
                                  / self.levels.at[c.level, "population"] for c in contracts)
                if transaction > cap + 1e-6 * max(1.0, cap):
                    continue
            used = {c.provider for c in contracts}
            bound = sum(option.bound for option in combo) + self.one_off(used)
            combos.append((bound, combo, used))
        combos.sort(key=lambda item: item[0])
        best: float | None = None
        lp = _LP()
        for bound, combo, used in combos:
            if best is not None and bound >= best - 1e-7 * max(1.0, abs(best)):
                break
            value = lp.solve(self, combo, used)
            if value is not None and (best is None or value < best):
                best = value
        return best


class _LP:
    """The volume LP of one combination of binaries, built directly in highspy."""

    def __init__(self) -> None:
        self.highs = highspy.Highs()
        self.highs.setOptionValue("output_flag", False)

    def solve(self, bf: BruteForce, combo: tuple[Option, ...], used: set[str]) -> float | None:
        contracts = [c for option in combo for c in option.contracts]
        index = {id(c): i for i, c in enumerate(contracts)}
        fixed = sum(option.fixed for option in combo) + bf.one_off(used)
        n = len(contracts)
        services = bf.instance.services.set_index("service")
        cost = [c.price - c.value for c in contracts]
        lower = [0.0] * n
        upper = [c.bound for c in contracts]
        rows: list[tuple[dict[int, float], float, float]] = []
        for option in combo:
            if option.level is None:
                continue
            s = services.loc[option.service]
            members = [index[id(c)] for c in option.contracts]
            rows.append(({i: 1.0 for i in members}, option.demand, option.demand))
            for i in members:
                lower[i] = max(lower[i], s["min_share"] * option.demand)
            if s["min_avg_quality"] > 0:
                rows.append(({index[id(c)]: c.quality - s["min_avg_quality"]
                               for c in option.contracts}, 0.0, math.inf))
        for p in used:
            mine = [i for i, c in enumerate(contracts) if c.provider == p]
            row = bf.providers.loc[p]
            if not math.isnan(row["total_capacity"]):
                rows.append(({i: contracts[i].use for i in mine}, -math.inf, row["total_capacity"]))
            if row["min_income"] > 0:
                rows.append(({i: contracts[i].price for i in mine}, row["min_income"], math.inf))
            costly = row["min_income"] > 0 or (row["entry_cost"] > 0 and not row["incumbent"]) \
                or (row["exit_cost"] > 0 and row["incumbent"])
            if costly:
                rows.append(({i: 1.0 for i in mine}, bf.use_floor[p], math.inf))
        for level, lv in bf.levels.iterrows():
            if not math.isnan(lv["delegated_budget"]):
                mine = [i for i, c in enumerate(contracts) if c.level == level]
                if mine:
                    rows.append(({i: contracts[i].price for i in mine}, -math.inf,
                                 lv["delegated_budget"] - sum(contracts[i].fixed for i in mine)))
        budget = bf.policy.budget
        if budget is not None:
            fixed_spend = sum(c.fixed for c in contracts) + bf.one_off(used)
            rows.append(({i: c.price for i, c in enumerate(contracts)}, -math.inf,
                         budget - fixed_spend))
        return self._run(cost, lower, upper, rows, fixed)

    def _run(self, cost: list[float], lower: list[float], upper: list[float],
             rows: list[tuple[dict[int, float], float, float]], constant: float) -> float | None:
        if any(lo > up + 1e-9 for lo, up in zip(lower, upper)):
            return None
        if not cost:
            ok = all(lo <= 1e-6 * max(1.0, abs(lo)) and up >= -1e-6 * max(1.0, abs(up))
                     for _, lo, up in rows)
            return constant if ok else None
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = len(cost), len(rows)
        lp.col_cost_ = np.array(cost, dtype=float)
        lp.col_lower_ = np.array(lower, dtype=float)
        lp.col_upper_ = np.minimum(np.array(upper, dtype=float), highspy.kHighsInf)
        lp.row_lower_ = np.array([max(lo, -highspy.kHighsInf) for _, lo, _ in rows], dtype=float)
        lp.row_upper_ = np.array([min(up, highspy.kHighsInf) for _, _, up in rows], dtype=float)
        starts, indices, values = [0], [], []
        for coefficients, _, _ in rows:
            indices += list(coefficients)
            values += list(coefficients.values())
            starts.append(len(indices))
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
        lp.a_matrix_.index_ = np.array(indices, dtype=np.int32)
        lp.a_matrix_.value_ = np.array(values, dtype=float)
        self.highs.clearModel()
        self.highs.passModel(lp)
        self.highs.run()
        status = self.highs.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            return constant + self.highs.getInfo().objective_function_value
        assert status == highspy.HighsModelStatus.kInfeasible, self.highs.modelStatusToString(status)
        return None


def _close(a: float, b: float, rel: float = 1e-5) -> bool:
    return abs(a - b) <= 1e-3 + rel * max(1.0, abs(a), abs(b))


def _solve(instance: planner.Instance) -> planner.Plan:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return planner.solve(instance, check=False)


# --- property 1: plans verify, infeasibility is diagnosed, refusals are right -----------------
@budgeted(30)
@given(drawn_instances())
def test_random_instances_verify_or_are_diagnosed(drawn: Drawn) -> None:
    instance = drawn.instance()
    impossible = {s for s, ok in BruteForce(instance).feasible_alone.items() if not ok}
    try:
        plan = _solve(instance)
    except InputError as exc:
        event("refused")
        named = {p.row for p in exc.problems}
        assert all(p.table == "services" and p.row for p in exc.problems), exc.render()
        assert named <= impossible, (f"refused {named}, but only {impossible} cannot be "
                                     f"commissioned:\n{exc.render()}")
        return
    assert plan.status in ("optimal", "feasible", "infeasible"), plan.status
    event(plan.status)
    if plan.has_solution:
        assert planner.verify(instance, plan) == []
        assert plan.objective is not None and math.isfinite(plan.objective)
        if impossible:
            pytest.fail(f"a plan for {impossible}, which cannot be commissioned")
    else:
        assert plan.diagnosis is not None and plan.diagnosis.get("relaxations"), plan.diagnosis


# --- property 2: the optimum equals a brute-force enumeration ---------------------------------
TOO_POOR = Drawn(  # a mandatory service costing £400 against a £100 budget: infeasible
    {"name": "too_poor", "population": 1000, "policy": {"budget": 100}},
    [{"level": "L0", "order": 1, "population": 1000}],
    [{"service": "S0", "category": "acute", "demand": 20, "mandatory": True}],
    [{"provider": "P0", "kind": "nhs_trust"}],
    [{"provider": "P0", "service": "S0", "price": 20, "quality": 0.9}])


@budgeted(40)
@given(drawn_instances(max_services=3, max_levels=2, max_providers=3, mandatory_one_in=2))
@example(TOO_POOR)
def test_optimum_equals_brute_force(drawn: Drawn) -> None:
    instance = drawn.instance()
    brute = BruteForce(instance)
    assume(math.prod(len(choices) for choices in brute.options) <= 20_000)
    best = brute.solve()
    try:
        plan = _solve(instance)
    except InputError:
        event("refused")
        assert best is None, f"refused, but a plan worth {best} exists"
        return
    event(f"brute force {'infeasible' if best is None else 'feasible'}")
    if best is None:
        assert plan.status == "infeasible", (plan.status, plan.objective)
        return
    assert plan.status == "optimal", (plan.status, best)
    assert _close(plan.objective, best), f"planner {plan.objective} but brute force {best}"


# --- property 3: mutated files never give a traceback -----------------------------------------
NUMBERS = ["-1", "-0.5", "nan", "NaN", "inf", "-inf", "1e308", "1e309", "-0", "1e-320",
           "1,200", "£5", "50%", "0x10", "1_000", "١٢٣", "１２"]
GARBAGE = st.one_of(
    st.sampled_from(NUMBERS),
    st.sampled_from(["", " ", '"', '""', "a,b", "a;b", "\t", "\n", "=cmd()", "\u202e", "\u00a0",
                     "é", "😀", "\ufeff", "true", "None", "NULL", "#", "note"]),
    st.text(max_size=12),
)


@st.composite
def mutations(draw: st.DrawFn) -> list[tuple[str, str, Any]]:
    """One to three edits: (file, kind, detail) applied in order by :func:`_mutate`."""
    files = ["levels.csv", "services.csv", "providers.csv", "offers.csv", "level_effects.csv",
             "instance.yaml"]
    kinds = ["delete_cell", "garbage", "swap_columns", "duplicate_row", "number", "bytes",
             "empty", "header_only", "drop_column", "blank_line"]
    edits = []
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(files))
        kind = draw(st.sampled_from(["garbage", "bytes", "empty", "yaml_value"]
                                    if name == "instance.yaml" else kinds))
        detail = (draw(GARBAGE), draw(st.integers(0, 10_000)), draw(st.integers(0, 10_000)),
                  draw(st.binary(min_size=1, max_size=4)))
        edits.append((name, kind, detail))
    return edits


def _mutate(folder: Path, edits: list[tuple[str, str, Any]]) -> None:
    """Apply drawn edits to the files of ``folder`` (positions taken modulo the file's size)."""
    for name, kind, (text, a, b, raw) in edits:
        path = folder / name
        data = path.read_bytes() if path.exists() else b""
        if kind == "bytes":
            position = a % (len(data) + 1)
            path.write_bytes(data[:position] + raw + data[position + len(raw):])
            continue
        if kind == "empty":
            path.write_bytes(b"")
            continue
        lines = data.decode("utf-8", errors="replace").splitlines()
        if not lines:
            continue
        if kind == "yaml_value":
            row = a % len(lines)
            key = lines[row].split(":", 1)[0]
            lines[row] = f"{key}: {text}"
        elif kind == "garbage" and name == "instance.yaml":
            row = a % len(lines)
            lines[row] = lines[row][: b % (len(lines[row]) + 1)] + text
        else:
            cells = [line.split(",") for line in lines]
            row, width = a % len(cells), len(cells[0])
            column = b % width
            if kind == "delete_cell" and column < len(cells[row]):
                del cells[row][column]
            elif kind in ("garbage", "number") and column < len(cells[row]):
                cells[row][column] = text if kind == "garbage" else NUMBERS[a % len(NUMBERS)]
            elif kind == "swap_columns":
                other = a % width
                for line in cells:
                    if max(column, other) < len(line):
                        line[column], line[other] = line[other], line[column]
            elif kind == "duplicate_row" and len(cells) > 1:
                cells.insert(row, list(cells[max(row, 1)]))
            elif kind == "header_only":
                cells = cells[:1]
            elif kind == "drop_column":
                cells = [line[:column] + line[column + 1:] for line in cells]
            elif kind == "blank_line":
                cells.insert(max(row, 1), [""])
            lines = [",".join(line) for line in cells]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")


def _check_outcome(code: int, stderr: str, what: str) -> None:
    assert code in (0, 2, 3), f"{what}: exit {code}\n{stderr}"
    assert "Traceback" not in stderr, f"{what}: traceback\n{stderr}"
    assert "internal error" not in stderr, f"{what}:\n{stderr}"
    if code == 2:
        problems = [line[4:] for line in stderr.splitlines() if line.startswith("  - ")]
        assert problems, f"{what}: exit 2 without a problem line\n{stderr}"
        for line in problems:
            assert line.startswith(TABLE_NAMES), f"{what}: a problem naming no table: {line}"


def _run_cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "planner", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})


@budgeted(6)
@given(mutations())
def test_mutated_files_through_cli_subprocess(edits: list[tuple[str, str, Any]]) -> None:
    """validate and solve, run as the analyst runs them, on a damaged copy of the toy."""
    with tempfile.TemporaryDirectory() as scratch:
        folder, out = Path(scratch) / "toy", Path(scratch) / "plan"
        shutil.copytree(TOY, folder)
        _mutate(folder, edits)
        validate = _run_cli("validate", str(folder))
        solve = _run_cli("solve", str(folder), "--out", str(out), "--no-marginal")
        results = {}
        for name, process in (("validate", validate), ("solve", solve)):
            try:
                _, stderr = process.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
                pytest.fail(f"{name} hung on {edits}")
            _check_outcome(process.returncode, stderr, f"{name} {edits}")
            results[name] = process.returncode
        assert (results["validate"] == 2) == (results["solve"] == 2), (edits, results)
        if results["solve"] == 2:
            assert not out.exists(), "a refused solve wrote files"


@budgeted(40)
@given(mutations())
def test_mutated_files_through_cli_in_process(edits: list[tuple[str, str, Any]]) -> None:
    """The same, many more examples, with click's runner: no exception escapes a command."""
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as scratch:
        folder, out = Path(scratch) / "toy", Path(scratch) / "plan"
        shutil.copytree(TOY, folder)
        _mutate(folder, edits)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            checked = runner.invoke(main, ["validate", str(folder)])
        assert checked.exception is None or isinstance(checked.exception, SystemExit), \
            (edits, checked.exception)
        code = checked.exit_code
        _check_outcome(code, checked.stderr, f"validate {edits}")
        if code == 0:
            return
        solved = runner.invoke(main, ["solve", str(folder), "--out", str(out), "--no-marginal"])
        assert solved.exit_code == 2, (edits, solved.exit_code, solved.stderr)
        assert not out.exists(), "a refused solve wrote files"


# --- regressions: bugs these properties found (fixed upstream in derive.py and schema.py) -------
def test_zero_demand_factor_refused() -> None:
    """A demand factor of 0 once let a mandatory service be commissioned with no provider,
    against min_providers (rule 7): it is now refused as data, like any factor not above 0."""
    with pytest.raises(InputError, match=r"level_effects row 'pct/acute', column "
                                         r"'demand_factor': 0 must be greater than 0"):
        build([{"service": "s", "demand": 10, "category": "acute"}],
              [{"provider": "p", "service": "s", "price": 5, "setup_cost": 50}],
              level_effects=[{"level": "pct", "category": "acute", "demand_factor": 0}])


def test_zero_capacity_provider_pays_its_exit_cost() -> None:
    """Incumbent q offers the service with capacity 0 and costs £300 to exit; p serves it all.
    q cannot deliver anything, so it cannot be retained: £5 × 10 + £300 = £350. (The model once
    let q be "used" with no activity and so escape its exit cost, which verify refused.)"""
    instance = build([{"service": "s", "demand": 10}],
                     [{"provider": "p", "service": "s", "price": 5},
                      {"provider": "q", "service": "s", "price": 1, "capacity": 0}],
                     providers=[{"provider": "p"},
                                {"provider": "q", "incumbent": True, "exit_cost": 300}])
    assert BruteForce(instance).solve() == pytest.approx(350)
    plan = _solve(instance)
    assert planner.verify(instance, plan) == []
    assert plan.objective == pytest.approx(350)


# --- property 5: a mutable model re-set in place equals a fresh build -------------------------
@budgeted(25)
@given(drawn_instances(), st.sampled_from([0.8, 0.97, 1.0, 1.05, 1.3]),
       st.sampled_from([0.9, 1.0, 1.1]), st.sampled_from([0.0, 0.5, 1.5]))
def test_resolved_variant_equals_fresh_build(drawn: Drawn, price: float, demand: float,
                                             income: float) -> None:
    """Prices, demand and minimum incomes scaled on a persistent mutable model (no rebuild)
    give the status and optimum of a model built for the scaled data, and a plan that
    verifies against it; a changed structure is reported, never solved on the old model."""
    from planner.solver.session import PlanningModel
    from planner.sweeps.scenarios import Scenario, apply

    instance = drawn.instance()
    changes = (("offers.price", ColumnChange(scale=price)),
               ("services.demand", ColumnChange(scale=demand)),
               ("providers.min_income", ColumnChange(scale=income)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        try:
            session = PlanningModel(instance, mutable=True)
            variant = apply(instance, Scenario("variant", changes, ()))
            updated = session.update(variant)
        except InputError:
            event("refused")
            return
        if not updated:
            event("structure changed: rebuild")
            return
        event("re-set in place")
        result = session.run()
        plan = session.plan(result, instance=variant)  # verified against the variant
        fresh = _solve(variant)
    assert plan.status == fresh.status
    if fresh.status == "optimal":
        assert _close(plan.objective, fresh.objective), (plan.objective, fresh.objective)
