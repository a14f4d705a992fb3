"""Shared CLI plumbing: exit codes and clear, traceback-free errors for every command."""

from __future__ import annotations

import functools
import sys
import traceback

import click

from planner.errors import EXIT_INTERNAL, EXIT_OK, PlannerError

EXIT_INTERRUPTED = 130


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
            click.echo("interrupted: nothing half-written (a sweep keeps its finished scenarios "
                       "for a resume).", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence for users
            if debug:
                traceback.print_exc()
            click.echo(f"internal error: {type(exc).__name__}: {exc} "
                       "(run with --debug for the traceback, and please report it)", err=True)
            sys.exit(EXIT_INTERNAL)

    return wrapper
