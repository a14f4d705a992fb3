"""Ctrl-C during a solve (planner.solver.interrupt.SignalsDuringSolve): KeyboardInterrupt reaches the caller
whatever HiGHS reports, and nothing is left behind (no fix-and-optimise worker, no shared file).

A real Ctrl-C's handler runs at the next Python code of the main thread, which during a solve
is inside one of HiGHS's callbacks; these tests deliver SIGINT exactly there (or at the moment
named), so each window is hit every time, in a second or two, without timing guesses."""

from __future__ import annotations

import glob
import os
import signal
from pathlib import Path

import numpy as np
import pyomo.environ as pyo
import pytest
from helpers import child_processes
from pytest import approx

from planner.data.instance import load_instance
from planner.solver import improve
from planner.solver.highs import FastHighs, HighsAdapter, SolveOptions
from planner.solver.session import PlanningModel

pytestmark = pytest.mark.solver
ROOT = Path(__file__).resolve().parents[2]
PCT_OPTIMUM = 230_411_481.94
TOY_OPTIMUM = 1_383_000


@pytest.fixture(autouse=True)
def ctrl_c_raises():
    """Python's own SIGINT handler, even where the suite runs with SIGINT ignored."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def ctrl_c() -> None:
    """SIGINT to this thread, as a terminal's Ctrl-C; its handler runs at the next Python code."""
    signal.raise_signal(signal.SIGINT)
    for _ in range(10):
        pass


def on_call(n: int):
    """A callback that presses Ctrl-C on its ``n``-th call."""
    calls = []

    def callback(event) -> None:
        calls.append(1)
        if len(calls) == n:
            ctrl_c()

    return callback


def transport_lp(n: int) -> pyo.ConcreteModel:
    rng = np.random.default_rng(0)
    supply, demand = rng.uniform(50, 150, n), rng.uniform(40, 120, n)
    demand *= 0.9 * supply.sum() / demand.sum()
    cost = rng.uniform(1, 100, (n, n))
    m = pyo.ConcreteModel()
    m.I = pyo.RangeSet(0, n - 1)
    m.x = pyo.Var(m.I, m.I, bounds=(0, None))
    m.s = pyo.Constraint(m.I, rule=lambda m, i: sum(m.x[i, j] for j in m.I) <= supply[i])
    m.d = pyo.Constraint(m.I, rule=lambda m, j: sum(m.x[i, j] for i in m.I) >= demand[j])
    m.o = pyo.Objective(expr=sum(cost[i, j] * m.x[i, j] for i in m.I for j in m.I))
    return m


def subscribed_before_the_run(monkeypatch, kind: str, callback) -> None:
    """Subscribe ``callback`` to HiGHS's ``kind`` callback just before each solve's run."""
    real = FastHighs._start_improver

    def start(self):
        getattr(self._solver_model, kind).subscribe(callback)
        return real(self)

    monkeypatch.setattr(FastHighs, "_start_improver", start)


def test_ctrl_c_in_an_interior_point_solve_is_not_swallowed(monkeypatch) -> None:
    """HiGHS's interior-point solver catches C++ exceptions: a KeyboardInterrupt raised inside
    its interrupt callback became 'IPX internal error' and the solve returned status error
    (the CLI then wrote plan.json and exited 1). Now HiGHS is told to stop, and the caller gets
    KeyboardInterrupt; the adapter then solves again as if nothing happened."""
    model = transport_lp(40)
    adapter = HighsAdapter(SolveOptions(highs_options=(("solver", "ipm"),)))
    subscribed_before_the_run(monkeypatch, "cbIpmInterrupt", on_call(3))
    with pytest.raises(KeyboardInterrupt):
        adapter.solve(model, var_names=("x",))
    monkeypatch.undo()
    assert adapter.solve(model, var_names=("x",)).status == "optimal"


@pytest.mark.parametrize("where", ["cbMipInterrupt", "cbMipImprovingSolution", "after the run"])
def test_ctrl_c_during_a_mip_raises_after_the_solve_whatever_highs_reports(monkeypatch,
                                                                           where: str) -> None:
    """Ctrl-C in HiGHS's interrupt poll, in a callback that cannot interrupt (an improving
    solution), or as HiGHS returns (it reports optimal): KeyboardInterrupt each time, and the
    same model solves to its optimum afterwards (no stop request left behind)."""
    session = PlanningModel(load_instance(ROOT / "instances" / "toy"),
                            options=SolveOptions(improve=False))
    if where == "after the run":
        real = FastHighs._start_improver

        def start(self):
            highs = self._solver_model
            run = highs.run
            highs.run = lambda: (run(), ctrl_c())[0]  # HiGHS finished; then Ctrl-C
            return real(self)

        monkeypatch.setattr(FastHighs, "_start_improver", start)
    else:
        subscribed_before_the_run(monkeypatch, where, on_call(1))
    with pytest.raises(KeyboardInterrupt):
        session.run()
    monkeypatch.undo()
    session.adapter.solver._solver_model.__dict__.pop("run", None)
    assert session.run().objective == approx(TOY_OPTIMUM, abs=0.5)


@pytest.mark.parametrize("when", ["in HiGHS's poll", "as the worker is stopped"])
def test_ctrl_c_with_fix_and_optimise_leaves_no_worker_and_no_file(monkeypatch, when: str) -> None:
    """With the fix-and-optimise worker running: Ctrl-C inside HiGHS's run, or while the
    worker is being stopped after it (a window of up to a second: it used to raise there and
    leave the worker running). KeyboardInterrupt, no child, no file in /dev/shm."""
    shared = set(glob.glob("/dev/shm/planner-plan-*.bin"))
    before = child_processes()
    session = PlanningModel(load_instance(ROOT / "instances" / "pct"),
                            options=SolveOptions(improve=True))
    if when == "as the worker is stopped":
        real = improve.Improver.finish

        def finish(self):
            ctrl_c()
            return real(self)

        monkeypatch.setattr(improve.Improver, "finish", finish)
    else:
        subscribed_before_the_run(monkeypatch, "cbMipInterrupt", on_call(2))
    try:
        with pytest.raises(KeyboardInterrupt):
            session.run()
        assert child_processes() <= before
        assert set(glob.glob("/dev/shm/planner-plan-*.bin")) <= shared
    finally:  # what the old code left behind, so that it does not outlive a failing test
        for pid in child_processes() - before:
            os.kill(pid, signal.SIGKILL)
        for path in set(glob.glob("/dev/shm/planner-plan-*.bin")) - shared:
            os.unlink(path)
    monkeypatch.undo()
    assert session.run().objective == approx(PCT_OPTIMUM, abs=0.01)
