"""The fix-and-optimise neighbourhoods (formulations/neighbourhoods.py, issue 19): each holds
exactly its service's levels, its service's contracts in every year and the providers offering
it, checked against the derived tables (not against the index maps the module uses)."""

from __future__ import annotations

from pathlib import Path

import pytest

from formulations import build
from formulations.neighbourhoods import NEIGHBOURHOODS_ATTRIBUTE
from planner.data.instance import load_instance
from planner.derive.tables import derive

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["toy", "pct", "pct_5y", "pct_payment", "pct_areas"])
def test_each_neighbourhood_is_its_services_block(name: str) -> None:
    built = build(derive(load_instance(ROOT / "instances" / name)))
    m, d = built.model, built.data
    contracts, levels = d.derived.contracts, d.derived.service_levels
    blocks = getattr(m, NEIGHBOURHOODS_ATTRIBUTE)
    assert len(blocks) == len(d.y_by_service)
    for service, block in zip(d.y_by_service, blocks):
        names = {v.parent_component().name for v in block}
        assert names <= {"y", "z", "w"}
        ys = [v for v in block if v.parent_component().name == "y"]
        assert {levels.at[int(d.sl_rows[v.index()]), "service"] for v in ys} == {service}
        zs = [v for v in block if v.parent_component().name == "z"]
        assert {contracts["service"].iloc[int(d.z_rows[v.index()[0]])] for v in zs} <= {service}
        expected = {(int(k), t) for k, c in enumerate(d.z_rows)
                    if contracts["service"].iloc[int(c)] == service for t in d.years}
        assert {v.index() for v in zs} == expected
        offering = set(contracts.loc[contracts["service"] == service, "provider"])
        ws = [v for v in block if v.parent_component().name == "w"]
        providers = d.derived.providers["provider"].to_numpy()
        assert {providers[int(d.w_rows[v.index()[0]])] for v in ws} <= offering
