"""``planner compare``: two plan folders, or a plan against the status quo of its instance."""

from __future__ import annotations

from pathlib import Path

import click

from planner.cli.support import (
    check_out_dir,
    guarded,
    prepare_out_dir,
)
from planner.data.instance import load_instance
from planner.errors import (
    InputError,
    OutputError,
    Problem,
)


def _same_instance(plan_dir: str, instance) -> None:
    """Exit 2 when a plan folder was solved from another instance than the one given (its
    status quo would be compared with another area's contracts)."""
    from planner.results.plan import read_plan_json

    meta = read_plan_json(Path(plan_dir) / "plan.json").get("instance") or {}
    if meta.get("sha256") and meta["sha256"] != instance.sha256() and \
            meta.get("name") != instance.name:
        raise InputError(Problem("plan", f"'{plan_dir}' was solved from instance "
                                 f"'{meta.get('name')}', not '{instance.name}'.",
                                 "Give the instance the plan was solved from to --status-quo."))


@click.command()
@click.argument("plan_a", type=click.Path())
@click.argument("plan_b", type=click.Path(), required=False)
@click.option("--status-quo", "status_quo", type=click.Path(), default=None,
              help="Compare PLAN_A with the status quo of this instance instead.")
@click.option("--out", type=click.Path(), default=None, help="Folder for the comparison tables.")
@click.option("--force", is_flag=True, help="Write into --out even if it is not the planner's.")
@guarded
def compare(plan_a: str, plan_b: str | None, status_quo: str | None, out: str | None,
            force: bool) -> None:
    """Compare two plan folders, or a plan with the status quo (--status-quo INSTANCE)."""
    from planner.analysis.compare import PlanView, summary
    from planner.analysis.compare import compare as compare_views
    from planner.csvsafe import write_csv

    if (plan_b is None) == (status_quo is None):
        raise InputError("give PLAN_B, or --status-quo INSTANCE (one of them).")
    if out:
        check_out_dir(out, instance=status_quo, force=force)
        compared = {Path(p).resolve() for p in (plan_a, plan_b) if p}
        if Path(out).resolve() in compared:
            raise OutputError("--out", out, "is a plan being compared; its changes.csv would be "
                              "overwritten.", "Give a new folder for the comparison.")
        if (Path(out) / "plan.json").is_file():  # any plan's changes.csv is its own, against today
            raise OutputError("--out", out, "holds a plan (plan.json); the comparison's "
                              "changes.csv and spend_changes.csv would replace that plan's own, "
                              "and its reports would then show the comparison's changes.",
                              "Give a new folder for the comparison (--force does not change "
                              "this).")
    if status_quo:
        instance = load_instance(status_quo)
        _same_instance(plan_a, instance)
        a = PlanView.status_quo(instance)
    else:
        a = PlanView.from_dir(plan_a)
    b = PlanView.from_dir(plan_a if status_quo else plan_b)
    try:
        tables = compare_views(a, b)
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        # Both views come from files (a plan folder, an instance that validated): a column
        # missing from a hand-edited or truncated plan CSV is the files' fault, not the planner's.
        raise InputError(Problem("plan", f"'{plan_a}' or '{plan_b or status_quo}' cannot be "
                                 f"compared: a plan table is incomplete or corrupt "
                                 f"({type(exc).__name__}: {exc}).",
                                 "Write the plan folder again with 'planner solve'.")) from exc
    click.echo(summary(a, b, tables))
    if out:
        names = {"contract_changes": "changes.csv", "spend_by": "spend_changes.csv",
                 "below_break_even": "below_break_even.csv"}
        target = prepare_out_dir(out, names.values(), instance=status_quo, force=force)
        for name, frame in tables.items():
            write_csv(frame, target / names[name])
        click.echo(f"comparison written to {target}/")


COMMANDS = [compare]
