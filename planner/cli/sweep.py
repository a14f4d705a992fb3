"""``planner sweep`` and ``planner pareto``: many solves from one command."""

from __future__ import annotations

import sys

import click

from planner.cli.support import guarded
from planner.csvsafe import write_csv
from planner.data.instance import load_instance
from planner.results.outdir import PLAN_MARKER, SWEEP_MARKER, check_out_dir, prepare_out_dir

EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports a command ended by SIGTERM
PARETO_FILES = ("pareto.csv", "pareto.svg")


@click.command()
@click.argument("instance", type=click.Path())
@click.argument("sweep_file", type=click.Path())
@click.option("--out", type=click.Path(), required=True,
              help="Folder for results.csv, results.parquet (and plans/); re-run to resume.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes solving scenarios in parallel on this machine.")
@click.option("--scheduler", default=None, help="Dask scheduler address (tcp://host:8786).")
@click.option("--plans", is_flag=True, help="Also write each scenario's plan folder.")
@click.option("--time-limit", type=click.FloatRange(min=0), default=None, help="Seconds per solve.")
@click.option("--gap", type=click.FloatRange(min=0, max=1), default=1e-6, show_default=True)
@guarded
def sweep(instance: str, sweep_file: str, out: str, workers: int, scheduler: str | None,
          plans: bool, time_limit: float | None, gap: float) -> None:
    """Solve every scenario of SWEEP_FILE over INSTANCE (see docs/sweeps.md)."""
    from planner.solver.highs import SolveOptions
    from planner.sweeps.runner import Terminated
    from planner.sweeps.runner import sweep as run_sweep

    check_out_dir(out, instance=instance, owned_by=(PLAN_MARKER, SWEEP_MARKER), forceable=False)
    try:
        table = run_sweep(load_instance(instance), sweep_file, workers=workers,
                          scheduler=scheduler, out=out, plans=plans,
                          options=SolveOptions(time_limit=time_limit, gap=gap),
                          notify=lambda text: click.echo(text, err=True))
    except Terminated:  # SIGTERM: the workers are stopped and the finished rows kept
        click.echo(f"terminated: the finished scenarios are kept in {out}/rows; run the same "
                   "command again to resume.", err=True)
        sys.exit(EXIT_TERMINATED)
    counts = table["status"].value_counts()
    click.echo(f"{len(table)} scenarios: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    click.echo(f"results written to {out}/results.csv and results.parquet")


@click.command()
@click.argument("instance", type=click.Path())
@click.option("--out", type=click.Path(), required=True, help="Folder for pareto.csv and .svg.")
@click.option("--points", type=click.IntRange(min=2), default=11, show_default=True,
              help="Number of ε steps between least spend and most QALYs.")
@guarded
def pareto(instance: str, out: str, points: int) -> None:
    """Trace spend against QALYs (ε-constraint) and mark the plan chosen at the £/QALY."""
    from planner.analysis.pareto import pareto_chart, pareto_front

    check_out_dir(out, instance=instance, forceable=False, writes=PARETO_FILES)
    front = pareto_front(load_instance(instance), points=points)
    target = prepare_out_dir(out, PARETO_FILES, instance=instance, forceable=False)
    write_csv(front, target / "pareto.csv")
    pareto_chart(front, target / "pareto.svg")
    chosen = int(front["chosen"].sum())
    click.echo(f"{int((~front['chosen']).sum())} non-dominated plans"
               + (" and the plan chosen at the instance's £ per QALY" if chosen else "")
               + f" written to {target}/pareto.csv and pareto.svg")


COMMANDS = [sweep, pareto]
