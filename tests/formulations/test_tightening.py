"""The contract-count row (formulations.tightening): a tighter LP relaxation, the same optimum.

Each case has its LP relaxation and its optimum derived by hand below; the optimum is checked
with the row and without it (``Derived.tighten`` False, as diagnosis builds), so a row that cut
off a real plan would show as a changed optimum. The property tests (tests/test_properties.py)
recheck the optimum of random tiny instances, rows included, against an enumeration built from
the raw tables.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pyomo.environ as pyo
import pytest
from helpers import build, solve
from pyomo.contrib.solver.solvers.highs import Highs
from pytest import approx

import planner
from formulations.tightening import fewest_to_cover
from planner.data.instance import load_instance
from planner.solver.session import PlanningModel

ROOT = Path(__file__).resolve().parents[2]
KAPPA = 500.0  # £ a contract: transaction_cost 500 at a level whose population is the instance's


def three_providers(capacity: float = 60, **service) -> object:
    """One mandatory service of 100 episodes, offered by A, B and C (60 episodes each, £10)."""
    return build([{"service": "s", "demand": 100, **service}],
                 [{"provider": p, "service": "s", "price": 10, "capacity": capacity}
                  for p in "ABC"],
                 levels=[{"level": "pct", "population": 1000, "transaction_cost": KAPPA}])


def lp_relaxation(session: PlanningModel) -> float:
    """The objective (£) of the session's model with every binary made continuous."""
    model = session.model.clone()
    pyo.TransformationFactory("core.relax_integer_vars").apply_to(model)
    solver = Highs()
    solver.config.load_solutions = False
    return solver.solve(model).incumbent_objective


def sessions(instance) -> tuple[PlanningModel, PlanningModel]:
    tightened = PlanningModel(instance)
    return tightened, PlanningModel(instance, derived=replace(tightened.derived, tighten=False))


def test_fewest_to_cover_counts_the_largest_first():
    """Group 0 holds 5, 3, 2: 6 is reached by 5 + 3 (2), 10 by all three (3), 11 never (all 3
    short, capped by the caller), 0 by none. Group 1 holds 4 alone: 4 is reached by it (1)."""
    values = np.array([2.0, 5.0, 3.0, 4.0])
    group = np.array([0, 0, 0, 1])
    for target, expected in ((6.0, 2), (10.0, 3), (11.0, 3), (0.0, 0)):
        assert fewest_to_cover(values, group, np.array([target, 4.0]))[0] == expected
    assert fewest_to_cover(values, group, np.array([6.0, 4.0]))[1] == 1


@pytest.mark.solver
def test_capacities_that_tile_a_large_demand_count_as_covering_it():
    """20,000,000.2 + 10,000,000.1 is 30,000,000.3 episodes, the demand, but sums short of it in
    floating point: two contracts cover it (found by review: a tolerance of 1e-9 episodes asked
    for three and cut off the optimum, A and B: £300,000,003 + 2 × £500 = £300,001,003)."""
    values = np.array([20_000_000.2, 10_000_000.1, 10_000_000.1])
    assert fewest_to_cover(values, np.zeros(3, dtype=int), np.array([30_000_000.3]))[0] == 2
    instance = build([{"service": "s", "demand": 30_000_000.3}],
                     [{"provider": p, "service": "s", "price": 10, "capacity": cap}
                      for p, cap in zip("ABC", values)],
                     levels=[{"level": "pct", "population": 1000, "transaction_cost": KAPPA}])
    tightened, plain = sessions(instance)
    assert tightened.run().objective == approx(plain.run().objective) == approx(300_001_003)


@pytest.mark.solver
def test_the_count_closes_the_relaxation_of_a_fixed_charge():
    """100 episodes at £10 from providers of 60 each, £500 a contract. A plan lets two contracts
    (one cannot carry 100): £1,000 + 2 × £500 = £2,000. The plain relaxation lets each contract
    x/60 of the way, so pays 100/60 × £500: £1,833.33. The row Σz ≥ 2y makes it pay two whole
    contracts: its relaxation is the optimum, £2,000."""
    instance = three_providers()
    tightened, plain = sessions(instance)
    assert len(tightened.model.contract_count) == 1 and len(plain.model.contract_count) == 0
    assert lp_relaxation(plain) == approx(1000 + 100 / 60 * KAPPA)
    assert lp_relaxation(tightened) == approx(2000)
    for session in (tightened, plain):
        assert session.run().objective == approx(2000)
    assert solve(instance).objective == approx(2000)


@pytest.mark.solver
def test_the_count_includes_the_choice_headroom():
    """With 50 % headroom the let contracts' capacity must cover 150 episodes: 60 + 60 < 150,
    so three contracts: £1,000 + 3 × £500 = £2,500. The headroom row alone lets the relaxation
    count 150/60 = 2.5 contracts (£2,250); the count asks for 3 (£2,500, the optimum)."""
    instance = three_providers(choice_headroom=0.5)
    tightened, plain = sessions(instance)
    assert len(tightened.model.contract_count) == 1  # the demand's 2 contracts
    assert len(tightened.model.headroom_count) == 1  # the headroom's 3
    assert lp_relaxation(plain) == approx(1000 + 2.5 * KAPPA)
    assert lp_relaxation(tightened) == approx(2500)
    for session in (tightened, plain):
        assert session.run().objective == approx(2500)


@pytest.mark.solver
def test_dropping_the_headroom_rule_drops_its_count():
    """Capacities of 50: demand needs two contracts (£2,000), 50 % headroom three (£2,500), and
    the headroom row binds (3 × 50 = 150). marginal_values.csv re-solves without it: the count
    of three goes with it, so the value of dropping it is £2,500 − £2,000 = £500 (held to three
    contracts by a count left in force, the re-solve would say £0)."""
    plan = planner.solve(three_providers(capacity=50, choice_headroom=0.5), marginal=True)
    assert plan.objective == approx(2500)
    values = plan.marginal_values
    headroom = values.loc[values["constraint"] == "headroom"]
    assert len(headroom) == 1 and headroom["marginal_value"].iloc[0] == approx(500)


@pytest.mark.solver
def test_min_providers_is_left_to_its_own_row():
    """With capacity 200 one contract covers the demand, so the count says nothing (n = 1) and
    there is no row, even with min_providers 3: a marginal-value re-solve relaxes that rule's
    own row, and no row here may keep it. The optimum lets all three: £1,000 + £1,500."""
    instance = build([{"service": "s", "demand": 100, "min_providers": 3}],
                     [{"provider": p, "service": "s", "price": 10, "capacity": 200} for p in "ABC"],
                     levels=[{"level": "pct", "population": 1000, "transaction_cost": KAPPA}])
    tightened, _ = sessions(instance)
    assert len(tightened.model.contract_count) == 0
    assert solve(instance).objective == approx(2500)


def test_no_row_where_the_argument_does_not_hold():
    """No rows in an elastic model (tighten False), a mutable build (a sweep re-sets demand and
    capacity), nor for a level whose contracts have no binary (no contract cost, so the
    rules count no contracts there)."""
    instance = three_providers()
    tightened, plain = sessions(instance)
    assert len(plain.model.contract_count) == 0
    assert len(PlanningModel(instance, mutable=True).model.contract_count) == 0
    free = build([{"service": "s", "demand": 100}],
                 [{"provider": p, "service": "s", "price": 10, "capacity": 60} for p in "ABC"])
    assert len(PlanningModel(free).model.contract_count) == 0


def test_no_row_for_block_contracts_or_bundled_services():
    """pct_payment's bundles add their demand to the demand rows and its blocks pay by the year:
    no count is stated for a service-level with a block contract or in a bundle."""
    session = PlanningModel(load_instance(ROOT / "instances" / "pct_payment"))
    data = session.built.data
    blocked = set(data.y_of_contract[data.payment.blocks].tolist())
    position = {int(r): j for j, r in enumerate(data.sl_rows)}
    bundled = {position[int(s)] for s in data.payment.bundle_rows["sl"]}
    assert blocked and bundled
    counted = {j for j, _ in session.model.contract_count}
    assert counted and not counted & (blocked | bundled)


def incumbent_and_entrant() -> object:
    """s: 100 episodes, £500 a contract. A (incumbent, £12, exit cost £3,000) and B (new,
    £10), each able to take all 100."""
    return build([{"service": "s", "demand": 100}],
                 [{"provider": "A", "service": "s", "price": 12, "capacity": 100,
                   "incumbent_volume": 100},
                  {"provider": "B", "service": "s", "price": 10, "capacity": 100}],
                 providers=[{"provider": "A", "incumbent": True, "exit_cost": 3000},
                            {"provider": "B"}],
                 levels=[{"level": "pct", "population": 1000, "transaction_cost": KAPPA}])


@pytest.mark.solver
def test_a_used_provider_lets_a_whole_contract_in_the_relaxation():
    """Plans: A alone 1,200 + 500 = £1,700; B alone 1,000 + 500 + A's exit 3,000 = £4,500;
    both (A keeps the one episode a used provider delivers) 990 + 12 + 2 × 500 = £2,002. The
    optimum is A alone, £1,700.

    The plain relaxation keeps A (w_A = 1, so no exit cost) on one episode, with its contract
    let 1/100 of the way: each episode then costs its price plus £5 of contract (A £17, B £15),
    so 17 + 99 × 15 = £1,502. The row w_A ≤ z_A makes A's contract whole once A is used: then
    A's episodes cost £12 and B's £15, so all go to A, £1,200 + £500 = £1,700, the optimum
    (w_A < 1 saves £500 a unit of contract but costs £3,000 of exit)."""
    instance = incumbent_and_entrant()
    tightened, plain = sessions(instance)
    assert list(tightened.model.provider_contracts) == [("A", 0)]
    assert len(plain.model.provider_contracts) == 0
    assert lp_relaxation(plain) == approx(17 + 99 * 15)
    assert lp_relaxation(tightened) == approx(1700)
    for session in (tightened, plain):
        assert session.run().objective == approx(1700)


def test_no_provider_row_where_the_argument_does_not_hold():
    """Not in a mutable build nor an elastic one; not for a provider with a block contract or
    in a bundle (pct_payment), whose use need not let a contract."""
    instance = incumbent_and_entrant()
    assert len(PlanningModel(instance, mutable=True).model.provider_contracts) == 0
    session = PlanningModel(load_instance(ROOT / "instances" / "pct_payment"))
    data = session.built.data
    paid = set(data.derived.contracts["provider"].to_numpy()[data.payment.blocks]) \
        | set(data.payment.bundle_rows["provider"])
    stated = {p for p, _ in session.model.provider_contracts}
    assert paid and stated and not stated & paid
