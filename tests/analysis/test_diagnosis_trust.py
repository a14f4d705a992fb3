"""The diagnosis can be trusted: every ``alone`` row, applied by itself to the data, restores a
plan (checked with a real HiGHS solve); rows needed together are not called ``alone``; the
pre-solve bound is a ``precheck``, not a relaxation; and the elastic plan asks for money before
it drops a mandatory service.

Each case is a tiny infeasible instance with its shortfall derived by hand in the comment above
it. ``apply`` turns a diagnosis row into the data change it stands for.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from pytest import approx

import planner
from planner.analysis.diagnosis import FAMILIES
from tests.helpers import build

pytestmark = pytest.mark.solver


def _config(instance: planner.Instance, **policy) -> planner.Instance:
    config = instance.config.model_copy(
        update={"policy": instance.config.policy.model_copy(update=policy)})
    return planner.Instance.from_frames(config, **instance.tables())


def _with(instance: planner.Instance, table: str, key: str, subject: str, column: str,
          change: Callable[[float], object]) -> planner.Instance:
    frame = instance.tables()[table].copy()
    at = frame[key] == subject
    assert at.any(), (table, subject)
    frame[column] = frame[column].astype(object)
    frame.loc[at, column] = [change(v) for v in frame.loc[at, column]]
    return planner.Instance.from_frames(instance.config, **{**instance.tables(), table: frame})


def _demand(instance: planner.Instance, service: str) -> float:
    return float(instance.services.set_index("service").at[service, "demand"])


def apply(instance: planner.Instance, row: dict) -> planner.Instance:
    """The instance with diagnosis ``row`` applied to its data, as its message advises: raise
    the budget, add capacity, lower a threshold, drop a mandatory service, ... by ``amount``.

    Thresholds stated per episode are converted with the service's demand (these instances
    have no level effects, so a level's demand is the service's). Every family the diagnosis
    can name is handled; an unknown one fails the test."""
    family, subject, amount = row["constraint"], row["subject"], float(row["amount"])
    year = int(subject.rsplit(" in ", 1)[1]) if " in " in subject else None
    key = subject.rsplit(" in ", 1)[0]
    policy = instance.config.policy
    if family == "budget":
        years = instance.config.horizon
        budgets = list(policy.budget) if isinstance(policy.budget, list) else [policy.budget] * years
        budgets[0 if year is None else year - instance.config.base_year] += amount
        return _config(instance, budget=budgets if years > 1 else budgets[0])
    if family == "management_cost":
        return _config(instance, management_cost_cap=policy.management_cost_cap + amount)
    if family == "setting_targets":
        number = int(key.split("#")[1]) - 1
        targets = [t.model_copy() for t in policy.setting_targets]
        target = targets[number]
        category = instance.services.loc[instance.services["category"] == target.category]
        total = float(category["demand"].sum())
        shares = list(target.min_share) if isinstance(target.min_share, list) \
            else [target.min_share] * instance.config.horizon
        t = 0 if year is None else year - instance.config.base_year
        shares[t] = max(0.0, shares[t] - amount / total)
        targets[number] = target.model_copy(update={"min_share": shares})
        return _config(instance, setting_targets=targets)
    if family == "offer_capacity":
        provider, service = key.split("/")
        frame = instance.offers.copy()
        at = (frame["provider"] == provider) & (frame["service"] == service)
        frame.loc[at, "capacity"] = frame.loc[at, "capacity"] + amount
        return planner.Instance.from_frames(instance.config, **{**instance.tables(), "offers": frame})
    if family == "provider_capacity":
        return _with(instance, "providers", "provider", key, "total_capacity", lambda v: v + amount)
    if family == "min_income":
        return _with(instance, "providers", "provider", key, "min_income",
                     lambda v: max(0.0, v - amount))
    if family == "demand":
        service = key.split("@")[0]
        return _with(instance, "services", "service", service, "demand", lambda v: v - amount)
    if family == "mandatory":
        return _with(instance, "services", "service", key, "mandatory", lambda v: False)
    if family in ("avg_quality", "headroom", "min_share"):
        service = key.split("@")[0]
        column = {"avg_quality": "min_avg_quality", "headroom": "choice_headroom",
                  "min_share": "min_share"}[family]
        per_episode = amount / _demand(instance, service)
        return _with(instance, "services", "service", service, column,
                     lambda v: max(0.0, v - per_episode))
    if family == "min_providers":
        return _with(instance, "services", "service", key, "min_providers",
                     lambda v: int(v) - math.ceil(amount - 1e-9))
    if family == "max_providers":
        return _with(instance, "services", "service", key, "max_providers",
                     lambda v: int(v) + math.ceil(amount - 1e-9))
    if family == "max_services":
        return _with(instance, "levels", "level", key, "max_services",
                     lambda v: int(v) + math.ceil(amount - 1e-9))
    if family == "delegated_budget":
        return _with(instance, "levels", "level", key, "delegated_budget", lambda v: v + amount)
    raise AssertionError(f"apply() does not know family {family!r}")


def years(services, offers, providers=None, *, horizon: int, **policy) -> planner.Instance:
    """A multi-year instance (base year 2010) on helpers.build's defaults."""
    one = build(services, offers, providers)
    config = {"name": "t", "population": 1000, "base_year": 2010, "horizon": horizon,
              "policy": policy}
    return planner.Instance.from_frames(config, **one.tables())


S = {"service": "s", "demand": 100}
CASES: dict[str, tuple[planner.Instance, set[str]]] = {
    # A £10 with capacity 80, B £20: the least spend is 80 × 10 + 20 × 20 = £1,200, £200 over
    # the budget. Alone: £200 more; 20 more episodes at A; 10 episodes fewer (B's, £20 each);
    # or drop s.
    "capacity": (build([S], [{"provider": "A", "service": "s", "price": 10, "capacity": 80},
                             {"provider": "B", "service": "s", "price": 20}], budget=1000),
                 {"budget", "offer_capacity", "demand", "mandatory"}),
    # The same with A's shared resource capped at 80 units (1 per episode).
    "provider_capacity": (build([S], [{"provider": "A", "service": "s", "price": 10},
                                      {"provider": "B", "service": "s", "price": 20}],
                                [{"provider": "A", "total_capacity": 80}, {"provider": "B"}],
                                budget=1000),
                          {"budget", "provider_capacity"}),
    # B (£20) must be used for 20 episodes but then must receive its min_income £1,000 (50
    # episodes): 30 × 10 + 50 × 20 = £1,300 > £1,200. Alone: min_income £600 lower (400 =
    # 20 × 20), or £100 more budget.
    "min_income": (build([S], [{"provider": "A", "service": "s", "price": 10, "capacity": 80},
                               {"provider": "B", "service": "s", "price": 20}],
                         [{"provider": "A"}, {"provider": "B", "min_income": 1000}], budget=1200),
                   {"budget", "min_income"}),
    # Average quality ≥ 0.9 from A (q 0.5, £10) and B (q 1, £20) needs 80 episodes at B:
    # £1,800 > £1,500. At £1,500 (50/50) quality falls 15 quality-weighted episodes short
    # (0.5·50 + 50 = 75 < 90): lower the threshold by 0.15.
    "avg_quality": (build([{**S, "min_avg_quality": 0.9}],
                          [{"provider": "A", "service": "s", "price": 10, "quality": 0.5},
                           {"provider": "B", "service": "s", "price": 20}], budget=1500),
                    {"budget", "avg_quality"}),
    # Two providers, each contract ≥ 30 % of demand: 70 × 10 + 30 × 20 = £1,300 > £1,200.
    # Alone: B's minimum 10 episodes lower (20 at B: 800 + 400 = £1,200), one provider fewer,
    # or £100 more.
    "min_share": (build([{**S, "min_providers": 2, "min_share": 0.3}],
                        [{"provider": "A", "service": "s", "price": 10},
                         {"provider": "B", "service": "s", "price": 20}], budget=1200),
                  {"budget", "min_share", "min_providers"}),
    # One provider at most: A (capacity 80) cannot, B alone costs £2,000 > £1,500. Alone: one
    # provider more (£1,200), £500 more budget, or 20 more episodes at A.
    "max_providers": (build([{**S, "max_providers": 1}],
                            [{"provider": "A", "service": "s", "price": 10, "capacity": 80},
                             {"provider": "B", "service": "s", "price": 20}], budget=1500),
                      {"budget", "max_providers", "offer_capacity"}),
    # Headroom 20 %: contracted capacity ≥ 120. A + B cover 110, so C (set-up £1,000) must be
    # let too: 800 + 400 + 1,000 = £2,200 > £1,300. Alone: headroom 10 episodes lower (10 %).
    "headroom": (build([{**S, "choice_headroom": 0.2}],
                       [{"provider": "A", "service": "s", "price": 10, "capacity": 80},
                        {"provider": "B", "service": "s", "price": 20, "capacity": 30},
                        {"provider": "C", "service": "s", "price": 30, "capacity": 50,
                         "setup_cost": 1000}], budget=1300),
                 {"budget", "headroom"}),
    # Two mandatory services, each a contract costing £100 to manage, cap £150: £50 over.
    "management_cost": (build([{"service": "s1", "demand": 10}, {"service": "s2", "demand": 10}],
                              [{"provider": "A", "service": "s1", "price": 10},
                               {"provider": "A", "service": "s2", "price": 10}],
                              levels=[{"level": "pct", "population": 1000,
                                       "transaction_cost": 100}],
                              management_cost_cap=150),
                        {"management_cost", "mandatory"}),
    # Two mandatory services at a level allowed one: one service more, or drop either.
    "max_services": (build([{"service": "s1", "demand": 10}, {"service": "s2", "demand": 10}],
                           [{"provider": "A", "service": "s1", "price": 10},
                            {"provider": "A", "service": "s2", "price": 10}],
                           levels=[{"level": "pct", "population": 1000, "max_services": 1}]),
                     {"max_services", "mandatory"}),
    # £1,000 of activity at a level delegated £500: £500 more, or 50 episodes fewer.
    "delegated_budget": (build([S], [{"provider": "A", "service": "s", "price": 10}],
                               levels=[{"level": "pct", "population": 1000,
                                        "delegated_budget": 500}]),
                         {"delegated_budget", "demand"}),
    # 2010: community share ≥ 60 % of 200 ltc episodes, but c is only 100: 20 episodes short
    # (lower the target to 50 %).
    "setting_targets": (years([{"service": "h", "category": "ltc", "setting": "hospital",
                                "demand": 100},
                               {"service": "c", "category": "ltc", "setting": "community",
                                "demand": 100}],
                              [{"provider": "A", "service": "h", "price": 5},
                               {"provider": "A", "service": "c", "price": 12}], horizon=2,
                              setting_targets=[{"category": "ltc", "settings": ["community"],
                                                "min_share": [0.6, 0.0]}]),
                        {"setting_targets"}),
}


def _solve(instance: planner.Instance) -> planner.Plan:
    return planner.solve(instance, time_limit=60)


@pytest.mark.parametrize("name", list(CASES))
def test_every_alone_row_applied_alone_restores_a_plan(name: str) -> None:
    instance, expected = CASES[name]
    plan = _solve(instance)
    assert plan.status == "infeasible"
    rows = plan.diagnosis["relaxations"]
    alone = [r for r in rows if r["alone"]]
    assert expected <= {r["constraint"] for r in alone}, rows
    assert all(r["subject"] == "policy" for r in alone if r["constraint"] == "management_cost")
    pairs = [(r["constraint"], r["subject"]) for r in alone]
    assert len(pairs) == len(set(pairs)), "one alone row per family and subject"
    for row in alone:
        assert row["scope"] == "alone"
        fixed = _solve(apply(instance, row))
        assert fixed.status == "optimal", (row, fixed.status)
        assert planner.verify(apply(instance, row), fixed) == []


def test_cases_cover_every_family_the_diagnosis_names() -> None:
    named = {f.name for f in FAMILIES}
    covered = set().union(*(expected for _, expected in CASES.values()))
    assert named == covered


def test_hand_derived_amounts() -> None:
    """Spot checks of the amounts derived in the comments above."""
    def amounts(name: str) -> dict[str, float]:
        plan = _solve(CASES[name][0])
        return {r["constraint"]: r["amount"] for r in plan.diagnosis["relaxations"] if r["alone"]}

    capacity = amounts("capacity")
    assert (capacity["budget"], capacity["offer_capacity"], capacity["demand"]) == \
        (approx(200), approx(20), approx(10))
    assert amounts("min_income")["min_income"] == approx(600)
    assert amounts("min_share")["min_share"] == approx(10)
    assert amounts("management_cost")["management_cost"] == approx(50)
    assert amounts("avg_quality")["avg_quality"] == approx(15)
    assert amounts("headroom")["headroom"] == approx(10)
    assert amounts("setting_targets")["setting_targets"] == approx(20)


def test_rows_needed_together_are_not_alone() -> None:
    """Two years, £900 a year for 100 mandatory episodes at £10: each year is £100 short.
    Raising one year's budget leaves the other short, so the two budget rows are ``together``
    (not ``alone``): applied alone neither restores a plan, applied both they do. Dropping s
    (for the whole horizon) is alone."""
    instance = years([S], [{"provider": "A", "service": "s", "price": 10}], horizon=2,
                     budget=900)
    plan = _solve(instance)
    rows = plan.diagnosis["relaxations"]
    budget = [r for r in rows if r["constraint"] == "budget" and r["scope"] == "together"]
    assert sorted((r["subject"], r["amount"]) for r in budget) == [
        ("budget in 2010", approx(100)), ("budget in 2011", approx(100))]
    assert not any(r["alone"] and r["constraint"] == "budget" for r in rows)
    assert all(not r["alone"] and "together" in r["message"] for r in budget)
    for row in budget:
        assert _solve(apply(instance, row)).status == "infeasible"
    assert _solve(apply(apply(instance, budget[0]), budget[1])).status == "optimal"
    assert [r["subject"] for r in rows if r["alone"]] == ["s"]


def test_presolve_bound_is_a_precheck_not_a_relaxation(toy_copy: Path) -> None:
    """Budget £1m. Before any model: GP consultations 40,000 × £29 + diabetes 450 × £180 +
    hips 20 × £6,000 = £1,361,000, so at least £361,000 more (a bound, in ``prechecks``). The
    one ``alone`` budget row is the exact £383,000 (£1,383,000 − £1m)."""
    text = (toy_copy / "instance.yaml").read_text().replace("1400000", "1000000")
    (toy_copy / "instance.yaml").write_text(text)
    plan = planner.solve(toy_copy)
    checks = plan.diagnosis["prechecks"]
    assert [(c["check"], c["amount"]) for c in checks] == [("budget_lower_bound", approx(361_000))]
    budget = [r for r in plan.diagnosis["relaxations"] if r["constraint"] == "budget" and r["alone"]]
    assert [(r["amount"], r["exact"]) for r in budget] == [(approx(383_000), True)]


def test_elastic_plan_raises_the_budget_rather_than_drop_a_mandatory_service() -> None:
    """Mandatory s1 (1,000 × £100 = £100,000) and s2 (1,000 × £5,000 = £5m); budget £3.1m,
    £2m short. Dropping s2 would save £5m of spend, more than the shortfall, so at £1m a
    service the old pricing dropped it (£1m < £2m). Now dropping s2 is priced at 10 × £5m +
    £1m = £51m: the elastic plan raises the budget by £2m and keeps both services."""
    instance = build([{"service": "s1", "demand": 1000}, {"service": "s2", "demand": 1000}],
                     [{"provider": "A", "service": "s1", "price": 100},
                      {"provider": "A", "service": "s2", "price": 5000}], budget=3_100_000)
    plan = planner.solve(instance, elastic=True)
    assert plan.status == "infeasible" and plan.relaxed
    combined = [r for r in plan.diagnosis["relaxations"] if r["scope"] == "combined"]
    assert [(r["constraint"], r["amount"]) for r in combined] == [("budget", approx(2_000_000))]
    # the budget is the whole combination here: every other rule is met, as its message says
    assert combined[0]["message"].endswith("short of the cheapest plan that meets every other rule.")
    services = plan.services.set_index("service")
    assert bool(services.at["s1", "commissioned"]) and bool(services.at["s2", "commissioned"])
    assert plan.totals["spend"] == approx(5_100_000)
    mandatory = [r for r in plan.diagnosis["relaxations"] if r["constraint"] == "mandatory"]
    assert all(r["cost"] >= 51_000_000 for r in mandatory if r["subject"] == "s2")


def test_diagnosis_json_lists_prechecks(tmp_path: Path) -> None:
    instance, _ = CASES["capacity"]
    plan = _solve(instance)
    plan.to_dir(tmp_path / "plan")
    written = pd.read_json(tmp_path / "plan" / "diagnosis.json", typ="series")
    assert "prechecks" in written and "relaxations" in written


def test_a_combined_budget_row_beside_other_relaxations_says_it_is_one_part() -> None:
    """s: 100 episodes from A at £10 (£1,000), A's break-even income £2,000, budget £500. The
    combination relaxes both: £500 more budget and £1,000 off A's break-even income. The budget
    row then cannot say the rest of the plan meets every other rule; it says it is one part of
    the combination."""
    instance = build([{"service": "s", "demand": 100}],
                     [{"provider": "A", "service": "s", "price": 10}],
                     providers=[{"provider": "A", "min_income": 2000, "incumbent": True}],
                     budget=500)
    plan = planner.solve(instance)
    combined = {r["constraint"]: r for r in plan.diagnosis["relaxations"]
                if r["scope"] == "combined"}
    assert set(combined) == {"budget", "min_income"}
    assert combined["budget"]["amount"] == approx(500)
    assert combined["min_income"]["amount"] == approx(1000)
    assert combined["budget"]["message"] == ("The budget of £500 is £500 short of the cheapest "
                                             "plan in this combination: with the other rows "
                                             "marked combined, not alone.")
