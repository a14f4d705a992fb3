"""Layer 2, derived tables: the sparse, eligible rows the model is built from, and pre-checks.

``tables`` computes the derived tables (``planner.derive(instance)``); ``prechecks`` finds
infeasibility that needs no solve; ``sizing`` estimates a model's size before it is built.
"""

from planner.derive.tables import FAMILIES, Derived, derive

__all__ = ["FAMILIES", "Derived", "derive"]
