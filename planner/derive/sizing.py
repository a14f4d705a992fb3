"""How much memory a model will need, estimated from the derived tables before anything is built.

Why: Pyomo holds every variable, constraint and expression as Python objects (roughly a kilobyte
each once HiGHS has its own copy), so an instance with a few million eligible contracts can
exhaust the machine's memory an hour into a run. The estimate is cheap (it counts rows of the
derived tables) and lets the planner refuse an absurd size at once, with the figure, instead.

The estimate is a linear model fitted to measured peak resident memory of whole solves (load,
derive, build, transfer to HiGHS, solve, extract, verify; ``scripts/bench.py`` records them in
``docs/bench_results.csv``):

    bytes ≈ BASE + PER_TABLE_ROW × table rows + PER_DERIVED_CONTRACT × contracts
            + PER_CONTRACT_YEAR × contract-years + PER_BINARY_YEAR × binary-years

where table rows are the instance's rows (the read text, the typed tables and the checks stay
alive through the solve), contracts are the rows of the derived contract table, contract-years
are eligible contracts × years (each brings x, and its demand, linking and capacity terms) and
binary-years are contracts with a z plus providers with a w, × years (each brings a binary and
two or three linking rows). See ``docs/performance.md`` for the fit; ``scripts/bench_memory.py``
measures the whole pipeline per offers row (validate ≈ 1.3–1.8 KB a row; solve ≈ 32–34 KB a
row of two contracts).

The memory available is the least of MemAvailable, the cgroup's limit less its usage (a
container's /proc/meminfo shows the host's memory, which let a 1,000,000-row instance pass the
check and then exhaust its container) and the address-space limit (``ulimit -v``).
"""

from __future__ import annotations

import resource
from dataclasses import dataclass
from pathlib import Path

from planner.derive.tables import Derived
from planner.errors import InputError, Problem

BASE = 350e6
"""Bytes of a planner process before any model: Python, pandas, Pyomo, HiGHS and the tables."""
PER_CONTRACT_YEAR = 9_000.0
"""Bytes per eligible contract-year: x, its bound, its terms in demand, capacity, income and
spend rows, the derived-table row, HiGHS's copy and the solution read back."""
PER_BINARY_YEAR = 8_000.0
"""Bytes per binary-year: z or w, its linking rows (x ≤ M·z, z ≤ y, z ≤ w) and their HiGHS
copies, plus the branch-and-bound work that scales with the binaries."""
PER_TABLE_ROW = 2_000.0
"""Bytes per row of the instance's tables: the CSV text, its cells as Python strings, the
typed frame and the checks (measured: 1.3–1.8 KB per offers row by scripts/bench_memory.py)."""
PER_DERIVED_CONTRACT = 500.0
"""Bytes per row of the derived contract table (measured 250–500)."""
MEMINFO = Path("/proc/meminfo")
ADDRESS_SPACE_OVERHEAD = 300e6
"""Address space a solve maps beyond its resident memory (shared libraries, thread stacks,
allocator arenas): under ``ulimit -v`` a 10,000-offer solve of 0.52 GB resident failed at 0.8 GB
of address space and passed at 1 GB."""
CGROUP_FILES = ((Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory.current")),
                (Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
                 Path("/sys/fs/cgroup/memory/memory.usage_in_bytes")))


@dataclass(frozen=True)
class SizeEstimate:
    """The counts the estimate is made of, and the estimate in bytes."""

    contracts: int
    years: int
    binaries: int  # z and w, per year
    service_levels: int
    bytes: float
    table_rows: int = 0

    @property
    def gigabytes(self) -> float:
        return self.bytes / 1e9

    def describe(self) -> str:
        return (f"{self.table_rows:,} table rows, "
                f"{self.contracts:,} eligible contracts × {self.years} year(s), "
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
    rows = sum(len(getattr(derived.instance, name)) for name in
               ("levels", "services", "providers", "offers", "level_effects"))
    need = (BASE + PER_TABLE_ROW * rows + PER_DERIVED_CONTRACT * len(table)
            + PER_CONTRACT_YEAR * n_contracts * years + PER_BINARY_YEAR * binaries * years)
    return SizeEstimate(n_contracts, years, binaries, service_levels, need, rows)


def available_memory() -> float | None:
    """Bytes of memory a new process may use, if known: the least of MemAvailable, the
    cgroup's free limit and the address-space limit."""
    limits = [limit for limit in (_meminfo_available(), _cgroup_free(), _address_space())
              if limit is not None]
    return min(limits) if limits else None


def _meminfo_available() -> float | None:
    try:
        for line in MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return float(line.split()[1]) * 1024.0
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_free() -> float | None:
    """The container's memory limit less what it uses (cgroup v2, else v1), if limited."""
    for limit_file, usage_file in CGROUP_FILES:
        try:
            limit = limit_file.read_text().strip()
            if limit == "max" or int(limit) >= 1 << 60:  # v1 writes a huge number for none
                return None
            return float(int(limit) - int(usage_file.read_text().strip()))
        except (OSError, ValueError):
            continue
    return None


def _address_space() -> float | None:
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return None if soft == resource.RLIM_INFINITY else max(0.0, soft - ADDRESS_SPACE_OVERHEAD)


def check_size(derived: Derived, contracts: int | None = None) -> SizeEstimate:
    """Raise InputError (exit 2) if the model would need more memory than is available."""
    size = estimate(derived, contracts)
    available = available_memory()
    if available is not None and size.bytes > available:
        raise InputError(Problem(
            "instance",
            f"the model is too large for this machine: {size.describe()} of memory needed, "
            f"{available / 1e9:.1f} GB available (the least of MemAvailable, the cgroup "
            "limit and ulimit -v).",
            "Reduce the eligible contracts (fewer offers, allowed_levels, or higher "
            "min_quality), shorten the horizon, or run on a machine with more memory."))
    return size
