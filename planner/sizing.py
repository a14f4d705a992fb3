"""How much memory a model will need, estimated from the derived tables before anything is built.

Why: Pyomo holds every variable, constraint and expression as Python objects (roughly a kilobyte
each once HiGHS has its own copy), so an instance with a few million eligible contracts can
exhaust the machine's memory an hour into a run. The estimate is cheap (it counts rows of the
derived tables) and lets the planner refuse an absurd size at once, with the figure, instead.

The estimate is a linear model fitted to measured peak resident memory of whole solves (load,
derive, build, transfer to HiGHS, solve, extract, verify; ``scripts/bench.py`` records them in
``docs/bench_results.csv``):

    bytes ≈ BASE + PER_CONTRACT_YEAR × contract-years + PER_BINARY_YEAR × binary-years

where contract-years are eligible contracts × years (each brings x, and its demand, linking and
capacity terms) and binary-years are contracts with a z plus providers with a w, × years (each
brings a binary and two or three linking rows). See ``docs/performance.md`` for the fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from planner.derive import Derived
from planner.errors import InputError, Problem

BASE = 350e6
"""Bytes of a planner process before any model: Python, pandas, Pyomo, HiGHS and the tables."""
PER_CONTRACT_YEAR = 9_000.0
"""Bytes per eligible contract-year: x, its bound, its terms in demand, capacity, income and
spend rows, the derived-table row, HiGHS's copy and the solution read back."""
PER_BINARY_YEAR = 8_000.0
"""Bytes per binary-year: z or w, its linking rows (x ≤ M·z, z ≤ y, z ≤ w) and their HiGHS
copies, plus the branch-and-bound work that scales with the binaries."""
MEMINFO = Path("/proc/meminfo")


@dataclass(frozen=True)
class SizeEstimate:
    """The counts the estimate is made of, and the estimate in bytes."""

    contracts: int
    years: int
    binaries: int  # z and w, per year
    service_levels: int
    bytes: float

    @property
    def gigabytes(self) -> float:
        return self.bytes / 1e9

    def describe(self) -> str:
        return (f"{self.contracts:,} eligible contracts × {self.years} year(s), "
                f"{self.binaries:,} contract or provider binaries a year and "
                f"{self.service_levels:,} service-levels: about {self.gigabytes:.1f} GB")


def estimate(derived: Derived, contracts: int | None = None) -> SizeEstimate:
    """Estimated peak memory of building and solving the model of ``derived``.

    ``contracts`` overrides the number of contracts (e.g. a dense formulation's)."""
    table = derived.contracts
    n_contracts = len(table) if contracts is None else contracts
    z = int(table["needs_z"].sum()) if contracts is None else n_contracts
    w = int(derived.providers["needs_w"].sum()) if "needs_w" in derived.providers else 0
    years = derived.horizon
    binaries = z + w
    service_levels = int(derived.service_levels["eligible"].sum())
    need = BASE + PER_CONTRACT_YEAR * n_contracts * years + PER_BINARY_YEAR * binaries * years
    return SizeEstimate(n_contracts, years, binaries, service_levels, need)


def available_memory() -> float | None:
    """Bytes of memory available to a new process (MemAvailable in /proc/meminfo), if known."""
    try:
        for line in MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return float(line.split()[1]) * 1024.0
    except OSError:
        return None
    return None


def check_size(derived: Derived, contracts: int | None = None) -> SizeEstimate:
    """Raise InputError (exit 2) if the model would need more memory than is available."""
    size = estimate(derived, contracts)
    available = available_memory()
    if available is not None and size.bytes > available:
        raise InputError(Problem(
            "instance",
            f"the model is too large for this machine: {size.describe()} of memory needed, "
            f"{available / 1e9:.1f} GB available (MemAvailable).",
            "Reduce the eligible contracts (fewer offers, allowed_levels, or higher "
            "min_quality), shorten the horizon, or run on a machine with more memory."))
    return size
