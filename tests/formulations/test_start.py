"""The MIP start (formulations.start): a start HiGHS can complete, never a different optimum.

HiGHS discards an infeasible start without a word, so each test fixes the start's binaries and
solves what is left: "completed" is that objective (None: HiGHS would have rejected the start).
The unfitted start (``fit=False``, the heuristic's plan as it comes) is checked too, so each test
shows the case the fit is for.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import build, solve
from pytest import approx

from formulations.start import greedy_start
from planner.data.instance import load_instance
from planner.solver.session import PlanningModel

PCT_OPTIMUM = 230_411_481.94  # instances/pct, pinned in tests/cli/test_pct.py


def completed(instance, fit: bool = True) -> tuple[dict, float | None]:
    """(the start as {(variable, index): value}, the objective of the model with the start's
    values fixed, or None). Names, not VarData: the model goes with the session."""
    session = PlanningModel(instance)
    start = greedy_start(session.model, session.built.data, fit=fit)
    for var, value in start:
        var.fix(value)
    result = session.run()
    named = {(var.parent_component().name, var.index()): value for var, value in start}
    return named, (result.objective if result.has_solution else None)


@pytest.mark.solver
def test_a_start_over_budget_is_fitted_by_pricing_spend():
    """a is mandatory (100 episodes at £10); b is optional, 100 episodes at £10, each worth
    0.01 QALY × £20,000 = £200, so the heuristic buys it (£10 − £200 < 0). The budget £1,500
    holds a (£1,000) but not a and b (£2,000), and demand is met whole or not at all, so the
    optimum is a alone: £1,000. Unfitted, the start buys b and HiGHS rejects it; fitted, b's
    price (1 + μ) × £10 passes £200 at μ > 19 and the start is the optimum itself."""
    inst = build([{"service": "a", "demand": 100},
                  {"service": "b", "demand": 100, "mandatory": False, "qaly_gain": 0.01}],
                 [{"provider": "A", "service": "a", "price": 10},
                  {"provider": "A", "service": "b", "price": 10}],
                 value_per_qaly=20000, budget=1500)
    assert solve(inst).objective == approx(1000)
    assert completed(inst, fit=False)[1] is None
    assert completed(inst)[1] == approx(1000)


LEVELS = [{"level": "practice", "population": 2500}, {"level": "pct", "population": 10000}]


@pytest.mark.solver
def test_a_mandatory_service_the_heuristic_cannot_plan_is_left_for_highs():
    """s (100 episodes) is offered only by P, a GP practice that practices may not contract
    (conflicted), at £10; P must earn £2,000 if used. t (100) is offered by P at £12 and Q at £10;
    u (50) by Q alone at £5. The heuristic puts t with Q at practice level, where P cannot take
    it; P's s alone pays £1,000 < £2,000, so it drops P and s has no plan.

    The optimum: everything at PCT level; P needs £1,000 more than s pays, so t gives P
    1,000 / 12 = 83.33 episodes and Q the other 16.67: 1,000 + 1,000 + 166.67 + u's 250 =
    £2,416.67. Fitted, the start leaves s, t and P for HiGHS and keeps u's level."""
    inst = build([{"service": "s", "demand": 100}, {"service": "t", "demand": 100},
                  {"service": "u", "demand": 50}],
                 [{"provider": "P", "service": "s", "price": 10},
                  {"provider": "P", "service": "t", "price": 12},
                  {"provider": "Q", "service": "t", "price": 10},
                  {"provider": "Q", "service": "u", "price": 5}],
                 providers=[{"provider": "P", "kind": "gp_practice",
                             "conflicted_levels": "practice", "min_income": 2000},
                            {"provider": "Q"}],
                 levels=LEVELS, population=10000)
    optimum = 1000 + 1000 + 1000 / 6 + 250
    assert solve(inst).objective == approx(optimum)
    assert completed(inst, fit=False)[1] is None
    start, objective = completed(inst)
    assert objective == approx(optimum)
    levels = PlanningModel(inst).built.derived.service_levels
    given = {int(index) for name, index in start if name == "y"}
    assert given == set(levels.index[levels["service"] == "u"]), "only u's levels are given"


@pytest.mark.solver
def test_pct_start_fits_its_budget_and_is_near_the_optimum():
    """instances/pct: the heuristic's plan overspends the £341m budget by about £3m (HiGHS
    rejected it until the fit). Fitted, HiGHS completes it within 1 % of the optimum."""
    inst = load_instance(Path(__file__).parents[2] / "instances" / "pct")
    assert completed(inst, fit=False)[1] is None
    objective = completed(inst)[1]
    assert objective is not None
    assert PCT_OPTIMUM - 1 <= objective <= PCT_OPTIMUM * 1.01


@pytest.mark.solver
def test_an_incumbent_worth_keeping_keeps_a_contract_in_the_start():
    """A (incumbent, £12 an episode, room for 50, exit cost £300, no minimum income) and B
    (new, £10, no entry cost) offer s, 100 episodes. A used provider delivers at least one
    episode, so keeping A costs one episode at £2 more: 99 × 10 + 12 = £1,002, against dropping
    it, 1,000 + 300 = £1,300. The optimum keeps A. The heuristic forces A's contract to avoid
    the exit cost, but A alone cannot cover s, B is let too, and allocating cheapest first gave
    A no episodes, so A was dropped (the start completed at £1,300); now A keeps one episode,
    taken from B."""
    inst = build([{"service": "s", "demand": 100}],
                 [{"provider": "A", "service": "s", "price": 12, "capacity": 50,
                   "incumbent_volume": 50},
                  {"provider": "B", "service": "s", "price": 10}],
                 providers=[{"provider": "A", "incumbent": True, "exit_cost": 300},
                            {"provider": "B"}])
    assert solve(inst).objective == approx(1002)
    assert completed(inst, fit=False)[1] == approx(1002)
    assert completed(inst)[1] == approx(1002)
