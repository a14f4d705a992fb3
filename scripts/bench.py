"""Benchmark ladder: how the planner scales, and how close it runs to HiGHS alone.

``python scripts/bench.py [--cases toy,pct,...] [--out docs/bench_results.csv]
[--markdown docs/performance.md] [--work DIR]``

For each case of the ladder (generated toy, PCT, region and England instances, and OR-Library-
style capacitated facility location instances mapped onto the planner's data format) it runs, each
in a fresh subprocess so that peak memory (``ru_maxrss``) belongs to that run alone:

* ``planner``: the planner end to end (load, derive, build, transfer to HiGHS, solve, extract,
  verify), timing every stage, then writes the exact model HiGHS solved (``writeModel``) and the
  MIP start it was given;
* ``highs``: HiGHS alone on that model (read from the MPS file, same options, same start): the
  floor any modelling layer is measured against;
* ``textbook``: the same model in the textbook formulation of ``scripts/textbook.py``
  (dense index, big-M = total demand), to show what the planner's formulation buys; refused (and
  reported) where its estimated memory or size is out of reach.

Results go to a CSV (one row per case and run) and to the tables of ``docs/performance.md``
between the markers ``<!-- bench:begin -->`` and ``<!-- bench:end -->``. Each expensive thing
runs once; no timing is ever asserted (benchmarks are not tests).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

MARK_BEGIN, MARK_END = "<!-- bench:begin -->", "<!-- bench:end -->"


@dataclass(frozen=True)
class Case:
    """One rung of the ladder: how to make its instance and how to solve it."""

    name: str
    kind: str  # generated | shipped | cflp
    scale: str = ""  # generated: the generator's scale
    facilities: int = 0  # cflp
    customers: int = 0  # cflp
    gap: float = 1e-4
    time_limit: float = 300.0
    textbook: bool = True
    textbook_time_limit: float = 120.0


SEED = 2010
CASES = [
    Case("toy", "generated", scale="toy", gap=1e-4, time_limit=60),
    Case("pct", "generated", scale="pct", gap=1e-4, time_limit=120),
    Case("region", "generated", scale="region", gap=0.01, time_limit=300, textbook_time_limit=60),
    Case("england", "shipped", scale="england", gap=0.01, time_limit=300, textbook=False),
    Case("cflp_25x100", "cflp", facilities=25, customers=100, gap=1e-4, time_limit=120),
    Case("cflp_50x200", "cflp", facilities=50, customers=200, gap=1e-4, time_limit=120),
    Case("cflp_100x1000", "cflp", facilities=100, customers=1000, gap=1e-4, time_limit=300,
         textbook_time_limit=120),
]
"""Gaps: 0.01 % where HiGHS proves it in seconds, 1 % at region and England scale (the target's
gap). Time limits keep the whole ladder near 20 minutes; where a run hits its limit the gap it
reached is reported instead."""


# --- instances ------------------------------------------------------------------------------

def instance_dir(case: Case, work: Path) -> Path:
    """Write (or find) the case's instance folder."""
    if case.kind == "shipped":
        return REPO / "instances" / case.scale
    folder = work / "instances" / case.name
    if (folder / "instance.yaml").is_file():
        return folder
    if case.kind == "generated":
        import generate_instance

        gen = generate_instance.generate(case.scale, SEED)
        generate_instance.write(gen, folder, f"python scripts/generate_instance.py --scale "
                                f"{case.scale} --seed {SEED} --out {case.name}")
    else:
        write_cflp(folder, case.facilities, case.customers, SEED)
    return folder


def write_cflp(folder: Path, facilities: int, customers: int, seed: int,
               ratio: float = 5.0) -> None:
    """An OR-Library-style capacitated facility location instance in the planner's format.

    Generated as Cornuéjols, Sridharan and Thizy (1991) generate the OR-Library ``cap*`` and
    Beasley's ``capa/capb/capc`` style instances: facilities and customers uniform in the unit
    square; demand U[5, 35]; capacity U[10, 160] scaled so total capacity is ``ratio`` × total
    demand; fixed cost U[0, 90] + U[100, 110] × √capacity; cost per unit served = 10 × distance.

    Mapping: a facility is a provider with that fixed cost as its entry cost (not an incumbent)
    and that capacity as its total capacity; a customer is a mandatory service with that demand;
    every facility offers every customer at the unit cost as its local price. One commissioning
    level, no transaction costs, no risk, no QALYs, no budget: the planner's model is then exactly
    the strong CFLP formulation (x ≤ d·w, Σx ≤ s·w).
    """
    rng = np.random.default_rng(seed + 1000 * facilities + customers)
    fx, fy = rng.random(facilities), rng.random(facilities)
    cx, cy = rng.random(customers), rng.random(customers)
    demand = rng.uniform(5, 35, customers).round(0)
    capacity = rng.uniform(10, 160, facilities)
    capacity = (capacity * ratio * demand.sum() / capacity.sum()).round(0)
    fixed = (rng.uniform(0, 90, facilities) + rng.uniform(100, 110, facilities)
             * np.sqrt(capacity)).round(2)
    price = np.array([10 * np.hypot(cx - fx[i], cy - fy[i]) for i in range(facilities)])
    write_facility_location(
        folder, f"cflp_{facilities}x{customers}",
        f"OR-Library-style capacitated facility location, {facilities} facilities, {customers} "
        f"customers (Cornuejols et al. 1991 generator, seed {seed})",
        demand, capacity, fixed, price, number=lambda v, digits: f"{v:.{digits}f}")


def write_facility_location(folder: Path, name: str, description: str, demand: np.ndarray,
                            capacity: np.ndarray, fixed: np.ndarray, price: np.ndarray,
                            number=None) -> None:
    """A capacitated facility location instance in the planner's format: facility i a provider
    (entry cost ``fixed[i]``, total capacity ``capacity[i]``), customer j a mandatory service
    (``demand[j]``), every facility offering every customer at ``price[i, j]`` per unit.
    ``number(value, digits)`` writes a number (default: exactly, as the shortest text that reads
    back to the same float)."""
    number = number or (lambda value, digits: repr(float(value)))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "instance.yaml").write_text(
        f"name: {name}\ndescription: {description}\n"
        "currency: GBP\npopulation: 1000000\nbase_year: 2010\nhorizon: 1\n"
        "policy:\n  budget: null\n  value_per_qaly: 0\n  risk_aversion: 0\n", encoding="utf-8")
    (folder / "levels.csv").write_text(
        "level,order,population,transaction_cost,risk_tolerance\narea,1,1000000,0,\n",
        encoding="utf-8")
    lines = ["service,category,setting,demand,cost_cv,tariff,mandatory,qaly_gain"]
    lines += [f"c{j:04d},elective,hospital,{number(demand[j], 0)},0,,true,0"
              for j in range(len(demand))]
    (folder / "services.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    lines = ["provider,kind,min_income,entry_cost,exit_cost,incumbent,total_capacity"]
    lines += [f"f{i:03d},independent,0,{number(fixed[i], 2)},0,false,{number(capacity[i], 0)}"
              for i in range(len(capacity))]
    (folder / "providers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    lines = ["provider,service,capacity,price,quality,capacity_use,setup_cost,incumbent_volume"]
    for i in range(len(capacity)):
        lines += [f"f{i:03d},c{j:04d},,{number(price[i, j], 4)},1,1,0,0"
                  for j in range(len(demand))]
    (folder / "offers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


# --- the three kinds of run (each in its own process) ---------------------------------------

def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_planner(folder: Path, case: Case, work: Path) -> dict:
    """The planner end to end, stage by stage; then the model and start for the HiGHS run."""
    import warnings

    warnings.simplefilter("ignore")
    from formulations.start import START_ATTRIBUTE
    from planner.data.instance import load_instance
    from planner.results.verify import verify
    from planner.solver.highs import SolveOptions, tuned_options
    from planner.solver.session import PlanningModel

    t0 = time.perf_counter()
    instance = load_instance(folder)
    t1 = time.perf_counter()
    session = PlanningModel(instance, options=SolveOptions(gap=case.gap, time_limit=case.time_limit))
    result = session.run()
    t2 = time.perf_counter()
    plan = session.plan(result, check=False)
    t3 = time.perf_counter()
    violations = verify(instance, plan) if result.has_solution else []
    t4 = time.perf_counter()
    out = {"load_s": t1 - t0, "derive_s": session.timings["derive"],
           "build_s": session.timings["build"],
           "start_s": float(session.built.data.start_seconds),
           "transfer_s": result.transfer_s, "solve_s": result.solve_s, "extract_s": t3 - t2,
           "verify_s": t4 - t3, "total_s": t4 - t0, "peak_mb": peak_mb(),
           "status": result.status, "objective": result.objective, "bound": result.bound,
           "gap": result.gap, "violations": len(violations), **session.built.counts()}
    highs = session.adapter.solver._solver_model  # the model exactly as HiGHS received it
    highs.writeModel(str(work / f"{case.name}.mps"))
    col = session.adapter.solver._pyomo_var_to_solver_var_map
    start = getattr(session.model, START_ATTRIBUTE, None) or []
    pairs = sorted((col[id(v)], float(value)) for v, value in start if id(v) in col)
    np.savez(work / f"{case.name}.start.npz", index=np.array([p[0] for p in pairs], np.int32),
             value=np.array([p[1] for p in pairs], float))
    # the options HiGHS was given beyond gap, time limit and seed (tuned per instance class)
    (work / f"{case.name}.options.json").write_text(json.dumps(tuned_options(session.model)))
    return out


def run_highs(case: Case, work: Path) -> dict:
    """HiGHS alone on the planner's model (MPS), with the planner's options and start."""
    import highspy

    h = highspy.Highs()
    for key, value in {"output_flag": False, "random_seed": 0, "mip_rel_gap": case.gap,
                       "time_limit": case.time_limit}.items():
        h.setOptionValue(key, value)
    t0 = time.perf_counter()
    for key, value in json.loads((work / f"{case.name}.options.json").read_text()).items():
        h.setOptionValue(key, value)  # the planner's per-class tuning: same options, fair floor
    h.readModel(str(work / f"{case.name}.mps"))
    t1 = time.perf_counter()
    start = np.load(work / f"{case.name}.start.npz")
    if len(start["index"]):
        h.setSolution(len(start["index"]), start["index"], start["value"])
    h.run()
    t2 = time.perf_counter()
    info = h.getInfo()
    lp = h.getLp()
    status = h.modelStatusToString(h.getModelStatus())
    has = info.primal_solution_status == 2
    return {"read_s": t1 - t0, "solve_s": t2 - t1, "total_s": t2 - t0, "peak_mb": peak_mb(),
            "status": status, "objective": info.objective_function_value if has else None,
            "bound": info.mip_dual_bound, "gap": info.mip_gap if has else None,
            "variables": lp.num_col_, "constraints": lp.num_row_,
            "binaries": int(sum(1 for v in lp.integrality_ if int(v) == 1))}


def run_textbook(folder: Path, case: Case) -> dict:
    """The textbook formulation: build, transfer, solve (time-limited), if it can fit."""
    import warnings

    warnings.simplefilter("ignore")
    import importlib

    from planner.data.instance import load_instance
    from planner.derive.sizing import available_memory, estimate
    from planner.derive.tables import derive
    from planner.solver.highs import HighsAdapter, SolveOptions

    textbook = importlib.import_module("textbook")  # scripts/textbook.py, after planner

    t0 = time.perf_counter()
    derived = derive(load_instance(folder))
    dense = textbook.dense_size(derived)
    size = estimate(derived, contracts=dense)
    limit = min(available_memory() or math.inf, 12e9)  # the benchmark keeps well clear of swap
    t1 = time.perf_counter()
    if size.bytes > limit:
        return {"status": "refused", "note": f"estimated {size.gigabytes:.0f} GB for {dense:,} "
                f"dense contracts (limit {limit / 1e9:.0f} GB)", "dense_contracts": dense}
    built = textbook.build(derived)
    t2 = time.perf_counter()
    options = SolveOptions(gap=case.gap, time_limit=case.textbook_time_limit)
    result = HighsAdapter(options).solve(built.model, var_names=())
    return {"load_s": t1 - t0, "build_s": t2 - t1, "transfer_s": result.transfer_s,
            "solve_s": result.solve_s, "total_s": time.perf_counter() - t0,
            "peak_mb": peak_mb(), "status": result.status, "objective": result.objective,
            "bound": result.bound, "gap": result.gap, "dense_contracts": dense,
            **built.counts()}


def worker(args: argparse.Namespace) -> int:
    case = next(c for c in CASES if c.name == args.case)
    work = Path(args.work)
    folder = Path(args.instance)
    if args.mode == "planner":
        out = run_planner(folder, case, work)
    elif args.mode == "highs":
        out = run_highs(case, work)
    else:
        out = run_textbook(folder, case)
    print("BENCH " + json.dumps(out, default=float))
    return 0


# --- the parent: run every case, then write the CSV and Markdown ----------------------------

def spawn(case: Case, mode: str, folder: Path, work: Path, timeout: float) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", "--case", case.name,
               "--mode", mode, "--instance", str(folder), "--work", str(work)]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              check=False, env={**os.environ, "PYTHONHASHSEED": "0"})
    except subprocess.TimeoutExpired:
        return {"status": "killed", "note": f"no answer within {timeout:.0f} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("BENCH ")]
    if not lines:
        return {"status": "error", "note": (done.stderr.strip().splitlines() or ["?"])[-1][:200]}
    out = json.loads(lines[-1][6:])
    out["wall_s"] = time.perf_counter() - started
    return out


FIELDS = ["case", "run", "status", "variables", "binaries", "constraints", "load_s", "derive_s",
          "build_s", "start_s", "transfer_s", "solve_s", "extract_s", "verify_s", "read_s",
          "total_s", "peak_mb", "objective", "bound", "gap", "violations", "dense_contracts",
          "note"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(c.name for c in CASES))
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "bench_results.csv")
    parser.add_argument("--markdown", type=Path, default=REPO / "docs" / "performance.md")
    parser.add_argument("--work", type=Path, default=Path("/tmp/planner-bench"))
    parser.add_argument("--no-textbook", action="store_true")
    parser.add_argument("--areas", help="areas (issue 17): PCT with these numbers of areas, "
                        "e.g. 1,5,30 (scripts/bench_areas.py)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--instance", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    if args.areas:  # areas (issue 17): build and solve the PCT with 1, 5, 30 areas
        from bench_areas import main as areas_main

        return areas_main([int(k) for k in args.areas.split(",")])
    args.work.mkdir(parents=True, exist_ok=True)
    wanted = args.cases.split(",")
    rows: list[dict] = []
    for case in [c for c in CASES if c.name in wanted]:
        folder = instance_dir(case, args.work)
        runs = ["planner", "highs"] + (["textbook"] if case.textbook and not args.no_textbook
                                       else [])
        for mode in runs:
            limit = (case.textbook_time_limit if mode == "textbook" else case.time_limit) * 2 + 300
            out = spawn(case, mode, folder, args.work, limit)
            row = {"case": case.name, "run": mode, **out}
            rows.append(row)
            print(json.dumps({k: row.get(k) for k in ("case", "run", "status", "total_s",
                                                        "solve_s", "gap", "peak_mb")},
                             default=str), flush=True)
            if mode == "planner" and out.get("status") in ("error", "killed"):
                break  # no model written: nothing for HiGHS alone to read
    rows = merged(previous_rows(args.out), rows)  # a subset run keeps the other cases' rows
    write_csv(args.out, rows)
    if args.markdown.is_file():
        update_markdown(args.markdown, rows)
    return 0


def previous_rows(path: Path) -> list[dict]:
    """Rows of an earlier run's CSV, numbers read back as numbers."""
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(handle)]


def _number(text: str) -> object:
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def merged(old: list[dict], new: list[dict]) -> list[dict]:
    """``new`` rows replace ``old`` rows of the same case; cases in ladder order."""
    fresh = {row["case"] for row in new}
    rows = [row for row in old if row["case"] not in fresh] + new
    order = {case.name: i for i, case in enumerate(CASES)}
    return sorted(rows, key=lambda row: order.get(row["case"], len(order)))


def write_csv(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS, extrasaction="ignore",
                                lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(row.get(k)) for k in FIELDS})


def _cell(value: object) -> object:
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1e6 else f"{value:.10g}"
    return "" if value is None else value


def arm_in_child(script: str, *args: str) -> dict:
    """Run one benchmark arm as ``python script *args`` in a fresh process (from the repository,
    which it imports) and return the JSON its last line of output prints."""
    done = subprocess.run([sys.executable, script, *args], capture_output=True, text=True,
                          check=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> str:
    """nproc, CPU model and memory, as the performance page reports them."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        total = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text()
                     .splitlines() if line.startswith("MemTotal:"))
        memory = f"{total / 1024 / 1024:.0f} GB"
    except (OSError, StopIteration):
        memory = "unknown memory"
    import highspy
    import pyomo

    return (f"{os.cpu_count()} cores ({model}), {memory}; Python {platform.python_version()}, "
            f"Pyomo {pyomo.version.version}, HiGHS {highspy.HIGHS_VERSION_MAJOR}."
            f"{highspy.HIGHS_VERSION_MINOR}.{highspy.HIGHS_VERSION_PATCH}")


def _f(value: object, digits: int = 1) -> str:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, int | float):
        return f"{value:,.{digits}f}"
    return str(value)


def tables(rows: list[dict]) -> str:
    """The Markdown tables of the performance page."""
    by = {(r["case"], r["run"]): r for r in rows}
    cases = list(dict.fromkeys(r["case"] for r in rows))
    out = [f"Machine: {machine()}.", "",
           "| case | variables | binaries | constraints | load | derive | build (start) | "
           "transfer | solve | extract | verify | total s | peak MB | gap | status |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for case in cases:
        p = by.get((case, "planner"), {})
        out.append(
            f"| {case} | {_f(p.get('variables'), 0)} | {_f(p.get('binaries'), 0)} | "
            f"{_f(p.get('constraints'), 0)} | {_f(p.get('load_s'), 2)} | {_f(p.get('derive_s'), 2)}"
            f" | {_f(p.get('build_s'), 2)} ({_f(p.get('start_s'), 2)}) | "
            f"{_f(p.get('transfer_s'), 2)} | {_f(p.get('solve_s'), 2)} | "
            f"{_f(p.get('extract_s'), 2)} | {_f(p.get('verify_s'), 2)} | "
            f"{_f(p.get('total_s'), 1)} | {_f(p.get('peak_mb'), 0)} | {_gap(p.get('gap'))} | "
            f"{p.get('status', '–')} |")
    out += ["", "| case | build+transfer share of planner total | HiGHS alone: solve s (gap) | "
            "planner total / HiGHS alone | textbook: variables, constraints | textbook: "
            "total s (solve) | textbook gap / status | textbook peak MB |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for case in cases:
        p, h, t = (by.get((case, run), {}) for run in ("planner", "highs", "textbook"))
        share = _ratio((p.get("build_s") or 0) + (p.get("transfer_s") or 0), p.get("total_s"))
        floor = h.get("solve_s")
        text = "–" if not t else (t.get("note") or f"{_f(t.get('variables'), 0)}, "
                                  f"{_f(t.get('constraints'), 0)}")
        out.append(
            f"| {case} | {_pct(share)} | {_f(floor, 2)} ({_gap(h.get('gap'))}) | "
            f"{_x(_ratio(p.get('total_s'), floor))} | {text} | "
            f"{_f(t.get('total_s'), 1)} ({_f(t.get('solve_s'), 1)}) | "
            f"{_gap(t.get('gap'))} / {t.get('status', '–')} | {_f(t.get('peak_mb'), 0)} |")
    return "\n".join(out)


def _ratio(a: object, b: object) -> float | None:
    try:
        return float(a) / float(b) if b else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _x(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _gap(value: object) -> str:
    return "–" if value in (None, "") else f"{float(value):.3%}"  # type: ignore[arg-type]


def update_markdown(path: Path, rows: list[dict]) -> None:
    """Replace the generated tables between the markers of the performance page."""
    text = path.read_text(encoding="utf-8")
    if MARK_BEGIN not in text or MARK_END not in text:
        return
    head, rest = text.split(MARK_BEGIN, 1)
    _, tail = rest.split(MARK_END, 1)
    path.write_text(f"{head}{MARK_BEGIN}\n{tables(rows)}\n{MARK_END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
