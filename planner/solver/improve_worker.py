"""The fix-and-optimise worker (:mod:`planner.solver.improve`), run as its own interpreter.

``python improve_worker.py`` reads its payload (the model as arrays, the neighbourhoods, the
start, the settings and the two shared files) from standard input and searches until the parent
sets the stop flag, its deadline passes, or the parent dies (Linux kills it then). It imports
only the standard library, numpy and highspy, so it starts in a fraction of a second and never
re-runs the caller's script.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass

import highspy
import numpy as np


@dataclass(frozen=True)
class ImproveSettings:
    """How the worker searches; chosen by measurement on England (docs/performance.md)."""

    group_size: int = 20  # services freed together
    sub_time: float = 15.0  # wall seconds per sub-MIP at most
    sub_gap: float = 1e-4  # relative gap of each sub-MIP


def tolerance(objective: float) -> float:
    """How much cheaper a plan must be to count as better (relative 1e-9, at least £1e-9)."""
    return 1e-9 * max(abs(objective), 1.0)


class SharedPlan:
    """A plan in a memory-mapped file with one writer and readers elsewhere: a sequence lock
    (odd while a write is under way), the objective, a stop flag, then the column values."""

    HEADER = 3

    def __init__(self, path: str | None, ncol: int, owner: bool, fd: int | None = None):
        self.path, self.owner, self.fd = path, owner, fd
        if fd is None:
            self.array = np.memmap(path, dtype=np.float64, mode="r+", shape=(self.HEADER + ncol,))
        else:  # the mapping outlives the descriptor, which is closed at once
            with os.fdopen(fd, "r+b") as file:
                self.array = np.memmap(file, dtype=np.float64, mode="r+",
                                       shape=(self.HEADER + ncol,))
            self.fd = None

    @classmethod
    def create(cls, ncol: int) -> SharedPlan:
        """A new block, mapped here, with its descriptor kept open (``fd``) for the worker to
        inherit; :meth:`unlink` it once the worker is started, so no file outlives the two
        processes, even if both are killed."""
        folder = "/dev/shm" if os.path.isdir("/dev/shm") else None
        handle, path = tempfile.mkstemp(prefix="planner-plan-", suffix=".bin", dir=folder)
        os.ftruncate(handle, 8 * (cls.HEADER + ncol))
        plan = cls(path, ncol, owner=True)
        plan.fd = handle
        plan.array[:cls.HEADER] = (0.0, np.inf, 0.0)
        return plan

    @classmethod
    def inherited(cls, fd: int, ncol: int) -> SharedPlan:
        """The block whose descriptor ``fd`` this process inherited (the worker's side)."""
        return cls(None, ncol, owner=False, fd=fd)

    def unlink(self) -> None:
        """Remove the file's name and close the descriptor: the mappings stay."""
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None
        if self.owner and self.path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            self.path = None

    def write(self, objective: float, values) -> None:
        """Publish a plan if it is better than the one published (the only writer calls this)."""
        if not objective < self.array[1] - tolerance(objective):
            return
        self.array[0] += 1  # odd: being written
        self.array[self.HEADER:] = values
        self.array[1] = objective
        self.array[0] += 1

    def read(self, newer_than: int) -> tuple[int, float, np.ndarray] | None:
        """(version, objective, values) of the published plan if newer than ``newer_than``."""
        first = int(self.array[0])
        if first == 0 or first % 2 or first // 2 <= newer_than:
            return None
        objective, values = float(self.array[1]), np.array(self.array[self.HEADER:])
        if int(self.array[0]) != first:  # written meanwhile: read it next time
            return None
        return first // 2, objective, values

    def stop(self) -> None:
        self.array[2] = 1.0

    def stopped(self) -> bool:
        return bool(self.array[2])

    def release(self) -> None:
        self.array = None
        self.unlink()


def lp_arrays(lp) -> dict[str, object]:
    """The model HiGHS holds, as plain arrays another process can rebuild it from."""
    a = lp.a_matrix_
    return {"num_col": int(lp.num_col_), "num_row": int(lp.num_row_), "sense": int(lp.sense_),
            "offset": float(lp.offset_), "col_cost": np.asarray(lp.col_cost_),
            "col_lower": np.asarray(lp.col_lower_), "col_upper": np.asarray(lp.col_upper_),
            "row_lower": np.asarray(lp.row_lower_), "row_upper": np.asarray(lp.row_upper_),
            "format": int(a.format_), "start": np.asarray(a.start_),
            "index": np.asarray(a.index_), "value": np.asarray(a.value_),
            "integrality": np.asarray([int(v) for v in lp.integrality_], dtype=np.int8),
            "integer": int(highspy.HighsVarType.kInteger)}


def rebuild(arrays: dict[str, object]) -> highspy.Highs:
    """A HiGHS instance holding the model of :func:`lp_arrays`."""
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = arrays["num_col"], arrays["num_row"]
    lp.sense_, lp.offset_ = highspy.ObjSense(arrays["sense"]), arrays["offset"]
    for name in ("col_cost", "col_lower", "col_upper", "row_lower", "row_upper"):
        setattr(lp, name + "_", arrays[name])
    matrix = lp.a_matrix_
    matrix.format_ = highspy.MatrixFormat(arrays["format"])
    matrix.num_col_, matrix.num_row_ = arrays["num_col"], arrays["num_row"]
    matrix.start_, matrix.index_, matrix.value_ = arrays["start"], arrays["index"], arrays["value"]
    lp.a_matrix_ = matrix
    lp.integrality_ = [highspy.HighsVarType(int(v)) for v in arrays["integrality"]]
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.passModel(lp)
    return highs


def search(payload: dict, main: SharedPlan, mine: SharedPlan, began: float) -> None:
    """Fix-and-optimise over groups of neighbourhoods until stopped (see planner.solver.improve)."""
    arrays, settings = payload["lp"], ImproveSettings(**payload["settings"])
    highs = rebuild(arrays)
    for key, value in {**payload["options"], "threads": 1, "mip_rel_gap": settings.sub_gap,
                       "output_flag": False}.items():
        highs.setOptionValue(key, value)
    ints = np.flatnonzero(arrays["integrality"] == arrays["integer"]).astype(np.int32)
    lower, upper = arrays["col_lower"][ints], arrays["col_upper"][ints]
    current = np.full(len(ints), np.nan)  # the incumbent's integers (nan: not known yet)
    member = np.full(arrays["num_col"], -1)
    member[ints] = np.arange(len(ints))
    if payload["start"] is not None:
        columns, values = (np.asarray(part) for part in payload["start"])
        known = member[columns.astype(np.int64)] >= 0
        current[member[columns[known].astype(np.int64)]] = np.round(values[known])
    groups = [member[g][member[g] >= 0] for g in payload["groups"]]
    best, seen = np.inf, 0
    deadline = payload["deadline"]
    rng = np.random.default_rng(payload["seed"])

    def left() -> float:
        return np.inf if deadline is None else deadline - (time.perf_counter() - began)

    while True:
        order = rng.permutation(len(groups))
        for first in range(0, len(order), settings.group_size):
            if main.stopped() or left() <= 1.0:
                return
            shared = main.read(newer_than=seen)  # a better plan from HiGHS: build on it
            if shared is not None:
                seen = shared[0]
                if shared[1] < best - tolerance(shared[1]):
                    best, current = shared[1], np.round(shared[2][ints])
            free = np.zeros(len(ints), dtype=bool)
            for g in order[first:first + settings.group_size]:
                free[groups[g]] = True
            fix = ~free & ~np.isnan(current)
            low, up = lower.copy(), upper.copy()
            low[fix], up[fix] = current[fix], current[fix]
            highs.changeColsBounds(len(ints), ints, low, up)
            known = ~np.isnan(current)
            if known.any():
                highs.setSolution(int(known.sum()), ints[known], current[known])
            highs.setOptionValue("time_limit", float(min(settings.sub_time, left())))
            highs.run()
            info = highs.getInfo()
            if info.primal_solution_status != 2:  # this neighbourhood found nothing in time
                continue
            objective = float(info.objective_function_value)
            if objective < best - tolerance(objective):
                values = np.asarray(highs.getSolution().col_value)
                best, current = objective, np.round(values[ints])
                mine.write(objective, values)


def _die_with_parent() -> None:
    """Ask Linux to kill this worker when the planner's process dies (no orphan after SIGKILL)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def main() -> None:
    began = time.perf_counter()
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    payload = pickle.load(sys.stdin.buffer)
    ncol = payload["lp"]["num_col"]
    shared = SharedPlan.inherited(payload["main"], ncol)
    mine = SharedPlan.inherited(payload["worker"], ncol)
    try:
        search(payload, shared, mine, began)
    finally:
        shared.release()
        mine.release()


def settings_payload(settings: ImproveSettings) -> dict[str, object]:
    return asdict(settings)


if __name__ == "__main__":
    main()
