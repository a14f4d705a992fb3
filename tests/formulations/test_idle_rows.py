"""A mutable model switches off the rows today's data idles, and back on when a re-set makes
them bind (formulations.idle_rows); answers never change.

A plain build leaves out, for example, every min_share row of a service whose min_share is 0
(0·z ≤ x holds for any x ≥ 0); a mutable build keeps them for a sweep that may raise the share,
but inactive, so HiGHS receives the plain model's rows (bar capacity rows that only a plain
build's level logic can rule out).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest import approx

import planner
from formulations.idle_rows import IDLE_CANDIDATES
from planner.solver.session import PlanningModel
from planner.sweeps.scenarios import apply, load_sweep, scenarios

pytestmark = pytest.mark.solver

ROOT = Path(__file__).resolve().parents[2]


def active_rows(session: PlanningModel) -> dict[str, int]:
    return {name: sum(1 for con in getattr(session.model, name, {}).values() if con.active)
            for name in IDLE_CANDIDATES}


def test_mutable_pct_sends_the_plain_rows() -> None:
    """On the PCT every min_share, avg_quality and min_income row the plain build omits is
    inactive in the mutable one (the counts are equal); capacity rows may stay (interval bounds
    are weaker than the plain build's one-level-per-service argument); the optimum is the
    pinned £230,411,481.94."""
    pct = planner.load_instance(ROOT / "instances" / "pct")
    plain, mutable = PlanningModel(pct), PlanningModel(pct, mutable=True)
    a, b = active_rows(plain), active_rows(mutable)
    for name in ("min_share", "avg_quality", "min_income"):
        assert b[name] == a[name], name
    assert all(b[name] >= a[name] for name in IDLE_CANDIDATES)
    assert sum(len(getattr(mutable.model, n, {})) for n in IDLE_CANDIDATES) > sum(b.values())
    assert mutable.run().objective == approx(230_411_481.94, rel=1e-6)


def test_raised_min_share_switches_its_rows_back_on() -> None:
    """The toy's min_shares are all 0, so its mutable model has every min_share row off. A
    re-set to 0.4 for diabetes care makes that service's rows bind (0.4·demand·z ≤ x): they come
    back on, the others stay off, and the re-solved plan is a fresh solve's."""
    toy = planner.load_instance(ROOT / "instances" / "toy")
    session = PlanningModel(toy, mutable=True)
    assert active_rows(session)["min_share"] == 0
    spec = {"parameters": {"services.min_share": {"set": [0.4],
                                                  "where": {"service": "diabetes_care"}}}}
    variant = apply(toy, scenarios(load_sweep(spec))[0])
    assert session.update(variant)
    on = [key for key, con in session.model.min_share.items() if con.active]
    assert on, "the raised share's rows are active"
    contracts = session.derived.contracts
    z_rows = session.built.data.z_rows
    assert all(contracts.at[int(z_rows[k]), "service"] == "diabetes_care" for k, _ in on)
    result = session.run()
    assert result.objective == approx(planner.solve(variant).objective, rel=1e-9)
    assert session.update(toy)  # and back: every row off again
    assert not any(con.active for con in session.model.min_share.values())
    assert session.run().objective == approx(1_383_000, rel=1e-9)

