"""Issue 19 item 2: OR-Library capa/capb/capc, the planner against HiGHS alone, side by side.

    python scripts/bench_cflp.py                      # capb at capacity 5,000; ~20 minutes
    python scripts/bench_cflp.py --cases capa,capb,capc --time-limit 900

Arms, each in a fresh process, two at a time (one per core, so both run under the same load):

* ``textbook``: HiGHS alone on the textbook strong formulation, built here with highspy from the
  OR-Library file: min Σ f_i y_i + Σ c_ij x_ij, Σ_i x_ij = 1, Σ_j d_j x_ij ≤ s_i y_i,
  x_ij ≤ y_i, y binary (x is the fraction of customer j's demand served by warehouse i);
* ``aggregate``: the same with the aggregate capacity row Σ_i s_i y_i ≥ Σ_j d_j (implied by the
  LP, but a knapsack row HiGHS can separate covers from);
* ``planner``: ``planner.solve`` on the file written in the planner's format (a warehouse is a
  provider with its fixed cost as entry cost and its capacity as total capacity; a customer is
  a mandatory service; the unit price of an offer is c_ij / d_j), end to end.

Every arm runs with the planner's default gap (1e-6) and the same time limit; the published
optima (OR-Library capopt, scripts/orlib/README.md) are the reference.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
CAPACITY = {"capa": 8000.0, "capb": 5000.0, "capc": 5000.0}
OPTIMUM = {"capa": 19_240_822.449, "capb": 13_656_379.578, "capc": 11_646_596.974}


def read_orlib(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Capacities, fixed costs, demands and the m × n cost of serving all of j from i."""
    with gzip.open(HERE / "orlib" / f"{name}.txt.gz", "rt") as file:
        tokens = file.read().split()
    m, n, k = int(tokens[0]), int(tokens[1]), 2
    capacity, fixed = np.zeros(m), np.zeros(m)
    for i in range(m):
        word = tokens[k]
        capacity[i] = CAPACITY[name] if word.lower() == "capacity" else float(word)
        fixed[i] = float(tokens[k + 1])
        k += 2
    demand, cost = np.zeros(n), np.zeros((m, n))
    for j in range(n):
        demand[j] = float(tokens[k])
        cost[:, j] = [float(v) for v in tokens[k + 1:k + 1 + m]]
        k += 1 + m
    return capacity, fixed, demand, cost


def textbook(name: str, gap: float, limit: float, aggregate: bool) -> dict:
    import highspy

    capacity, fixed, demand, cost = read_orlib(name)
    m, n = len(capacity), len(demand)
    h = highspy.Highs()
    for key, value in {"output_flag": False, "random_seed": 0, "mip_rel_gap": gap,
                       "time_limit": limit}.items():
        h.setOptionValue(key, value)
    began = time.perf_counter()
    ncol = m + m * n
    h.addVars(ncol, np.zeros(ncol), np.ones(ncol))
    h.changeColsCost(ncol, np.arange(ncol, dtype=np.int32), np.concatenate([fixed, cost.ravel()]))
    h.changeColsIntegrality(m, np.arange(m, dtype=np.int32),
                            np.array([highspy.HighsVarType.kInteger] * m))
    x = (m + np.arange(m * n)).reshape(m, n)
    starts, index, value, lower, upper = [], [], [], [], []

    def row(cols, coefs, low, up):
        starts.append(len(index))
        index.extend(int(c) for c in cols)
        value.extend(float(v) for v in coefs)
        lower.append(low)
        upper.append(up)

    inf = highspy.kHighsInf
    for j in range(n):
        row(x[:, j], np.ones(m), 1.0, 1.0)
    for i in range(m):
        row([*x[i], i], [*demand, -capacity[i]], -inf, 0.0)
        for j in range(n):
            row([x[i, j], i], [1.0, -1.0], -inf, 0.0)
    if aggregate:
        row(range(m), capacity, float(demand.sum()), inf)
    h.addRows(len(lower), np.array(lower), np.array(upper), len(index),
              np.array(starts, dtype=np.int32), np.array(index, dtype=np.int32),
              np.array(value))
    h.run()
    info = h.getInfo()
    return {"wall_s": time.perf_counter() - began, "objective": info.objective_function_value,
            "bound": info.mip_dual_bound, "status": h.modelStatusToString(h.getModelStatus())}


def write_planner_instance(name: str, folder: Path) -> Path:
    """The OR-Library file in the planner's format (numbers exactly as read)."""
    from bench import write_facility_location

    capacity, fixed, demand, cost = read_orlib(name)
    write_facility_location(folder, f"orlib_{name}",
                            f"OR-Library {name}, capacity {CAPACITY[name]:g}",
                            demand, capacity, fixed, cost / demand[np.newaxis, :])
    return folder


def planner_arm(name: str, gap: float, limit: float, work: Path) -> dict:
    import warnings

    warnings.simplefilter("ignore")
    sys.path.insert(0, str(REPO))
    import planner

    folder = write_planner_instance(name, work / f"orlib_{name}")
    began = time.perf_counter()
    plan = planner.solve(folder, time_limit=limit, gap=gap)
    return {"wall_s": time.perf_counter() - began, "objective": plan.objective,
            "bound": plan.bound, "status": str(plan.status)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="capb")
    parser.add_argument("--arms", default="textbook,planner")
    parser.add_argument("--time-limit", type=float, default=900.0)
    parser.add_argument("--gap", type=float, default=1e-6)
    parser.add_argument("--work", type=Path, default=Path("/tmp/planner-bench"))
    parser.add_argument("--arm", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.arm:
        name, arm = args.arm
        out = (planner_arm(name, args.gap, args.time_limit, args.work) if arm == "planner"
               else textbook(name, args.gap, args.time_limit, aggregate=arm == "aggregate"))
        print(json.dumps(out))
        return
    print("| case | arm | status | objective | published optimum | bound | wall s |")
    print("|---|---|---|---:|---:|---:|---:|")
    for name in args.cases.split(","):
        arms = args.arms.split(",")
        running = []
        for i in range(0, len(arms), 2):
            running = [(arm, subprocess.Popen(
                [sys.executable, __file__, "--arm", name, arm, "--time-limit",
                 str(args.time_limit), "--gap", str(args.gap), "--work", str(args.work)],
                stdout=subprocess.PIPE, text=True)) for arm in arms[i:i + 2]]
            for arm, process in running:
                out = json.loads(process.communicate()[0].strip().splitlines()[-1])
                print(f"| {name} | {arm} | {out['status']} | {out['objective']:,.3f} | "
                      f"{OPTIMUM[name]:,.3f} | {out['bound']:,.3f} | {out['wall_s']:.1f} |",
                      flush=True)


if __name__ == "__main__":
    main()
