"""memcached `stats` over TCP (docs/arcus.md#reading-a-node), for the monitor.

One request per node: connect, send ``stats\\r\\n``, read ``STAT <name> <value>``
lines until ``END``. Every exchange is bounded by a timeout and the loopback guard
(`arcus_tui.netguard`) is asked before any connection is opened. Reads only: the
one command sent is ``stats``. Works with stock memcached and arcus-memcached alike
(both answer the same text protocol).

`fetch_many` asks every node at once and never raises for one node's trouble: a
node that cannot be read comes back as a `StatsUnavailable` with the reason.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional, Union

from arcus_tui import netguard, tcp

DEFAULT_TIMEOUT = 2.0
MAX_REPLY_BYTES = 1 << 20
"""A `stats` reply is about 2 KB; anything past this is not memcached talking."""


class StatsError(RuntimeError):
    """memcached answered, but not with a `stats` reply (ERROR, SERVER_ERROR, garbage...)."""


def split_endpoint(endpoint: str) -> tuple[str, int]:
    """``ip:port``, ``host:port`` or ``[v6]:port`` -> (host, port)."""
    endpoint = endpoint.strip()
    if endpoint.startswith("["):
        host, _, rest = endpoint[1:].partition("]")
        if not rest.startswith(":"):
            raise ValueError(f"no port in {endpoint!r}")
        return host, int(rest[1:])
    host, sep, port = endpoint.rpartition(":")
    if not sep or not host:
        raise ValueError(f"no port in {endpoint!r}")
    return host, int(port)


def parse_stats(text: str) -> dict[str, str]:
    """``STAT name value`` lines -> {name: value}, up to ``END``. Raises `StatsError`
    for an error reply or a reply without ``END``."""
    result: dict[str, str] = {}
    for line in text.splitlines():
        line = line.rstrip("\r")
        if line == "END":
            return result
        if line.startswith("STAT "):
            _, name, *value = line.split(" ", 2)
            result[name] = value[0] if value else ""
        elif line.startswith(("ERROR", "CLIENT_ERROR", "SERVER_ERROR")):
            raise StatsError(f"memcached answered {line.strip()!r} to stats")
        elif line:
            raise StatsError(f"not a stats reply: {line[:60]!r}")
    raise StatsError("the stats reply ended before END")


def _int(raw: Mapping[str, str], name: str) -> Optional[int]:
    try:
        return int(raw[name])
    except (KeyError, ValueError):
        return None


@dataclass(frozen=True)
class MemcachedStats:
    """One node's `stats` reply; the numbers the monitor shows are properties."""

    endpoint: str
    raw: Mapping[str, str] = field(default_factory=dict)

    @property
    def version(self) -> Optional[str]:
        return self.raw.get("version")

    @property
    def uptime(self) -> Optional[int]:
        return _int(self.raw, "uptime")

    @property
    def curr_connections(self) -> Optional[int]:
        return _int(self.raw, "curr_connections")

    @property
    def curr_items(self) -> Optional[int]:
        return _int(self.raw, "curr_items")

    @property
    def cmd_get(self) -> Optional[int]:
        return _int(self.raw, "cmd_get")

    @property
    def get_hits(self) -> Optional[int]:
        return _int(self.raw, "get_hits")

    @property
    def get_misses(self) -> Optional[int]:
        return _int(self.raw, "get_misses")

    @property
    def bytes(self) -> Optional[int]:
        return _int(self.raw, "bytes")

    @property
    def limit_maxbytes(self) -> Optional[int]:
        return _int(self.raw, "limit_maxbytes")

    @property
    def evictions(self) -> Optional[int]:
        return _int(self.raw, "evictions")

    @property
    def hit_ratio(self) -> Optional[float]:
        """get_hits / (get_hits + get_misses); None before the first get."""
        hits, misses = self.get_hits, self.get_misses
        if hits is None or misses is None or hits + misses == 0:
            return None
        return hits / (hits + misses)

    @property
    def memory_ratio(self) -> Optional[float]:
        """bytes / limit_maxbytes; None when either is missing or the limit is 0."""
        used, limit = self.bytes, self.limit_maxbytes
        if used is None or not limit:
            return None
        return used / limit


@dataclass(frozen=True)
class StatsUnavailable:
    """A node whose stats could not be read, and why (for an operator)."""

    endpoint: str
    reason: str


StatsReading = Union[MemcachedStats, StatsUnavailable]


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, command: bytes,
                    endpoint: str) -> MemcachedStats:
    """Send one `stats` command on an open connection and read its whole reply."""
    writer.write(command)
    await writer.drain()
    lines: list[bytes] = []
    size = 0
    while True:
        line = await reader.readline()
        if not line:
            break  # closed: parse_stats reports the missing END
        lines.append(line)
        size += len(line)
        if line.rstrip(b"\r\n") in (b"END", b"ERROR") or line.startswith((b"CLIENT_ERROR", b"SERVER_ERROR")):
            break
        if size > MAX_REPLY_BYTES:
            raise StatsError(f"stats reply from {endpoint} longer than {MAX_REPLY_BYTES} bytes")
    return MemcachedStats(endpoint, parse_stats(b"".join(lines).decode("utf-8", "replace")))


def _command(group: str) -> bytes:
    return f"stats {group}".strip().encode() + b"\r\n"


async def fetch_stats(endpoint: str, *, timeout: float = DEFAULT_TIMEOUT, group: str = "") -> MemcachedStats:
    """`stats` (or `stats <group>`, e.g. arcus-memcached's `zookeeper`) of the node at
    ``endpoint`` (``ip:port``). ``timeout`` bounds the whole exchange. Raises
    `netguard.NonLoopbackTarget` (before connecting), `OSError`, `asyncio.TimeoutError`
    or `StatsError`."""
    host, port = split_endpoint(endpoint)

    async def exchange() -> MemcachedStats:
        async with tcp.connection(host, port) as (reader, writer):
            return await _exchange(reader, writer, _command(group), endpoint)

    return await asyncio.wait_for(exchange(), timeout)


class StatsClient:
    """`stats` of many nodes over ONE kept TCP connection per node, for a monitor that asks
    every few seconds: no connect and close per poll. A connection that fails or times out
    is dropped (never reused half-read) and opened again at the next ask, once."""

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout
        self.connects = 0  # connections opened, for tests and the benchmark
        self._connections: dict[str, tuple[asyncio.StreamReader, asyncio.StreamWriter]] = {}

    async def fetch(self, endpoint: str, *, group: str = "") -> MemcachedStats:
        """Like `fetch_stats`, over this client's connection to the node."""
        try:
            return await asyncio.wait_for(self._fetch(endpoint, _command(group)), self.timeout)
        except BaseException:
            self._drop(endpoint)
            raise

    async def _fetch(self, endpoint: str, command: bytes) -> MemcachedStats:
        connection = self._connections.get(endpoint)
        if connection is None or connection[1].is_closing():
            host, port = split_endpoint(endpoint)
            netguard.check(host)
            connection = self._connections[endpoint] = await asyncio.open_connection(host, port)
            self.connects += 1
        return await _exchange(*connection, command, endpoint)

    async def fetch_many(self, addresses: Iterable[str]) -> dict[str, StatsReading]:
        """`stats` of every node at once: endpoint -> `MemcachedStats` or `StatsUnavailable`."""
        return await _each(addresses, self.fetch, self.timeout)

    def _drop(self, endpoint: str) -> None:
        connection = self._connections.pop(endpoint, None)
        if connection is not None:
            connection[1].close()

    async def close(self) -> None:
        for endpoint in list(self._connections):
            self._drop(endpoint)
        await asyncio.sleep(0)  # let the transports close


def explain(error: BaseException, timeout: float = DEFAULT_TIMEOUT) -> str:
    """A short reason for an operator ("connection refused", "no answer within 2 s")."""
    if isinstance(error, asyncio.TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(error, netguard.NonLoopbackTarget):
        return str(error)
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, OSError):
        return error.strerror or str(error) or type(error).__name__
    return str(error) or type(error).__name__


async def fetch_many(addresses: Iterable[str], *, timeout: float = DEFAULT_TIMEOUT) -> dict[str, StatsReading]:
    """`stats` of every node at once: endpoint -> `MemcachedStats` or `StatsUnavailable`."""
    return await _each(addresses, lambda endpoint: fetch_stats(endpoint, timeout=timeout), timeout)


async def _each(addresses: Iterable[str], fetch, timeout: float) -> dict[str, StatsReading]:
    wanted = list(dict.fromkeys(addresses))

    async def one(endpoint: str) -> StatsReading:
        try:
            return await fetch(endpoint)
        except (OSError, asyncio.TimeoutError, StatsError, ValueError) as error:
            return StatsUnavailable(endpoint, explain(error, timeout))

    readings = await asyncio.gather(*(one(endpoint) for endpoint in wanted))
    return dict(zip(wanted, readings))


# -- formatting for screens and verbs (plain strings, no UI) ---------------------------


def human_bytes(value: Optional[int]) -> str:
    """1536 -> '1.5K', 104857600 -> '100M' (binary units, as memcached's -m)."""
    if value is None:
        return "-"
    amount = float(value)
    for unit in ("B", "K", "M", "G", "T"):
        if abs(amount) < 1024 or unit == "T":
            if unit == "B":
                return f"{int(amount)}B"
            return f"{amount:.1f}{unit}".replace(".0" + unit, unit)
        amount /= 1024
    return f"{value}B"  # pragma: no cover - the loop always returns


def human_duration(seconds: Optional[int]) -> str:
    """Uptime as '45s', '12m 5s', '3h 4m', '2d 3h'."""
    if seconds is None:
        return "-"
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


__all__ = [
    "DEFAULT_TIMEOUT",
    "MemcachedStats",
    "StatsClient",
    "StatsError",
    "StatsReading",
    "StatsUnavailable",
    "explain",
    "fetch_many",
    "fetch_stats",
    "human_bytes",
    "human_duration",
    "parse_stats",
    "split_endpoint",
]
