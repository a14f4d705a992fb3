"""Issue 19's search ladder: HiGHS alone against the planner's search ideas, one run each.

    python scripts/bench_search.py                 # England 300 s and region, ~25 minutes
    python scripts/bench_search.py --quick         # region 60 s and the PCT, under 5 minutes
    python scripts/bench_search.py --write         # also replace the table in docs/performance.md

Each arm runs in a fresh process (``planner.solver.session.PlanningModel`` as ``planner.solve``
builds it, the greedy start included) with the case's time limit and gap, and records the
status, the objective (£), HiGHS's bound (£), the gap, the solve's wall seconds, whether the
plan came from fix-and-optimise, the HiGHS options, the machine and its load average.

Arms: ``highs`` (HiGHS alone from the greedy start: ``SolveOptions(improve=False)``) and
``improve`` (fix-and-optimise on the second core: ``improve=True``, :mod:`planner.solver.improve`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import REPO, Case, arm_in_child, instance_dir, machine  # noqa: E402

FULL = [Case("england", "shipped", scale="england", gap=1e-6, time_limit=300),
        Case("region", "generated", scale="region", gap=1e-3, time_limit=60)]
QUICK = [Case("region", "generated", scale="region", gap=1e-3, time_limit=60),
         Case("pct", "shipped", scale="pct", gap=1e-6, time_limit=60)]
ARMS = {"highs": False, "improve": True}
BEGIN, END = "<!-- search:begin -->", "<!-- search:end -->"


def run_arm(folder: str, gap: float, time_limit: float, improve: bool) -> dict:
    """One arm, in this (fresh) process."""
    import time
    import warnings

    warnings.simplefilter("ignore")
    from planner.data.instance import load_instance
    from planner.results.verify import verify
    from planner.solver.highs import SolveOptions, tuned_options
    from planner.solver.session import PlanningModel

    instance = load_instance(folder)
    session = PlanningModel(instance, options=SolveOptions(gap=gap, time_limit=time_limit,
                                                           improve=improve))
    began = time.perf_counter()
    result = session.run()
    wall = time.perf_counter() - began
    violations = (len(verify(instance, session.plan(result, check=False)))
                  if result.has_solution else None)
    return {"status": str(result.status), "objective": result.objective, "bound": result.bound,
            "gap": result.gap, "wall_s": wall, "worker_plan": result.worker_plan,
            "violations": violations, "highs_options": tuned_options(session.model),
            "binaries": session.built.counts().get("binaries"),
            "build_s": session.timings["derive"] + session.timings["build"],
            "transfer_s": result.transfer_s}


def money(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cases", default=None, help="comma-separated case names")
    parser.add_argument("--arms", default=",".join(ARMS))
    parser.add_argument("--work", type=Path, default=Path("/tmp/planner-bench"))
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--arm-json", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.arm_json:  # the child process
        folder, gap, limit, improve = args.arm_json
        print(json.dumps(run_arm(folder, float(gap), float(limit), improve == "1")))
        return
    cases = QUICK if args.quick else FULL
    if args.cases:
        cases = [c for c in FULL + QUICK if c.name in args.cases.split(",")]
    lines = [f"Machine: {machine()}; load average at the start "
             f"{os.getloadavg()[0]:.1f}. One run per arm, each in a fresh process.", "",
             "| case | binaries | arm | time limit s | gap asked | status | objective £ | "
             "bound £ | gap | derive + build s | transfer s | solve wall s | plan from | verified | "
             "HiGHS options |",
             "|---|---:|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---|---|"]
    for case in cases:
        folder = str(instance_dir(case, args.work))
        for arm in args.arms.split(","):
            out = arm_in_child(__file__, "--arm-json", folder, str(case.gap),
                               str(case.time_limit), "1" if ARMS[arm] else "0")
            gap = "–" if out["gap"] is None else f"{out['gap']:.3%}"
            lines.append(
                f"| {case.name} | {out['binaries']:,} | {arm} | {case.time_limit:.0f} | "
                f"{case.gap:g} | {out['status']} | {money(out['objective'])} | "
                f"{money(out['bound'])} | {gap} | {out['build_s']:.1f} | {out['transfer_s']:.1f} | "
                f"{out['wall_s'] - out['transfer_s']:.1f} | "
                f"{'fix-and-optimise' if out['worker_plan'] else 'HiGHS'} | "
                f"{'yes' if out['violations'] == 0 else out['violations']} | "
                f"{json.dumps(out['highs_options']) if out['highs_options'] else 'defaults'} |")
            print(lines[-1], flush=True)
    text = "\n".join(lines)
    print(text)
    if args.write:
        page = REPO / "docs" / "performance.md"
        current = page.read_text(encoding="utf-8")
        head, _, rest = current.partition(BEGIN)
        _, _, tail = rest.partition(END)
        page.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    main()
