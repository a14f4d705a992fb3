"""The ``planner`` command: the click group, and each command registered from its own module of
:mod:`planner.cli` (``validate``, ``solve``, ``explain``, ``compare``, ``derive``, ``new``,
``doctor``, ``report``, ``sweep``: each lists its commands in ``COMMANDS``). Every command is a
thin layer over the library (see docs/cli.md).

Exit codes: 0 plan produced; 1 internal error; 2 bad input or usage; 3 infeasible (with a
diagnosis); 4 time limit with no feasible plan; 130 interrupted. Errors are one line per problem
on stderr with no traceback unless ``--debug`` is given. No command prompts.
"""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.version_option(package_name="planner")
def main(debug: bool) -> None:
    """Commissioning planner: which services, at which level, from which providers."""


def _register_command_modules() -> None:
    """Add the commands defined in the other modules of planner/cli/ (one per command family)."""
    import importlib
    import pkgutil

    import planner.cli as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name in ("main", "support"):
            continue
        loaded = importlib.import_module(f"{package.__name__}.{module.name}")
        for command in getattr(loaded, "COMMANDS", ()):
            main.add_command(command)


_register_command_modules()
