"""Layer 4, the solver: the one HiGHS adapter, the persistent session, extraction into a Plan.

``highs`` wraps ``pyomo.contrib.solver``'s persistent ``highs`` (options, statuses, copying
results out at once); ``session`` keeps one built model and re-solves it; ``extract`` turns the
solver's values into the Plan's tables; ``fixed_lp`` fixes every integer for marginal values.
(The folder is ``solver``, not ``solve``, because ``planner.solve`` is the library's function.)
The adapter's names are re-exported here, as the flat ``planner.solver`` module offered them.
"""

from planner.solver.highs import (
    FastHighs,
    HighsAdapter,
    SolveOptions,
    SolveResult,
    highs_version,
    tuned_options,
    versions,
)

__all__ = ["FastHighs", "HighsAdapter", "SolveOptions", "SolveResult", "highs_version",
           "tuned_options", "versions"]
