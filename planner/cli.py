"""The ``planner`` command: a thin layer over the library (see docs/cli.md).

Exit codes: 0 plan produced; 1 internal error; 2 bad input or usage; 3 infeasible (with a
diagnosis); 4 time limit with no feasible plan; 130 interrupted. Errors are one line per problem
on stderr with no traceback unless ``--debug`` is given. No command prompts.
"""

from __future__ import annotations

import math
import shutil
import sys
from importlib import resources
from pathlib import Path

import click

from planner import api
from planner.cli_support import (
    check_log_file,
    check_name,
    check_out_dir,
    prepare_out_dir,
    slug,
)
from planner.cli_support import guarded as _guarded
from planner.derive import FAMILIES, derive
from planner.diagnosis import console_lines
from planner.errors import (
    EXIT_INFEASIBLE,
    EXIT_INTERNAL,
    EXIT_NO_SOLUTION,
    EXIT_OK,
    InputError,
    OutputError,
    Problem,
)
from planner.formats import money
from planner.instance import load_instance
from planner.names import Names
from planner.prechecks import precheck


class FiniteFloat(click.FloatRange):
    """A FloatRange that also refuses nan and inf (usage error, exit 2): nan passes every
    range comparison, and ``--time-limit nan`` or ``--gap nan`` reached HiGHS as nonsense."""

    name = "finite float"

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


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
    check_name(loaded.name)
    problems = precheck(derive(loaded))
    if problems:
        raise InputError(problems)
    config = loaded.config
    click.echo(f"{config.name}: valid — {len(loaded.services)} services, {len(loaded.levels)} "
               f"levels, {len(loaded.providers)} providers, {len(loaded.offers)} offers, "
               + (f"{len(loaded.bundles)} bundle{'s' if len(loaded.bundles) != 1 else ''}, "
                  if len(loaded.bundles) else "")  # issue 16
               + f"population {config.population:,.0f}, horizon {config.horizon} year(s).")


@main.command()
@click.argument("instance", type=click.Path())
@click.option("--out", "out", type=click.Path(), default=None,
              help="Plan folder to write (replaced whole, if empty or a plan folder). "
                   "Default: out/<instance name, made safe>.")
@click.option("--time-limit", type=FiniteFloat(min=0), default=None, help="Seconds.")
@click.option("--gap", type=FiniteFloat(min=0, max=1), default=1e-6, show_default=True,
              help="Relative MIP gap at which to stop.")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="HiGHS threads.")
@click.option("--without", "without", multiple=True, type=click.Choice(FAMILIES),
              help="Switch a constraint family off (repeatable) to see what it costs.")
@click.option("--log", "log_file", type=click.Path(), default=None, help="HiGHS log file.")
@click.option("--highs-option", "highs_options", multiple=True, metavar="KEY=VALUE",
              help="A further HiGHS option (repeatable), e.g. mip_max_improving_sols=1.")
@click.option("--marginal/--no-marginal", default=True, show_default=True,
              help="Compute marginal values (marginal_values.csv): LP duals of the fixed plan "
                   "and MILP re-solves at budget ±1 % and ±5 %.")
@click.option("--alternatives", "n_alternatives", type=click.IntRange(min=0), default=0,
              help="Also find up to K distinct plans within --within of the optimum.")
@click.option("--within", type=click.FloatRange(min=0), default=0.01, show_default=True,
              help="Relative margin of the objective for --alternatives.")
@click.option("--elastic", is_flag=True,
              help="When infeasible, return the cheapest relaxed plan with each relaxation priced.")
@click.option("--force", is_flag=True,
              help="Replace --out even if it is a folder that is not a plan (never the "
                   "instance's folder or one above it).")
@_guarded
def solve(instance: str, out: str | None, time_limit: float | None, gap: float,
          threads: int | None, without: tuple[str, ...], log_file: str | None,
          marginal: bool, n_alternatives: int, within: float, elastic: bool,
          highs_options: tuple[str, ...], force: bool = False) -> None:
    """Solve an instance and write the plan folder (plan.json, CSV tables, changes against the
    status quo, marginal values)."""
    loaded = load_instance(instance)
    check_name(loaded.name)
    # Every output is checked before solving: a wrong --out or --log costs no solve and no file.
    target = check_out_dir(out if out else Path("out") / slug(loaded.name),
                           instance=loaded.source or instance, force=force,
                           label="--out" if out else "default output folder")
    if log_file:
        check_log_file(log_file)
    plan = api.solve(loaded, time_limit=time_limit, gap=gap, threads=threads,
                     without=without, log_file=log_file, marginal=marginal, elastic=elastic,
                     highs_options=_parse_highs_options(highs_options))
    if plan.has_solution:
        extra = _status_quo_tables(plan)
        if n_alternatives:
            extra.update(_alternatives(plan, n_alternatives, within, without))
        plan.to_dir(target, extra=extra, force=force)
        click.echo(plan.summary())
        if n_alternatives:
            found = extra.get("alternatives.csv")
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


def _status_quo_tables(plan) -> dict:
    from planner.compare import PlanView, compare

    tables = compare(PlanView.status_quo(plan.instance), PlanView.from_plan(plan))
    return {"changes.csv": tables["contract_changes"], "spend_changes.csv": tables["spend_by"]}


def _alternatives(plan, count: int, within: float, without: tuple[str, ...]) -> dict:
    from planner.alternatives import alternatives
    from planner.solver import SolveOptions

    settings = {k: v for k, v in plan.options.items() if k not in ("without", "highs_options")}
    options = SolveOptions(**settings, highs_options=tuple(plan.options["highs_options"].items()))
    _, table = alternatives(plan.instance, count, within, options, frozenset(without))
    return {"alternatives.csv": table}


@main.command()
@click.argument("instance", type=click.Path())
@click.option("--service", required=True, help="The service to ask about.")
@click.option("--provider", default=None, help="Why not this provider?")
@click.option("--level", default=None, help="Why not this level?")
@click.option("--drop", is_flag=True, help="Why commission it at all?")
@_guarded
def explain(instance: str, service: str, provider: str | None, level: str | None,
            drop: bool) -> None:
    """Re-solve with an alternative forced and say what it would cost, and why."""
    from planner.explain import explain as explain_choice

    answer = explain_choice(load_instance(instance), service, provider=provider, level=level,
                            drop=drop)
    click.echo(answer.text())


def _same_instance(plan_dir: str, instance) -> None:
    """Exit 2 when a plan folder was solved from another instance than the one given (its
    status quo would be compared with another area's contracts)."""
    from planner.plan import read_plan_json

    meta = read_plan_json(Path(plan_dir) / "plan.json").get("instance") or {}
    if meta.get("sha256") and meta["sha256"] != instance.sha256() and \
            meta.get("name") != instance.name:
        raise InputError(Problem("plan", f"'{plan_dir}' was solved from instance "
                                 f"'{meta.get('name')}', not '{instance.name}'.",
                                 "Give the instance the plan was solved from to --status-quo."))


@main.command()
@click.argument("plan_a", type=click.Path())
@click.argument("plan_b", type=click.Path(), required=False)
@click.option("--status-quo", "status_quo", type=click.Path(), default=None,
              help="Compare PLAN_A with the status quo of this instance instead.")
@click.option("--out", type=click.Path(), default=None, help="Folder for the comparison tables.")
@click.option("--force", is_flag=True, help="Write into --out even if it is not the planner's.")
@_guarded
def compare(plan_a: str, plan_b: str | None, status_quo: str | None, out: str | None,
            force: bool) -> None:
    """Compare two plan folders, or a plan with the status quo (--status-quo INSTANCE)."""
    from planner.compare import PlanView, summary
    from planner.compare import compare as compare_views
    from planner.csvsafe import write_csv

    if (plan_b is None) == (status_quo is None):
        raise InputError("give PLAN_B, or --status-quo INSTANCE (one of them).")
    if out:
        check_out_dir(out, instance=status_quo, force=force)
        compared = {Path(p).resolve() for p in (plan_a, plan_b) if p}
        if Path(out).resolve() in compared:
            raise OutputError("--out", out, "is a plan being compared; its changes.csv would be "
                              "overwritten.", "Give a new folder for the comparison.")
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
        target = prepare_out_dir(out, instance=status_quo, force=force)
        names = {"contract_changes": "changes.csv", "spend_by": "spend_changes.csv",
                 "below_break_even": "below_break_even.csv"}
        for name, frame in tables.items():
            write_csv(frame, target / names[name])
        click.echo(f"comparison written to {target}/")


@main.command(name="derive")
@click.argument("instance", type=click.Path())
@click.option("--out", "out", type=click.Path(), required=True, help="Folder for the tables.")
@click.option("--without", "without", multiple=True, type=click.Choice(FAMILIES))
@click.option("--force", is_flag=True, help="Write into --out even if it is not the planner's.")
@_guarded
def derive_command(instance: str, out: str, without: tuple[str, ...], force: bool) -> None:
    """Write the derived tables (eligibility, demand by level, risk costs, contracts) as CSV."""
    from planner.csvsafe import write_csv

    check_out_dir(out, instance=instance, force=force)
    derived = derive(load_instance(instance), frozenset(without))
    target = prepare_out_dir(out, instance=instance, force=force)
    for name, frame in derived.tables().items():
        write_csv(frame.assign(**{c: frame[c].map(";".join) for c in frame.columns
                                  if frame[c].map(lambda v: isinstance(v, tuple)).any()}),
                  target / f"{name}.csv")
    click.echo(f"derived tables written to {target}/: {', '.join(derived.tables())}")


@main.command()
@click.argument("directory", type=click.Path())
@click.option("--xlsx", "as_workbook", is_flag=True,
              help="Write the template as one Excel workbook, DIRECTORY/instance.xlsx.")
@_guarded
def new(directory: str, as_workbook: bool) -> None:
    """Write a commented template instance that validates and solves."""
    target = check_out_dir(directory, empty_only=True, label="DIRECTORY")
    if as_workbook:
        from planner.excel import write_template_workbook

        workbook = write_template_workbook(target)
        click.echo(f"template workbook written to {workbook} — edit its sheets, then run "
                   f"'planner validate {workbook}' and 'planner solve {workbook}'.")
        return
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
    click.echo(f"toy solve: {plan.status}, objective {money(plan.objective)}, "
               f"{plan.timings['total']:.2f} s")


def _register_command_modules() -> None:
    """Add the commands defined in planner/commands/ (one module per command family)."""
    import importlib
    import pkgutil

    import planner.commands as package

    for module in pkgutil.iter_modules(package.__path__):
        loaded = importlib.import_module(f"{package.__name__}.{module.name}")
        for command in getattr(loaded, "COMMANDS", ()):
            main.add_command(command)


_register_command_modules()
