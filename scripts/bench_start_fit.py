"""Does fitting the greedy start help? HiGHS from the fitted start, the unfitted one, and none.

    python scripts/bench_start_fit.py [--cases pct,region] [--work /tmp/planner-bench]

The greedy plan (``formulations.greedy``) used to be handed to HiGHS as it came, and HiGHS
rejected it where it overspent the budget or left a mandatory service without a level
(``formulations.start``). Each arm runs in a fresh process on the case's model: ``fitted``
(the start as the planner now gives it), ``unfitted`` (``greedy_start(fit=False)``: the plan as
it comes) and ``none`` (no start). It records whether HiGHS can complete the start (the model
with the start's binaries fixed, solved alone), and the status, objective (£), HiGHS's bound (£),
gap and wall seconds of the solve, with the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import Case, arm_in_child, instance_dir, machine  # noqa: E402

CASES = {"pct": Case("pct", "shipped", scale="pct", gap=1e-6, time_limit=60),
         "pct_areas": Case("pct_areas", "shipped", scale="pct_areas", gap=1e-6, time_limit=60),
         "region": Case("region", "generated", scale="region", gap=1e-3, time_limit=60)}
ARMS = ("fitted", "unfitted", "none")


def run_arm(folder: str, gap: float, time_limit: float, arm: str) -> dict:
    """One arm, in this (fresh) process."""
    import time
    import warnings

    warnings.simplefilter("ignore")
    import pyomo.contrib.solver.solvers.highs as pyomo_highs

    from formulations.start import START_ATTRIBUTE, greedy_start
    from planner.data.instance import load_instance
    from planner.solver.highs import SolveOptions
    from planner.solver.session import PlanningModel

    instance = load_instance(folder)
    session = PlanningModel(instance, options=SolveOptions(gap=gap, time_limit=time_limit,
                                                           improve=False))
    model, data = session.model, session.built.data
    start = [] if arm == "none" else greedy_start(model, data, fit=arm == "fitted")
    accepted = None
    if start:  # can HiGHS complete it? the model with the start's binaries fixed, alone
        for var, value in start:
            var.fix(value)
        check = pyomo_highs.Highs()
        check.config.load_solutions = False
        check.config.raise_exception_on_nonoptimal_result = False
        check.config.time_limit = time_limit
        accepted = check.solve(model).incumbent_objective
        for var, _ in start:
            var.unfix()
    setattr(model, START_ATTRIBUTE, start)
    began = time.perf_counter()
    result = session.run()
    return {"start_values": len(start), "start_objective": accepted,
            "status": str(result.status), "objective": result.objective, "bound": result.bound,
            "gap": result.gap, "wall_s": time.perf_counter() - began}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default="pct,region")
    parser.add_argument("--work", type=Path, default=Path("/tmp/planner-bench"))
    parser.add_argument("--time-limit", type=float, help="instead of each case's (s)")
    parser.add_argument("--arms", default=",".join(ARMS))
    parser.add_argument("--arm", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.arm:
        case = CASES[args.case]
        print(json.dumps(run_arm(args.folder, case.gap, args.time_limit or case.time_limit,
                                 args.arm)))
        return
    print(machine())
    print("| case | start | values given | start completed £ | status | objective £ | bound £ "
          "| gap | wall s | load |")
    print("|---|---|---:|---:|---|---:|---:|---:|---:|---:|")
    for name in args.cases.split(","):
        case = CASES[name]
        folder = instance_dir(case, args.work)
        for arm in args.arms.split(","):
            limit = ["--time-limit", str(args.time_limit)] if args.time_limit else []
            r = arm_in_child(__file__, "--arm", arm, "--case", name, "--folder", str(folder),
                             *limit)
            completed = "rejected" if r["start_values"] and r["start_objective"] is None else \
                (f"{r['start_objective']:,.0f}" if r["start_objective"] else "–")
            print(f"| {name} | {arm} | {r['start_values']:,} | {completed} | {r['status']} "
                  f"| {r['objective'] or 0:,.0f} | {r['bound'] or 0:,.0f} | {r['gap'] or 0:.3%} "
                  f"| {r['wall_s']:.1f} | {os.getloadavg()[0]:.2f} |", flush=True)


if __name__ == "__main__":
    main()
