"""Machine-wide locks for local resources that one user at a time may hold
(the practice logins, the test sshd, a package cache entry): a file lock, waited for within a bound."""

from __future__ import annotations

import contextlib
import fcntl
import time
from pathlib import Path
from typing import Iterator


class LockTimeout(TimeoutError):
    """Someone else held the lock for longer than we were willing to wait."""


@contextlib.contextmanager
def held(lock_file: Path, timeout: float, what: str) -> Iterator[None]:
    with open(lock_file, "a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LockTimeout(f"{what} stayed in use for {timeout:g}s ({lock_file})") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
