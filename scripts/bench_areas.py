"""Scale of areas (issue 17): build and solve the PCT instance with 1, 5 and 30 areas.

Each case is instances/pct with its Wirral practices cut into K areas of consecutive postcodes
(scripts/make_pct_areas.py: populations from list sizes, need from deprivation), a 0.1 fair-share
band, £5m pooled with the local authority and talking therapies partly covered with an area floor
of 0.4; plus the PCT itself without areas. Build = derive + Pyomo model; solve = HiGHS (one
thread). All cases run in one process, one after the other, so their ratios are comparable; the
machine is shared with other work, so absolute seconds are not.

    PYTHONPATH=. python scripts/bench.py --areas 1,5,30
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))


def measure(folder: Path) -> dict:
    import planner
    from formulations import build
    from planner.derive.tables import derive

    instance = planner.load_instance(folder)
    clock = time.perf_counter()
    built = build(derive(instance))
    build_s = time.perf_counter() - clock
    counts = built.counts()
    clock = time.perf_counter()
    plan = planner.solve(instance, threads=1)
    solve_s = time.perf_counter() - clock  # planner.solve: build again, solve, extract, verify
    return {"case": instance.name, "areas": max(1, len(instance.areas)), **counts,
            "build_s": build_s, "solve_s": solve_s, "objective": plan.objective,
            "status": str(plan.status), "verified": planner.verify(instance, plan) == []}


def run(counts: list[int], work: Path, nhs: Path) -> list[dict]:
    from make_pct_areas import write

    rows = [measure(REPO / "instances" / "pct")]
    for k in counts:
        folder = work / f"pct_{k}_areas"
        write(nhs, folder, k, REPO / "instances" / "pct")
        rows.append(measure(folder))
    return rows


def markdown(rows: list[dict]) -> str:
    base = rows[0]
    lines = ["| case | areas | variables | binaries | rows | build s | solve s | build × | solve × "
             "| objective £ | verified |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['case']} | {r['areas']} | {r['variables']:,} | {r['binaries']:,} | "
                     f"{r['constraints']:,} | {r['build_s']:.2f} | {r['solve_s']:.2f} | "
                     f"{r['build_s'] / base['build_s']:.2f} | {r['solve_s'] / base['solve_s']:.2f} "
                     f"| {r['objective']:,.0f} | {r['verified']} |")
    return "\n".join(lines)


def main(counts: list[int], work: Path = Path("/tmp/planner-bench-areas"),
         nhs: Path = REPO.parent / "shared" / "data" / "nhs") -> int:
    if not nhs.exists():
        nhs = Path("/work/shared/data/nhs")
    rows = run(counts, work, nhs)
    print(markdown(rows))
    return 0
