"""The commissioning model over T years (MODEL §3), on the families shared with the single year.

The level of each service is chosen once for the horizon (y has no year); contracts, provider use
and spend are by year. Demand grows and prices change by year (in :class:`ModelData`). The
families the multi-year model adds (one-off events by year, notice, contract stability,
setting targets) are in :mod:`formulations.years`; break-even under ``annual``,
``carry_forward`` (an underspend may be spent in the next year only) or ``multi_year`` (spend
within budget over every window of ``break_even_window`` years, and no year more than 2 % over
its own budget) in :mod:`formulations.budget`. All are declared in :mod:`formulations.registry`.
"""

from __future__ import annotations

from formulations.model_data import BuiltModel, gc_paused
from formulations.registry import assemble
from planner.derive.tables import Derived


@gc_paused
def build(derived: Derived) -> BuiltModel:
    """Build the model over ``derived``'s horizon (at T = 1 exactly the single-year model)."""
    return assemble(derived)
