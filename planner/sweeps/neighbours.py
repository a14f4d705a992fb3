"""Sweeps that learn from their neighbours: each scenario starts from the last solved one's plan.

Within a worker, scenarios sharing a model are solved in order of their swept values (largest
first), so each one's neighbour is the scenario solved just before it on the same model. Two
things are carried from that neighbour, and neither can change a reported result:

* **A MIP start, in large models.** The neighbour's integer variables (levels, contracts,
  providers) are HiGHS's start; HiGHS solves for the volumes with them fixed and keeps the plan
  as its first incumbent if it is feasible, or discards it if not: a start is only ever a hint,
  never a bound. Only a model of at least ``LARGE_MIP_BINARIES`` binaries gets it, where HiGHS
  is expected to stop at a time limit and the incumbent is the answer. Below that, HiGHS proves
  the optimum in seconds and finds the incumbent itself; the neighbour's start only changed its
  path, and lengthened it: on the PCT, 8 re-solves took 15.5 s from neighbours' plans against
  13.3 s from greedy starts (prices × 1.03 … 0.97) and 8.4–9.0 s against 7.2–7.8 s (demand),
  the same answers (docs/performance.md). So those get the greedy start
  (``formulations/start.py``), as does a budget change whose neighbour's plan no longer fits.
* **An exact answer, where a change only tightens the model.** If the only change from the
  neighbour is a budget no larger in any year (same £ per QALY, same data), every plan feasible
  now was feasible then, so the neighbour's optimum is a lower bound now as it was then. If the
  neighbour's plan still fits the tighter budget it is therefore optimal again, with the same
  proven bound and gap, and no solve is needed; if the neighbour was infeasible, so is this
  scenario. Both are proofs, not heuristics: nothing is reported that HiGHS did not prove for a
  model whose feasible set contains this one's. Solving largest budget first makes this the
  common case in a budget sweep (every scenario whose budget is not binding).

An infeasible scenario's message (the first relaxation of its diagnosis) is carried too, where
it is a budget shortfall: the shortfall at budget B is the least spend m of a plan meeting every
other rule, minus B, and m does not depend on B when B appears only in the one budget row, with
coefficient 1 (a single year's ``budget_limit``). So once a scenario is found exactly m − B short,
a scenario of the same data at budget B' is m − B' short, with no elastic solve.

No objective cutoff is passed to HiGHS: the start already gives HiGHS the neighbour's objective
as an incumbent where it is feasible, and a cutoff at an optimum HiGHS must reach exactly can
make it report a feasible scenario infeasible.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real
from typing import Any

import pyomo.environ as pyo

from planner.analysis.diagnosis import (
    BUDGET_FAMILY,
    SLACK_TOL,
    budget_shortfall,
    first_relaxation,
)
from planner.data.instance import Instance
from planner.derive.tables import Derived
from planner.rules import Status
from planner.solver.budget_fit import (  # noqa: F401 - both were defined here
    FIT_TOLERANCE,
    MONOTONE_BUDGET_ROWS,
    budget_rows,
    fits,
)
from planner.solver.highs import LARGE_MIP_BINARIES, SolveOptions, SolveResult, binary_count
from planner.solver.session import PlanningModel
from planner.sweeps.scenarios import Scenario


def neighbour_order(group: list[Scenario]) -> list[Scenario]:
    """``group`` sorted so consecutive scenarios are near: by their swept values, largest first
    (a budget sweep then only tightens from one scenario to the next). Numbers sort as numbers,
    anything else after them as text; ties keep the user's order."""

    def key(scenario: Scenario) -> tuple:
        return tuple((0, -float(v), "") if isinstance(v, Real) and not isinstance(v, bool)
                     else (1, 0.0, str(v)) for _, v in scenario.values)

    return sorted(group, key=key)


@dataclass
class Solved:
    """What a model last answered: the data it held, its policy values and the result."""

    data_key: str  # the scenario's structure_key: same key, same data but budget and £/QALY
    budgets: dict[Any, float]
    value_per_qaly: float
    result: SolveResult
    incumbent: list[tuple] | None  # [(VarData, value)] of every variable in its plan


class Neighbours:
    """The last solve of each of a worker's models, and what the next scenario may take from it."""

    def __init__(self) -> None:
        self.last: dict[str, Solved] = {}  # model signature -> its last solve
        self.budget_rows: dict[str, list | None] = {}  # signature -> rows holding budget Params
        # signature -> ((data_key, £/QALY), least spend £, the budget relaxation found there)
        self.least_spend: dict[str, tuple[tuple[str, float], float, dict]] = {}
        self.large: dict[str, bool] = {}  # signature -> has LARGE_MIP_BINARIES binaries or more

    def forget(self, signature: str) -> None:
        """The model was dropped (see sweeps._Models.KEEP)."""
        self.last.pop(signature, None)
        self.budget_rows.pop(signature, None)
        self.least_spend.pop(signature, None)
        self.large.pop(signature, None)

    def first_relaxation(self, session: PlanningModel, data_key: str, variant: Instance,
                         derived: Derived, options: SolveOptions) -> dict | None:
        """The first relaxation of the infeasible scenario ``session`` holds (``variant``):
        restated from an earlier scenario of the same data where both are budget shortfalls
        (the module's docstring), else found by elastic solves (diagnosis.first_relaxation)."""
        key = (data_key, pyo.value(session.model.value_per_qaly))
        budget = self._single_budget(session)
        known = self.least_spend.get(session.signature)
        if budget is not None and known is not None and known[0] == key \
                and known[1] - budget > SLACK_TOL:
            return budget_shortfall(known[2], known[1] - budget, variant, derived)
        row = first_relaxation(variant, derived, options)
        if budget is not None and row is not None and row["constraint"] == BUDGET_FAMILY \
                and row["alone"] and row["exact"]:
            self.least_spend[session.signature] = (key, budget + row["amount"], row)
        return row

    def _single_budget(self, session: PlanningModel) -> float | None:
        """The model's one budget, if it appears only in one ``budget_limit`` row (coefficient
        1: formulations/budget.py, one year); None otherwise (no shortfall is carried)."""
        rows = self._rows(session)
        budgets = _budgets(session.model)
        if rows is None or len(rows) != 1 or len(budgets) != 1 \
                or rows[0].parent_component().local_name != "budget_limit":
            return None
        return next(iter(budgets.values()))

    def solve(self, session: PlanningModel, data_key: str, fresh: bool) -> SolveResult:
        """Solve the scenario ``session`` now holds, from its neighbour where one helps.

        ``fresh``: the model was just built (it has its greedy start); a model re-set without
        one (``update(greedy=False)``) and with no solved neighbour gets a greedy start here.
        """
        last = self.last.get(session.signature)
        result = None
        if last is None and not fresh:
            session.restart_from()
        elif last is not None:
            result = self._carried(session, data_key, last)
            if result is None:
                start = self._start(session, data_key, last)
                session.restart_from(start)  # None: the greedy start for the data now held
        if result is None:
            result = session.run()
            incumbent = session.adapter.incumbent
        else:
            incumbent = last.incumbent
        self.last[session.signature] = Solved(data_key, _budgets(session.model),
                                              pyo.value(session.model.value_per_qaly), result,
                                              incumbent)
        return result

    def _carried(self, session: PlanningModel, data_key: str, last: Solved) -> SolveResult | None:
        """The neighbour's result if it is provably this scenario's too (see the module's
        docstring); None otherwise."""
        if not self._tightens(session, data_key, last):
            return None
        if last.result.status is Status.INFEASIBLE:
            return _copy(last.result)
        if last.result.status is not Status.OPTIMAL or not last.incumbent:
            return None
        if not self._fits(session, last.incumbent):
            return None
        return _copy(last.result)

    def _start(self, session: PlanningModel, data_key: str, last: Solved) -> list[tuple] | None:
        """The neighbour's integer values as a MIP start, or None (the greedy start) where it
        has none, the model is small, or only the budget changed and its plan no longer fits."""
        if not last.incumbent or not self._large(session):
            return None
        if data_key == last.data_key and not self._fits(session, last.incumbent):
            return None
        return [(v, round(value)) for v, value in last.incumbent if v.is_integer()]

    def _large(self, session: PlanningModel) -> bool:
        """True if the model is large enough for a neighbour's start (the module's docstring)."""
        if session.signature not in self.large:
            self.large[session.signature] = binary_count(session.model) >= LARGE_MIP_BINARIES
        return self.large[session.signature]

    def _tightens(self, session: PlanningModel, data_key: str, last: Solved) -> bool:
        """True if the model now differs from its last solve only by budgets no larger, in rows
        where a smaller budget can only remove plans."""
        if data_key != last.data_key or self._rows(session) is None:
            return False
        if pyo.value(session.model.value_per_qaly) != last.value_per_qaly:
            return False
        budgets = _budgets(session.model)
        return budgets.keys() == last.budgets.keys() and all(
            budgets[t] <= last.budgets[t] for t in budgets)

    def _rows(self, session: PlanningModel) -> list | None:
        """The rows holding the model's budget Params, or None if one is not a known monotone
        budget row (then nothing is carried, only starts): planner.solver.budget_fit."""
        signature = session.signature
        if signature not in self.budget_rows:
            self.budget_rows[signature] = budget_rows(session.model)
        return self.budget_rows[signature]

    def _fits(self, session: PlanningModel, incumbent: list[tuple]) -> bool:
        """True if the plan ``incumbent`` meets every budget row at the budgets now set (every
        other row is unchanged since that plan was found)."""
        return fits(self._rows(session), incumbent)


def _budgets(model: pyo.ConcreteModel) -> dict[Any, float]:
    return {t: pyo.value(model.budget[t]) for t in model.budget} if hasattr(model, "budget") \
        else {}


def _copy(result: SolveResult) -> SolveResult:
    """The neighbour's result for this scenario: same plan, status, objective and proven bound;
    no HiGHS time spent."""
    return SolveResult(status=result.status, termination=result.termination,
                       objective=result.objective, bound=result.bound, gap=result.gap,
                       values={k: list(v) for k, v in result.values.items()})

