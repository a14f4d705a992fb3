"""The library writes what the CLI writes: ``planner solve`` is a thin layer over
``planner.solve(..., status_quo=True, alternatives=K)`` and ``Plan.to_dir`` (issue 14, item 5)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import planner
from planner.cli.main import main

pytestmark = pytest.mark.solver

#: report.html's solver section lists the run's timings, and plan.json holds them: they differ
#: between any two solves, so they are the only part compared loosely.
TIMINGS = re.compile(r'<tr><th scope="row">Time \(seconds\)</th><td>[^<]*</td></tr>')


def _read(folder: Path, name: str) -> bytes:
    data = (folder / name).read_bytes()
    if name == "plan.json":
        report = json.loads(data)
        report.pop("timings")
        return json.dumps(report, sort_keys=True).encode()
    if name == "report.html":
        return TIMINGS.sub("", data.decode()).encode()
    return data


def test_library_writes_the_same_plan_folder_as_planner_solve(tmp_path: Path, toy_dir: Path) -> None:
    """Toy: the CLI with --alternatives 2 and the library with status_quo=True, alternatives=2
    and marginal=True (the CLI's default) write the same files with the same bytes (timings
    aside). The optimum is the toy's pinned £1,383,000: GP consultations 40,000 × £29 + diabetes
    450 × £180 at practice level + hips 20 × £6,000 = £1,361,000 of activity, plus contracting
    and set-up (docs/model.md's worked example)."""
    cli_dir, lib_dir = tmp_path / "cli", tmp_path / "lib"
    done = CliRunner().invoke(main, ["solve", str(toy_dir), "--out", str(cli_dir),
                                     "--alternatives", "2"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    plan = planner.solve(str(toy_dir), marginal=True, status_quo=True, alternatives=2)
    assert plan.objective == pytest.approx(1_383_000)
    assert plan.changes is not None and plan.spend_changes is not None
    assert plan.alternatives is not None and plan.alternatives["alternative"].nunique() >= 1
    plan.to_dir(lib_dir)

    cli_files = sorted(p.name for p in cli_dir.iterdir())
    assert cli_files == sorted(p.name for p in lib_dir.iterdir())
    for name in ("changes.csv", "spend_changes.csv", "alternatives.csv", "marginal_values.csv",
                 "report.html", "summary.md", "plan.xlsx"):
        assert name in cli_files, name
    for name in cli_files:
        assert _read(cli_dir, name) == _read(lib_dir, name), name
    # the changes are today's contracts against the plan, as planner.changes gives them
    again = planner.changes(plan)
    pd.testing.assert_frame_equal(pd.read_csv(lib_dir / "changes.csv"),
                                  pd.read_csv(_csv(again["changes.csv"], tmp_path / "c.csv")))


def _csv(frame: pd.DataFrame, path: Path) -> Path:
    from planner.csvsafe import write_csv

    write_csv(frame, path)
    return path


def test_status_quo_and_alternatives_are_off_by_default(toy_dir: Path) -> None:
    """A plain planner.solve computes neither (they cost re-solves): the fields stay None and
    to_dir writes no changes.csv or alternatives.csv."""
    plan = planner.solve(str(toy_dir))
    assert plan.changes is None and plan.spend_changes is None and plan.alternatives is None
    assert plan.analysis_tables() == {}
