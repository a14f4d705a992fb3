"""Where the planner may write: output folders that never cost a user a file.

Every command that writes a folder (``solve``, ``report --out``, ``derive``, ``pareto``,
``compare --out``, ``new``, ``sweep``) calls :func:`check_out_dir` *before* any solving, so a
wrong ``--out`` is an exit 2 with a reason rather than a deleted folder or an internal error
after a long solve. The rules:

* A folder may be replaced (or written into) only when it is missing, empty, or holds a marker
  this planner wrote (:data:`PLAN_MARKER`, written into every plan folder; a sweep folder's
  ``sweep.json``). ``force`` allows a non-empty folder without a marker.
* Never, even with ``force``: ``/``, the home folder, the current folder, the instance's folder,
  or any folder above one of them (replacing it would delete them); nor a path that is a file.
* The folder that will receive the files must accept a test write (permission, read-only file
  system, a path under a file).

Plan folders are written by :meth:`planner.results.plan.Plan.to_dir` through a staging folder beside the
target; :func:`locked` serialises writers of one target and :func:`clean_stale` removes staging
left by writers that died (SIGKILL, power cut), identified by this planner's prefix and a dead
pid or an old age.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from planner.errors import InputError, OutputError, Problem

PLAN_MARKER = ".planner-plan"
MARKER_TEXT = "A plan folder written by planner; 'planner solve --out' may replace it whole.\n"
SWEEP_MARKER = "sweep.json"
STAGING_TAG = ".planner-"  # staging, old-copy and lock names: .<target>.planner-<kind>-<pid>-<hex>
STALE_AGE_S = 24 * 3600  # staging this old is stale even if its pid is alive (pid reuse, NFS)
SLUG_LIMIT = 80
_STAGING = re.compile(r"^\.(?P<name>.+)\.planner-(?:staging|old)-(?P<pid>\d+)-[0-9a-f]+$")


def slug(name: str) -> str:
    """A safe folder name for a default output path from an instance's ``name``.

    The name is the analyst's free text: ``../../victim``, an absolute path, a NUL or 300
    characters must not become a path, so anything but letters, digits, ``.``, ``_`` and ``-``
    becomes ``-``, leading dots and dashes go, and the result is cut to 80 characters
    (``plan`` if nothing is left)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-")
    cleaned = cleaned[:SLUG_LIMIT].rstrip(".-")
    return cleaned or "plan"


def check_name(name: str) -> None:
    """Refuse an instance name with control characters (NUL, escape, line breaks) before
    solving: it titles every report, and a workbook cannot hold them (exit 2, not a lost solve).
    A long name is fine: the default folder is cut to 80 characters by :func:`slug`."""
    bad = sorted({f"U+{ord(c):04X}" for c in name if ord(c) < 0x20 or ord(c) == 0x7F})
    if bad:
        raise InputError(Problem("instance.yaml", f"contains control character(s) {', '.join(bad)}"
                                 ", which reports and workbooks cannot show.",
                                 "Give a name of letters, digits, spaces and punctuation.",
                                 column="name"))


def instance_folder(instance: str | Path | None) -> Path | None:
    """The folder an instance lives in: the folder itself, or a workbook's folder."""
    if instance is None:
        return None
    path = Path(instance).expanduser().resolve()
    return path if path.is_dir() or not path.suffix else path.parent


def _protected(instance: str | Path | None) -> list[tuple[Path, str]]:
    places = [(Path("/").resolve(), "the root folder"), (Path.cwd().resolve(), "the current folder")]
    with contextlib.suppress(RuntimeError, KeyError):
        places.append((Path.home().resolve(), "your home folder"))
    folder = instance_folder(instance)
    if folder is not None:
        places.append((folder, "the instance's folder"))
    return places


def check_out_dir(path: str | Path, *, instance: str | Path | None = None, force: bool = False,
                  label: str = "--out", owned_by: Iterable[str] = (PLAN_MARKER,),
                  empty_only: bool = False, forceable: bool = True) -> Path:
    """Refuse an output folder the planner must not replace or write into (see module doc).

    ``owned_by``: file names whose presence proves the folder is this planner's; ``empty_only``
    (``planner new``): only a missing or empty folder will do; ``forceable`` False: the command
    has no --force, so the fix does not offer it. Returns the path unchanged."""
    target = Path(path)
    if str(path) == "" or "\0" in str(path):
        raise OutputError(label, path, "is not a usable path.", "Give a folder name.")
    resolved = target.expanduser().resolve()
    for place, what in _protected(instance):
        if place.is_relative_to(resolved):
            where = "is " + what if place == resolved else "holds " + what
            raise OutputError(label, path, f"{where}; writing the plan there would replace it.",
                              "Give a new folder, e.g. out/plan (--force does not change this).")
    if target.exists() and not target.is_dir():
        raise OutputError(label, path, "is a file, not a folder; it is left untouched.",
                          "Give a folder name that is not a file.")
    if target.is_dir():
        try:
            names = [entry.name for entry in os.scandir(target)]
        except FileNotFoundError:  # another writer is swapping it this instant: a plan folder
            names = []
        if names and empty_only:
            raise OutputError(label, path, "exists and is not empty.", "Choose a new folder.")
        owned = any(name in names for name in owned_by)
        if names and not owned and not force:
            raise OutputError(label, path, f"holds {len(names)} file(s) that are not a plan this "
                              "planner wrote, and would be replaced.",
                              "Choose a new or empty folder, or add --force if you mean to "
                              "replace it (e.g. a plan folder from an older planner)."
                              if forceable else "Choose a new or empty folder.")
        probe_writable(target, label, path, may_vanish=True)
    probe_writable(_existing_parent(target, label, path), label, path)
    return target


def _existing_parent(target: Path, label: str, path: object) -> Path:
    """The nearest folder above ``target`` that exists (refusing a file on the way)."""
    parent = target.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(label, path, f"lies under '{parent}', which is a file.",
                          "Give a path whose folders are folders.")
    return parent


def probe_writable(folder: Path, label: str, path: object, may_vanish: bool = False) -> None:
    """Create and remove a hidden file in ``folder``: the one test of writability that also
    holds for root (who ignores permission bits but not read-only file systems, or /proc).
    ``may_vanish``: the folder is a plan another writer may be swapping this instant."""
    try:
        handle, name = tempfile.mkstemp(prefix=".planner-probe-", dir=folder)
        os.close(handle)
        os.unlink(name)
    except FileNotFoundError as exc:
        if not may_vanish:
            raise OutputError(label, path, f"cannot write in '{folder}' ({exc.strerror}).",
                              "Choose a folder you can write to.") from None
    except OSError as exc:
        raise OutputError(label, path, f"cannot write in '{folder}' ({exc.strerror}).",
                          "Choose a folder you can write to.") from None


def check_log_file(path: str | Path, label: str = "--log") -> Path:
    """A HiGHS log file must be creatable: HiGHS ignores one it cannot open without a word."""
    target = Path(path)
    if target.is_dir():
        raise OutputError(label, path, "is a folder.", "Give a file name, e.g. highs.log.")
    parent = target.absolute().parent
    if not parent.is_dir():
        raise OutputError(label, path, f"its folder '{parent}' does not exist (or is a file).",
                          "Create the folder first, or give a log file in an existing one.")
    existed = target.exists()
    try:
        with open(target, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise OutputError(label, path, f"cannot be written ({exc.strerror}).",
                          "Choose a log file in a folder you can write to.") from None
    if not existed:
        target.unlink()
    return target


# --- writers of one folder --------------------------------------------------------------------
def staging_name(target: Path, kind: str) -> Path:
    """A hidden sibling of ``target`` this planner owns: kind 'staging' or 'old'."""
    return target.parent / f".{target.name}{STAGING_TAG}{kind}-{os.getpid()}-{uuid.uuid4().hex}"


def make_staging(target: Path) -> Path:
    """A new staging folder beside ``target``, with the user's umask (mkdtemp would give 0700)."""
    staging = staging_name(target, "staging")
    os.mkdir(staging, 0o777)
    return staging


@contextlib.contextmanager
def locked(target: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``target`` (a lock file beside it, removed on release).

    flock locks belong to an open file, so threads of one process exclude each other too. The
    holder unlinks the lock file before unlocking; a waiter that then gets the lock on the
    unlinked file sees the path no longer names it, and tries again."""
    lock_path = target.parent / f".{target.name}{STAGING_TAG}lock"
    while True:
        handle = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            current = os.stat(lock_path)
            mine = os.fstat(handle)
            if (current.st_ino, current.st_dev) == (mine.st_ino, mine.st_dev):
                break
        except FileNotFoundError:
            pass
        os.close(handle)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock_path)
        os.close(handle)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(target: Path) -> list[Path]:
    """Remove staging and old copies of ``target`` left by writers that died: this planner's
    names only, and only when their pid is dead or they are a day old. Returns those removed."""
    removed = []
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(target.parent):
            match = _STAGING.match(entry.name)
            if not match or match["name"] != target.name:
                continue
            try:
                old = time.time() - entry.stat(follow_symlinks=False).st_mtime > STALE_AGE_S
            except FileNotFoundError:
                continue
            if old or not _alive(int(match["pid"])):
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(Path(entry.path))
    return removed


def replace_dir(staging: Path, target: Path) -> None:
    """Put ``staging`` in place of ``target`` (call under :func:`locked`): move the old plan
    aside, rename the new one in, delete the old one."""
    if target.is_symlink() or target.exists():
        old = staging_name(target, "old")
        os.replace(target, old)
        os.replace(staging, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, target)


def prepare_out_dir(path: str | Path, **rules) -> Path:
    """Check ``path`` by :func:`check_out_dir`'s ``rules``, create it and mark it as this
    planner's, for commands that write files into a folder (derive, pareto, compare, report)."""
    target = check_out_dir(path, **rules)
    target.mkdir(parents=True, exist_ok=True)
    marker = target / PLAN_MARKER
    if not marker.exists():
        marker.write_text(MARKER_TEXT, encoding="utf-8")
    return target
