"""``planner derive INSTANCE --out DIR``: the derived tables the model is built from, as CSV."""

from __future__ import annotations

import click

from planner.cli.support import (
    check_out_dir,
    guarded,
    prepare_out_dir,
)
from planner.data.instance import load_instance
from planner.derive.tables import FAMILIES, derive


@click.command(name="derive")
@click.argument("instance", type=click.Path())
@click.option("--out", "out", type=click.Path(), required=True, help="Folder for the tables.")
@click.option("--without", "without", multiple=True, type=click.Choice(FAMILIES))
@click.option("--force", is_flag=True, help="Write into --out even if it is not the planner's.")
@guarded
def derive_command(instance: str, out: str, without: tuple[str, ...], force: bool) -> None:
    """Write the derived tables (eligibility, demand by level, risk costs, contracts) as CSV."""
    from planner.csvsafe import write_csv

    check_out_dir(out, instance=instance, force=force)
    derived = derive(load_instance(instance), frozenset(without))
    names = [f"{name}.csv" for name in derived.tables()]
    target = prepare_out_dir(out, names, instance=instance, force=force)
    for name, frame in derived.tables().items():
        write_csv(frame.assign(**{c: frame[c].map(";".join) for c in frame.columns
                                  if frame[c].map(lambda v: isinstance(v, tuple)).any()}),
                  target / f"{name}.csv")
    click.echo(f"derived tables written to {target}/: {', '.join(derived.tables())}")


COMMANDS = [derive_command]
