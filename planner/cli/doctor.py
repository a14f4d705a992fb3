"""``planner doctor``: versions, and a solve of the built-in toy instance."""

from __future__ import annotations

from pathlib import Path

import click

from planner import api
from planner.cli.support import (
    copy_template,
    guarded,
)
from planner.formats import money


@click.command()
@guarded
def doctor() -> None:
    """Print versions and solve the built-in toy instance."""
    import tempfile

    for name, version in api.versions().items():
        click.echo(f"{name:8s} {version}")
    with tempfile.TemporaryDirectory() as folder:
        copy_template(Path(folder))
        plan = api.solve(folder)
    click.echo(f"toy solve: {plan.status}, objective {money(plan.objective)}, "
               f"{plan.timings['total']:.2f} s")


COMMANDS = [doctor]
