"""CLI commands beyond the core ones, one module per family (sweep, report, ...).

Each module defines ``COMMANDS``, a list of click commands; planner.cli adds them all. Commands
wrap their body with :func:`planner.cli_support.guarded` for exit codes and clear errors.
"""
