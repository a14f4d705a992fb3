"""Stop HiGHS at the root node when its next long step would overrun the time limit.

Why: HiGHS 1.15.1 computes an *analytic centre* of the root LP's feasible region at every MIP's
root (``HighsMipSolverData::evaluateRootNode`` sets ``compute_analytic_centre`` true; there is
no option). It is an interior-point solve of the whole LP, spawned as a task after the root LP
and synchronised after the fifth separation round or at the root's end. On two cores HiGHS's
default scheduler has one thread, so the task runs at that synchronisation, inline, with no
time limit and no interrupt polls of its own. At England scale (353,587 rows × 159,402
columns) it took 154 s measured alone and 288 s inside the search: a 300 s solve polled at
148 s, then not until 436 s, so ``--time-limit 300`` ran for 440 s (docs/performance.md).
Running HiGHS on two threads instead (the task on the second core) was measured and rejected:
it starves the fix-and-optimise worker of the second core, and the root LP alone then did not
finish within 300 s.

So when fix-and-optimise runs beside HiGHS (:mod:`planner.solver.improve`), HiGHS is asked to
stop at a root poll once the time left is less than ``ROOT_STEP_FACTOR`` times what HiGHS has
taken to solve the root LP (presolve included): the centring step that follows costs one to
two root LPs. HiGHS's bound at that moment is the reported bound, and the worker goes on
improving the plan until the time limit. Nothing about the optimum changes: the bound is
HiGHS's own and still valid, and the plan is a plan of the whole model. Once a poll comes
after a pause of half a root LP or more, the centring has happened and no stop is made: a
longer time limit lets HiGHS search on as before.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

ROOT_STEP_FACTOR = 2.0
"""Stop at the root when the seconds left are fewer than this many root-LP times."""

CENTRED_PAUSE = 0.5
"""A pause between two root polls of this many root-LP times means the centring step is done."""


class RootStop:
    """Decides, at each of HiGHS's MIP interrupt polls, whether to stop HiGHS at the root.

    ``time_limit`` is the solve's limit in seconds, counted from :meth:`arm`, called just
    before HiGHS runs, in wall seconds (HiGHS's own ``running_time`` accumulates across the runs
    of a persistent model). Inactive until armed (fix-and-optimise runs) and without a time
    limit."""

    def __init__(self, time_limit: float | None, clock: Callable[[], float] = time.perf_counter):
        self.time_limit = time_limit
        self.clock = clock  # wall seconds; a test's own clock replays a run of polls
        self.armed = False
        self.began = clock()
        self.root_lp_s: float | None = None  # seconds run when HiGHS's bound first was finite
        self.last_poll_s: float | None = None
        self.centred = False
        self.stopped_at: float | None = None  # seconds run when HiGHS was asked to stop

    def arm(self) -> None:
        self.armed = self.time_limit is not None
        self.began = self.clock()

    @property
    def stopped(self) -> bool:
        return self.stopped_at is not None

    @property
    def wall_deadline(self) -> float | None:
        """The clock's time at which the time limit falls (None without one)."""
        return None if self.time_limit is None else self.began + self.time_limit

    def due(self, out) -> bool:
        """True if HiGHS should stop now; ``out`` is the poll's ``HighsCallbackOutput``."""
        if self.stopped:
            return True
        if not self.armed or self.centred or out.mip_node_count > 0:
            return False
        now = self.clock() - self.began
        last, self.last_poll_s = self.last_poll_s, now
        if self.root_lp_s is None:
            if not math.isfinite(out.mip_dual_bound):
                return False
            self.root_lp_s = now  # the first poll after the root LP: decide at once
        elif last is not None and now - last >= CENTRED_PAUSE * self.root_lp_s:
            self.centred = True
            return False
        if self.time_limit - now < ROOT_STEP_FACTOR * self.root_lp_s:
            self.stopped_at = now
            return True
        return False
