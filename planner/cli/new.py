"""``planner new DIRECTORY``: a commented template instance that validates and solves."""

from __future__ import annotations

import shlex

import click

from planner.cli.support import (
    check_out_dir,
    copy_template,
    guarded,
)


@click.command()
@click.argument("directory", type=click.Path())
@click.option("--xlsx", "as_workbook", is_flag=True,
              help="Write the template as one Excel workbook, DIRECTORY/instance.xlsx.")
@guarded
def new(directory: str, as_workbook: bool) -> None:
    """Write a commented template instance that validates and solves."""
    target = check_out_dir(directory, empty_only=True, label="DIRECTORY")
    if as_workbook:
        from planner.data.workbook_writer import write_template_workbook

        workbook = write_template_workbook(target)
        click.echo(f"template workbook written to {workbook} — edit its sheets, then run "
                   f"{_commands(workbook)}.")
        return
    copy_template(target)
    click.echo(f"template instance written to {target}/ — edit the CSVs, then run "
               f"{_commands(target)}.")


def _commands(path: object) -> str:
    """'planner validate P' and 'planner solve P', with P quoted for the shell where it needs
    it (a folder name with a space), so the commands can be pasted as they are."""
    shown = shlex.quote(str(path))
    mark = '"' if "'" in shown else "'"
    return (f"{mark}planner validate {shown}{mark} and {mark}planner solve {shown}{mark}")


COMMANDS = [new]
