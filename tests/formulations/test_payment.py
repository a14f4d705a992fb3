"""How care is paid for (issue 16): block contracts, capitated bundles, income guarantees and
quality withholds, on tiny instances whose optima are derived by hand in each docstring.

Every solve goes through tests.helpers.solve (optimal, and planner.verify(...) == []), so the
payments are rechecked from the raw tables too. Money in £ a year, activity in episodes.
"""

from __future__ import annotations

import pandas as pd
import pytest
from pytest import approx

import planner
from planner.errors import InputError
from tests.helpers import build, solve

pytestmark = pytest.mark.solver


def _block(block_price: float, **policy) -> planner.Instance:
    """100 episodes of s: A by activity at £10, or B as a block of 100 episodes."""
    return build([{"service": "s", "demand": 100}],
                 [{"provider": "A", "service": "s", "price": 10},
                  {"provider": "B", "service": "s", "payment": "block",
                   "block_price": block_price, "capacity": 100}], **policy)


def with_bundles(instance: planner.Instance, rows: list[dict]) -> planner.Instance:
    return planner.Instance.from_frames(instance.config, instance.levels, instance.services,
                                        instance.providers, instance.offers,
                                        instance.level_effects, bundles=pd.DataFrame(rows))


def _bundled(price: float, rho: float = 0.0, **policy) -> planner.Instance:
    """Services a (100 episodes, £10 from H) and b (50 episodes, £20 from H), one PCT unit of
    1,000 people with a £5 transaction cost per contract; bundle ic from I takes both for
    ``price`` a year (one £5 contract)."""
    base = build([{"service": "a", "demand": 100}, {"service": "b", "demand": 50}],
                 [{"provider": "H", "service": "a", "price": 10},
                  {"provider": "H", "service": "b", "price": 20}],
                 providers=[{"provider": "H"}, {"provider": "I", "kind": "independent"}],
                 levels=[{"level": "pct", "population": 1000, "transaction_cost": 5}],
                 risk_aversion=rho, **policy)
    return with_bundles(base, [{"bundle": "ic", "provider": "I", "services": "a;b",
                                "price": price, "quality": 0.9, "level": "pct"}])


def test_block_cheaper_than_activity_is_let() -> None:
    """Activity costs 100 × £10 = £1,000; a block of 100 episodes for £800 is cheaper: spend
    £800, all of it block spend, B carries the 100 episodes at £8 each."""
    plan = solve(_block(800))
    assert plan.objective == approx(800)
    row = plan.contracts.iloc[0]
    assert (row.provider, row.payment, row.volume, row.spend) == ("B", "block", 100, 800)
    assert row.price == approx(8)
    assert plan.totals["block_spend"] == approx(800) and plan.totals["activity_spend"] == 0
    assert plan.providers.set_index("provider").at["B", "block_income"] == approx(800)


def test_block_dearer_than_activity_is_not_let() -> None:
    """A £1,200 block against £1,000 of activity: A by activity, £1,000."""
    plan = solve(_block(1200))
    assert plan.objective == approx(1000)
    assert list(plan.contracts["payment"]) == ["activity"]
    assert plan.totals["block_spend"] == 0


def test_block_holds_only_its_capacity() -> None:
    """Demand 150 with a 100-episode block at £800: block 100 + 50 × £10 = £1,300 beats
    150 × £10 = £1,500."""
    instance = build([{"service": "s", "demand": 150}],
                     [{"provider": "A", "service": "s", "price": 10},
                      {"provider": "B", "service": "s", "payment": "block", "block_price": 800,
                       "capacity": 100}])
    plan = solve(instance)
    assert plan.objective == approx(1300)
    assert dict(zip(plan.contracts["provider"], plan.contracts["volume"])) == {"A": 50, "B": 100}


def test_bundle_cheaper_than_contracts_is_chosen() -> None:
    """Contract by contract: 100 × £10 + 50 × £20 + 2 contracts × £5 = £2,010. The bundle:
    £1,900 + one £5 contract = £1,905, so it is chosen; its price is shown over a and b in
    proportion to demand × mean price (1,000 : 1,000), £950 each."""
    plan = solve(_bundled(1900))
    assert plan.objective == approx(1905)
    assert set(plan.contracts["payment"]) == {"bundle"}
    assert list(plan.contracts["spend"]) == approx([950, 950])
    assert plan.totals["bundle_spend"] == approx(1900)
    assert plan.totals["transaction_costs"] == approx(5)
    row = plan.bundles.iloc[0]
    assert bool(row.chosen) and row.contract_cost == approx(2010) and row.plan_cost == approx(1905)
    assert plan.providers.set_index("provider").at["I", "bundle_income"] == approx(1900)


def test_bundle_dearer_than_contracts_is_not_chosen() -> None:
    """£2,100 + £5 against £2,010 contract by contract: H's two contracts."""
    plan = solve(_bundled(2100))
    assert plan.objective == approx(2010)
    assert set(plan.contracts["payment"]) == {"activity"}
    assert not bool(plan.bundles.iloc[0].chosen)


def test_bundle_carries_no_risk_charge() -> None:
    """With ρ = 1 the contracts also carry the services' risk, σ = c̄ √(r(1+k²)) N / √n:
    a: 10 × √0.1 × 1000 / √1000 = £100; b: 20 × √0.05 × √1000 = £141.42. Contracts:
    £2,010 + £241.42 = £2,251.42; the £2,100 bundle (+ £5) bears no risk charge, so at ρ = 1
    it is chosen (objective £2,105) although at ρ = 0 it is not (previous test)."""
    plan = solve(_bundled(2100, rho=1.0))
    assert plan.objective == approx(2105)
    assert plan.totals["risk_cost"] == 0
    assert plan.bundles.iloc[0].contract_cost == approx(2010 + 100 + 20 * 0.05 ** 0.5 * 1000 ** 0.5)


def test_guarantee_keeps_most_volume_with_the_guaranteed_provider() -> None:
    """G (incumbent, £10, exit cost £500, income guarantee £600) and N (£8), 100 episodes.
    Keeping G with v episodes costs 10v + 8(100 − v) + max(0, 600 − 10v) = 800 + 2v +
    max(0, 600 − 10v): falling by £8 an episode up to v = 60, rising by £2 after. Dropping G
    costs 800 + 500 = £1,300. Optimum: v = 60, £920, no top-up paid. Without the guarantee
    G keeps one episode (the least a used provider delivers): 802."""
    def instance(guarantee: float) -> planner.Instance:
        return build([{"service": "s", "demand": 100}],
                     [{"provider": "G", "service": "s", "price": 10, "incumbent_volume": 100},
                      {"provider": "N", "service": "s", "price": 8}],
                     providers=[{"provider": "G", "kind": "gp_practice", "incumbent": True,
                                 "exit_cost": 500, "income_guarantee": guarantee},
                                {"provider": "N"}])
    plan = solve(instance(600))
    assert plan.objective == approx(920)
    assert dict(zip(plan.contracts["provider"], plan.contracts["volume"])) == \
        {"G": approx(60), "N": approx(40)}
    assert plan.totals["guarantee_payments"] == approx(0)
    assert solve(instance(0)).objective == approx(802)


def test_guarantee_top_up_is_paid() -> None:
    """G (£10) is the only provider of 30 episodes, guarantee £500: income £300, top-up £200,
    spend £500, of which £200 guarantee payment."""
    instance = build([{"service": "s", "demand": 30}],
                     [{"provider": "G", "service": "s", "price": 10}],
                     providers=[{"provider": "G", "income_guarantee": 500}])
    plan = solve(instance)
    assert plan.objective == approx(500)
    assert plan.totals["guarantee_payments"] == approx(200)
    assert plan.providers.iloc[0].guarantee_paid == approx(200)


def test_quality_withhold_lowers_a_low_quality_price() -> None:
    """A: £95, quality 1.0; B: £98, quality 0.6; 10 episodes. No withhold: A, £950. Withhold
    10 %: A is paid 95 × (0.9 + 0.1) = £95, B 98 × (0.9 + 0.06) = £94.08, so B: £940.80."""
    def instance(**policy) -> planner.Instance:
        return build([{"service": "s", "demand": 10}],
                     [{"provider": "A", "service": "s", "price": 95, "quality": 1.0},
                      {"provider": "B", "service": "s", "price": 98, "quality": 0.6}], **policy)
    assert solve(instance()).objective == approx(950)
    plan = solve(instance(quality_withhold=0.1))
    assert plan.objective == approx(940.8)
    assert plan.contracts.iloc[0].provider == "B" and plan.contracts.iloc[0].price == approx(94.08)


def test_multi_year_prices_blocks_and_bundles_by_year() -> None:
    """Two years, prices −10 % a year. Block £800 then £720 (activity £1,000 then £900):
    £1,520. Bundle £1,900 then £1,710, plus £5 a year, against £2,010 then £1,810 (the £5
    contracts do not change with prices): £1,905 + £1,715 = £3,620."""
    plan = solve(planner.Instance.from_frames(
        {"name": "t", "population": 1000, "horizon": 2, "policy": {"price_change": -0.1}},
        *_tables(_block(800))))
    assert plan.objective == approx(1520)
    assert list(plan.contracts["spend"]) == approx([800, 720])
    bundled = _bundled(1900)
    multi = planner.Instance.from_frames(
        {"name": "t", "population": 1000, "horizon": 2, "policy": {"price_change": -0.1}},
        *_tables(bundled), bundles=bundled.bundles)
    plan = solve(multi)
    assert plan.objective == approx(3620)
    assert plan.totals_by_year["2011"]["bundle_spend"] == approx(1710)


def _tables(instance: planner.Instance) -> tuple:
    return (instance.levels, instance.services, instance.providers, instance.offers,
            instance.level_effects)


def test_sweep_diagnosis_and_marginal_values_with_payments() -> None:
    """A sweep over the budget equals separate solves; a budget below the £1,905 bundle plan
    is diagnosed (the budget needed alone is £1,905); marginal values run."""
    instance = _bundled(1900, budget=3000)
    table = planner.sweep(instance, {"parameters": {"policy.budget": [2500, 3000]}})
    assert list(table["objective"]) == approx([1905, 1905])
    short = _bundled(1900, budget=1800)
    plan = planner.solve(short)
    assert plan.status == "infeasible"
    budget = [r for r in plan.diagnosis["relaxations"] if r["constraint"] == "budget" and r["alone"]]
    assert budget and budget[0]["amount"] == approx(105)
    plan = planner.solve(_bundled(1900, budget=3000), marginal=True)
    assert plan.marginal_values is not None


def test_plan_folder_has_payment_outputs(tmp_path) -> None:
    """bundles.csv, contracts.csv's payment column, and report.html's comparison of the chosen
    bundle (£1,900 + £5) with its services contract by contract (£2,010: test above)."""
    plan = solve(_bundled(1900))
    plan.to_dir(tmp_path / "out")
    bundles = pd.read_csv(tmp_path / "out" / "bundles.csv")
    assert list(bundles["bundle"]) == ["ic"] and bool(bundles["chosen"].iloc[0])
    contracts = pd.read_csv(tmp_path / "out" / "contracts.csv")
    assert set(contracts["payment"]) == {"bundle"}
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    # the bundled group against the same services contract by contract (£2,010, £105 more)
    assert 'id="payment"' in html
    # the bundle's id in words, as provider kinds are ('diabetes_integrated' → 'Diabetes
    # integrated'), which print never breaks mid-word
    assert ("Ic (a, b), chosen: £1,905 a year as a bundle (price and one contract per unit); "
            "contract by contract they would cost £2,010") in html
    assert "£105 more; the plan pays £1,905 for them." in html


# --- validation --------------------------------------------------------------------------------


def _problems(make) -> str:
    with pytest.raises(InputError) as caught:
        make()
    return "\n".join(str(p) for p in caught.value.problems)


def test_block_needs_price_and_capacity() -> None:
    text = _problems(lambda: build([{"service": "s", "demand": 1}],
                                   [{"provider": "B", "service": "s", "payment": "block"}]))
    assert "offers row 'B/s'" in text and "column 'block_price'" in text
    assert "column 'capacity'" in text


def test_block_price_on_activity_offer_and_unknown_payment() -> None:
    text = _problems(lambda: build([{"service": "s", "demand": 1}],
                                   [{"provider": "A", "service": "s", "price": 1,
                                     "block_price": 5},
                                    {"provider": "B", "service": "s", "price": 1,
                                     "payment": "capitation"}]))
    assert "block_price 5 on an offer paid by activity" in text
    assert "'capitation' is not a known payment" in text


def test_negative_guarantee_and_withhold_out_of_range() -> None:
    text = _problems(lambda: build([{"service": "s", "demand": 1}],
                                   [{"provider": "A", "service": "s", "price": 1}],
                                   providers=[{"provider": "A", "income_guarantee": -1}]))
    assert "income_guarantee" in text
    text = _problems(lambda: _block(800, quality_withhold=1.5))
    assert "quality_withhold" in text


def test_bundle_references_and_rules() -> None:
    base = build([{"service": "a", "demand": 10, "min_providers": 2},
                  {"service": "b", "demand": 10, "choice_headroom": 0.1}],
                 [{"provider": "H", "service": "a", "price": 1},
                  {"provider": "K", "service": "a", "price": 1},
                  {"provider": "H", "service": "b", "price": 1, "capacity": 20}])
    text = _problems(lambda: with_bundles(base, [
        {"bundle": "x", "provider": "Q", "services": "a;zz", "price": 1, "quality": 1,
         "level": "pcx"},
        {"bundle": "y", "provider": "H", "services": "a;b;b", "price": -1, "quality": 1,
         "level": "pct"}]))
    for expected in ("unknown provider 'Q'", "unknown service 'zz'", "unknown level 'pcx'",
                     "lists b more than once", "needs min_providers 2",
                     "needs choice_headroom 0.1", "bundles row 'y'"):
        assert expected in text, expected
    assert "price" in text


def test_ineligible_bundle_is_not_chosen() -> None:
    """The bundle's quality 0.9 is below a's min_quality 0.95: it is listed, not chosen."""
    base = _bundled(1)
    services = base.services.assign(min_quality=[0.95, 0.0])
    instance = planner.Instance.from_frames(base.config, base.levels, services, base.providers,
                                            base.offers, base.level_effects, bundles=base.bundles)
    plan = solve(instance)
    assert plan.objective == approx(2010)
    assert plan.bundles.iloc[0].reason == "quality below a service's floor"


# --- verify rechecks every payment from the raw tables -----------------------------------------


def _tampered(plan: planner.Plan, table: str, column: str, value, row: int = 0) -> planner.Plan:
    import copy

    other = copy.copy(plan)
    frame = getattr(plan, table).copy()
    frame.loc[frame.index[row], column] = value
    setattr(other, table, frame)
    return other


def test_verify_rechecks_blocks_bundles_and_guarantees() -> None:
    """Each payment, changed in the plan alone, is caught from the data."""
    block = _block(800)
    plan = solve(block)
    bad = planner.verify(block, _tampered(plan, "contracts", "spend", 700))
    assert any("block spend £700.00 but the block price is £800.00" in b for b in bad)
    bad = planner.verify(block, _tampered(plan, "contracts", "payment", "activity"))
    assert any("paid by activity but the offer is paid by block" in b for b in bad)
    bundled = _bundled(1900)
    plan = solve(bundled)
    bad = planner.verify(bundled, _tampered(plan, "contracts", "volume", 90))
    assert any("a volume 90 ≠ its demand 100" in b for b in bad)
    bad = planner.verify(bundled, _tampered(plan, "contracts", "spend", 900))
    assert any("but the bundle's price is £1,900.00" in b for b in bad)
    bad = planner.verify(bundled, _tampered(plan, "contracts", "provider", "H"))
    assert any("another provider or level" in b for b in bad)
    guaranteed = build([{"service": "s", "demand": 30}],
                       [{"provider": "G", "service": "s", "price": 10}],
                       providers=[{"provider": "G", "income_guarantee": 500}])
    plan = solve(guaranteed)
    bad = planner.verify(guaranteed, _tampered(plan, "providers", "guarantee_paid", 0.0))
    assert any("guarantee paid £0.00 but the data give £200.00" in b for b in bad)


def test_verify_sees_a_withhold_the_plan_ignored() -> None:
    """A plan solved without the withhold, checked against data with it, is refused: the price
    of B's episodes is 98 × 0.96 = £94.08 in the data."""
    def instance(**policy) -> planner.Instance:
        return build([{"service": "s", "demand": 10}],
                     [{"provider": "B", "service": "s", "price": 98, "quality": 0.6}], **policy)
    plan = solve(instance())
    bad = planner.verify(instance(quality_withhold=0.1), plan)
    assert any("price 98 but the data give 94.08" in b for b in bad)


def test_bundles_from_an_instance_folder(tmp_path) -> None:
    """bundles.csv beside the other tables is read and validated with line numbers; a folder
    without it has no bundles."""
    folder = tmp_path / "area"
    folder.mkdir()
    (folder / "instance.yaml").write_text("name: area\npopulation: 1000\n", encoding="utf-8")
    (folder / "levels.csv").write_text("level,order,population,transaction_cost\npct,1,1000,5\n")
    (folder / "services.csv").write_text("service,category,demand,mandatory\n"
                                         "a,elective,100,true\nb,elective,50,true\n")
    (folder / "providers.csv").write_text("provider,kind\nH,nhs_trust\nI,independent\n")
    (folder / "offers.csv").write_text("provider,service,price,quality\nH,a,10,1\nH,b,20,1\n")
    assert len(planner.load_instance(folder).bundles) == 0
    (folder / "bundles.csv").write_text("bundle,provider,services,price,quality,level\n"
                                        "ic,I,a;b,1900,0.9,pct\n")
    instance = planner.load_instance(folder)
    assert solve(instance).objective == approx(1905)
    (folder / "bundles.csv").write_text("bundle,provider,services,price,quality,level\n"
                                        "ic,I,a;b,1900,1.5,pct\n")
    with pytest.raises(InputError) as caught:
        planner.load_instance(folder)
    assert "bundles row 'ic' line 2, column 'quality'" in str(caught.value)


def test_pct_payment_instance() -> None:
    """The PCT with one example of each payment form (instances/pct_payment/README.md): the
    diabetes bundle (£1,090,000 + one £15,000 contract) beats its services contract by contract,
    the district nursing block is let at £5,922,000, and the plan verifies."""
    from pathlib import Path

    instance = planner.load_instance(Path(__file__).parents[2] / "instances" / "pct_payment")
    plan = solve(instance)
    assert plan.totals["block_spend"] == approx(5_922_000)
    assert plan.totals["bundle_spend"] == approx(1_090_000)
    row = plan.bundles.iloc[0]
    assert bool(row.chosen) and row.contract_cost > row.price + row.transaction_cost
    assert plan.totals["guarantee_payments"] == approx(0)


def test_bundle_episodes_count_towards_setting_targets() -> None:
    """Two years; a (hospital, 100 × £10) and b (community, 50 × £20), both long-term
    conditions, with at least 30 % of their episodes in the community. The bundle of b at £900
    a year (against £1,000 by activity) keeps b's 50 of 150 episodes (33 %) in the community, so
    the target holds with it: 2 × (1,000 + 900) = £3,800. With 34 % no plan exists at all."""
    base = build([{"service": "a", "demand": 100, "setting": "hospital", "category": "ltc"},
                  {"service": "b", "demand": 50, "setting": "community", "category": "ltc"}],
                 [{"provider": "H", "service": "a", "price": 10},
                  {"provider": "H", "service": "b", "price": 20}],
                 providers=[{"provider": "H"}, {"provider": "I", "kind": "independent"}])
    bundle = pd.DataFrame([{"bundle": "x", "provider": "I", "services": "b", "price": 900,
                            "quality": 1, "level": "pct"}])

    def instance(share: float) -> planner.Instance:
        config = {"name": "t", "population": 1000, "horizon": 2, "policy": {"setting_targets": [
            {"category": "ltc", "settings": ["community"], "min_share": share}]}}
        return planner.Instance.from_frames(config, *_tables(base), bundles=bundle)
    assert solve(instance(0.3)).objective == approx(3800)
    assert planner.solve(instance(0.34)).status == "infeasible"


def test_bundle_price_sweep_and_workbook_round_trip(tmp_path) -> None:
    """Sweeping the bundle's price: £1,900 is chosen (£1,905), £2,100 is not (£2,010, the
    contracts); the instance survives an Excel workbook round trip with its bundles."""
    from planner.data.workbook_writer import write_instance_workbook

    instance = _bundled(1900)
    table = planner.sweep(instance, {"parameters": {"bundles.price": {"set": [1900, 2100]}}})
    assert list(table["objective"]) == approx([1905, 2010])
    write_instance_workbook(instance, tmp_path / "area.xlsx")
    back = planner.load_instance(tmp_path / "area.xlsx")
    assert list(back.bundles["services"]) == [("a", "b")]
    assert solve(back).objective == approx(1905)


def test_bundle_only_provider_pays_entry_and_guarantee() -> None:
    """I has no offers, only the £1,800 bundle; it costs £50 to bring in, needs £1,000 to break
    even (the bundle's income counts) and has a £100 income guarantee (bundle income does not
    count towards it, so the top-up is the whole £100). Bundle: 1,800 + 5 + 50 + 100 = £1,955,
    against £2,010 contract by contract."""
    base = build([{"service": "a", "demand": 100}, {"service": "b", "demand": 50}],
                 [{"provider": "H", "service": "a", "price": 10},
                  {"provider": "H", "service": "b", "price": 20}],
                 providers=[{"provider": "H"},
                            {"provider": "I", "kind": "independent", "entry_cost": 50,
                             "min_income": 1000, "income_guarantee": 100}],
                 levels=[{"level": "pct", "population": 1000, "transaction_cost": 5}])
    instance = with_bundles(base, [{"bundle": "ic", "provider": "I", "services": "a;b",
                                    "price": 1800, "quality": 0.9, "level": "pct"}])
    plan = solve(instance)
    assert plan.objective == approx(1955)
    row = plan.providers.set_index("provider").loc["I"]
    assert (row.entry_cost_paid, row.guarantee_paid, row.income) == (50, 100, 1800)


def test_without_payment_data_nothing_changes(tmp_path) -> None:
    """The toy (no blocks, bundles, guarantees or withhold): its £1,383,000 optimum, every
    contract paid by activity, no payment section in report.html and no bundles.csv."""
    from pathlib import Path

    toy = planner.load_instance(Path(__file__).parents[2] / "instances" / "toy")
    plan = solve(toy)
    assert plan.objective == approx(1_383_000)
    assert set(plan.contracts["payment"]) == {"activity"}
    assert plan.totals["block_spend"] == plan.totals["bundle_spend"] == 0
    plan.to_dir(tmp_path / "out")
    assert not (tmp_path / "out" / "bundles.csv").exists()
    assert 'id="payment"' not in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")


def test_guarantee_follows_prices_over_years() -> None:
    """Two years, prices −10 %: G's £500 guarantee is £450 in year 2 and its 30 episodes earn
    £300 then £270, so the top-ups are £200 and £180 and spend is £500 + £450 = £950."""
    instance = build([{"service": "s", "demand": 30}],
                     [{"provider": "G", "service": "s", "price": 10}],
                     providers=[{"provider": "G", "income_guarantee": 500}])
    multi = planner.Instance.from_frames(
        {"name": "t", "population": 1000, "horizon": 2, "policy": {"price_change": -0.1}},
        *_tables(instance))
    plan = solve(multi)
    assert plan.objective == approx(950)
    assert list(plan.providers["guarantee_paid"]) == approx([200, 180])


def test_ending_an_incumbent_block_owes_notice() -> None:
    """Two years, 100 episodes a year: A by activity at £10, or B's incumbent block of 100.
    Ending the block costs half a year of it in the year it ends (MODEL §3 notice). A £1,100
    block: keep it, £2,200, against 1,000 + 1,000 + 550 = £2,550 for ending it at once. A
    £1,400 block: keep it £2,800, end it at once 2,000 + 700 = £2,700, so it ends in the first
    year with £700 of notice."""
    def instance(block_price: float) -> planner.Instance:
        base = build([{"service": "s", "demand": 100}],
                     [{"provider": "A", "service": "s", "price": 10},
                      {"provider": "B", "service": "s", "payment": "block",
                       "block_price": block_price, "capacity": 100, "incumbent_volume": 100}],
                     providers=[{"provider": "A"}, {"provider": "B", "incumbent": True}])
        return planner.Instance.from_frames({"name": "t", "population": 1000, "horizon": 2},
                                            *_tables(base))
    plan = solve(instance(1100))
    assert plan.objective == approx(2200) and plan.totals["notice_costs"] == 0
    plan = solve(instance(1400))
    assert plan.objective == approx(2700)
    assert plan.totals_by_year["2010"]["notice_costs"] == approx(700)
    assert set(plan.contracts["provider"]) == {"A"}
