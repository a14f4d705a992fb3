"""Layer 9, the ``planner`` command: the click group in ``main`` and one module per command
family (``report``, ``sweep``, …); ``support`` holds the guards every command shares."""

from planner.cli.main import main

__all__ = ["main"]
