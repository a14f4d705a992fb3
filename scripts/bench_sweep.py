"""Benchmark of sweeps: warm (neighbours' plans) against cold sweeps and separate solves.

    python scripts/bench_sweep.py [--instance instances/pct] [--scenarios 8] [--kinds budget,price,demand]

For each sweep kind, with ``--scenarios`` scenarios each,

* ``budget``: the instance's budget −5 % … +5 % (on the PCT the lowest three are infeasible,
  and each infeasible scenario is diagnosed, in every arm);
* ``budget_up``: the instance's budget … +5 % (all feasible on the PCT);
* ``price``: every offer's price × 0.97 … 1.03;
* ``demand``: every service's demand × 0.97 … 1.03 (some scenarios change the structure);

five arms are run, in an order rotated from one kind to the next so that no arm always runs
first on a machine others share: ``separate`` (one ``planner.solve`` per scenario: derive,
build, transfer, solve, verify, and a diagnosis if infeasible), and ``planner.sweep`` cold
(``warm=False``: persistent models, greedy starts) and warm, each with 1 and 2 workers. Every
arm must give the same statuses, the same messages for infeasible scenarios (the first
relaxation of the diagnosis) and the same objectives to twice the MIP gap (each is within
the gap of the optimum); the script says so per kind. All figures are wall seconds of this one
run; the load average is printed before and after, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

import planner
from planner.solver.highs import SolveOptions, highs_version
from planner.sweeps.scenarios import apply, load_sweep, scenarios

ROOT = Path(__file__).resolve().parents[1]
ARMS = ("separate", "cold 1", "warm 1", "cold 2", "warm 2")


def specs(instance: planner.Instance, n: int) -> dict[str, dict]:
    base = instance.config.policy.budget
    base = base[0] if isinstance(base, list) else base
    factors = [float(f) for f in np.linspace(0.97, 1.03, n)]
    return {
        "budget": {"parameters": {"policy.budget": [float(b) for b in
                                                    np.linspace(base * 0.95, base * 1.05, n)]}},
        "budget_up": {"parameters": {"policy.budget": [float(b) for b in
                                                       np.linspace(base, base * 1.05, n)]}},
        "price": {"parameters": {"offers.price": {"scale": factors}}},
        "demand": {"parameters": {"services.demand": {"scale": factors}}},
    }


def separate(instance: planner.Instance, spec: dict) -> list[tuple[str, float | None, str]]:
    """(status, objective, message) of every scenario, each a planner.solve of its own (the
    message: the first relaxation of its whole diagnosis, as ``planner solve`` prints first)."""
    out = []
    for scenario in scenarios(load_sweep(spec)):
        plan = planner.solve(apply(instance, scenario))
        relaxations = (plan.diagnosis or {}).get("relaxations") or [{"message": ""}]
        out.append((plan.status, plan.objective, relaxations[0]["message"]))
    return out


def run_arm(arm: str, instance: planner.Instance, spec: dict) -> tuple[float, list]:
    start = time.perf_counter()
    if arm == "separate":
        rows = separate(instance, spec)
    else:
        mode, workers = arm.split()
        table = planner.sweep(instance, spec, workers=int(workers), progress=False,
                              warm=mode == "warm")
        rows = [(s, None if o != o else float(o), m) for s, o, m in zip(
            table["status"], table["objective"], table["message"])]
    return time.perf_counter() - start, rows


def same(a: list, b: list, gap: float) -> bool:
    """Same statuses and messages (an infeasible scenario's diagnosis); objectives within twice
    the relative MIP gap."""
    if [(s, m) for s, _, m in a] != [(s, m) for s, _, m in b]:
        return False
    return all((x is None) == (y is None) and (x is None or abs(x - y) <= 2 * gap * max(
        abs(x), abs(y), 1.0)) for (_, x, _), (_, y, _) in zip(a, b))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instance", type=Path, default=ROOT / "instances" / "pct")
    parser.add_argument("--scenarios", type=int, default=8)
    parser.add_argument("--kinds", default="budget,budget_up,price,demand")
    args = parser.parse_args()
    instance = planner.load_instance(args.instance)
    options = SolveOptions()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, HiGHS {highs_version()}; options: "
          f"mip_rel_gap {options.gap}, random_seed {options.seed}, threads HiGHS's default, "
          "presolve on, no time limit")
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print(f"instance {instance.name}, {args.scenarios} scenarios per sweep (a sweep also solves "
          "the base instance once, to count contract changes)")
    print("| sweep | separate s | cold 1 s | warm 1 s | cold 2 s | warm 2 s | separate / warm 1 "
          "| separate / warm 2 | cold 1 / warm 1 | identical |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for k, (kind, spec) in enumerate((k, s) for k, s in specs(instance, args.scenarios).items()
                                     if k in args.kinds.split(",")):
        seconds, rows = {}, {}
        for arm in ARMS[k % len(ARMS):] + ARMS[:k % len(ARMS)]:  # rotated: interleaved arms
            seconds[arm], rows[arm] = run_arm(arm, instance, spec)
        identical = all(same(rows["separate"], rows[arm], options.gap) for arm in ARMS)
        statuses = ", ".join(f"{s}×{[r for r, _, _ in rows['separate']].count(s)}"
                             for s in dict.fromkeys(r for r, _, _ in rows["separate"]))
        t = seconds
        print(f"| {kind} ({statuses}) | " + " | ".join(f"{t[a]:.1f}" for a in ARMS)
              + f" | {t['separate'] / t['warm 1']:.2f}× | {t['separate'] / t['warm 2']:.2f}× | "
              f"{t['cold 1'] / t['warm 1']:.2f}× | {identical} |", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
