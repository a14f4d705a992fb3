"""Writing a plan folder's reports: report.html, summary.md and plan.xlsx, each atomically.

``Plan.to_dir`` calls :func:`write_reports` (handed in by the package root) inside its atomic
staging, and ``planner report PLAN_DIR`` calls :func:`write_files` again later: the reports are
made from the folder's files only, so the same files give byte-identical reports.
"""

from __future__ import annotations

from pathlib import Path

from planner.data.instance import Instance
from planner.reports import html, markdown, xlsx
from planner.reports.html import render_html
from planner.reports.markdown import render_markdown
from planner.results.folder import PlanFiles
from planner.results.outdir import record_written, write_atomic

__all__ = ["REPORT_FILES", "render_html", "render_markdown", "write_atomic", "write_files",
           "write_reports"]

REPORT_FILES = ("report.html", "summary.md", "plan.xlsx")


def write_reports(folder: str | Path, instance: Instance | None = None,
                  out: str | Path | None = None, find_instance: bool = True) -> list[Path]:
    """Write report.html, summary.md and plan.xlsx for the plan folder ``folder`` into ``out``
    (default: the folder itself)."""
    files = PlanFiles.read(folder, instance=instance, find_instance=find_instance)
    return write_files(files, Path(out) if out is not None else Path(folder))


def report_contents(files: PlanFiles) -> dict[str, bytes]:
    """The three reports of ``files``, made in full in memory (a caller adding files of its own
    makes everything before writing anything: ``planner risk``)."""
    # looked up on their modules at each call, so a test patching one view reaches it here
    makers = {"report.html": lambda: html.render_html(files).encode("utf-8"),
              "summary.md": lambda: markdown.render_markdown(files).encode("utf-8"),
              "plan.xlsx": lambda: xlsx.plan_workbook_bytes(files)}
    return {name: makers[name]() for name in REPORT_FILES}


def write_files(files: PlanFiles, target: Path) -> list[Path]:
    """Write the three reports of ``files`` into the folder ``target``. Each is written to a
    temporary name and renamed into place, so a reader never sees half a report. Into a plan
    folder their names are recorded in its marker first (a user's own report.html is refused)."""
    target.mkdir(parents=True, exist_ok=True)
    contents = report_contents(files)  # all made before any is written
    record_written(target, contents)
    return [write_atomic(target / name, data) for name, data in contents.items()]
