"""``planner solve INSTANCE``: solve and write the plan folder.

Everything written comes from the library: :func:`planner.solve` with ``status_quo=True`` and
``alternatives=K`` gives the plan with its changes against today and its alternatives, and
:meth:`planner.Plan.to_dir` writes the folder, so a tool embedding the planner gets the same files.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import click

from planner import api
from planner.analysis.diagnosis import console_lines
from planner.cli.support import (
    PLAN_FOLDER_NAMES,
    check_log_file,
    check_name,
    check_out_dir,
    guarded,
    slug,
)
from planner.data.instance import load_instance
from planner.data.names import Names
from planner.derive.tables import FAMILIES
from planner.errors import (
    EXIT_INFEASIBLE,
    EXIT_INTERNAL,
    EXIT_NO_SOLUTION,
    EXIT_OK,
    InputError,
)
from planner.formats import money


class FiniteFloat(click.FloatRange):
    """A FloatRange that also refuses nan and inf (usage error, exit 2): nan passes every
    range comparison, and ``--time-limit nan`` or ``--gap nan`` reached HiGHS as nonsense."""

    name = "finite float"

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


@click.command()
@click.argument("instance", type=click.Path())
@click.option("--out", "out", type=click.Path(), default=None,
              help="Plan folder to write (if empty or a plan folder: the planner's files "
                   "are replaced, files you added kept). "
                   "Default: out/<instance name, made safe>.")
@click.option("--time-limit", type=FiniteFloat(min=0), default=None, help="Seconds.")
@click.option("--gap", type=FiniteFloat(min=0, max=1), default=1e-6, show_default=True,
              help="Relative MIP gap at which to stop.")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="HiGHS threads.")
@click.option("--improve/--no-improve", default=None,
              help="Fix-and-optimise on a second core beside HiGHS. Default: for models of "
                   "20,000 binaries or more on two cores, unless --threads 1.")
@click.option("--without", "without", multiple=True, type=click.Choice(FAMILIES),
              help="Switch a constraint family off (repeatable) to see what it costs.")
@click.option("--log", "log_file", type=click.Path(), default=None, help="HiGHS log file.")
@click.option("--highs-option", "highs_options", multiple=True, metavar="KEY=VALUE",
              help="A further HiGHS option (repeatable), e.g. mip_max_improving_sols=1.")
@click.option("--marginal/--no-marginal", default=True, show_default=True,
              help="Compute marginal values (marginal_values.csv): LP duals of the fixed plan "
                   "and MILP re-solves at budget ±1 % and ±5 %.")
@click.option("--marginal-time", "marginal_time", type=FiniteFloat(min=0), default=None,
              metavar="SECONDS",
              help="Seconds the re-solves after the plan share (marginal values, why-not-bought, "
                   "priorities). Default: until 45 s after the solve began, at least 5 s.")
@click.option("--alternatives", "n_alternatives", type=click.IntRange(min=0), default=0,
              help="Also find up to K distinct plans within --within of the optimum.")
@click.option("--within", type=click.FloatRange(min=0), default=0.01, show_default=True,
              help="Relative margin of the objective for --alternatives.")
@click.option("--elastic", is_flag=True,
              help="When infeasible, return the cheapest relaxed plan with each relaxation priced.")
@click.option("--force", is_flag=True,
              help="Write into --out even if it is a folder that is not a plan, replacing only "
                   "files named as the planner's outputs (never an instance's folder or one "
                   "above it).")
@guarded
def solve(instance: str, out: str | None, time_limit: float | None, gap: float,
          threads: int | None, without: tuple[str, ...], log_file: str | None,
          marginal: bool, n_alternatives: int, within: float, elastic: bool,
          highs_options: tuple[str, ...], force: bool = False,
          marginal_time: float | None = None, improve: bool | None = None) -> None:
    """Solve an instance and write the plan folder (plan.json, CSV tables, changes against the
    status quo, marginal values)."""
    loaded = load_instance(instance)
    check_name(loaded.name)
    # Every output is checked before solving: a wrong --out or --log costs no solve and no file.
    target = check_out_dir(out if out else Path("out") / slug(loaded.name),
                           instance=loaded.source or instance, force=force,
                           label="--out" if out else "default output folder",
                           writes=PLAN_FOLDER_NAMES, replaces=True)
    if log_file:
        check_log_file(log_file)
    plan = api.solve(loaded, time_limit=time_limit, gap=gap, threads=threads,
                     without=without, log_file=log_file, marginal=marginal,
                     marginal_time=marginal_time, elastic=elastic,
                     highs_options=_parse_highs_options(highs_options), status_quo=True,
                     alternatives=n_alternatives, within=within, improve=improve)
    if plan.has_solution:
        plan.to_dir(target, force=force)
        click.echo(plan.summary())
        if n_alternatives:
            found = plan.alternatives
            count = 0 if found is None or found.empty else found["alternative"].nunique()
            click.echo(f"  {count} alternative plan(s) within {within:.1%} in alternatives.csv")
        click.echo(f"plan written to {target}/")
        sys.exit(EXIT_OK)
    plan.to_dir(target, force=force)
    if plan.status == "infeasible":
        click.echo(f"{plan.instance.name}: infeasible — no plan meets every rule.", err=True)
        for line in console_lines(plan.diagnosis or {}, Names.of(plan.instance)):
            click.echo(line, err=True)
        if plan.relaxed:
            click.echo(f"the cheapest relaxed plan (objective {money(plan.objective)}) is in "
                       f"{target}/ with status infeasible.", err=True)
        click.echo(f"diagnosis written to {target}/diagnosis.json", err=True)
        sys.exit(EXIT_INFEASIBLE)
    click.echo(f"{plan.instance.name}: {plan.status} — no feasible plan found "
               "(raise --time-limit).", err=True)
    sys.exit(EXIT_NO_SOLUTION if plan.status == "time_limit" else EXIT_INTERNAL)


def _parse_highs_options(pairs: tuple[str, ...]) -> dict[str, object]:
    """KEY=VALUE pairs to typed HiGHS options (ints, floats, true/false, text)."""
    parsed: dict[str, object] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise InputError(f"--highs-option '{pair}' is not KEY=VALUE.")
        value: object = text
        for cast in (int, float):
            try:
                value = cast(text)
                break
            except ValueError:
                continue
        if text.lower() in ("true", "false"):
            value = text.lower() == "true"
        parsed[key.strip()] = value
    _check_highs_options(parsed)
    return parsed


def _check_highs_options(options: dict[str, object]) -> None:
    """Refuse an option name or value HiGHS does not know (it would be ignored silently)."""
    import highspy

    probe = highspy.Highs()
    probe.setOptionValue("output_flag", False)
    for key, value in options.items():
        if probe.setOptionValue(key, value) != highspy.HighsStatus.kOk:
            raise InputError(f"--highs-option {key}={value}: HiGHS has no such option, or "
                             "the value is out of range (see the HiGHS options reference).")


COMMANDS = [solve]
