"""What the end-to-end tests on the practice sandbox share: the CLI in-process and the ARCUS
processes a practice login runs, found by /proc. (Bounded waits: `tests/waits.py`.)"""

from __future__ import annotations

import os
from typing import Iterator

from arcus_tui.cli import main


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


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
