"""Facts: the contracts that change against the status quo (changes.csv), counted and ordered."""

from __future__ import annotations

import pandas as pd

from planner.results.folder import PlanFiles

CHANGE_KINDS = ("started", "ended", "moved", "volume changed", "same")


def change_counts(files: PlanFiles) -> dict[str, int]:
    changes = files.table("changes")
    if "change" not in changes:
        return {}
    counts = changes["change"].value_counts()
    return {kind: int(counts.get(kind, 0)) for kind in CHANGE_KINDS}


def changed_contracts(files: PlanFiles) -> pd.DataFrame:
    """Contracts that start, end, move or change volume against the status quo (not 'same')."""
    changes = files.table("changes")
    if "change" not in changes:
        return changes
    order = {kind: i for i, kind in enumerate(CHANGE_KINDS)}
    moved = changes.loc[changes["change"] != "same"].copy()
    moved["_order"] = moved["change"].map(order)
    moved["_size"] = -moved["volume_change"].abs()
    moved = moved.sort_values(["_order", "_size", "service", "provider"], kind="stable")
    return moved.drop(columns=["_order", "_size"]).reset_index(drop=True)

