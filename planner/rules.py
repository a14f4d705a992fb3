"""Numbers that define the rules, shared by the model, the extraction and ``verify``.

They are the contract's constants, not tuning knobs: the formulation charges them, the plan's
tables are computed with them and :func:`planner.verify` rechecks against them, so each is
defined here once (MODEL.md and docs/model.md give the reasons).
"""

from __future__ import annotations

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
    "value_change", "income_today", "income_plan", "income_change",
    # issue 16: how care is paid for
    "block_spend", "bundle_spend", "guarantee_payments", "activity_income", "block_income",
    "bundle_income", "guarantee_paid", "contract_cost", "plan_cost"})
