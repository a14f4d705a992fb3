"""Ctrl-C (and a sweep's SIGTERM) while HiGHS runs: asked of HiGHS at its next poll, raised after.

Kept apart from the adapter (planner.solver.highs) because it is about signals and HiGHS's
interrupt callbacks, not about the model: see :class:`SignalsDuringSolve`.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading

import highspy
from pyomo.contrib.solver.solvers.highs import Highs

PYOMO_HIGHS_LOG = logging.getLogger("pyomo.contrib.solver.solvers.highs")


class SignalsDuringSolve:
    """Ctrl-C during a solve: HiGHS is asked to stop, and KeyboardInterrupt is raised after it.

    Python runs a signal's handler in the main thread at the next Python code it executes;
    while HiGHS runs, that is inside one of HiGHS's callbacks (an interrupt poll, or the
    fix-and-optimise exchange). Left to Python's default handler, KeyboardInterrupt was raised
    there and thrown through HiGHS's C++ (pybind11 turns it into a C++ exception), with three
    effects (tests/solve/test_interrupt.py): HiGHS's interior-point solver catches
    ``std::exception`` and carries on, so an LP solve stopped by Ctrl-C returned status
    ``error`` (the CLI wrote plan.json and exited 1); a KeyboardInterrupt raised while the
    fix-and-optimise worker was being stopped after the run left the worker running; and the
    unwound HiGHS was broken, every later solve of that model returning status ``error``.

    So while the solver runs, SIGINT (and SIGTERM, where its handler is Python's, as in a
    sweep) only records the signal and tells HiGHS to stop at its next interrupt poll
    (``user_interrupt`` of its MIP, simplex and IPM interrupt callbacks); nothing is raised
    inside HiGHS. When the solve is over (the fix-and-optimise worker stopped), the
    handler that was there is called, so the caller gets KeyboardInterrupt (or the sweep's
    ``Terminated``) *whatever status HiGHS reported*: an interrupt, a time limit reached
    meanwhile, or an optimum. HiGHS polls only between steps, and not inside its MIP's LP
    solves or sub-MIPs: a long step (England's root LP, 60–120 s; one root step of 190–270 s,
    docs/performance.md) runs to its end first. A second signal changes nothing. Only in the
    main thread (where Python runs handlers); a signal ignored (SIG_IGN, e.g. in a sweep's
    worker) or left to its default action (SIG_DFL) is not touched.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, highs: highspy.Highs):
        self.highs = highs
        self.taken: int | None = None
        self.previous: dict[int, object] = {}

    def __enter__(self) -> SignalsDuringSolve:
        if threading.current_thread() is not threading.main_thread():
            return self
        for signum in self.SIGNALS:
            handler = signal.getsignal(signum)
            if callable(handler):  # a Python handler (not SIG_DFL, SIG_IGN or None)
                self.previous[signum] = signal.signal(signum, self._take)
        if self.previous:
            for callback in self._callbacks():
                callback.subscribe(self._poll)
            PYOMO_HIGHS_LOG.addFilter(self._expected)
        return self

    def __exit__(self, *exc) -> None:
        if not self.previous:
            return
        for callback in self._callbacks():
            with contextlib.suppress(Exception):
                callback.unsubscribe(self._poll)
        PYOMO_HIGHS_LOG.removeFilter(self._expected)
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        if self.taken is not None:
            self.previous[self.taken](self.taken, None)  # raises (KeyboardInterrupt, Terminated)

    def _callbacks(self) -> tuple:
        highs = self.highs
        return (highs.cbMipInterrupt, highs.cbSimplexInterrupt, highs.cbIpmInterrupt)

    def _take(self, signum: int, frame) -> None:
        if self.taken is None:
            self.taken = signum

    def _expected(self, record: logging.LogRecord) -> bool:
        """Pyomo warns of HiGHS's interrupt status as unhandled; asked for here, it is not news."""
        return self.taken is None or "kInterrupt" not in record.getMessage()

    def _poll(self, event) -> None:
        # HiGHS keeps the flag between runs: set it either way, so that an interrupted solve's
        # flag does not stop the next solve of the same model at its first poll
        event.interrupt(self.taken is not None)


def interrupted(solver: Highs) -> bool:
    """True if HiGHS stopped because of Ctrl-C (Pyomo maps that status to 'unknown')."""
    highs = getattr(solver, "_solver_model", None)
    if highs is None:
        return False
    status = highs.getModelStatus()
    return status in (highspy.HighsModelStatus.kInterrupt,
                      getattr(highspy.HighsModelStatus, "kHighsInterrupt", None))
