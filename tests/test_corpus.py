"""The malformed-input corpus: every case is refused with a clear message, and nothing is written.

Each folder of ``tests/corpus`` is a copy of the toy instance with one kind of damage; its
``expected.txt`` holds, one per line, substrings the report must contain (lines starting with
``#`` say what the case is). A few cases cannot be committed (a 200 MB table, a FIFO, a symlink
out of the folder, a 100,000-bracket YAML file) and are built at test time in a temporary folder.

For every case, ``planner validate CASE`` is run as the analyst runs it (a subprocess; the cases
in parallel) and ``planner solve CASE --out X`` through click's test runner (in-process: a
refused solve stops at loading, so a process of its own would only add start-up time; an
exception escaping the command would show as ``result.exception``). Both must exit 2, print
every expected message (table, row, line, column, and a fix) and no traceback, and the solve
must write nothing at X.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

import planner
from planner.cli.main import main
from planner.data.checks import DataWarning, scaling_warnings

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).parent / "corpus"
TOY = ROOT / "instances" / "toy"
TABLES = ("instance.yaml", "instance", "levels", "services", "providers", "offers",
          "level_effects")
COMMITTED = sorted(p.name for p in CORPUS.iterdir() if (p / "expected.txt").is_file())

# Cases built at test time: name -> expected substrings.
GENERATED = {
    "large_file": ["offers: offers.csv is 200 MB, larger than the 100 MB limit for one table. "
                   "Fix: Check it is the right file."],
    "fifo_table": ["offers: 'offers.csv' is a pipe, socket or device, not a CSV file. Fix: Give "
                   "the path of the table's CSV file."],
    "symlink_out_of_folder": ["instance.yaml: table path 'offers.csv' for offers leaves the "
                              "instance folder. Fix: Keep every table inside the instance folder."],
    "yaml_deep_nesting": ["instance.yaml: nests brackets more than 50 deep."],
}


@dataclass
class Outcome:
    """What one case gave: exit codes, error output, and whether solve wrote its folder."""

    validate_code: int
    validate_err: str
    solve_code: int
    solve_err: str
    wrote: bool
    seconds: float


def _expected(case: str) -> list[str]:
    if case in GENERATED:
        return GENERATED[case]
    lines = (CORPUS / case / "expected.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def _generate(folder: Path) -> dict[str, Path]:
    """Build the cases that cannot live in git, each from a copy of the toy."""
    made = {}
    for name in GENERATED:
        target = folder / name
        shutil.copytree(TOY, target)
        made[name] = target
    with (made["large_file"] / "offers.csv").open("r+b") as handle:
        handle.truncate(200_000_000)  # sparse: 200 MB by size, no disk used; never read
    (made["fifo_table"] / "offers.csv").unlink()
    os.mkfifo(made["fifo_table"] / "offers.csv")  # reading it would block for ever
    outside = folder / "outside.csv"
    shutil.copyfile(TOY / "offers.csv", outside)
    (made["symlink_out_of_folder"] / "offers.csv").unlink()
    (made["symlink_out_of_folder"] / "offers.csv").symlink_to(outside)
    (made["yaml_deep_nesting"] / "instance.yaml").write_text(
        "name: toy\npopulation: 10000\nx: " + "[" * 100_000 + "\n", encoding="utf-8")
    return made


def _validate(folder: Path) -> tuple[int, str, float]:
    """``planner validate`` in a fresh Python process: exit code, stderr, seconds."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "planner", "validate", str(folder)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    return done.returncode, done.stderr, time.perf_counter() - started


def _solve(folder: Path, out: Path) -> tuple[int, str]:
    """``planner solve`` in this process; an escaping exception is reported as exit 99."""
    result = CliRunner().invoke(main, ["solve", str(folder), "--out", str(out), "--no-marginal"])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return 99, f"Traceback: {type(result.exception).__name__}: {result.exception}"
    return result.exit_code, result.stderr


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Run every case once: the validations in parallel processes, then the solves."""
    scratch = tmp_path_factory.mktemp("corpus")
    folders = {case: CORPUS / case for case in COMMITTED} | _generate(scratch)
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        validated = dict(zip(folders, pool.map(_validate, folders.values())))
    results = {}
    for case, folder in folders.items():
        out = scratch / "plans" / case
        code, err, seconds = validated[case]
        solve_code, solve_err = _solve(folder, out)
        results[case] = Outcome(code, err, solve_code, solve_err, out.exists(), seconds)
    return results


@pytest.mark.parametrize("case", COMMITTED + list(GENERATED))
def test_case_is_refused_clearly(outcomes: dict[str, Outcome], case: str) -> None:
    result = outcomes[case]
    for command, code, err in (("validate", result.validate_code, result.validate_err),
                               ("solve", result.solve_code, result.solve_err)):
        assert "Traceback" not in err, f"{command} printed a traceback:\n{err}"
        assert code == 2, f"{command} exited {code}, not 2:\n{err}"
        for expected in _expected(case):
            assert expected in err, f"{command} did not say:\n  {expected}\nIt said:\n{err}"
        problems = [line[4:] for line in err.splitlines() if line.startswith("  - ")]
        assert problems, err
        for line in problems:
            assert line.startswith(TABLES), f"a problem naming no table: {line}"
            assert "Fix: " in line, f"a problem with no fix: {line}"
    assert not result.wrote, "a refused solve wrote its output folder"


def test_large_file_refused_without_reading(outcomes: dict[str, Outcome]) -> None:
    """The 200 MB table is refused from its size: validating it takes no longer than the rest."""
    assert outcomes["large_file"].seconds < 30


def test_every_case_has_expectations() -> None:
    for case in COMMITTED:
        assert _expected(case), f"{case}/expected.txt names no message"


# --- quirks that are accepted, not refused ---------------------------------------------------
def _load(folder: Path) -> planner.Instance:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        return planner.load_instance(folder)


def test_bom_blank_rows_and_trailing_commas_are_harmless(tmp_path: Path) -> None:
    """A byte-order mark, CRLF line ends, blank lines, ',,,,' rows and empty trailing columns
    (what spreadsheets write) give exactly the toy's data."""
    shutil.copytree(TOY, tmp_path / "toy")
    offers = tmp_path / "toy" / "offers.csv"
    lines = offers.read_text(encoding="utf-8").splitlines()
    messy = [line + ",," for line in lines[:3]] + ["", ",,,,,,,,"] + lines[3:] + [",,,", ""]
    offers.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(messy).encode("utf-8"))
    assert _load(tmp_path / "toy").sha256() == _load(TOY).sha256()


def test_badly_scaled_money_warns_naming_columns(toy_copy: Path) -> None:
    """A £0.00001 price beside a £1.4m budget: valid, but a DataWarning names both columns."""
    offers = toy_copy / "offers.csv"
    offers.write_text(offers.read_text().replace(",29,0.85,", ",0.00001,0.85,"))
    with pytest.warns(DataWarning, match=r"money values span 1e-05 £ \(offers.price\) to "
                                         r"1\.4e\+06 £ \(policy.budget\)"):
        instance = planner.load_instance(toy_copy)
    assert len(scaling_warnings(instance.config, instance.tables())) == 1


def test_well_scaled_instances_do_not_warn() -> None:
    for name in ("toy", "pct"):
        _load(ROOT / "instances" / name)
