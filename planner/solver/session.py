"""A built model kept alive for re-solves: the stage behind solve, explain, alternatives and sweeps.

Building is done once; changing a mutable parameter (the budget) or adding a constraint and
solving again reuses the persistent HiGHS instance, which is far cheaper than rebuilding. Every
plan read back from it is verified against the data like any other.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pyomo.environ as pyo

from formulations import BuiltModel, build
from formulations.coefficients import update_coefficients
from formulations.model_data import ModelData
from formulations.registry import BUDGET_ROWS
from formulations.start import greedy_start
from planner.data.instance import Instance
from planner.derive.prechecks import precheck
from planner.derive.sizing import check_size
from planner.derive.tables import Derived, derive
from planner.errors import InputError, VerificationError
from planner.results.plan import Plan
from planner.results.verify import verify
from planner.solver.extract import compute_totals, extract
from planner.solver.highs import HighsAdapter, SolveOptions, SolveResult, versions
from planner.solver.signature import structure_signature


@dataclass
class PlanningModel:
    """Instance → derived tables → built model → persistent solver, with stage timings (s)."""

    instance: Instance
    without: frozenset[str] = frozenset()
    options: SolveOptions = field(default_factory=SolveOptions)
    all_contract_binaries: bool = False  # z on every contract (for no-good cuts)
    mutable: bool = False  # prices, demand and thresholds as Params, re-set by ``update``
    derived: Derived | None = None  # the instance's derived tables, if already made

    def __post_init__(self) -> None:
        start = time.perf_counter()
        self.derived = self.derived or self.derive(self.instance)
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
        return versions()

    def run(self, duals: bool = False) -> SolveResult:
        """Solve the model as it stands (persistent: only changes are sent to HiGHS)."""
        return self.adapter.solve(self.model, var_names=self.var_names(), duals=duals)

    def incumbent_of(self, result: SolveResult) -> list[tuple] | None:
        """Every variable's value [(VarData, value)] in ``result``'s plan, if ``result`` was the
        last solve of this model (its values are checked against the adapter's incumbent);
        None otherwise. The result itself holds only the decisions (``var_names``)."""
        incumbent = self.adapter.incumbent
        if not incumbent or not result.has_solution:
            return None
        held = {id(v): value for v, value in incumbent}
        for name, values in result.values.items():
            var = getattr(self.model, name, None)
            if var is None:
                continue
            for i, value in zip(var.index_set(), values):
                if abs(held.get(id(var[i]), value) - value) > 1e-9 * max(1.0, abs(value)):
                    return None
        return incumbent

    def var_names(self) -> tuple[str, ...]:
        return ("x", "y", "z", "w", "area_x", "area_cover", "pooled_paid")  # areas: issue 17

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

    def derive(self, instance: Instance) -> Derived:
        """The derived tables of ``instance`` as this model would build them, prechecked."""
        derived = dataclasses.replace(derive(instance, self.without), mutable=self.mutable)
        if self.all_contract_binaries:
            derived.contracts["needs_z"] = True
        problems = precheck(derived)
        if problems:
            raise InputError(problems)
        return derived

    def update(self, instance: Instance, derived: Derived | None = None,
               greedy: bool = True) -> bool:
        """Re-set a mutable model to ``instance`` without rebuilding it, if its structure allows.

        True if the model now answers ``instance`` (prices, demand, thresholds, budget and £ per
        QALY re-set in place; the next ``run`` re-solves the persistent HiGHS model); False if
        the structure differs (eligibility, levels, providers, ...) and a rebuild is needed.
        ``greedy`` False leaves the MIP start to the caller (a sweep starts from a neighbour's
        plan, see :meth:`restart_from`), saving the greedy heuristic's time.
        """
        derived = derived or self.derive(instance)
        if not self.mutable or structure_signature(derived) != self.signature:
            return False
        if hasattr(self.model, "budget_confidence"):  # its coefficients follow prices: rebuild
            return False
        data = ModelData.prepare(derived)
        old = self.built.data
        data.keep_built(old)  # the variables and the payment data (its prices are structure)
        update_coefficients(self.model, data)
        data.coef = old.coef
        self.built = BuiltModel(self.model, derived, data)
        self.derived = derived
        self.set_policy(instance)
        if greedy:
            self.restart_from()
        self.instance = instance
        return True

    def restart_from(self, start: list[tuple] | None = None) -> None:
        """The MIP start of the next ``run``: ``start`` ([(VarData, value)], e.g. the plan of a
        neighbouring scenario) or, without one, a greedy start for the data the model now holds.
        A start is only a hint: HiGHS discards one it cannot complete to a feasible plan."""
        if start is None:
            start = greedy_start(self.model, self.built.data)
        self.adapter.solver.restart_from(start)

    @property
    def signature(self) -> str:
        """The structure of the built model (see planner.solver.signature)."""
        if not hasattr(self, "_signature"):
            self._signature = structure_signature(self.built.derived)
        return self._signature

    def set_policy(self, instance: Instance) -> None:
        """Set the budget (£ a year) and the £ value of a QALY of ``instance``."""
        policy = instance.config.policy
        for t in self.model.budget:
            budget = instance.budget_for_year(t if isinstance(policy.budget, list) else 0)
            self.model.budget[t] = budget if budget is not None else 0.0
        self.model.value_per_qaly = policy.value_per_qaly

    @contextmanager
    def switched_off(self, *names: str) -> Iterator[bool]:
        """The model's active constraints of these names deactivated for the block (yields
        whether there was any), and active again after it, whatever happens in it."""
        rows = [c for c in (getattr(self.model, name, None) for name in names)
                if c is not None and c.active]
        for con in rows:
            con.deactivate()
        try:
            yield bool(rows)
        finally:
            for con in rows:
                con.activate()

    def budget_off(self) -> contextlib.AbstractContextManager[bool]:
        """Every break-even row off for the block (``with session.budget_off() as had:``)."""
        return self.switched_off(*BUDGET_ROWS)

    def scale_budget(self, factor: float) -> None:
        """Set every year's budget to ``factor`` × its value in the instance."""
        for t, value in self.base_budget.items():
            self.model.budget[t] = value * factor
