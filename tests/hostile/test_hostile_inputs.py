"""Hostile and awkward input files: each is refused (exit 2, a clear message) or read right.

Bombs are scaled down to just past the documented limits (planner.data.xlsx_guard); what they would
cost unguarded is bounded by the harness, not by timing assertions: each command runs in a
subprocess with a wall-clock timeout and an address-space limit (``RLIMIT_AS``), so a reader
that expanded the bomb would die of MemoryError or be killed, and the test would fail.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

import planner
from planner.data.workbook_writer import write_instance_workbook
from planner.data.xlsx_guard import MAX_PART_BYTES, MAX_SHARED_STRINGS_BYTES
from planner.errors import MAX_SHOWN_PER_KIND, InputError

ROOT = Path(__file__).resolve().parents[2]
TOY = ROOT / "instances" / "toy"
GB = 1024**3
MEMORY = int(1.5 * GB)  # a planner process reading the toy needs well under this


def run_planner(*args: str, memory: int = MEMORY, timeout: float = 120,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m planner ARGS`` with an address-space limit and a timeout (the harness)."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return subprocess.run([sys.executable, "-m", "planner", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT, preexec_fn=limit,
                          env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})})


def assert_refused(done: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, f"exit {done.returncode}:\n{done.stderr}"
    for text in expected:
        assert text in done.stderr, f"missing {text!r} in:\n{done.stderr}"


@pytest.fixture(scope="module")
def toy_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("book") / "toy.xlsx"
    return write_instance_workbook(planner.load_instance(TOY), path)


def edited(book: Path, target: Path, edit) -> Path:
    """A copy of ``book`` changed by ``edit(workbook)`` and saved with openpyxl."""
    workbook = openpyxl.load_workbook(book)
    edit(workbook)
    workbook.save(target)
    return target


def rezipped(book: Path, target: Path, parts: dict[str, bytes | None]) -> Path:
    """A copy of ``book`` with some zip parts replaced (``None``: streamed by a generator)."""
    with zipfile.ZipFile(book) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED,
                                                          compresslevel=1) as out:
        for info in source.infolist():
            if info.filename not in parts:
                out.writestr(info.filename, source.read(info.filename))
        for name, content in parts.items():
            out.writestr(name, content)
    return target


def set_instance_value(key: str, value: str):
    def edit(workbook: openpyxl.Workbook) -> None:
        sheet = workbook["instance"]
        for row in sheet.iter_rows(min_row=2):
            if row[0].value == key:
                row[1].value = value
                return
        sheet.append([key, value])

    return edit


# --- 1. the instance sheet is not parsed as full YAML -----------------------------------------
def test_alias_bomb_in_instance_cell_is_refused(toy_book: Path, tmp_path: Path) -> None:
    """Nine levels of nine aliases: 12 KB that YAML would expand to 9**9 items."""
    rows = ["&a0 [" + ", ".join(["1"] * 9) + "]"]
    rows += [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    bomb = "[" + ", ".join(rows) + "]"
    path = edited(toy_book, tmp_path / "bomb.xlsx", set_instance_value("policy.budget", bomb))
    done = run_planner("validate", str(path))
    assert_refused(done, "sheet 'instance' row 'policy.budget'", "anchors or aliases")


def test_deep_brackets_in_instance_cell_are_refused(toy_book: Path, tmp_path: Path) -> None:
    path = edited(toy_book, tmp_path / "deep.xlsx",
                  set_instance_value("policy.budget", "[" * 30_000))
    done = run_planner("validate", str(path))
    assert_refused(done, "policy.budget", "nests brackets more than 50 deep")


def test_lists_in_json_and_yaml_flow_still_read(toy_book: Path, tmp_path: Path) -> None:
    target = '[{category: "primary", settings: [hospital], min_share: 0.1}]'
    path = edited(toy_book, tmp_path / "flow.xlsx",
                  set_instance_value("policy.setting_targets", target))
    instance = planner.load_instance(path)
    assert instance.config.policy.setting_targets[0].min_share == 0.1
    path = edited(toy_book, tmp_path / "tag.xlsx",
                  set_instance_value("policy.budget", "[!!python/object:os.system 1]"))
    with pytest.raises(InputError, match="tags are refused"):
        planner.load_instance(path)


# --- 2. workbook bombs ---------------------------------------------------------------------------
def _streamed_part(target: Path, book: Path, name: str, head: bytes, unit: bytes, size: int,
                   tail: bytes) -> Path:
    """``book`` with part ``name`` replaced by head + unit × n + tail (≈ ``size`` bytes),
    compressed as it is written (a few MB on disk)."""
    with zipfile.ZipFile(book) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED,
                                                          compresslevel=1) as out:
        for info in source.infolist():
            if info.filename != name:
                out.writestr(info.filename, source.read(info.filename))
        with out.open(name, "w", force_zip64=True) as stream:
            stream.write(head)
            block = unit * (1024 * 1024 // len(unit))
            for _ in range(size // len(block) + 1):
                stream.write(block)
            stream.write(tail)
    return target


def test_shared_strings_bomb_is_refused_before_reading(toy_book: Path, tmp_path: Path) -> None:
    """Millions of tiny shared strings, just past the shared-strings limit."""
    head = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    path = _streamed_part(tmp_path / "strings.xlsx", toy_book, "xl/sharedStrings.xml",
                          head, b"<si><t>a</t></si>", MAX_SHARED_STRINGS_BYTES, b"</sst>")
    assert path.stat().st_size < 5 * 1024 * 1024
    done = run_planner("validate", str(path))
    assert_refused(done, "strings.xlsx: its part 'xl/sharedStrings.xml' unpacks to", "MB limit")


def test_one_huge_string_is_refused_before_reading(toy_book: Path, tmp_path: Path) -> None:
    """One inline string in a sheet, just past the part limit."""
    head = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>')
    path = _streamed_part(tmp_path / "string.xlsx", toy_book, "xl/worksheets/sheet2.xml",
                          head, b"x", MAX_PART_BYTES, b"</t></is></c></row></sheetData></worksheet>")
    done = run_planner("validate", str(path))
    assert_refused(done, "its part 'xl/worksheets/sheet2.xml' unpacks to")


def test_stray_cell_at_xfd1048576_is_one_clear_message(toy_book: Path, tmp_path: Path) -> None:
    def stray(workbook: openpyxl.Workbook) -> None:
        workbook["offers"]["XFD1048576"] = "x"

    path = edited(toy_book, tmp_path / "stray.xlsx", stray)
    done = run_planner("validate", str(path), timeout=60)
    assert_refused(done, "sheet 'offers': its used range reaches cell XFD1048576",
                   "Delete the stray cells")
    assert done.stderr.count("\n  - ") == 1
    # the same cell with the <dimension> removed (a writer that does not declare it)
    with zipfile.ZipFile(path) as book:
        names = {i.filename for i in book.infolist()}
        sheet = next(n for n in sorted(names) if n.startswith("xl/worksheets/")
                     and b"XFD1048576" in book.read(n))
        xml = re.sub(rb"<dimension[^>]*/>", b"", book.read(sheet))
    undeclared = rezipped(path, tmp_path / "undeclared.xlsx", {sheet: xml})
    done = run_planner("validate", str(undeclared), timeout=60)
    assert_refused(done, "sheet 'offers': cell XFD1048576 holds a value beyond the limits")


@pytest.mark.parametrize("part", ["xl/workbook.xml", "xl/worksheets/sheet1.xml",
                                  "[Content_Types].xml"])
def test_entity_declarations_are_refused(toy_book: Path, tmp_path: Path, part: str) -> None:
    with zipfile.ZipFile(toy_book) as book:
        xml = book.read(part)
    doctype = (b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
               b'<!ENTITY xxe SYSTEM "file:///etc/passwd">]>')
    path = rezipped(toy_book, tmp_path / "entities.xlsx",
                    {part: b'<?xml version="1.0"?>\n' + doctype + xml})
    done = run_planner("validate", str(path), timeout=60)
    assert_refused(done, f"its part '{part}' declares a DOCTYPE or entities")
    assert "root:" not in done.stderr


# --- 3. formulas, workbook folders, currency ------------------------------------------------------
def test_formula_without_cached_value_is_an_error(toy_book: Path, tmp_path: Path) -> None:
    def formula(workbook: openpyxl.Workbook) -> None:
        workbook["offers"]["C3"] = "=400+100"  # capacity: blank would mean unlimited

    path = edited(toy_book, tmp_path / "formula.xlsx", formula)
    with pytest.raises(InputError) as error:
        planner.load_instance(path)
    text = str(error.value)
    assert "offers!C3: formula without a cached value" in text
    assert "Open and save the workbook in Excel" in text


def test_folder_with_one_workbook_is_read(toy_book: Path, tmp_path: Path) -> None:
    folder = tmp_path / "area"
    folder.mkdir()
    shutil.copyfile(toy_book, folder / "area.xlsx")
    done = run_planner("validate", str(folder))
    assert done.returncode == 0, done.stderr
    assert "toy: valid" in done.stdout
    shutil.copyfile(toy_book, folder / "second.xlsx")  # two workbooks: which one? not guessed
    assert run_planner("validate", str(folder)).returncode == 2


def test_workbook_messages_name_sheets_not_csv_files(toy_book: Path, tmp_path: Path) -> None:
    def unknown(workbook: openpyxl.Workbook) -> None:
        workbook["offers"]["A2"] = "nobody"

    path = edited(toy_book, tmp_path / "unknown.xlsx", unknown)
    with pytest.raises(InputError) as error:
        planner.load_instance(path)
    text = str(error.value)
    assert "Use one defined in sheet 'providers'" in text
    assert ".csv" not in text


def test_currency_text_reads_the_same_in_csv_and_xlsx(toy_book: Path, tmp_path: Path) -> None:
    """'£1,200' typed as text is refused in both, naming the £ and the separator."""
    def money(workbook: openpyxl.Workbook) -> None:
        workbook["offers"]["D2"] = "£1,200"

    path = edited(toy_book, tmp_path / "money.xlsx", money)
    with pytest.raises(InputError) as from_xlsx:
        planner.load_instance(path)
    folder = tmp_path / "csv"
    shutil.copytree(TOY, folder)
    offers = folder / "offers.csv"
    offers.write_text(offers.read_text().replace(",40000,30,", ',40000,"£1,200",', 1))
    with pytest.raises(InputError) as from_csv:
        planner.load_instance(folder)
    expected = ("'£1,200' is not a number. Fix: Write a plain number without the currency "
                "symbol or thousands separators (1200, not £1,200).")
    assert expected in str(from_xlsx.value)
    assert expected in str(from_csv.value)


# --- 4. many problems: linear checks, a capped message, the full list in a new file -------------
def test_twenty_thousand_duplicates_are_fast_and_capped(tmp_path: Path) -> None:
    folder = tmp_path / "dup"
    shutil.copytree(TOY, folder)
    offers = folder / "offers.csv"
    lines = offers.read_text(encoding="utf-8").splitlines()
    offers.write_text("\n".join(lines + [lines[1]] * 20_000) + "\n", encoding="utf-8")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    done = run_planner("validate", str(folder), timeout=120, env={"TMPDIR": str(scratch)})
    assert_refused(done, "20000 problems in the input",
                   f"… and {20_000 - MAX_SHOWN_PER_KIND:,} more offers problems like "
                   "'duplicate provider/service")
    shown = [line for line in done.stderr.splitlines() if line.startswith("  - ")]
    assert len(shown) == MAX_SHOWN_PER_KIND
    named = re.search(r"the full list of 20,000 problems: (\S+)", done.stderr)
    assert named, done.stderr
    listed = Path(named.group(1))
    assert listed.parent == scratch and listed.name.startswith("planner-problems-")
    assert len(listed.read_text(encoding="utf-8").splitlines()) == 20_000
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in TOY.iterdir())


# --- 5. booleans are not numbers; nan/inf options ------------------------------------------------
@pytest.mark.parametrize("setting", ["budget: true", "value_per_qaly: false", "budget: [true]"])
def test_boolean_setting_is_not_a_number(tmp_path: Path, setting: str) -> None:
    folder = tmp_path / "bool"
    shutil.copytree(TOY, folder)
    config = folder / "instance.yaml"
    key = setting.split(":")[0]
    text = re.sub(rf"^  {key}:.*$", f"  {setting}", config.read_text(), flags=re.M)
    config.write_text(text)
    with pytest.raises(InputError, match=rf"key 'policy.{key}'.*true/false is not a valid value"):
        planner.load_instance(folder)


@pytest.mark.parametrize("option", [("--time-limit", "nan"), ("--time-limit", "inf"),
                                    ("--time-limit", "-1"), ("--gap", "nan"), ("--gap", "inf"),
                                    ("--gap", "-inf")])
def test_nan_and_inf_options_are_refused(tmp_path: Path, option: tuple[str, str]) -> None:
    done = run_planner("solve", str(TOY), "--out", str(tmp_path / "plan"), "--no-marginal",
                       *option)
    assert done.returncode == 2, done.stderr
    assert f"Invalid value for '{option[0]}'" in done.stderr
    assert not (tmp_path / "plan").exists()


# --- 6. ids holding $…$ are plain text in charts --------------------------------------------------
def test_dollar_ids_are_plain_text_in_charts(tmp_path: Path) -> None:
    folder = tmp_path / "dollars"
    shutil.copytree(TOY, folder)
    renames = {"primary": "a$x^2$b", "pct": "l$x^2$b", "high_street_surgery": "p$x^$b",
               "Primary care trust": "l$x^2$b"}  # the level's name: what the charts show
    for name in ("levels.csv", "services.csv", "providers.csv", "offers.csv", "level_effects.csv"):
        path = folder / name
        text = path.read_text(encoding="utf-8")
        for old, new in renames.items():
            text = re.sub(rf"\b{old}\b", new, text)
        path.write_text(text, encoding="utf-8")
    out = tmp_path / "plan"
    done = run_planner("solve", str(folder), "--out", str(out), "--no-marginal", memory=3 * GB)
    assert done.returncode == 0, done.stderr
    report = (out / "report.html").read_text(encoding="utf-8")
    svg_text = re.findall(r"<text[^>]*>([^<]*)</text>", report)
    for shown in ("A$x^2$b", "l$x^2$b"):  # the category by its name: a capital, by rule
        assert shown in svg_text, f"{shown} not drawn as plain text in a chart"


# --- 8. memory: refused up front, whatever limits the process --------------------------------------
def test_solve_too_large_for_its_memory_limit_is_refused_up_front(tmp_path: Path) -> None:
    """Under ``ulimit -v`` (as under a container's cgroup limit, which /proc/meminfo ignores)
    the size check refuses with the estimate, instead of an internal error mid-build."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from bench_memory import write_instance

    folder = write_instance(tmp_path / "big", 10_000)
    done = run_planner("solve", str(folder), "--out", str(tmp_path / "plan"), "--no-marginal",
                       memory=700 * 1024 * 1024)
    assert_refused(done, "the model is too large for this machine", "10,522 table rows",
                   "20,000 eligible contracts", "GB of memory needed")
    assert not (tmp_path / "plan").exists()


def test_size_estimate_counts_the_tables(tmp_path: Path) -> None:
    from planner import sizing
    from planner.derive.tables import derive

    derived = derive(planner.load_instance(TOY))
    size = sizing.estimate(derived)
    rows = sum(len(frame) for frame in derived.instance.tables().values())
    assert size.table_rows == rows
    assert size.bytes >= sizing.BASE + sizing.PER_TABLE_ROW * rows


def test_demand_of_1e_300_episodes_solves_and_verifies(tmp_path: Path) -> None:
    """A valid but vanishing demand (1e-300 episodes of hip replacement) is no activity a plan
    can carry: the plan is written (exit 0), and verify does not ask for a provider for it."""
    folder = tmp_path / "tiny"
    shutil.copytree(TOY, folder)
    services = (folder / "services.csv").read_text(encoding="utf-8")
    services = re.sub(r"^(hip_replacement,elective,hospital,)\d+", r"\g<1>1e-300", services,
                      flags=re.M)
    (folder / "services.csv").write_text(services, encoding="utf-8")
    # A whole solve with its report maps about 1.6 GB of address space (libraries, thread
    # stacks, malloc arenas; 0.2 GB resident), above MEMORY: under 1.5 GB loading matplotlib's
    # backend failed now and then (2 runs in about 20). 3 GB, as the charts test above gives.
    done = run_planner("solve", str(folder), "--out", str(tmp_path / "plan"), "--no-marginal",
                       timeout=300, memory=3 * GB)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "plan" / "plan.json").is_file()
