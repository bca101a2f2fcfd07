"""Running one build command: output to the build log, bounded in time, stoppable with Ctrl-C.

Each command runs in its own process group (its own session), so Ctrl-C in the terminal reaches
only us; we then stop the whole group (make and every compiler it started) by its id, and the
interrupted build leaves nothing running behind it.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
from pathlib import Path
from typing import IO, Mapping, Optional, Sequence

GRACE_SECONDS = 5.0


class CommandFailed(Exception):
    """A command exited non-zero or ran out of time; the message says which and how."""


def run_logged(argv: Sequence[str], cwd: Path, log: IO[str], timeout: float,
               env: Optional[Mapping[str, str]] = None) -> None:
    log.write(f"\n$ {shlex.join(argv)}    # in {cwd}\n")
    log.flush()
    process = subprocess.Popen(list(argv), cwd=cwd, stdin=subprocess.DEVNULL, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True,
                               env=None if env is None else dict(env))
    try:
        status = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_group(process)
        raise CommandFailed(f"`{shlex.join(argv)}` ran longer than {timeout:g}s and was stopped") from None
    except BaseException:  # KeyboardInterrupt above all: stop what we started, then let it go on
        stop_group(process)
        raise
    if status != 0:
        raise CommandFailed(f"`{shlex.join(argv)}` exited with status {status}")


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM the command's process group, SIGKILL it if it is still there after a grace period."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)  # the group we created: its id is the command's pid
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=GRACE_SECONDS)
            break
        except subprocess.TimeoutExpired:
            continue
    # children that outlived the leader are still in the group: one last sweep
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
