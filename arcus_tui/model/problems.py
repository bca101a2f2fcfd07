"""Problems found in a cluster file, reported as `FILE:LINE: message`."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    line: int
    message: str
    severity: Severity = Severity.ERROR

    def format(self, source: str) -> str:
        prefix = "warning: " if self.severity is Severity.WARNING else ""
        return f"{source}:{self.line}: {prefix}{self.message}"


class ClusterFileError(Exception):
    """A cluster file that cannot be used; carries every problem found, not just the first."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems
        super().__init__("\n".join(p.format(source) for p in problems))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]
