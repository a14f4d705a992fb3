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
from planner.analysis.alternatives import alternatives
from planner.analysis.compare import PlanView, compare
from planner.analysis.explain import explain

pytestmark = pytest.mark.solver


@pytest.fixture(scope="module")
def toy() -> planner.Instance:
    return planner.load_instance(Path(__file__).parents[2] / "instances" / "toy")


def test_why_not_pct_level(toy: planner.Instance) -> None:
    """At PCT level diabetes care costs 500 × £180 + £2,000 = £92,000 instead of £82,000."""
    answer = explain(toy, "diabetes_care", level="pct")
    assert answer.objective_change == approx(10_000)
    costs = answer.costs.set_index("item")["change"]
    assert costs["activity_spend"] == approx(9_000)
    assert costs["transaction_costs"] == approx(1_000)
    assert ("The alternative leaves the plan £10,000 a year worse off, counting health at £0 per "
            "QALY against spend and the risk charge:") in answer.text()
    assert "value for money" not in answer.text()  # that is the headline's £ per QALY
    assert planner.verify(toy, answer.alternative) == []


def test_why_not_a_provider_the_budget_forbids(toy: planner.Instance) -> None:
    """The surgery can serve diabetes only at PCT level (conflicted at practice): all 500 at
    £200 + £2,000 = £102,000, £20,000 more, so spend £1,403,000 is £3,000 over the budget."""
    answer = explain(toy, "diabetes_care", provider="high_street_surgery")
    assert answer.alternative is None
    assert answer.reason == "it would overspend the budget by £3,000 (every other rule can be met)."


def test_why_not_answers_from_the_data(toy: planner.Instance) -> None:
    """In names, with the table and column to change: a board reads no ids."""
    assert explain(toy, "diabetes_care", drop=True).reason == (
        "Diabetes care is mandatory: it must be commissioned in full.")
    assert explain(toy, "hip_replacement", level="practice").reason == (
        "a GP practice unit cannot bear Hip replacement's risk: the spread of its annual spend "
        "(CV 0.447) is above the 0.1 the level can bear (levels.csv, risk_tolerance).")
    assert explain(toy, "hip_replacement", provider="riverside_federation").reason == (
        "Riverside GP Federation does not offer Hip replacement (no row in offers.csv).")


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
    # into a third plan's folder: refused, that plan's files left as they were
    planner.solve(toy).to_dir(tmp_path / "c")
    before = {f.name: f.read_bytes() for f in (tmp_path / "c").iterdir() if f.is_file()}
    refused = subprocess.run([sys.executable, "-m", "planner", "compare", str(tmp_path / "a"),
                              str(tmp_path / "b"), "--out", str(tmp_path / "c"), "--force"],
                             capture_output=True, text=True, check=False)
    assert refused.returncode == 2 and "holds a plan (plan.json)" in refused.stderr
    assert {f.name: f.read_bytes() for f in (tmp_path / "c").iterdir() if f.is_file()} == before


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


# --- answers in the analyst's terms -----------------------------------------------------------
def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "planner", *args], capture_output=True, text=True,
                          timeout=300)


def test_unknown_ids_are_exit_2_with_the_known_ones_suggested() -> None:
    toy = str(Path(__file__).parents[2] / "instances" / "toy")
    done = _cli("explain", toy, "--service", "diabetes_care", "--provider", "riverside_federaton")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "unknown provider 'riverside_federaton'" in done.stderr
    assert "Did you mean 'riverside_federation'?" in done.stderr
    done = _cli("explain", toy, "--service", "diabetes_care", "--level", "nosuch")
    assert done.returncode == 2 and "unknown level 'nosuch'" in done.stderr
    assert "practice" in done.stderr and "Traceback" not in done.stderr
    done = _cli("explain", toy, "--service", "diabetis_care", "--drop")
    assert done.returncode == 2 and "Did you mean 'diabetes_care'?" in done.stderr


def test_dropping_a_service_the_plan_does_not_buy_says_so() -> None:
    """An optional service worth nothing at £0 per QALY is not bought: nothing to drop."""
    from tests.helpers import build

    instance = build([{"service": "s", "demand": 10},
                      {"service": "extra", "demand": 10, "mandatory": False, "qaly_gain": 0.1}],
                     [{"provider": "A", "service": "s", "price": 10},
                      {"provider": "A", "service": "extra", "price": 10}])
    answer = explain(instance, "extra", drop=True)
    assert "does not commission extra: there is nothing to drop" in answer.text()
    assert "−£0" not in answer.text()


def test_health_is_priced_in_pounds_and_a_full_budget_says_where_money_comes_from() -> None:
    """s: 100 episodes, A £10 (capacity 50), B £12: 50 × 10 + 50 × 12 = £1,100. extra (optional,
    50 episodes from C at £10 = £500, qaly_gain 0.1, so 5 QALYs worth £5,000 at £1,000/QALY) is
    bought. The budget £1,600 is spent in full. Forcing all of s to B costs £1,200, so extra must
    go: spend −£400 in all, 5 QALYs lost (−£5,000 of value), objective +£4,600."""
    from tests.helpers import build

    instance = build([{"service": "s", "demand": 100},
                      {"service": "extra", "demand": 50, "mandatory": False, "qaly_gain": 0.1}],
                     [{"provider": "A", "service": "s", "price": 10, "capacity": 50},
                      {"provider": "B", "service": "s", "price": 12},
                      {"provider": "C", "service": "extra", "price": 10}],
                     budget=1600, value_per_qaly=1000)
    answer = explain(instance, "s", provider="B")
    assert answer.objective_change == approx(4_600)
    text = answer.text()
    assert ("The alternative leaves the plan £4,600 a year worse off, counting health at £1,000 "
            "per QALY against spend and the risk charge:") in text
    assert "health gained: 5.00 → 0.00 QALYs (−5.00 × £1,000 = £5,000 of value)" in text
    assert "activity spend: £1,600 → £1,200 (−£400)" in text
    assert "The budget is fully spent in the plan (£1,600)" in text
    assert "extra: −£500" in text and "s: +£100" in text
    # B already has the 50 episodes A cannot take: the question says so, the lines show the
    # change, and a cheaper alternative (£1,200 against £1,600) needs no money from elsewhere
    assert text.startswith("The plan gives B 50 of the 100 episodes of s a year: why not all it "
                           "can take?")
    assert "episodes of s from B: 50 of 100 → 100 of 100 a year" in text
    assert "the spend moves between services:" in text and "any extra cost" not in text
    assert "binding only in the plan: Capacity for a service (A/s)" in text  # the rule by name


def test_cli_explain_says_how_much_worse_off_in_the_words_unfunded_uses() -> None:
    """`planner explain` leads with the rise of the objective in the words of unfunded.csv's
    messages (planner.formats.worse_off), not "value for money", which the report's headline
    gives in £ per QALY: at the toy's £0 per QALY, PCT level costs £10,000 a year more."""
    from click.testing import CliRunner

    from planner.cli.main import main
    from planner.formats import worse_off

    toy = str(Path(__file__).parents[2] / "instances" / "toy")
    done = CliRunner().invoke(main, ["explain", toy, "--service", "diabetes_care",
                                     "--level", "pct"])
    assert done.exit_code == 0, done.output
    assert (f"  The alternative leaves the plan {worse_off(10_000, 1, 0)}:\n" in done.output)
    assert ("£10,000 a year worse off, counting health at £0 per QALY against spend and the "
            "risk charge") in done.output
    assert "value for money" not in done.output


def test_alternatives_differ_in_a_decision_a_board_recognises(toy: planner.Instance) -> None:
    """Every alternative lets or ends a contract or moves a level; a contract the optimum does
    not have carries at least 5 % of its demand (22.5 of diabetes care's 450 episodes at
    practice level), and each says what differs in £. Diabetes care at PCT level is £10,000
    dearer (test_why_not_pct_level), so it is among the alternatives within 5 %."""
    plans, table = alternatives(toy, 3, within=0.05)
    assert len(plans) == 3
    for _, rows in table.groupby("alternative"):
        assert set(rows["change"]) & {"started", "ended", "moved"}, rows
        started = rows.loc[rows["change"] == "started"]
        assert (started["volume_b"] >= 0.05 * 450 - 1e-6).all(), started
        assert rows["differs"].iloc[0].startswith("£"), rows["differs"].iloc[0]
    assert any(text.startswith("£10,000 a year worse off, counting health at £0 per QALY against "
                               "spend and the risk charge (0.72% of the best plan's objective): "
                               "Diabetes care moves from GP practice to Primary care trust level")
               for text in table["differs"])
    assert not table["differs"].str.contains("value for money").any()
    for plan in plans:
        assert planner.verify(toy, plan) == []


def test_asking_about_what_the_plan_already_does(toy: planner.Instance) -> None:
    """The toy's plan buys diabetes care at practice level, all 450 episodes from the
    federation (instances/toy/README.md): asking "why not" that says so, with no re-solve."""
    answer = explain(toy, "diabetes_care", level="practice")
    assert answer.text().endswith("The plan already commissions Diabetes care at GP practice level.")
    answer = explain(toy, "diabetes_care", provider="riverside_federation")
    assert "already gives Diabetes care to Riverside GP Federation: 450 episodes" in answer.text()
    # all it can take already: the question is the plain one, not "why not all it can take?"
    assert answer.question == "Why not give Diabetes care to Riverside GP Federation?"


def test_compare_refuses_the_status_quo_of_another_instance(tmp_path: Path) -> None:
    """A toy plan compared with the PCT's status quo would report 174 contracts ended: exit 2."""
    root = Path(__file__).parents[2]
    done = _cli("solve", str(root / "instances" / "toy"), "--out", str(tmp_path / "toy"),
                "--no-marginal")
    assert done.returncode == 0, done.stderr
    done = _cli("compare", str(tmp_path / "toy"), "--status-quo", str(root / "instances" / "pct"))
    assert done.returncode == 2 and "was solved from instance 'toy', not 'pct'" in done.stderr
    done = _cli("compare", str(tmp_path / "toy"), "--status-quo", str(root / "instances" / "toy"))
    assert done.returncode == 0 and "2 started, 1 ended" in done.stdout


def test_a_contract_not_let_binds_nothing() -> None:
    """s (100 episodes, min_share 0.2) from A at £10 or B at £12: the plan lets A alone; asked
    why not B, the alternative lets B alone. The minimum-share row of the contract not let
    (0.2 × 100 × z − x ≤ 0 with x = z = 0) holds with equality in each plan but binds nothing,
    so neither is listed as binding (both were, one each way)."""
    from tests.helpers import build

    instance = build([{"service": "s", "demand": 100, "min_share": 0.2}],
                     [{"provider": "A", "service": "s", "price": 10},
                      {"provider": "B", "service": "s", "price": 12}])
    answer = explain(instance, "s", provider="B")
    assert answer.alternative is not None and answer.alternative.has_solution
    assert "min_share" not in set(answer.constraints["constraint"])
