"""The ``planner`` command: a thin layer over the library (see docs/cli.md).

Exit codes: 0 plan produced; 1 internal error; 2 bad input or usage; 3 infeasible (with a
diagnosis); 4 time limit with no feasible plan; 130 interrupted. Errors are one line per problem
on stderr with no traceback unless ``--debug`` is given. No command prompts.
"""

from __future__ import annotations

import functools
import shutil
import sys
import traceback
from importlib import resources
from pathlib import Path

import click

from planner import api
from planner.derive import FAMILIES, derive
from planner.errors import (
    EXIT_INFEASIBLE,
    EXIT_INTERNAL,
    EXIT_NO_SOLUTION,
    EXIT_OK,
    InputError,
    PlannerError,
)
from planner.instance import load_instance
from planner.prechecks import precheck

EXIT_INTERRUPTED = 130


def _guarded(command):
    """Map the planner's errors to exit codes and clear messages; tracebacks only with --debug."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        debug = click.get_current_context().find_root().params.get("debug", False)
        try:
            return command(*args, **kwargs)
        except PlannerError as exc:
            if debug:
                traceback.print_exc()
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except BrokenPipeError:
            sys.exit(EXIT_OK)  # the reader (e.g. `head`) closed the pipe; the plan is written
        except KeyboardInterrupt:
            click.echo("interrupted: nothing was written.", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence for users
            if debug:
                traceback.print_exc()
            click.echo(f"internal error: {type(exc).__name__}: {exc} "
                       "(run with --debug for the traceback, and please report it)", err=True)
            sys.exit(EXIT_INTERNAL)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.version_option(package_name="planner")
def main(debug: bool) -> None:
    """Commissioning planner: which services, at which level, from which providers."""


@main.command()
@click.argument("instance", type=click.Path())
@_guarded
def validate(instance: str) -> None:
    """Check an instance folder and report every problem at once (exit 2 if any)."""
    loaded = load_instance(instance)
    problems = precheck(derive(loaded))
    if problems:
        raise InputError(problems)
    config = loaded.config
    click.echo(f"{config.name}: valid — {len(loaded.services)} services, {len(loaded.levels)} "
               f"levels, {len(loaded.providers)} providers, {len(loaded.offers)} offers, "
               f"population {config.population:,.0f}, horizon {config.horizon} year(s).")


@main.command()
@click.argument("instance", type=click.Path())
@click.option("--out", "out", type=click.Path(), default=None,
              help="Plan folder to write (replaced whole). Default: out/<instance name>.")
@click.option("--time-limit", type=click.FloatRange(min=0), default=None, help="Seconds.")
@click.option("--gap", type=click.FloatRange(min=0, max=1), default=1e-6, show_default=True,
              help="Relative MIP gap at which to stop.")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="HiGHS threads.")
@click.option("--without", "without", multiple=True, type=click.Choice(FAMILIES),
              help="Switch a constraint family off (repeatable) to see what it costs.")
@click.option("--log", "log_file", type=click.Path(), default=None, help="HiGHS log file.")
@click.option("--marginal/--no-marginal", default=True, show_default=True,
              help="Compute marginal values (marginal_values.csv): LP duals of the fixed plan "
                   "and MILP re-solves at budget ±1 % and ±5 %.")
@_guarded
def solve(instance: str, out: str | None, time_limit: float | None, gap: float,
          threads: int | None, without: tuple[str, ...], log_file: str | None,
          marginal: bool) -> None:
    """Solve an instance and write the plan folder (plan.json and CSV tables)."""
    plan = api.solve(instance, time_limit=time_limit, gap=gap, threads=threads,
                     without=without, log_file=log_file, marginal=marginal)
    target = Path(out) if out else Path("out") / plan.instance.name
    plan.to_dir(target)
    if plan.has_solution:
        click.echo(plan.summary())
        click.echo(f"plan written to {target}/")
        sys.exit(EXIT_OK)
    if plan.status == "infeasible":
        click.echo(f"{plan.instance.name}: infeasible — no plan meets every rule.", err=True)
        for row in (plan.diagnosis or {}).get("relaxations", []):
            prefix = "alone" if row["alone"] else "combined"
            click.echo(f"  [{prefix}] {row['message']}", err=True)
        click.echo(f"diagnosis written to {target}/diagnosis.json", err=True)
        sys.exit(EXIT_INFEASIBLE)
    click.echo(f"{plan.instance.name}: {plan.status} — no feasible plan found "
               "(raise --time-limit).", err=True)
    sys.exit(EXIT_NO_SOLUTION if plan.status == "time_limit" else EXIT_INTERNAL)


@main.command(name="derive")
@click.argument("instance", type=click.Path())
@click.option("--out", "out", type=click.Path(), required=True, help="Folder for the tables.")
@click.option("--without", "without", multiple=True, type=click.Choice(FAMILIES))
@_guarded
def derive_command(instance: str, out: str, without: tuple[str, ...]) -> None:
    """Write the derived tables (eligibility, demand by level, risk costs, contracts) as CSV."""
    from planner.csvsafe import write_csv

    derived = derive(load_instance(instance), frozenset(without))
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    for name, frame in derived.tables().items():
        write_csv(frame.assign(**{c: frame[c].map(";".join) for c in frame.columns
                                  if frame[c].map(lambda v: isinstance(v, tuple)).any()}),
                  target / f"{name}.csv")
    click.echo(f"derived tables written to {target}/: {', '.join(derived.tables())}")


@main.command()
@click.argument("directory", type=click.Path())
@_guarded
def new(directory: str) -> None:
    """Write a commented template instance that validates and solves."""
    target = Path(directory)
    if target.exists() and any(target.iterdir()):
        raise PlannerError(f"'{directory}' exists and is not empty; choose a new folder.")
    _copy_template(target)
    click.echo(f"template instance written to {target}/ — edit the CSVs, then run "
               f"'planner validate {target}' and 'planner solve {target}'.")


def _copy_template(target: Path) -> None:
    template = resources.files("planner") / "templates"
    target.mkdir(parents=True, exist_ok=True)
    for item in template.iterdir():
        if item.name.endswith((".csv", ".yaml", ".md")):
            with resources.as_file(item) as source:
                shutil.copyfile(source, target / item.name)


@main.command()
@_guarded
def doctor() -> None:
    """Print versions and solve the built-in toy instance."""
    import tempfile

    for name, version in api.versions().items():
        click.echo(f"{name:8s} {version}")
    with tempfile.TemporaryDirectory() as folder:
        _copy_template(Path(folder))
        plan = api.solve(folder)
    click.echo(f"toy solve: {plan.status}, objective £{plan.objective:,.2f}, "
               f"{plan.timings['total']:.2f} s")
