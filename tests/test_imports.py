"""Every module of ``planner`` and ``formulations`` imports on its own.

An import cycle shows only when a module is the *first* of its package to be imported (``import
formulations`` failed in a fresh process while ``import planner`` worked). A child process
imports each module with none of the project's modules loaded before it: the project's entries
are removed from ``sys.modules`` between imports, while third-party packages (pandas, Pyomo)
stay cached, which cannot hide a cycle among the project's own modules and keeps the test fast.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import formulations
import planner

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import importlib, sys, traceback
failed = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m.split('.')[0] in ('planner', 'formulations')]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception:
        failed.append(name + ':\n' + traceback.format_exc(limit=3))
print('\n'.join(failed))
sys.exit(1 if failed else 0)
"""


def _modules() -> list[str]:
    names = []
    for package in (planner, formulations):
        names.append(package.__name__)
        names += [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
                  if not m.name.endswith(".__main__")]  # running it is the CLI, not an import
    return sorted(names)


def test_every_module_imports_first() -> None:
    modules = _modules()
    assert "formulations.multi_year" in modules and "planner.results.verify" in modules
    done = subprocess.run([sys.executable, "-c", CHILD, *modules], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_import_formulations_in_a_fresh_process() -> None:
    """The case the issue reported, exactly: ``python -c "import formulations"``."""
    done = subprocess.run([sys.executable, "-c", "import formulations"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
