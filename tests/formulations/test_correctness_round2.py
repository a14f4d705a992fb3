"""Correctness round 2: each defect the independent multi-year reference model found, rebuilt
as a tiny instance whose optimum is derived by hand in the test's docstring."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pytest import approx

import planner
from tests.helpers import build

pytestmark = pytest.mark.solver
ROOT = Path(__file__).resolve().parents[2]


def years(services: list[dict], offers: list[dict], providers: list[dict], *, horizon: int,
          **policy: Any) -> planner.Instance:
    """One level 'pct' covering all 1,000 people, base year 2010, no transaction cost."""
    return planner.Instance.from_frames(
        {"name": "round2", "population": 1000, "base_year": 2010, "horizon": horizon,
         "policy": policy},
        levels=pd.DataFrame([{"level": "pct", "order": 1, "population": 1000}]),
        services=pd.DataFrame([{"category": "elective", "mandatory": True, **s} for s in services],
                              dtype=object),
        providers=pd.DataFrame([{"kind": "nhs_trust", **p} for p in providers], dtype=object),
        offers=pd.DataFrame([{"quality": 1.0, **o} for o in offers], dtype=object))


def shrinking_incumbent(**policy: Any) -> planner.Instance:
    """One incumbent offer at £100, 1,000 incumbent episodes, demand falling 20 % a year, T = 3."""
    return years([{"service": "s", "demand": 1000, "growth": -0.2}],
                 [{"provider": "A", "service": "s", "price": 100, "incumbent_volume": 1000}],
                 [{"provider": "A", "incumbent": True}], horizon=3, **policy)


def checked(instance: planner.Instance) -> planner.Plan:
    plan = planner.solve(instance)
    assert plan.status == "optimal", plan.status
    assert planner.verify(instance, plan) == []
    return plan


# --- 1. notice is charged in the year of the drop ---------------------------------------------
def test_notice_is_not_prepaid_when_prices_rise() -> None:
    """Demand 1,000 × 0.8^t = 1,000, 800, 640; price 100 × 1.1^t = £100, £110, £121.

    Activity: 100,000 + 88,000 + 77,440 = £265,440. The shortfall below the 1,000 incumbent
    episodes grows by 200 in 2011 and by 160 in 2012, so notice is 0.5 × 200 × £110 = £11,000 in
    2011 and 0.5 × 160 × £121 = £9,680 in 2012: £286,120 in all. Giving all 360 episodes notice
    in 2010 at £100 (£18,000, total £283,440) is what the model must not be able to do.
    """
    plan = checked(shrinking_incumbent(price_change=0.10))
    assert plan.objective == approx(286_120.0, rel=1e-9)
    notice = {int(y): v["notice_costs"] for y, v in plan.totals_by_year.items()}
    assert notice == approx({2010: 0.0, 2011: 11_000.0, 2012: 9_680.0})


def test_notice_cannot_be_moved_into_a_year_with_budget_to_spare(tmp_path: Path) -> None:
    """Flat prices, budgets £150k, £90k, £70k. Spend by year: 100,000; 80,000 + 0.5 × 200 × 100
    = £90,000; 64,000 + 0.5 × 160 × 100 = £72,000 > £70,000. No plan meets the 2012 budget (the
    demand and its single provider are fixed), so the answer is infeasible: exit 3 from the CLI.
    Paying the 2012 notice early in 2010 (118,000 ≤ 150,000) would hide that."""
    instance = shrinking_incumbent(budget=[150_000, 90_000, 70_000])
    assert planner.solve(instance).status == "infeasible"
    folder = tmp_path / "inst"
    instance.to_dir(folder) if hasattr(instance, "to_dir") else _write(instance, folder)
    done = subprocess.run([sys.executable, "-m", "planner", "solve", str(folder), "--out",
                           str(tmp_path / "plan")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 3, done.stdout + done.stderr


def _write(instance: planner.Instance, folder: Path) -> None:
    """An instance folder from an Instance (the CLI reads folders)."""
    import yaml

    folder.mkdir(parents=True)
    config = instance.config.model_dump(mode="json", exclude_none=True)
    (folder / "instance.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    for name in ("levels", "services", "providers", "offers"):
        frame = getattr(instance, name).copy()
        for column in frame.columns:  # lists (allowed_levels) as the CSV writes them
            if frame[column].map(lambda v: isinstance(v, (list, tuple))).any():
                frame[column] = frame[column].map(lambda v: ";".join(v))
        frame.to_csv(folder / f"{name}.csv", index=False)


# --- 2. carry-forward big-M -------------------------------------------------------------------
def test_carry_forward_lets_a_year_spend_last_years_underspend() -> None:
    """Budgets £300k, £20k, £110k; one mandatory service of 1,000 episodes at £100 = £100,000 a
    year. 2010 spends £100,000 (£200,000 under); 2011 spends £100,000 against its own £20,000
    plus the £200,000 carried (it overspends its own budget, so carries nothing on); 2012 spends
    £100,000 ≤ £110,000. The plan costs £300,000. The old big-M (2 × £20,000 + 1) could not
    express 2011's £80,000 overspend and reported the instance infeasible."""
    instance = years([{"service": "s", "demand": 1000}],
                     [{"provider": "A", "service": "s", "price": 100}], [{"provider": "A"}],
                     horizon=3, budget=[300_000, 20_000, 110_000], break_even="carry_forward")
    plan = checked(instance)
    assert plan.objective == approx(300_000.0, rel=1e-9)


# --- 5. a let contract carries activity -------------------------------------------------------
def test_a_let_contract_carries_at_least_one_episode() -> None:
    """1,000 episodes, two providers required; A at £100, B at £120, no capacity limits.

    Choice must be real: B's contract carries at least one episode, so the cheapest plan is
    999 × £100 + 1 × £120 = £100,020 (an empty contract with B gave £100,000)."""
    instance = build([{"service": "s", "demand": 1000, "min_providers": 2}],
                     [{"provider": "A", "service": "s", "price": 100},
                      {"provider": "B", "service": "s", "price": 120}])
    plan = checked(instance)
    assert plan.objective == approx(100_020.0, rel=1e-9)
    assert sorted(plan.contracts["volume"]) == approx([1.0, 999.0])


def test_tiny_demand_shares_its_bound_among_the_providers_it_needs() -> None:
    """0.5 episodes a year, two providers required, A at £100, B at £120. With K = 2 eligible
    contracts, each let contract carries at least min(1, 0.5 / 2) = 0.25 episodes (one episode
    each would not fit in the demand): B takes 0.25, A the other 0.25, and the cheapest plan is
    0.25 × £120 + 0.25 × £100 = £55."""
    instance = build([{"service": "s", "demand": 0.5, "min_providers": 2}],
                     [{"provider": "A", "service": "s", "price": 100},
                      {"provider": "B", "service": "s", "price": 120}])
    plan = checked(instance)
    assert plan.objective == approx(55.0, rel=1e-9)


# --- 4. a plan with nothing commissioned ------------------------------------------------------
def test_a_plan_that_commissions_nothing_writes_its_reports(tmp_path: Path) -> None:
    """Every toy service optional and worth nothing (£0 per QALY): the cheapest plan buys none
    and pays only the surgery's £50,000 exit cost; the report used to crash on the empty
    average-quality column."""
    folder = tmp_path / "none"
    shutil.copytree(ROOT / "instances" / "toy", folder)
    services = (folder / "services.csv").read_text().replace(",true,", ",false,")
    (folder / "services.csv").write_text(services)
    out = tmp_path / "plan"
    done = subprocess.run([sys.executable, "-m", "planner", "solve", str(folder), "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads((out / "plan.json").read_text())["objective"] == approx(50_000.0)
    for name in ("report.html", "summary.md", "plan.xlsx", "marginal_values.csv"):
        assert (out / name).is_file(), name


# --- 11. verify trusts nothing of the plan's own ----------------------------------------------
def _quality_instance() -> planner.Instance:
    """500 episodes; A (quality 0.5) at £10, B (quality 1.0) at £20; average quality ≥ 0.8."""
    return build([{"service": "s", "demand": 500, "min_avg_quality": 0.8}],
                 [{"provider": "A", "service": "s", "price": 10, "quality": 0.5},
                  {"provider": "B", "service": "s", "price": 20, "quality": 1.0}])


def test_verify_recomputes_average_quality_from_the_offers() -> None:
    """Solved without the average-quality rule, everything goes to A (true average 0.5). A plan
    that writes quality 1.0 beside A's contract must still fail the 0.8 average."""
    instance = _quality_instance()
    plan = planner.solve(instance, without={"avg_quality"})
    assert plan.contracts["provider"].tolist() == ["A"]
    plan.contracts["quality"] = 1.0
    plan.services["avg_quality"] = 1.0
    found = "\n".join(planner.verify(instance, plan, without=frozenset()))
    assert "average quality 0.5000 below 0.8" in found
    assert "quality 1 but the offer's is 0.5" in found


def test_verify_rejects_an_empty_contract_of_an_unused_provider() -> None:
    """The optimum of the quality instance: 0.8 = 0.5a + 1.0b with a + b = 1 gives 40 % at A,
    60 % at B: 200 × £10 + 300 × £20 = £8,000. A forged zero-volume contract of a provider C
    reported unused passes neither the empty-contract rule nor the used-provider rule."""
    instance = build([{"service": "s", "demand": 500, "min_avg_quality": 0.8}],
                     [{"provider": "A", "service": "s", "price": 10, "quality": 0.5},
                      {"provider": "B", "service": "s", "price": 20, "quality": 1.0},
                      {"provider": "C", "service": "s", "price": 30, "quality": 1.0}])
    plan = checked(instance)
    assert plan.objective == approx(8_000.0, rel=1e-9)
    row = plan.contracts.iloc[[0]].copy()
    row[["provider", "volume", "spend", "qalys", "price", "quality"]] = ["C", 0.0, 0.0, 0.0, 30.0, 1.0]
    plan.contracts = pd.concat([plan.contracts, row], ignore_index=True)
    found = "\n".join(planner.verify(instance, plan))
    assert "an empty contract is choice on paper only" in found
    assert "provider C in 2010: holds a contract but is reported unused" in found


# --- 12. constants defined once ---------------------------------------------------------------
SHARED = {"NOTICE_SHARE", "MULTI_YEAR_OVERSPEND", "DECIMALS", "VOLUME_TOL", "ABS_TOL", "REL_TOL",
          "MIN_CONTRACT_VOLUME"}


def test_rule_constants_are_defined_only_in_planner_rules() -> None:
    """The model, the extraction and verify read one definition (planner/rules.py)."""
    defined = []
    for path in sorted([*(ROOT / "planner").rglob("*.py"), *(ROOT / "formulations").rglob("*.py")]):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            targets = node.targets if isinstance(node, ast.Assign) else \
                [node.target] if isinstance(node, ast.AnnAssign) else []
            defined += [(path.relative_to(ROOT).as_posix(), t.id) for t in targets
                        if isinstance(t, ast.Name) and t.id in SHARED]
    assert {where for where, _ in defined} == {"planner/rules.py"}, defined
    assert {name for _, name in defined} == SHARED
