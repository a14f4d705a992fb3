"""The post-plan analyses' one time budget, and how each of their MILP re-solves is run.

Why one budget: after the plan, ``planner solve`` re-solves the model for the marginal values
(budget steps, choice rules), why-not-bought (each service forced in) and the priority lists
(every year's budget × 0.8 … 1.25). On a multi-year instance each re-solve takes about as long
as the plan itself, and there may be dozens. They therefore share one wall-clock budget,
made when the plan is found (:func:`default_budget`): by default the analyses end by
ANALYSIS_END_S seconds after ``planner.solve`` began, leaving time to write the plan folder, so
that a default solve of every shipped instance ends within a minute when the plan's own solve
is well under that. A row or entry the budget did not reach says so (``skipped`` with the
reason), and nothing skipped is ever reported as a value.

Each re-solve starts from the plan itself (its integer decisions as the MIP start: a feasible
plan for every relaxation, so HiGHS has only to prove or beat it), stops at a relative gap of
RESOLVE_GAP (or the plan's own, if looser) and may take at most RESOLVE_TIME_FACTOR times the
plan's own solve (+1 s) or what is left of the budget, whichever is less.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from planner.solver.highs import SolveResult
from planner.solver.session import PlanningModel

#: by default the analyses stop this many wall seconds after planner.solve began (the minute
#: less the plan folder's writing, about 3 s on pct_5y, and Python's start, about 2 s, with a
#: margin for a loaded machine)
ANALYSIS_END_S = 45.0
MIN_BUDGET_S = 5.0  # ... but they always have at least this many seconds
RESOLVE_GAP = 1e-4  # relative MIP gap of the re-solves
RESOLVE_TIME_FACTOR = 3.0  # each re-solve may take this many times the plan's own solve


def default_budget(elapsed: float, time_limit: float | None = None) -> float:
    """Wall seconds the post-plan analyses share when ``elapsed`` seconds have gone by since
    ``planner.solve`` began: what is left until ANALYSIS_END_S, at least MIN_BUDGET_S, and never
    more than the user's ``time_limit`` (the re-solves share it)."""
    seconds = max(MIN_BUDGET_S, ANALYSIS_END_S - elapsed)
    return seconds if time_limit is None else min(seconds, time_limit)


@dataclass
class TimeBudget:
    """Wall seconds left for re-solves, from the moment it is made (``clock`` is injectable so
    tests can spend it deterministically)."""

    seconds: float
    clock: Callable[[], float] = time.perf_counter
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def remaining(self) -> float:
        return max(0.0, self.seconds - (self.clock() - self.started))

    def spent_message(self) -> str:
        """Why a re-solve was not run, and how to allow more (the end of a skipped row)."""
        return (f"the {self.seconds:,.0f} s the post-plan analyses share was spent before this "
                "re-solve; planner solve --marginal-time SECONDS (planner.solve(..., "
                "marginal_time=SECONDS)) allows more.")


def plan_start(session: PlanningModel, base: SolveResult) -> list[tuple]:
    """The plan's integer decisions as a MIP start [(VarData, value)]: HiGHS fixes them, solves
    the LP for the volumes, and so starts every relaxation (more budget, a choice rule eased)
    with the plan in hand and has only to prove or beat it. Volumes are left to HiGHS so the
    start stays feasible when the budget moves."""
    model, start = session.model, []
    for name, values in base.values.items():
        var = getattr(model, name, None)
        if var is None:
            continue
        for i, value in zip(var.index_set(), values):
            if var[i].is_integer() or var[i].is_binary():
                start.append((var[i], round(value)))
    return start


class Resolver:
    """Runs the re-solves of one analysis on the plan's persistent model, within the shared
    budget: ``ready()`` before each, ``restore()`` once after them all."""

    def __init__(self, session: PlanningModel, base: SolveResult, budget: TimeBudget) -> None:
        self.session, self.budget = session, budget
        self.exact = session.adapter.options
        self.per_resolve = RESOLVE_TIME_FACTOR * (base.solve_s + base.transfer_s) + 1.0
        self.options = replace(self.exact, gap=max(self.exact.gap, RESOLVE_GAP))
        self.start = plan_start(session, base)

    def ready(self, start: bool = True) -> bool:
        """Set the next re-solve's time limit and (``start``) the plan as its MIP start; False
        once the budget is spent (then nothing is changed)."""
        left = self.budget.remaining()
        if left <= 0:
            return False
        limit = min(left, self.per_resolve)
        exact = self.exact.time_limit
        self.session.adapter.options = replace(
            self.options, time_limit=limit if exact is None else min(limit, exact))
        self.session.adapter.solver.restart_from(self.start if start else None)
        return True

    def restore(self) -> None:
        """The plan's own options back; a later run of the session starts at the plan."""
        self.session.adapter.options = self.exact
        self.session.adapter.solver.restart_from(self.start)
