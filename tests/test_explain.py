"""Explaining plans on the toy instance: why-not answers, alternatives, comparisons, elastic plans.

Hand values (see instances/toy/README.md): the optimum is £1,383,000 with diabetes care at
practice level from riverside_federation (450 × £180 + £1,000 = £82,000).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from pytest import approx

import planner
from planner.alternatives import alternatives
from planner.compare import PlanView, compare
from planner.explain import explain

pytestmark = pytest.mark.solver


@pytest.fixture(scope="module")
def toy() -> planner.Instance:
    return planner.load_instance(Path(__file__).parents[1] / "instances" / "toy")


def test_why_not_pct_level(toy: planner.Instance) -> None:
    """At PCT level diabetes care costs 500 × £180 + £2,000 = £92,000 instead of £82,000."""
    answer = explain(toy, "diabetes_care", level="pct")
    assert answer.objective_change == approx(10_000)
    costs = answer.costs.set_index("item")["change"]
    assert costs["activity_spend"] == approx(9_000)
    assert costs["transaction_costs"] == approx(1_000)
    assert "changes the objective by £10,000" in answer.text()
    assert planner.verify(toy, answer.alternative) == []


def test_why_not_a_provider_the_budget_forbids(toy: planner.Instance) -> None:
    """The surgery can serve diabetes only at PCT level (conflicted at practice): all 500 at
    £200 + £2,000 = £102,000, £20,000 more, so spend £1,403,000 is £3,000 over the budget."""
    answer = explain(toy, "diabetes_care", provider="high_street_surgery")
    assert answer.alternative is None
    assert answer.reason == "it would overspend the budget by £3,000 (every other rule can be met)."


def test_why_not_answers_from_the_data(toy: planner.Instance) -> None:
    assert "mandatory" in explain(toy, "diabetes_care", drop=True).reason
    assert "cannot bear hip_replacement's risk" in explain(toy, "hip_replacement",
                                                           level="practice").reason
    assert "does not offer" in explain(toy, "hip_replacement", provider="riverside_federation").reason


def test_alternatives_are_distinct_and_near_optimal(toy: planner.Instance) -> None:
    plans, table = alternatives(toy, 3, within=0.01)
    assert 1 <= len(plans) <= 3
    limit = 1_383_000 * 1.01
    patterns = set()
    for plan in plans:
        assert plan.objective <= limit + 1e-6
        assert plan.objective >= 1_383_000 - 1e-6
        assert planner.verify(toy, plan) == []
        patterns.add(frozenset(zip(plan.contracts.service, plan.contracts.level,
                                   plan.contracts.provider)))
    assert len(patterns) == len(plans)
    assert set(table["alternative"]) == set(range(1, len(plans) + 1))


def test_compare_with_status_quo(toy: planner.Instance) -> None:
    """Status quo: the surgery does all 40,000 GP consultations and 500 diabetes episodes; the
    hospital 20 hips. The plan starts two federation contracts, ends the surgery's diabetes
    contract and cuts its GP contract to 10,000."""
    plan = planner.solve(toy)
    tables = compare(PlanView.status_quo(toy), PlanView.from_plan(plan))
    changes = tables["contract_changes"].set_index(["service", "provider"])["change"]
    assert changes[("gp_consultations", "riverside_federation")] == "started"
    assert changes[("diabetes_care", "riverside_federation")] == "started"
    assert changes[("diabetes_care", "high_street_surgery")] == "ended"
    assert changes[("gp_consultations", "high_street_surgery")] == "volume changed"
    spend = tables["spend_by"].set_index(["by", "key"])
    assert spend.loc[("kind", "gp_practice"), "difference"] == approx(300_000 - 1_300_000)
    assert tables["below_break_even"].empty


def test_cli_compare_two_plans(tmp_path: Path, toy: planner.Instance) -> None:
    planner.solve(toy).to_dir(tmp_path / "a")
    planner.solve(toy, without=["conflicts"]).to_dir(tmp_path / "b")
    done = subprocess.run([sys.executable, "-m", "planner", "compare", str(tmp_path / "a"),
                           str(tmp_path / "b"), "--out", str(tmp_path / "cmp")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "b against a:" in done.stdout
    assert (tmp_path / "cmp" / "changes.csv").is_file()


def test_elastic_plan_prices_its_relaxations(tmp_path: Path, toy_copy: Path) -> None:
    text = (toy_copy / "instance.yaml").read_text().replace("1400000", "1300000")
    (toy_copy / "instance.yaml").write_text(text)
    plan = planner.solve(toy_copy, elastic=True)
    assert plan.status == "infeasible" and plan.relaxed
    combined = [r for r in plan.diagnosis["relaxations"] if not r["alone"]]
    # Cheapest combined relaxation: £83,000 more budget (unmet GP demand is priced at 10 × £29.50
    # an episode, far dearer), so the relaxed plan is the optimum of the toy at £1,383,000.
    assert [(r["constraint"], r["amount"], r["cost"]) for r in combined] == [
        ("budget", approx(83_000), approx(83_000))]
    assert plan.totals["spend"] == approx(1_383_000)
    plan.to_dir(tmp_path / "relaxed")
    report = json.loads((tmp_path / "relaxed" / "plan.json").read_text())
    assert report["status"] == "infeasible" and report["relaxed"] is True
    assert len(pd.read_csv(tmp_path / "relaxed" / "contracts.csv")) > 0


def test_solve_writes_status_quo_changes_and_alternatives(tmp_path: Path, toy_dir: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "planner", "solve", str(toy_dir), "--out",
                           str(tmp_path / "p"), "--alternatives", "2", "--within", "0.01"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    for name in ("changes.csv", "spend_changes.csv", "marginal_values.csv", "alternatives.csv"):
        assert (tmp_path / "p" / name).is_file(), name


def test_presolve_lower_bound_on_spend(toy_copy: Path) -> None:
    """Budget £1m. Before any model: GP consultations 40,000 × £29 (the federation's price,
    capacity ignored) + diabetes 450 × £180 at practice level + hips 20 × £6,000 = £1,361,000,
    £361,000 over. The exact figure from the elastic model is £383,000 (£1,383,000 − £1m)."""
    text = (toy_copy / "instance.yaml").read_text().replace("1400000", "1000000")
    (toy_copy / "instance.yaml").write_text(text)
    plan = planner.solve(toy_copy)
    presolve = plan.diagnosis["prechecks"]
    assert presolve and presolve[0]["amount"] == approx(361_000)
    rows = plan.diagnosis["relaxations"]
    exact = [r for r in rows if r["constraint"] == "budget" and r["alone"]]
    assert exact[0]["amount"] == approx(383_000) and exact[0]["exact"] is True
