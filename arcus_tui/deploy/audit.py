"""The audit trail of a run: one JSON line per command run on a server, and per state change.

Every setup, retry, teardown, start or stop run, in the app or headless, is written to
`$XDG_STATE_HOME/arcus-tui/runs/<time>-<kind>-<service code>.jsonl` (default state home
`~/.local/state`): when each command ran, on which host and in which step, the command as
sent (the password masked by the SSH session), its exit status or why it has none, and
each target's state changes with their message. The file is the operator's own (0600 in a
0700 folder). A trail that cannot be written is reported once and the run goes on.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import re
import time
from pathlib import Path
from typing import IO, Mapping, Optional, Sequence

from arcus_tui.events import ProgressEvent
from arcus_tui.ssh.audit import CommandRecord

log = logging.getLogger(__name__)

FOLDER = Path("arcus-tui") / "runs"


def audit_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Where run trails go: under the XDG state home."""
    state_home = environ.get("XDG_STATE_HOME") or ""
    base = Path(state_home) if Path(state_home).is_absolute() else Path.home() / ".local" / "state"
    return base / FOLDER


def _stamp(when: float) -> str:
    return datetime.datetime.fromtimestamp(when).astimezone().isoformat(timespec="milliseconds")


class AuditTrail:
    """An open run trail; `command` and `event` append to it, `finish` closes it."""

    def __init__(self, path: Path, stream: Optional[IO[str]]) -> None:
        self.path = path
        self._stream = stream
        self.problem: Optional[str] = None

    @classmethod
    def start(cls, kind: str, service_code: str, hosts: Sequence[str], *,
              directory: Optional[Path] = None) -> "AuditTrail":
        """Open a new trail for a run; on failure a trail that writes nothing and says why."""
        now = time.time()
        folder = directory or audit_dir()
        name = f"{time.strftime('%Y%m%d-%H%M%S', time.localtime(now))}-{kind}-{_safe(service_code)}.jsonl"
        path = folder / name
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            trail = cls(path, os.fdopen(descriptor, "a", encoding="utf-8"))
        except OSError as error:
            trail = cls(path, None)
            trail.problem = f"no audit trail for this run: cannot write {path}: {error.strerror or error}"
            log.warning("%s", trail.problem)
            return trail
        trail._write({"type": "run-start", "time": _stamp(now), "kind": kind, "service_code": service_code,
                      "hosts": list(hosts)})
        return trail

    def command(self, record: CommandRecord) -> None:
        """The SSH session's `on_command`."""
        self._write({"type": "command", "time": _stamp(record.started), "host": record.host, "step": record.step,
                     "command": record.command, "exit_status": record.exit_status, "signal": record.exit_signal,
                     "error": record.error, "duration": round(record.duration, 3)})

    def event(self, event: ProgressEvent) -> None:
        """State changes of the run (output lines stay in the app's log and the terminal)."""
        if event.state is None:
            return
        self._write({"type": "state", "time": _stamp(event.time), "host": event.host, "step": event.step,
                     "state": event.state.value, "exit_status": event.exit_status, "text": event.text,
                     "duration": None if event.duration is None else round(event.duration, 3)})

    def finish(self, ok: bool, error: str = "") -> None:
        self._write({"type": "run-end", "time": _stamp(time.time()), "ok": ok, "error": error})
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def _write(self, record: dict) -> None:
        if self._stream is None:
            return
        try:
            self._stream.write(json.dumps(record, ensure_ascii=False) + "\n")
            self._stream.flush()
        except (OSError, ValueError) as error:  # disk full, closed: stop trying, say it once
            self.problem = f"the audit trail {self.path} stopped: {getattr(error, 'strerror', None) or error}"
            log.warning("%s", self.problem)
            self._stream = None


def _safe(text: str) -> str:
    """A service code as part of a file name."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:64] or "run"
