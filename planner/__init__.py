"""planner: which services to commission, at which level, from whom — as a MILP on HiGHS.

Library entry points (the contract of docs/api.md):

    import planner
    instance = planner.load_instance("instances/toy")   # or planner.Instance.from_frames(...)
    plan = planner.solve(instance, time_limit=60)
    plan.contracts, plan.services, plan.providers, plan.levels   # pandas DataFrames
    assert planner.verify(instance, plan) == []
    plan.to_dir("out/toy")

The package is layered as the pipeline (docs/architecture.md): ``data`` → ``derive`` →
``formulations`` (a sibling package) → ``results`` → ``solve`` → ``analysis`` → ``reports`` →
``sweeps`` → ``api`` → ``cli``. ``solve``, ``versions``, ``sweep`` and ``risk``-like staged calls
are imported on first use (PEP 562), so ``import planner`` stays light and ``import formulations``
works on its own. The old flat module paths (``planner.solver``, ``planner.session``, …) remain
importable as aliases for one release: see :mod:`planner._aliases`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from planner import _aliases
from planner.data.instance import Instance, load_instance
from planner.derive import FAMILIES, Derived, derive
from planner.errors import InputError, PlannerError, Problem, VerificationError
from planner.results.plan import Plan, set_report_writer
from planner.results.verify import verify
from planner.rules import Family, Status

_aliases.install()

# ``planner.solve`` names two things: the layer's package (planner/solve/) and the library's
# entry point, the function. Importing the package binds it on this module, and it is imported
# by most of the package, so it is imported here, first, and the name removed again: from then
# on ``planner.solve`` is the function (loaded on first use, below), and ``import
# planner.solve.highs`` or ``from planner.solve.session import ...`` still find the modules.
import planner.solve  # noqa: E402,F401

del globals()["solve"]


def _write_reports(folder: Any, instance: Instance) -> None:
    """The plan folder's views, for :meth:`Plan.to_dir` (results may not import reports)."""
    from planner.reports.writer import write_reports

    write_reports(folder, instance=instance)


set_report_writer(_write_reports)

#: public names that need the model and solver, loaded on first use
_LAZY = {"solve": "planner.api", "versions": "planner.api", "changes": "planner.api",
         "sweep": "planner.sweeps.runner"}

__all__ = [
    "FAMILIES", "Derived", "Family", "InputError", "Instance", "Plan", "PlannerError", "Problem",
    "Status", "VerificationError", "changes", "derive", "load_instance", "solve", "sweep", "verify",
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
    from planner.api import changes, solve, versions
    from planner.sweeps.runner import sweep
