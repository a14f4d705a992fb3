"""The names this module held before the reports were split by job (kept for importers).

``summary`` read a plan folder, formatted numbers, computed the facts and wrote summary.md. Each
job now has its module: the plan folder's reader :mod:`planner.results.folder` (``PlanFiles``),
the formatters :mod:`planner.reports.formatting`, the facts :mod:`planner.reports.facts`, and
summary.md :mod:`planner.reports.markdown`. New code imports from those.
"""

from planner.csvsafe import unescape_cell as unescape
from planner.reports.facts import (
    CHANGE_KINDS,
    NO_PLAN,
    STATUS_WORDS,
    Headline,
    binding,
    break_even,
    change_counts,
    changed_contracts,
    continuum,
    headline,
    headline_sentence,
    level_table,
    quality,
    relaxations,
    spend_breakdown,
    tolerance,
)
from planner.reports.formatting import (
    MINUS,
    UNIT_ONE,
    amount,
    is_missing,
    money,
    number,
    per_unit,
    percent,
    pounds,
    text,
)
from planner.reports.markdown import BIDI_CONTROLS, MD_LIMIT, md_text, render_markdown
from planner.results.folder import (
    BOOL_COLUMNS,
    TABLE_FILES,
    TEXT_COLUMNS,
    PlanFiles,
    read_plan_json,
    read_plan_table,
    read_plan_tables,
)
from planner.results.folder import read_plan_table as read_table

__all__ = [
    "BIDI_CONTROLS", "BOOL_COLUMNS", "CHANGE_KINDS", "MD_LIMIT", "MINUS", "NO_PLAN", "STATUS_WORDS",
    "TABLE_FILES", "TEXT_COLUMNS", "UNIT_ONE", "Headline", "PlanFiles", "amount", "binding",
    "break_even", "change_counts", "changed_contracts", "continuum", "headline",
    "headline_sentence", "is_missing", "level_table", "md_text", "money", "number", "per_unit",
    "percent", "pounds", "quality", "read_plan_json", "read_plan_table", "read_plan_tables",
    "read_table", "relaxations", "render_markdown", "spend_breakdown", "text", "tolerance",
    "unescape",
]
