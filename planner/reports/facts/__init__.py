"""The plan's facts: one statistics layer, DataFrames and figures computed from a plan folder's
files (:class:`planner.results.folder.PlanFiles`), which report.html, summary.md and plan.xlsx
only format.

``headline``: the headline figures and sentence, and the parts of the spend. ``spend``: £ by level,
provider kind and category; the continuum of levels and why each service sits where it does;
year by year. ``providers``: income against break-even, quality against thresholds. ``changes``:
contracts against the status quo. ``decisions``: what the plan changes in £ (contracts,
providers, services, risks). ``rules``: the rules that bind, and what to relax.
"""

from planner.reports.facts.changes import CHANGE_KINDS, change_counts, changed_contracts
from planner.reports.facts.decisions import (
    contract_decisions,
    decision_counts,
    provider_decisions,
    risks,
    service_decisions,
)
from planner.reports.facts.headline import (
    NO_PLAN,
    STATUS_WORDS,
    Headline,
    headline,
    headline_sentence,
    one_off_costs,
    spend_components,
    tolerance,
)
from planner.reports.facts.providers import break_even, quality, quality_with_thresholds
from planner.reports.facts.rules import alternatives_found, binding, relaxations
from planner.reports.facts.spend import (
    commissioned_by_level,
    continuum,
    continuum_in_level_order,
    level_table,
    spend_breakdown,
    year_totals,
)

__all__ = [
    "CHANGE_KINDS", "NO_PLAN", "STATUS_WORDS", "Headline", "alternatives_found", "binding",
    "break_even", "change_counts", "changed_contracts", "commissioned_by_level",
    "contract_decisions", "continuum", "continuum_in_level_order", "decision_counts", "headline",
    "headline_sentence", "level_table", "one_off_costs", "provider_decisions", "quality",
    "quality_with_thresholds", "relaxations", "risks", "service_decisions", "spend_breakdown",
    "spend_components", "tolerance", "year_totals",
]
