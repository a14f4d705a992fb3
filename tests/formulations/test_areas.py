"""Areas and fair shares (issue 17): hand-derived optima on tiny instances.

Every instance here has one level ``pct`` (one unit of 2,000 people, no transaction cost) and
two areas of 1,000 people: ``north`` with need_index 1.5 and ``south`` with 0.5, so need shares
w = 1,500/2,000 = 0.75 and 0.25. The discretionary service ``comm`` (demand 100 episodes, £400 an
episode from ``cp``, 1 QALY an episode, min_coverage 0) is worth buying in any amount at
λ = £1,000 a QALY, so a budget of £20,000 buys exactly 50 episodes. Unless stated its demand is
given by area_demand.csv as 50 in each area (so the need split 3 : 1 is not the demand split).
Every plan passes verify().
"""

from __future__ import annotations

import pandas as pd
import pytest

import planner
from planner.errors import InputError
from tests.helpers import _frame

AREAS = [{"area": "north", "population": 1000, "need_index": 1.5},
         {"area": "south", "population": 1000, "need_index": 0.5}]
EQUAL = [{"area": "north", "service": "comm", "demand": 50},
         {"area": "south", "service": "comm", "demand": 50}]
COMM = {"service": "comm", "category": "community", "demand": 100, "qaly_gain": 1.0,
        "min_coverage": 0.0}


def instance(areas=AREAS, area_demand=EQUAL, services=None, offers=None, levels=None,
             providers=None, horizon: int = 1, **policy) -> planner.Instance:
    return planner.Instance.from_frames(
        {"name": "areas", "population": 2000, "horizon": horizon, "policy": policy},
        levels=_frame(levels or [{"level": "pct", "order": 1, "population": 2000}]),
        services=_frame(services or [COMM]),
        providers=_frame(providers or [{"provider": "cp", "kind": "community_provider"}]),
        offers=_frame(offers or [{"provider": "cp", "service": "comm", "price": 400,
                                  "quality": 1.0}]),
        areas=_frame(areas) if areas else None,
        area_demand=_frame(area_demand) if area_demand else None)


def solved(inst: planner.Instance) -> planner.Plan:
    plan = planner.solve(inst)
    assert plan.status == "optimal"
    assert planner.verify(inst, plan) == []
    return plan


def area(plan: planner.Plan, name: str, column: str, year: int = 2010) -> float:
    rows = plan.areas.set_index(["area", "year"])
    return float(rows.at[(name, year), column])


def test_fair_share_band_zero_splits_a_limited_budget_three_to_one() -> None:
    """Band 0: spend per need-weighted head equal, so north's share of the £20,000 is 0.75:
    £15,000 = 37.5 episodes (coverage 0.75 of its 50), south £5,000 = 12.5 (0.25). Objective
    20,000 − 1,000 × 50 = −£30,000, as without the rule (the rule only moves episodes)."""
    plan = solved(instance(budget=20_000, value_per_qaly=1000, fair_share_band=0.0))
    assert plan.objective == pytest.approx(-30_000)
    assert area(plan, "north", "spend") == pytest.approx(15_000)
    assert area(plan, "south", "spend") == pytest.approx(5_000)
    assert area(plan, "north", "demand_met") == pytest.approx(37.5)
    assert area(plan, "south", "coverage") == pytest.approx(0.25)
    assert area(plan, "north", "ratio_to_mean") == pytest.approx(1.0)
    assert area(plan, "north", "spend_per_head") == pytest.approx(10.0)  # 15,000 / 1,500


def test_a_band_of_a_fifth_allows_up_to_twenty_percent_off_the_mean() -> None:
    """Band 0.2 with south weighted 2 (so the model wants south): south's spend per
    need-weighted head at most 1.2 × the mean, S_south ≤ 1.2 × 0.25 × 20,000 = £6,000 = 15
    episodes; north 35. Objective 20,000 − 1,000 × (35 + 2 × 15) = −£45,000."""
    areas = [AREAS[0], {**AREAS[1], "qaly_weight": 2.0}]
    plan = solved(instance(areas, budget=20_000, value_per_qaly=1000, fair_share_band=0.2))
    assert plan.objective == pytest.approx(-45_000)
    assert area(plan, "south", "spend") == pytest.approx(6_000)
    assert area(plan, "south", "ratio_to_mean") == pytest.approx(1.2)


def test_equity_weights_send_coverage_to_the_weighted_area() -> None:
    """No band; qaly_weight 2 in south: each south episode is worth £2,000, a north one £1,000,
    so the 50 episodes go to south first (its whole demand of 50): objective 20,000 −
    1,000 × 2 × 50 = −£80,000. Weighted 2 in north instead, north gets them all."""
    south = solved(instance([AREAS[0], {**AREAS[1], "qaly_weight": 2.0}], budget=20_000,
                            value_per_qaly=1000))
    assert south.objective == pytest.approx(-80_000)
    assert area(south, "south", "coverage") == pytest.approx(1.0)
    assert area(south, "north", "demand_met") == pytest.approx(0.0)
    assert area(south, "south", "weighted_qalys") == pytest.approx(100)
    north = solved(instance([{**AREAS[0], "qaly_weight": 2.0}, AREAS[1]], budget=20_000,
                            value_per_qaly=1000))
    assert north.objective == pytest.approx(-80_000)
    assert area(north, "north", "coverage") == pytest.approx(1.0)


def test_an_access_floor_forces_coverage_into_an_area() -> None:
    """As the equity case (south weighted 2) with min_area_coverage 0.4: north must get at
    least 0.4 × 50 = 20 episodes, south the other 30. Objective 20,000 − 1,000 × (20 + 2 × 30)
    = −£60,000; without the floor (--without area_coverage) −£80,000 again."""
    areas = [AREAS[0], {**AREAS[1], "qaly_weight": 2.0}]
    floored = instance(areas, services=[{**COMM, "min_area_coverage": 0.4}], budget=20_000,
                       value_per_qaly=1000)
    plan = solved(floored)
    assert plan.objective == pytest.approx(-60_000)
    assert area(plan, "north", "coverage") == pytest.approx(0.4)
    assert area(plan, "south", "demand_met") == pytest.approx(30)
    free = planner.solve(floored, without={"area_coverage"})
    assert free.objective == pytest.approx(-80_000)


def test_access_limits_make_an_area_use_its_own_provider() -> None:
    """A mandatory, fully covered service of 100 episodes split by need (75 north, 25 south):
    cp (£400) serves south only, np (£500) serves both. North's 75 must come from np: 75 × 500
    + 25 × 400 = £47,500; with every offer serving every area all 100 at £400 = £40,000."""
    services = [{"service": "comm", "category": "community", "demand": 100, "mandatory": True}]
    providers = [{"provider": "cp", "kind": "community_provider"},
                 {"provider": "np", "kind": "community_provider"}]
    offers = [{"provider": "cp", "service": "comm", "price": 400, "quality": 1.0,
               "areas": "south"},
              {"provider": "np", "service": "comm", "price": 500, "quality": 1.0}]
    plan = solved(instance(area_demand=None, services=services, offers=offers,
                           providers=providers))
    assert plan.objective == pytest.approx(47_500)
    by = plan.area_contracts.set_index(["provider", "area"])["volume"]
    assert by[("np", "north")] == pytest.approx(75) and by[("cp", "south")] == pytest.approx(25)
    open_offers = [{**offers[0], "areas": ""}, offers[1]]
    assert solved(instance(area_demand=None, services=services, offers=open_offers,
                           providers=providers)).objective == pytest.approx(40_000)


def test_savings_retention_over_two_years() -> None:
    """Two years, a mandatory service of 100 episodes at £200 split by need: north spends
    £15,000, south £5,000 a year. Indicative budgets £20,000 and £4,000, retention 0.5.
    2010: north saves £5,000 and keeps £2,500; south overspends £1,000. 2011: north's
    indicative budget is 20,000 + 2,500 = £22,500, it saves £7,500 and keeps £3,750; south
    again overspends £1,000 and keeps nothing."""
    services = [{"service": "comm", "category": "community", "demand": 100, "mandatory": True}]
    offers = [{"provider": "cp", "service": "comm", "price": 200, "quality": 1.0}]
    areas = [{**AREAS[0], "indicative_budget": 20_000}, {**AREAS[1], "indicative_budget": 4_000}]
    plan = solved(instance(areas, area_demand=None, services=services, offers=offers, horizon=2,
                           savings_retention=0.5))
    assert area(plan, "north", "saving_kept", 2010) == pytest.approx(2_500)
    assert area(plan, "north", "indicative_budget", 2011) == pytest.approx(22_500)
    assert area(plan, "north", "saving_kept", 2011) == pytest.approx(3_750)
    assert area(plan, "south", "overspend", 2010) == pytest.approx(1_000)
    assert area(plan, "south", "overspend", 2011) == pytest.approx(1_000)
    assert area(plan, "south", "saving_kept", 2011) == pytest.approx(0)


def test_a_pooled_la_contribution_changes_what_the_nhs_budget_affords() -> None:
    """comm only at joint_la (pooled); budget £20,000 buys 50 episodes (−£30,000). With £10,000
    a year from the local authority, spend may be £30,000: 75 episodes, objective 30,000 −
    75,000 = −£45,000; funders: local authority £10,000, NHS £20,000 (within its budget)."""
    levels = [{"level": "joint_la", "order": 1, "population": 2000}]
    base = dict(area_demand=None, levels=levels, budget=20_000, value_per_qaly=1000)
    alone = solved(instance(**base))
    assert alone.objective == pytest.approx(-30_000)
    pooled = solved(instance(**base, la_contribution=10_000))
    assert pooled.objective == pytest.approx(-45_000)
    funders = pooled.funders.groupby("funder")["spend"].sum()
    assert funders["local_authority"] == pytest.approx(10_000)
    assert funders["nhs"] == pytest.approx(20_000)


def test_verify_rechecks_area_rules_from_the_raw_tables() -> None:
    """Moving episodes between areas breaks the fair share (band 0) and, for an offer limited
    to south, access; a floor is rechecked too; verify names each."""
    inst = instance(budget=20_000, value_per_qaly=1000, fair_share_band=0.0,
                    services=[{**COMM, "min_area_coverage": 0.2}])
    plan = solved(inst)
    moved = plan.area_contracts.copy()
    moved["volume"] = [45.0, 5.0]
    moved["spend"] = moved["volume"] * moved["price"]
    plan.area_contracts = moved
    problems = planner.verify(inst, plan)
    assert any(p.startswith("fair_share: north") for p in problems)
    assert any(p.startswith("area_coverage: comm 2010 covers 5") for p in problems)
    limited = instance(budget=20_000, value_per_qaly=1000, fair_share_band=0.0,
                       offers=[{"provider": "cp", "service": "comm", "price": 400,
                                "quality": 1.0, "areas": "south"}])
    plan.area_contracts = moved
    assert any("does not cover" in p for p in planner.verify(limited, plan))
    plan.area_contracts = moved.iloc[:1]
    assert any("add up to 45" in p for p in planner.verify(inst, plan))


def test_bad_area_data_is_refused_before_any_solve() -> None:
    """Populations that do not add up, an unknown area in offers.areas, area demands that do
    not sum to the service's demand, and pooled money with nothing pooled."""
    with pytest.raises(InputError, match="populations sum to 1,500"):
        instance([AREAS[0], {**AREAS[1], "population": 500}])
    with pytest.raises(InputError, match="unknown area 'east'"):
        instance(offers=[{"provider": "cp", "service": "comm", "price": 400, "quality": 1.0,
                          "areas": "east"}])
    with pytest.raises(InputError, match="sum to 90 episodes"):
        instance(area_demand=[EQUAL[0], {**EQUAL[1], "demand": 40}])
    with pytest.raises(InputError, match="no level is pooled"):
        instance(la_contribution=5_000)


def test_one_area_is_todays_plan_on_the_toy() -> None:
    """One area holding the whole population: the toy optimum £1,383,000 and its counts."""
    toy = planner.load_instance("instances/toy")
    today = planner.solve(toy)
    one = planner.Instance.from_frames(
        toy.config, toy.levels, toy.services, toy.providers, toy.offers, toy.level_effects,
        areas=pd.DataFrame([{"area": "all", "population": toy.config.population}]))
    plan = solved(one)
    assert plan.objective == pytest.approx(1_383_000) == today.objective
    assert plan.counts == today.counts
    assert plan.areas["spend"].sum() == pytest.approx(plan.totals["activity_spend"])


@pytest.mark.parametrize("name", ["pct", "pct_5y"])
def test_one_area_is_todays_plan_on_the_shipped_instances(name: str) -> None:
    """One area holding the whole population changes nothing: the same objective and counts
    as the instance without areas.csv (whose optimum tests/cli/test_pct.py pins)."""
    shipped = planner.load_instance(f"instances/{name}")
    today = planner.solve(shipped)
    one = planner.Instance.from_frames(
        shipped.config, shipped.levels, shipped.services, shipped.providers, shipped.offers,
        shipped.level_effects, shipped.effects,
        areas=pd.DataFrame([{"area": "all", "population": shipped.config.population}]))
    plan = solved(one)
    assert plan.objective == pytest.approx(today.objective, rel=1e-9)
    assert plan.counts == today.counts


def test_the_plan_folder_and_report_carry_areas_and_funders(tmp_path) -> None:
    """areas.csv, area_contracts.csv and funders.csv are written; report.html has the fair
    shares chart and the funder statement (the pooled case: £10,000 from the local authority)."""
    levels = [{"level": "joint_la", "order": 1, "population": 2000}]
    plan = solved(instance(area_demand=None, levels=levels, budget=20_000, value_per_qaly=1000,
                           la_contribution=10_000, fair_share_band=0.1))
    out = plan.to_dir(tmp_path / "plan")
    for name in ("areas.csv", "area_contracts.csv", "funders.csv"):
        assert (out / name).is_file()
    funders = pd.read_csv(out / "funders.csv")
    assert funders.loc[funders["funder"] == "local_authority", "spend"].sum() == 10_000
    budget = pd.read_csv(out / "budget.csv")
    assert budget["la_paid"].iloc[0] == 10_000 and budget["surplus"].iloc[0] == pytest.approx(0)
    assert "of budget £20,000 plus £10,000 pooled by the local authority" in plan.summary()
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="fair_shares"' in html and "Who pays" in html
    assert "Spend per need-weighted head by area" in html


def test_the_fair_shares_section_reads_names_not_ids(tmp_path) -> None:
    """Areas by their name in areas.csv, funders in plain words ('local_authority' →
    'Local authority'), levels by their name: as every other section of the report."""
    named = [dict(a, name=a["area"].title() + " Locality") for a in AREAS]
    levels = [{"level": "joint_la", "order": 1, "population": 2000, "name": "Joint with the LA"}]
    plan = solved(instance(areas=named, area_demand=None, levels=levels, budget=20_000,
                           value_per_qaly=1000, la_contribution=10_000, fair_share_band=0.1))
    html = (plan.to_dir(tmp_path / "plan") / "report.html").read_text(encoding="utf-8")
    section = html[html.index('id="fair_shares"'):]
    section = section[:section.index("</section>")]
    assert "North Locality" in section and "Local authority" in section
    assert "Joint with the LA" in section
    assert ">north<" not in section and "local_authority" not in section and "joint_la" not in section


def test_risk_counts_the_pooled_money_before_the_nhs_budget() -> None:
    """The pooled case above: 75 episodes at £400 (cost_cv 0, so each draw's spend is 400 × a
    Poisson count of mean 75, £30,000 on average). The local authority pays min(£10,000, the
    draw's spend) first, so the NHS's spend is the rest: £20,000 on average against its
    £20,000 budget, within it whenever the count is at most 75: P(Poisson(75) ≤ 75) ≈ 0.53.
    Counting the whole £30,000 against the NHS budget (as before) would give about 0."""
    import math

    levels = [{"level": "joint_la", "order": 1, "population": 2000}]
    inst = instance(area_demand=None, levels=levels, budget=20_000, value_per_qaly=1000,
                    la_contribution=10_000)
    result = planner.risk(inst, solved(inst), draws=20_000, seed=1)
    assert result.summary["la_paid_mean"] == pytest.approx(10_000)
    assert result.summary["mean"] == pytest.approx(20_000, rel=0.01)
    exact = sum(math.exp(k * math.log(75) - 75 - math.lgamma(k + 1)) for k in range(76))
    assert abs(result.summary["p_within_budget"] - exact) < 4 * result.summary["p_within_budget_se"]


def test_each_area_is_credited_its_own_share_of_a_contracts_qalys() -> None:
    """pct_areas: a contract's QALYs are shared among the areas as its episodes are, so the
    areas' QALYs add up to each contract's and to the plan's (5,639 QALYs). Before, a service
    not split by area credited every one of the four areas with the whole contract's QALYs."""
    shipped = planner.load_instance("instances/pct_areas")
    plan = solved(shipped)
    by_contract = plan.area_contracts.groupby(["service", "level", "provider", "year"])[
        "qalys"].sum()
    whole = plan.contracts.set_index(["service", "level", "provider", "year"])["qalys"]
    assert by_contract.to_numpy() == pytest.approx(whole.reindex(by_contract.index).to_numpy(),
                                                   rel=1e-9, abs=1e-9)
    assert plan.areas["qalys"].sum() == pytest.approx(plan.totals["qalys"], rel=1e-9)


def test_the_pool_pays_a_pooled_block_in_the_model_verify_and_risk() -> None:
    """A pooled level's block contract (£30,000 for up to 100 episodes of the 75 needed) is a
    fixed sum, and the local authority's £10,000 pays it first, as it pays episodes: the model
    (pooled_limit extended by formulations.payment), budget.csv's la_paid and verify agree that
    an NHS budget of £20,000 suffices (£20,000 + £10,000 = £30,000; before, the model left the
    block out of the pool and found £20,000, and even £29,000, infeasible while budget.csv said
    the pool paid it), and £19,000 does not. Risk: the NHS's simulated spend is £20,000 in every
    draw (a block does not vary), within the budget always."""
    levels = [{"level": "joint_la", "order": 1, "population": 2000}]
    services = [dict(COMM, demand=75, min_coverage=1.0, mandatory=True)]
    offers = [{"provider": "cp", "service": "comm", "quality": 1.0, "payment": "block",
               "block_price": 30_000, "capacity": 100}]

    def pooled(budget: float) -> planner.Instance:
        return instance(area_demand=None, levels=levels, services=services, offers=offers,
                        budget=budget, value_per_qaly=1000, la_contribution=10_000)

    plan = solved(pooled(20_000))  # verify() passes inside
    assert plan.totals["block_spend"] == pytest.approx(30_000)
    assert plan.budget["la_paid"].iloc[0] == pytest.approx(10_000)
    assert plan.totals["headroom"] == pytest.approx(0, abs=1e-6)
    assert planner.solve(pooled(19_000)).status == "infeasible"
    summary = planner.risk(pooled(20_000), plan, draws=500, seed=1).summary
    assert summary["la_paid_mean"] == pytest.approx(10_000)
    assert summary["mean"] == pytest.approx(20_000) == summary["expected_spend"]
    assert summary["p_within_budget"] == 1.0
