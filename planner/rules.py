"""Numbers that define the rules, shared by the model, the extraction and ``verify``.

They are the contract's constants, not tuning knobs: the formulation charges them, the plan's
tables are computed with them and :func:`planner.results.verify` rechecks against them, so each is
defined here once (MODEL.md and docs/model.md give the reasons).
"""

from __future__ import annotations

import difflib
from enum import Enum

from planner.errors import InputError


class _Named(str, Enum):
    """A str-valued enum that prints, formats and serialises as its value (StrEnum is 3.11+)."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class Status(_Named):
    """How a solve ended. A plan exists for OPTIMAL and FEASIBLE (a time limit with an incumbent)."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    TIME_LIMIT = "time_limit"  # stopped by the time limit with no feasible plan
    ERROR = "error"

    @property
    def has_plan(self) -> bool:
        return self in (Status.OPTIMAL, Status.FEASIBLE)


class Family(_Named):
    """The rule families a user may switch off (``--without``) to see what they cost.

    The names are the contract's (MODEL.md §2). What each family writes into the model — its
    rows, their unit and subject, whether diagnosis may relax them — is declared once, in
    :data:`formulations.registry.REGISTRY`; a name that is not a member fails loudly.
    """

    MANDATORY = "mandatory"                  # 1: mandatory services must be commissioned
    OFFER_CAPACITY = "offer_capacity"        # 4: episodes per offer
    PROVIDER_CAPACITY = "provider_capacity"  # 4: shared resource units per provider
    MIN_SHARE = "min_share"                  # 5: a contract's least share of the demand
    MIN_QUALITY = "min_quality"              # 6: quality threshold (eligibility)
    AVG_QUALITY = "avg_quality"              # 6: volume-weighted average quality
    MIN_PROVIDERS = "min_providers"          # 7: patient choice
    MAX_PROVIDERS = "max_providers"          # 7: lead provider
    HEADROOM = "headroom"                    # 7: spare contracted capacity
    MIN_INCOME = "min_income"                # 8: provider break-even
    BUDGET = "budget"                        # 9: commissioner break-even
    MANAGEMENT_COST = "management_cost"      # 10: cap on transaction costs
    MAX_SERVICES = "max_services"            # 11: commissioning capacity of a level
    DELEGATED_BUDGET = "delegated_budget"    # 11: delegated real budgets
    RISK_POOLING = "risk_pooling"            # eligibility: a level must bear the spend variation
    CONFLICTS = "conflicts"                  # eligibility: conflicted levels may not contract
    SETTING_TARGETS = "setting_targets"      # several years: shares of care by setting
    FAIR_SHARE = "fair_share"                # areas: spend per need-weighted head within a band
    AREA_COVERAGE = "area_coverage"          # areas: each area's least share of its demand

    @classmethod
    def parse(cls, name: str | Family) -> Family:
        """The member called ``name``; an unknown name is an error listing the known ones."""
        try:
            return cls(name)
        except ValueError:
            close = difflib.get_close_matches(str(name), [f.value for f in cls], n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise InputError(f"unknown constraint family '{name}'{hint}; known: "
                             f"{', '.join(f.value for f in cls)}") from None


#: every family name, in the contract's order (``--without`` choices)
FAMILY_NAMES = tuple(f.value for f in Family)

#: What a board reads for each rule family, in every report and message (ids stay the keys of
#: marginal_values.csv, diagnosis.json and ``--without``): the one place a family is named.
#: Shown through :meth:`planner.data.names.Names.rule`; "demand" has no switch but binds and is
#: relaxed like a rule. A name not here reads as the id in plain words.
RULE_NAMES: dict[str, str] = {str(family): name for family, name in {
    Family.MANDATORY: "Mandatory service",
    "demand": "Demand to be met",
    Family.OFFER_CAPACITY: "Capacity for a service",
    Family.PROVIDER_CAPACITY: "Provider's shared capacity",
    Family.MIN_SHARE: "Minimum share of a contract",
    Family.MIN_QUALITY: "Minimum quality",
    Family.AVG_QUALITY: "Average quality",
    Family.MIN_PROVIDERS: "Minimum number of providers",
    Family.MAX_PROVIDERS: "Maximum number of providers",
    Family.HEADROOM: "Spare capacity",
    Family.MIN_INCOME: "Break-even income",
    Family.BUDGET: "Budget",
    Family.MANAGEMENT_COST: "Management cost cap",
    Family.MAX_SERVICES: "Maximum services at a level",
    Family.DELEGATED_BUDGET: "Delegated budget",
    Family.RISK_POOLING: "Risk a level can bear",
    Family.CONFLICTS: "Conflict of interest",
    Family.SETTING_TARGETS: "Share of care by setting",
    Family.FAIR_SHARE: "Fair share of spend",
    Family.AREA_COVERAGE: "Coverage in each area",
}.items()}

#: How each marginal value was found, as a board reads it (the ids stay marginal_values.csv's
#: ``method``; docs/outputs.md defines them): the one place a method is named.
METHOD_WORDS: dict[str, str] = {
    "milp_resolve": "re-solved with the rule changed",
    "milp_answered": "known without a re-solve",
    "lp_dual": "shadow price, plan as it stands",
    "skipped": "not computed",
    "plan": "read from the plan",
}

#: Years of incumbent spend paid as notice on incumbent episodes dropped (T > 1 only): ending a
#: whole incumbent contract costs half a year of its incumbent spend.
NOTICE_SHARE = 0.5
#: Under ``multi_year`` break-even no single year may spend more than this share over its budget.
MULTI_YEAR_OVERSPEND = 0.02
#: Decimals of the volumes and £ written to a plan (byte-identical output across runs).
DECIMALS = 6
#: Episodes below which a solver value is noise, not activity.
VOLUME_TOL = 1e-6
#: ``verify`` passes a quantity within ABS_TOL + REL_TOL × max(1, |reference|) of its limit:
#: 1e-3 episodes or £, plus £5.50 on a £550m budget (solver tolerances, written rounding).
ABS_TOL = 1e-3
REL_TOL = 1e-8
#: A let contract carries at least min(MIN_CONTRACT_VOLUME, its bound) episodes a year: a
#: contract with nothing on it is choice on paper only.
MIN_CONTRACT_VOLUME = 1.0
#: Decimals of £ amounts written to a plan folder (to the penny): solver noise such as
#: £341,000,000.000006 or a headroom of −£0.000006 is not written.
MONEY_DECIMALS = 2
#: Columns and totals in £ (written to the penny); every other float keeps DECIMALS.
MONEY_FIELDS = frozenset({
    "price", "spend", "transaction_cost", "setup_cost", "income", "min_income",
    "break_even_margin", "entry_cost_paid", "exit_cost_paid", "notice_cost_paid", "budget",
    "surplus", "balance_carried", "activity_spend", "transaction_costs", "setup_costs",
    "entry_costs", "exit_costs", "notice_costs", "risk_cost", "net_benefit", "headroom",
    "objective", "bound", "entry_cost", "exit_cost", "extra_spend", "objective_change",
    "cost_unlimited", "value_of_health", "least_cost", "value_today", "value_plan",
    "value_change", "income_today", "income_plan", "income_change", "saved", "cost",
    "net_cost", "cost_per_qaly", "comes_in_at", "goes_out_at",
    # issue 16: how care is paid for
    "block_spend", "bundle_spend", "guarantee_payments", "activity_income", "block_income",
    "bundle_income", "guarantee_paid", "contract_cost", "plan_cost"})


def tolerance(reference: float) -> float:
    """How far a quantity may pass its limit and still meet it: ABS_TOL + REL_TOL × max(1, |ref|)
    (solver tolerances and written rounding, in the quantity's own unit)."""
    return ABS_TOL + REL_TOL * max(1.0, abs(reference))


def within(value: float, limit: float) -> bool:
    """``value ≤ limit`` up to :func:`tolerance`: the one test verify and the reports apply."""
    return value <= limit + tolerance(limit)


def agrees(a: float, b: float) -> bool:
    """``a = b`` up to :func:`tolerance` of the larger."""
    return abs(a - b) <= tolerance(max(abs(a), abs(b)))
