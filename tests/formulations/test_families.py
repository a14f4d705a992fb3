"""Each constraint family of MODEL §2, made to bind in a tiny instance solved by hand.

Every test builds an instance of at most three services, levels and providers in which one family
decides the plan, derives the optimum by hand in its docstring, and checks the exact objective,
the decision that shows the binding (provider, level, volume), that switching the family off
(``without=[...]``) moves the plan as predicted, and that the independent verifier accepts it.

Conventions (see tests/helpers.py): the population is 1,000 unless stated; a level's contract cost
is transaction_cost × units with units = N / n_l; prices in £ per episode; services are mandatory
unless stated; quality is 1.0 unless stated.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from helpers import broken_rules, build, level_of, solve, used, volumes

import planner

REL = 1e-9


def approx(value: float) -> object:
    return pytest.approx(value, rel=REL, abs=1e-6)


# Two levels used by several tests: a practice unit of 250 people (4 units in 1,000 people) and
# the whole-area PCT.
PRACTICE_PCT = [{"level": "practice", "population": 250, "transaction_cost": 100},
                {"level": "pct", "population": 1000, "transaction_cost": 1000}]


# --- 1. Level choice ------------------------------------------------------------------------


@pytest.mark.solver
def test_mandatory_service_is_commissioned_at_exactly_one_level():
    """A mandatory service is commissioned (Σ_l y = 1) even though dropping it would be cheaper.

    s: demand 100, A at £10. Practice: 4 units × £100 = £400 per contract; PCT: £1,000.
      practice: 100 × 10 + 400 = 1,400   <- optimum
      pct:      100 × 10 + 1,000 = 2,000
    Without 'mandatory' the service is optional and worth nothing (λ = 0): dropped, objective 0.
    """
    inst = build([{"service": "s", "demand": 100}],
                 [{"provider": "A", "service": "s", "price": 10}], levels=PRACTICE_PCT)
    plan = solve(inst)
    assert plan.objective == approx(1400)
    assert volumes(plan) == {("s", "practice", "A"): 100}
    assert plan.services["commissioned"].tolist() == [True]

    relaxed = solve(inst, without=["mandatory"])
    assert relaxed.objective == approx(0)
    assert level_of(relaxed, "s") is None
    assert relaxed.contracts.empty
    assert "mandatory but not commissioned" in broken_rules(inst, relaxed)


def _optional(value_per_qaly: float, mandatory: bool = False) -> planner.Instance:
    return build([{"service": "s", "demand": 100, "mandatory": mandatory, "qaly_gain": 0.01}],
                 [{"provider": "A", "service": "s", "price": 50, "quality": 0.8}],
                 value_per_qaly=value_per_qaly)


@pytest.mark.solver
def test_optional_service_commissioned_when_qaly_value_exceeds_cost():
    """λ = £20,000: each episode is worth 20,000 × 0.01 × 0.8 = £160 > its £50 price.

    Commissioned (Σ_l y = 1 ≤ 1): spend 100 × 50 = 5,000; QALYs 100 × 0.01 × 0.8 = 0.8;
    objective 5,000 − 20,000 × 0.8 = −11,000.
    """
    plan = solve(_optional(20000))
    assert plan.objective == approx(-11000)
    assert volumes(plan) == {("s", "pct", "A"): 100}
    assert plan.totals["qalys"] == approx(0.8)
    assert plan.totals["net_benefit"] == approx(11000)


@pytest.mark.solver
def test_optional_service_dropped_when_cost_exceeds_qaly_value():
    """λ = £5,000: each episode is worth 5,000 × 0.01 × 0.8 = £40 < its £50 price.

    Optional (Σ_l y ≤ 1): not commissioned, objective 0. Made mandatory (Σ_l y = 1) it must be
    bought at a loss: 5,000 − 5,000 × 0.8 = 1,000.
    """
    plan = solve(_optional(5000))
    assert plan.objective == approx(0)
    assert level_of(plan, "s") is None
    assert plan.contracts.empty

    forced = solve(_optional(5000, mandatory=True))
    assert forced.objective == approx(1000)
    assert level_of(forced, "s") == "pct"


# --- 2. Demand --------------------------------------------------------------------------------


@pytest.mark.solver
def test_demand_is_met_in_full_at_the_level_effective_demand():
    """Σ_p x = D_sl y with D_sl = D_s × demand_factor; the factor decides the level.

    ltc demand 1,000, A at £20. Locality: 2 units × £300 = £600 per contract, demand factor 0.9;
    PCT: £500 per contract.
      locality: 1,000 × 0.9 = 900 episodes × 20 + 600 = 18,600   <- optimum
      pct:      1,000 episodes × 20 + 500 = 20,500
    Without the level effect locality would cost 20,000 + 600 = 20,600 and the PCT would win.
    """
    rows = dict(
        services=[{"service": "s", "category": "long_term_conditions", "demand": 1000}],
        offers=[{"provider": "A", "service": "s", "price": 20}],
        levels=[{"level": "locality", "population": 500, "transaction_cost": 300},
                {"level": "pct", "population": 1000, "transaction_cost": 500}])
    effects = [{"level": "locality", "category": "long_term_conditions", "demand_factor": 0.9}]
    plan = solve(build(**rows, level_effects=effects))
    assert plan.objective == approx(18600)
    assert volumes(plan) == {("s", "locality", "A"): approx(900)}
    assert plan.services.set_index("service").at["s", "demand"] == approx(900)

    plain = solve(build(**rows))
    assert plain.objective == approx(20500)
    assert volumes(plain) == {("s", "pct", "A"): approx(1000)}


@pytest.mark.solver
def test_service_with_zero_demand_needs_no_contracts():
    """A mandatory service with zero demand has no variables: not commissioned, costs nothing.

    t (demand 100 at £10) is bought: objective 1,000; s (demand 0) has no contract.
    """
    inst = build([{"service": "s", "demand": 0}, {"service": "t", "demand": 100}],
                 [{"provider": "A", "service": "s", "price": 10},
                  {"provider": "A", "service": "t", "price": 10}])
    plan = solve(inst)
    assert plan.objective == approx(1000)
    assert volumes(plan) == {("t", "pct", "A"): 100}
    assert level_of(plan, "s") is None


@pytest.mark.solver
def test_instance_with_nothing_to_commission_is_trivially_optimal():
    """Only a zero-demand service: the model has no variables, and the plan is empty, objective 0
    (plus nothing: no incumbent is dropped)."""
    inst = build([{"service": "s", "demand": 0}], [{"provider": "A", "service": "s", "price": 10}])
    plan = solve(inst)
    assert plan.objective == approx(0)
    assert plan.contracts.empty
    assert plan.totals["spend"] == approx(0)


# --- 3. Linking -------------------------------------------------------------------------------


def _split_or_single(transaction_cost: float, management_cost_cap: float | None = None):
    """Demand 100; A: £10 for at most 60 episodes; B: £12, unlimited; one PCT level."""
    return build([{"service": "s", "demand": 100}],
                 [{"provider": "A", "service": "s", "price": 10, "capacity": 60},
                  {"provider": "B", "service": "s", "price": 12}],
                 levels=[{"level": "pct", "population": 1000,
                          "transaction_cost": transaction_cost}],
                 management_cost_cap=management_cost_cap)


@pytest.mark.solver
def test_transaction_cost_makes_a_single_contract_better():
    """x ≤ min(cap, D) z: every contract with activity pays the £200 contract cost.

      split A 60 + B 40: 600 + 480 + 2 × 200 = 1,480
      B alone:           1,200 + 200         = 1,400   <- optimum
    With no transaction cost the split wins: 600 + 480 = 1,080.
    """
    plan = solve(_split_or_single(200))
    assert plan.objective == approx(1400)
    assert volumes(plan) == {("s", "pct", "B"): 100}
    assert plan.totals["transaction_costs"] == approx(200)

    free = solve(_split_or_single(0))
    assert free.objective == approx(1080)
    assert volumes(free) == {("s", "pct", "A"): 60, ("s", "pct", "B"): 40}


def _setup(incumbent_volume: float) -> planner.Instance:
    return build([{"service": "s", "demand": 100}],
                 [{"provider": "A", "service": "s", "price": 12, "setup_cost": 500,
                   "incumbent_volume": incumbent_volume},
                  {"provider": "B", "service": "s", "price": 10, "setup_cost": 500}],
                 providers=[{"provider": "A", "incumbent": True}, {"provider": "B"}])


@pytest.mark.solver
def test_setup_cost_is_waived_for_an_incumbent_contract():
    """Setup cost applies to new contracts only (incumbent_volume = 0).

    A holds the contract today (incumbent_volume 100), B is new; both quote a £500 setup cost.
      A: 100 × 12 + 0   = 1,200   <- optimum
      B: 100 × 10 + 500 = 1,500
    Were A's contract new too (incumbent_volume 0), A would cost 1,700 and B would win at 1,500.
    """
    plan = solve(_setup(100))
    assert plan.objective == approx(1200)
    assert volumes(plan) == {("s", "pct", "A"): 100}
    contract = plan.contracts.iloc[0]
    assert not contract["new"]
    assert contract["setup_cost"] == 0
    assert plan.totals["setup_costs"] == approx(0)

    new = solve(_setup(0))
    assert new.objective == approx(1500)
    assert volumes(new) == {("s", "pct", "B"): 100}
    assert new.totals["setup_costs"] == approx(500)


# --- 4. Offer and provider capacity ------------------------------------------------------------


@pytest.mark.solver
def test_offer_capacity_limits_the_cheapest_provider():
    """Σ_l x ≤ cap: A (£10) can deliver only 70 of the 100 episodes; B (£15) takes the rest.

      70 × 10 + 30 × 15 = 700 + 450 = 1,150.
    Without 'offer_capacity': A takes all 100 at £10 = 1,000.
    """
    inst = build([{"service": "s", "demand": 100}],
                 [{"provider": "A", "service": "s", "price": 10, "capacity": 70},
                  {"provider": "B", "service": "s", "price": 15}])
    plan = solve(inst)
    assert plan.objective == approx(1150)
    assert volumes(plan) == {("s", "pct", "A"): 70, ("s", "pct", "B"): 30}

    relaxed = solve(inst, without=["offer_capacity"])
    assert relaxed.objective == approx(1000)
    assert volumes(relaxed) == {("s", "pct", "A"): 100}
    assert "above capacity" in broken_rules(inst, relaxed)


# Offer capacity must cap the offer's own contracts, whatever their row order among the
# contracts (providers sort by name, services then levels): a regression guard for a grouping
# that once put the cap on the wrong contracts (a NaN cap when an uncapped offer sorted first).


@pytest.mark.solver
def test_offer_capacity_when_an_uncapped_offer_comes_first():
    """The instance above with the names swapped, so the uncapped provider sorts first.

    'A' (£15, unlimited), 'B' (£10, at most 70): 70 × 10 + 30 × 15 = 1,150, B delivering 70.
    """
    inst = build([{"service": "s", "demand": 100}],
                 [{"provider": "A", "service": "s", "price": 15},
                  {"provider": "B", "service": "s", "price": 10, "capacity": 70}])
    plan = solve(inst)
    assert plan.objective == approx(1150)
    assert volumes(plan) == {("s", "pct", "A"): 30, ("s", "pct", "B"): 70}


@pytest.mark.solver
def test_offer_capacity_at_the_cheaper_of_two_levels():
    """Capacity caps one offer, not the level: the cheap level stays usable.

    Demand 100; A: £10, at most 70; B: £15. Practice: 4 units × £50 = £200 per contract; PCT
    £1,000 per contract. Either level needs both providers (A alone cannot meet demand):
      practice: 700 + 450 + 2 × 200   = 1,550   <- optimum
      pct:      700 + 450 + 2 × 1,000 = 3,150
    Without 'offer_capacity': A alone at practice, 1,000 + 200 = 1,200.
    """
    inst = build([{"service": "s", "demand": 100}],
                 [{"provider": "A", "service": "s", "price": 10, "capacity": 70},
                  {"provider": "B", "service": "s", "price": 15}],
                 levels=[{"level": "practice", "population": 250, "transaction_cost": 50},
                         {"level": "pct", "population": 1000, "transaction_cost": 1000}])
    plan = solve(inst)
    assert plan.objective == approx(1550)
    assert volumes(plan) == {("s", "practice", "A"): 70, ("s", "practice", "B"): 30}

    relaxed = solve(inst, without=["offer_capacity"])
    assert relaxed.objective == approx(1200)
    assert volumes(relaxed) == {("s", "practice", "A"): 100}
    assert "above capacity" in broken_rules(inst, relaxed)


@pytest.mark.solver
def test_provider_total_capacity_is_shared_in_capacity_use_units():
    """Σ_s u_ps x ≤ C_p: A has 100 resource units; s1 uses 2 per episode, s2 uses 1.

    s1: demand 40, A £10, B £14. s2: demand 50, A £10, B £13.
    All at A would use 2 × 40 + 50 = 130 units: 30 too many. Moving work to B costs
    (14 − 10) / 2 = £2 per unit freed for s1 and (13 − 10) / 1 = £3 for s2, so 15 s1 episodes move:
      A: s1 25 (50 units) + s2 50 (50 units) = 100 units
      25 × 10 + 15 × 14 + 50 × 10 = 250 + 210 + 500 = 960.
    Without 'provider_capacity' (or counting 1 unit per episode, 90 ≤ 100) all go to A: 900.
    """
    inst = build([{"service": "s1", "demand": 40}, {"service": "s2", "demand": 50}],
                 [{"provider": "A", "service": "s1", "price": 10, "capacity_use": 2},
                  {"provider": "A", "service": "s2", "price": 10, "capacity_use": 1},
                  {"provider": "B", "service": "s1", "price": 14},
                  {"provider": "B", "service": "s2", "price": 13}],
                 providers=[{"provider": "A", "total_capacity": 100}, {"provider": "B"}])
    plan = solve(inst)
    assert plan.objective == approx(960)
    assert volumes(plan) == {("s1", "pct", "A"): approx(25), ("s1", "pct", "B"): approx(15),
                             ("s2", "pct", "A"): approx(50)}
    assert plan.providers.set_index("provider").at["A", "utilisation"] == approx(1.0)

    relaxed = solve(inst, without=["provider_capacity"])
    assert relaxed.objective == approx(900)
    assert volumes(relaxed) == {("s1", "pct", "A"): 40, ("s2", "pct", "A"): 50}
    assert "total_capacity" in broken_rules(inst, relaxed)


# --- 5. Minimum share -------------------------------------------------------------------------


@pytest.mark.solver
def test_min_share_forces_a_larger_second_contract():
    """x ≥ min_share × D × z: a contracted provider takes at least 20 % of the 100 episodes.

    A: £10, at most 90; B: £12.
      without the rule: A 90 + B 10 = 900 + 120 = 1,020
      B must take ≥ 20: A 80 + B 20 = 800 + 240 = 1,040   <- optimum (B alone: 1,200)
    """
    inst = build([{"service": "s", "demand": 100, "min_share": 0.2}],
                 [{"provider": "A", "service": "s", "price": 10, "capacity": 90},
                  {"provider": "B", "service": "s", "price": 12}])
    plan = solve(inst)
    assert plan.objective == approx(1040)
    assert volumes(plan) == {("s", "pct", "A"): approx(80), ("s", "pct", "B"): approx(20)}

    relaxed = solve(inst, without=["min_share"])
    assert relaxed.objective == approx(1020)
    assert volumes(relaxed) == {("s", "pct", "A"): approx(90), ("s", "pct", "B"): approx(10)}
    assert "minimum share" in broken_rules(inst, relaxed)


# --- 6. Quality -------------------------------------------------------------------------------


@pytest.mark.solver
def test_min_quality_excludes_the_cheaper_provider():
    """q_ps ≥ min_quality (eligibility): A (£10, quality 0.5) is below 0.6; B (£12, 0.8) is not.

    B: 100 × 12 = 1,200. Without 'min_quality': A, 100 × 10 = 1,000.
    """
    inst = build([{"service": "s", "demand": 100, "min_quality": 0.6}],
                 [{"provider": "A", "service": "s", "price": 10, "quality": 0.5},
                  {"provider": "B", "service": "s", "price": 12, "quality": 0.8}])
    plan = solve(inst)
    assert plan.objective == approx(1200)
    assert volumes(plan) == {("s", "pct", "B"): 100}

    relaxed = solve(inst, without=["min_quality"])
    assert relaxed.objective == approx(1000)
    assert volumes(relaxed) == {("s", "pct", "A"): 100}
    assert "below min_quality" in broken_rules(inst, relaxed)


@pytest.mark.solver
def test_min_avg_quality_blends_in_the_better_provider():
    """Σ q x ≥ 0.8 Σ x: A (£10, quality 0.6) and B (£15, quality 0.9), demand 90.

    0.6 x_A + 0.9 (90 − x_A) ≥ 0.8 × 90  ⇔  81 − 0.3 x_A ≥ 72  ⇔  x_A ≤ 30.
    A 30 + B 60 = 300 + 900 = 1,200 (average quality exactly 0.8).
    Without 'avg_quality': A takes all 90 = 900.
    """
    inst = build([{"service": "s", "demand": 90, "min_avg_quality": 0.8}],
                 [{"provider": "A", "service": "s", "price": 10, "quality": 0.6},
                  {"provider": "B", "service": "s", "price": 15, "quality": 0.9}])
    plan = solve(inst)
    assert plan.objective == approx(1200)
    assert volumes(plan) == {("s", "pct", "A"): approx(30), ("s", "pct", "B"): approx(60)}
    assert plan.services.set_index("service").at["s", "avg_quality"] == approx(0.8)

    relaxed = solve(inst, without=["avg_quality"])
    assert relaxed.objective == approx(900)
    assert volumes(relaxed) == {("s", "pct", "A"): 90}
    assert "average quality" in broken_rules(inst, relaxed)


# --- 7. Choice --------------------------------------------------------------------------------

CONTRACT_100 = [{"level": "pct", "population": 1000, "transaction_cost": 100}]


@pytest.mark.solver
def test_min_providers_lets_a_second_contract():
    """Σ z ≥ 2 y: patient choice needs two contracted providers, each costing £100 to hold.

    A £10, B £12, demand 100. B is contracted and, as every let contract does, carries at
    least one episode (each B episode costs £2 more, so exactly one); A delivers 99:
      99 × 10 + 1 × 12 + 2 × 100 = 1,202.
    (Before 2026-12 an empty contract with B counted: 1,200, choice on paper only.)
    Without 'min_providers': A alone, 1,000 + 100 = 1,100.
    """
    inst = build([{"service": "s", "demand": 100, "min_providers": 2}],
                 [{"provider": "A", "service": "s", "price": 10},
                  {"provider": "B", "service": "s", "price": 12}], levels=CONTRACT_100)
    plan = solve(inst)
    assert plan.objective == approx(1202)
    assert volumes(plan) == {("s", "pct", "A"): 99, ("s", "pct", "B"): 1}
    assert plan.services.set_index("service").at["s", "providers"] == 2

    relaxed = solve(inst, without=["min_providers"])
    assert relaxed.objective == approx(1100)
    assert volumes(relaxed) == {("s", "pct", "A"): 100}
    assert "fewer than min_providers" in broken_rules(inst, relaxed)


@pytest.mark.solver
def test_max_providers_one_lead_provider():
    """Σ z ≤ 1: one lead provider must cover all 100 episodes.

    A £10 (at most 60), B £12 (at most 60), C £15 (unlimited). Only C can do it alone: 1,500.
    Without 'max_providers': A 60 + B 40 = 600 + 480 = 1,080.
    """
    inst = build([{"service": "s", "demand": 100, "max_providers": 1}],
                 [{"provider": "A", "service": "s", "price": 10, "capacity": 60},
                  {"provider": "B", "service": "s", "price": 12, "capacity": 60},
                  {"provider": "C", "service": "s", "price": 15}])
    plan = solve(inst)
    assert plan.objective == approx(1500)
    assert volumes(plan) == {("s", "pct", "C"): 100}

    relaxed = solve(inst, without=["max_providers"])
    assert relaxed.objective == approx(1080)
    assert volumes(relaxed) == {("s", "pct", "A"): 60, ("s", "pct", "B"): 40}
    assert "more than max_providers" in broken_rules(inst, relaxed)


@pytest.mark.solver
def test_choice_headroom_contracts_spare_capacity():
    """Σ cap z ≥ (1 + 0.2) D: 120 episodes of capacity must be contracted for a demand of 100.

    A £10 (cap 100), B £12 (cap 30), C £11 (cap 10); £100 per contract.
      A alone: 100 < 120;  A + C: 110 < 120;  A + B: 130 ≥ 120  <- cheapest with enough
      B is held in reserve with the one episode a let contract carries, A delivers 99:
      99 × 10 + 1 × 12 + 2 × 100 = 1,202 (before 2026-12, B's contract was empty: 1,200).
    Without 'headroom': A alone, 1,000 + 100 = 1,100.
    """
    inst = build([{"service": "s", "demand": 100, "choice_headroom": 0.2}],
                 [{"provider": "A", "service": "s", "price": 10, "capacity": 100},
                  {"provider": "B", "service": "s", "price": 12, "capacity": 30},
                  {"provider": "C", "service": "s", "price": 11, "capacity": 10}],
                 levels=CONTRACT_100)
    plan = solve(inst)
    assert plan.objective == approx(1202)
    assert volumes(plan) == {("s", "pct", "A"): 99, ("s", "pct", "B"): 1}

    relaxed = solve(inst, without=["headroom"])
    assert relaxed.objective == approx(1100)
    assert volumes(relaxed) == {("s", "pct", "A"): 100}
    assert "headroom" in broken_rules(inst, relaxed)


# --- 8. Provider break-even, entry and exit -----------------------------------------------------


@pytest.mark.solver
def test_min_income_tops_up_a_provider_to_break_even():
    """Σ π x ≥ min_income w: A must earn £1,500 if used.

    s1: demand 100, A £10, B £12. s2: demand 30, A £20, B £15.
    Cost = 10 a1 + 12 (100 − a1) + 20 a2 + 15 (30 − a2) = 1,650 − 2 a1 + 5 a2.
    Unconstrained: a1 = 100, a2 = 0 → 1,450, but A then earns only £1,000.
    A used: 10 a1 + 20 a2 ≥ 1,500 → a1 = 100, a2 = 25 → 1,650 − 200 + 125 = 1,575   <- optimum
    A dropped: B does everything → 1,650.
    """
    inst = build([{"service": "s1", "demand": 100}, {"service": "s2", "demand": 30}],
                 [{"provider": "A", "service": "s1", "price": 10},
                  {"provider": "A", "service": "s2", "price": 20},
                  {"provider": "B", "service": "s1", "price": 12},
                  {"provider": "B", "service": "s2", "price": 15}],
                 providers=[{"provider": "A", "min_income": 1500}, {"provider": "B"}])
    plan = solve(inst)
    assert plan.objective == approx(1575)
    assert volumes(plan) == {("s1", "pct", "A"): approx(100), ("s2", "pct", "A"): approx(25),
                             ("s2", "pct", "B"): approx(5)}
    assert plan.providers.set_index("provider").at["A", "income"] == approx(1500)

    relaxed = solve(inst, without=["min_income"])
    assert relaxed.objective == approx(1450)
    assert volumes(relaxed) == {("s1", "pct", "A"): 100, ("s2", "pct", "B"): 30}
    assert "break-even" in broken_rules(inst, relaxed)


@pytest.mark.solver
def test_min_income_forces_an_incumbent_out_and_its_exit_cost_is_paid():
    """An incumbent that cannot break even is not retained, and its exit cost is spent.

    A (incumbent, £12) needs £1,500 but 100 episodes earn it at most £1,200, so w_A = 0.
    B (new, £13, entry £100) takes over: 1,300 + 100 entry + 300 exit of A = 1,700.
    Without 'min_income': keep A at 1,200.
    """
    inst = build([{"service": "s", "demand": 100}],
                 [{"provider": "A", "service": "s", "price": 12, "incumbent_volume": 100},
                  {"provider": "B", "service": "s", "price": 13}],
                 providers=[{"provider": "A", "incumbent": True, "min_income": 1500,
                             "exit_cost": 300},
                            {"provider": "B", "entry_cost": 100}])
    plan = solve(inst)
    assert plan.objective == approx(1700)
    assert volumes(plan) == {("s", "pct", "B"): 100}
    assert used(plan) == {"A": False, "B": True}
    assert plan.totals["exit_costs"] == approx(300)
    assert plan.totals["entry_costs"] == approx(100)

    relaxed = solve(inst, without=["min_income"])
    assert relaxed.objective == approx(1200)
    assert used(relaxed) == {"A": True, "B": False}
    assert "break-even" in broken_rules(inst, relaxed)


def _switch(exit_cost: float, min_income: float) -> planner.Instance:
    """Incumbent A (£12) against new entrant B (£10, entry £150), demand 100."""
    return build([{"service": "s", "demand": 100}],
                 [{"provider": "A", "service": "s", "price": 12, "incumbent_volume": 100},
                  {"provider": "B", "service": "s", "price": 10}],
                 providers=[{"provider": "A", "incumbent": True, "min_income": min_income,
                             "exit_cost": exit_cost},
                            {"provider": "B", "entry_cost": 150}])


@pytest.mark.solver
@pytest.mark.parametrize(("exit_cost", "objective", "winner"), [(100, 1200, "A"), (0, 1150, "B")])
def test_entry_and_exit_costs_decide_whether_to_switch_provider(exit_cost, objective, winner):
    """A needs £1,200 to break even, so it keeps all 100 episodes (100 × 12) or leaves.

    Switching saves 100 × (12 − 10) = £200 of activity but costs 150 entry + A's exit cost:
      exit £100: keep A 1,200 < switch 1,000 + 150 + 100 = 1,250 → A, 1,200
      exit £0:   switch 1,000 + 150 = 1,150 < keep 1,200      → B, 1,150
    """
    inst = _switch(exit_cost, min_income=1200)
    plan = solve(inst)
    assert plan.objective == approx(objective)
    assert volumes(plan) == {("s", "pct", winner): 100}
    assert used(plan) == {"A": winner == "A", "B": winner == "B"}
    assert plan.totals["entry_costs"] == approx(150 if winner == "B" else 0)
    assert plan.totals["exit_costs"] == approx(0)


@pytest.mark.solver
def test_incumbent_kept_on_a_token_episode_avoids_its_exit_cost():
    """Without a break-even income, one episode is enough to count as retained.

    The model counts a provider as used once it delivers min(1, its largest contract) episodes
    (planner/derive/tables.py, ``min_volume``), and MODEL §2 charges exit_p (1 − w_p) however little a
    retained incumbent keeps. So with exit £100 A keeps a single episode and B does the rest:
      1 × 12 + 99 × 10 + 150 entry = 1,152 < keep A 1,200 < switch outright 1,250.
    With min_income £1,200 (the test above) the token is not allowed: A keeps all or nothing.
    """
    inst = _switch(100, min_income=0)
    plan = solve(inst)
    assert plan.objective == approx(1152)
    assert volumes(plan) == {("s", "pct", "A"): approx(1), ("s", "pct", "B"): approx(99)}
    assert used(plan) == {"A": True, "B": True}
    assert plan.totals["exit_costs"] == approx(0)

    relaxed = solve(_switch(100, min_income=1200), without=["min_income"])
    assert relaxed.objective == approx(1152)
    assert "break-even" in broken_rules(_switch(100, min_income=1200), relaxed)


# --- 9. Commissioner break-even (budget) ---------------------------------------------------------


@pytest.mark.solver
def test_budget_forces_part_of_the_work_to_the_cheaper_provider():
    """Spend ≤ £1,100 with λ = £1,000 per QALY and qaly_gain 0.01, demand 100.

    A £10 at quality 0.5: net 10 − 1,000 × 0.01 × 0.5 = £5 per episode.
    B £12 at quality 1.0: net 12 − 10 = £2 per episode → B preferred: 1,200 − 1,000 = 200.
    Budget: 10 x_A + 12 x_B = 1,000 + 2 x_B ≤ 1,100 → x_B ≤ 50.
    Objective 5 (100 − x_B) + 2 x_B = 500 − 3 x_B → x_B = 50: A 50 + B 50, objective 350,
    spend exactly 1,100. Without 'budget': B 100, objective 200.
    """
    inst = build([{"service": "s", "demand": 100, "qaly_gain": 0.01}],
                 [{"provider": "A", "service": "s", "price": 10, "quality": 0.5},
                  {"provider": "B", "service": "s", "price": 12, "quality": 1.0}],
                 budget=1100, value_per_qaly=1000)
    plan = solve(inst)
    assert plan.objective == approx(350)
    assert plan.totals["spend"] == approx(1100)
    assert volumes(plan) == {("s", "pct", "A"): approx(50), ("s", "pct", "B"): approx(50)}

    relaxed = solve(inst, without=["budget"])
    assert relaxed.objective == approx(200)
    assert volumes(relaxed) == {("s", "pct", "B"): 100}
    assert "exceeds the budget" in broken_rules(inst, relaxed)


@pytest.mark.solver
def test_budget_drops_an_optional_qaly_positive_service():
    """Spend ≤ £1,400. s1 (mandatory): 100 × £10 = 1,000. s2 (optional): 10 × £50 = 500 buying
    10 × 0.1 = 1 QALY worth λ = £1,000 > £500.

    Unconstrained: both, 1,500 − 1,000 = 500. Within £1,400, s2 (all 10 episodes or none) no
    longer fits: objective 1,000 with s2 dropped. Without 'budget': 500.
    """
    inst = build([{"service": "s1", "demand": 100},
                  {"service": "s2", "demand": 10, "mandatory": False, "qaly_gain": 0.1}],
                 [{"provider": "A", "service": "s1", "price": 10},
                  {"provider": "A", "service": "s2", "price": 50}],
                 budget=1400, value_per_qaly=1000)
    plan = solve(inst)
    assert plan.objective == approx(1000)
    assert level_of(plan, "s2") is None
    assert volumes(plan) == {("s1", "pct", "A"): 100}

    relaxed = solve(inst, without=["budget"])
    assert relaxed.objective == approx(500)
    assert relaxed.totals["spend"] == approx(1500)
    assert level_of(relaxed, "s2") == "pct"
    assert "exceeds the budget" in broken_rules(inst, relaxed)


# --- 10. Management cost cap --------------------------------------------------------------------


@pytest.mark.solver
def test_management_cost_cap_limits_the_number_of_contracts():
    """Σ tc units z ≤ £150 with £100 per contract: only one contract fits.

    Demand 100; A £10 (at most 60); B £12.
      split A 60 + B 40: 600 + 480 + 200 = 1,280   (best without the cap)
      B alone:           1,200 + 100     = 1,300   <- optimum within the cap
    """
    inst = _split_or_single(100, management_cost_cap=150)
    plan = solve(inst)
    assert plan.objective == approx(1300)
    assert volumes(plan) == {("s", "pct", "B"): 100}
    assert plan.totals["transaction_costs"] == approx(100)

    relaxed = solve(inst, without=["management_cost"])
    assert relaxed.objective == approx(1280)
    assert volumes(relaxed) == {("s", "pct", "A"): 60, ("s", "pct", "B"): 40}
    assert "management cost" in broken_rules(inst, relaxed)


# --- 11. Level capacity and delegated budgets ----------------------------------------------------


def _two_services_two_levels(**practice: float) -> planner.Instance:
    """s1 (ltc, demand 100) and s2 (elective, demand 50), both from A at £10.

    Practice: 2 units × £50 = £100 per contract, ltc demand × 0.8; PCT: £300 per contract.
      s1: practice 80 × 10 + 100 = 900,  pct 1,000 + 300 = 1,300  (practice saves 400)
      s2: practice 500 + 100 = 600,      pct 500 + 300 = 800      (practice saves 200)
    """
    return build([{"service": "s1", "category": "long_term_conditions", "demand": 100},
                  {"service": "s2", "demand": 50}],
                 [{"provider": "A", "service": "s1", "price": 10},
                  {"provider": "A", "service": "s2", "price": 10}],
                 levels=[{"level": "practice", "population": 500, "transaction_cost": 50,
                          **practice},
                         {"level": "pct", "population": 1000, "transaction_cost": 300}],
                 level_effects=[{"level": "practice", "category": "long_term_conditions",
                                 "demand_factor": 0.8}])


@pytest.mark.solver
def test_max_services_keeps_the_bigger_saving_at_practice_level():
    """Σ_s y ≤ 1 at practice: keep the service that saves most there (s1, £400 > £200).

    s1 practice 900 + s2 pct 800 = 1,700 (s2 practice + s1 pct would be 600 + 1,300 = 1,900).
    Without 'max_services': both at practice, 900 + 600 = 1,500.
    """
    inst = _two_services_two_levels(max_services=1)
    plan = solve(inst)
    assert plan.objective == approx(1700)
    assert (level_of(plan, "s1"), level_of(plan, "s2")) == ("practice", "pct")
    assert volumes(plan) == {("s1", "practice", "A"): approx(80), ("s2", "pct", "A"): 50}

    relaxed = solve(inst, without=["max_services"])
    assert relaxed.objective == approx(1500)
    assert (level_of(relaxed, "s1"), level_of(relaxed, "s2")) == ("practice", "practice")
    assert "more than max_services" in broken_rules(inst, relaxed)


@pytest.mark.solver
def test_delegated_budget_keeps_only_the_affordable_service_at_practice_level():
    """Activity + transaction + setup at practice ≤ £850.

    s1 at practice costs 900 > 850, so s1 goes to the PCT; s2 at practice costs 600 ≤ 850:
      s1 pct 1,300 + s2 practice 600 = 1,900 (both at PCT: 2,100).
    Without 'delegated_budget': both at practice, 1,500.
    """
    inst = _two_services_two_levels(delegated_budget=850)
    plan = solve(inst)
    assert plan.objective == approx(1900)
    assert (level_of(plan, "s1"), level_of(plan, "s2")) == ("pct", "practice")
    assert plan.levels.set_index("level").at["practice", "spend"] == approx(600)

    relaxed = solve(inst, without=["delegated_budget"])
    assert relaxed.objective == approx(1500)
    assert (level_of(relaxed, "s1"), level_of(relaxed, "s2")) == ("practice", "practice")
    assert "delegated budget" in broken_rules(inst, relaxed)


# --- Risk pooling --------------------------------------------------------------------------------

# N = 10,000. Practice: 2,500 people (4 units × £25 = £100 per contract); PCT: the whole area
# (£400 per contract). Demand 100 → r = 0.01; one practice holds r n = 25 expected episodes.
RISK_LEVELS = [{"level": "practice", "population": 2500, "transaction_cost": 25},
               {"level": "pct", "population": 10000, "transaction_cost": 400}]


def _risky(cost_cv: float, tolerance: float | None = None, **policy) -> planner.Instance:
    levels = [dict(RISK_LEVELS[0], risk_tolerance=tolerance), RISK_LEVELS[1]]
    return build([{"service": "s", "demand": 100, "cost_cv": cost_cv}],
                 [{"provider": "A", "service": "s", "price": 10},
                  {"provider": "B", "service": "s", "price": 14}],
                 levels=levels, population=10000, **policy)


@pytest.mark.solver
@pytest.mark.parametrize(("cost_cv", "tolerance", "level", "objective"), [
    (0.0, 0.22, "practice", 1100),   # CV = sqrt(1 / 25) = 0.20 ≤ 0.22
    (0.75, 0.22, "pct", 1400),       # CV = sqrt(1.5625 / 25) = 0.25 > 0.22
    (0.75, 0.25, "practice", 1100),  # CV = 0.25 ≤ 0.25: the tolerance itself is bearable
])
def test_risk_tolerance_decides_whether_a_practice_can_commission(cost_cv, tolerance, level,
                                                                  objective):
    """A level is eligible iff CV = sqrt((1 + k²) / (r n_l)) ≤ τ_l.

    Practice (when eligible): 100 × £10 (A) + 100 = 1,100; PCT: 1,000 + 400 = 1,400.
    Without 'risk_pooling' the practice is always eligible: 1,100.
    """
    inst = _risky(cost_cv, tolerance)
    plan = solve(inst)
    assert plan.objective == approx(objective)
    assert volumes(plan) == {("s", level, "A"): 100}
    cv = math.sqrt((1 + cost_cv**2) / (0.01 * 2500))
    sl = planner.derive(inst).service_levels.set_index("level")
    assert sl.at["practice", "cv"] == approx(cv)

    relaxed = solve(inst, without=["risk_pooling"])
    assert relaxed.objective == approx(1100)
    assert volumes(relaxed) == {("s", "practice", "A"): 100}
    assert ("exceeds the level's tolerance" in broken_rules(inst, relaxed)) == (level == "pct")


@pytest.mark.solver
def test_optional_service_no_level_can_bear_is_not_available():
    """An optional service with no eligible level is simply not available (no error).

    s may only be commissioned by practices, and its CV there is 0.25 > τ 0.22. With
    λ = £20,000 and qaly_gain 0.01 each episode is worth £200 > £10, so it would be bought if it
    could be. t (mandatory, k = 0, CV 0.20) is bought at practice level: 1,000 + 100 = 1,100.
    Without 'risk_pooling' s is bought too: 1,100 + 100 × (10 − 200) + 100 = −17,800.
    """
    inst = build([{"service": "s", "demand": 100, "cost_cv": 0.75, "mandatory": False,
                   "qaly_gain": 0.01, "allowed_levels": "practice"},
                  {"service": "t", "demand": 100}],
                 [{"provider": "A", "service": "s", "price": 10},
                  {"provider": "A", "service": "t", "price": 10}],
                 levels=[dict(RISK_LEVELS[0], risk_tolerance=0.22), RISK_LEVELS[1]],
                 population=10000, value_per_qaly=20000)
    plan = solve(inst)
    assert plan.objective == approx(1100)
    assert level_of(plan, "s") is None
    assert volumes(plan) == {("t", "practice", "A"): 100}

    relaxed = solve(inst, without=["risk_pooling"])
    assert relaxed.objective == approx(-17800)
    assert level_of(relaxed, "s") == "practice"
    assert "exceeds the level's tolerance" in broken_rules(inst, relaxed)


@pytest.mark.solver
def test_risk_cost_moves_a_volatile_service_to_the_larger_pool():
    """Objective adds ρ σ_sl, σ_sl = c̄ sqrt(r (1 + k²)) N / sqrt(n_l); ρ = 3, k = 0.75.

    c̄ = mean offer price (10 + 14) / 2 = 12; sqrt(0.01 × 1.5625) = 0.125.
      σ practice = 12 × 0.125 × 10,000 / 50  = 300 → risk cost 900: 1,100 + 900 = 2,000
      σ pct      = 12 × 0.125 × 10,000 / 100 = 150 → risk cost 450: 1,400 + 450 = 1,850  <- optimum
    With ρ = 0 the practice wins at 1,100.
    """
    plan = solve(_risky(0.75, risk_aversion=3))
    assert plan.objective == approx(1850)
    assert plan.totals["risk_cost"] == approx(450)
    assert plan.totals["spend"] == approx(1400)
    assert volumes(plan) == {("s", "pct", "A"): 100}

    neutral = solve(_risky(0.75, risk_aversion=0))
    assert neutral.objective == approx(1100)
    assert volumes(neutral) == {("s", "practice", "A"): 100}


# --- Conflicts of interest -------------------------------------------------------------------------


@pytest.mark.solver
def test_conflicted_provider_cannot_be_contracted_by_its_own_level():
    """A GP practice (A, £10) may not be contracted by practice-based commissioning.

    Practice (£100 per contract, N = 10,000): only B (£12) → 1,200 + 100 = 1,300   <- optimum
    PCT (£400 per contract): A → 1,000 + 400 = 1,400.
    Without 'conflicts': A at practice level, 1,000 + 100 = 1,100.
    """
    inst = build([{"service": "s", "demand": 100}],
                 [{"provider": "A", "service": "s", "price": 10},
                  {"provider": "B", "service": "s", "price": 12}],
                 providers=[{"provider": "A", "kind": "gp_practice",
                             "conflicted_levels": "practice"}, {"provider": "B"}],
                 levels=RISK_LEVELS, population=10000)
    plan = solve(inst)
    assert plan.objective == approx(1300)
    assert volumes(plan) == {("s", "practice", "B"): 100}

    relaxed = solve(inst, without=["conflicts"])
    assert relaxed.objective == approx(1100)
    assert volumes(relaxed) == {("s", "practice", "A"): 100}
    assert "conflicted" in broken_rules(inst, relaxed)


# --- The example instance -------------------------------------------------------------------------


@pytest.mark.solver
def test_toy_instance_hand_derived_optimum():
    """instances/toy: the optimum £1,383,000 was derived by hand (instances/toy)."""
    inst = planner.load_instance(Path(__file__).parents[2] / "instances" / "toy")
    plan = solve(inst)
    assert plan.objective == approx(1_383_000)
    assert plan.totals["spend"] == approx(1_383_000)
