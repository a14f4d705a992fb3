"""Benchmark of sweeps: persistent re-solve against rebuild per scenario, and 2 workers against 1.

    python scripts/bench_sweep.py [--instance instances/pct] [--scenarios 20]

All figures are wall seconds measured in this one run, reported as ratios. Two sweeps of
``--scenarios`` scenarios each:

* budgets from the instance's own to +5 %: only the budget Param is re-set between solves;
* prices scaled from 0.95 to 1.03 (all feasible on the PCT): each scenario is derived, its
  structure checked, and the model's price Params re-set (prices, demand and thresholds take
  this path).

The rebuild figure solves the same price scenarios with a new model each (derive, build,
transfer, solve), which is what every scenario would cost without persistent models.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

import planner
from planner.scenarios import apply, load_sweep, scenarios
from planner.session import PlanningModel

ROOT = Path(__file__).resolve().parents[1]


def timed(function, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return time.perf_counter() - start, value


def rebuild_each(instance: planner.Instance, spec: dict) -> list[float | None]:
    """Objectives (£) of every scenario, each solved by a model built for it alone."""
    objectives = []
    for scenario in scenarios(load_sweep(spec)):
        session = PlanningModel(apply(instance, scenario))
        objectives.append(session.plan(session.run()).objective)
    return objectives


def stage_seconds(instance: planner.Instance, spec: dict) -> dict[str, float]:
    """Per-scenario wall seconds of the model work around HiGHS, both ways, summed.

    ``reset``: derive the scenario, check its structure, re-set the Params, send the changes;
    ``rebuild``: derive, build and transfer a new model. ``highs_*``: HiGHS's own time.
    """
    totals = dict.fromkeys(("reset", "highs_reset", "rebuild", "highs_rebuild"), 0.0)
    session = PlanningModel(instance, mutable=True)
    session.run()
    for scenario in scenarios(load_sweep(spec)):
        variant = apply(instance, scenario)
        start = time.perf_counter()
        assert session.update(variant)
        result = session.run()
        totals["reset"] += time.perf_counter() - start - result.solve_s
        totals["highs_reset"] += result.solve_s
        start = time.perf_counter()
        fresh = PlanningModel(variant)
        result = fresh.run()
        totals["rebuild"] += time.perf_counter() - start - result.solve_s
        totals["highs_rebuild"] += result.solve_s
    return totals


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instance", type=Path, default=ROOT / "instances" / "pct")
    parser.add_argument("--scenarios", type=int, default=20)
    args = parser.parse_args()
    instance = planner.load_instance(args.instance)
    n = args.scenarios
    base = instance.config.policy.budget
    base = base[0] if isinstance(base, list) else base
    budget = {"parameters": {"policy.budget": [float(b) for b in np.linspace(base, base * 1.05, n)]}}
    prices = {"parameters": {"offers.price": {"scale": [float(f) for f in np.linspace(0.95, 1.03, n)]}}}
    runs = {}
    for label, spec in (("budget", budget), ("prices", prices)):
        for workers in (1, 2):
            runs[label, workers] = timed(planner.sweep, instance, spec, workers=workers,
                                         progress=False)
    t_rebuild, rebuilt = timed(rebuild_each, instance, prices)
    stages = stage_seconds(instance, prices)
    price_table = runs["prices", 1][1]
    same = np.allclose(price_table["objective"].astype(float), np.asarray(rebuilt, dtype=float),
                       rtol=1e-7, equal_nan=True)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"instance {instance.name}, {n} scenarios per sweep (each sweep also solves the base "
          "instance once, to count contract changes)")
    print("| run | wall s | s per scenario | models built |")
    print("|---|---:|---:|---:|")
    for (label, workers), (seconds, table) in runs.items():
        built = int(table["rebuilt"].astype(bool).sum())
        print(f"| {label} sweep, {workers} worker{'s' if workers > 1 else ''} | {seconds:.2f} | "
              f"{seconds / n:.3f} | {built} |")
    print(f"| prices, a new model per scenario | {t_rebuild:.2f} | {t_rebuild / n:.3f} | {n} |")
    t_prices = runs["prices", 1][0]
    print(f"price scenarios, persistent re-solve vs rebuild (1 worker): "
          f"{t_rebuild / t_prices:.2f}× faster")
    for label in ("budget", "prices"):
        print(f"2 workers vs 1 ({label}): {runs[label, 1][0] / runs[label, 2][0]:.2f}× faster")
    print(f"model work around HiGHS per price scenario: re-set {stages['reset'] / n:.3f} s, "
          f"rebuild {stages['rebuild'] / n:.3f} s ({stages['rebuild'] / stages['reset']:.1f}× "
          f"more); HiGHS itself {stages['highs_reset'] / n:.3f} s (re-set model) and "
          f"{stages['highs_rebuild'] / n:.3f} s (new model)")
    print(f"objectives equal between re-solve and rebuild: {same}")
    for label in ("budget", "prices"):
        one, two = runs[label, 1][1], runs[label, 2][1]
        same = np.allclose(one["objective"].astype(float), two["objective"].astype(float),
                           rtol=1e-9, equal_nan=True)
        print(f"2-worker table equals 1-worker table ({label}): {same}")


if __name__ == "__main__":
    main()
