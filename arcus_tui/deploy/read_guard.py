"""Read-only SSH for the setup probe: a host handle that can only run commands that read.

`RegistrySession(read_only=True)` refuses every ZooKeeper write; SSH has no such switch,
so the probe gets a `ReadOnlyHost` instead of a `HostWork`: it has `capture` and nothing
else (no `exec`, no SFTP), and every command it is given must pass `read_only_refusal`
before it is sent. The check is deliberately narrow, made for the commands the plan's
checks use (`test`, `cat`, `sha256sum`, `kill -0`, `ps`, `grep`, `tr`, `printf`, `case`):
no output redirection but to /dev/null or between descriptors, no program that changes
files or processes, no shell that could run hidden text, no program named by its path.
"""

from __future__ import annotations

import re
from typing import Optional

from arcus_tui.ssh.session import HostWork


class ReadOnlyCommandError(PermissionError):
    """The probe was about to send a command that might write: nothing was sent."""


WRITERS = frozenset({
    "rm", "rmdir", "mv", "cp", "mkdir", "touch", "tee", "chmod", "chown", "chgrp", "ln", "dd", "truncate",
    "install", "tar", "unzip", "mktemp", "sync", "shred", "pkill", "killall", "nohup", "setsid", "sudo",
    "su", "sh", "bash", "dash", "zsh", "ksh", "csh", "eval", "exec", "source", "crontab", "systemctl",
    "service", "java", "python", "python3", "perl", "awk", "sed", "zkServer.sh", "memcached", "scp",
    "rsync", "curl", "wget", "nc", "trap",
})
"""Programs (and shell words) a probe command never names: each can change a file or a process
or run text the check cannot see."""

_SINGLE_QUOTED = re.compile(r"'[^']*'")
_REDIRECTION = re.compile(r"(\d*)(>>?)(&?)\s*([^\s;&|)\"]*)")
_WORD = re.compile(r"(?<![\w./$-])[A-Za-z_][\w.+-]*")
_COMMAND_START = re.compile(r"(?:^|[;&|(!{`\n]|\$\(|\bthen\b|\bdo\b|\belse\b)\s*([~/.][^\s;&|)]*)")


def read_only_refusal(command: str) -> Optional[str]:
    """Why `command` might write (a sentence), or None when it only reads."""
    text = _SINGLE_QUOTED.sub("''", command)  # literal text runs nothing (a case pattern, a tr set)
    for match in _REDIRECTION.finditer(text):
        fd, arrow, dup, target = match.groups()
        if arrow == ">" and (target == "/dev/null" or dup):
            continue  # discarded output, or one descriptor onto another
        return f"writes a file ({match.group(0).strip()})"
    for word in _WORD.findall(text):
        if word in WRITERS:
            return f"runs {word}"
    for match in re.finditer(r"\bkill\b\s*(\S*)", text):
        if match.group(1) != "-0":
            return "sends a signal (only kill -0, which asks whether a process lives, reads)"
    for match in re.finditer(r"\bxargs\b((?:\s+-\S+)*)\s+(\S+)", text):
        if match.group(2) != "sha256sum":
            return f"runs {match.group(2)} through xargs"
    started = _COMMAND_START.search(text)
    if started:
        return f"runs the program {started.group(1)}"
    return None


class ReadOnlyHost:
    """One host of the probe: `capture` of commands that read, nothing else."""

    def __init__(self, work: HostWork):
        self._work = work

    @property
    def name(self) -> str:
        return self._work.name

    async def capture(self, command: str, *, input: Optional[str] = None, timeout=None) -> tuple:
        """(exit status, stdout, stderr); refuses a command that might write, sending nothing."""
        refusal = read_only_refusal(command)
        if refusal is not None:
            raise ReadOnlyCommandError(f"read-only probe: not sent, the command {refusal}")
        if timeout is None:
            return await self._work.capture(command, input=input)
        return await self._work.capture(command, input=input, timeout=timeout)
