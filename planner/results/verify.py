"""Independent verification: recheck a plan against every rule, from the raw instance tables.

This module deliberately does not use :mod:`planner.derive.tables`, the formulation or the extraction
code: it recomputes prices (with yearly price change), eligibility (allowed levels, the
risk-pooling CV rule, conflicts, quality thresholds), demand at the chosen level (with level
effects and growth), one-off costs (set-up, entry, exit, notice) and every total straight from
the instance and the plan's decisions, so a bug upstream shows as a violation, not a wrong plan.

It trusts none of the plan's derived columns: average quality comes from the offers, a
provider is used when it holds a contract (so entry and exit costs follow the contracts), and a
let contract must carry activity. Only the decisions (levels, contracts and their volumes) are
taken from the plan.

Tolerances (docs/outputs.md, constants in :mod:`planner.rules`): a quantity passes if within
``ABS_TOL + REL_TOL × max(1, |reference|)`` of its limit, ABS_TOL = 1e-3 (episodes or £) and
REL_TOL = 1e-8 (£5.50 on a £550m budget). They absorb solver feasibility tolerances and the
6-decimal rounding of written volumes.

The checks are grouped by rule: :mod:`~planner.results.verify_contracts` (contracts and services),
:mod:`~planner.results.verify_money` (providers, one-off costs, totals, budget) and
:mod:`~planner.results.verify_policy` (levels, contract years, setting targets), sharing
:mod:`~planner.results.verify_context`. This module is the entry point.
"""

from __future__ import annotations

from pathlib import Path

from planner.data.instance import Instance
from planner.results import verify_payment as pay
from planner.results.verify_areas import check_areas
from planner.results.verify_context import Context
from planner.results.verify_contracts import check_contracts, check_services
from planner.results.verify_money import check_budget, check_providers, check_totals
from planner.results.verify_policy import check_contract_years, check_levels, check_setting_targets


def verify(instance: Instance | str | Path, plan,
           without: frozenset[str] | set[str] | None = None) -> list[str]:
    """Return every violated rule of ``plan`` (empty when the plan is right).

    ``without`` names constraint families switched off for the solve (default: the plan's own
    options); those rules are not checked.
    """
    if isinstance(instance, (str, Path)):
        from planner.data.instance import load_instance

        instance = load_instance(instance)
    if not plan.has_solution:
        return []
    foreign = _foreign_ids(instance, plan)
    if foreign:
        return [f"the plan names {foreign} that this instance does not have: it answers another "
                f"instance ('{plan.instance.name}'), not '{instance.name}'"]
    if without is None:
        without = frozenset(plan.options.get("without", ()))
    ctx = Context(instance, plan, frozenset(without), [])
    check_contracts(ctx)
    check_services(ctx)
    check_providers(ctx)
    spend_by_year = check_totals(ctx)
    check_budget(ctx, spend_by_year)
    from planner.data.prudent import check_budget_confidence  # prudent budget (issue 18)

    ctx.bad.extend(check_budget_confidence(instance, plan, spend_by_year[ctx.years[0]], ctx.without))
    check_levels(ctx)
    check_contract_years(ctx)
    check_setting_targets(ctx)
    pay.check_payments(ctx)  # issue 16: blocks, bundles, guarantees
    check_areas(ctx)  # areas, access, fair shares (issue 17)
    return ctx.bad


def _foreign_ids(instance: Instance, plan) -> str:
    """Service and provider ids of the plan's tables missing from ``instance`` ('' if none)."""
    parts = []
    for table, column in (("services", "service"), ("providers", "provider")):
        known = set(getattr(instance, table)[column])
        missing = sorted(set(getattr(plan, table)[column]) - known)
        if missing:
            parts.append(f"{table} {', '.join(map(str, missing[:5]))}"
                         + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
    return "; ".join(parts)



__all__ = ["verify"]
