"""Where a problem is and what the user may have meant: the helpers every table check shares.

A row's file line (kept by the reader), whether a cell holds a value, an unknown reference with a
"did you mean" for near misses. :mod:`planner.data.checks` and the checks of optional tables
(:mod:`planner.data.shifting_checks`, payment and prudent-budget checks) all use these, so a
reference is reported in the same words whichever table holds it.
"""

from __future__ import annotations

import difflib
import math
import unicodedata

import numpy as np
import pandas as pd

from planner.data.schema import TABLES
from planner.data.tables import BAD_CELLS, LINES
from planner.errors import Problem


def _line(frame: pd.DataFrame, position: int, from_file: bool) -> int | None:
    """The file line of a row: kept by the reader (blank lines are skipped), else header + 1."""
    if not from_file:
        return None
    lines = frame.attrs.get(LINES)
    return int(lines[position]) if lines is not None else int(position) + 2


def _present(value: object) -> bool:
    """False for a blank id or a missing column's placeholder, already reported elsewhere."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return not (isinstance(value, str) and not value.strip())


def _unknown(frame: pd.DataFrame, table: str, column: str, known: set[str], what: str,
             from_file: bool, is_list: bool = False, source: str = "") -> list[Problem]:
    problems = []
    source = source or f"{what}s.csv"
    key = list(TABLES[table].key)
    known = {k for k in known if _present(k)}
    if not known:
        return []  # the table referred to has no rows, or no id column: reported already
    sample = ", ".join(sorted(known)[:8]) + (" ..." if len(known) > 8 else "")
    cells = frame[column].tolist()
    named = {item for value in cells for item in (value if is_list else (value,)) if _present(item)}
    for position, value in enumerate(cells):
        values = value if is_list else (value,)
        for item in values:
            if _present(item) and item not in known:
                label = "/".join(str(frame.iloc[position][k]) for k in key)
                problems.append(Problem(table, f"unknown {what} '{item}'.",
                                        f"{_did_you_mean(str(item), known)}"
                                        f"{_misspelt_at_source(str(item), known, named, table, source)}"
                                        f"Use one defined in {source}: {sample}.",
                                        row=label, line=_line(frame, position, from_file),
                                        column=column))
    return problems


def _misspelt_at_source(item: str, known: set[str], named: set, table: str, source: str) -> str:
    """Where the near miss is an id no row of ``table`` names, the misspelling may be in the
    table that defines it (services.csv saying 'diabetes_car' while every offers row says
    'diabetes_care'): say so, since correcting that one cell fixes every row reported."""
    close = _close(item, known)
    if close is None or close in named:
        return ""
    return (f"No {table} row names '{close}': if {source} is the one misspelt, correct it there "
            f"and every row naming '{item}' is fixed at once. ")


def _close(item: str, known: set[str]) -> str | None:
    """The known id ``item`` most likely means: the same in another case, or a near spelling."""
    same_case = [k for k in sorted(known) if k.lower() == item.lower()]
    lookalike = [k for k in sorted(known) if _glyphs(k) == _glyphs(item)]  # O for 0, l for 1
    close = same_case or lookalike or difflib.get_close_matches(item, sorted(known), n=1)
    return close[0] if close else None


_LOOKALIKES = str.maketrans({"o": "0", "i": "1", "l": "1"})


def _glyphs(text: str) -> str:
    """``text`` with the letters most often typed for digits (O, I, l) read as 0 and 1, so that
    'gp_N85O07' finds 'gp_N85007' rather than the nearer spelling 'gp_N85027'."""
    return text.lower().translate(_LOOKALIKES)


def _did_you_mean(item: str, known: set[str]) -> str:
    """'Did you mean X? ' for a near miss: another case (PCT for pct) or a small misspelling,
    saying so when the id holds a character that cannot be seen (pasted from a web page)."""
    close = _close(item, known)
    hidden = [c for c in item if unicodedata.category(c) in ("Cc", "Cf", "Co", "Zl", "Zp")
              or (unicodedata.category(c) == "Zs" and c != " ")]
    note = (f"It contains the invisible character U+{ord(hidden[0]):04X}; retype it. "
            if hidden else "")
    return note + (f"Did you mean '{close}'? " if close else "")


def _bad(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Which rows have a cell of ``column`` already reported (so its value is a placeholder)."""
    marked = frame.attrs.get(BAD_CELLS, {}).get(column, ())
    flags = np.zeros(len(frame), dtype=bool)
    flags[list(marked)] = True
    return flags
