"""Hostile sweeps: scenario names that are paths, duplicate names, YAML bombs, astronomic
products, and sweeps stopped by Ctrl-C, SIGTERM or SIGKILL half-way (no orphans, rows kept)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
TOY = ROOT / "instances" / "toy"

pytestmark = pytest.mark.solver


def _planner(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "planner", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, check=False)


def _snapshot(root: Path, skip: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every path under ``root`` outside ``skip``, with its mtime and (for files) contents
    (the folders holding ``skip`` change their mtime when it is created: theirs is not kept)."""
    seen = {}
    for path in root.rglob("*"):
        if path == skip or skip in path.parents:
            continue
        mtime = None if path in skip.parents else path.stat().st_mtime_ns
        seen[str(path)] = (mtime, path.read_bytes() if path.is_file() else None)
    return seen


def test_scenario_names_never_become_paths(tmp_path: Path) -> None:
    """Names that climb out of --out, absolute names, '.', '..', '' and 'a/b': every file stays
    under --out, nothing else is created or touched, and the real names are kept inside."""
    victim = tmp_path / "victim2"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    absolute = tmp_path / "absolute_victim"
    names = ["../../../victim2", "../../victim2", str(absolute), str(victim), "..", ".", "",
             "a/b", "s1"]
    spec = {"scenarios": {name: {"policy.budget": 1_400_000 + 1000 * i}
                          for i, name in enumerate(names)}}
    sweep_file = tmp_path / "sweep.json"  # JSON is YAML: a quoted key may hold any text
    sweep_file.write_text(json.dumps(spec))
    out = tmp_path / "o1" / "out"
    out.parent.mkdir()
    before = _snapshot(tmp_path, out)
    done = _planner("sweep", str(TOY), str(sweep_file), "--out", str(out), "--plans")
    assert done.returncode == 0, done.stderr
    assert _snapshot(tmp_path, out) == before
    assert (victim / "precious.txt").read_text() == "keep me" and not absolute.exists()
    table = pd.read_csv(out / "results.csv", keep_default_na=False)
    assert list(table["scenario"]) == names
    assert set(table["status"]) == {"optimal"}
    rows = sorted(p.name for p in (out / "rows").iterdir())
    assert len(rows) == len(names) and all("/" not in r and not r.startswith(".") for r in rows)
    plans = sorted((out / "plans").iterdir())
    assert len(plans) == len(names)
    kept = {pd.read_csv(p / "scenario.csv", keep_default_na=False)["scenario"][0] for p in plans}
    assert kept == set(names)
    for path in out.rglob("*"):
        assert path.resolve().is_relative_to(out.resolve())


@pytest.mark.parametrize(("text", "expected"), [
    ("parameters:\n  policy.budget: [1400000, 1500000]\nscenarios:\n  s2: {policy.budget: 1}\n",
     "scenario name 's2' is used twice: by swept scenario 2 (policy.budget=1500000) and by named "
     "scenario 's2'"),
    ("scenarios:\n  base: {policy.budget: 1400000}\n  base: {policy.budget: 1500000}\n",
     "key 'base' appears twice"),
])
def test_duplicate_scenario_names_are_refused_before_any_solve(tmp_path: Path, text: str,
                                                               expected: str) -> None:
    sweep_file = tmp_path / "sweep.yaml"
    sweep_file.write_text(text)
    done = _planner("sweep", str(TOY), str(sweep_file), "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert expected in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()  # refused before anything was solved or written


BILLION_LAUGHS = ("# a billion laughs: 9^9 lols\n"  # 371 bytes, expanding to 387 million lols
                  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
                  + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9)
                            + "]\n" for i in range(8)))


@pytest.mark.parametrize(("text", "expected"), [
    (BILLION_LAUGHS, "sweep.yaml uses YAML anchors/aliases (*name) at line 3"),
    ("parameters: !!python/object/apply:os.system ['echo owned']\n", "would build a Python object"),
    ("parameters:\n  policy.budget: [1]\nparameters:\n  policy.budget: [2]\n",
     "key 'parameters' appears twice"),
    ("parameters:\n  policy.budget: [" + "9" * 5000 + "]\n", "Exceeds the limit"),
    ("parameters:\n  policy.budget: [1e400]\n", "budget must be a finite number"),
    ("[" * 100_000, "nests brackets more than 50 deep"),
])
def test_sweep_files_are_read_as_safely_as_instance_yaml(tmp_path: Path, text: str,
                                                         expected: str) -> None:
    """The alias bomb is 371 bytes and would expand to 9^9 strings: refused at its first alias."""
    sweep_file = tmp_path / "sweep.yaml"
    sweep_file.write_text(text)
    done = _planner("sweep", str(TOY), str(sweep_file), "--out", str(tmp_path / "out"),
                    timeout=120)
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr and "Traceback" not in done.stderr


def test_alias_bomb_is_371_bytes() -> None:
    assert len(BILLION_LAUGHS.encode()) == 371


def test_astronomic_product_is_refused_without_expanding(tmp_path: Path) -> None:
    """Ten lists of ten values: 10^10 scenarios, counted as a product of lengths (expanding
    them would take hours and all memory; the subprocess timeout and memory limit guard that)."""
    lines = ["mode: product", "parameters:"]
    for column in ("price", "quality", "capacity"):
        lines.append(f"  offers.{column}: {{scale: [{', '.join(str(1 + i / 10) for i in range(10))}]}}")
    for column in ("demand", "tariff", "qaly_gain", "growth"):
        lines.append(f"  services.{column}: {{scale: [{', '.join(str(1 + i / 10) for i in range(10))}]}}")
    for key in ("policy.budget", "policy.value_per_qaly", "providers.min_income"):
        values = ", ".join(str(1_400_000 + i) for i in range(10))
        lines.append(f"  {key}: [{values}]" if key.startswith("policy") else
                     f"  {key}: {{scale: [{', '.join(str(1 + i / 10) for i in range(10))}]}}")
    sweep_file = tmp_path / "sweep.yaml"
    sweep_file.write_text("\n".join(lines) + "\n")

    def limit_memory() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))

    done = subprocess.run([sys.executable, "-m", "planner", "sweep", str(TOY), str(sweep_file),
                           "--out", str(tmp_path / "out")], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False, preexec_fn=limit_memory)
    assert done.returncode == 2, done.stderr
    assert "the sweep makes 10,000,000,000 scenarios" in done.stderr
    assert "more than the limit of 100,000" in done.stderr


# --- stopped half-way ------------------------------------------------------------------------
CHILD = """
import pathlib, sys, time
from planner.sweeps import runner as sweeps
original = sweeps._Job.solve
def solve(self, scenario, models):  # worker 1 hangs at s2; worker 2 finishes s6-s4, then idles
    if scenario.name in ("s1", "s2"):  # largest budget first: worker 1 solves s3, s2, s1
        while True:
            time.sleep(0.05)
    return original(self, scenario, models)
sweeps._Job.solve = solve
from planner.cli.main import main
sys.argv = ["planner", "sweep", *sys.argv[1:]]
main()
"""


def _ignores_sigint(pid: int) -> bool:
    """Whether process ``pid`` ignores SIGINT (Linux: the SigIgn mask of /proc/PID/status)."""
    status = Path(f"/proc/{pid}/status").read_text()
    mask = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigIgn")), 16)
    return bool(mask & (1 << (signal.SIGINT - 1)))


def _sweep_file(tmp_path: Path) -> Path:
    sweep_file = tmp_path / "sweep.yaml"
    budgets = ", ".join(str(1_390_000 + 10_000 * i) for i in range(6))
    sweep_file.write_text(f"parameters:\n  policy.budget: [{budgets}]\n")
    return sweep_file


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL", "Ctrl-C"])
def test_stopped_parallel_sweep_leaves_no_process_and_resumes(tmp_path: Path, how: str) -> None:
    """Of two workers, one finishes s3 and hangs at s2, the other finishes s4-s6 and waits for
    work (where, without SIGINT ignored, Ctrl-C would print a KeyboardInterrupt traceback); the
    sweep is stopped. No process of it survives, the finished rows are kept, a re-run skips them."""
    out = tmp_path / "out"
    sweep_file = _sweep_file(tmp_path)
    child = subprocess.Popen(  # Ctrl-C's default action even when the suite runs as a background job
        [sys.executable, "-c", CHILD, str(TOY), str(sweep_file), "--out", str(out),
         "--workers", "2"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120  # a harness limit, not a measurement
        while len(list((out / "rows").glob("*.json")) if (out / "rows").is_dir() else []) < 4:
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the free scenarios never finished"
            time.sleep(0.1)
        time.sleep(0.5)  # let worker 2 return its batch and wait for the next
        family = psutil.Process(child.pid).children(recursive=True)
        assert len(family) >= 2  # the workers
        workers = [p for p in family if p.ppid() == child.pid and _ignores_sigint(p.pid)]
        assert len(workers) == 2  # the parent alone answers Ctrl-C
        if how == "Ctrl-C":
            os.killpg(child.pid, signal.SIGINT)  # as a terminal does: to the whole group
        else:
            child.send_signal(getattr(signal, how))
        _, stderr = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    expected = {"SIGTERM": 143, "SIGKILL": -signal.SIGKILL, "Ctrl-C": 130}[how]
    assert child.returncode == expected, stderr
    assert "Traceback" not in stderr
    if how == "SIGTERM":
        assert "terminated: the finished scenarios are kept" in stderr
    gone, alive = psutil.wait_procs(family, timeout=30)
    assert not alive, f"processes outlived the sweep: {alive}"
    kept = sorted(json.loads(p.read_text())["scenario"] for p in (out / "rows").glob("*.json"))
    assert kept == ["s3", "s4", "s5", "s6"]
    assert not list((out / "rows").glob(".*"))  # no half-written row left behind
    again = _planner("sweep", str(TOY), str(sweep_file), "--out", str(out), "--workers", "2")
    assert again.returncode == 0, again.stderr
    assert "resuming: 4 of 6 scenarios already done, skipped" in again.stderr
    assert len(pd.read_csv(out / "results.csv")) == 6
