"""planner: which services to commission, at which level, from whom — as a MILP on HiGHS.

Library entry points (the contract of docs/api.md):

    import planner
    instance = planner.load_instance("instances/toy")   # or planner.Instance.from_frames(...)
    plan = planner.solve(instance, time_limit=60)
    plan.contracts, plan.services, plan.providers, plan.levels   # pandas DataFrames
    assert planner.verify(instance, plan) == []
    plan.to_dir("out/toy")
"""

from planner.api import solve, versions
from planner.derive import FAMILIES, Derived, derive
from planner.errors import InputError, PlannerError, Problem, VerificationError
from planner.instance import Instance, load_instance
from planner.plan import Plan
from planner.sweeps import sweep
from planner.verify import verify

__all__ = [
    "FAMILIES",
    "Derived",
    "InputError",
    "Instance",
    "Plan",
    "PlannerError",
    "Problem",
    "VerificationError",
    "derive",
    "load_instance",
    "solve",
    "sweep",
    "verify",
    "versions",
]
