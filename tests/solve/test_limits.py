"""Solver limits, interruption, determinism and numerics (issue 8, the solver side)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from pytest import approx

import planner

pytestmark = pytest.mark.solver
ROOT = Path(__file__).resolve().parents[2]
PCT = ROOT / "instances" / "pct"


def cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "planner", *args], capture_output=True, text=True,
                          check=False, **kwargs)


def test_stopped_with_an_incumbent_is_feasible_with_its_gap(tmp_path: Path) -> None:
    """HiGHS stopped after its first improving solution (a deterministic stand-in for a time
    limit reached with an incumbent): status feasible, its gap stated, exit 0, plan verified."""
    done = cli("solve", str(PCT), "--out", str(tmp_path / "p"), "--no-marginal",
               "--highs-option", "mip_max_improving_sols=1")
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "p" / "plan.json").read_text())
    assert report["status"] == "feasible"
    assert report["gap"] > 0 and report["bound"] < report["objective"]
    assert "(gap " in done.stdout
    assert report["options"]["highs_options"] == {"mip_max_improving_sols": 1}


def test_time_limit_without_incumbent_exits_4(tmp_path: Path) -> None:
    done = cli("solve", str(PCT), "--out", str(tmp_path / "p"), "--time-limit", "0")
    assert done.returncode == 4
    assert "no feasible plan found" in done.stderr and "Traceback" not in done.stderr
    assert json.loads((tmp_path / "p" / "plan.json").read_text())["status"] == "time_limit"


@pytest.mark.parametrize("command", ["solve", "sweep"])
def test_ctrl_c_leaves_nothing_half_written(tmp_path: Path, command: str) -> None:
    out = tmp_path / "out"
    if command == "solve":
        args = ["solve", str(PCT), "--out", str(out)]
    else:
        spec = tmp_path / "sweep.yaml"
        spec.write_text("parameters:\n  policy.budget: [341000000, 342000000, 343000000, "
                        "344000000, 345000000, 346000000]\n")
        args = ["sweep", str(PCT), str(spec), "--out", str(out), "--workers", "2"]
    # as from a terminal: Ctrl-C's default action, even where this test runs as a background
    # job (which starts with SIGINT ignored, and would pass that on to the child)
    process = subprocess.Popen([sys.executable, "-m", "planner", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(4)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    if command == "solve":
        assert not out.exists()
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]
    else:  # only whole, finished scenario rows (kept for a resume); no results table
        assert not (out / "results.csv").exists()
        for row in (out / "rows").glob("*") if (out / "rows").exists() else []:
            json.loads(row.read_text())


def test_same_output_with_one_and_two_threads(tmp_path: Path) -> None:
    for threads in (1, 2):
        done = cli("solve", str(PCT), "--out", str(tmp_path / f"t{threads}"), "--no-marginal",
                   "--threads", str(threads))
        assert done.returncode == 0, done.stderr
    for name in ("contracts.csv", "services.csv", "providers.csv", "levels.csv", "budget.csv",
                 "changes.csv"):
        assert (tmp_path / "t1" / name).read_bytes() == (tmp_path / "t2" / name).read_bytes(), name
    first = json.loads((tmp_path / "t1" / "plan.json").read_text())
    assert first["instance"]["sha256"] and first["options"]["threads"] == 1


def scaled_instance(budget: float, price: float, demand: float) -> planner.Instance:
    """One service, two providers: A at `price`, B at 1.5 × price with capacity unlimited;
    A's capacity is 60 % of demand. Spend = demand × price × (0.6 + 0.4 × 1.5) = 1.2 × D × p."""
    return planner.Instance.from_frames(
        {"name": "scale", "population": max(demand, 1.0), "policy": {"budget": budget}},
        levels=pd.DataFrame([{"level": "pct", "order": 1, "population": max(demand, 1.0)}]),
        services=pd.DataFrame([{"service": "s", "category": "c", "demand": demand, "mandatory": True}]),
        providers=pd.DataFrame([{"provider": "A", "kind": "nhs_trust"},
                                {"provider": "B", "kind": "independent"}]),
        offers=pd.DataFrame([{"provider": "A", "service": "s", "price": price, "quality": 1,
                              "capacity": 0.6 * demand},
                             {"provider": "B", "service": "s", "price": 1.5 * price, "quality": 1}]))


@pytest.mark.parametrize(("budget", "price", "demand"), [
    (5e9, 0.01, 1e7),       # budget in billions, price in pence, ten million episodes
    (2e10, 900.0, 1e7),      # £10.8bn of activity
    (10.0, 5.0, 1.0),       # a single episode
])
def test_badly_scaled_data_solve_correctly(budget: float, price: float, demand: float) -> None:
    plan = planner.solve(scaled_instance(budget, price, demand))
    assert plan.status == "optimal"
    assert plan.objective == approx(1.2 * demand * price, rel=1e-7)
    assert planner.verify(scaled_instance(budget, price, demand), plan) == []
