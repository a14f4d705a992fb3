"""Scale and speed (issue 7): the instance generator, the size refusal, and the speed machinery.

* The generator is deterministic for a seed (the same bytes twice) and its instances validate,
  solve and verify at toy and PCT scale.
* An instance too large for the machine's memory is refused before building, with exit code 2
  and the estimate (available memory is monkeypatched low to provoke it).
* The textbook baseline reaches the planner's optimum (the fast transfer to HiGHS is tested in
  tests/solve/test_fast_transfer.py).

Timings are benchmarks (scripts/bench.py, docs/performance.md), never asserted here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import planner
from formulations import build
from planner import sizing
from planner.cli.main import main
from planner.derive.tables import derive

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import generate_instance  # noqa: E402

NHS_DATA = generate_instance.DEFAULT_NHS_DATA
needs_data = pytest.mark.skipif(not (NHS_DATA / "ncc_2023_24.csv").is_file(),
                                reason="the public NHS data files are not on this machine")


def generated(tmp_path: Path, scale: str, seed: int, name: str = "instance") -> Path:
    folder = tmp_path / name
    assert generate_instance.main(["--scale", scale, "--seed", str(seed), "--out", str(folder)]) == 0
    return folder


def file_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@needs_data
def test_generator_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    first = generated(tmp_path / "a", "pct", 7)
    second = generated(tmp_path / "b", "pct", 7)
    assert file_bytes(first) == file_bytes(second)
    assert set(file_bytes(first)) == {"README.md", "instance.yaml", "levels.csv", "services.csv",
                                      "providers.csv", "offers.csv", "level_effects.csv"}
    other = generated(tmp_path / "c", "pct", 8)
    assert file_bytes(other)["offers.csv"] != file_bytes(first)["offers.csv"]


@needs_data
@pytest.mark.solver
@pytest.mark.parametrize("scale", ["toy", "pct"])
def test_generated_instances_validate_solve_and_verify(tmp_path: Path, scale: str) -> None:
    instance = planner.load_instance(generated(tmp_path, scale, 2010))
    plan = planner.solve(instance, gap=0.01, time_limit=60)  # check=True: verify() must be clean
    assert plan.status in ("optimal", "feasible")
    assert planner.verify(instance, plan) == []
    assert plan.totals["spend"] <= instance.config.policy.budget * (1 + 1e-9)


def test_shipped_england_instance_has_the_sizes_of_england() -> None:
    """instances/england is generate_instance --scale england: DOMAIN.md's figures."""
    instance = planner.load_instance(ROOT / "instances" / "england")
    levels = instance.levels.set_index("level")["population"]
    units = instance.config.population / levels
    assert instance.config.population == 52_000_000
    assert round(units["practice"]) >= 8_000 and round(units["locality"]) >= 300
    assert round(units["pct"]) == 152 and round(units["regional"]) == 10
    assert round(units["supra_regional"]) == 4 and round(units["national"]) == 1
    assert len(instance.services) >= 300 and len(instance.providers) >= 600
    assert set(instance.providers["kind"]) >= {"nhs_trust", "foundation_trust", "gp_practice",
                                               "gp_federation", "independent", "voluntary",
                                               "social_enterprise", "local_authority"}


def test_too_large_a_model_is_refused_with_exit_2_and_the_estimate(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, toy_dir: Path) -> None:
    monkeypatch.setattr(sizing, "available_memory", lambda: 1e6)  # a 1 MB machine
    result = CliRunner().invoke(main, ["solve", str(toy_dir), "--out", str(tmp_path / "plan")])
    assert result.exit_code == 2
    message = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "too large for this machine" in message
    assert "GB of memory needed" in message and "0.0 GB available" in message
    assert not (tmp_path / "plan").exists()


def test_size_estimate_grows_with_contracts_and_passes_on_this_machine(toy_dir: Path) -> None:
    derived = derive(planner.load_instance(toy_dir))
    small = sizing.estimate(derived)
    assert small.contracts == len(derived.contracts) and small.years == 1
    assert sizing.estimate(derived, contracts=1_000_000).bytes > 100 * (small.bytes - sizing.BASE)
    assert sizing.check_size(derived) == small  # the toy fits anywhere


@pytest.mark.solver
def test_textbook_baseline_reaches_the_planners_optimum(toy_dir: Path) -> None:
    import textbook  # scripts/textbook.py: a benchmark baseline, not shipped

    from planner.solver.highs import HighsAdapter, SolveOptions

    derived = derive(planner.load_instance(toy_dir))
    sparse = HighsAdapter(SolveOptions()).solve(build(derived).model)
    dense = textbook.build(derived)
    result = HighsAdapter(SolveOptions()).solve(dense.model)
    assert dense.counts()["variables"] > build(derived).counts()["variables"]
    assert result.objective == pytest.approx(sparse.objective, rel=1e-9)
    assert result.objective == pytest.approx(1_383_000.0)
