"""``planner doctor`` and the package root's public names (both were broken by the layering:
``planner.versions`` pointed at a name planner.api did not have, and ``planner.solve`` turned
into the solve layer's package once anything imported it)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

import planner


def test_planner_solve_is_the_function_after_the_solver_layer_is_imported() -> None:
    code = ("import planner, planner.solver.highs, planner.cli.main\n"
            "from planner.solver import session\n"
            "assert callable(planner.solve) and planner.solve.__module__ == 'planner.api'\n"
            "assert set(planner.versions()) == {'planner', 'pyomo', 'highs', 'python'}\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


@pytest.mark.solver
def test_doctor_prints_versions_and_solves_the_toy() -> None:
    """The template instance is the toy: its optimum is £1,383,000, shown as £1.38m."""
    from planner.cli.main import main

    done = CliRunner().invoke(main, ["doctor"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert f"highs    {planner.versions()['highs']}" in done.output
    assert "toy solve: optimal, objective £1.38m" in done.output
