"""Why a service is not commissioned: each of the three answers on a tiny instance by hand."""

from __future__ import annotations

import pytest
from pytest import approx

from planner.session import PlanningModel
from planner.unfunded import unfunded_services
from tests.helpers import build

pytestmark = pytest.mark.solver


def test_not_worth_it_unaffordable_and_kept_out_by_a_rule() -> None:
    """£1,000 per QALY, budget £1,500. core (mandatory): 100 episodes at £10 = £1,000.

    * poor: 10 episodes at £100 (£1,000) for 0.1 QALY each: 1 QALY worth £1,000 ≤ £1,000 of
      cost: not worth it (the quick test, no re-solve).
    * good: 10 episodes at £100 (£1,000) for 0.5 QALY each: 5 QALYs worth £5,000, £4,000 better
      value for money, but £1,000 + £1,000 is £500 over the £1,500 budget: unaffordable, short
      by £500.
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
    assert table.loc["good", "budget_short"] == approx(500)
    assert table.loc["good", "objective_change"] == approx(-4_000)
    assert "needs £500 more than the budget" in table.loc["good", "message"]
    assert table.loc["capped", "reason"] == "kept out by a rule"
    again = session.run()  # the forced rows are gone: the model is the plan's own again
    assert again.objective == approx(1_000)
