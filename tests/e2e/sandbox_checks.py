"""What the end-to-end tests on the practice sandbox share: the CLI in-process, bounded waits,
and the ARCUS processes a practice login runs, found by /proc."""

from __future__ import annotations

import os
import time
from typing import Iterator

from arcus_tui.cli import main


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def cmdlines() -> Iterator[tuple[int, list[str]]]:
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = open(f"/proc/{entry}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        words = [word.decode(errors="replace") for word in argv if word]
        if words:
            yield int(entry), words


def node_processes(login_home: str) -> dict[int, list[int]]:
    """port -> pids of the arcus-memcached daemons running from one practice home (by /proc)."""
    found: dict[int, list[int]] = {}
    for pid, words in cmdlines():
        if words[0] == f"{login_home}/arcus/current/bin/memcached" and "-p" in words:
            found.setdefault(int(words[words.index("-p") + 1]), []).append(pid)
    return found
