"""SIGINT and SIGTERM while a sweep runs: the same stop at any moment, with the right exit code.

Kept apart from the runner (planner.sweeps.runner) because it is about signals, not scenarios:
see :class:`SweepSignals`.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived during a sweep: raised in the parent so that it stops its workers (and
    keeps every finished row) before it exits, as on Ctrl-C."""


class SweepSignals:
    """SIGINT and SIGTERM while a sweep runs, in its main thread.

    The first one is *taken*: it raises KeyboardInterrupt (SIGINT) or :class:`Terminated`
    (SIGTERM) and is remembered. Remembering matters because Python runs a signal's handler at
    whatever Python code the main thread runs next, and some code swallows what it raises: a
    signal handled inside a fork handler (``logging._releaseLock`` while the pool forks its
    workers) or a finaliser is only reported as "Exception ignored in ..." and the sweep would
    run on to exit 0. :meth:`check`, called as the sweep runs and when it ends, raises the
    taken signal's exception again. Every later signal is ignored, so a second Ctrl-C or a
    SIGTERM during the cleanup that stops the workers neither cuts it short nor changes the
    exit code. While :meth:`quiet` (forking the workers, stopping them), a first signal is only
    taken, and raised by the next :meth:`check`.

    SIGINT is handled only where Python's default handler is installed: a sweep started with
    SIGINT ignored (a background job) or handled by the caller leaves it so.
    """

    def __init__(self) -> None:
        self.taken: int | None = None
        self._quiet = 0

    def handle(self, signum: int, frame: Any) -> None:
        if self.taken is not None:
            return  # the first signal is being acted on: this one changes nothing
        self.taken = signum
        if not self._quiet:
            raise self.exception()

    def exception(self) -> KeyboardInterrupt:
        return Terminated() if self.taken == signal.SIGTERM else KeyboardInterrupt()

    def check(self) -> None:
        if self.taken is not None:
            raise self.exception()

    @contextmanager
    def quiet(self) -> Iterator[None]:
        self._quiet += 1
        try:
            yield
        finally:
            self._quiet -= 1


_SIGNALS: SweepSignals | None = None  # the running sweep's, in its main thread


@contextmanager
def signals_stop_the_sweep() -> Iterator[None]:
    """While a sweep runs, SIGINT and SIGTERM stop it the same way at any moment (see
    :class:`SweepSignals`): the workers are stopped, every finished row is kept, and the exception
    that leaves is KeyboardInterrupt (exit 130) or :class:`Terminated` (exit 143), whatever
    else failed meanwhile (e.g. the pool breaking as its workers are stopped)."""
    global _SIGNALS
    if threading.current_thread() is not threading.main_thread() or _SIGNALS is not None:
        yield  # no handlers outside the main thread; a nested sweep shares the outer one's
        return
    signals = _SIGNALS = SweepSignals()
    previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, signals.handle)}
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, signals.handle)
    try:
        yield
        signals.check()
    except BaseException as exc:
        if signals.taken is None or type(exc) is type(signals.exception()):
            raise
        raise signals.exception() from exc  # the signal decides the exit code
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _SIGNALS = None


def check_signals() -> None:
    """Raise the running sweep's taken signal, if any (its first exception may have been lost)."""
    if _SIGNALS is not None:
        _SIGNALS.check()


@contextmanager
def quiet_signals() -> Iterator[None]:
    """Signals are taken but not raised inside (see :meth:`SweepSignals.quiet`)."""
    if _SIGNALS is None:
        yield
        return
    with _SIGNALS.quiet():
        yield


__all__ = ["SweepSignals", "Terminated", "check_signals", "quiet_signals",
           "signals_stop_the_sweep"]
