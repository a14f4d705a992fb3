"""How the reports write numbers and words: the kernel's money formats (:mod:`planner.formats`)
plus the units of marginal values and relaxations, percentages and missing text.

Shared by the facts (a headline figure's text) and the views (report.html, summary.md, plan.xlsx).
"""

from __future__ import annotations

from typing import Any

from planner.formats import MINUS, is_missing, money, number, pounds, unit_money

__all__ = ["MINUS", "UNIT_ONE", "amount", "is_missing", "money", "number", "per_unit", "percent",
           "pounds", "text"]

UNIT_ONE = {"episodes": "episode", "providers": "provider", "services": "service",
            "resource units": "resource unit",
            "quality-weighted episodes": "quality-weighted episode"}


def per_unit(value: Any, unit: Any) -> str:
    """A marginal value: '£1.00 per episode', '−£6,000.00 per episode', '£0.2101 per £'."""
    if is_missing(value):
        return "—"
    return f"{unit_money(value)} per {UNIT_ONE.get(text(unit), text(unit))}"


def amount(value: Any, unit: Any) -> str:
    """A relaxation in its unit: £83,000; 18.74 episodes."""
    return pounds(value) if unit == "£" else f"{number(value, 2)} {text(unit)}"


def percent(value: Any, decimals: int = 1) -> str:
    if is_missing(value):
        return "—"
    return number(100.0 * float(value), decimals) + " %"


def text(value: Any) -> str:
    return "" if is_missing(value) else str(value)

