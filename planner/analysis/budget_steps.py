"""The plan's model at other budgets: every year's budget × f, asked once for every analysis.

marginal_values.csv (budget −5 %, −1 %, +1 %, +5 %) and priorities.csv (× 0.8 … 1.25) ask the
same question at a few budgets: the best plan with every year's budget scaled by f, all else
as in the plan's model (its ``--without`` too). It is asked once here, on the plan's persistent
model and within the post-plan analyses' shared time budget (planner.analysis.resolves), and
many steps need no re-solve at all. A smaller budget only removes plans (planner.solver.budget_fit),
so, exactly:

* a plan proven optimal at a larger budget (the plan itself at × 1, or a step re-solved) that
  still fits × f is optimal at × f too (``how`` = ``fits``): it is feasible there, and nothing
  better can have appeared. For steps below × 1 this is the budget row's LP ranging: the
  plan's budget rows have that much slack, so its dual (0) holds over the whole step;
* a budget proven infeasible makes every smaller one infeasible (``how`` = ``infeasible``).

So the steps below × 1 are taken nearest first (each answered one may answer the next), and
those above largest first (the plan at × 1.25, when it fits × 1.1, answers × 1.1 too). Each
re-solve starts from the plan (a feasible start above × 1; HiGHS discards it below, where the
plan no longer fits). A step neither answered nor re-solved within the budget is ``skipped``
with the reason; a re-solve stopped by its time limit has status ``feasible`` and answers
nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from planner.analysis.resolves import Resolver, TimeBudget
from planner.progress import progress
from planner.results.plan import Plan
from planner.rules import Status
from planner.solver.budget_fit import budget_rows, fits
from planner.solver.highs import SolveResult
from planner.solver.session import PlanningModel

PROVEN = (Status.OPTIMAL, Status.INFEASIBLE)


def key(factor: float) -> float:
    """The factor as the answers are filed (1 − 0.05 and 0.95 are one step)."""
    return round(float(factor), 9)


@dataclass
class StepAnswer:
    """The model with every year's budget × ``factor``: how it is known and what it gave."""

    factor: float
    how: str  # "re-solved", "fits", "infeasible" (both answered without a re-solve) or "skipped"
    status: Status | None = None  # None when skipped
    result: SolveResult | None = None  # the re-solve that answers it (the plan's, for × 1)
    source: float | None = None  # fits / infeasible: the budget × whose answer this is
    incumbent: list[tuple] | None = field(default=None, repr=False)  # every variable's value
    reason: str = ""  # skipped: the reason ("time budget") and how to get more

    @property
    def known(self) -> bool:
        """Proven: optimal (to the re-solves' gap) or infeasible. A re-solve cut short by its
        time limit (``feasible``) is a value, not a proof, and answers no other step."""
        return self.status in PROVEN

    @property
    def answered(self) -> bool:
        """Known without a re-solve of its own (from a larger budget's answer)."""
        return self.how in ("fits", "infeasible")

    def note(self) -> str:
        """How an answer without a re-solve is known, in a sentence (no full stop)."""
        if self.how == "fits":
            whose = ("the plan itself fits every year's budget" if self.source == 1.0 else
                     f"the plan of the re-solve at every year's budget × {self.source:g} also "
                     "fits")
            return (f"{whose} × {self.factor:g}, and a smaller budget only removes plans, so "
                    "it is optimal there too")
        if self.how == "infeasible":
            return (f"with every year's budget × {self.source:g} there is no feasible plan, so "
                    "with less money there is none either")
        return ""


class BudgetSteps:
    """Answers at every factor asked for (``want``), computed together by ``ensure``."""

    def __init__(self, session: PlanningModel, base: SolveResult, budget: TimeBudget) -> None:
        self.session, self.base, self.budget = session, base, budget
        self.wanted: set[float] = set()
        self.answers: dict[float, StepAnswer] = {}
        self._plans: dict[int, Plan] = {}
        self.rows = budget_rows(session.model) if hasattr(session.model, "budget") else None
        incumbent = session.incumbent_of(base)  # None: the plan answers no step
        self.plan = StepAnswer(1.0, "re-solved", base.status, base, incumbent=incumbent)

    def want(self, factors) -> BudgetSteps:
        self.wanted |= {key(f) for f in factors if key(f) != 1.0}
        return self

    def answer(self, factor: float) -> StepAnswer:
        """The answer at ``factor`` (computed with every other wanted step if need be)."""
        self.want([factor]).ensure()
        return self.plan if key(factor) == 1.0 else self.answers[key(factor)]

    def plan_at(self, answer: StepAnswer) -> Plan | None:
        """The plan of an answer (unverified, as every re-solve's), or None without one."""
        if answer.result is None or not answer.result.has_solution:
            return None
        cached = self._plans.get(id(answer.result))
        if cached is None:
            cached = self._plans[id(answer.result)] = self.session.plan(answer.result, check=False)
        return cached

    def ensure(self) -> None:
        """Answer every wanted step not yet answered: below × 1 nearest first, then above × 1
        largest first (module docstring)."""
        pending = [f for f in self.wanted if f not in self.answers]
        if not pending:
            return
        order = (sorted((f for f in pending if f < 1), reverse=True)
                 + sorted((f for f in pending if f > 1), reverse=True))
        resolver = Resolver(self.session, self.base, self.budget)
        try:
            with progress("budget steps", len(order)) as bar:
                for factor in order:
                    self.answers[factor] = self._known(factor) or self._resolve(factor, resolver)
                    bar.update()
        finally:
            self.session.scale_budget(1.0)
            resolver.restore()

    def _sources(self, factor: float) -> list[StepAnswer]:
        """Proven answers of their own at larger budgets, nearest first (the plan at × 1)."""
        own = [a for a in (self.plan, *self.answers.values())
               if a.how == "re-solved" and a.known and a.factor > factor]
        return sorted(own, key=lambda a: a.factor)

    def _known(self, factor: float) -> StepAnswer | None:
        """The answer at ``factor`` without a re-solve, if a larger budget's gives it exactly."""
        if self.rows is None:
            return None
        sources = self._sources(factor)
        for source in sources:
            if source.status is Status.INFEASIBLE:
                return StepAnswer(factor, "infeasible", Status.INFEASIBLE, source.result,
                                  source=source.factor)
        self.session.scale_budget(factor)
        try:
            for source in sources:
                if source.status is Status.OPTIMAL and fits(self.rows, source.incumbent):
                    return StepAnswer(factor, "fits", Status.OPTIMAL, source.result,
                                      source=source.factor, incumbent=source.incumbent)
        finally:
            self.session.scale_budget(1.0)
        return None

    def _resolve(self, factor: float, resolver: Resolver) -> StepAnswer:
        if not resolver.ready():
            return StepAnswer(factor, "skipped", reason=f"Skipped (time budget): "
                                                        f"{self.budget.spent_message()}")
        self.session.scale_budget(factor)
        try:
            result = self.session.run()
        finally:
            self.session.scale_budget(1.0)
        incumbent = self.session.adapter.incumbent if result.has_solution else None
        return StepAnswer(factor, "re-solved", result.status, result, incumbent=incumbent)
