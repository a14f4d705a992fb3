"""Errors the planner raises, and the exit codes they map to.

Every problem with the input is a :class:`Problem` naming the table, the row, the column, what
is wrong and what would fix it. Validation gathers *all* problems before raising one
:class:`InputError`, so an analyst fixes a spreadsheet in one pass rather than one error at a time.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_INFEASIBLE = 3
EXIT_NO_SOLUTION = 4
MAX_SHOWN_PER_KIND = 20
"""Problems of one kind shown in a message; the rest are counted and listed in a file."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located as precisely as the data allow."""

    table: str
    message: str
    fix: str = ""
    row: str | None = None  # the row's id (e.g. a service id)
    line: int | None = None  # the line in the file (header = line 1)
    column: str | None = None

    def __str__(self) -> str:
        where = self.table
        if self.row is not None or self.line is not None:
            parts = []
            if self.row is not None:
                parts.append(f"'{self.row}'")
            if self.line is not None:
                parts.append(f"line {self.line}")
            where += " row " + " ".join(parts)
        if self.column:
            where += f", column '{self.column}'"
        text = f"{where}: {self.message}"
        if self.fix:
            text += f" Fix: {self.fix}"
        return text


class PlannerError(Exception):
    """Base class of the planner's own errors."""

    exit_code = EXIT_INTERNAL


class InputError(PlannerError):
    """The input is unusable; carries every problem found (exit code 2)."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem(table="input", message=problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        self._text: str | None = None
        count = len(self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the input")

    def __str__(self) -> str:
        """The message, rendered once when first shown (so a full list is written at most once)."""
        if self._text is None:
            self._text = self.render()
        return self._text

    def __reduce__(self):  # pickled with its problems (sweep workers send errors back)
        return (type(self), (self.problems,))

    def render(self) -> str:
        """One line per problem, at most :data:`MAX_SHOWN_PER_KIND` of each kind.

        Why: 20,000 duplicate rows printed 20,000 lines that no one reads. Beyond the cap, each
        kind ends with a count of the rest, and every problem is written to a new temporary
        file (``tempfile.mkstemp``: a fresh name in the system's temporary folder, so no file of
        the user's is ever overwritten) whose path the message names.
        """
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the input:"
        shown: dict[tuple[str, str], int] = {}
        lines = [head]
        for problem in self.problems:
            kind = _kind(problem)
            shown[kind] = shown.get(kind, 0) + 1
            if shown[kind] <= MAX_SHOWN_PER_KIND:
                lines.append(f"  - {problem}")
        over = {kind: n - MAX_SHOWN_PER_KIND for kind, n in shown.items()
                if n > MAX_SHOWN_PER_KIND}
        if not over:
            return "\n".join(lines)
        for (table, pattern), rest in over.items():
            lines.append(f"  … and {rest:,} more {table} problems like '{pattern}'")
        lines.append(f"  the full list of {count:,} problems: {self._write_full_list()}")
        return "\n".join(lines)

    def _write_full_list(self) -> str:
        try:
            handle, name = tempfile.mkstemp(prefix="planner-problems-", suffix=".txt")
            with open(handle, "w", encoding="utf-8") as out:
                out.writelines(f"{problem}\n" for problem in self.problems)
        except OSError as exc:
            return f"not written ({exc.strerror or exc})"
        return name


def _kind(problem: Problem) -> tuple[str, str]:
    """A problem's table and message with its particulars (quoted text, numbers) blanked, so
    that 'duplicate provider/service 'a/b'' and '... 'a/c'' are one kind."""
    return problem.table, re.sub(r"'[^']*'|-?\d[\d,.]*(e[+-]?\d+)?", "…", problem.message)


class VerificationError(PlannerError):
    """A solved plan broke a constraint when rechecked from the data: a bug (exit code 1)."""

    exit_code = EXIT_INTERNAL

    def __init__(self, violations: list[str]):
        self.violations = violations
        super().__init__(
            "the plan failed independent verification:\n"
            + "\n".join(f"  - {v}" for v in violations)
        )


class OutputError(PlannerError):
    """An output path is unsafe or cannot be written (exit code 2).

    Raised before any solving where possible, so a user never waits for a plan that would then
    be lost, and never has a folder of theirs replaced by one. The message names the path, says
    what is wrong and how to fix it.
    """

    exit_code = EXIT_BAD_INPUT

    def __init__(self, label: str, path: object, message: str, fix: str = ""):
        self.path = path
        text = f"{label} '{path}': {message}"
        if fix:
            text += f" Fix: {fix}"
        super().__init__(text)
