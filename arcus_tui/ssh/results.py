"""What a run on many hosts gives back: one `HostResult` per host, collected in a `RunResult`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable, Iterator, Mapping, Optional, Sequence

from arcus_tui.events import HostState

from .hostkeys import HostKeyQuestion


def last_said(lines: Sequence[str]) -> str:
    """The last non-blank line, stripped: what a failed command said last (its cause, usually)."""
    return next((line.strip() for line in reversed(lines) if line.strip()), "")


@dataclass(frozen=True)
class HostResult:
    host: str
    step: str
    state: HostState
    exit_status: Optional[int] = None
    stdout: str = ""
    stderr: str = ""
    duration: float = 0.0
    error: Optional[str] = None  # one sentence, never a traceback and never a password
    question: Optional[HostKeyQuestion] = None  # set when the host key is unknown (not accepted)

    @property
    def ok(self) -> bool:
        return self.state.succeeded


class RunResult(Mapping[str, HostResult]):
    """Per-host results of one step, in target order. `session.retry(result)` re-runs the failed hosts."""

    def __init__(self, step: str, results: Mapping[str, HostResult],
                 again: Optional[Callable[[Sequence[str]], Awaitable["RunResult"]]] = None):
        self.step = step
        self._results = dict(results)
        self._again = again

    def __getitem__(self, host: str) -> HostResult:
        return self._results[host]

    def __iter__(self) -> Iterator[str]:
        return iter(self._results)

    def __len__(self) -> int:
        return len(self._results)

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self._results.values())

    @property
    def failed(self) -> list[str]:
        return [host for host, result in self._results.items() if not result.ok]

    @property
    def succeeded(self) -> list[str]:
        return [host for host, result in self._results.items() if result.ok]

    @property
    def questions(self) -> list[HostKeyQuestion]:
        return [result.question for result in self._results.values() if result.question is not None]

    def merged(self, later: "RunResult") -> "RunResult":
        """These results with the hosts of `later` (a retry) replaced."""
        combined = dict(self._results)
        combined.update(later._results)
        return RunResult(self.step, combined, self._again)

    def __repr__(self) -> str:
        states = ", ".join(f"{host}={result.state.value}" for host, result in self._results.items())
        return f"RunResult({self.step!r}: {states})"
