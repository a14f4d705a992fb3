"""planner: which services to commission, at which level, from whom — as a MILP on HiGHS.

Library entry points (the contract of docs/api.md):

    import planner
    instance = planner.load_instance("instances/toy")   # or planner.Instance.from_frames(...)
    plan = planner.solve(instance, time_limit=60)
    plan.contracts, plan.services, plan.providers, plan.levels   # pandas DataFrames
    assert planner.verify(instance, plan) == []
    plan.to_dir("out/toy")

``solve``, ``versions`` and ``sweep`` are imported on first use, so ``import formulations``
works on its own and no import runs in a circle through this package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# The data side and the checker import nothing of the model, so they load eagerly (and so the
# names ``planner.derive`` and ``planner.verify`` are the functions, not their modules).
from planner.derive import FAMILIES, Derived, derive
from planner.errors import InputError, PlannerError, Problem, VerificationError
from planner.instance import Instance, load_instance
from planner.plan import Plan
from planner.risk import risk  # a Monte Carlo of a plan's spend (issue 18)
from planner.stress import stress  # re-planning when providers fail (issue 18)
from planner.verify import verify

#: public names that need the model and solver, loaded on first use (PEP 562): importing them
#: here would run ``planner → api → formulations → planner.derive → planner`` in a circle.
_LAZY = {"solve": "planner.api", "versions": "planner.api", "sweep": "planner.sweeps"}

__all__ = [
    "FAMILIES", "Derived", "InputError", "Instance", "Plan", "PlannerError", "Problem",
    "VerificationError", "derive", "load_instance", "risk", "solve", "stress", "sweep", "verify",
    "versions",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'planner' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:  # for type checkers and IDEs
    from planner.api import solve, versions
    from planner.sweeps import sweep
