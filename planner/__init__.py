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
import sys
import types
from typing import TYPE_CHECKING, Any

from planner import _aliases
from planner.data.instance import Instance, load_instance
from planner.derive import FAMILIES, Derived, derive
from planner.errors import InputError, PlannerError, Problem, VerificationError
from planner.results.plan import Plan, set_report_writer
from planner.results.verify import verify
from planner.rules import Family, Status

_aliases.install()


def _write_reports(folder: Any, instance: Instance) -> None:
    """The plan folder's views, for :meth:`Plan.to_dir` (results may not import reports)."""
    from planner.reports.html import write_reports

    write_reports(folder, instance=instance)


set_report_writer(_write_reports)

#: public names that need the model and solver, loaded on first use
_LAZY = {"solve": "planner.api", "versions": "planner.api", "sweep": "planner.sweeps.runner"}

__all__ = [
    "FAMILIES", "Derived", "Family", "InputError", "Instance", "Plan", "PlannerError", "Problem",
    "Status", "VerificationError", "derive", "load_instance", "solve", "sweep", "verify", "versions",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'planner' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


class _Package(types.ModuleType):
    """``planner`` itself: importing the subpackage ``planner.solve`` must not replace the
    API function ``planner.solve`` (the import system binds a subpackage as an attribute of
    its parent; the subpackage stays importable by name through ``sys.modules``)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:  # for type checkers and IDEs
    from planner.api import solve, versions
    from planner.sweeps.runner import sweep
