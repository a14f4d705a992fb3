"""Plain names for ids: the one place that turns ``high_street_surgery`` into "High Street Surgery".

Ids are the keys every table refers to, so they stay short and stable (and stay the keys of every
CSV of a plan folder); a board reads names. levels.csv, services.csv and providers.csv take an
optional ``name`` column, and every report (report.html, summary.md, plan.xlsx, charts) shows the
name where one is given and the id where not. Reports map at display time through :class:`Names`,
so the facts in :mod:`planner.reports.facts` keep ids
and stay joinable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from planner.formats import is_missing

#: Columns of the plan's tables and facts that hold an id, and the kind of id they hold.
ID_COLUMNS: dict[str, str] = {"service": "service", "provider": "provider", "level": "level",
                              "level_a": "level", "level_b": "level",
                              "lowest_provider": "provider"}
KIND_TABLES = {"service": "services", "provider": "providers", "level": "levels"}
_SEPARATORS = re.compile(r"([/@])")  # subjects such as provider/service and service@level
_JOINS = {"/": " / ", "@": " at "}  # how a named subject reads: "Diabetes care at GP practice"


def _name_map(frame: pd.DataFrame | None, key: str) -> dict[str, str]:
    """id → name for the rows of ``frame`` whose name is given (blank names fall back to ids)."""
    if frame is None or "name" not in frame or key not in frame:
        return {}
    return {str(k): str(n).strip() for k, n in zip(frame[key], frame["name"])
            if not is_missing(n) and str(n).strip()}


@dataclass(frozen=True)
class Names:
    """id → plain name for services, providers and levels (empty maps: every id shows itself)."""

    services: Mapping[str, str] = field(default_factory=dict)
    providers: Mapping[str, str] = field(default_factory=dict)
    levels: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, instance: Any | None) -> Names:
        """The names an :class:`planner.data.instance.Instance` gives (none without an instance)."""
        if instance is None:
            return cls()
        return cls(_name_map(instance.services, "service"),
                   _name_map(instance.providers, "provider"),
                   _name_map(instance.levels, "level"))

    def _map(self, kind: str) -> Mapping[str, str]:
        return {"service": self.services, "provider": self.providers, "level": self.levels}[kind]

    def has(self, kind: str) -> bool:
        """True when at least one id of ``kind`` has a name (so a name column is worth adding)."""
        return bool(self._map(kind))

    def show(self, kind: str, value: Any) -> str:
        """The name of the id ``value`` of ``kind``, or the id itself; '' for a blank."""
        if is_missing(value):
            return ""
        return self._map(kind).get(str(value), str(value))

    def service(self, value: Any) -> str:
        return self.show("service", value)

    def provider(self, value: Any) -> str:
        return self.show("provider", value)

    def level(self, value: Any) -> str:
        return self.show("level", value)

    def subject(self, value: Any) -> str:
        """A rule's subject with each id named: 'riverside/gp' → 'Riverside Federation / GP
        consultations', 'gp@pct' → 'GP consultations at PCT'; a subject with no named id, and
        every other word, are kept as they are."""
        if is_missing(value):
            return ""
        parts = _SEPARATORS.split(str(value))
        named = [self._any(part) if i % 2 == 0 else part for i, part in enumerate(parts)]
        if named == parts:
            return str(value)
        return "".join(_JOINS.get(part, part) for part in named)

    def _any(self, token: str) -> str:
        for mapping in (self.services, self.providers, self.levels):
            if token in mapping:
                return mapping[token]
        return token

    def message(self, message: Any, subject: Any) -> str:
        """A sentence naming ``subject`` by its ids, with the subject's names instead."""
        if is_missing(message):
            return ""
        text = str(message)
        if is_missing(subject) or not str(subject):
            return text
        named = self.subject(subject)
        if named == str(subject):
            return text
        # whole ids only: a subject 'pct' must not rewrite the 'pct' inside another word
        whole = rf"(?<![\w]){re.escape(str(subject))}(?![\w])"
        if re.search(whole, text):
            return re.sub(whole, lambda _: named, text)
        for token in _SEPARATORS.split(str(subject).split(" in ")[0])[::2]:  # each id by itself
            name = self._any(token)
            if name != token:
                text = re.sub(rf"(?<![\w]){re.escape(token)}(?![\w])", lambda _, n=name: n, text)
        return text

    def label(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A copy of ``frame`` for display: ids replaced by names in every id column (and in the
        ``key`` of rows grouped ``by`` level); other columns unchanged."""
        if frame is None or not len(frame) or not (self.services or self.providers or self.levels):
            return frame
        out = frame.copy()
        if "reason" in out and "service" in out:  # "gp has no eligible contract": named
            out["reason"] = [self.message(r, s) for r, s in zip(out["reason"], out["service"])]
        for column, kind in ID_COLUMNS.items():
            if column in out and self.has(kind):
                out[column] = [v if is_missing(v) else self.show(kind, v) for v in out[column]]
        if "by" in out and "key" in out and self.has("level"):
            at_level = out["by"] == "level"
            out.loc[at_level, "key"] = [self.level(v) for v in out.loc[at_level, "key"]]
        if "subject" in out:
            if "message" in out:
                out["message"] = [self.message(m, s) for m, s in zip(out["message"], out["subject"])]
            out["subject"] = [self.subject(v) for v in out["subject"]]
        return out

    def with_names(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A copy of ``frame`` with a ``<column>_name`` column beside each id column whose kind
        has names (plan.xlsx keeps the ids, so a sheet still joins to the CSVs)."""
        if frame is None:
            return frame
        out = frame.copy()
        for column in [c for c in frame.columns if c in ID_COLUMNS]:
            kind = ID_COLUMNS[column]
            if not self.has(kind):
                continue
            position = list(out.columns).index(column) + 1
            out.insert(position, f"{column}_name",
                       [None if is_missing(v) else self.show(kind, v) for v in out[column]])
        if "subject" in out and (self.services or self.providers or self.levels):
            out.insert(list(out.columns).index("subject") + 1, "subject_name",
                       [self.subject(v) or None for v in out["subject"]])
        return out
