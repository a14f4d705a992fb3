"""Why a service is not commissioned: each of the three answers on a tiny instance by hand."""

from __future__ import annotations

import pytest
from pytest import approx

from planner.analysis.unfunded import unfunded_services
from planner.solver.session import PlanningModel
from tests.helpers import build

pytestmark = pytest.mark.solver


def test_not_worth_it_unaffordable_and_kept_out_by_a_rule() -> None:
    """£1,000 per QALY, budget £1,500. core (mandatory): 100 episodes at £10 = £1,000.

    * poor: 10 episodes at £100 (£1,000) for 0.1 QALY each: 1 QALY worth £1,000 ≤ £1,000 of
      cost: not worth it (the quick test, no re-solve).
    * good: 10 episodes at £100 (£1,000) for 0.5 QALY each: 5 QALYs worth £5,000, £4,000 better
      value for money, but £1,000 + £1,000 is £500 over the £1,500 budget: unaffordable; with
      no budget limit it is bought, its contracts costing £1,000 a year.
    * capped: 10 episodes wanted, its one provider can do 5: no plan can include it, even with
      unlimited money: kept out by a rule.
    """
    instance = build(
        [{"service": "core", "demand": 100},
         {"service": "poor", "demand": 10, "mandatory": False, "qaly_gain": 0.1},
         {"service": "good", "demand": 10, "mandatory": False, "qaly_gain": 0.5},
         {"service": "capped", "demand": 10, "mandatory": False, "qaly_gain": 0.5}],
        [{"provider": "A", "service": "core", "price": 10},
         {"provider": "A", "service": "poor", "price": 100},
         {"provider": "A", "service": "good", "price": 100},
         {"provider": "B", "service": "capped", "price": 10, "capacity": 5}],
        budget=1500, value_per_qaly=1000)
    session = PlanningModel(instance)
    base = session.run()
    plan = session.plan(base)
    assert plan.objective == approx(1_000)
    table = unfunded_services(session, base, plan).set_index("service")
    assert table.loc["poor", "reason"] == "not worth it"
    assert table.loc["good", "reason"] == "unaffordable"
    assert table.loc["good", "cost_unlimited"] == approx(1_000)
    assert "no plan within the budget can include it" in table.loc["good", "message"]
    assert "at about £1,000 a year" in table.loc["good", "message"]
    assert table.loc["capped", "reason"] == "kept out by a rule"
    again = session.run()  # the forced rows are gone: the model is the plan's own again
    assert again.objective == approx(1_000)


def test_worth_it_but_displaced_by_a_full_budget() -> None:
    """£1,000 per QALY, budget £2,000. core (mandatory) 100 at £10 = £1,000; keep (optional):
    10 at £90 = £900 for 10 × 0.2 = 2 QALYs (£2,000 of health, net +£1,100); extra (optional):
    10 at £80 = £800 for 10 × 0.1 = 1 QALY (£1,000 of health, net +£200). The plan buys core
    and keep (£1,900). Forcing extra in within £2,000 means dropping keep: £1,000 of health
    lost for £100 of spend saved, £900 a year worse off (not "value for money", which the report
    gives as £ per QALY). Without the budget it would be bought, its contracts costing £800 a
    year."""
    instance = build(
        [{"service": "core", "demand": 100},
         {"service": "keep", "demand": 10, "mandatory": False, "qaly_gain": 0.2},
         {"service": "extra", "demand": 10, "mandatory": False, "qaly_gain": 0.1}],
        [{"provider": "A", "service": "core", "price": 10},
         {"provider": "A", "service": "keep", "price": 90},
         {"provider": "A", "service": "extra", "price": 80}],
        budget=2000, value_per_qaly=1000)
    session = PlanningModel(instance)
    base = session.run()
    plan = session.plan(base)
    assert plan.objective == approx(1_900 - 2_000)
    row = unfunded_services(session, base, plan).set_index("service").loc["extra"]
    assert row["reason"] == "unaffordable"
    assert row["cost_unlimited"] == approx(800)
    assert row["objective_change"] == approx(900)
    assert ("would displace care worth more, leaving the plan £900 a year worse off, counting "
            "health at £1,000 per QALY against spend and the risk charge") in row["message"]
    assert "value for money" not in row["message"]
    assert "at about £800 a year" in row["message"]


def test_the_report_says_why(tmp_path) -> None:
    """Through the CLI: unfunded.csv is written and report.html gives each reason in words."""
    import subprocess
    import sys

    from tests.formulations.test_correctness_round2 import _write

    instance = build(
        [{"service": "core", "demand": 100},
         {"service": "keep", "demand": 10, "mandatory": False, "qaly_gain": 0.2},
         {"service": "extra", "demand": 10, "mandatory": False, "qaly_gain": 0.1},
         {"service": "poor", "demand": 10, "mandatory": False, "qaly_gain": 0.01}],
        [{"provider": "A", "service": "core", "price": 10},
         {"provider": "A", "service": "keep", "price": 90},
         {"provider": "A", "service": "extra", "price": 80},
         {"provider": "A", "service": "poor", "price": 80}],
        budget=2000, value_per_qaly=1000)
    _write(instance, tmp_path / "inst")
    out = tmp_path / "plan"
    done = subprocess.run([sys.executable, "-m", "planner", "solve", str(tmp_path / "inst"),
                           "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    table = (out / "unfunded.csv").read_text(encoding="utf-8")
    assert "extra,unaffordable" in table and "poor,not worth it" in table
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Worth buying at £1,000 per QALY, but the budget keeps it out" in page
    assert "Not worth its cost at £1,000 per QALY" in page


def test_budget_off_frees_every_break_even_row_and_restores_them() -> None:
    """Under carry_forward the budget is held by five rows, not one: carry_over alone still
    caps spend at B_t + B_{t-1}. With all of them off, a £100,000-a-year mandatory service fits
    budgets of £10,000 (3 × £100,000 = £300,000); with them back on it is infeasible again."""
    import pandas as pd

    import planner

    instance = planner.Instance.from_frames(
        {"name": "carry", "population": 1000, "base_year": 2010, "horizon": 3,
         "policy": {"budget": [10_000, 10_000, 10_000], "break_even": "carry_forward"}},
        levels=pd.DataFrame([{"level": "pct", "order": 1, "population": 1000}]),
        services=pd.DataFrame([{"service": "s", "category": "c", "demand": 1000,
                                "mandatory": True}], dtype=object),
        providers=pd.DataFrame([{"provider": "A", "kind": "nhs_trust"}], dtype=object),
        offers=pd.DataFrame([{"provider": "A", "service": "s", "price": 100, "quality": 1.0}],
                            dtype=object))
    session = PlanningModel(instance)
    assert session.run().status == "infeasible"
    with session.budget_off() as had:
        assert had
        freed = session.run()
    assert freed.status == "optimal" and freed.objective == approx(300_000)
    assert all(getattr(session.model, name).active for name in
               ("budget_limit", "carry_over", "carry_rule", "carry_lapse"))
    assert session.run().status == "infeasible"
