"""Tiny instances in a few lines, and a few readers of a solved plan.

``build`` takes the rows of each table as lists of dicts and fills sensible defaults, so a test
states only what matters to it:

- levels: one level ``pct`` whose single unit covers the whole population, no transaction cost;
  ``order`` follows the list order;
- services: ``category`` elective, ``mandatory`` true (everything else: the schema defaults);
- providers: ``kind`` nhs_trust; an offer gives ``quality`` 1.0 unless stated.

Money is in £ per year, activity in episodes per year.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

import planner

Rows = list[dict[str, Any]]


def build(
    services: Rows,
    offers: Rows,
    providers: Rows | None = None,
    levels: Rows | None = None,
    *,
    population: float = 1000,
    level_effects: Rows | None = None,
    **policy: Any,
) -> planner.Instance:
    """An instance from rows of dicts; keyword arguments are policy keys (budget=..., ...).

    ``providers`` defaults to one plain provider per provider id named in ``offers``.
    """
    levels = levels if levels is not None else [{"level": "pct", "population": population}]
    level_rows = [{"order": i + 1, **row} for i, row in enumerate(levels)]
    service_rows = [{"category": "elective", "mandatory": True, **row} for row in services]
    offer_rows = [{"quality": 1.0, **row} for row in offers]
    if providers is None:
        providers = [{"provider": p} for p in dict.fromkeys(row["provider"] for row in offers)]
    provider_rows = [{"kind": "nhs_trust", **row} for row in providers]
    effects = pd.DataFrame(level_effects) if level_effects else None
    return planner.Instance.from_frames(
        {"name": "t", "population": population, "policy": policy},
        levels=_frame(level_rows), services=_frame(service_rows),
        providers=_frame(provider_rows), offers=_frame(offer_rows), level_effects=effects)


def _frame(rows: Rows) -> pd.DataFrame:
    """A DataFrame from rows that may name different columns (missing cells stay blank)."""
    return pd.DataFrame(rows, dtype=object)


def solve(instance: planner.Instance, **options: Any) -> planner.Plan:
    """Solve, and check the plan is optimal and passes the independent verifier."""
    plan = planner.solve(instance, **options)
    assert plan.status == "optimal", plan.status
    assert planner.verify(instance, plan) == []
    return plan


def volumes(plan: planner.Plan) -> dict[tuple[str, str, str], float]:
    """Every let contract as {(service, level, provider): episodes}, zero-volume ones included."""
    return {(c.service, c.level, c.provider): float(c.volume)
            for c in plan.contracts.itertuples(index=False)}


def level_of(plan: planner.Plan, service: str) -> str | None:
    """The level a service is commissioned at, or None if it is not commissioned."""
    row = plan.services.set_index("service").loc[service]
    return row["level"] if bool(row["commissioned"]) else None


def used(plan: planner.Plan) -> dict[str, bool]:
    """Whether each provider is used (retained or brought in)."""
    return {p.provider: bool(p.used) for p in plan.providers.itertuples(index=False)}


def broken_rules(instance: planner.Instance, plan: planner.Plan) -> str:
    """The verifier's findings on ``plan`` with every family on, as one string to search.

    A plan solved ``without`` a family that binds should break that family's rule here.
    """
    return "\n".join(planner.verify(instance, plan, without=frozenset()))


def child_processes() -> set[int]:
    """Process ids whose parent is this process (from /proc, no extra dependency): a test that
    starts a solve checks that nothing is left running after it."""
    mine, out = os.getpid(), set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == mine:
                out.add(int(entry.name))
    return out
