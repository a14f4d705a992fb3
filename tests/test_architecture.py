"""The house's rules, checked: imports run one way down the layers, no module imports itself in a
circle, and the old flat import paths still reach the same modules.

The layers are the ``[tool.importlinter]`` contract in pyproject.toml (docs/architecture.md
draws it); ``make lint`` runs the same ``lint-imports``, and this test makes CI run it too.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_layer_contract_is_kept() -> None:
    command = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    done = subprocess.run([command, "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 kept, 0 broken" in done.stdout and "ignored" not in done.stdout


def _cycles(graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """Each import a → b for which b also reaches a: the loop, as the chain back."""
    loops = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is not None:
                loops.append((importer, *back))
    return loops


def test_no_module_imports_itself_in_a_circle() -> None:
    """Every import counts, including those inside functions; a package's ``__init__`` that
    re-exports its own modules is the one allowed loop (it is how a package offers its names)."""
    graph = grimp.build_graph("planner", "formulations", exclude_type_checking_imports=True)
    for package in ("planner.derive", "planner.sweeps", "planner.cli"):
        for child in graph.find_modules_directly_imported_by(package):
            if child.startswith(package + "."):
                graph.remove_import(importer=package, imported=child)
    for imported in graph.find_modules_directly_imported_by("planner"):  # the root re-exports
        graph.remove_import(importer="planner", imported=imported)       # the public API
    assert _cycles(graph) == []


@pytest.mark.parametrize("old, new", [
    ("planner.session", "planner.solver.session"),
    ("planner.scenarios", "planner.sweeps.scenarios"), ("planner.report", "planner.reports.writer"),
    ("planner.marginal", "planner.analysis.marginal"), ("planner.instance", "planner.data.instance"),
    ("planner.plan", "planner.results.plan"), ("planner.checks", "planner.data.checks"),
])
def test_old_import_paths_are_the_new_modules(old: str, new: str) -> None:
    assert importlib.import_module(old) is importlib.import_module(new)


def test_old_verify_path_leaves_planner_verify_the_function() -> None:
    from planner.verify import verify  # the old path

    import planner

    assert verify is planner.verify and callable(planner.verify)


def test_old_derive_and_sweeps_paths_offer_their_names() -> None:
    import planner
    from planner.derive import FAMILIES, Derived, derive  # noqa: F401
    from planner.sweeps import sweep  # noqa: F401

    assert planner.derive is derive and "budget" in FAMILIES
