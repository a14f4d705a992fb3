"""Where the planner may write: output folders that never cost a user a file.

Every command that writes a folder (``solve``, ``report --out``, ``derive``, ``pareto``,
``compare --out``, ``new``, ``sweep``) calls :func:`check_out_dir` *before* any solving, so a
wrong ``--out`` is an exit 2 with a reason rather than a deleted folder or an internal error
after a long solve. The rules:

* A folder may be replaced (or written into) only when it is missing, empty, or holds a marker
  this planner wrote (:data:`PLAN_MARKER`, written into every plan folder; a sweep folder's
  ``sweep.json``). ``force`` allows a non-empty folder without a marker: only its files named
  as a plan's are replaced (:func:`forced_over`), the rest kept.
* Never, even with ``force``: ``/``, the home folder, the current folder, the instance's folder,
  or any folder above one of them (replacing it would delete them); nor a path that is a file;
  nor any other instance's folder (one holding ``instance.yaml``: its services.csv, offers.csv
  … have the names of a plan's files).
* The folder that will receive the files must accept a test write (permission, read-only file
  system, a path under a file).

Plan folders are written by :meth:`planner.results.plan.Plan.to_dir` through a staging folder beside the
target; :func:`locked` serialises writers of one target and :func:`clean_stale` removes staging
left by writers that died (SIGKILL, power cut), identified by this planner's prefix and a dead
pid or an old age.

The planner replaces only what it wrote. The marker holds, below its sentence, the names the
planner wrote into the folder (its format: :mod:`planner.results.marker`); every writer into a
plan folder records its names through :func:`record_written` (or :func:`prepare_out_dir`)
*before* writing them, and ``to_dir`` lists its staging folder. A marker without that list (an
older planner's) counts :data:`KNOWN_FILES` as the planner's. Everything else in a plan folder is
the user's (:func:`entries_to_keep`): :func:`replace_dir` hard-links it into the new folder
before the swap (a copy where links fail), so it is never only in a staging or old copy, and a
writer killed between the swap's two renames leaves the target missing, so :func:`clean_stale`
puts the old copy back. A user's entry with a name the command writes is refused by
:func:`check_out_dir` (``writes``) and :func:`record_written`, never overwritten. A folder
without a marker is replaced with ``force`` only in its plain files named as a plan's
(:data:`PLAN_FOLDER_NAMES`: an older planner's plan folder, which is what ``force`` is for,
:func:`forced_over`), and says which; everything else in it is kept like a user's entry (the
refusal without it lists them).
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
from planner.results.marker import (  # noqa: F401 - the marker's names, for every writer
    FOLLOW_ON_FILES,
    KNOWN_FILES,
    MANIFEST_HEADER,
    MARKER_TEXT,
    PLAN_FILES,
    PLAN_FOLDER_NAMES,
    PLAN_MARKER,
    carry,
    entries_to_keep,
    forced_over,
    kept_message,
    listing,
    write_atomic,
    write_marker,
    written_names,
)

SWEEP_MARKER = "sweep.json"
STAGING_TAG = ".planner-"  # staging, old-copy and lock names: .<target>.planner-<kind>-<pid>-<hex>
STALE_AGE_S = 24 * 3600  # staging this old is stale even if its pid is alive (pid reuse, NFS)
SLUG_LIMIT = 80
_STAGING = re.compile(r"^\.(?P<name>.+)\.planner-(?P<kind>staging|old)-(?P<pid>\d+)-[0-9a-f]+$")


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


INSTANCE_FILE = "instance.yaml"  # an instance folder's mark (planner.data.instance)


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
                  empty_only: bool = False, forceable: bool = True,
                  writes: Iterable[str] = (), replaces: bool = False) -> Path:
    """Refuse an output folder the planner must not replace or write into (see module doc).

    ``owned_by``: file names whose presence proves the folder is this planner's; ``empty_only``
    (``planner new``): only a missing or empty folder will do; ``forceable`` False: the command
    has no --force, so the fix does not offer it; ``writes``: the names the command will write,
    refused when the user put an entry of that name into a plan folder (even with ``force``: the
    planner knows it is theirs); ``replaces``: the command replaces the folder's planner files
    (a plan written there), so a sweep's results in it would go (refused without ``force``).
    Returns the path unchanged."""
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
        if not owned and INSTANCE_FILE in names:  # its tables share names with a plan's
            raise OutputError(label, path, f"holds {INSTANCE_FILE}: it is an instance's folder, "
                              "whose tables a plan's files would replace.",
                              "Give a new folder, e.g. out/plan (--force does not change this).")
        if names and not owned and not force:
            raise OutputError(label, path, f"holds {len(names)} file(s) that are not a plan this "
                              f"planner wrote ({listing(names)}).",
                              "Choose a new or empty folder, or add --force to write the plan "
                              "there anyway (files named as the planner's outputs, e.g. an older "
                              "plan's, are replaced; the rest are kept)."
                              if forceable else "Choose a new or empty folder.")
        if replaces and SWEEP_MARKER in names and not force:
            raise OutputError(label, path, f"holds a sweep's results ({SWEEP_MARKER}, "
                              "results.csv, rows/); writing a plan there replaces the folder's "
                              "planner files and would remove them.",
                              "Give another folder, or add --force to replace the sweep with the "
                              "plan." if forceable else "Give another folder.")
        check_clashes(target, writes, label, path)
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
    names only, and only when their pid is dead or they are a day old. Returns those removed.

    Call under :func:`locked`, so no writer of ``target`` is between the two renames of
    :func:`replace_dir`: a missing ``target`` beside an old copy of a plan folder means one was
    stopped there (killed, or interrupted where it could not put it back). That old copy holds
    the user's entries, so it is put back in place rather than removed."""
    found: list[tuple[Path, str, float, bool]] = []
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(target.parent):
            match = _STAGING.match(entry.name)
            if not match or match["name"] != target.name:
                continue
            try:
                mtime = entry.stat(follow_symlinks=False).st_mtime
            except FileNotFoundError:
                continue
            stale = time.time() - mtime > STALE_AGE_S or not _alive(int(match["pid"]))
            found.append((Path(entry.path), match["kind"], mtime, stale))
    olds = [(mtime, path) for path, kind, mtime, _ in found
            if kind == "old" and (path / PLAN_MARKER).exists()]
    if olds and not (target.is_symlink() or target.exists()):
        back = max(olds)[1]
        os.replace(back, target)
        found = [item for item in found if item[0] != back]
    removed = [path for path, _, _, stale in found if stale]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed


def replace_dir(staging: Path, target: Path) -> list[str]:
    """Put ``staging`` in place of ``target`` (call under :func:`locked`, after
    :func:`clean_stale` and :func:`check_out_dir` with the staged names): hard-link the user's
    entries of ``target`` (:func:`entries_to_keep`) into ``staging``, move the old plan aside,
    rename the new one in, delete the old one. Returns the names kept.

    A user's entry is never only in a folder :func:`clean_stale` removes: until the first rename
    it is in ``target`` (staging holds links), after the second in the new ``target``; a failure
    between the two puts the old folder back, and a death there leaves ``target`` missing, so
    the next writer's :func:`clean_stale` puts it back."""
    if not (target.is_symlink() or target.exists()):
        os.replace(staging, target)
        return []
    kept = entries_to_keep(target)
    for name in kept:
        carry(target / name, staging / name)
    old = staging_name(target, "old")
    os.replace(target, old)
    try:
        os.replace(staging, target)
    except BaseException:  # Ctrl-C or an error between the renames: the old folder goes back
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return kept


def prepare_out_dir(path: str | Path, names: Iterable[str] = (), **rules) -> Path:
    """Check ``path`` by :func:`check_out_dir`'s ``rules``, create it and mark it as this
    planner's with ``names`` recorded (:func:`record_written`), for commands that write files into
    a folder (derive, pareto, compare, report, risk, stress)."""
    names = list(names)
    target = check_out_dir(path, writes=names, **rules)
    record_written(target, names, create=True, label=rules.get("label", "--out"))
    return target


def check_clashes(target: Path, writes: Iterable[str], label: str, path: object) -> None:
    """Refuse to write names the user put into the plan folder ``target``: theirs, not ours."""
    clash = sorted(set(entries_to_keep(target)) & set(writes))
    if clash:
        raise OutputError(label, path, f"holds {listing(clash)}, which you added, under a name "
                          "the planner writes into plan folders (this command, or a later "
                          "'planner risk' or 'report' there, could overwrite it).",
                          "Rename or move it out of the folder, then run again (--force does "
                          "not change this).")


def record_written(folder: Path, names: Iterable[str], *, create: bool = False,
                   label: str = "--out") -> None:
    """Record ``names`` in the marker of the plan folder ``folder``: every writer into a plan
    folder calls this *before* writing them, so a writer killed mid-write leaves nothing a later
    replace takes for the user's. Under :func:`locked` (after :func:`clean_stale`) the marker is
    read, the names added and the marker renamed back, so concurrent writers lose no name.

    A folder without a marker is no plan folder: nothing is recorded, unless ``create`` (a
    folder :func:`check_out_dir` allowed), which makes it and marks it with ``names``. A name
    the user put into the folder is refused (:func:`check_clashes`), nothing written."""
    folder, names = Path(folder), frozenset(names)
    if not create and not (folder / PLAN_MARKER).is_file():
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    with locked(folder):
        clean_stale(folder)
        written = written_names(folder)
        if written is None:
            if create:
                folder.mkdir(exist_ok=True)
                write_marker(folder, names)
            return
        check_clashes(folder, names, label, folder)
        if not names <= written:
            write_marker(folder, written | names)


