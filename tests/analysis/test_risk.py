"""Risk a board can see (issue 18): the Monte Carlo of a plan's spend, the prudent budget and
provider failure, each against answers derived by hand (or by the exact Poisson distribution,
an independent route to the simulated probabilities)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

import planner
from planner.analysis.risk import risk
from planner.cli import main
from planner.errors import InputError
from planner.sweeps.stress import stress, stress_largest, stress_table
from tests.helpers import build, level_of, solve

PHI_1 = 0.5 * (1 + math.erf(1 / math.sqrt(2)))  # Φ(1) ≈ 0.8413


def poisson_cdf(k: int, mean: float) -> float:
    """P(K ≤ k) for K ~ Poisson(mean), summed exactly in logs (no simulation)."""
    return sum(math.exp(i * math.log(mean) - mean - math.lgamma(i + 1)) for i in range(k + 1))


def one_service(level_population: float = 10_000, cost_cv: float = 0.0, **policy) -> planner.Instance:
    """D = 10,000 episodes at £100 in an area of 10,000 people, one provider, one level."""
    policy.setdefault("budget", 1_010_000)
    return build([{"service": "s", "demand": 10_000, "cost_cv": cost_cv}],
                 [{"provider": "p", "service": "s", "price": 100}],
                 levels=[{"level": "unit", "population": level_population}],
                 population=10_000, **policy)


def test_one_unit_breaks_even_with_probability_phi_1() -> None:
    """Spend = £100 × K, K ~ Poisson(10,000): mean £1,000,000, s.d. £100 × √10,000 = £10,000.
    Within £1,010,000 ⟺ K ≤ 10,100, whose exact probability is ≈ Φ(1.005) ≈ 0.8426 (Φ(1) ≈
    0.841 by the normal approximation). 40,000 draws: standard error ≈ 0.0018."""
    instance = one_service()
    plan = solve(instance)
    assert plan.totals["spend"] == pytest.approx(1_000_000)
    result = risk(instance, plan, draws=40_000, seed=7)
    summary = result.summary
    exact = poisson_cdf(10_100, 10_000)
    assert summary["sd"] == pytest.approx(10_000)
    assert summary["mean"] == pytest.approx(1_000_000, abs=4 * 10_000 / math.sqrt(40_000))
    assert summary["sd_simulated"] == pytest.approx(10_000, rel=0.02)
    se = summary["p_within_budget_se"]
    assert abs(summary["p_within_budget"] - exact) < 4 * se
    assert abs(summary["p_within_budget"] - PHI_1) < 0.01
    assert summary["p05"] == pytest.approx(1_000_000 - 1.645 * 10_000, abs=600)
    assert summary["p95"] == pytest.approx(1_000_000 + 1.645 * 10_000, abs=600)
    overspend = 10_000 * (math.exp(-0.5) / math.sqrt(2 * math.pi) - (1 - PHI_1))  # E(X − B)+
    assert summary["expected_overspend"] == pytest.approx(overspend, rel=0.1)


def test_episode_cost_spread_adds_to_the_variance() -> None:
    """cost_cv 0.5: Var = λ E[X²] = 10,000 × 100² × (1 + 0.25), s.d. = £11,180.34."""
    instance = one_service(cost_cv=0.5)
    result = risk(instance, solve(instance), draws=40_000, seed=1)
    assert result.summary["sd"] == pytest.approx(100 * math.sqrt(10_000 * 1.25))
    assert result.summary["sd_simulated"] == pytest.approx(11_180.34, rel=0.02)
    assert result.table.loc[0, "sd"] == pytest.approx(11_180.34, rel=1e-6)


def test_many_small_units_break_even_less_often() -> None:
    """100 units of 100 people: each unit's K_u ~ Poisson(100) and its share of the budget is
    £10,000 × 1.01 = £10,100, so it stays within iff K_u ≤ 101: P = 0.5660 (exact Poisson),
    far below the whole area's 0.8426. The area's total is still Poisson(10,000)."""
    instance = one_service(level_population=100)
    plan = solve(instance)
    result = risk(instance, plan, draws=40_000, seed=3)
    level = result.levels.set_index("level").loc["unit"]
    assert level["units"] == pytest.approx(100)
    assert level["unit_budget_share"] == pytest.approx(10_100)
    unit_exact = poisson_cdf(101, 100)
    assert abs(level["p_unit_within"] - unit_exact) < 4 * math.sqrt(unit_exact * (1 - unit_exact)
                                                                    / 40_000)
    whole = result.summary["p_within_budget"]
    assert abs(whole - poisson_cdf(10_100, 10_000)) < 0.01
    assert level["p_unit_within"] < whole - 0.2
    assert result.table.loc[0, "unit_cv"] == pytest.approx(0.1)


def test_an_area_smaller_than_its_unit_bears_its_share() -> None:
    """A unit of 40,000 people (units 0.25): the area bears a quarter of Poisson(40,000) × £100:
    mean £1,000,000, s.d. 0.25 × £100 × 200 = £5,000; within £1,010,000 iff K ≤ 40,400."""
    instance = one_service(level_population=40_000)
    result = risk(instance, solve(instance), draws=20_000, seed=5)
    assert result.summary["sd"] == pytest.approx(5_000)
    assert abs(result.summary["p_within_budget"] - poisson_cdf(40_400, 40_000)) < 0.01


def test_same_seed_same_figures_and_another_seed_differs() -> None:
    instance = planner.load_instance(Path(__file__).parents[2] / "instances" / "toy")
    plan = solve(instance)
    a, b = risk(instance, plan, draws=5_000, seed=11), risk(instance, plan, draws=5_000, seed=11)
    assert a.to_json() == b.to_json()
    assert a.table.equals(b.table)
    c = risk(instance, plan, draws=5_000, seed=12)
    assert c.summary["p50"] != a.summary["p50"]


def test_too_few_draws_is_bad_input() -> None:
    instance = one_service()
    with pytest.raises(InputError, match="too few"):
        risk(instance, solve(instance), draws=10)


# --- the prudent budget -----------------------------------------------------------------------
def prudent_instance(**policy) -> planner.Instance:
    """One service (10,000 episodes at £100) at level `area` (one unit, no transaction cost) or
    `region` (40,000 people: units 0.25, £12,000 × 0.25 = £3,000 a year of contracting)."""
    return build([{"service": "s", "demand": 10_000}],
                 [{"provider": "p", "service": "s", "price": 100}],
                 levels=[{"level": "area", "population": 10_000},
                         {"level": "region", "population": 40_000, "transaction_cost": 12_000}],
                 population=10_000, budget=1_012_000, **policy)


def test_prudent_budget_changes_the_plan() -> None:
    """z_0.9 = 1.28155; Q0 = 10,000 × 100² = 10⁸ (£²), √Q0 = 10,000.
    area:   spend £1,000,000, Q = 10⁸,        bound 5,000 + 10⁸/20,000 = £10,000:
            1,000,000 + 12,815.5 = 1,012,815.5 > 1,012,000, so not prudent;
    region: spend £1,003,000, Q = 0.25 × 10⁸, bound 5,000 + 1,250 = £6,250:
            1,003,000 + 8,009.7 = 1,011,009.7 ≤ 1,012,000.
    Without the rule the plan is `area` (cheaper); with it, `region` at £1,003,000. Its chance of
    breaking even: 3,000 + 25 K ≤ 1,012,000 ⟺ K ≤ 40,360, K ~ Poisson(40,000): ≈ 0.964 ≥ 0.9."""
    plain = solve(prudent_instance())
    assert level_of(plain, "s") == "area"
    assert plain.totals["spend"] == pytest.approx(1_000_000)
    instance = prudent_instance(budget_confidence=0.9)
    prudent = solve(instance)
    assert level_of(prudent, "s") == "region"
    assert prudent.totals["spend"] == pytest.approx(1_003_000)
    result = risk(instance, prudent, draws=20_000, seed=2)
    target = poisson_cdf(40_360, 40_000)
    assert abs(result.summary["p_within_budget"] - target) < 0.01
    assert result.summary["p_within_budget"] >= 0.9
    assert result.summary["meets_budget_confidence"] is True
    # the independent check catches the plain plan breaking the prudent rule
    broken = planner.verify(instance, plain)
    assert any(line.startswith("budget_confidence") for line in broken), broken


def test_prudent_budget_that_cannot_be_met_is_diagnosed_as_budget() -> None:
    """At 0.99 (z = 2.3263) even `region` needs 1,003,000 + 2.3263 × 6,250 = £1,017,540:
    no plan, and the diagnosis names the budget."""
    plan = planner.solve(prudent_instance(budget_confidence=0.99))
    assert plan.status == "infeasible"
    assert any(r["constraint"] == "budget" for r in plan.diagnosis["relaxations"])


def test_prudent_budget_needs_a_budget_and_one_year() -> None:
    with pytest.raises(InputError, match="budget_confidence"):
        build([{"service": "s", "demand": 10}], [{"provider": "p", "service": "s", "price": 1}],
              budget=None, budget_confidence=0.9)


# --- provider failure -------------------------------------------------------------------------
def failure_instance() -> planner.Instance:
    """A (mandatory, 100 episodes): p1 £10 (incumbent), p2 £12. B (optional, 10 episodes at £5,
    1 QALY each at £100 a QALY): only p1 offers it. Base plan: both from p1, spend £1,050."""
    return build([{"service": "A", "demand": 100},
                  {"service": "B", "demand": 10, "mandatory": False, "qaly_gain": 1}],
                 [{"provider": "p1", "service": "A", "price": 10, "incumbent_volume": 100},
                  {"provider": "p1", "service": "B", "price": 5, "incumbent_volume": 10},
                  {"provider": "p2", "service": "A", "price": 12}],
                 providers=[{"provider": "p1", "incumbent": True, "exit_cost": 500},
                            {"provider": "p2"}],
                 value_per_qaly=100)


def test_failure_costs_the_dearer_provider_and_loses_the_optional_service() -> None:
    """After p1 fails: A from p2 at £12 × 100 = £1,200 (p1's exit cost is not charged), B has no
    provider. Recovery = £1,200 − £1,050 = £150 a year."""
    instance = failure_instance()
    base = solve(instance)
    assert base.totals["spend"] == pytest.approx(1_050)
    result = stress(instance, ["p1"], base)
    assert result.status == "optimal"
    assert result.spend == pytest.approx(1_200)
    assert result.recovery_cost == pytest.approx(150)
    assert list(result.dropped["service"]) == ["B"]
    assert planner.verify(result.plan.instance, result.plan) == []
    _, rows = stress_largest(instance, 2, base)
    table = stress_table(rows)
    assert list(table["failed"]) == ["p1"]  # p2 is paid nothing by the plan
    assert table.loc[0, "recovery_cost"] == pytest.approx(150)


def test_losing_the_only_provider_of_a_mandatory_service_exits_3(tmp_path: Path,
                                                                 toy_dir: Path) -> None:
    """In the toy, county_hospital is the only provider of hip replacements (mandatory)."""
    out = tmp_path / "stress"
    done = CliRunner().invoke(main, ["stress", str(toy_dir), "--fail", "county_hospital",
                                     "--out", str(out)])
    assert done.exit_code == 3, done.output
    data = json.loads((out / "stress.json").read_text())
    result = data["results"][0]
    assert result["status"] == "infeasible"
    assert [r["subject"] for r in result["without_provider"]] == ["hip_replacement"]
    assert "mandatory, but no provider offers it" in result["message"]
    assert "hip_replacement" in (out / "stress.csv").read_text()


def test_stress_refuses_an_unknown_provider(toy_dir: Path, tmp_path: Path) -> None:
    done = CliRunner().invoke(main, ["stress", str(toy_dir), "--fail", "nobody",
                                     "--out", str(tmp_path / "s")])
    assert done.exit_code == 2
    assert "nobody" in done.output


# --- the command and the report ---------------------------------------------------------------
def test_risk_command_writes_files_and_the_report_shows_them(tmp_path: Path, toy_dir: Path) -> None:
    plan_dir = tmp_path / "plan"
    assert CliRunner().invoke(main, ["solve", str(toy_dir), "--out", str(plan_dir),
                                     "--no-marginal"]).exit_code == 0
    done = CliRunner().invoke(main, ["risk", str(plan_dir), "--draws", "2000", "--seed", "4"])
    assert done.exit_code == 0, done.output
    first = (plan_dir / "risk.json").read_bytes()
    data = json.loads(first)
    for key in ("p_within_budget", "p05", "p50", "p95", "expected_overspend", "levels"):
        assert key in data
    assert {row["level"] for row in data["levels"]} == {"practice", "pct"}
    assert (plan_dir / "risk.csv").read_text().startswith("service,level,units")
    html = (plan_dir / "report.html").read_text()
    assert 'id="risk"' in html and "Simulated spend in a year" in html
    assert "stays within its budget" in (plan_dir / "summary.md").read_text()
    assert CliRunner().invoke(main, ["risk", str(plan_dir), "--draws", "2000",
                                     "--seed", "4"]).exit_code == 0
    assert (plan_dir / "risk.json").read_bytes() == first  # deterministic for a seed


def test_ctrl_c_while_the_reports_are_made_leaves_the_plan_folder_as_it_was(
        tmp_path: Path, toy_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """risk.json, risk.csv and the three reports are all made before any is written: Ctrl-C
    while report.html is rendered exits 130 and the folder holds exactly what it held (before,
    risk.json and risk.csv were written first, beside reports that did not show them)."""
    from planner.reports import html as report_html

    plan_dir = tmp_path / "plan"
    assert CliRunner().invoke(main, ["solve", str(toy_dir), "--out", str(plan_dir),
                                     "--no-marginal"]).exit_code == 0
    before = {f.name: f.read_bytes() for f in plan_dir.iterdir() if f.is_file()}

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(report_html, "render_html", interrupted)
    done = CliRunner().invoke(main, ["risk", str(plan_dir), "--draws", "200"])
    assert done.exit_code == 130, done.output
    assert {f.name: f.read_bytes() for f in plan_dir.iterdir() if f.is_file()} == before


def test_prudent_pct_plan_breaks_even_at_least_nine_years_in_ten(tmp_path: Path) -> None:
    """The PCT at budget_confidence 0.9: the plan keeps headroom, verifies, and the Monte Carlo
    (no normal approximation) finds p_within_budget ≥ 0.9 within sampling error."""
    import shutil

    folder = tmp_path / "pct"
    shutil.copytree(Path(__file__).parents[2] / "instances" / "pct", folder)
    yaml_path = folder / "instance.yaml"
    yaml_path.write_text(yaml_path.read_text().replace(
        "  break_even: annual", "  break_even: annual\n  budget_confidence: 0.9"))
    instance = planner.load_instance(folder)
    plan = solve(instance)
    assert plan.totals["headroom"] > 0
    summary = risk(instance, plan, draws=10_000, seed=0).summary
    assert summary["p_within_budget"] + 3 * summary["p_within_budget_se"] >= 0.9
    assert summary["meets_budget_confidence"] is True


def test_block_and_bundle_payments_are_fixed_costs_not_simulated_again() -> None:
    """pct_payment lets a block contract and a capitated bundle: each is paid its fixed sum
    however many episodes come, and sits in the plan's spend outside its activity spend. So the
    simulated spend's exact mean is the plan's spend: fixed costs (the block and bundle among
    them) + the activity-paid episodes at their prices. Before, their episodes were simulated
    again on top of the fixed sums, and the mean came out by the block + bundle (£7.0m) too
    high, a plan with headroom reported as certain to overspend."""
    instance = planner.load_instance(Path(__file__).resolve().parents[2] / "instances"
                                     / "pct_payment")
    plan = solve(instance)
    fixed_sums = plan.totals["block_spend"] + plan.totals["bundle_spend"]
    assert fixed_sums > 1_000_000  # the instance really lets both
    summary = risk(instance, plan, draws=200, seed=1).summary
    assert summary["expected_spend"] == pytest.approx(plan.totals["spend"], rel=1e-9)
    assert summary["fixed_costs"] >= fixed_sums
