"""ZooKeeper health over the client port: the four-letter words (docs/arcus.md#four-letter-words).

`srvr`, `ruok`, `mntr` on asyncio streams, every connect/read bounded by a timeout,
and `wait_for_quorum`, which polls `srvr` (not `stat`: the old tool's `stat` check
broke with ZooKeeper 3.5.5+, where unlisted words are refused) on every member at
once and reports each member's mode as it changes.
"""

from __future__ import annotations

import asyncio
import enum
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional, Sequence

from arcus_tui import tcp
from arcus_tui.events import EventSink, HostState, ProgressEvent, Stream, ignore_events

QUORUM_STEP = "zookeeper-quorum"
DEFAULT_CLIENT_PORT = 2181
DEFAULT_PROBE_TIMEOUT = 2.0
MAX_REPLY_BYTES = 1 << 20


class Mode(str, enum.Enum):
    LEADER = "leader"
    FOLLOWER = "follower"
    STANDALONE = "standalone"
    OBSERVER = "observer"
    READ_ONLY = "read-only"
    NOT_SERVING = "not-serving"  # process up, no quorum yet ("not currently serving requests")
    NOT_ALLOWED = "not-whitelisted"  # 4lw.commands.whitelist lacks the word
    UNREACHABLE = "unreachable"  # refused / timed out
    UNKNOWN = "unknown"  # answered something we could not read

    @property
    def serving(self) -> bool:
        return self in (Mode.LEADER, Mode.FOLLOWER, Mode.STANDALONE, Mode.OBSERVER, Mode.READ_ONLY)


class FourLetterError(RuntimeError):
    pass


class QuorumTimeout(TimeoutError):
    """No quorum by the deadline; ``members`` holds what each member said last."""

    def __init__(self, message: str, members: Sequence["MemberMode"]):
        super().__init__(message)
        self.members = tuple(members)


def split_member(member: str, default_port: int = DEFAULT_CLIENT_PORT) -> tuple[str, int]:
    """``host``, ``host:port`` or ``[v6]:port`` -> (host, port)."""
    member = member.strip()
    if member.startswith("["):
        host, _, rest = member[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default_port
    if member.count(":") == 1:
        host, port = member.split(":")
        return host, int(port)
    return member, default_port


def member_address(member: str, default_port: int = DEFAULT_CLIENT_PORT) -> str:
    host, port = split_member(member, default_port)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_ensemble(ensemble: str | Iterable[str]) -> list[str]:
    """``"a:2181,b:2181"`` or a list -> normalised ``host:port`` strings."""
    items = ensemble.split(",") if isinstance(ensemble, str) else list(ensemble)
    return [member_address(m) for m in items if m and m.strip()]


async def four_letter(host: str, port: int, word: str, *, timeout: float = DEFAULT_PROBE_TIMEOUT) -> str:
    """Send a four-letter word and return the whole reply (the server closes after it).

    ``timeout`` bounds the whole exchange. Raises `OSError` / `asyncio.TimeoutError`."""
    if len(word) != 4 or not word.isalpha():
        raise ValueError(f"not a four-letter word: {word!r}")

    async def exchange() -> str:
        async with tcp.connection(host, port) as (reader, writer):
            writer.write(word.encode("ascii"))
            await writer.drain()
            chunks: list[bytes] = []
            size = 0
            while size < MAX_REPLY_BYTES:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            return b"".join(chunks).decode("utf-8", "replace")

    return await asyncio.wait_for(exchange(), timeout)


@dataclass(frozen=True)
class SrvrInfo:
    mode: Mode
    version: Optional[str] = None
    zxid: Optional[int] = None
    node_count: Optional[int] = None
    connections: Optional[int] = None
    raw: str = ""


_NOT_SERVING = "not currently serving requests"
_NOT_ALLOWED = "is not executed because it is not in the whitelist"


def parse_srvr(text: str) -> SrvrInfo:
    """Parse a `srvr` reply (also works on `stat`)."""
    if _NOT_SERVING in text:
        return SrvrInfo(Mode.NOT_SERVING, raw=text)
    if _NOT_ALLOWED in text:
        return SrvrInfo(Mode.NOT_ALLOWED, raw=text)
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip().lower()] = value.strip()
    try:
        mode = Mode(fields.get("mode", ""))
    except ValueError:
        mode = Mode.UNKNOWN

    def as_int(key: str, base: int = 10) -> Optional[int]:
        try:
            return int(fields[key], base)
        except (KeyError, ValueError):
            return None

    version = fields.get("zookeeper version")
    if version:
        version = version.split(",")[0].strip()
    zxid = as_int("zxid", 16) if fields.get("zxid", "").lower().startswith("0x") else as_int("zxid")
    return SrvrInfo(
        mode=mode,
        version=version,
        zxid=zxid,
        node_count=as_int("node count"),
        connections=as_int("connections"),
        raw=text,
    )


def parse_mntr(text: str) -> dict[str, str]:
    """`mntr` lines are ``zk_key<TAB>value``."""
    result: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("\t")
        if sep and key.strip():
            result[key.strip()] = value.strip()
    return result


async def srvr(host: str, port: int = DEFAULT_CLIENT_PORT, *, timeout: float = DEFAULT_PROBE_TIMEOUT) -> SrvrInfo:
    return parse_srvr(await four_letter(host, port, "srvr", timeout=timeout))


async def ruok(host: str, port: int = DEFAULT_CLIENT_PORT, *, timeout: float = DEFAULT_PROBE_TIMEOUT) -> bool:
    """True when the server answers ``imok`` (it runs; says nothing about quorum)."""
    try:
        return (await four_letter(host, port, "ruok", timeout=timeout)).strip() == "imok"
    except (OSError, asyncio.TimeoutError):
        return False


async def mntr(host: str, port: int = DEFAULT_CLIENT_PORT, *, timeout: float = DEFAULT_PROBE_TIMEOUT) -> dict[str, str]:
    text = await four_letter(host, port, "mntr", timeout=timeout)
    if _NOT_ALLOWED in text:
        raise FourLetterError(f"{host}:{port}: mntr is not in 4lw.commands.whitelist")
    return parse_mntr(text)


@dataclass(frozen=True)
class MemberMode:
    """What one ensemble member said to `srvr`."""

    address: str
    mode: Mode
    info: Optional[SrvrInfo] = None
    error: str = ""
    time: float = field(default_factory=time.time)

    def describe(self) -> str:
        text = self.mode.value
        if self.info and self.info.zxid is not None and self.mode.serving:
            text += f" (zxid 0x{self.info.zxid:x}, {self.info.node_count} znodes)"
        if self.error:
            text += f": {self.error}"
        return text

    def to_json(self) -> dict:
        data = {"address": self.address, "mode": self.mode.value}
        if self.info:
            data.update(version=self.info.version, zxid=self.info.zxid, node_count=self.info.node_count)
        if self.error:
            data["error"] = self.error
        return data


async def probe_member(member: str, *, timeout: float = DEFAULT_PROBE_TIMEOUT) -> MemberMode:
    """`srvr` one member; never raises for network trouble (mode UNREACHABLE)."""
    address = member_address(member)
    host, port = split_member(address)
    try:
        info = await srvr(host, port, timeout=timeout)
    except asyncio.TimeoutError:
        return MemberMode(address, Mode.UNREACHABLE, error=f"no answer within {timeout:g} s")
    except OSError as exc:
        return MemberMode(address, Mode.UNREACHABLE, error=exc.strerror or str(exc))
    return MemberMode(address, info.mode, info)


async def probe_ensemble(members: str | Iterable[str], *, timeout: float = DEFAULT_PROBE_TIMEOUT) -> tuple[MemberMode, ...]:
    """`srvr` every member at once (for `status`: ``zookeeper[].{address,mode}``)."""
    return tuple(await asyncio.gather(*(probe_member(m, timeout=timeout) for m in parse_ensemble(members))))


def quorum_reached(modes: Sequence[MemberMode], *, require_all: bool = True) -> bool:
    """One leader and every other member a follower (or observer); a single member in
    standalone mode. With ``require_all`` False a leader plus a majority is enough."""
    if len(modes) == 1 and modes[0].mode is Mode.STANDALONE:
        return True
    leaders = [m for m in modes if m.mode is Mode.LEADER]
    followers = [m for m in modes if m.mode in (Mode.FOLLOWER, Mode.OBSERVER)]
    if len(leaders) != 1:
        return False
    if require_all:
        return len(followers) == len(modes) - 1
    return 1 + len(followers) > len(modes) // 2


@dataclass(frozen=True)
class QuorumResult:
    members: tuple[MemberMode, ...]
    elapsed: float
    polls: int

    @property
    def leader(self) -> Optional[str]:
        return next((m.address for m in self.members if m.mode in (Mode.LEADER, Mode.STANDALONE)), None)


async def wait_for_quorum(
    members: str | Iterable[str],
    deadline: float,
    on_event: EventSink = ignore_events,
    *,
    interval: float = 0.25,
    probe_timeout: float = DEFAULT_PROBE_TIMEOUT,
    require_all: bool = True,
    step: str = QUORUM_STEP,
    target_of: Callable[[str], str] = str,
) -> QuorumResult:
    """Poll `srvr` on every member concurrently until `quorum_reached`.

    ``deadline`` is the number of seconds to wait at most. Each member's mode is
    reported as a `ProgressEvent` (target ``target_of(member address)``: the caller
    that knows the hosts names the member's host; step ``zookeeper-quorum``)
    when it changes; at the end every member gets a final OK or FAILED state. Raises
    `QuorumTimeout` (with the last modes) when the deadline passes."""
    addresses = parse_ensemble(members)
    if not addresses:
        raise ValueError("no ZooKeeper members to wait for")
    loop = asyncio.get_running_loop()
    started = loop.time()
    end = started + max(0.0, float(deadline))
    max_polls = int(max(0.0, float(deadline)) / max(interval, 0.01)) + 2  # count bound besides time
    last: dict[str, Optional[Mode]] = {a: None for a in addresses}
    for address in addresses:
        on_event(ProgressEvent(target_of(address), step, text="waiting for a leader", state=HostState.RUNNING))

    polls = 0
    modes: tuple[MemberMode, ...] = ()
    while polls < max_polls:
        polls += 1
        remaining = end - loop.time()
        per_probe = max(0.05, min(probe_timeout, remaining))
        modes = tuple(await asyncio.gather(*(probe_member(a, timeout=per_probe) for a in addresses)))
        for m in modes:
            if m.mode is not last[m.address]:
                last[m.address] = m.mode
                on_event(ProgressEvent(target_of(m.address), step, Stream.INFO, f"mode: {m.describe()}"))
        if quorum_reached(modes, require_all=require_all):
            elapsed = loop.time() - started
            for m in modes:
                on_event(ProgressEvent(target_of(m.address), step, text=m.mode.value, state=HostState.OK,
                                       duration=elapsed))
            return QuorumResult(modes, elapsed, polls)
        remaining = end - loop.time()
        if remaining <= 0:
            break
        await asyncio.sleep(min(interval, remaining))

    elapsed = loop.time() - started
    summary = ", ".join(f"{m.address} {m.describe()}" for m in modes)
    for m in modes:
        on_event(
            ProgressEvent(
                target_of(m.address), step, Stream.STDERR, f"no quorum after {elapsed:.1f} s: {m.describe()}",
                state=HostState.FAILED, duration=elapsed,
            )
        )
    raise QuorumTimeout(f"ZooKeeper ensemble has no leader after {elapsed:.1f} s ({polls} polls): {summary}", modes)


__all__ = [
    "FourLetterError",
    "MemberMode",
    "Mode",
    "QUORUM_STEP",
    "QuorumResult",
    "QuorumTimeout",
    "SrvrInfo",
    "four_letter",
    "member_address",
    "mntr",
    "parse_ensemble",
    "parse_mntr",
    "parse_srvr",
    "probe_ensemble",
    "probe_member",
    "quorum_reached",
    "ruok",
    "split_member",
    "srvr",
    "wait_for_quorum",
]
