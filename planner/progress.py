"""Progress of long stages on a terminal, and nothing anywhere else.

A default ``planner solve`` of a multi-year instance spends most of its time after the plan is
found, in the marginal-values re-solves; without a sign of life an analyst cannot tell a slow
run from a hung one. The bar goes to stderr and only when stderr is a terminal (tqdm's
``disable=None``), so pipes, redirected logs, CI and tests see exactly the output they saw
before, and stdout (the plan's summary) is never touched.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from tqdm import tqdm

BAR_FORMAT = "{desc}: {n_fmt} of {total_fmt} {unit} [{elapsed}<{remaining}]"


@contextmanager
def progress(stage: str, total: int, unit: str = "re-solves",
             file: TextIO | None = None) -> Iterator[tqdm]:
    """A bar reading e.g. "marginal values: 12 of 30 re-solves"; call ``.update()`` per step.

    ``file`` defaults to the stderr of the moment (so a caller that swaps sys.stderr is
    honoured); the bar shows only if it is a TTY, and is cleared when the stage ends.
    """
    bar = tqdm(total=total, desc=stage, unit=unit, file=file or sys.stderr, disable=None,
               leave=False, bar_format=BAR_FORMAT, dynamic_ncols=True)
    try:
        yield bar
    finally:
        bar.close()
