"""Reports people read (issue 6): report.html, plan.xlsx, summary.md and Excel instances.

The report is opened in headless Chromium (installed by scripts/ensure_chromium.sh from
``make test``) to check it renders with no console errors, and a screenshot is written. Plans are
solved once per module: the toy (optimal, £1,383,000), the toy with its budget cut to £1.3m
(infeasible: £83,000 short), the toy over three years with £1.5m a year, and the PCT instance.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

import planner
from planner.cli.main import main
from planner.data.workbook_writer import instance_workbook_bytes, write_instance_workbook
from planner.errors import InputError
from planner.reports.html import SECTIONS

ROOT = Path(__file__).resolve().parents[2]
INSTANCES = ROOT / "instances"
CHROMIUM = Path("/usr/bin/chromium")
CORE_SECTIONS = ("headline", "decisions", "money", "continuum", "providers", "quality", "changes",
                 "constraints", "solver")
REPORTS = ("report.html", "summary.md", "plan.xlsx")


def _with_policy(instance: planner.Instance, horizon: int | None = None, **policy) -> planner.Instance:
    config = instance.config
    update: dict = {"policy": config.policy.model_copy(update=policy)}
    if horizon is not None:
        update["horizon"] = horizon
    return dataclasses.replace(instance, config=config.model_copy(update=update))


def _solve_to_dir(instance: planner.Instance, folder: Path, **options) -> Path:
    """Solve and write the plan folder as `planner solve` does (with the status-quo tables)."""
    planner.solve(instance, status_quo=True, **options).to_dir(folder)
    return folder


@pytest.fixture(scope="module")
def toy_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _solve_to_dir(planner.load_instance(INSTANCES / "toy"),
                         tmp_path_factory.mktemp("toy") / "plan", marginal=True)


@pytest.fixture(scope="module")
def infeasible_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    toy = _with_policy(planner.load_instance(INSTANCES / "toy"), budget=1_300_000.0)
    return _solve_to_dir(toy, tmp_path_factory.mktemp("infeasible") / "plan")


@pytest.fixture(scope="module")
def multi_year_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    toy = _with_policy(planner.load_instance(INSTANCES / "toy"), horizon=3, budget=1_500_000.0)
    return _solve_to_dir(toy, tmp_path_factory.mktemp("years") / "plan", marginal=True)


def _section_ids(html: str) -> list[str]:
    return re.findall(r'<section id="([a-z_]+)">', html)


# --- report.html ------------------------------------------------------------------------------
@pytest.mark.solver
def test_solve_writes_every_report(toy_plan: Path) -> None:
    for name in REPORTS:
        assert (toy_plan / name).is_file() and (toy_plan / name).stat().st_size > 0, name


@pytest.mark.solver
def test_report_has_every_section_and_is_self_contained(toy_plan: Path) -> None:
    html = (toy_plan / "report.html").read_text(encoding="utf-8")
    assert _section_ids(html) == list(CORE_SECTIONS)
    assert {key for key, _ in SECTIONS} >= set(CORE_SECTIONS) | {"diagnosis", "years"}
    for key in CORE_SECTIONS:
        assert f'href="#{key}"' in html  # the table of contents links every section
    assert "<script" not in html and "<img" not in html and "<link" not in html
    assert "default-src 'none'" in html  # the browser may fetch nothing
    without_namespaces = re.sub(r'xmlns(:\w+)?="[^"]*"', "", html)
    assert "http://" not in without_namespaces and "https://" not in without_namespaces
    assert html.count("<svg") >= 5  # charts are inline SVG
    assert "£1.38m" in html and "£17,000" in html  # headline against the £1.4m budget
    assert "Risk pooling" in html and "CV 0.45 &gt; tolerance 0.10" in html  # hip replacement
    assert "demand effect: −10% demand here (factor 0.9)" in html  # diabetes at practice level
    # the toy's plain names, not its ids (tests/reports/test_names.py checks ids without names)
    assert "County Hospital NHS Trust" in html and "above break-even" in html
    assert "Riverside GP Federation / GP consultations" in html  # a binding capacity, £1


@pytest.mark.solver
def test_charts_are_deterministic_svg(toy_plan: Path) -> None:
    html = (toy_plan / "report.html").read_text(encoding="utf-8")
    assert "<?xml" not in html and "<dc:date>" not in html
    ids = re.findall(r' id="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "element ids repeat across charts"


@pytest.mark.solver
def test_report_regenerates_byte_identical(toy_plan: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(toy_plan, copy)
    for name in REPORTS:
        (copy / name).unlink()
    done = CliRunner().invoke(main, ["report", str(copy)])
    assert done.exit_code == 0, done.output
    for name in REPORTS:
        assert (copy / name).read_bytes() == (toy_plan / name).read_bytes(), name


@pytest.mark.solver
def test_a_second_solve_gives_the_same_summary_and_workbook(toy_plan: Path, tmp_path: Path) -> None:
    """Only report.html shows timings, so summary.md and plan.xlsx repeat byte for byte."""
    again = _solve_to_dir(planner.load_instance(INSTANCES / "toy"), tmp_path / "again",
                          marginal=True)
    for name in ("summary.md", "plan.xlsx"):
        assert (again / name).read_bytes() == (toy_plan / name).read_bytes(), name
    planner.solve(INSTANCES / "toy").to_dir(tmp_path / "bare", reports=False)
    assert not any((tmp_path / "bare" / name).exists() for name in REPORTS)


@pytest.mark.solver
def test_report_without_the_instance_still_renders(toy_plan: Path, tmp_path: Path) -> None:
    copy = tmp_path / "moved"
    shutil.copytree(toy_plan, copy)
    meta = json.loads((copy / "plan.json").read_text())
    meta["instance"]["source"] = str(tmp_path / "gone")
    (copy / "plan.json").write_text(json.dumps(meta))
    done = CliRunner().invoke(main, ["report", str(copy)])
    assert done.exit_code == 0, done.output
    html = (copy / "report.html").read_text(encoding="utf-8")
    assert _section_ids(html) == list(CORE_SECTIONS)
    assert "was not found" in html and "--instance" in html
    done = CliRunner().invoke(main, ["report", str(copy), "--instance", str(INSTANCES / "toy"),
                                     "--out", str(tmp_path / "again")])
    assert done.exit_code == 0, done.output
    assert "Risk pooling" in (tmp_path / "again" / "report.html").read_text(encoding="utf-8")


def test_report_of_a_folder_that_is_not_a_plan(tmp_path: Path) -> None:
    done = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert done.exit_code == 2 and "not a plan folder" in done.output


@pytest.mark.solver
def test_infeasible_report_shows_the_relaxations(infeasible_plan: Path) -> None:
    html = (infeasible_plan / "report.html").read_text(encoding="utf-8")
    assert _section_ids(html) == ["headline", "diagnosis", *CORE_SECTIONS[2:]]  # no decisions without a plan
    assert "The budget of £1.30m is £83,000 short of the cheapest plan" in html
    assert "There is no plan" in html
    summary = (infeasible_plan / "summary.md").read_text(encoding="utf-8")
    assert "## What to relax" in summary and "£83,000 short" in summary
    book = openpyxl.load_workbook(infeasible_plan / "plan.xlsx")
    assert book.sheetnames[:2] == ["summary", "diagnosis"]


@pytest.mark.solver
def test_multi_year_report_has_budget_by_year(multi_year_plan: Path) -> None:
    budget = pd.read_csv(multi_year_plan / "budget.csv")
    assert list(budget["year"]) == [2010, 2011, 2012]
    html = (multi_year_plan / "report.html").read_text(encoding="utf-8")
    assert _section_ids(html) == ["headline", "decisions", "years", *CORE_SECTIONS[2:]]
    assert "Spend and budget by year" in html and "over 3 years" in html
    assert "This section shows 2010, the first of 3 years" in html
    summary = (multi_year_plan / "summary.md").read_text(encoding="utf-8")
    assert "## Budget by year" in summary and "| 2012 |" in summary
    book = openpyxl.load_workbook(multi_year_plan / "plan.xlsx")
    assert book["budget"].max_row == 4


@pytest.mark.solver
def test_a_failing_report_leaves_no_plan_folder(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    plan = planner.solve(INSTANCES / "toy")

    def explode(*_args, **_kwargs):
        raise RuntimeError("chart failed")

    monkeypatch.setattr("planner.reports.html.render_html", explode)
    with pytest.raises(RuntimeError):
        plan.to_dir(tmp_path / "plan")
    assert list(tmp_path.iterdir()) == []


# --- in a browser -----------------------------------------------------------------------------
def _chromium(page: Path, user_data: Path, *args: str) -> subprocess.CompletedProcess:
    command = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", f"--user-data-dir={user_data}", "--enable-logging=stderr",
               "--v=0", *args, page.resolve().as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def _console_messages(stderr: str) -> list[str]:
    """Console output of the page (errors, CSP refusals, uncaught exceptions)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.mark.solver
@pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium not installed "
                    "(scripts/ensure_chromium.sh installs it; make test runs it)")
@pytest.mark.parametrize("which", ["toy_plan", "infeasible_plan", "multi_year_plan"])
def test_report_renders_in_chromium(which: str, request: pytest.FixtureRequest,
                                    tmp_path: Path) -> None:
    folder: Path = request.getfixturevalue(which)
    screenshot = tmp_path / f"{which}.png"
    done = _chromium(folder / "report.html", tmp_path / "profile", f"--screenshot={screenshot}",
                     "--window-size=1280,4000")
    assert done.returncode == 0, done.stderr[-2000:]
    assert _console_messages(done.stderr) == []
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 20_000  # a page with charts, not a blank one
    if which == "toy_plan":
        dom = _chromium(folder / "report.html", tmp_path / "profile2", "--dump-dom")
        assert dom.returncode == 0
        assert "Commissioning plan: toy" in dom.stdout and 'id="constraints"' in dom.stdout


@pytest.mark.solver
def test_pct_reports(tmp_path: Path) -> None:
    """The realistic instance once: every section, a readable size, and Chromium renders it."""
    folder = _solve_to_dir(planner.load_instance(INSTANCES / "pct"), tmp_path / "pct")
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert _section_ids(html) == list(CORE_SECTIONS)
    assert len(html) < 1_500_000
    assert "Risk pooling" in html and "national" in html
    book = openpyxl.load_workbook(folder / "plan.xlsx")
    services = book["services"]
    assert services.max_row == len(pd.read_csv(folder / "services.csv")) + 1
    if CHROMIUM.exists():
        screenshot = tmp_path / "pct.png"
        done = _chromium(folder / "report.html", tmp_path / "profile",
                         f"--screenshot={screenshot}", "--window-size=1280,4000")
        assert done.returncode == 0 and _console_messages(done.stderr) == []
        assert screenshot.stat().st_size > 20_000


PDFTOTEXT = Path("/usr/bin/pdftotext")


@pytest.mark.solver
@pytest.mark.skipif(not (CHROMIUM.exists() and PDFTOTEXT.exists()),
                    reason="chromium or pdftotext not installed (scripts/ensure_chromium.sh)")
def test_pct_report_prints(tmp_path: Path) -> None:
    """Chromium prints the PCT report to A4: the headline is on the first page, and every
    column header of every table is in the PDF's text (a table cut off at the page edge loses
    its last columns' headers). All rows are present: no 'showing 60 of ...'."""
    import html as html_module
    import re

    folder = _solve_to_dir(planner.load_instance(INSTANCES / "pct"), tmp_path / "pct")
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "Showing" not in page
    pdf = tmp_path / "report.pdf"
    done = _chromium(folder / "report.html", tmp_path / "profile", "--no-pdf-header-footer",
                     f"--print-to-pdf={pdf}")
    assert done.returncode == 0 and pdf.stat().st_size > 10_000, done.stderr[-2000:]
    first = subprocess.run([str(PDFTOTEXT), "-f", "1", "-l", "1", str(pdf), "-"],
                           capture_output=True, text=True, check=True).stdout
    assert "Headline" in first and "Spend" in first and "Budget" in first
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert 5 <= pages <= 80, pages
    text = subprocess.run([str(PDFTOTEXT), "-raw", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    squeezed = re.sub(r"\s+", "", text)
    headers = {html_module.unescape(h) for h in re.findall(r'<th scope="col"[^>]*>(.*?)</th>', page)}
    assert len(headers) > 20
    missing = [h for h in sorted(headers) if re.sub(r"\s+", "", h) not in squeezed]
    assert missing == [], missing
    # provider kinds and categories print by name, each word whole: a narrow column once
    # broke "Foundation trust" into "Foundatio" / "n trust"
    from planner.data.names import plain_name
    from planner.rules import RULE_NAMES

    instance = planner.load_instance(INSTANCES / "pct")
    shown = {plain_name(v) for v in [*instance.providers["kind"], *instance.services["category"]]}
    assert "Foundation trust" in shown and "foundation_trust" not in text
    # rules too ("What binds the plan"): by name, each word whole, where "min_income" once
    # printed as "min_i" / "ncom" / "e"
    assert "Break-evenincome" in squeezed  # providers held at break-even bind the plan
    assert [i for i in sorted(RULE_NAMES) if "_" in i and i in squeezed] == []  # "min_i ncom e"
    shown |= set(RULE_NAMES.values())  # words split at spaces and hyphens: "Break-" / "even" may wrap
    words = {w for name in shown for w in re.split(r"[\s-]+", name) if len(w) >= 6}
    broken = [f"{w[:k]} {w[k:]}" for w in sorted(words) for k in range(2, len(w) - 1)
              if re.search(rf"\b{w[:k]}\s+{w[k:]}\b", text)]
    assert broken == [], broken
    boxes = tmp_path / "boxes.html"  # every word lies within the page's width
    subprocess.run([str(PDFTOTEXT), "-bbox", str(pdf), str(boxes)], check=True)
    layout = boxes.read_text(encoding="utf-8")
    width = float(re.search(r'<page width="([\d.]+)"', layout).group(1))
    assert max(float(x) for x in re.findall(r'xMax="([\d.]+)"', layout)) <= width


# --- summary.md and plan.xlsx -----------------------------------------------------------------
@pytest.mark.solver
def test_summary_md(toy_plan: Path) -> None:
    text = (toy_plan / "summary.md").read_text(encoding="utf-8")
    for heading in ("# Commissioning plan: toy", "## Headline", "## Spend by level",
                    "## Contracts changed against the status quo", "## Binding constraints"):
        assert heading + "\n" in text
    assert "| Spend | £1.38m |" in text
    assert "| GP practice | 1 | £82,000 | 6.0 % |" in text
    assert "2 started, 1 ended, 0 moved, 1 volume changed, 1 same." in text
    assert ("| Capacity for a service | Riverside GP Federation / GP consultations | £1.00 per "
            "episode |" in text)


@pytest.mark.solver
def test_plan_workbook_is_formatted(toy_plan: Path) -> None:
    book = openpyxl.load_workbook(toy_plan / "plan.xlsx")
    assert book.sheetnames == ["summary", "budget", "contracts", "services", "providers",
                               "levels", "changes", "spend_changes", "marginal_values", "unfunded"]
    contracts = book["contracts"]
    headers = [c.value for c in contracts[1]]
    assert headers[:11] == ["service", "service_name", "level", "level_name", "provider",
                            "provider_name", "year", "volume (episodes)", "price (£/episode)",
                            "spend (£)", "quality (0–1)"]  # each id with its name beside it
    assert contracts.freeze_panes == "A2"
    assert contracts["A1"].font.b
    assert contracts.column_dimensions["A"].width >= len("gp_consultations")
    assert contracts["B2"].value == "Diabetes care"
    assert contracts["J2"].value == 81000 and contracts["J2"].number_format == "#,##0"
    assert contracts["K2"].number_format == "0.000"
    changes = book["changes"]
    negative = [row[11].value for row in changes.iter_rows(min_row=2) if row[4].value == "ended"]
    assert negative == [-500]  # numbers stay numbers, negative ones included
    summary = {row[0].value: row[1].value for row in book["summary"].iter_rows(min_row=5)}
    assert summary["Spend"] == 1_383_000 and summary["Headroom"] == 17_000
    assert summary["Contracts"] == 4


def test_every_money_column_of_unfunded_and_providers_has_its_unit_and_format() -> None:
    """plan.xlsx's unfunded sheet and the providers' income by how it is paid were once headed
    without (£) and written in General format, unlike every other £ column."""
    from planner.analysis.unfunded import COLUMNS as UNFUNDED
    from planner.reports.xlsx import MONEY, _headers

    money = {"unfunded": [c for c in UNFUNDED if c not in ("service", "reason", "message")],
             "providers": ["income", "min_income", "activity_income", "block_income",
                           "bundle_income", "guarantee_paid"]}
    for sheet, columns in money.items():
        headers, formats = _headers(sheet, pd.DataFrame(columns=columns))
        assert headers == [f"{c} (£)" for c in columns], sheet
        assert formats == [MONEY] * len(columns), sheet


def test_workbooks_are_byte_identical() -> None:
    toy = planner.load_instance(INSTANCES / "toy")
    assert instance_workbook_bytes(toy) == instance_workbook_bytes(toy)


# --- Excel instances --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["toy", "pct"])
def test_instance_workbook_round_trip_is_lossless(name: str, tmp_path: Path) -> None:
    original = planner.load_instance(INSTANCES / name)
    path = write_instance_workbook(original, tmp_path / f"{name}.xlsx")
    again = planner.load_instance(path)
    assert again.sha256() == original.sha256()
    assert again.source == str(path)


def test_workbook_validation_names_sheet_and_row(tmp_path: Path, toy_copy: Path) -> None:
    """The same message as for the CSV, with the sheet and the sheet's row number."""
    offers = toy_copy / "offers.csv"
    offers.write_text(offers.read_text().replace("high_street_surgery,diabetes_care,500,200,0.7",
                                                 "high_street_surgery,diabetes_care,500,200,1.5"))
    with pytest.raises(InputError) as from_csv:
        planner.load_instance(toy_copy)
    csv_message = str(from_csv.value.problems[0])
    assert csv_message.startswith("offers row 'high_street_surgery/diabetes_care' line 3, "
                                  "column 'quality': 1.5 is above the maximum 1.")

    path = write_instance_workbook(planner.load_instance(INSTANCES / "toy"), tmp_path / "t.xlsx")
    book = openpyxl.load_workbook(path)
    book["offers"]["E3"] = 1.5  # quality of high_street_surgery/diabetes_care, sheet row 3
    book["offers"].insert_rows(2)  # a blank row: the data now start on sheet row 3
    book["instance"].append(["policy.value_per_qualy", 1])
    book.save(path)
    with pytest.raises(InputError) as from_xlsx:
        planner.load_instance(path)
    messages = [str(p) for p in from_xlsx.value.problems]
    assert "sheet 'offers'" + csv_message[len("offers"):].replace("line 3", "line 4") in messages
    assert any(m.startswith("sheet 'instance' row 'policy.value_per_qualy' line ")
               and "Did you mean 'policy.value_per_qaly'?" in m for m in messages)
    done = CliRunner().invoke(main, ["validate", str(path)])
    assert done.exit_code == 2 and "sheet 'offers'" in done.output


def test_missing_sheet_and_not_a_workbook(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "levels"
    book.save(tmp_path / "thin.xlsx")
    with pytest.raises(InputError) as error:
        planner.load_instance(tmp_path / "thin.xlsx")
    text = str(error.value)
    assert "sheet 'services': is missing from thin.xlsx" in text
    assert "sheet 'instance': is missing" in text
    (tmp_path / "fake.xlsx").write_text("not a zip")
    with pytest.raises(InputError, match="is not a readable Excel workbook"):
        planner.load_instance(tmp_path / "fake.xlsx")
    (tmp_path / "old.xls").write_bytes(b"")
    with pytest.raises(InputError, match="is not an .xlsx workbook"):
        planner.load_instance(tmp_path / "old.xls")


@pytest.mark.solver
def test_new_xlsx_template_validates_and_solves(tmp_path: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(main, ["new", str(tmp_path / "area"), "--xlsx"])
    assert done.exit_code == 0, done.output
    workbook = tmp_path / "area" / "instance.xlsx"
    assert workbook.is_file()
    assert runner.invoke(main, ["validate", str(workbook)]).exit_code == 0
    plan = planner.solve(workbook)
    assert plan.status == "optimal" and plan.objective == pytest.approx(1_383_000)


# --- formula injection ------------------------------------------------------------------------
HOSTILE = {"riverside_federation": '=HYPERLINK("http://evil.example","click")',
           "high_street_surgery": "+1"}


def _hostile_instance() -> planner.Instance:
    toy = planner.load_instance(INSTANCES / "toy")
    tables = {name: frame.replace({"provider": HOSTILE}) for name, frame in toy.tables().items()}
    tables["providers"]["name"] = tables["providers"]["provider"]  # hostile names, too
    return planner.Instance.from_frames(toy.config, **tables)


def _all_cells(book: openpyxl.Workbook):
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            yield from row


@pytest.mark.solver
def test_formula_injection_is_escaped_in_csv_and_xlsx(tmp_path: Path) -> None:
    folder = _solve_to_dir(_hostile_instance(), tmp_path / "plan")
    contracts = (folder / "contracts.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in contracts and ",'+1," in contracts
    assert re.search(r"(^|,)[=+@]", contracts, flags=re.M) is None
    book = openpyxl.load_workbook(folder / "plan.xlsx")
    cells = list(_all_cells(book))
    assert not [c.coordinate for c in cells if c.data_type == "f"]  # no formula anywhere
    texts = {c.value for c in cells if isinstance(c.value, str)}
    assert "'" + HOSTILE["riverside_federation"] in texts and "'+1" in texts
    assert not [t for t in texts if t.startswith(("=", "+", "@"))]
    volume_change = [c.value for c in cells if isinstance(c.value, int | float)
                     and not isinstance(c.value, bool) and c.value < 0]
    assert volume_change, "negative numbers stay numbers"
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "=HYPERLINK(&quot;http://evil.example&quot;" in html  # shown as text, escaped
    assert '<a href="http://evil' not in html


def test_formula_injection_in_an_instance_workbook_round_trips(tmp_path: Path) -> None:
    hostile = _hostile_instance()
    path = write_instance_workbook(hostile, tmp_path / "hostile.xlsx")
    book = openpyxl.load_workbook(path)
    cells = list(_all_cells(book))
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    providers = [row[0].value for row in book["providers"].iter_rows(min_row=2)]
    assert "'+1" in providers and "'" + HOSTILE["riverside_federation"] in providers
    assert planner.load_instance(path).sha256() == hostile.sha256()
