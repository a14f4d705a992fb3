"""``planner explain INSTANCE --service S``: why this and not that, by re-solving."""

from __future__ import annotations

import click

from planner.cli.support import (
    guarded,
)
from planner.data.instance import load_instance


@click.command()
@click.argument("instance", type=click.Path())
@click.option("--service", required=True, help="The service to ask about.")
@click.option("--provider", default=None, help="Why not this provider?")
@click.option("--level", default=None, help="Why not this level?")
@click.option("--drop", is_flag=True, help="Why commission it at all?")
@guarded
def explain(instance: str, service: str, provider: str | None, level: str | None,
            drop: bool) -> None:
    """Re-solve with an alternative forced and say what it would cost, and why."""
    from planner.analysis.explain import explain as explain_choice

    answer = explain_choice(load_instance(instance), service, provider=provider, level=level,
                            drop=drop)
    click.echo(answer.text())


COMMANDS = [explain]
