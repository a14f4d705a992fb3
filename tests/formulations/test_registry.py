"""The one registry of rule families (formulations.registry) and what reads it.

The builder, ``--without``, diagnosis, marginal values and explain all read
:data:`formulations.registry.REGISTRY`; these tests check that they agree with it, that a
family switched off removes exactly its rows (counted independently from the stored LP
baselines), that formulations read no raw config, and that statuses are the enum.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import planner
from formulations import build
from formulations.registry import BUDGET_ROWS, COMPONENTS, REGISTRY, SWITCHES, relaxable, rows_of
from planner.analysis import diagnosis, marginal
from planner.cli.main import main
from planner.derive.tables import ModelPolicy, derive
from planner.rules import FAMILY_NAMES, Family, Status
from planner.solver.highs import SolveResult

ROOT = Path(__file__).resolve().parents[2]
TOY = ROOT / "instances" / "toy"
BASELINES = Path(__file__).resolve().parent / "baselines"


def test_every_family_member_is_one_registry_entry() -> None:
    switches = [spec.switch for spec in REGISTRY if spec.switch is not None]
    assert sorted(switches) == sorted(Family) and len(switches) == len(set(switches))
    assert SWITCHES == FAMILY_NAMES  # --without offers exactly the enum, in its order
    names = [spec.name for spec in REGISTRY]
    assert len(names) == len(set(names))
    assert all(spec.name == spec.switch.value for spec in REGISTRY if spec.switch is not None)


def test_components_are_declared_once() -> None:
    components = [r.component for spec in REGISTRY for r in spec.rows]
    assert len(components) == len(set(components)) == len(COMPONENTS)


def test_readers_take_the_registry() -> None:
    """Diagnosis relaxes the registry's relaxable rows in its order (budget first, as
    diagnosis.json always listed them); marginal values report the registry's duals."""
    assert [(f.name, f.component) for f in diagnosis.FAMILIES] == [
        ("budget", "budget_limit"), ("budget", "budget_year_cap"), ("budget", "carry_rule"),
        ("budget", "budget_confidence"), ("offer_capacity", "offer_capacity"),
        ("provider_capacity", "provider_capacity"),
        ("demand", "demand"), ("min_income", "min_income"), ("avg_quality", "avg_quality"),
        ("min_providers", "min_providers"), ("max_providers", "max_providers"),
        ("headroom", "headroom"), ("min_share", "min_share"),
        ("management_cost", "management_cost"), ("max_services", "max_services"),
        ("delegated_budget", "delegated_budget"), ("mandatory", "level_choice"),
        ("setting_targets", "setting_target")]  # the area rules are not relaxed (registry)
    assert len(relaxable()) == len(diagnosis.FAMILIES)
    assert list(marginal.DUAL_COMPONENTS) == [
        "budget_limit", "budget_year_cap", "offer_capacity", "provider_capacity", "min_income",
        "avg_quality", "delegated_budget", "management_cost", "demand", "setting_target"]
    assert marginal.DUAL_COMPONENTS["provider_capacity"] == ("resource units",
                                                             "shared provider capacity")
    assert marginal.CHOICE_COMPONENTS == ("min_providers", "max_providers", "headroom")
    assert BUDGET_ROWS == rows_of(Family.BUDGET) == (
        "budget_limit", "budget_year_cap", "carry_over", "carry_rule", "carry_lapse",
        "budget_confidence")


def _baseline_rows(family: str) -> int:
    """Rows of ``family`` on the toy, counted from its stored baseline file (not the model)."""
    text = (BASELINES / f"{family}.txt").read_text(encoding="utf-8")
    return sum(int(n) for n in re.findall(r"^## \S+: (\d+) rows", text, flags=re.M))


SWITCHED = [spec for spec in REGISTRY if spec.switch is not None and spec.add is not None
            and not spec.several_years and spec.switch is not Family.MANDATORY]


@pytest.mark.parametrize("spec", SWITCHED, ids=[s.name for s in SWITCHED])
def test_without_removes_exactly_the_familys_rows(spec) -> None:
    """The toy has 53 rows; without a family it has 53 minus that family's rows (e.g. 52
    without budget: its one budget_limit row). ``mandatory`` keeps its rows (= 1 becomes ≤ 1)."""
    built = build(derive(planner.load_instance(TOY), {spec.name}))
    # Without min_income the county hospital (no entry or exit cost) needs no use binary w,
    # so its provider_use row, the link_z_w rows of its 3 contracts and its provider_contracts
    # row go too: 53 − 1 − 5.
    structure = 5 if spec.switch is Family.MIN_INCOME else 0
    assert built.counts()["constraints"] == 53 - _baseline_rows(spec.name) - structure
    assert all(len(getattr(built.model, r.component, ())) == 0 for r in spec.rows)


def test_without_mandatory_relaxes_level_choice() -> None:
    built = build(derive(planner.load_instance(TOY), {"mandatory"}))
    rows = built.model.level_choice
    assert len(rows) == 3 and all(not row.equality and row.upper == 1 for row in rows.values())


def test_cli_refuses_an_unknown_family(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["derive", str(TOY), "--out", str(tmp_path / "d"),
                                       "--without", "min_sharee"])
    assert result.exit_code == 2 and "min_share" in result.output


def test_derived_policy_is_typed_from_the_config() -> None:
    """The toy's instance.yaml: budget £1,400,000 a year, £0 per QALY, annual break-even and
    the schema's defaults (no price change, no cap, a 3-year window, 1-year contracts)."""
    policy = derive(planner.load_instance(TOY)).policy
    assert policy == ModelPolicy(name="toy", budgets=(1_400_000.0,), value_per_qaly=0.0,
                                 price_change=0.0, management_cost_cap=None, break_even="annual",
                                 break_even_window=3, min_contract_years=1, setting_targets=())
    assert policy.has_budget


def test_formulations_read_no_raw_config() -> None:
    """Formulations read derived data only: no instance.config, no derived.instance, no
    untyped extra[...] dicts in the shipped formulations package."""
    pattern = re.compile(r"\.instance\b|\.config\b|extra\[|\.extra\b")
    offenders = [f"{path.name}:{n}" for path in sorted((ROOT / "formulations").glob("*.py"))
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if pattern.search(line.split("#")[0])]
    assert offenders == []
    assert not (ROOT / "formulations" / "textbook.py").exists()  # a benchmark, in scripts/


def test_statuses_are_the_enum() -> None:
    result = SolveResult(status="optimal", termination="", objective=0.0, bound=0.0, gap=0.0)
    assert result.status is Status.OPTIMAL and result.has_solution
    assert SolveResult(status="time_limit", termination="", objective=None, bound=None,
                       gap=None).has_solution is False
    assert json.dumps({"status": Status.INFEASIBLE}) == '{"status": "infeasible"}'
    assert f"{Status.FEASIBLE}" == "feasible" and Status.FEASIBLE == "feasible"
    with pytest.raises(ValueError):
        SolveResult(status="optimall", termination="", objective=None, bound=None, gap=None)


@pytest.mark.solver
def test_a_solved_plan_has_an_enum_status() -> None:
    plan = planner.solve(TOY, marginal=False)
    assert plan.status is Status.OPTIMAL
    assert plan.objective == pytest.approx(1_383_000.0)
    assert '"status": "optimal"' in json.dumps(plan.to_json(), default=str)
