"""Plain names for ids: the one place that turns ``high_street_surgery`` into "High Street Surgery".

Ids are the keys every table refers to, so they stay short and stable (and stay the keys of every
CSV of a plan folder); a board reads names. levels.csv, services.csv and providers.csv take an
optional ``name`` column, and every report (report.html, summary.md, plan.xlsx, charts) shows the
name where one is given and the id where not. Reports map at display time through :class:`Names`,
so the facts in :mod:`planner.reports.facts` keep ids
and stay joinable.

A provider's ``kind`` and a service's ``category`` are words of a vocabulary, not rows of a table,
so there is no name column for them: their names are made from the word by rule
(:func:`plain_name`: ``foundation_trust`` → "Foundation trust", ``gp_practice`` → "GP
practice"), in every report alike. A rule family (the ``constraint`` of marginal_values.csv
and diagnosis.json: ``min_income``, ``offer_capacity``) is a word of the model's vocabulary too,
named in :data:`planner.rules.RULE_NAMES` ("Break-even income", "Capacity for a service") and
shown the same way: replaced in report.html and summary.md, a ``constraint_name`` column beside
the id in plan.xlsx.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from planner.formats import is_missing
from planner.rules import RULE_NAMES

#: Columns of the plan's tables and facts that hold an id, and the kind of id they hold.
ID_COLUMNS: dict[str, str] = {"service": "service", "provider": "provider", "level": "level",
                              "level_a": "level", "level_b": "level",
                              "lowest_provider": "provider", "area": "area"}
#: Columns holding a word of a vocabulary (no table names it): shown by :func:`plain_name`, a
#: rule family by its name in :data:`planner.rules.RULE_NAMES`.
WORD_COLUMNS: dict[str, str] = {"kind": "kind", "category": "category", "constraint": "rule"}
#: What a row grouped ``by`` something holds in its ``key`` (spend by level, kind or category).
KEY_KINDS = ("level", "kind", "category")
KIND_TABLES = {"service": "services", "provider": "providers", "level": "levels"}
#: Words written in capitals in a name made from an id ("nhs_trust" → "NHS trust").
ACRONYMS = {"nhs": "NHS", "gp": "GP", "pct": "PCT", "icb": "ICB", "ccg": "CCG", "gum": "GUM"}
_SEPARATORS = re.compile(r"([/@])")  # subjects such as provider/service and service@level
_JOINS = {"/": " / ", "@": " at "}  # how a named subject reads: "Diabetes care at GP practice"


def plain_name(value: Any) -> str:
    """The name a board reads for a word id: underscores as spaces, the first letter a capital and
    known abbreviations in capitals ('foundation_trust' → 'Foundation trust', 'gp_federation' →
    'GP federation', 'long_term_conditions' → 'Long term conditions'). A word already written
    with capitals ('Mental Health', 'IVF') is kept as written; '' for a blank."""
    if is_missing(value):
        return ""
    words = str(value).replace("_", " ").split()
    if not words:
        return str(value)
    shown = [ACRONYMS.get(word, word) if word.islower() else word for word in words]
    if shown[0].islower():
        shown[0] = shown[0][0].upper() + shown[0][1:]
    return " ".join(shown)


def rule_name(value: Any) -> str:
    """The name a board reads for a rule family ('min_income' → 'Break-even income'), from
    :data:`planner.rules.RULE_NAMES`; a family not named there reads as its id in plain words."""
    if is_missing(value):
        return ""
    return RULE_NAMES.get(str(value)) or plain_name(value)


def _name_map(frame: pd.DataFrame | None, key: str) -> dict[str, str]:
    """id → name for the rows of ``frame`` whose name is given (blank names fall back to ids)."""
    if frame is None or "name" not in frame or key not in frame:
        return {}
    return {str(k): str(n).strip() for k, n in zip(frame[key], frame["name"])
            if not is_missing(n) and str(n).strip()}


@dataclass(frozen=True)
class Names:
    """id → plain name for services, providers, levels and areas (empty maps: every id shows
    itself)."""

    services: Mapping[str, str] = field(default_factory=dict)
    providers: Mapping[str, str] = field(default_factory=dict)
    levels: Mapping[str, str] = field(default_factory=dict)
    areas: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, instance: Any | None) -> Names:
        """The names an :class:`planner.data.instance.Instance` gives (none without an instance)."""
        if instance is None:
            return cls()
        return cls(_name_map(instance.services, "service"),
                   _name_map(instance.providers, "provider"),
                   _name_map(instance.levels, "level"),
                   _name_map(getattr(instance, "areas", None), "area"))

    def _map(self, kind: str) -> Mapping[str, str]:
        return {"service": self.services, "provider": self.providers, "level": self.levels,
                "area": self.areas}[kind]

    def has(self, kind: str) -> bool:
        """True when at least one id of ``kind`` has a name (so a name column is worth adding);
        always for a provider kind, a category or a rule family, whose names need no table."""
        return kind in WORD_COLUMNS.values() or bool(self._map(kind))

    def show(self, kind: str, value: Any) -> str:
        """The name of the id ``value`` of ``kind``, or the id itself; '' for a blank. ``kind``
        is 'service', 'provider', 'level', 'kind' or 'category' (named by rule), or 'rule' (a
        rule family, named in :data:`RULE_NAMES`)."""
        if is_missing(value):
            return ""
        if kind == "rule":
            return rule_name(value)
        if kind in WORD_COLUMNS.values():
            return plain_name(value)
        return self._map(kind).get(str(value), str(value))

    def service(self, value: Any) -> str:
        return self.show("service", value)

    def provider(self, value: Any) -> str:
        return self.show("provider", value)

    def level(self, value: Any) -> str:
        return self.show("level", value)

    def kind(self, value: Any) -> str:
        """A provider kind's name: 'foundation_trust' → 'Foundation trust'."""
        return self.show("kind", value)

    def category(self, value: Any) -> str:
        """A service category's name: 'mental_health' → 'Mental health'."""
        return self.show("category", value)

    def rule(self, value: Any) -> str:
        """A rule family's name: 'min_income' → 'Break-even income' (:func:`rule_name`)."""
        return self.show("rule", value)

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

    def _named(self) -> bool:
        return bool(self.services or self.providers or self.levels or self.areas)

    def label(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A copy of ``frame`` for display: ids replaced by names in every id column, provider
        kinds, categories and rule families by their names, and the ``key`` of rows grouped ``by`` level, kind
        or category likewise; other columns unchanged."""
        if frame is None or not len(frame):
            return frame
        words = [c for c in WORD_COLUMNS if c in frame] + (
            ["key"] if "by" in frame and "key" in frame else [])
        if not (self._named() or words):
            return frame
        out = frame.copy()
        if "reason" in out and "service" in out and self._named():  # "gp has no eligible ...": named
            out["reason"] = [self.message(r, s) for r, s in zip(out["reason"], out["service"])]
        for column, kind in {**ID_COLUMNS, **WORD_COLUMNS}.items():
            if column in out and self.has(kind):
                out[column] = [v if is_missing(v) else self.show(kind, v) for v in out[column]]
        if "by" in out and "key" in out:
            out["key"] = self._keys(out)
        if "subject" in out and self._named():
            if "message" in out:
                out["message"] = [self.message(m, s) for m, s in zip(out["message"], out["subject"])]
            out["subject"] = [self.subject(v) for v in out["subject"]]
        return out

    def _keys(self, frame: pd.DataFrame) -> list[Any]:
        """The ``key`` of each row grouped ``by`` level, kind or category, named (others as
        they are)."""
        return [self.show(by, key) if by in KEY_KINDS and self.has(by) and not is_missing(key)
                else key for by, key in zip(frame["by"], frame["key"])]

    def with_names(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A copy of ``frame`` with a ``<column>_name`` column beside each id column whose kind
        has names, and beside each provider kind, category, rule family (``constraint_name``) and
        grouped ``key`` (plan.xlsx keeps the ids, so a sheet still joins to the CSVs); a
        ``message`` beside a ``subject`` names it, as the report does."""
        if frame is None:
            return frame
        out = frame.copy()
        columns = {**ID_COLUMNS, **WORD_COLUMNS}
        for column in [c for c in frame.columns if c in columns]:
            kind = columns[column]
            if not self.has(kind):
                continue
            position = list(out.columns).index(column) + 1
            out.insert(position, f"{column}_name",
                       [None if is_missing(v) else self.show(kind, v) for v in out[column]])
        if "by" in out and "key" in out:
            out.insert(list(out.columns).index("key") + 1, "key_name", self._keys(out))
        if "subject" in out and (self.services or self.providers or self.levels):
            out.insert(list(out.columns).index("subject") + 1, "subject_name",
                       [self.subject(v) or None for v in out["subject"]])
            if "message" in out:  # prose, not a key to join on: a board reads names in it
                out["message"] = [self.message(m, s) for m, s in zip(out["message"], out["subject"])]
        return out
