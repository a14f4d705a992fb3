"""``planner report PLAN_DIR``: regenerate report.html, summary.md and plan.xlsx from a plan folder.

The reports are made from the folder's files alone (plan.json and the CSV tables), plus the
instance when it can be found (plan.json's ``instance.source``, or ``--instance``) and its data
are unchanged since the solve; so regenerating a report gives the same bytes ``planner solve``
wrote, and a plan folder copied elsewhere still reports (with a note where the instance is needed).
"""

from __future__ import annotations

from pathlib import Path

import click

from planner.cli.support import check_out_dir, guarded, prepare_out_dir
from planner.errors import InputError, Problem


@click.command(name="report")
@click.argument("plan_dir", type=click.Path())
@click.option("--instance", "instance_path", type=click.Path(), default=None,
              help="The instance the plan was solved from (folder or .xlsx), if plan.json's "
                   "instance.source is not where it was.")
@click.option("--out", type=click.Path(), default=None,
              help="Folder to write the reports to (missing, empty or the planner's). "
                   "Default: PLAN_DIR itself.")
@click.option("--force", is_flag=True, help="Write into --out even if it is not the planner's.")
@guarded
def report(plan_dir: str, instance_path: str | None, out: str | None, force: bool) -> None:
    """Write report.html, summary.md and plan.xlsx for the plan folder PLAN_DIR."""
    from planner.data.instance import load_instance
    from planner.reports.writer import write_files
    from planner.results.folder import PlanFiles

    if out:
        check_out_dir(out, instance=instance_path, force=force)
    instance = load_instance(instance_path) if instance_path else None
    files = PlanFiles.read(plan_dir, instance=instance)
    target = prepare_out_dir(out, instance=instance_path, force=force) if out else Path(plan_dir)
    try:
        written = write_files(files, target)
    except (KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
        # The reports read nothing but the folder's files: when they break, the files are at
        # fault (a hand-edited or truncated CSV, a column missing), not the planner.
        raise InputError(Problem("plan", f"'{plan_dir}' cannot be reported: its files are "
                                 f"incomplete or corrupt ({type(exc).__name__}: {exc}).",
                                 "Write the plan folder again with 'planner solve'.")) from exc
    if files.instance_note:
        click.echo(f"note: {files.instance_note}", err=True)
    click.echo("written: " + ", ".join(str(path) for path in written))


COMMANDS = [report]
