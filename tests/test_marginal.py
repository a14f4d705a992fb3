"""Marginal values: LP duals of the fixed plan and MILP re-solves, against hand-derived values."""

from __future__ import annotations

import pandas as pd
import pytest
from pytest import approx

import planner

pytestmark = pytest.mark.solver


def quality_mix(budget: float) -> planner.Instance:
    """Demand 100; A £10 at quality 0.5, B £20 at quality 1.0; 0.1 QALY per episode at quality 1;
    λ = £1,000/QALY. Per episode A nets 10 − 50 = −40 and B 20 − 100 = −80, so every episode
    moved from A to B costs £10 more and gains £50 of QALYs: £4 of objective per £ of budget,
    0.005 QALYs per £ (5,000 per £1m). Budget £1,500: 50 from each, objective
    1,500 − 1,000 × (50 × 0.05 + 50 × 0.1) = −£6,000.
    """
    return planner.Instance.from_frames(
        {"name": "mix", "population": 1000, "policy": {"budget": budget, "value_per_qaly": 1000}},
        levels=pd.DataFrame([{"level": "pct", "order": 1, "population": 1000}]),
        services=pd.DataFrame([{"service": "s", "category": "elective", "demand": 100,
                                "mandatory": True, "qaly_gain": 0.1}]),
        providers=pd.DataFrame([{"provider": "A", "kind": "nhs_trust"},
                                {"provider": "B", "kind": "independent"}]),
        offers=pd.DataFrame([{"provider": "A", "service": "s", "price": 10, "quality": 0.5},
                             {"provider": "B", "service": "s", "price": 20, "quality": 1.0}]))


def test_budget_dual_and_resolves_match_hand_values() -> None:
    plan = planner.solve(quality_mix(1500), marginal=True)
    assert plan.objective == approx(-6000)
    values = plan.marginal_values
    dual = values[(values.constraint == "budget") & (values.method == "lp_dual")]
    assert dual["marginal_value"].iloc[0] == approx(4)
    resolves = values[(values.constraint == "budget") & (values.method == "milp_resolve")]
    assert list(resolves["subject"]) == ["budget -5%", "budget -1%", "budget +1%", "budget +5%"]
    assert list(resolves["marginal_value"]) == approx([4, 4, 4, 4])
    assert list(resolves["qalys_per_unit"]) == approx([0.005] * 4)
    assert "5,000.0 QALYs per £1m" in resolves["message"].iloc[2]


def test_resolves_show_the_step_a_dual_misses() -> None:
    """At a budget of £2,000 all 100 episodes are already from B: more money buys nothing
    (the dual is 0), but 5 % less (£1,900) forces 10 episodes back to A: −£400, i.e. £4/£."""
    plan = planner.solve(quality_mix(2000), marginal=True)
    values = plan.marginal_values
    budget = values[values.constraint == "budget"].set_index("subject")
    assert budget.loc["budget -5%", "marginal_value"] == approx(4)
    assert budget.loc["budget +5%", "marginal_value"] == approx(0)
    assert not ((values.constraint == "budget") & (values.method == "lp_dual")).any()


def test_marginal_values_written_with_plan(tmp_path) -> None:
    plan = planner.solve(quality_mix(1500), marginal=True)
    plan.to_dir(tmp_path / "plan")
    table = pd.read_csv(tmp_path / "plan" / "marginal_values.csv")
    assert {"constraint", "subject", "method", "marginal_value", "unit", "message"} <= set(table.columns)
    assert planner.verify(quality_mix(1500), plan) == []
