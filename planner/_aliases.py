"""The flat module paths of earlier releases, kept importable for one release (until 0.3).

Round 1 had every module directly under ``planner/``; they now live in the pipeline's layers
(docs/architecture.md). ``import planner.scenarios`` or ``from planner.session import
PlanningModel`` still work: the old name resolves to the *same module object* as the new one
(so patching either patches both). ``planner.derive``, ``planner.sweeps``, ``planner.cli`` and
``planner.solver`` need no alias: they are now the packages of those names and re-export what
the old modules offered. New code imports the new paths; nothing in this repository uses the old ones.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType

#: old module path → the module it is now
OLD_PATHS = {
    "planner.commands": "planner.cli",
    "planner.schema": "planner.data.schema",
    "planner.tables": "planner.data.tables",
    "planner.checks": "planner.data.checks",
    "planner.instance": "planner.data.instance",
    "planner.excel_reader": "planner.data.workbook",
    "planner.xlsx_guard": "planner.data.xlsx_guard",
    "planner.names": "planner.data.names",
    "planner.prechecks": "planner.derive.prechecks",
    "planner.sizing": "planner.derive.sizing",
    "planner.session": "planner.solver.session",
    "planner.extract": "planner.solver.extract",
    "planner.fixed_lp": "planner.solver.fixed_lp",
    "planner.plan": "planner.results.plan",
    "planner.verify": "planner.results.verify",
    "planner.outdir": "planner.results.outdir",
    "planner.diagnosis": "planner.analysis.diagnosis",
    "planner.marginal": "planner.analysis.marginal",
    "planner.explain": "planner.analysis.explain",
    "planner.alternatives": "planner.analysis.alternatives",
    "planner.compare": "planner.analysis.compare",
    "planner.pareto": "planner.analysis.pareto",
    "planner.unfunded": "planner.analysis.unfunded",
    "planner.scenarios": "planner.sweeps.scenarios",
    "planner.neighbours": "planner.sweeps.neighbours",
    "planner.sweep_store": "planner.sweeps.store",
    "planner.summary": "planner.reports.summary",
    "planner.report": "planner.reports.writer",
    "planner.excel": "planner.data.workbook_writer",
    "planner.charts": "planner.reports.charts",
    "planner.decisions": "planner.reports.facts.decisions",
    # moved within the layered package (issue 14, facts apart from views)
    "planner.reports.decisions": "planner.reports.facts.decisions",
    "planner.cli_support": "planner.cli.support",
    "planner.commands.report": "planner.cli.report",
    "planner.commands.sweep": "planner.cli.sweep",
}


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the module was loaded under its new name."""


class _AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: object = None, target: object = None
                  ) -> importlib.machinery.ModuleSpec | None:
        new = OLD_PATHS.get(fullname)
        if new is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(new))


def install() -> None:
    """Add the finder once. ``planner.verify`` is registered at once: importing it later through
    the finder would bind the *module* to the name ``planner.verify``, which is the function."""
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.append(_AliasFinder())
    sys.modules.setdefault("planner.verify", importlib.import_module("planner.results.verify"))
