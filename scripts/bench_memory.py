"""Peak memory per offers row of `planner validate` and `planner solve`, at a few sizes.

``python scripts/bench_memory.py [--rows 10000 50000 100000] [--solve] [--out DIR]``

Why: a 1,000,000-row offers.csv peaked at 11.4 GB before an internal error; the size refusal
(:mod:`planner.derive.sizing`) has to be fitted to what the whole pipeline takes (reading the CSV text,
the typed tables, the checks, derive, the model), so this measures it. Each run is a fresh
``python -m planner`` process whose peak resident memory is read from ``os.wait4``'s rusage;
the instance is synthetic (``rows`` offers from ``rows / 20`` providers for 20 services, two
levels), written by :func:`write_instance`. Prints one CSV line per run: command, rows, peak
MB, bytes per row above the 20-row baseline.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVICES = 20


def write_instance(folder: Path, rows: int) -> Path:
    """A valid instance with ``rows`` offers (every provider offers every service)."""
    folder.mkdir(parents=True, exist_ok=True)
    providers = max(1, rows // SERVICES)
    (folder / "instance.yaml").write_text(
        "name: bench\npopulation: 1000000\nhorizon: 1\npolicy:\n  budget: null\n",
        encoding="utf-8")
    (folder / "levels.csv").write_text(
        "level,order,population,transaction_cost,risk_tolerance\n"
        "practice,1,10000,100,\nregion,2,1000000,1000,\n", encoding="utf-8")
    (folder / "services.csv").write_text(
        "service,category,setting,demand,cost_cv,tariff,mandatory,qaly_gain,allowed_levels\n"
        + "".join(f"s{i},c{i % 3},community,{1000 + i},0,,true,0,\n" for i in range(SERVICES)),
        encoding="utf-8")
    (folder / "providers.csv").write_text(
        "provider,kind,min_income,entry_cost,exit_cost,incumbent,conflicted_levels\n"
        + "".join(f"p{j},nhs_trust,0,0,0,false,\n" for j in range(providers)), encoding="utf-8")
    with (folder / "offers.csv").open("w", encoding="utf-8") as out:
        out.write("provider,service,capacity,price,quality,setup_cost,incumbent_volume\n")
        for n in range(rows):
            j, i = divmod(n, SERVICES)
            out.write(f"p{j % providers},s{i},{500 + n % 700},{20 + n % 37},0.{5 + n % 4},0,0\n")
    return folder


def peak_mb(args: list[str], timeout: float = 1800) -> tuple[int, float]:
    """Exit code and peak resident memory (MB) of ``python -m planner ARGS``."""
    process = subprocess.Popen([sys.executable, "-m", "planner", *args], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_maxrss / 1024.0  # KB on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    parser.add_argument("--solve", action="store_true", help="also measure solve --no-marginal")
    parser.add_argument("--out", type=Path, default=None, help="keep instances here")
    options = parser.parse_args(argv)
    scratch = options.out or Path(tempfile.mkdtemp(prefix="bench-memory-"))
    commands = ["validate"] + (["solve"] if options.solve else [])
    base = {}
    print("command,rows,exit,peak_mb,bytes_per_row")
    for rows in [SERVICES, *options.rows]:
        folder = write_instance(scratch / f"rows{rows}", rows)
        for command in commands:
            extra = ["--out", str(scratch / f"plan{rows}"), "--no-marginal",
                     "--time-limit", "600"] if command == "solve" else []
            code, peak = peak_mb([command, str(folder), *extra])
            base.setdefault(command, peak)
            per_row = (peak - base[command]) * 1024 * 1024 / rows if rows > SERVICES else 0.0
            print(f"{command},{rows},{code},{peak:.0f},{per_row:,.0f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
