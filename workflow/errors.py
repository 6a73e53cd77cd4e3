"""One exception tree; each class carries the exit code SPEC.md gives it.

The CLI prints ``Error: <str(err)>`` as the first stderr line and ``err.details`` after it,
then exits with ``err.exit_code``. Nothing here formats for a terminal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


class WorkflowError(Exception):
    """Root of every error the engine raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []

    def __str__(self) -> str:
        return self.message


class UsageError(WorkflowError):
    """The command line itself is wrong (an option value that cannot be read)."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a definition file, with where it is."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


def _more_problems(more: int) -> str:
    return f"(and {more} more problem{'s' * (more > 1)})"


class DefinitionError(WorkflowError):
    """A definition file is invalid. Carries every problem found, not only the first.

    ``more`` words "(and 2 more problems)": the plan layer passes it in the interface's
    language (``workflow.i18n`` imports this module, so this one cannot import it)."""

    exit_code = 3

    def __init__(self, problems: list[Problem], *,
                 more: Callable[[int], str] = _more_problems) -> None:
        self.problems = problems
        first = str(problems[0])
        message = first if len(problems) == 1 else f"{first} {more(len(problems) - 1)}"
        super().__init__(message, details=[str(p) for p in problems[1:]])


class MoveRefusedError(WorkflowError):
    """A move broke a rule: wrong state, open dependency, not permitted, note missing."""

    exit_code = 4


class NotFoundError(WorkflowError):
    """A plan, task, agency or file does not exist."""

    exit_code = 5


class ConflictError(WorkflowError):
    """The task changed under the caller, or the stored plan differs from the file."""

    exit_code = 6


class AuditError(WorkflowError):
    """The history failed verification."""

    exit_code = 7


class StoreError(WorkflowError):
    """The database could not be used (unreachable, refused a write, unknown schema).

    Not a bug, so not exit 1: SPEC.md's table stops at 7, and 8 is ours for this (README).
    """

    exit_code = 8


class InvalidFilesError(WorkflowError):
    """``workflow validate``: some files are invalid (exit 3) or missing (exit 5); the first
    problem is the message, every other one a detail."""

    def __init__(self, problems: list[str], exit_code: int) -> None:
        super().__init__(problems[0], details=problems[1:])
        self.exit_code = exit_code


class DocumentError(WorkflowError):
    """A document given to import cannot be read, or holds no plan that can be read."""

    exit_code = 3
