"""``planner risk PLAN_DIR`` and ``planner stress INSTANCE``: risk a board can see (issue 18).

``risk`` simulates a solved plan's spend (:mod:`planner.analysis.risk`) and writes risk.json and risk.csv
into the plan folder (or ``--out``), then regenerates the folder's reports so report.html shows
the spend distribution. ``stress`` re-plans without failed providers (:mod:`planner.sweeps.stress`) and
writes stress.json and stress.csv into ``--out``, or into the plan folder given with ``--plan``
(whose reports then show them). Files are made in full before any is written, each written to a
temporary name and renamed, and only into a folder the planner wrote (planner/outdir.py).
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import click

from planner.cli.support import check_out_dir, guarded, prepare_out_dir
from planner.errors import EXIT_INFEASIBLE, InputError, Problem


def _plan_files(plan_dir: str, instance_path: str | None) -> Any:
    """The plan folder's files with its instance (exit 2 when either is missing)."""
    from planner.data.instance import load_instance
    from planner.results.folder import PlanFiles

    instance = load_instance(instance_path) if instance_path else None
    files = PlanFiles.read(plan_dir, instance=instance)
    if not files.has_plan or files.relaxed:
        raise InputError(Problem("plan", f"'{plan_dir}' holds no plan ({files.status}).",
                                 "Give a folder written by 'planner solve' with a solution."))
    if files.instance is None:
        raise InputError(Problem("plan", f"'{plan_dir}': {files.instance_note}",
                                 "Give the instance with --instance PATH."))
    return files


def _plan_view(files: Any) -> SimpleNamespace:
    """What planner.risk and planner.stress read of a plan, from its folder."""
    plan = files.plan
    return SimpleNamespace(contracts=files.table("contracts"), providers=files.table("providers"),
                           services=files.table("services"), totals=plan.get("totals") or {},
                           totals_by_year=plan.get("totals_by_year") or {}, has_solution=True,
                           status=files.status)


def _csv_bytes(frame: Any) -> bytes:
    from planner.csvsafe import write_csv
    from planner.results.plan import to_the_penny

    buffer = io.StringIO()
    write_csv(to_the_penny(frame), buffer)
    return buffer.getvalue().encode("utf-8")


def _json_bytes(data: dict[str, Any]) -> bytes:
    from planner.results.plan import jsonable

    return (json.dumps(jsonable(data), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _write(target: Path, contents: dict[str, bytes], plan_folder: bool, instance: Any) -> list[Path]:
    """Write the made files and (into a plan folder) its reports again, every one made before
    any is written: an interrupt while the reports are made leaves the folder as it was."""
    from planner.reports.writer import report_contents, write_atomic
    from planner.results.folder import EXTRA_FILES, PlanFiles
    from planner.results.outdir import record_written

    if plan_folder:  # the reports as they will read the folder with the new files in it
        files = PlanFiles.read(target, instance=instance)
        files.extras.update({key: json.loads(contents[name]) for key, name in EXTRA_FILES.items()
                             if name in contents})
        contents = {**contents, **report_contents(files)}
    record_written(target, contents)  # into a plan folder: the names are the planner's from now
    return [write_atomic(target / name, data) for name, data in contents.items()]


def _units_line(row: Any) -> str:
    """A level's chance of a windfall loss in words: the share of its units within their share
    of the budget, or, for an area smaller than one unit (a region), that one unit's chance."""
    if row.units < 1:
        return (f"this area is {row.units:.1%} of one unit, whose chance of staying within its "
                f"share of the budget is {row.p_unit_within:.1%}")
    if abs(row.units - 1) < 1e-9:
        return (f"its one unit (this area) stays within its share of the budget with probability "
                f"{row.p_unit_within:.1%}")
    count = f"{row.units:,.0f}" if abs(row.units - round(row.units)) < 1e-9 else f"{row.units:,.1f}"
    return f"{row.p_unit_within:.1%} of its {count} units stay within their share of the budget"


@click.command(name="risk")
@click.argument("plan_dir", type=click.Path())
@click.option("--draws", type=click.IntRange(min=100), default=10_000, show_default=True,
              help="Simulated years.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Random seed: the same seed gives the same figures.")
@click.option("--instance", "instance_path", type=click.Path(), default=None,
              help="The instance the plan was solved from, if plan.json's instance.source is not "
                   "where it was.")
@click.option("--out", type=click.Path(), default=None,
              help="Folder for risk.json and risk.csv (missing, empty or the planner's). "
                   "Default: PLAN_DIR itself, whose reports are then regenerated.")
@click.option("--force", is_flag=True, help="Write into --out even if it is not the planner's.")
@guarded
def risk(plan_dir: str, draws: int, seed: int, instance_path: str | None, out: str | None,
         force: bool) -> None:
    """Simulate the plan's spend: the chance it breaks even, spend quantiles, and each level's
    chance of a windfall loss (risk.json, risk.csv)."""
    from planner.analysis.risk import risk as simulate
    from planner.analysis.risk import sentence

    target = Path(out) if out else Path(plan_dir)
    check_out_dir(target, instance=instance_path, force=force, label="--out" if out else "PLAN_DIR")
    files = _plan_files(plan_dir, instance_path)
    result = simulate(files.instance, _plan_view(files), draws=draws, seed=seed)
    contents = {"risk.json": _json_bytes(result.to_json()), "risk.csv": _csv_bytes(result.table)}
    if out:
        prepare_out_dir(out, instance=instance_path, force=force)
    written = _write(target, contents, plan_folder=not out, instance=files.instance)
    click.echo(sentence(result.summary))
    for row in result.levels.itertuples(index=False):  # along the continuum (analysis.risk)
        if row.p_unit_within == row.p_unit_within:  # not NaN
            click.echo(f"  {files.names.level(row.level)}: {_units_line(row)}")
    click.echo("written: " + ", ".join(str(path) for path in written))


@click.command(name="stress")
@click.argument("instance", type=click.Path())
@click.option("--fail", "fail", multiple=True, metavar="PROVIDER",
              help="A provider that fails (repeatable: they fail together).")
@click.option("--fail-largest", "largest", type=click.IntRange(min=1), default=None,
              help="Fail each of the K providers the plan pays most, one at a time (stress.csv).")
@click.option("--plan", "plan_dir", type=click.Path(), default=None,
              help="Start from this plan folder (solved from INSTANCE) instead of solving, and "
                   "write the results into it (its reports then show them).")
@click.option("--out", type=click.Path(), default=None,
              help="Folder for stress.json and stress.csv. Default: --plan's folder, else "
                   "out/<instance name>-stress.")
@click.option("--time-limit", type=click.FloatRange(min=0), default=None, help="Seconds per solve.")
@click.option("--force", is_flag=True, help="Write into --out even if it is not the planner's.")
@guarded
def stress(instance: str, fail: tuple[str, ...], largest: int | None, plan_dir: str | None,
           out: str | None, time_limit: float | None, force: bool) -> None:
    """Re-plan without failed providers: the cost of recovery, services left without a provider,
    and the rules that then bind (exit 3 when a failure leaves no plan: see --fail)."""
    from planner.cli.support import slug
    from planner.data.instance import load_instance
    from planner.sweeps.stress import check_providers, stress_largest, stress_table
    from planner.sweeps.stress import stress as run_stress

    if bool(fail) == (largest is not None):
        raise InputError("give --fail PROVIDER (repeatable) or --fail-largest K (one of them).")
    loaded = load_instance(instance)
    if fail:
        check_providers(loaded, list(fail))
    target = Path(out) if out else Path(plan_dir) if plan_dir else Path("out") / f"{slug(loaded.name)}-stress"
    check_out_dir(target, instance=loaded.source or instance, force=force)
    options = {"time_limit": time_limit}
    base = None
    if plan_dir:
        files = _plan_files(plan_dir, instance)
        base = _plan_view(files)
    if fail:
        results = [run_stress(loaded, list(fail), base, **options)]
    else:
        _, results = stress_largest(loaded, largest, base, **options)
    table = stress_table(results)
    data = {"instance": loaded.name, "mode": "fail" if fail else "fail_largest",
            "results": [r.to_json() for r in results]}
    contents = {"stress.json": _json_bytes(data), "stress.csv": _csv_bytes(table)}
    prepare_out_dir(target, instance=loaded.source or instance, force=force)
    written = _write(target, contents, plan_folder=bool(plan_dir) and not out, instance=loaded)
    for result in results:
        click.echo(result.message())
    click.echo("written: " + ", ".join(str(path) for path in written))
    if fail and results[0].status == "infeasible":
        sys.exit(EXIT_INFEASIBLE)


COMMANDS = [risk, stress]
