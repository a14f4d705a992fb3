"""The one registry of rule families: what each writes into the model, declared once.

Every family of the model is one :class:`FamilySpec` in :data:`REGISTRY`, in the order the model
is built. An entry gives

* ``name``: the family's name in diagnosis.json, marginal_values.csv and explain's tables;
* ``switch``: its :class:`planner.rules.Family` member if a user may switch it off
  (``--without``), None for the model's structure (demand, linking, events, notice, stability);
* ``add``: the function that adds its rows, ``add(m, d)`` with ``d`` the
  :class:`~formulations.model_data.ModelData`; it reads ``d.on(family)`` itself (a family
  switched off may still declare what others read, e.g. the budget Param) and builds its rows
  with :func:`formulations.rows.rows`. None for an eligibility rule applied in
  :mod:`planner.derive` (no rows of its own);
* ``rows``: its Pyomo constraint components, each with its unit, its subject (what the row's
  index names: service, provider, offer, contract, service_level, level, budget, policy,
  target, ...), whether diagnosis may relax it (``relax``: the rank in which diagnosis tries
  it, money first; None: never relaxed) and, for marginal values, the rank of its shadow
  prices in marginal_values.csv and what one more unit of it is (``dual``; None: not reported);
* ``stage``: when it is added (:class:`Stage`: after the variables; after the costs; after
  spend); ``several_years``: True for the multi-year model's own families.

Adding a family: write its ``add`` function in the module of its group (or a new one), give it
a :class:`planner.rules.Family` member if it can be switched off, and add one entry here in
the place where it is built. The builder (:func:`assemble`), ``--without``, diagnosis, marginal
values and explain read it from here; tests/formulations/test_family_baselines.py then asks
for its LP baseline on the toy instance (regenerate as its docstring says).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

import pyomo.environ as pyo

from formulations import (
    areas,
    budget,
    capacity,
    choice,
    costs,
    demand,
    levels,
    payment,
    shifting,
    tightening,
    years,
)
from formulations.idle_rows import set_idle_rows
from formulations.model_data import BuiltModel, ModelData
from formulations.neighbourhoods import NEIGHBOURHOODS_ATTRIBUTE, service_neighbourhoods
from formulations.start import START_ATTRIBUTE, greedy_start
from formulations.variables import declare_variables
from planner.derive.tables import Derived
from planner.rules import Family


class Stage(IntEnum):
    """When a family is added: what it reads must exist by then."""

    RULES = 1  # reads the variables only
    LIMITS = 2  # reads the running and one-off costs (transaction costs, set-ups)
    BREAK_EVEN = 3  # reads spend
    LINKS = 4  # extends the rows and totals of other families (after the objective)


@dataclass(frozen=True)
class Rows:
    """One Pyomo constraint component of a family."""

    component: str
    unit: str
    subject: str
    relax: int | None = None  # the rank in which diagnosis relaxes it; None: never
    dual: tuple[int, str] | None = None  # (rank in marginal values, what one more unit is)


@dataclass(frozen=True)
class FamilySpec:
    """A rule family: its name, its switch, the function adding its rows, and its rows."""

    name: str
    switch: Family | None
    add: Callable[[pyo.ConcreteModel, ModelData], None] | None
    rows: tuple[Rows, ...] = ()
    stage: Stage = Stage.RULES
    several_years: bool = False  # only in the multi-year model (T > 1)

    @property
    def relaxable(self) -> bool:
        return any(r.relax is not None for r in self.rows)


S, SL, P, OF, C = "service", "service_level", "provider", "offer", "contract"
REGISTRY: tuple[FamilySpec, ...] = (
    FamilySpec("mandatory", Family.MANDATORY, demand.add_level_choice,
               (Rows("level_choice", "services", S, relax=16),)),
    # shifting care (issue 15): coverage of partly funded services and demand moved by effects;
    # before the demand rows, which read its variables
    FamilySpec("shifting", None, shifting.declare, (
        Rows("coverage_floor", "coverage", SL), Rows("coverage_cap", "coverage", SL),
        Rows("shift_low", "episodes", SL), Rows("shift_high", "episodes", SL),
        Rows("effect_balance", "episodes", S))),
    # areas (issue 17, formulations.areas): volumes by area where coverage or access differ by
    # area, equity weights and pooled LA money; after shifting, whose coverage they split
    FamilySpec("areas", None, areas.declare, (
        Rows("area_split", "episodes", C), Rows("area_demand", "episodes", "service_area"),
        Rows("area_coverage_sum", "coverage", SL), Rows("area_cover_cap", "coverage", "service_area"),
        Rows("la_limit", "£", "budget"), Rows("pooled_limit", "£", "budget"))),
    # Diagnosis does not relax the area rules yet (relax=None): its words and its "apply alone"
    # check know no area subjects. An infeasibility they cause is diagnosed through the budget,
    # demand or mandatory services; --without fair_share / area_coverage shows what they cost.
    FamilySpec("area_coverage", Family.AREA_COVERAGE, areas.add_floors,
               (Rows("area_floor", "coverage", "service_area"),)),
    FamilySpec("fair_share", Family.FAIR_SHARE, areas.add_fair_share,
               (Rows("fair_high", "£", "area"), Rows("fair_low", "£", "area"))),
    FamilySpec("demand", None, demand.add_demand,
               (Rows("demand", "episodes", SL, relax=6, dual=(9, "demand")),)),
    FamilySpec("linking", None, demand.add_linking, (
        Rows("link_x_z", "episodes", C), Rows("let_activity", "episodes", C),
        Rows("link_z_y", "contracts", C), Rows("link_z_w", "contracts", "contract_row"),
        Rows("link_x_w", "episodes", "contract_row"), Rows("provider_use", "episodes", P))),
    FamilySpec("offer_capacity", Family.OFFER_CAPACITY, capacity.add_offer_capacity,
               (Rows("offer_capacity", "episodes", OF, relax=4, dual=(3, "capacity")),)),
    FamilySpec("provider_capacity", Family.PROVIDER_CAPACITY, capacity.add_provider_capacity,
               (Rows("provider_capacity", "resource units", P, relax=5,
                     dual=(4, "shared provider capacity")),)),
    FamilySpec("min_share", Family.MIN_SHARE, choice.add_min_share,
               (Rows("min_share", "episodes", C, relax=12),)),
    FamilySpec("avg_quality", Family.AVG_QUALITY, choice.add_avg_quality,
               (Rows("avg_quality", "quality-weighted episodes", S, relax=8,
                     dual=(6, "average quality threshold")),)),
    FamilySpec("min_providers", Family.MIN_PROVIDERS, choice.add_min_providers,
               (Rows("min_providers", "providers", S, relax=9),)),
    FamilySpec("max_providers", Family.MAX_PROVIDERS, choice.add_max_providers,
               (Rows("max_providers", "providers", S, relax=10),)),
    FamilySpec("headroom", Family.HEADROOM, choice.add_headroom,
               (Rows("headroom", "episodes", S, relax=11),)),
    FamilySpec("min_income", Family.MIN_INCOME, budget.add_min_income,
               (Rows("min_income", "£", P, relax=7, dual=(5, "break-even income")),)),
    FamilySpec("events", None, years.add_events, (
        Rows("start_rule", "contracts", "contract"), Rows("entry_rule", "providers", "provider_binary"),
        Rows("exit_rule", "providers", "provider_binary")), several_years=True),
    FamilySpec("management_cost", Family.MANAGEMENT_COST, levels.add_management_cost,
               (Rows("management_cost", "£", "policy", relax=13, dual=(8, "management cost cap")),),
               stage=Stage.LIMITS),
    FamilySpec("max_services", Family.MAX_SERVICES, levels.add_max_services,
               (Rows("max_services", "services", "level", relax=14),), stage=Stage.LIMITS),
    FamilySpec("delegated_budget", Family.DELEGATED_BUDGET, levels.add_delegated_budget,
               (Rows("delegated_budget", "£", "level", relax=15, dual=(7, "delegated budget")),),
               stage=Stage.LIMITS),
    # how care is paid for (issue 16): block contracts, capitated bundles, income guarantees
    # (the quality withhold is in the derived prices); after the running costs, before spend
    FamilySpec("payment", None, payment.add_payment, (
        Rows("block_capacity", "episodes", "block"), Rows("block_activity", "episodes", "block"),
        Rows("bundle_use", "bundles", "bundle"), Rows("guarantee_floor", "£", P),
        Rows("block_end_rule", "blocks", "block")), stage=Stage.LIMITS),
    FamilySpec("notice", None, years.add_notice, (
        Rows("notice_running", "episodes", OF), Rows("notice_shortfall", "episodes", OF),
        Rows("notice_no_new", "episodes", OF), Rows("notice_at_shortfall", "episodes", OF)),
        stage=Stage.LIMITS, several_years=True),
    FamilySpec("contract_stability", None, years.add_contract_stability,
               (Rows("min_contract_years", "contracts", "contract_span"),),
               stage=Stage.LIMITS, several_years=True),
    FamilySpec("budget", Family.BUDGET, budget.add_break_even, (
        Rows("budget_limit", "£", "budget", relax=1, dual=(1, "budget")),
        Rows("budget_year_cap", "£", "budget", relax=2, dual=(2, "the 2 % yearly overspend limit")),
        Rows("carry_over", "£", "budget"),
        Rows("carry_rule", "£", "budget", relax=3),
        Rows("carry_lapse", "£", "budget"),
        # the prudent budget (issue 18, formulations.prudent): spend + z·σ bound ≤ budget
        Rows("budget_confidence", "£", "budget", relax=3)), stage=Stage.BREAK_EVEN),
    FamilySpec("setting_targets", Family.SETTING_TARGETS, years.add_setting_targets,
               (Rows("setting_target", "episodes", "target", relax=17, dual=(10, "setting target")),),
               stage=Stage.BREAK_EVEN, several_years=True),
    # bundles and blocks in the rows they share: demand, provider use, break-even income,
    # delegated budgets, setting targets, risk and QALYs (formulations.payment.after_objective)
    FamilySpec("payment_links", None, payment.after_objective, (), stage=Stage.LINKS),
    # rows the rules imply, for a tighter LP relaxation (formulations.tightening); after the
    # payment links, whose bundles change the demand rows it reads; never relaxed nor priced
    FamilySpec("tightening", None, tightening.add_tightening,
               (Rows("contract_count", "contracts", SL), Rows("headroom_count", "contracts", SL),
                Rows("provider_contracts", "contracts", P)),
               stage=Stage.LINKS),
    # eligibility rules: applied to the derived tables (planner.derive), no rows of their own
    FamilySpec("min_quality", Family.MIN_QUALITY, None),
    FamilySpec("risk_pooling", Family.RISK_POOLING, None),
    FamilySpec("conflicts", Family.CONFLICTS, None),
)


def family(name: str | Family) -> FamilySpec:
    """The registry entry called ``name``."""
    for spec in REGISTRY:
        if spec.name == str(name):
            return spec
    raise KeyError(name)


def rows_of(name: str | Family) -> tuple[str, ...]:
    """The Pyomo components of family ``name``."""
    return tuple(r.component for r in family(name).rows)


#: The rows of family 9, commissioner break-even, under every regime (annual, carry_forward,
#: multi_year): the rows that hold spend to the budget, for whoever switches them off.
BUDGET_ROWS: tuple[str, ...] = rows_of(Family.BUDGET)

#: every Pyomo constraint component the model may have -> (its family, its Rows)
COMPONENTS: dict[str, tuple[FamilySpec, Rows]] = {
    r.component: (spec, r) for spec in REGISTRY for r in spec.rows}

#: the names ``--without`` accepts: the families with a switch, in the contract's order
SWITCHES: tuple[str, ...] = tuple(f.value for f in Family
                                  if any(spec.switch is f for spec in REGISTRY))


def with_duals() -> list[tuple[FamilySpec, Rows]]:
    """The rows whose shadow prices marginal values report, in their order there."""
    pairs = [(spec, r) for spec in REGISTRY for r in spec.rows if r.dual is not None]
    return sorted(pairs, key=lambda pair: pair[1].dual[0])


def relaxable() -> list[tuple[FamilySpec, Rows]]:
    """The rows diagnosis may make elastic, in the order it tries them (budget first)."""
    pairs = [(spec, r) for spec in REGISTRY for r in spec.rows if r.relax is not None]
    return sorted(pairs, key=lambda pair: pair[1].relax)


def add_families(m: pyo.ConcreteModel, d: ModelData, stage: Stage) -> None:
    """Add every family of ``stage`` that this horizon has, in registry order."""
    for spec in REGISTRY:
        if spec.add is None or spec.stage is not stage:
            continue
        if spec.several_years and d.derived.horizon == 1:
            continue
        spec.add(m, d)


def assemble(derived: Derived) -> BuiltModel:
    """Build the model of ``derived``: variables, the families in registry order (with the
    costs before the families that read them), the objective and a greedy MIP start."""
    m = pyo.ConcreteModel(name=derived.policy.name)
    d = ModelData.prepare(derived)
    declare_variables(m, d)
    add_families(m, d, Stage.RULES)
    costs.add_running_costs(m, d)
    costs.add_one_off_costs(m, d)
    add_families(m, d, Stage.LIMITS)
    costs.add_spend(m, d)
    add_families(m, d, Stage.BREAK_EVEN)
    costs.add_objective(m, d)
    add_families(m, d, Stage.LINKS)
    if derived.mutable:
        set_idle_rows(m, d)  # rows today's data idles stay off until a re-set makes them bind
    clock = time.perf_counter()
    setattr(m, START_ATTRIBUTE, greedy_start(m, d))  # a hint for HiGHS only
    d.start_seconds = time.perf_counter() - clock
    setattr(m, NEIGHBOURHOODS_ATTRIBUTE, service_neighbourhoods(m, d))  # for fix-and-optimise
    return BuiltModel(m, derived, d)
