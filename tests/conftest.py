"""Shared fixtures: paths to shipped instances and a way to break copies of them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INSTANCES = ROOT / "instances"


@pytest.fixture
def toy_dir() -> Path:
    return INSTANCES / "toy"


@pytest.fixture
def toy_copy(tmp_path: Path) -> Path:
    """A writable copy of the toy instance, for tests that break or change it."""
    target = tmp_path / "toy"
    shutil.copytree(INSTANCES / "toy", target)
    return target
