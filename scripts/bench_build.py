"""Issue 19 item 5: what the planner costs before HiGHS starts, at England scale.

    python scripts/bench_build.py [--instances instances/england,instances/pct] [--repeats 2]

For each instance, in this process: load and validate, derive (with the pre-checks), build the
Pyomo model (the greedy MIP start included, and shown apart), and transfer it to HiGHS (a
solve with a 1 ms time limit: the transfer is timed by Pyomo's own timer, apart from HiGHS's
run). Wall seconds; the best of ``--repeats`` runs of derive, build and transfer (the first run
also pays for imports and caches). The load average is printed, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import planner
from planner.solver.highs import SolveOptions, highs_version
from planner.solver.session import PlanningModel

ROOT = Path(__file__).resolve().parents[1]


def measure(path: Path) -> dict[str, float]:
    start = time.perf_counter()
    instance = planner.load_instance(path)
    loaded = time.perf_counter() - start
    session = PlanningModel(instance, options=SolveOptions(time_limit=1e-3, improve=False))
    result = session.run()
    return {"load": loaded, "derive": session.timings["derive"],
            "build": session.timings["build"], "start": session.built.data.start_seconds,
            "transfer": result.transfer_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", default="instances/england")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, HiGHS {highs_version()}; "
          f"load average before: {os.getloadavg()[0]:.1f}")
    print("| instance | load s | derive s | build s (greedy start) | transfer s | derive + build + "
          "transfer s |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in args.instances.split(","):
        runs = [measure(ROOT / name) for _ in range(args.repeats)]
        best = {key: min(run[key] for run in runs) for key in runs[0]}
        total = best["derive"] + best["build"] + best["transfer"]
        print(f"| {Path(name).name} | {best['load']:.2f} | {best['derive']:.2f} | "
              f"{best['build']:.2f} ({best['start']:.2f}) | {best['transfer']:.2f} | "
              f"{total:.2f} |", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
