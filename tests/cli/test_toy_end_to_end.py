"""The toy instance through the CLI and the library, against the optimum derived by hand.

instances/toy/README.md derives the optimum: £1,383,000 = hip replacements at PCT level from
county_hospital (20 × £6,000 + £2,000 contract) + GP consultations at PCT level split 30,000 to
riverside_federation at £29 and 10,000 to high_street_surgery at £30 (+ 2 × £2,000 contracts +
£5,000 entry for the federation) + diabetes care at practice level (demand 500 × 0.9 = 450) from
riverside_federation at £180 (+ 4 practices × £250 = £1,000).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import planner
from planner.cli.main import main

pytestmark = pytest.mark.solver

TOY_OPTIMUM = 1_383_000.0
# Counts pinned with the reason for each; change only with a comment saying why.
#   x: 9 eligible contracts (gp: practice×federation, pct×{surgery, federation};
#      diabetes: practice×{federation, hospital}, pct×3; hip: pct×hospital)
#   y: 5 eligible service-levels; z: 9 (every level has a transaction cost);
#   w: 3 (surgery exit cost, federation entry cost, hospital min income)
#   2026-12: +9 constraints, one per z: a let contract carries at least one episode
#   (let_activity, correctness round 2); the optimum is unchanged (every let contract had volume).
#   2026-12: +3 constraints, one per w: a used provider lets a contract (provider_contracts,
#   formulations/tightening.py, implied by the rules); the optimum is unchanged.
TOY_COUNTS = {"variables": 26, "binaries": 17, "constraints": 53}


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "planner", *args], capture_output=True,
                          text=True, check=False)


def test_toy_solve_through_cli(tmp_path: Path, toy_dir: Path) -> None:
    out = tmp_path / "plan"
    done = run_cli("solve", str(toy_dir), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert f"plan written to {out}/" in done.stdout
    report = json.loads((out / "plan.json").read_text())
    assert report["status"] == "optimal"
    assert report["objective"] == pytest.approx(TOY_OPTIMUM, rel=1e-9)
    assert report["counts"] == TOY_COUNTS
    for key in ("spend", "activity_spend", "transaction_costs", "setup_costs", "entry_costs",
                "exit_costs", "risk_cost", "qalys", "net_benefit", "budget", "headroom"):
        assert key in report["totals"]
    assert set(report["timings"]) >= {"load", "build", "solve", "report", "total"}
    assert set(report["versions"]) == {"planner", "pyomo", "highs", "python"}
    assert report["instance"]["name"] == "toy" and len(report["instance"]["sha256"]) == 64
    assert report["totals"]["headroom"] == pytest.approx(17_000)
    contracts = pd.read_csv(out / "contracts.csv")
    assert list(contracts.columns[:10]) == ["service", "level", "provider", "year", "volume",
                                            "price", "spend", "quality", "qalys", "new"]
    got = {(r.service, r.level, r.provider): r.volume for r in contracts.itertuples()}
    assert got == {("diabetes_care", "practice", "riverside_federation"): 450,
                   ("gp_consultations", "pct", "high_street_surgery"): 10_000,
                   ("gp_consultations", "pct", "riverside_federation"): 30_000,
                   ("hip_replacement", "pct", "county_hospital"): 20}
    for name, columns in {
        "services": ["service", "commissioned", "level", "demand", "providers", "spend",
                     "avg_quality"],
        "providers": ["provider", "kind", "used", "income", "min_income", "break_even_margin",
                      "utilisation"],
        "levels": ["level", "services", "contracts", "transaction_costs", "spend"],
    }.items():
        frame = pd.read_csv(out / f"{name}.csv")
        assert set(columns) <= set(frame.columns), name


def test_toy_plan_from_library_verifies(toy_dir: Path) -> None:
    instance = planner.load_instance(toy_dir)
    plan = planner.solve(instance)
    assert plan.objective == pytest.approx(TOY_OPTIMUM, rel=1e-9)
    assert plan.totals["spend"] == pytest.approx(TOY_OPTIMUM, rel=1e-9)
    assert planner.verify(instance, plan) == []
    hospital = plan.providers.set_index("provider").loc["county_hospital"]
    assert hospital["break_even_margin"] == pytest.approx(20_000)


def test_same_input_gives_identical_files(tmp_path: Path, toy_dir: Path) -> None:
    for name in ("a", "b"):
        planner.solve(toy_dir).to_dir(tmp_path / name)
    for table in ("contracts", "services", "providers", "levels"):
        assert (tmp_path / "a" / f"{table}.csv").read_bytes() == \
               (tmp_path / "b" / f"{table}.csv").read_bytes()


def test_infeasible_budget_gives_diagnosis_and_exit_3(tmp_path: Path, toy_copy: Path) -> None:
    """Budget £1.3m, cheapest plan £1,383,000: the budget alone is £83,000 short."""
    text = (toy_copy / "instance.yaml").read_text().replace("1400000", "1300000")
    (toy_copy / "instance.yaml").write_text(text)
    out = tmp_path / "plan"
    done = run_cli("solve", str(toy_copy), "--out", str(out))
    assert done.returncode == 3
    assert "The budget of £1.30m is £83,000 short of the cheapest plan" in done.stderr
    diagnosis = json.loads((out / "diagnosis.json").read_text())
    assert diagnosis["status"] == "infeasible"
    budget = [r for r in diagnosis["relaxations"]
              if r["constraint"] == "budget" and r["alone"] and not r.get("presolve")]
    assert budget and budget[0]["amount"] == pytest.approx(83_000, abs=1e-3)
    assert budget[0]["unit"] == "£"
    assert any(not r["alone"] for r in diagnosis["relaxations"])
    assert json.loads((out / "plan.json").read_text())["status"] == "infeasible"


def test_without_budget_restores_the_plan(toy_copy: Path) -> None:
    text = (toy_copy / "instance.yaml").read_text().replace("1400000", "1300000")
    (toy_copy / "instance.yaml").write_text(text)
    plan = planner.solve(toy_copy, without=["budget"])
    assert plan.status == "optimal"
    assert plan.objective == pytest.approx(TOY_OPTIMUM, rel=1e-9)


def test_bad_input_exit_2_without_traceback(tmp_path: Path) -> None:
    done = run_cli("solve", str(Path(__file__).parents[1] / "fixtures" / "broken"),
                   "--out", str(tmp_path / "plan"))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    # 23 since 2026-12: a level_effects row for a category no service has is a warning
    assert "23 problems in the input" in done.stderr
    assert not (tmp_path / "plan").exists()


def test_missing_folder_exit_2(tmp_path: Path) -> None:
    done = run_cli("validate", str(tmp_path / "nowhere"))
    assert done.returncode == 2 and "is not an instance folder" in done.stderr


def test_write_is_atomic(tmp_path: Path, toy_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure while writing leaves the previous plan folder untouched and no debris."""
    plan = planner.solve(toy_dir)
    target = tmp_path / "plan"
    plan.to_dir(target)
    before = sorted(p.name for p in target.iterdir())

    def explode(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("planner.results.plan.write_csv", explode)
    with pytest.raises(OSError):
        plan.to_dir(target)
    assert sorted(p.name for p in target.iterdir()) == before
    assert [p.name for p in tmp_path.iterdir()] == ["plan"]


def test_validate_derive_new_doctor(tmp_path: Path, toy_dir: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["validate", str(toy_dir)])
    assert result.exit_code == 0 and "toy: valid" in result.output
    result = runner.invoke(main, ["derive", str(toy_dir), "--out", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    contracts = pd.read_csv(tmp_path / "d" / "contracts.csv")
    assert len(contracts) == 9
    levels = pd.read_csv(tmp_path / "d" / "service_levels.csv")
    hip_practice = levels[(levels.service == "hip_replacement") & (levels.level == "practice")]
    assert not hip_practice["eligible"].iloc[0]
    assert hip_practice["cv"].iloc[0] == pytest.approx((1 / (0.002 * 2500)) ** 0.5)
    result = runner.invoke(main, ["new", str(tmp_path / "mine")])
    assert result.exit_code == 0
    assert planner.solve(tmp_path / "mine").objective == pytest.approx(TOY_OPTIMUM)
    spaced = tmp_path / "new area" / "x"  # the commands it suggests paste as they are
    result = runner.invoke(main, ["new", str(spaced)])
    assert f"\"planner validate '{spaced}'\" and \"planner solve '{spaced}'\"" in result.output
    result = runner.invoke(main, ["doctor"])
    assert result.exit_code == 0 and "toy solve: optimal" in result.output


def test_every_command_has_help() -> None:
    runner = CliRunner()
    for command in ("validate", "solve", "derive", "new", "doctor"):
        result = runner.invoke(main, [command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output
