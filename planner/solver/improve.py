"""Fix-and-optimise on the second core: better plans while HiGHS proves the bound.

Why: at England scale (80,000 binaries) HiGHS spends a 300 s time limit at the root node. Its
bound after a minute or two is within 1 % of the best plan known, but its own heuristics do
not improve the greedy start (3.07 % above the bound after 300 s), and its MIP search runs on
one thread, so the machine's second core idles. With this worker the gap after 300 s was
0.97 % (docs/performance.md, scripts/bench_search.py). The
planner knows the problem's structure: services couple only through the budget, provider
incomes and capacities, and level limits. So a second process improves the incumbent by
*fix-and-optimise* over those blocks (:mod:`formulations.neighbourhoods`):

1. take the incumbent's binaries (first the greedy start, later anything better HiGHS finds);
2. free the binaries of a group of ``group_size`` services (their levels, contracts and the
   providers offering them), fix every other binary at the incumbent, and solve that MIP for at
   most ``sub_time`` seconds from the incumbent (HiGHS presolve removes what is fixed);
3. keep the result if it is cheaper; next group (a seeded random order, then round again).

Every plan found this way is a plan of the whole model (only bounds of binaries were tightened),
so it is a valid incumbent. The two searches share their best plan through two memory-mapped
files (:class:`planner.solver.improve_worker.SharedPlan`; the worker inherits their descriptors
and their names are removed as soon as it starts, so nothing is left in /dev/shm even if both
processes are killed): HiGHS
is offered the worker's plan whenever it asks for a user solution, the worker adopts HiGHS's
improvements, and at the end the better of the two incumbents is the plan. **The reported bound
is always HiGHS's own**: the worker only supplies plans, never a bound, and it never changes
the model, so the optimum and every proof are unchanged.

It runs only where it pays: a MIP with at least ``LARGE_MIP_BINARIES`` binaries, on a machine
with two or more cores, unless the caller asks for one thread (``SolveOptions.threads=1``) or
sets ``SolveOptions.improve``. With a time limit the plan found depends on timing, as any
time-limited search does; a search that proves its gap is unaffected.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import highspy
import numpy as np

from planner.solver.improve_worker import (
    ImproveSettings,
    SharedPlan,
    settings_payload,
    tolerance,
)

STOP_GRACE_S = 1.0
"""Seconds the worker is given to stop by itself when the search ends, before it is killed."""

LARGE_MIP_BINARIES = 20_000
"""Binaries from which fix-and-optimise runs by default (England: 80,000; region: 12,000)."""


def cores() -> int:
    """Cores this process may use (the affinity mask where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def wanted(improve: bool | None, threads: int | None, binaries: int) -> bool:
    """Run fix-and-optimise? ``improve`` True/False decides; None: by instance class."""
    if improve is not None:
        return improve
    return binaries >= LARGE_MIP_BINARIES and threads != 1 and cores() >= 2


class Improver:
    """The parent's side: starts the worker, trades plans with HiGHS, stops it, reports.

    Two shared blocks, each with one writer (:class:`SharedPlan`): HiGHS's best plan (written
    here, from its improving-solution callback) and the worker's (written by the worker). The
    worker is a fresh interpreter (``python improve_worker.py``), not a fork of this process
    (which holds HiGHS's threads) nor a multiprocessing spawn (which would re-import the
    caller's script), given the model on its standard input."""

    def __init__(self, arrays: dict[str, object], groups: list[np.ndarray], start: tuple | None,
                 options: dict[str, object], seed: int, time_limit: float | None,
                 settings: ImproveSettings | None = None):
        """``arrays``: HiGHS's model as :func:`planner.solver.improve_worker.lp_arrays` gives it."""
        self.main = SharedPlan.create(arrays["num_col"])
        self.worker = SharedPlan.create(arrays["num_col"])
        self.offered = 0  # version of the worker's plan last offered to HiGHS
        payload = {"lp": arrays, "groups": groups, "start": start, "seed": seed,
                   "options": options, "settings": settings_payload(settings or ImproveSettings()),
                   "deadline": None if time_limit is None else max(time_limit - 1.0, 1.0),
                   "main": self.main.fd, "worker": self.worker.fd}
        try:
            self.process = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("improve_worker.py"))],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                pass_fds=(self.main.fd, self.worker.fd))
            for block in (self.main, self.worker):
                block.unlink()  # both processes hold the blocks now; no name is left behind
            pickle.dump(payload, self.process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.process.stdin.flush()
        except BaseException:  # e.g. the worker died before reading its model: no child left
            process = getattr(self, "process", None)
            if process is not None:
                with contextlib.suppress(Exception):
                    process.kill()
                    process.wait()
            self._release()
            raise

    def subscribe(self, highs: highspy.Highs) -> None:
        highs.cbMipImprovingSolution.subscribe(self._share_main)
        highs.cbMipUserSolution.subscribe(self._offer_worker)

    def unsubscribe(self, highs: highspy.Highs) -> None:
        with contextlib.suppress(Exception):
            highs.cbMipImprovingSolution.unsubscribe(self._share_main)
            highs.cbMipUserSolution.unsubscribe(self._offer_worker)

    def _share_main(self, event) -> None:
        """HiGHS found a better plan: share it, so the worker builds on it."""
        self.main.write(float(event.data_out.objective_function_value),
                        event.data_out.mip_solution)

    def _offer_worker(self, event) -> None:
        """HiGHS asks for a user solution: offer the worker's plan if it is better."""
        plan = self.worker.read(newer_than=self.offered)
        if plan is None:
            return
        version, objective, values = plan
        self.offered = version
        if objective < float(event.data_out.mip_primal_bound) - tolerance(objective):
            event.data_in.setSolution(values)

    def finish(self) -> tuple[float, np.ndarray] | None:
        """Stop the worker; the last plan it published (objective, column values), if any.

        Its plans are published whole as they are found, so it is not waited for: it is given
        STOP_GRACE_S to see the stop flag between sub-MIPs, then killed (a sub-MIP may run
        another 15 s, and Ctrl-C should not wait for it)."""
        self.main.stop()
        with contextlib.suppress(Exception):
            self.process.stdin.close()
        try:
            code = self.process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        else:
            if code != 0:  # the search went on without it; say so rather than hide it
                warnings.warn(f"the fix-and-optimise worker stopped with exit code {code}; the "
                              "plan is HiGHS's own", RuntimeWarning, stacklevel=2)
        plan = self.worker.read(newer_than=0)
        self._release()
        return None if plan is None else (plan[1], plan[2])

    def _release(self) -> None:
        for block in (self.main, self.worker):
            block.release()
