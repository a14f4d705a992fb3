"""Output folders, driven as a user drives them: `python -m planner ...` in a subprocess.

A wrong --out must be an exit 2 with a reason *before* solving, and must never cost a file: the
instance's folder, the current folder, a folder of documents, a file given as a folder. Folders
the planner wrote (they hold .planner-plan) may be replaced, keeping what the user added there;
--force writes into others, replacing only files named as the planner's outputs, but never the
instance, another instance's folder or a folder above one. Plan folders are read
back by one reader with the writer's types, so ids such as 007, 100, NA and =x compare as
themselves.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
TOY = ROOT / "instances" / "toy"
MARKER = ".planner-plan"


def run_cli(*args: str, cwd: Path | None = None, umask: int | None = None,
            **kwargs) -> subprocess.CompletedProcess:
    """The CLI of this checkout, from any folder (PYTHONPATH points at the checkout)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def child() -> None:
        if umask is not None:
            os.umask(umask)

    return subprocess.run([sys.executable, "-m", "planner", *args], capture_output=True,
                          text=True, check=False, cwd=cwd, env=env, preexec_fn=child,
                          timeout=300, **kwargs)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture
def area(tmp_path: Path) -> Path:
    """A copy of the toy instance in a folder of its own, as an analyst keeps it."""
    target = tmp_path / "my-area"
    shutil.copytree(TOY, target)
    return target


# --- 1. --out never replaces what the planner did not write ----------------------------------
@pytest.mark.parametrize("force", [False, True])
def test_out_is_never_the_instance_folder_or_above(area: Path, force: bool) -> None:
    before = snapshot(area.parent)
    for out in (area, area.parent):
        done = run_cli("solve", str(area), "--out", str(out), *(["--force"] if force else []))
        assert done.returncode == 2, done.stderr
        assert "instance's folder" in done.stderr and "Traceback" not in done.stderr
        assert "toy: optimal" not in done.stdout  # refused before solving
    assert snapshot(area.parent) == before


def test_out_is_never_a_workbook_folder(tmp_path: Path) -> None:
    made = run_cli("new", str(tmp_path / "book"), "--xlsx")
    assert made.returncode == 0, made.stderr
    workbook = tmp_path / "book" / "instance.xlsx"
    done = run_cli("solve", str(workbook), "--out", str(tmp_path / "book"), "--force")
    assert done.returncode == 2 and "instance's folder" in done.stderr
    assert workbook.is_file()


@pytest.mark.parametrize("out", [".", "/", "~"])
def test_out_is_never_cwd_root_or_home(area: Path, tmp_path: Path, out: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("mine")
    done = run_cli("solve", str(area), "--out", os.path.expanduser(out), "--force", cwd=work)
    assert done.returncode == 2, done.stderr
    assert "would replace it" in done.stderr and "internal error" not in done.stderr
    assert (work / "notes.txt").read_text() == "mine"


def test_out_refuses_a_folder_of_documents_unless_forced(area: Path, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "board-paper.md").write_text("draft")
    done = run_cli("solve", str(area), "--out", str(docs))
    assert done.returncode == 2 and "not a plan this planner wrote" in done.stderr
    assert "--force" in done.stderr and (docs / "board-paper.md").read_text() == "draft"
    forced = run_cli("solve", str(area), "--out", str(docs), "--force", "--no-marginal")
    assert forced.returncode == 0, forced.stderr
    assert (docs / MARKER).is_file() and (docs / "board-paper.md").read_text() == "draft"


def test_out_refuses_a_file(area: Path, tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("keep me")
    for command in (["solve", str(area)], ["derive", str(area)], ["pareto", str(area)]):
        done = run_cli(*command, "--out", str(readme))
        assert done.returncode == 2, (command, done.stderr)
        assert "is a file" in done.stderr
    assert run_cli("new", str(readme)).returncode == 2
    plan = tmp_path / "plan"
    assert run_cli("solve", str(area), "--out", str(plan), "--no-marginal").returncode == 0
    for command in (["compare", str(plan), "--status-quo", str(area)], ["report", str(plan)]):
        done = run_cli(*command, "--out", str(readme))
        assert done.returncode == 2 and "is a file" in done.stderr, (command, done.stderr)
    assert readme.read_text() == "keep me"


def test_a_plan_folder_is_replaced_and_marked_keeping_what_the_user_added(area: Path,
                                                                         tmp_path: Path) -> None:
    out = tmp_path / "plan"
    out.mkdir()  # empty: fine
    assert run_cli("solve", str(area), "--out", str(out), "--no-marginal").returncode == 0
    assert (out / MARKER).is_file()
    (out / "stray.csv").write_text("x")  # not a file the planner wrote: kept
    again = run_cli("solve", str(area), "--out", str(out), "--no-marginal")
    assert again.returncode == 0, again.stderr
    assert "kept 1 entry you added" in again.stderr and "stray.csv" in again.stderr
    assert (out / "stray.csv").read_text() == "x" and (out / "plan.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my-area", "plan"]  # no debris


def test_derive_compare_report_refuse_a_users_folder(area: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan"
    assert run_cli("solve", str(area), "--out", str(plan), "--no-marginal").returncode == 0
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "summary.md").write_text("my own summary")
    for command in (["derive", str(area)], ["report", str(plan)],
                    ["compare", str(plan), "--status-quo", str(area)]):
        done = run_cli(*command, "--out", str(docs))
        assert done.returncode == 2, (command, done.stderr)
        assert "not a plan this planner wrote" in done.stderr
    assert (docs / "summary.md").read_text() == "my own summary"
    changes = (plan / "changes.csv").read_bytes()
    into_plan = run_cli("compare", str(plan), "--status-quo", str(area), "--out", str(plan))
    assert into_plan.returncode == 2 and "plan being compared" in into_plan.stderr
    assert (plan / "changes.csv").read_bytes() == changes
    derived = run_cli("derive", str(area), "--out", str(tmp_path / "derived"))
    assert derived.returncode == 0 and (tmp_path / "derived" / MARKER).is_file()
    assert run_cli("derive", str(area), "--out", str(tmp_path / "derived")).returncode == 0



def test_sweep_and_pareto_refusals_do_not_offer_a_force_they_lack(area: Path,
                                                                  tmp_path: Path) -> None:
    """sweep and pareto have no --force: refusing a user's folder, their fix must not tell the
    analyst to add one (click would then reject the option), and the file stays."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.txt").write_text("mine")
    spec = tmp_path / "budgets.yaml"
    spec.write_text("parameters:\n  policy.budget: [1400000]\n")
    for command in (["sweep", str(area), str(spec)], ["pareto", str(area)]):
        done = run_cli(*command, "--out", str(docs))
        assert done.returncode == 2, (command, done.stderr)
        assert "not a plan this planner wrote" in done.stderr and "--force" not in done.stderr
    assert (docs / "notes.txt").read_text() == "mine"

def test_a_sweep_in_a_plan_folder_is_not_removed_by_a_solve_without_force(area: Path,
                                                                          tmp_path: Path) -> None:
    """A sweep run into a plan folder leaves its results there; solving into the folder again
    would replace every planner file in it, the sweep's with them, so it is refused (exit 2,
    the sweep untouched) unless --force says to. planner risk, which only adds files, is not."""
    out = tmp_path / "mine"
    assert run_cli("solve", str(area), "--out", str(out), "--no-marginal").returncode == 0
    spec = tmp_path / "budgets.yaml"
    spec.write_text("parameters:\n  policy.budget: [1400000]\n")
    assert run_cli("sweep", str(area), str(spec), "--out", str(out)).returncode == 0
    assert "sweep.json" in snapshot(out) and "results.csv" in snapshot(out)
    # a command that only adds files (risk) is not refused, and keeps the sweep
    assert run_cli("risk", str(out), "--draws", "200").returncode == 0
    swept = snapshot(out)
    assert "sweep.json" in swept and "results.csv" in swept and "risk.json" in swept
    again = run_cli("solve", str(area), "--out", str(out), "--no-marginal")
    assert again.returncode == 2 and "holds a sweep's results" in again.stderr
    assert snapshot(out) == swept
    forced = run_cli("solve", str(area), "--out", str(out), "--no-marginal", "--force")
    assert forced.returncode == 0, forced.stderr
    assert (out / "plan.json").is_file()


# --- 2. unwritable --out: exit 2 before solving -----------------------------------------------
def test_out_under_a_file_is_exit_2_before_solving(area: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    done = run_cli("solve", str(area), "--out", str(blocker / "plan"))
    assert done.returncode == 2 and "which is a file" in done.stderr
    assert "internal error" not in done.stderr and "toy: optimal" not in done.stdout


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders; the path "
                    "under a file and /proc cases cover the check for root")
def test_read_only_out_is_exit_2(area: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        done = run_cli("solve", str(area), "--out", str(locked / "plan"))
    finally:
        locked.chmod(0o700)
    assert done.returncode == 2 and "cannot write" in done.stderr


def test_out_where_a_test_write_fails_is_exit_2(area: Path) -> None:
    """/proc refuses new files even to root: the test write, not the permission bits, decides."""
    done = run_cli("solve", str(area), "--out", "/proc/planner-plan")
    assert done.returncode == 2, done.stderr
    assert "cannot write" in done.stderr and "toy: optimal" not in done.stdout


# --- 3. default paths from the instance name --------------------------------------------------
@pytest.mark.parametrize("name", ["../../victim", "ABSOLUTE", "x" * 300, "area\u0000nul"])
def test_default_out_is_a_safe_slug_of_the_name(area: Path, tmp_path: Path, name: str) -> None:
    """No --out: out/<slug of name>; 300 characters are cut to 80. A NUL is exit 2 before
    solving (reports cannot show it). The folder a ../ or absolute name points at is never
    touched."""
    work = tmp_path / "deep" / "work"
    work.mkdir(parents=True)
    victim = tmp_path / "deep" / "victim"  # where work/out/../../victim points
    victim.mkdir()
    (victim / "keep.txt").write_text("mine")
    name = str(victim) if name == "ABSOLUTE" else name
    config = (area / "instance.yaml").read_text().replace("name: toy", f"name: {json.dumps(name)}")
    (area / "instance.yaml").write_text(config)
    done = run_cli("solve", str(area), "--no-marginal", cwd=work)
    if "\0" in name:
        assert done.returncode == 2 and "column 'name'" in done.stderr and "U+0000" in done.stderr
        assert "toy: optimal" not in done.stdout and not (work / "out").exists()
        return
    assert done.returncode == 0, done.stderr
    [written] = list((work / "out").iterdir())
    assert (written / MARKER).is_file() and 0 < len(written.name) <= 80
    assert not written.name.startswith(".") and "\0" not in written.name
    assert f"plan written to out/{written.name}/" in done.stdout
    assert sorted(p.name for p in victim.iterdir()) == ["keep.txt"]
    assert (victim / "keep.txt").read_text() == "mine"


# --- 4. input or environment at fault: exit 2, never "internal error" -------------------------
def test_report_on_a_corrupt_plan_folder_is_exit_2(area: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan"
    assert run_cli("solve", str(area), "--out", str(plan), "--no-marginal").returncode == 0
    breakages = [("plan.json", "{not json"), ("plan.json", "[1, 2]"),
                 ("contracts.csv", "service,provider\n\"unclosed"),
                 ("contracts.csv", "service,provider\na,b\n"), ("services.csv", ""),
                 ("providers.csv", "provider\na\n"), ("diagnosis.json", "{bad")]
    for number, (name, content) in enumerate(breakages):
        broken = tmp_path / f"broken-{number}-{name}"
        shutil.copytree(plan, broken)
        (broken / name).write_text(content)
        for command in (["report", str(broken)], ["compare", str(broken), str(plan)]):
            if command[0] == "compare" and name == "diagnosis.json":
                continue  # compare does not read the diagnosis
            done = run_cli(*command)
            assert done.returncode == 2, (command, name, done.stderr)
            assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    missing = tmp_path / "no-json"
    shutil.copytree(plan, missing)
    (missing / "plan.json").unlink()
    assert run_cli("report", str(missing)).returncode == 2
    # a hand edit that leaves the file readable but a number not a number ('abc' for a year)
    edited = tmp_path / "edited"
    shutil.copytree(plan, edited)
    lines = (edited / "providers.csv").read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("year")] = "abc"
    (edited / "providers.csv").write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
    done = run_cli("report", str(edited))
    assert done.returncode == 2
    assert "line 2, column 'year': 'abc' is not a number" in done.stderr


def test_a_file_size_limit_is_exit_2(area: Path, tmp_path: Path) -> None:
    """ulimit -f: Python ignores SIGXFSZ, so the write fails with EFBIG; say so, exit 2."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "planner", "solve", str(area), "--out",
                           str(tmp_path / "plan"), "--no-marginal"], capture_output=True,
                          text=True, env=env, preexec_fn=limit, timeout=300, check=False)
    assert done.returncode == 2, done.stderr
    assert "file-size limit" in done.stderr and "internal error" not in done.stderr
    assert not (tmp_path / "plan").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["my-area"]


def test_a_full_disk_is_exit_2(area: Path, tmp_path: Path, monkeypatch) -> None:
    """ENOSPC, raised where the plan's tables are written, through the CLI's own handler."""
    import errno

    from click.testing import CliRunner

    from planner.cli.main import main

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "plan"))

    monkeypatch.setattr("planner.results.plan.write_csv", full)
    result = CliRunner().invoke(main, ["solve", str(area), "--out", str(tmp_path / "plan"),
                                       "--no-marginal"])
    assert result.exit_code == 2, result.output
    assert "no space left on the device" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["my-area"]


# --- 6. --log, permissions -------------------------------------------------------------------
def test_log_into_a_missing_folder_is_exit_2(area: Path, tmp_path: Path) -> None:
    for log in (tmp_path / "nowhere" / "highs.log", tmp_path):
        done = run_cli("solve", str(area), "--out", str(tmp_path / "plan"), "--log", str(log))
        assert done.returncode == 2, done.stderr
        assert "--log" in done.stderr and "toy: optimal" not in done.stdout
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert run_cli("solve", str(area), "--log", str(blocker / "h.log")).returncode == 2


def test_plan_folders_follow_the_umask(area: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan"
    done = run_cli("solve", str(area), "--out", str(out), "--no-marginal", umask=0o022)
    assert done.returncode == 0, done.stderr
    assert out.stat().st_mode & 0o777 == 0o755
    shared = tmp_path / "shared"
    assert run_cli("solve", str(area), "--out", str(shared), "--no-marginal",
                   umask=0o077).returncode == 0
    assert shared.stat().st_mode & 0o777 == 0o700


# --- 7. one reader: ids as text, escaping undone ----------------------------------------------
def test_compare_reads_ids_as_the_writer_wrote_them(area: Path, tmp_path: Path) -> None:
    renames = {"high_street_surgery": "007", "riverside_federation": "100",
               "county_hospital": "NA", "diabetes_care": "=x"}
    for table in area.glob("*.csv"):
        content = table.read_text()
        for old, new in renames.items():
            content = content.replace(old, new)
        table.write_text(content)
    plan = tmp_path / "plan"
    assert run_cli("solve", str(area), "--out", str(plan), "--no-marginal").returncode == 0
    changes = pd.read_csv(plan / "changes.csv", dtype=str, keep_default_na=False)
    assert set(changes["provider"]) == {"007", "100", "NA"} and "'=x" in set(changes["service"])
    expected = changes["change"].value_counts()
    done = run_cli("compare", str(plan), "--status-quo", str(area), "--out",
                   str(tmp_path / "cmp"))
    assert done.returncode == 0, done.stderr
    line = next(row for row in done.stdout.splitlines() if "contracts:" in row)
    for kind in ("started", "ended", "moved", "volume changed", "same"):
        assert f"{expected.get(kind, 0)} {kind}" in line, line
    assert expected.get("same", 0) == 1 and expected.get("volume changed", 0) == 1
    again = pd.read_csv(tmp_path / "cmp" / "changes.csv", dtype=str, keep_default_na=False)
    assert again.sort_values(["service", "provider"]).reset_index(drop=True).equals(
        changes.sort_values(["service", "provider"]).reset_index(drop=True))
    from planner.results.plan import read_plan_table

    read = read_plan_table(plan / "contracts.csv")
    assert {"007", "100", "NA"} <= set(read["provider"]) and "=x" in set(read["service"])
