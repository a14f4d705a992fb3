"""``planner validate INSTANCE``: check an instance and report every problem at once."""

from __future__ import annotations

import click

from planner.cli.support import (
    check_name,
    guarded,
)
from planner.data.instance import load_instance
from planner.derive.prechecks import budget_units_warning, precheck
from planner.derive.tables import derive
from planner.errors import (
    InputError,
)


@click.command()
@click.argument("instance", type=click.Path())
@guarded
def validate(instance: str) -> None:
    """Check an instance folder and report every problem at once (exit 2 if any)."""
    loaded = load_instance(instance)
    check_name(loaded.name)
    derived = derive(loaded)
    problems = precheck(derived)
    if problems:
        raise InputError(problems)
    units = budget_units_warning(derived)
    if units:
        click.echo(f"warning: {units}", err=True)
    config = loaded.config
    click.echo(f"{config.name}: valid — {len(loaded.services)} services, {len(loaded.levels)} "
               f"levels, {len(loaded.providers)} providers, {len(loaded.offers)} offers, "
               + (f"{len(loaded.bundles)} bundle{'s' if len(loaded.bundles) != 1 else ''}, "
                  if len(loaded.bundles) else "")  # issue 16
               + f"population {config.population:,.0f}, horizon {config.horizon} year(s).")


COMMANDS = [validate]
