"""Does the contract-count row (formulations.tightening) help? The same model with and without it.

    python scripts/bench_tightening.py [--cases pct,region] [--time-limit 60] [--work DIR]
    python scripts/bench_tightening.py --cases england --no-lp       # about 12 minutes

The row says what the rules already imply: a chosen service-level lets at least as many
contracts as it takes for their capacities to cover its demand and choice headroom. Each arm
runs in a fresh process on the case's model as ``planner.solve`` builds it (the fitted greedy
start given): ``tightened`` (the row, as the planner now builds it) and ``plain``
(``Derived.tighten`` False, the model before it). It records the rows added, the LP relaxation's
objective (£; the root bound before HiGHS's cuts), and the status, objective (£), HiGHS's bound
(£), gap and wall seconds of the search, with the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import Case, arm_in_child, instance_dir, machine  # noqa: E402

CASES = {"pct": Case("pct", "shipped", scale="pct", gap=1e-6, time_limit=60),
         "pct_5y": Case("pct_5y", "shipped", scale="pct_5y", gap=1e-6, time_limit=60),
         "region": Case("region", "generated", scale="region", gap=1e-3, time_limit=60),
         "england": Case("england", "shipped", scale="england", gap=1e-6, time_limit=300)}
ARMS = ("tightened", "plain")


def run_arm(folder: str, gap: float, time_limit: float, arm: str, with_lp: bool) -> dict:
    """One arm, in this (fresh) process."""
    import time
    import warnings

    warnings.simplefilter("ignore")
    import pyomo.environ as pyo
    from pyomo.contrib.solver.solvers.highs import Highs

    from planner.data.instance import load_instance
    from planner.results.verify import verify
    from planner.solver.highs import SolveOptions
    from planner.solver.session import PlanningModel

    instance = load_instance(folder)
    options = SolveOptions(gap=gap, time_limit=time_limit)
    derived = replace(PlanningModel(instance, options=options).derived,
                      tighten=arm == "tightened")
    session = PlanningModel(instance, options=options, derived=derived)
    rows = len(session.model.contract_count)
    lp_bound = lp_s = None
    if with_lp:  # England's unpresolved LP takes minutes: --no-lp there
        relaxed = PlanningModel(instance, options=options, derived=derived).model
        pyo.TransformationFactory("core.relax_integer_vars").apply_to(relaxed)
        lp = Highs()
        lp.config.load_solutions = False
        lp.config.raise_exception_on_nonoptimal_result = False
        began = time.perf_counter()
        lp_bound = lp.solve(relaxed).incumbent_objective
        lp_s = time.perf_counter() - began
    began = time.perf_counter()
    result = session.run()
    wall = time.perf_counter() - began
    violations = (len(verify(instance, session.plan(result, check=False)))
                  if result.has_solution else None)
    return {"rows": rows, "lp": lp_bound, "lp_s": lp_s, "worker_plan": result.worker_plan,
            "status": str(result.status), "objective": result.objective, "bound": result.bound,
            "gap": result.gap,
            "wall_s": wall, "violations": violations,
            "build_s": session.timings["derive"] + session.timings["build"]}


def money(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="pct,region")
    parser.add_argument("--arms", default=",".join(ARMS))
    parser.add_argument("--time-limit", type=float, default=None,
                        help="seconds for every case (default: the case's own)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/planner-bench"))
    parser.add_argument("--no-lp", action="store_true", help="skip the LP relaxation")
    parser.add_argument("--arm-json", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.arm_json:  # the child process
        folder, gap, limit, arm, with_lp = args.arm_json
        print(json.dumps(run_arm(folder, float(gap), float(limit), arm, with_lp == "1")))
        return
    lines = [f"Machine: {machine()}; load average at the start {os.getloadavg()[0]:.1f}. "
             "One run per arm, each in a fresh process.", "",
             "| case | arm | rows added | LP relaxation £ | time limit s | status | objective £ | "
             "bound £ | gap | solve wall s | plan from | verified |",
             "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---|---|"]
    for name in args.cases.split(","):
        case = CASES[name]
        limit = args.time_limit or case.time_limit
        folder = str(instance_dir(case, args.work))
        for arm in args.arms.split(","):
            out = arm_in_child(__file__, "--arm-json", folder, str(case.gap), str(limit), arm,
                               "0" if args.no_lp else "1")
            gap = "–" if out["gap"] is None else f"{out['gap']:.3%}"
            lines.append(
                f"| {name} | {arm} | {out['rows']:,} | {money(out['lp'])} | {limit:.0f} | "
                f"{out['status']} | {money(out['objective'])} | {money(out['bound'])} | {gap} | "
                f"{out['wall_s']:.1f} | "
                f"{'fix-and-optimise' if out.get('worker_plan') else 'HiGHS'} | "
                f"{'yes' if out['violations'] == 0 else out['violations']} |")
            print(lines[-1], flush=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
