"""The single-year commissioning model (MODEL §2): families 1–11 and the objective, for T = 1.

The families are declared once in :mod:`formulations.registry` and shared with the multi-year
model; for one year the one-off costs are charged directly on the contract and provider
binaries (:func:`formulations.costs.add_one_off_costs`), the budget is annual and the
multi-year families (events, notice, contract stability, setting targets) are absent.

  setup   Σ setup_c · z_c            (new contracts only; waived for incumbent offers)
  entry   Σ entry_p · w_p            (providers that are not incumbents)
  exit    Σ exit_p · (1 − w_p)       (incumbents not retained; a constant for incumbents
                                      that can hold no eligible contract at all)
  spend   activity + transaction + setup + entry + exit ≤ budget
"""

from __future__ import annotations

from formulations.model_data import BuiltModel, gc_paused
from formulations.registry import assemble
from planner.derive.tables import Derived


@gc_paused
def build(derived: Derived) -> BuiltModel:
    """Build the single-year model; families in ``derived.without`` are omitted."""
    if derived.horizon != 1:
        raise ValueError("single_year.build needs horizon 1; use formulations.multi_year")
    return assemble(derived)
