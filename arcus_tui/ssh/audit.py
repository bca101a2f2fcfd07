"""What an SSH session tells an audit trail: each command it ran on a server, and how it ended.

The session calls its `on_command` observer once per command, after it ended (or failed
to), with the command as sent, the password (if any) masked. The deploy layer writes these
records to a run's audit file (`deploy/audit.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional


@dataclass(frozen=True)
class CommandRecord:
    host: str
    step: str
    command: str
    started: float  # wall-clock time.time()
    duration: float
    exit_status: Optional[int] = None
    exit_signal: Optional[str] = None
    error: Optional[str] = None  # the channel could not be opened, timed out, the connection dropped


CommandObserver = Callable[[CommandRecord], None]
