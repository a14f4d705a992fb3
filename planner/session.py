"""A built model kept alive for re-solves: the stage behind solve, explain, alternatives and sweeps.

Building is done once; changing a mutable parameter (the budget) or adding a constraint and
solving again reuses the persistent HiGHS instance, which is far cheaper than rebuilding. Every
plan read back from it is verified against the data like any other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pyomo.environ as pyo

from formulations import BuiltModel, build
from planner.derive import Derived, derive
from planner.errors import InputError, VerificationError
from planner.extract import compute_totals, extract
from planner.instance import Instance
from planner.plan import Plan
from planner.prechecks import precheck
from planner.sizing import check_size
from planner.solver import HighsAdapter, SolveOptions, SolveResult
from planner.verify import verify


@dataclass
class PlanningModel:
    """Instance → derived tables → built model → persistent solver, with stage timings (s)."""

    instance: Instance
    without: frozenset[str] = frozenset()
    options: SolveOptions = field(default_factory=SolveOptions)
    all_contract_binaries: bool = False  # z on every contract (for no-good cuts)

    def __post_init__(self) -> None:
        start = time.perf_counter()
        self.derived: Derived = derive(self.instance, self.without)
        if self.all_contract_binaries:
            self.derived.contracts["needs_z"] = True
        problems = precheck(self.derived)
        if problems:
            raise InputError(problems)
        derived_at = time.perf_counter()
        check_size(self.derived)  # refuse a model too large for this machine, before building it
        self.built: BuiltModel = build(self.derived)
        self.timings = {"derive": derived_at - start, "build": time.perf_counter() - derived_at}
        self.adapter = HighsAdapter(self.options)
        self.base_budget = {t: pyo.value(self.model.budget[t]) for t in self.model.budget}

    @property
    def model(self) -> pyo.ConcreteModel:
        return self.built.model

    def versions(self) -> dict[str, str]:
        from planner.api import versions

        return versions()

    def run(self, duals: bool = False) -> SolveResult:
        """Solve the model as it stands (persistent: only changes are sent to HiGHS)."""
        return self.adapter.solve(self.model, var_names=self.var_names(), duals=duals)

    def var_names(self) -> tuple[str, ...]:
        return ("x", "y", "z", "w")

    def plan(self, result: SolveResult, check: bool = True,
             instance: Instance | None = None) -> Plan:
        """The plan of a solve result (verified against the data unless ``check`` is False).

        ``instance`` is the instance the plan answers when mutable parameters were changed
        (a scenario's budget), so that totals and verification use its figures.
        """
        instance = instance or self.instance
        plan = Plan(instance=instance, status=result.status, objective=result.objective,
                    bound=result.bound, gap=result.gap, counts=self.built.counts(),
                    options={**self.options.as_dict(), "without": sorted(self.without)},
                    versions=self.versions())
        if result.has_solution:
            tables = extract(self.built, result)
            for name, frame in tables.items():
                setattr(plan, name, frame)
            plan.totals, plan.totals_by_year, plan.budget = compute_totals(instance, tables)
            if check:
                violations = verify(instance, plan)
                if violations:
                    raise VerificationError(violations)
        return plan

    def scale_budget(self, factor: float) -> None:
        """Set every year's budget to ``factor`` × its value in the instance."""
        for t, value in self.base_budget.items():
            self.model.budget[t] = value * factor
