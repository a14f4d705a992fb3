"""Does the greedy MIP start help? HiGHS alone on a benchmarked model, with and without it.

    python scripts/bench.py --cases region            # writes the model, its start and options
    python scripts/bench_start.py --cases region [--work /tmp/planner-bench]

For each case it reads the MPS file, the start and the tuned options that ``scripts/bench.py``
wrote, and runs HiGHS twice with the case's gap and time limit: from the greedy start, and from
nothing. It prints wall seconds, the gap reached and the objective (£) of each, measured in the
same run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import highspy
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import CASES  # noqa: E402  (the ladder's gaps and time limits)


def run(work: Path, name: str, gap: float, time_limit: float, start: bool) -> dict:
    h = highspy.Highs()
    options = {"output_flag": False, "random_seed": 0, "mip_rel_gap": gap,
               "time_limit": time_limit}
    options.update(json.loads((work / f"{name}.options.json").read_text()))
    for key, value in options.items():
        h.setOptionValue(key, value)
    h.readModel(str(work / f"{name}.mps"))
    if start:
        values = np.load(work / f"{name}.start.npz")
        h.setSolution(len(values["index"]), values["index"], values["value"])
    began = time.perf_counter()
    h.run()
    info = h.getInfo()
    found = info.primal_solution_status == 2
    return {"s": time.perf_counter() - began, "gap": info.mip_gap if found else None,
            "objective": info.objective_function_value if found else None,
            "status": h.modelStatusToString(h.getModelStatus())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="region")
    parser.add_argument("--work", type=Path, default=Path("/tmp/planner-bench"))
    args = parser.parse_args()
    print("| case | start | wall s | gap | objective £ | status |")
    print("|---|---|---:|---:|---:|---|")
    for case in [c for c in CASES if c.name in args.cases.split(",")]:
        for start in (True, False):
            out = run(args.work, case.name, case.gap, case.time_limit, start)
            gap = "–" if out["gap"] is None else f"{out['gap']:.2%}"
            objective = "–" if out["objective"] is None else f"{out['objective']:,.0f}"
            print(f"| {case.name} | {'greedy' if start else 'none'} | {out['s']:.1f} | {gap} | "
                  f"{objective} | {out['status']} |", flush=True)


if __name__ == "__main__":
    main()
