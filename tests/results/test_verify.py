"""verify() must find deliberate corruptions of a correct plan, each by the rule it breaks."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest

import planner
from planner.results.plan import Plan

pytestmark = pytest.mark.solver


@pytest.fixture(scope="module")
def toy_plan() -> tuple[planner.Instance, Plan]:
    instance = planner.load_instance(Path(__file__).parents[2] / "instances" / "toy")
    plan = planner.solve(instance)
    assert planner.verify(instance, plan) == []
    return instance, plan


def _row(plan: Plan, service: str, provider: str) -> int:
    c = plan.contracts
    return int(c.index[(c.service == service) & (c.provider == provider)][0])


def _scale_volume(plan: Plan) -> None:
    row = _row(plan, "gp_consultations", "riverside_federation")
    plan.contracts.loc[row, ["volume", "spend"]] = [31_000, 31_000 * 29]


def _move_level(plan: Plan) -> None:
    plan.contracts.loc[_row(plan, "hip_replacement", "county_hospital"), "level"] = "practice"


def _conflicted(plan: Plan) -> None:
    plan.contracts.loc[_row(plan, "gp_consultations", "high_street_surgery"), "level"] = "practice"


def _wrong_price(plan: Plan) -> None:
    plan.contracts.loc[_row(plan, "hip_replacement", "county_hospital"), "price"] = 5000


def _drop_mandatory(plan: Plan) -> None:
    plan.contracts = plan.contracts[plan.contracts.service != "hip_replacement"].reset_index(drop=True)
    plan.services.loc[plan.services.service == "hip_replacement", "commissioned"] = False


def _hide_provider(plan: Plan) -> None:
    plan.providers.loc[plan.providers.provider == "riverside_federation", "used"] = False


def _understate_spend(plan: Plan) -> None:
    plan.totals["spend"] -= 1000


def _overspend(plan: Plan) -> None:
    row = _row(plan, "gp_consultations", "riverside_federation")
    plan.contracts.loc[row, "price"] = 40
    plan.contracts.loc[row, "spend"] = 40 * 30_000


CORRUPTIONS: dict[str, tuple[Callable[[Plan], None], str]] = {
    "volume above demand": (_scale_volume, "volume 41000 ≠ demand 40000"),
    "level not bearing risk": (_move_level, "spend CV 0.4472 exceeds the level's tolerance 0.1"),
    "conflict of interest": (_conflicted, "provider is conflicted at this level"),
    "price not tariff": (_wrong_price, "price 5000 but the data give 6000"),
    "mandatory dropped": (_drop_mandatory, "service hip_replacement in 2010: mandatory but not commissioned"),
    "used provider hidden": (_hide_provider, "holds a contract but is reported unused"),
    "spend understated": (_understate_spend, "total spend: plan says"),
    "budget broken": (_overspend, "budget: spend £1,713,000.00 exceeds the budget £1,400,000.00"),
}


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_verify_finds_corruption(toy_plan, name: str) -> None:
    instance, plan = toy_plan
    corrupt, expected = CORRUPTIONS[name]
    broken = copy.deepcopy(plan)
    corrupt(broken)
    violations = planner.verify(instance, broken)
    assert any(expected in v for v in violations), violations


def test_verify_checks_budget_against_data(toy_plan) -> None:
    """Lowering the budget below the plan's spend is caught even with consistent tables."""
    instance, plan = toy_plan
    config = instance.config.model_copy(update={
        "policy": instance.config.policy.model_copy(update={"budget": 1_000_000})})
    tighter = planner.Instance(config=config, levels=instance.levels, services=instance.services,
                               providers=instance.providers, offers=instance.offers,
                               level_effects=instance.level_effects)
    violations = planner.verify(tighter, plan)
    assert any("exceeds the budget £1,000,000.00" in v for v in violations), violations
    assert planner.verify(tighter, plan, without={"budget"}) == []


def test_verify_takes_a_path_and_refuses_a_plan_of_another_instance(toy_plan) -> None:
    """verify accepts an instance path like solve does, and a plan of another instance is one
    clear violation, not a KeyError."""
    from pathlib import Path

    instance, plan = toy_plan
    toy = Path(__file__).resolve().parents[2] / "instances" / "toy"
    assert planner.verify(toy, plan) == []
    other = copy.deepcopy(plan)
    other.services["service"] = other.services["service"].replace({"hip_replacement": "heart"})
    found = planner.verify(instance, other)
    assert len(found) == 1 and "names services heart that this instance does not have" in found[0]
