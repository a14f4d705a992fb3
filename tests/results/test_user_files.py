"""A file a user drops into a plan folder is never deleted or overwritten by the planner.

The marker ``.planner-plan`` lists what the planner wrote into the folder; replacing the plan
replaces those names and carries everything else (files, subfolders, symlinks) into the new
folder unchanged, even when the writer dies in the middle. A planner file of the old plan that
the new one does not write (a risk.json beside an old plan) goes: it would describe another plan.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

import planner
from planner.cli.main import main
from planner.results import outdir
from planner.results.outdir import (
    KNOWN_FILES,
    MANIFEST_HEADER,
    PLAN_FILES,
    PLAN_MARKER,
    clean_stale,
    locked,
    record_written,
    written_names,
)

pytestmark = pytest.mark.solver

ROOT = Path(__file__).resolve().parents[2]
TOY = ROOT / "instances" / "toy"
OLD_MARKER_TEXT = "A plan folder written by planner; 'planner solve --out' may replace it whole.\n"


@pytest.fixture(scope="module")
def toy_plan() -> planner.Plan:
    return planner.solve(TOY, marginal=False)


def cli(*args: str) -> tuple[int, str]:
    """The CLI in this process: exit code and everything it printed (stdout and stderr)."""
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def add_user_entries(folder: Path) -> None:
    """What an analyst keeps beside a plan: notes, a folder of drafts, a symlink."""
    (folder / "notes.txt").write_text("my notes")
    (folder / "board-paper").mkdir()
    (folder / "board-paper" / "draft.md").write_text("draft 1")
    (folder / "board-paper" / "figures").mkdir()
    (folder / "board-paper" / "figures" / "chart.svg").write_text("<svg/>")
    (folder / "latest").symlink_to("board-paper")


def assert_user_entries(folder: Path) -> None:
    assert (folder / "notes.txt").read_text() == "my notes"
    assert (folder / "board-paper" / "draft.md").read_text() == "draft 1"
    assert (folder / "board-paper" / "figures" / "chart.svg").read_text() == "<svg/>"
    assert (folder / "latest").is_symlink() and os.readlink(folder / "latest") == "board-paper"


def no_debris(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if ".planner-" in p.name]


def test_solve_keeps_what_the_user_added_and_drops_stale_planner_files(tmp_path: Path) -> None:
    plan = tmp_path / "plan"
    code, output = cli("solve", str(TOY), "--out", str(plan), "--no-marginal")
    assert code == 0, output
    code, output = cli("risk", str(plan), "--draws", "200")  # a planner file the next plan lacks
    assert code == 0, output
    add_user_entries(plan)
    inode = (plan / "notes.txt").stat().st_ino
    code, output = cli("solve", str(TOY), "--out", str(plan), "--no-marginal")
    assert code == 0, output
    assert "kept 3 entries you added" in output and "board-paper/, latest, notes.txt" in output
    assert_user_entries(plan)
    assert (plan / "notes.txt").stat().st_ino == inode  # the same file, not a copy
    assert not (plan / "risk.json").exists() and not (plan / "risk.csv").exists()
    assert (plan / "plan.json").is_file() and not no_debris(tmp_path)
    assert "notes.txt" not in written_names(plan) and "plan.json" in written_names(plan)


def test_report_and_risk_record_their_files_and_keep_the_users(tmp_path: Path,
                                                               toy_plan: planner.Plan) -> None:
    plan = toy_plan.to_dir(tmp_path / "plan", reports=False)
    add_user_entries(plan)
    for command in (["report", str(plan)], ["risk", str(plan), "--draws", "200"]):
        code, output = cli(*command)
        assert code == 0, (command, output)
    assert_user_entries(plan)
    assert {"report.html", "summary.md", "plan.xlsx", "risk.json", "risk.csv"} <= written_names(plan)
    users = {"notes.txt", "board-paper", "latest", PLAN_MARKER}
    assert {p.name for p in plan.iterdir()} - users <= KNOWN_FILES  # what an older marker lacks
    toy_plan.to_dir(plan, reports=False)  # their files go with the old plan; the user's stay
    assert_user_entries(plan)
    assert not [n for n in ("report.html", "risk.json") if (plan / n).exists()]


def test_a_users_file_with_a_name_the_planner_writes_is_refused(tmp_path: Path,
                                                                toy_plan: planner.Plan) -> None:
    plan = toy_plan.to_dir(tmp_path / "plan", reports=False)
    (plan / "bundles.csv").write_text("mine")  # the toy plan writes none, but a plan may
    code, output = cli("solve", str(TOY), "--out", str(plan), "--force")
    assert code == 2 and "bundles.csv, which you added" in output, output
    assert "toy: optimal" not in output  # refused before solving
    (plan / "bundles.csv").unlink()
    (plan / "risk.json").write_text("mine")  # kept, it would break report: 'not valid JSON'
    code, output = cli("solve", str(TOY), "--out", str(plan))
    assert code == 2 and "risk.json, which you added" in output, output
    (plan / "risk.json").unlink()
    (plan / "report.html").write_text("my own report")  # not the planner's: reports=False
    code, output = cli("report", str(plan))
    assert code == 2 and "report.html, which you added" in output, output
    assert (plan / "report.html").read_text() == "my own report"
    with pytest.raises(planner.PlannerError, match="report.html, which you added"):
        toy_plan.to_dir(plan)
    assert (plan / "report.html").read_text() == "my own report" and not no_debris(tmp_path)


def test_an_older_planners_marker_keeps_all_but_the_known_names(tmp_path: Path,
                                                                 toy_plan: planner.Plan) -> None:
    plan = toy_plan.to_dir(tmp_path / "plan")
    (plan / PLAN_MARKER).write_text(OLD_MARKER_TEXT)  # as the previous version wrote it
    (plan / "risk.json").write_text("{}")  # an older planner's own file
    add_user_entries(plan)
    assert written_names(plan) == KNOWN_FILES
    toy_plan.to_dir(plan, reports=False)
    assert_user_entries(plan)
    assert not (plan / "risk.json").exists() and not (plan / "report.html").exists()
    assert MANIFEST_HEADER in (plan / PLAN_MARKER).read_text()


def test_a_forced_folder_without_a_marker_keeps_all_but_the_planners_names(
        tmp_path: Path, toy_plan: planner.Plan) -> None:
    """--force is for a plan folder an older planner wrote without a marker: its files named as
    a plan's are replaced, and said; the user's documents beside them are kept, and so are
    folders, hidden files and files a sweep or derive would write (results.csv, plans/)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "board-paper.md").write_text("draft")
    (docs / "plan.json").write_text("{}")  # an older planner's
    (docs / "plans").mkdir()
    (docs / "plans" / "2025 strategy.docx").write_text("mine")
    (docs / "results.csv").write_text("mine")
    (docs / ".summary.md.swp").write_text("mine")
    code, output = cli("solve", str(TOY), "--out", str(docs))
    assert code == 2 and "(.summary.md.swp, board-paper.md, plan.json, plans" in output, output
    said = []
    toy_plan.to_dir(docs, force=True, reports=False, notify=said.append)
    assert (docs / "board-paper.md").read_text() == "draft"
    assert json.loads((docs / "plan.json").read_text())["status"] == "optimal"
    assert "--force: replaced or removed plan.json in" in said[0], said
    for kept in ("board-paper.md", "plans/", "results.csv", ".summary.md.swp"):
        assert kept in said[1], (kept, said)
    assert (docs / "plans" / "2025 strategy.docx").read_text() == "mine"
    assert (docs / "results.csv").read_text() == "mine" == (docs / ".summary.md.swp").read_text()
    assert "board-paper.md" not in written_names(docs)  # the user's from now on


def test_force_never_writes_into_another_instances_folder(tmp_path: Path) -> None:
    """An instance folder's services.csv, offers.csv … have the names of a plan's files."""
    other = tmp_path / "other"
    shutil.copytree(TOY, other)
    code, output = cli("solve", str(TOY), "--out", str(other), "--force")
    assert code == 2 and "instance's folder" in output and "toy: optimal" not in output, output
    assert sorted(p.name for p in other.iterdir()) == sorted(p.name for p in TOY.iterdir())


@pytest.mark.parametrize("fails", ["aside", "in"])
def test_a_failed_swap_leaves_the_users_files_in_place(tmp_path: Path, toy_plan: planner.Plan,
                                                       monkeypatch, fails: str) -> None:
    """os.replace fails moving the old plan aside (the user's files are then in the plan and,
    as links, in staging), or moving the new one in (the old folder is put back)."""
    plan = toy_plan.to_dir(tmp_path / "plan", reports=False)
    add_user_entries(plan)
    real = os.replace

    def failing(source, dest):
        moving_aside = Path(source) == plan and ".planner-old-" in str(dest)
        moving_in = Path(dest) == plan and ".planner-staging-" in str(source)
        if (moving_aside and fails == "aside") or (moving_in and fails == "in"):
            raise OSError(5, "Input/output error")
        return real(source, dest)

    monkeypatch.setattr(outdir.os, "replace", failing)
    with pytest.raises(OSError):
        toy_plan.to_dir(plan, reports=False)
    monkeypatch.setattr(outdir.os, "replace", real)
    assert_user_entries(plan)
    with locked(plan):
        clean_stale(plan)
    assert_user_entries(plan)
    assert not no_debris(tmp_path)


DIE_IN_THE_SWAP = """
import os, sys
from pathlib import Path
import planner
plan = planner.solve(sys.argv[1], marginal=False)
target, point = Path(sys.argv[2]), sys.argv[3]
real = os.replace
def dying(source, dest):
    if Path(source) == target and ".planner-old-" in str(dest):
        if point == "between":
            real(source, dest)
        os._exit(9)  # as SIGKILL: no cleanup runs
    return real(source, dest)
os.replace = dying
plan.to_dir(target, reports=False)
"""


@pytest.mark.parametrize("point", ["before", "between"])
def test_a_writer_killed_in_the_swap_loses_no_user_file(tmp_path: Path, toy_plan: planner.Plan,
                                                        point: str) -> None:
    """Killed after linking the user's files into staging, before the swap or between its two
    renames (the plan folder is then missing and only the old copy holds them): the next writer
    (clean_stale) removes the dead staging and puts the old copy back, never deleting theirs."""
    plan = toy_plan.to_dir(tmp_path / "plan", reports=False)
    add_user_entries(plan)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", DIE_IN_THE_SWAP, str(TOY), str(plan), point],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 9, done.stderr
    assert plan.exists() == (point == "before")
    assert any(".planner-staging-" in name for name in no_debris(tmp_path))
    with locked(plan):
        clean_stale(plan)
    assert_user_entries(plan)
    assert not [n for n in no_debris(tmp_path) if "lock" not in n]
    toy_plan.to_dir(plan, reports=False)
    assert_user_entries(plan)
    assert not no_debris(tmp_path)


def test_concurrent_writers_lose_no_recorded_name(tmp_path: Path, toy_plan: planner.Plan) -> None:
    plan = toy_plan.to_dir(tmp_path / "plan", reports=False)
    names = [f"extra-{i}.csv" for i in range(24)]
    threads = [threading.Thread(target=record_written, args=(plan, [name])) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(names) <= written_names(plan) and not no_debris(tmp_path)


def test_the_known_names_cover_every_writer(tmp_path: Path, toy_plan: planner.Plan) -> None:
    """KNOWN_FILES is what an older marker's folder counts as the planner's: a writer that gains
    a file must add it there, or a later replace would keep it as the user's."""
    from planner.cli.sweep import PARETO_FILES
    from planner.reports.writer import REPORT_FILES
    from planner.sweeps.store import SWEEP_FILES

    tables = {f"{f.name}.csv" for f in dataclasses.fields(planner.Plan)
              if "DataFrame" in str(f.type)}
    assert tables | {"plan.json", "diagnosis.json", *REPORT_FILES} <= PLAN_FILES
    assert {*PARETO_FILES, *SWEEP_FILES} <= KNOWN_FILES
    plan = toy_plan.to_dir(tmp_path / "plan", reports=False)
    for name, command in {"derived": ["derive", str(TOY)],
                          "compared": ["compare", str(plan), "--status-quo", str(TOY)]}.items():
        code, output = cli(*command, "--out", str(tmp_path / name))
        assert code == 0, output
        names = {p.name for p in (tmp_path / name).iterdir()} - {PLAN_MARKER}
        assert names <= KNOWN_FILES and written_names(tmp_path / name) == names


def test_a_report_given_another_instance_says_it_is_another(tmp_path: Path) -> None:
    """planner report PLAN --instance OTHER, where OTHER is a different instance (the PCT for a
    toy plan): the note says it is not the one the plan was solved from, not that it 'has
    changed'; an edited copy of the plan's own instance still reads as changed."""
    from planner.results.folder import PlanFiles

    toy = planner.load_instance(ROOT / "instances" / "toy")
    folder = planner.solve(toy).to_dir(tmp_path / "plan")
    other = PlanFiles.read(folder, instance=planner.load_instance(ROOT / "instances" / "pct"))
    assert other.instance is None
    assert other.instance_note == ("The instance given (pct) is not the one this plan was "
                                   "solved from (toy), so it is not used.")
    edited = tmp_path / "toy"
    shutil.copytree(ROOT / "instances" / "toy", edited)
    (edited / "instance.yaml").write_text((edited / "instance.yaml").read_text().replace(
        "budget: 1400000", "budget: 1500000"))
    changed = PlanFiles.read(folder, instance=planner.load_instance(edited))
    assert "has changed since this plan was solved" in changed.instance_note
