"""The one progress event the engine emits and the UI and headless verbs consume.

Every layer below the UI (ssh, zk, deploy) reports what happens as a stream of
`ProgressEvent`s: a line of output from a host, or a change of a host's state in
a step. Consumers are plain callables, so the engine never knows who listens.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

GATEWAY = "gateway"
"""Host name used for work done on the gateway itself (e.g. making the SSH key)."""


class Stream(str, enum.Enum):
    STDOUT = "stdout"
    STDERR = "stderr"
    INFO = "info"  # engine's own narration: "connecting", "uploaded 3 files", ...


class HostState(str, enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    OK = "ok"
    ALREADY_DONE = "already-done"  # idempotent step found nothing to change
    FAILED = "failed"
    SKIPPED = "skipped"  # not run because a step it depends on failed on this host
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self not in (HostState.PENDING, HostState.RUNNING)

    @property
    def succeeded(self) -> bool:
        return self in (HostState.OK, HostState.ALREADY_DONE)


@dataclass(frozen=True)
class ProgressEvent:
    """A line of output (`text` set) or a state change (`state` set) of one host in one step."""

    host: str
    step: str
    stream: Stream = Stream.INFO
    text: str = ""
    state: Optional[HostState] = None
    exit_status: Optional[int] = None
    duration: Optional[float] = None  # seconds, on finished states
    time: float = field(default_factory=time.time)

    @property
    def is_line(self) -> bool:
        return self.state is None


EventSink = Callable[[ProgressEvent], None]


def ignore_events(event: ProgressEvent) -> None:
    """An `EventSink` for callers that only want the final results."""
