"""Hostile conditions for plan folders: racing writers, killed writers, hostile ids.

* Many writers of one folder (threads, forked processes, concurrent ``planner solve``): none
  fails, the folder ends as one whole plan, and no hidden staging or lock is left behind.
* A writer killed mid-write (SIGTERM, SIGKILL) leaves staging that the next write removes;
  staging of a live writer is left alone.
* Ids a renderer would run (``<script>``, ``=HYPERLINK``, bidi overrides) are inert in summary.md.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

import planner
from planner.results.outdir import PLAN_MARKER

ROOT = Path(__file__).resolve().parents[2]
TOY = ROOT / "instances" / "toy"
WRITERS = 16


def run_cli(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "planner", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kwargs)


def assert_one_whole_plan(parent: Path, name: str = "plan") -> None:
    """``parent`` holds the plan folder alone (no hidden staging, old copy or lock), and the
    plan is whole: every table and report, plan.json readable."""
    assert sorted(p.name for p in parent.iterdir()) == [name]
    folder = parent / name
    names = {p.name for p in folder.iterdir()}
    assert {PLAN_MARKER, "plan.json", "contracts.csv", "services.csv", "providers.csv",
            "levels.csv", "budget.csv"} <= names
    assert not [n for n in names if n.startswith(".") and n != PLAN_MARKER]
    assert json.loads((folder / "plan.json").read_text())["status"] == "optimal"


@pytest.fixture(scope="module")
def toy_plan() -> planner.Plan:
    return planner.solve(TOY)


def test_threads_writing_one_folder_never_fail(tmp_path: Path, toy_plan: planner.Plan) -> None:
    target = tmp_path / "plan"
    with ThreadPoolExecutor(WRITERS) as pool:
        results = list(pool.map(lambda i: toy_plan.to_dir(target, reports=i % 4 == 0),
                                range(WRITERS * 2)))
    assert results == [target] * WRITERS * 2
    assert_one_whole_plan(tmp_path)


_FORKED: planner.Plan | None = None


def _write_forked(target: str) -> str:
    assert _FORKED is not None
    return str(_FORKED.to_dir(target, reports=False))


def test_processes_writing_one_folder_never_fail(tmp_path: Path, toy_plan: planner.Plan) -> None:
    global _FORKED
    _FORKED = toy_plan
    target = str(tmp_path / "plan")
    with multiprocessing.get_context("fork").Pool(4) as pool:
        results = pool.map(_write_forked, [target] * WRITERS * 2)
    assert results == [target] * WRITERS * 2
    assert_one_whole_plan(tmp_path)


@pytest.mark.solver
def test_concurrent_solves_into_one_out_all_succeed(tmp_path: Path) -> None:
    target = tmp_path / "plan"
    procs = [run_cli("solve", str(TOY), "--out", str(target), "--no-marginal", "--threads", "1")
             for _ in range(6)]
    outcomes = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    for proc in procs:
        proc.stdout.close()
        proc.stderr.close()
    assert [code for code, _ in outcomes] == [0] * len(procs), outcomes
    assert_one_whole_plan(tmp_path)


WRITE_FOREVER = """
import sys
import planner
plan = planner.solve(sys.argv[1])
print("solved", flush=True)
while True:
    plan.to_dir(sys.argv[2])
"""


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_writer_leaves_nothing_the_next_write_keeps(tmp_path: Path,
                                                             toy_plan: planner.Plan,
                                                             how: signal.Signals) -> None:
    target = tmp_path / "plan"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen([sys.executable, "-c", WRITE_FOREVER, str(TOY), str(target)],
                              stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert writer.stdout.readline().strip() == "solved"
        while not target.exists():  # at least one plan written: the next is mid-write
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        writer.send_signal(how)
        writer.wait(timeout=60)
        writer.stdout.close()
    toy_plan.to_dir(target)
    assert_one_whole_plan(tmp_path)


def test_stale_staging_of_dead_or_old_writers_is_removed(tmp_path: Path,
                                                         toy_plan: planner.Plan) -> None:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = int(done.stdout)
    stale = [tmp_path / f".plan.planner-staging-{dead}-0123abcd",
             tmp_path / f".plan.planner-old-{dead}-89ef",
             tmp_path / f".plan.planner-staging-{os.getpid()}-aaaa"]  # live pid, but two days old
    live = tmp_path / f".plan.planner-staging-{os.getpid()}-bbbb"  # a live writer's: kept
    others = [tmp_path / f".other.planner-staging-{dead}-cccc",  # another target's
              tmp_path / ".plan.mine-1-dddd"]  # not a name this planner makes
    for folder in [*stale, live, *others]:
        folder.mkdir()
        (folder / "plan.json").write_text("{}")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(stale[2], (two_days_ago, two_days_ago))
    toy_plan.to_dir(tmp_path / "plan", reports=False)
    assert not [p for p in stale if p.exists()]
    assert live.is_dir() and all(p.is_dir() for p in others)


# --- hostile ids in summary.md ---------------------------------------------------------------
HOSTILE = {"high_street_surgery": "<script>alert(1)</script>",
           "riverside_federation": '=HYPERLINK("http://evil.example","x")',
           "county_hospital": "@SUM(A1)"}
BIDI_NAME = "\u202eevil\u2066area\u2069"  # shows as 'aera live' where the controls act


@pytest.mark.solver
def test_summary_md_escapes_hostile_ids(tmp_path: Path) -> None:
    area = tmp_path / "area"
    shutil.copytree(TOY, area)
    for name in ("offers", "providers"):
        frame = pd.read_csv(area / f"{name}.csv", dtype=str, keep_default_na=False)
        frame["provider"] = frame["provider"].replace(HOSTILE)
        if "name" in frame:  # the reports show names: make them the hostile text too
            frame["name"] = frame["provider"]
        frame.to_csv(area / f"{name}.csv", index=False)
    config = (area / "instance.yaml").read_text(encoding="utf-8")
    (area / "instance.yaml").write_text(config.replace("name: toy", f"name: {BIDI_NAME}"),
                                        encoding="utf-8")
    proc = run_cli("solve", str(area), "--out", str(tmp_path / "plan"), "--no-marginal")
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    summary = (tmp_path / "plan" / "summary.md").read_text(encoding="utf-8")
    assert "<script>" not in summary and "&lt;script&gt;alert(1)&lt;/script&gt;" in summary
    assert "| =HYPERLINK" not in summary and "'=HYPERLINK" in summary
    assert not [c for c in summary if 0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069]
    assert summary.startswith("# Commissioning plan: evilarea\n")
