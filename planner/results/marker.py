"""The plan folder's marker: which of its entries the planner wrote, and carrying the others.

``.planner-plan`` (:data:`PLAN_MARKER`) marks a folder as a plan folder. Its text is a sentence
for a person (:data:`MARKER_TEXT`), then :data:`MANIFEST_HEADER`, then the names the planner wrote
into the folder, one a line (plain text, so ``cat`` shows it; the planner's names never hold a
line break or ``/``). A marker with no list was written by an older planner, which listed
nothing: :data:`KNOWN_FILES`, every name a writer of this planner may write, count as its own.
Every other entry is the user's (:func:`entries_to_keep`): replacing the folder carries it into
the new one (:func:`carry`). The rules and writers are in :mod:`planner.results.outdir`.
"""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

PLAN_MARKER = ".planner-plan"
MARKER_TEXT = ("A plan folder written by planner; 'planner solve --out' replaces the files listed "
               "below, which planner wrote, and keeps anything else you put here.\n")
MANIFEST_HEADER = "files planner wrote here, one name a line:"
#: every name a writer of this planner may put in a plan folder: Plan.to_dir's tables and reports
#: (PLAN_FILES, which check_out_dir refuses to overwrite before a solve), then risk, stress,
#: compare, pareto, derive and sweep. A marker with no list (an older planner's) counts these as
#: its own. tests/results/test_user_files.py checks the writers against them: add a new file here.
PLAN_FILES = frozenset({
    "plan.json", "contracts.csv", "services.csv", "providers.csv", "levels.csv", "budget.csv",
    "unfunded.csv", "effects.csv", "area_contracts.csv", "areas.csv", "funders.csv",
    "priorities.csv", "bundles.csv", "changes.csv", "spend_changes.csv", "alternatives.csv",
    "marginal_values.csv", "diagnosis.json", "report.html", "summary.md", "plan.xlsx"})
#: what ``planner risk`` and ``planner stress`` add to a plan folder, and ``planner report`` reads
#: back as the planner's: a user's file of one of these names is refused when a plan is written
#: (kept, it would break the report, whose fix "write the plan folder again" could not mend it)
FOLLOW_ON_FILES = frozenset({"risk.json", "risk.csv", "stress.json", "stress.csv"})
#: a user's file with one of these names is refused when a plan is written (before solving)
PLAN_FOLDER_NAMES = PLAN_FILES | FOLLOW_ON_FILES
KNOWN_FILES = PLAN_FOLDER_NAMES | {
    "below_break_even.csv", "pareto.csv",
    "pareto.svg", "service_levels.csv", "offers.csv", "sweep.json", "rows", "plans",
    "results.csv", "results.parquet"}


def listing(names: Iterable[str], most: int = 5) -> str:
    """A few names for a message: ``a, b, c and 4 more``."""
    ordered = sorted(names)
    shown = ", ".join(ordered[:most])
    return shown + (f" and {len(ordered) - most} more" if len(ordered) > most else "")


def written_names(folder: Path) -> frozenset[str] | None:
    """The names the planner wrote in ``folder`` by its marker: None when there is no marker (no
    plan folder), :data:`KNOWN_FILES` when the marker has no list (an older planner's)."""
    try:
        lines = (folder / PLAN_MARKER).read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, UnicodeDecodeError):  # unreadable: as an older planner's
        return KNOWN_FILES
    if MANIFEST_HEADER not in lines:
        return KNOWN_FILES
    return frozenset(line for line in lines[lines.index(MANIFEST_HEADER) + 1:] if line)


def _planners(name: str, written: frozenset[str]) -> bool:
    """Whether ``name`` is the planner's: written, the marker, or what a killed writer leaves (a
    temporary file of a written name, ``.risk.csv.<pid>.<hex>.tmp``, or a test write)."""
    if name in written or name == PLAN_MARKER or name.startswith(".planner-probe-"):
        return True
    return name.startswith(".") and any(name.startswith(f".{w}.") for w in (*written, PLAN_MARKER))


def entries_to_keep(folder: Path) -> list[str]:
    """The entries of the plan folder ``folder`` the planner did not write (files, folders,
    symlinks): replacing the folder keeps them. In a folder without a marker (replaced only with
    ``force``) every entry but the files named as a plan's (:func:`forced_over`)."""
    written, names = written_names(folder), _entries(folder)
    if written is None:
        replaced = set(_plan_files(folder, names))
        return sorted(name for name in names if name not in replaced)
    return sorted(name for name in names if not _planners(name, written))


def forced_over(folder: Path) -> list[str]:
    """The entries ``force`` replaces in ``folder`` when it has no marker: the plain files named
    as a plan's (:data:`PLAN_FOLDER_NAMES`: an older planner's plan folder, which ``force`` is
    for), never a folder, a link or a hidden file; the rest are kept (:func:`entries_to_keep`).
    None in a marked folder."""
    return [] if written_names(folder) is not None else _plan_files(folder, _entries(folder))


def _entries(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _plan_files(folder: Path, names: list[str]) -> list[str]:
    """Of ``names`` in ``folder``: the plain files (not folders, links or hidden files) named
    as a plan's."""
    return sorted(name for name in names if name in PLAN_FOLDER_NAMES
                  and (folder / name).is_file() and not (folder / name).is_symlink())


def kept_message(target: Path, kept: list[str]) -> str:
    """What :meth:`Plan.to_dir` says when it kept the user's entries (folders end in ``/``)."""
    shown = [name + ("/" if (target / name).is_dir() and not (target / name).is_symlink() else "")
             for name in kept]
    return (f"kept {len(kept)} {'entry' if len(kept) == 1 else 'entries'} you added to "
            f"{target}/: {listing(shown, 10)} (a new plan replaces only the files planner wrote)")


def write_atomic(path: Path, data: bytes) -> Path:
    """Write to a hidden temporary file beside ``path`` (usual permissions), then rename it."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(temporary, "xb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def write_marker(folder: Path, names: Iterable[str]) -> None:
    """Mark ``folder`` as a plan folder whose planner-written entries are ``names``: the
    sentence, :data:`MANIFEST_HEADER`, one name a line; renamed into place whole."""
    listed = sorted(set(names) - {PLAN_MARKER})
    bad = [name for name in listed if "/" in name or "\n" in name or name in ("", ".", "..")]
    if bad:
        raise ValueError(f"not a file name of a plan folder: {bad!r}")
    text = MARKER_TEXT + MANIFEST_HEADER + "\n" + "".join(f"{name}\n" for name in listed)
    write_atomic(folder / PLAN_MARKER, text.encode("utf-8"))


def carry(source: Path, dest: Path) -> None:
    """Put the user's entry ``source`` at ``dest`` unchanged, leaving ``source`` where it is: a
    file as a hard link, a folder rebuilt of hard links, a symlink as the same symlink; a copy
    where a link fails (another file system, one without links, protected hard links)."""
    if source.is_symlink():
        os.symlink(os.readlink(source), dest)
    elif source.is_dir():
        shutil.copytree(source, dest, symlinks=True, copy_function=_link_or_copy)
    else:
        _link_or_copy(source, dest)


_NO_LINK = {errno.EXDEV, errno.EPERM, errno.EACCES, errno.EMLINK, errno.ENOTSUP,
            errno.EOPNOTSUPP, errno.ENOSYS}


def _link_or_copy(source: str | Path, dest: str | Path) -> None:
    try:
        os.link(source, dest, follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in _NO_LINK:
            raise
        shutil.copy2(source, dest, follow_symlinks=False)
