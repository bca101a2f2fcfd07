"""memcached admin commands over TCP: one command line to one node, or to many at once.

arcus-memcached's admin replies have no single shape (docs/ascii-protocol ch12 and
memcached.c of 1.15.0): `stats ...` ends with ``END`` (or ``END [curtime=...]``),
`config <name>` answers ``<name> <value>`` then ``END`` and a change answers ``END``,
`flush_all` ``OK``, `stats reset` ``RESET``, and `help`, `cmdlog stats`,
`lqdetect show|stats` and `zkensemble get` answer free text with no end marker.
So the command is sent followed by ``version``: memcached answers in order, and the
``VERSION ...`` line that comes back last marks the end of any reply, without guessing
from silence. A command that carries a data block (`set`, `lop insert`, ...) would
swallow that ``version`` as its data: such commands are refused, always (this is an
admin tool, not a data client).

Every exchange is bounded: `timeout` seconds for the whole of it and `max_bytes` of
reply; the loopback guard (`arcus_tui.netguard`) is asked before connecting.
`run_on_nodes` asks many nodes at once, at most `concurrency` at a time, and never
raises for one node's trouble.

`is_read_only_command` is an ALLOWLIST of commands that only read: anything it does
not know counts as writing, and callers refuse it unless writes were allowed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Iterable, Optional

from arcus_tui import netguard, tcp

from .memcached_stats import explain, split_endpoint

DEFAULT_TIMEOUT = 5.0
DEFAULT_CONCURRENCY = 64
"""Nodes asked at the same time; 200+ nodes go in waves, never 200 sockets at once."""
MAX_REPLY_BYTES = 4 << 20
"""`stats detail dump` of many prefixes is the longest admin reply; 4 MB is far past it."""
MAX_COMMAND_LENGTH = 2048
"""memcached reads a command line of at most 2048 bytes (KEY_MAX_LENGTH and tokens)."""

SENTINEL = b"version\r\n"
ERROR_PREFIXES = ("ERROR", "CLIENT_ERROR", "SERVER_ERROR")

DATA_BLOCK_COMMANDS = frozenset({"set", "add", "replace", "append", "prepend", "cas", "mget"})
DATA_BLOCK_COLLECTION_OPS = {
    "lop": frozenset({"insert"}),
    "sop": frozenset({"insert", "delete", "exist"}),
    "mop": frozenset({"insert", "upsert", "update", "delete", "get"}),
    "bop": frozenset({"insert", "upsert", "update", "mget", "smget"}),
    "sasl": frozenset({"auth"}),
}
"""Commands followed by a data block (value, element, key or field list) in the protocol."""

READ_ONLY_STATS = frozenset({"settings", "items", "slabs", "sizes", "prefixes", "prefixlist", "zookeeper",
                             "scrub", "cachedump", "aggregate", "topkeys", "dump", "persistence"})
"""`stats <group>` that only report. Not here: `stats reset`, `stats detail on|off`."""
READ_ONLY_SUBCOMMANDS = {
    "cmdlog": frozenset({"stats"}),
    "lqdetect": frozenset({"show", "stats"}),
    "zkensemble": frozenset({"get"}),
}


class AdminError(RuntimeError):
    """The node answered, but not something an admin reply can be (too long, no end)."""


def words(line: str) -> list[str]:
    return line.split()


def command_problem(line: str) -> Optional[str]:
    """Why `line` cannot be sent as one admin command; None when it can."""
    if not line.strip():
        return "the command is empty"
    if any(ord(c) < 32 or ord(c) == 127 for c in line):
        return "one command line only: control characters and newlines are refused"
    if not line.isascii():
        return "memcached commands are ASCII: the command has other characters"
    if len(line) > MAX_COMMAND_LENGTH:
        return f"the command is longer than {MAX_COMMAND_LENGTH} characters"
    parts = words(line)
    name = parts[0].lower()
    sub = parts[1].lower() if len(parts) > 1 else ""
    if name in DATA_BLOCK_COMMANDS or sub in DATA_BLOCK_COLLECTION_OPS.get(name, ()):
        shown = f"{name} {sub}" if name in DATA_BLOCK_COLLECTION_OPS else name
        return f"`{shown}` carries a data block after the command line; only one-line admin commands are sent"
    return None


def is_read_only_command(line: str) -> bool:
    """True only for commands known to read and change nothing (allowlist): `stats` and its
    reporting groups, `stats detail dump`, `version`, `help [topic]`, `config <name>` without
    a value, `cmdlog stats`, `lqdetect show|stats`, `zkensemble get`. Anything else, even
    an unknown or misspelt command, counts as writing."""
    if command_problem(line) is not None:
        return False
    parts = words(line)  # memcached's own words are case-sensitive: `STATS` is not `stats`
    name, rest = parts[0], parts[1:]
    if name == "stats":
        return not rest or rest[0] in READ_ONLY_STATS or rest == ["detail", "dump"]
    if name == "version":
        return not rest
    if name == "help":
        return len(rest) <= 1
    if name == "config":
        return len(rest) == 1
    allowed = READ_ONLY_SUBCOMMANDS.get(name)
    return allowed is not None and len(rest) == 1 and rest[0] in allowed


@dataclass(frozen=True)
class AdminReply:
    """One node's answer: its reply lines, or why there is none (`problem`)."""

    endpoint: str
    lines: tuple[str, ...] = ()
    problem: str = ""  # empty when the node answered
    closed: bool = False  # the node closed the connection before the reply's end (quit, shutdown)

    @property
    def answered(self) -> bool:
        return not self.problem

    @property
    def error(self) -> Optional[str]:
        """The node's error line (ERROR, CLIENT_ERROR, SERVER_ERROR ...), if it refused."""
        return next((line for line in self.lines if line.startswith(ERROR_PREFIXES)), None)

    @property
    def ok(self) -> bool:
        return self.answered and self.error is None

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def summary(self) -> str:
        """One line for a table cell: the problem, the error, or the reply's first line."""
        if self.problem:
            return self.problem
        if self.error:
            return self.error
        if not self.lines:
            return "(no reply)"
        more = f"  (+{len(self.lines) - 1} lines)" if len(self.lines) > 1 else ""
        return self.lines[0] + more

    def to_json(self) -> dict:
        return {"node": self.endpoint, "ok": self.ok, "lines": list(self.lines), "error": self.error,
                "problem": self.problem or None}


def _wire(line: str, sentinel: bool) -> bytes:
    return line.strip().encode("ascii") + b"\r\n" + (SENTINEL if sentinel else b"")


def _needs_sentinel(line: str) -> bool:
    """`version` answers one line itself; `quit` and `shutdown` close the connection."""
    return words(line)[0] not in ("version", "quit", "shutdown")


async def _read_reply(reader: asyncio.StreamReader, sentinel: bool, max_bytes: int,
                      endpoint: str) -> tuple[list[str], bool]:
    """Reply lines up to the sentinel's ``VERSION`` line (or, without one, the first line);
    and whether the node closed the connection first."""
    lines: list[str] = []
    size = 0
    while True:
        raw = await reader.readline()
        if not raw:
            return lines, True
        size += len(raw)
        if size > max_bytes:
            raise AdminError(f"reply from {endpoint} longer than {max_bytes} bytes")
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if sentinel and line.startswith("VERSION "):
            return lines, False
        lines.append(line)
        if not sentinel:
            return lines, False


async def send_command(endpoint: str, line: str, *, timeout: float = DEFAULT_TIMEOUT,
                       max_bytes: int = MAX_REPLY_BYTES) -> AdminReply:
    """Send one admin command line to the node at `endpoint` (``ip:port``) and read its whole
    reply. Never raises for the node's trouble: an unreachable node, a timeout, a reply that
    is too long come back as `AdminReply.problem`. Raises ValueError for a command that
    `command_problem` refuses (the caller checks first)."""
    problem = command_problem(line)
    if problem:
        raise ValueError(problem)
    sentinel = _needs_sentinel(line)
    try:
        host, port = split_endpoint(endpoint)
        netguard.check(host)

        async def exchange() -> tuple[list[str], bool]:
            async with tcp.connection(host, port) as (reader, writer):
                writer.write(_wire(line, sentinel))
                await writer.drain()
                return await _read_reply(reader, sentinel, max_bytes, endpoint)

        lines, closed = await asyncio.wait_for(exchange(), timeout)
    except (OSError, asyncio.TimeoutError, AdminError, ValueError) as error:
        return AdminReply(endpoint, problem=explain(error, timeout))
    while lines and not lines[-1].strip():
        lines.pop()  # `help` ends its text with an empty line
    if closed and sentinel:  # quit and shutdown close on purpose; anything else was cut short
        return AdminReply(endpoint, tuple(lines), problem="the node closed the connection before its reply ended",
                          closed=True)
    return AdminReply(endpoint, tuple(lines), closed=closed)


async def run_on_nodes(endpoints: Iterable[str], line: str, *, timeout: float = DEFAULT_TIMEOUT,
                       concurrency: int = DEFAULT_CONCURRENCY,
                       max_bytes: int = MAX_REPLY_BYTES) -> dict[str, AdminReply]:
    """`line` on every node, at most `concurrency` at a time: endpoint -> `AdminReply`, in
    the order given (duplicates asked once)."""
    problem = command_problem(line)
    if problem:
        raise ValueError(problem)
    wanted = list(dict.fromkeys(endpoints))
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(endpoint: str) -> AdminReply:
        async with gate:
            return await send_command(endpoint, line, timeout=timeout, max_bytes=max_bytes)

    replies = await asyncio.gather(*(one(endpoint) for endpoint in wanted))
    return dict(zip(wanted, replies))


def counts(replies: Iterable[AdminReply]) -> tuple[int, int, int]:
    """(ok, failed: no answer, refused: the node answered with an error line)."""
    replies = list(replies)
    ok = sum(1 for r in replies if r.ok)
    failed = sum(1 for r in replies if not r.answered)
    return ok, failed, len(replies) - ok - failed


def summary_line(replies: Iterable[AdminReply]) -> str:
    replies = list(replies)
    ok, failed, refused = counts(replies)
    return f"{ok} ok, {failed} failed, {refused} refused (of {len(replies)} node(s))"


def reply_state(reply: AdminReply) -> str:
    return "ok" if reply.ok else "failed" if not reply.answered else "refused"


def config_value(reply: AdminReply, name: str) -> Optional[str]:
    """The value in a `config <name>` reply (``<name> <value>`` then ``END``)."""
    for line in reply.lines:
        key, _, value = line.partition(" ")
        if key == name and value:
            return value.strip()
    return None


__all__ = [
    "AdminError",
    "AdminReply",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_TIMEOUT",
    "command_problem",
    "config_value",
    "counts",
    "is_read_only_command",
    "reply_state",
    "run_on_nodes",
    "send_command",
    "summary_line",
]
