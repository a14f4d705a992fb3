"""planner: which services to commission, at which level, from whom — as a MILP on HiGHS.

Library entry points (the contract of docs/api.md):

    import planner
    instance = planner.load_instance("instances/toy")   # or planner.Instance.from_frames(...)
    plan = planner.solve(instance, time_limit=60)
    plan.contracts, plan.services, plan.providers, plan.levels   # pandas DataFrames
    assert planner.verify(instance, plan) == []
    plan.to_dir("out/toy")

The package is layered as the pipeline (docs/architecture.md): ``data`` → ``derive`` →
``formulations`` (a sibling package) → ``results`` → ``solver`` → ``analysis`` → ``reports`` →
``api`` → ``sweeps`` → ``cli``. ``solve``, ``versions``, ``changes``, ``sweep``, ``risk`` and
``stress`` are imported on first use (PEP 562), so ``import planner`` stays light and ``import
formulations`` works on its own. (The solve layer's folder is ``solver``: a package named
``solve`` would take the place of the function ``planner.solve`` when first imported.) The old
flat module paths (``planner.session``, ``planner.report``, …) remain importable as aliases for
one release: see :mod:`planner._aliases`.
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


def _write_reports(folder: Any, instance: Instance) -> None:
    """The plan folder's views, for :meth:`Plan.to_dir` (results may not import reports)."""
    from planner.reports.writer import write_reports

    write_reports(folder, instance=instance)


set_report_writer(_write_reports)

#: public names that need the model and solver, loaded on first use
_LAZY = {"solve": "planner.api", "versions": "planner.api", "changes": "planner.api",
         "sweep": "planner.sweeps.runner", "risk": "planner.analysis.risk",
         "stress": "planner.sweeps.stress"}

__all__ = [
    "FAMILIES", "Derived", "Family", "InputError", "Instance", "Plan", "PlannerError", "Problem",
    "Status", "VerificationError", "changes", "derive", "load_instance", "risk", "solve", "stress",
    "sweep", "verify", "versions",
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
    from planner.analysis.risk import risk
    from planner.api import changes, solve, versions
    from planner.sweeps.runner import sweep
    from planner.sweeps.stress import stress
