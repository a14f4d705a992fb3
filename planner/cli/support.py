"""Shared CLI plumbing: exit codes and clear, traceback-free errors for every command."""

from __future__ import annotations

import errno
import functools
import shutil
import sys
import traceback
from importlib import resources
from pathlib import Path

import click

from planner.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK, PlannerError
from planner.results.outdir import (  # noqa: F401 - the output rules, for every command
    PLAN_FOLDER_NAMES,
    check_log_file,
    check_name,
    check_out_dir,
    prepare_out_dir,
    slug,
)

EXIT_INTERRUPTED = 130

#: OSErrors the machine, not the planner, is at fault for: what happened, and what to do.
ENVIRONMENT_ERRORS = {
    errno.ENOSPC: ("no space left on the device", "free some space, or write to another folder"),
    errno.EDQUOT: ("disk quota exceeded", "free some space, or write to another folder"),
    errno.EFBIG: ("a file grew past the file-size limit (ulimit -f)",
                  "raise the limit (ulimit -f unlimited) or write to another folder"),
    errno.EACCES: ("permission denied", "choose a folder you can write to"),
    errno.EPERM: ("operation not permitted", "choose a folder you can write to"),
    errno.EROFS: ("the file system is read-only", "choose a folder on a writable disk"),
    errno.ENOTDIR: ("a part of the path is a file, not a folder", "give a path made of folders"),
    errno.EISDIR: ("it is a folder where a file was expected", "give a file name"),
    errno.ENAMETOOLONG: ("the name is too long for the file system", "give a shorter name"),
    errno.EMFILE: ("too many open files", "raise the limit (ulimit -n)"),
    errno.EIO: ("input/output error on the device", "check the disk"),
}


def environment_message(exc: OSError) -> str | None:
    """A one-line message for an OSError caused by the machine (full disk, limits, permissions),
    or None for one that would be the planner's own bug."""
    known = ENVIRONMENT_ERRORS.get(exc.errno or 0)
    if known is None:
        return None
    what, fix = known
    where = f" ('{exc.filename}')" if exc.filename else ""
    return f"cannot read or write a file{where}: {what}. Fix: {fix}, then run again."


def guarded(command):
    """Map the planner's errors to exit codes and clear messages; tracebacks only with --debug."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        debug = click.get_current_context().find_root().params.get("debug", False)
        try:
            return command(*args, **kwargs)
        except PlannerError as exc:
            if debug:
                traceback.print_exc()
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except BrokenPipeError:
            sys.exit(EXIT_OK)  # the reader (e.g. `head`) closed the pipe; the plan is written
        except KeyboardInterrupt:
            resume = " (the finished scenarios are kept: run the sweep again to resume)" \
                if command.__name__ == "sweep" else ""
            click.echo(f"interrupted: nothing half-written{resume}.", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except OSError as exc:
            message = environment_message(exc)
            if debug:
                traceback.print_exc()
            if message is None:
                click.echo(f"internal error: {type(exc).__name__}: {exc} "
                           "(run with --debug for the traceback, and please report it)", err=True)
                sys.exit(EXIT_INTERNAL)
            click.echo(f"error: {message}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except Exception as exc:  # noqa: BLE001 - the last line of defence for users
            if debug:
                traceback.print_exc()
            click.echo(f"internal error: {type(exc).__name__}: {exc} "
                       "(run with --debug for the traceback, and please report it)", err=True)
            sys.exit(EXIT_INTERNAL)

    return wrapper


def copy_template(target: Path) -> None:
    """Copy the template instance shipped with the planner (CSV, YAML and notes) into ``target``."""
    template = resources.files("planner") / "templates"
    target.mkdir(parents=True, exist_ok=True)
    for item in template.iterdir():
        if item.name.endswith((".csv", ".yaml", ".md")):
            with resources.as_file(item) as source:
                shutil.copyfile(source, target / item.name)
