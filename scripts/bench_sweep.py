"""Benchmark of sweeps: persistent re-solve against rebuild per scenario, and 2 workers against 1.

    python scripts/bench_sweep.py [--instance instances/pct] [--scenarios 20]

All figures are wall seconds measured in this one run, reported as ratios. The sweep varies the
budget (mutable: re-solved on one persistent model) and, for the rebuild figure, the same budgets
with a structural no-op change that forces a rebuild of every scenario.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

import planner

ROOT = Path(__file__).resolve().parents[1]


def budgets(instance: planner.Instance, count: int) -> list[float]:
    """``count`` budgets from the instance's own to +5 % (all feasible)."""
    base = instance.config.policy.budget
    base = base[0] if isinstance(base, list) else base
    return [float(b) for b in np.linspace(base, base * 1.05, count)]


def timed(function, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return time.perf_counter() - start, value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instance", type=Path, default=ROOT / "instances" / "pct")
    parser.add_argument("--scenarios", type=int, default=20)
    args = parser.parse_args()
    instance = planner.load_instance(args.instance)
    values = budgets(instance, args.scenarios)
    mutable = {"parameters": {"policy.budget": values}}
    # Same budgets, each with a different (harmless) structural change: every scenario rebuilds.
    rebuild = {"scenarios": {f"r{i:02d}": {"policy.budget": b, "services.cost_cv": {
        "scale": 1.0 + 1e-9 * (i + 1), "where": {"service": instance.services["service"].iloc[0]}}}
        for i, b in enumerate(values)}}
    t_mutable, one = timed(planner.sweep, instance, mutable, workers=1, progress=False)
    t_rebuild, rebuilt = timed(planner.sweep, instance, rebuild, workers=1, progress=False)
    t_two, two = timed(planner.sweep, instance, mutable, workers=2, progress=False)
    t_two_rebuild, _ = timed(planner.sweep, instance, rebuild, workers=2, progress=False)
    same = np.allclose(one["objective"].astype(float), rebuilt["objective"].astype(float), rtol=1e-7)
    n = args.scenarios
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"instance {instance.name}, {n} budget scenarios (base sweep solve included in each)")
    print("| run | wall s | s per scenario |")
    print("|---|---:|---:|")
    for label, seconds in (("1 worker, persistent re-solve", t_mutable),
                           ("1 worker, rebuild every scenario", t_rebuild),
                           ("2 workers, persistent re-solve", t_two),
                           ("2 workers, rebuild every scenario", t_two_rebuild)):
        print(f"| {label} | {seconds:.2f} | {seconds / n:.3f} |")
    print(f"re-solve vs rebuild (1 worker): {t_rebuild / t_mutable:.2f}× faster")
    print(f"2 workers vs 1 (re-solve): {t_mutable / t_two:.2f}× faster; "
          f"(rebuild): {t_rebuild / t_two_rebuild:.2f}× faster")
    print(f"objectives equal between re-solve and rebuild: {same}; "
          f"rows re-solved without rebuilding: {int((~one['rebuilt'].astype(bool)).sum())}")
    print(f"2-worker table equals 1-worker table: "
          f"{np.allclose(one['objective'].astype(float), two['objective'].astype(float), rtol=1e-9)}")


if __name__ == "__main__":
    main()
