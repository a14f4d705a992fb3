"""Shifting care (issue 15): demand effects between services and partial coverage.

Every instance here has one level (pct, one unit, no transaction cost), a mandatory hospital
service ``hosp`` (100 episodes a year at £1,000 from ``trust``) and a discretionary community
service ``comm`` (50 episodes a year at £400 from ``cp``); quality 1 everywhere. Each optimum is
derived by hand in the test's docstring. The level of a service is chosen once for the horizon,
so a bought ``comm`` runs every year (at full demand unless min_coverage < 1).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import planner
from planner.errors import InputError
from tests.helpers import _frame


def shifting_instance(effects: list[dict] | None = None, *, horizon: int = 1,
                      coverage: float | None = None, comm_qaly: float = 0.0,
                      hosp: dict | None = None, **policy) -> planner.Instance:
    services = [{"service": "hosp", "category": "urgent", "demand": 100, "mandatory": True,
                 **(hosp or {})},
                {"service": "comm", "category": "community", "demand": 50, "mandatory": False,
                 "qaly_gain": comm_qaly, **({"min_coverage": coverage} if coverage else {})}]
    offers = [{"provider": "trust", "service": "hosp", "price": 1000, "quality": 1.0},
              {"provider": "cp", "service": "comm", "price": 400, "quality": 1.0}]
    return planner.Instance.from_frames(
        {"name": "shift", "population": 1000, "horizon": horizon, "policy": policy},
        levels=_frame([{"level": "pct", "order": 1, "population": 1000}]),
        services=_frame(services),
        providers=_frame([{"provider": "trust", "kind": "nhs_trust"},
                          {"provider": "cp", "kind": "community_provider"}]),
        offers=_frame(offers), effects=pd.DataFrame(effects) if effects else None)


def solved(instance: planner.Instance) -> planner.Plan:
    plan = planner.solve(instance)
    assert plan.status == "optimal"
    assert planner.verify(instance, plan) == []
    return plan


def volume(plan: planner.Plan, service: str, year: int | None = None) -> float:
    c = plan.contracts
    mine = c.loc[(c["service"] == service) & ((c["year"] == year) if year else True)]
    return float(mine["volume"].sum())


def test_an_effect_that_pays_for_itself_is_bought() -> None:
    """factor −1: each community episode (£400) avoids one admission (£1,000). Buying comm:
    50 × 400 + (100 − 50) × 1,000 = £70,000 < £100,000 without it; optimum £70,000."""
    plan = solved(shifting_instance([{"source": "comm", "target": "hosp", "factor": -1.0}]))
    assert plan.objective == pytest.approx(70_000)
    assert volume(plan, "comm") == pytest.approx(50) and volume(plan, "hosp") == pytest.approx(50)
    effects = plan.effects.iloc[0]
    assert effects["episodes"] == pytest.approx(-50) and effects["saved"] == pytest.approx(50_000)
    hosp = plan.services.set_index("service").loc["hosp"]
    assert hosp["demand"] == pytest.approx(50) and hosp["shifted"] == pytest.approx(-50)


def test_a_weaker_effect_does_not_pay_and_is_not_bought() -> None:
    """factor −0.3: comm costs £20,000 and saves 15 admissions = £15,000; not bought, £100,000."""
    plan = solved(shifting_instance([{"source": "comm", "target": "hosp", "factor": -0.3}]))
    assert plan.objective == pytest.approx(100_000)
    assert volume(plan, "comm") == 0 and volume(plan, "hosp") == pytest.approx(100)
    assert plan.effects["saved"].sum() == pytest.approx(0)


def test_a_lagged_effect_over_three_years() -> None:
    """lag 1, factor −1, three years. Bought, comm costs 3 × £20,000 and saves 50 admissions in
    2011 and 2012 only (2010's demand has no earlier year): 300,000 − 100,000 + 60,000 =
    £260,000 < £300,000. With factor −0.5 it saves 2 × £25,000 < £60,000: not bought
    (£300,000), though the same factor with no lag saves 3 × £25,000 > £60,000 (£285,000)."""
    strong = solved(shifting_instance([{"source": "comm", "target": "hosp", "factor": -1.0,
                                        "lag": 1}], horizon=3))
    assert strong.objective == pytest.approx(260_000)
    assert [volume(strong, "hosp", y) for y in (2010, 2011, 2012)] == pytest.approx([100, 50, 50])
    assert list(strong.effects["year"]) == [2011, 2012]
    weak = solved(shifting_instance([{"source": "comm", "target": "hosp", "factor": -0.5,
                                      "lag": 1}], horizon=3))
    assert weak.objective == pytest.approx(300_000) and volume(weak, "comm") == 0
    prompt = solved(shifting_instance([{"source": "comm", "target": "hosp", "factor": -0.5,
                                        "lag": 0}], horizon=3))
    assert prompt.objective == pytest.approx(285_000)


def test_coverage_varies_by_year_under_a_lag() -> None:
    """As the strong lagged case with min_coverage 0.2: 2012's comm pays back nothing, so it
    drops to 0.2 × 50 = 10 episodes (£4,000) while 2010 and 2011 stay full (each episode saves
    £1,000 the next year for £400): 120,000 + 70,000 + 54,000 = £244,000."""
    plan = solved(shifting_instance([{"source": "comm", "target": "hosp", "factor": -1.0,
                                      "lag": 1}], horizon=3, coverage=0.2))
    assert plan.objective == pytest.approx(244_000)
    assert [volume(plan, "comm", y) for y in (2010, 2011, 2012)] == pytest.approx([50, 50, 10])
    coverage = plan.services.set_index(["service", "year"])["coverage"]
    assert coverage[("comm", 2012)] == pytest.approx(0.2)


def test_annual_break_even_cannot_afford_what_multi_year_allows() -> None:
    """Budget £118,000 a year, the strong lagged effect. Annual: 2010 with comm costs £120,000
    > £118,000, and comm runs every year once bought, so it is never bought: £300,000.
    multi_year (3-year window, 2 % over a year allowed: £120,360): 120,000 + 70,000 + 70,000 ≤
    354,000, so it is bought: £260,000."""
    effect = [{"source": "comm", "target": "hosp", "factor": -1.0, "lag": 1}]
    annual = solved(shifting_instance(effect, horizon=3, budget=118_000))
    multi = solved(shifting_instance(effect, horizon=3, budget=118_000, break_even="multi_year"))
    assert annual.objective == pytest.approx(300_000)
    assert multi.objective == pytest.approx(260_000)


def test_partial_coverage_buys_part_of_a_valuable_service() -> None:
    """comm gives 0.05 QALY an episode at £20,000 a QALY (£1,000 of health for £400). Budget
    £110,000 leaves £10,000 after hosp: 25 episodes. min_coverage 0.4 (20 episodes) lets the
    plan buy 25 (coverage 0.5): 110,000 − 20,000 × 0.05 × 25 = £85,000. All or nothing (or
    min_coverage 0.6 = 30 episodes, £12,000) buys none: £100,000."""
    kwargs = {"comm_qaly": 0.05, "budget": 110_000, "value_per_qaly": 20_000}
    part = solved(shifting_instance(coverage=0.4, **kwargs))
    assert part.objective == pytest.approx(85_000) and volume(part, "comm") == pytest.approx(25)
    assert part.services.set_index("service").at["comm", "coverage"] == pytest.approx(0.5)
    for coverage in (None, 0.6):
        none = solved(shifting_instance(coverage=coverage, **kwargs))
        assert none.objective == pytest.approx(100_000) and volume(none, "comm") == 0


def test_verify_rechecks_effects_and_coverage_from_the_raw_tables() -> None:
    """A plan solved without the effect (hosp 100) breaks the rule of the instance with it
    (hosp must then carry 50); a plan buying 25 of comm breaks min_coverage 0.6."""
    effect = [{"source": "comm", "target": "hosp", "factor": -1.0}]
    with_effect = solved(shifting_instance(effect))
    forced = shifting_instance([{"source": "comm", "target": "hosp", "factor": -0.5}])
    problems = planner.verify(forced, with_effect)
    assert any("hosp" in p and "shifted by effects.csv" in p for p in problems), problems
    part = solved(shifting_instance(coverage=0.4, comm_qaly=0.05, budget=110_000,
                                    value_per_qaly=20_000))
    stricter = shifting_instance(coverage=0.6, comm_qaly=0.05, budget=110_000,
                                 value_per_qaly=20_000)
    assert any("coverage" in p for p in planner.verify(stricter, part))


BAD_EFFECTS = [
    ([{"source": "ghost", "target": "hosp", "factor": -1}], "unknown service 'ghost'"),
    ([{"source": "comm", "target": "comm", "factor": -1}], "changes its own demand"),
    ([{"source": "hosp", "target": "comm", "factor": -0.1}], "target 'comm' is not mandatory"),
    ([{"source": "comm", "target": "hosp", "factor": -1, "lag": 1}], "lag 1 years is not inside"),
    ([{"source": "comm", "target": "hosp", "factor": -3}],
     "could avoid 150.0 episodes in year 2010, more than its least demand 100.0: its demand "
     "would go 50.0 episodes below zero"),
    ([{"source": "comm", "target": "hosp", "factor": "x"}], "'x' is not a number"),
]


@pytest.mark.parametrize(("rows", "expected"), BAD_EFFECTS)
def test_bad_effects_are_input_errors(rows: list[dict], expected: str) -> None:
    with pytest.raises(InputError) as caught:
        shifting_instance(rows)
    text = "\n".join(str(p) for p in caught.value.problems)
    assert expected in text and "effects" in text, text


def test_a_cycle_of_effects_is_refused() -> None:
    """comm → hosp and hosp → comm: each demand would depend on itself (reported besides the
    second row's non-mandatory target)."""
    rows = [{"source": "comm", "target": "hosp", "factor": -0.1},
            {"source": "hosp", "target": "comm", "factor": 0.1}]
    with pytest.raises(InputError) as caught:
        shifting_instance(rows, horizon=1)
    text = "\n".join(str(p) for p in caught.value.problems)
    assert "cycle comm → hosp → comm" in text or "cycle hosp → comm → hosp" in text, text


def test_coverage_rules_are_checked() -> None:
    """min_coverage on a mandatory service, and min_share on a shifted service, are refused."""
    with pytest.raises(InputError) as caught:
        shifting_instance([{"source": "comm", "target": "hosp", "factor": -0.5}],
                          hosp={"min_coverage": 0.5, "min_share": 0.2})
    text = "\n".join(str(p) for p in caught.value.problems)
    assert "min_coverage 0.5 on a mandatory service" in text
    assert "min_share 0.2 is measured against a fixed demand" in text


def test_effects_csv_in_a_folder_and_the_cli(tmp_path: Path) -> None:
    """An instance folder with effects.csv solves through the CLI (with marginal values, the
    default) and writes effects.csv in the plan folder."""
    from click.testing import CliRunner

    from planner.cli import main

    instance = shifting_instance([{"source": "comm", "target": "hosp", "factor": -1.0}])
    folder = tmp_path / "inst"
    folder.mkdir()
    (folder / "instance.yaml").write_text("name: shift\npopulation: 1000\n", encoding="utf-8")
    for name, frame in instance.tables().items():
        frame.assign(**{c: frame[c].map(";".join) for c in frame.columns
                        if frame[c].map(lambda v: isinstance(v, tuple)).any()}
                     ).to_csv(folder / f"{name}.csv", index=False)
    loaded = planner.load_instance(folder)
    assert len(loaded.effects) == 1
    result = CliRunner().invoke(main, ["solve", str(folder), "--out", str(tmp_path / "plan")])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(tmp_path / "plan" / "effects.csv")
    assert written["saved"].sum() == pytest.approx(50_000)
    assert (tmp_path / "plan" / "marginal_values.csv").is_file()


def test_diagnosis_works_with_effects() -> None:
    """Budget £60,000 with the strong effect: the cheapest plan costs £70,000, so the
    diagnosis asks for £10,000 more budget."""
    instance = shifting_instance([{"source": "comm", "target": "hosp", "factor": -1.0}],
                                 budget=60_000)
    plan = planner.solve(instance)
    assert plan.status == "infeasible"
    budget = [r for r in plan.diagnosis["relaxations"] if r["constraint"] == "budget" and r["alone"]]
    assert budget and budget[0]["amount"] == pytest.approx(10_000)


def test_priorities_wish_and_hit_lists_with_budgets_from_re_solves(tmp_path: Path) -> None:
    """comm: 0.01 QALY an episode (0.5 QALY = £10,000 of health at £20,000), factor −0.3 (saves
    15 admissions = £15,000 of its £20,000): net cost £5,000, £10,000 per QALY; worth buying.
    With comm, spend is 20,000 + 85,000 = £105,000. Budget £110,000: funded (hit list); at
    0.98 × 110,000 = £107,800 still funded, at 0.95 × = £104,500 not: goes out at £104,500.
    Budget £104,000: unfunded (wish list); 1.02 × 104,000 = £106,080 ≥ £105,000: comes in there."""
    effect = [{"source": "comm", "target": "hosp", "factor": -0.3}]
    funded = solved(shifting_instance(effect, budget=110_000, value_per_qaly=20_000,
                                      comm_qaly=0.01))
    row = funded.priorities.iloc[0]
    assert (row["list"], row["service"], bool(row["funded"])) == ("hit", "comm", True)
    assert row["net_cost"] == pytest.approx(5_000) and row["saved"] == pytest.approx(15_000)
    assert row["cost_per_qaly"] == pytest.approx(10_000)
    assert row["goes_out_at"] == pytest.approx(104_500)
    unfunded = solved(shifting_instance(effect, budget=104_000, value_per_qaly=20_000,
                                        comm_qaly=0.01))
    row = unfunded.priorities.iloc[0]
    assert (row["list"], bool(row["funded"])) == ("wish", False)
    assert row["comes_in_at"] == pytest.approx(106_080)
    folder = funded.to_dir(tmp_path / "plan")
    assert pd.read_csv(folder / "priorities.csv")["goes_out_at"].iloc[0] == pytest.approx(104_500)
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "What to fund next, what to cut first" in html and "Hit list" in html
    assert "avoids 15.0 episodes" in html


def test_sweep_with_effects_and_coverage() -> None:
    """A sweep over the budget of the coverage instance: £110,000 buys 25 episodes of comm
    (£85,000, as above), £120,000 buys all 50 (120,000 − 50,000 = £70,000)."""
    instance = shifting_instance(coverage=0.4, comm_qaly=0.05, budget=110_000,
                                 value_per_qaly=20_000)
    results = planner.sweep(instance, {"parameters": {"policy.budget": [110_000, 120_000]}})
    assert list(results["status"]) == ["optimal", "optimal"]
    assert list(results["objective"]) == pytest.approx([85_000, 70_000])
