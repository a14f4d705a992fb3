"""HiGHS stopped at the root when its centring step would overrun the time limit
(planner.solver.root_stop, issue 19): fix-and-optimise searches on to the limit, the bound
stays HiGHS's own, and nothing else changes.

The rule is checked on a made-up run of polls (a clock and HiGHS's poll data), and on the PCT
with the worker forced on and the rule told to stop at the first root poll after the root LP
(``ROOT_STEP_FACTOR`` raised), which happens on every run, so no timing is guessed."""

from __future__ import annotations

import math
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers import child_processes
from pytest import approx

from planner.data.instance import load_instance
from planner.results.verify import verify
from planner.solver import improve, root_stop
from planner.solver.highs import SolveOptions
from planner.solver.root_stop import RootStop
from planner.solver.session import PlanningModel

ROOT = Path(__file__).resolve().parents[2]
PCT_OPTIMUM = 230_411_481.94  # pinned in tests/solve (round 1)


def _polls(monkeypatch, stop: RootStop, polls: list[tuple[float, int, float]]) -> list[bool]:
    """``stop.due`` at each (seconds since arm, node count, dual bound)."""
    clock = {"now": 0.0}
    monkeypatch.setattr(stop, "clock", lambda: clock["now"])
    stop.arm()
    answers = []
    for seconds, nodes, bound in polls:
        clock["now"] = seconds
        answers.append(stop.due(SimpleNamespace(mip_node_count=nodes, mip_dual_bound=bound)))
    return answers


def test_it_stops_when_less_than_two_root_lps_are_left(monkeypatch) -> None:
    """England at 300 s: the root LP's bound first appears at 148 s; 152 s are left, fewer than
    2 × 148, so HiGHS stops there, and every later poll says stop too."""
    stop = RootStop(300.0)
    answers = _polls(monkeypatch, stop, [(5.0, 0, -math.inf), (148.0, 0, 3.9e10),
                                         (149.0, 0, 3.9e10)])
    assert answers == [False, True, True]
    assert stop.stopped and stop.stopped_at == 148.0 and stop.root_lp_s == 148.0


def test_with_time_to_spare_it_searches_on_and_never_stops_after_centring(monkeypatch) -> None:
    """At 900 s the same root has time for its centring step (148 → 436 s: a pause of more
    than half a root LP), after which no stop is made, not even close to the limit; nor once
    the search has left the root."""
    stop = RootStop(900.0)
    answers = _polls(monkeypatch, stop, [(148.0, 0, 3.9e10), (160.0, 0, 3.9e10),
                                         (436.0, 0, 3.9e10), (890.0, 0, 3.9e10)])
    assert answers == [False, False, False, False] and stop.centred
    late = RootStop(900.0)
    assert _polls(monkeypatch, late, [(100.0, 0, 1.0), (890.0, 3, 1.0)]) == [False, False]


def test_unarmed_or_without_a_time_limit_it_never_stops(monkeypatch) -> None:
    polls = [(1.0, 0, 1.0), (299.0, 0, 1.0)]
    assert _polls(monkeypatch, RootStop(None), polls) == [False, False]
    unarmed = RootStop(300.0)
    monkeypatch.setattr(unarmed, "arm", lambda: None)
    assert _polls(monkeypatch, unarmed, polls) == [False, False]


@pytest.fixture()
def stop_at_the_root(monkeypatch):
    """Stop at the first root poll after the root LP, whatever the time left."""
    monkeypatch.setattr(root_stop, "ROOT_STEP_FACTOR", 1e9)


@pytest.mark.solver
def test_stopped_at_the_root_the_worker_searches_on_and_the_bound_is_highss(
        stop_at_the_root, monkeypatch) -> None:
    """The PCT, worker forced on, 6 s limit: HiGHS is stopped at the root; the solve still
    lasts until the worker ends by itself (its deadline, 2 s before the limit); the plan
    verifies from the raw tables; the bound is valid (below the proven optimum) and the
    status a time limit's; no worker is left. The next solve of the same model (rule back to
    normal) is not stopped by a flag left over, and proves the pinned optimum."""
    instance = load_instance(ROOT / "instances" / "pct")
    session = PlanningModel(instance, options=SolveOptions(improve=True, time_limit=6.0))
    before = child_processes()
    began = time.perf_counter()
    result = session.run()
    wall = time.perf_counter() - began
    assert result.root_stop_s is not None and result.root_stop_s < 6.0
    assert result.termination == "maxTimeLimit"
    assert result.status in ("feasible", "optimal")
    assert result.bound <= PCT_OPTIMUM + 0.01 <= result.objective + 0.02
    assert wall >= 6.0 - 2.5
    assert verify(instance, session.plan(result)) == []
    assert child_processes() <= before
    monkeypatch.undo()
    again = PlanningModel(instance, options=SolveOptions(improve=True))
    result = again.run()
    assert result.root_stop_s is None and result.status == "optimal"
    assert result.objective == approx(PCT_OPTIMUM, abs=0.01)


@pytest.mark.solver
def test_ctrl_c_while_the_worker_searches_on_alone_stops_at_once(stop_at_the_root,
                                                                monkeypatch) -> None:
    """Ctrl-C after the root stop, while the solve waits for the worker (60 s limit): the
    wait ends at once, KeyboardInterrupt reaches the caller, and no worker is left."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    real = improve.Improver.finish
    waited = []

    def finish(self, until=None, cancelled=lambda: False):
        waited.append(until)
        signal.raise_signal(signal.SIGINT)  # recorded by the solve's handler, not raised here
        return real(self, until=until, cancelled=cancelled)

    monkeypatch.setattr(improve.Improver, "finish", finish)
    session = PlanningModel(load_instance(ROOT / "instances" / "pct"),
                            options=SolveOptions(improve=True, time_limit=60.0))
    before = child_processes()
    began = time.perf_counter()
    try:
        with pytest.raises(KeyboardInterrupt):
            session.run()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert waited and waited[0] is not None  # it was stopped at the root and would have waited
    assert time.perf_counter() - began < 30.0  # not the 60 s limit
    assert child_processes() <= before
