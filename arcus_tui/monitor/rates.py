"""Rates from two successive memcached `stats` samples, and a node's short history.

memcached's counters (`cmd_get`, `cmd_set`, `get_hits`, `get_misses`, `evictions`)
only grow while the process lives; a restart starts them at 0 again. Two samples
therefore give per-second rates over the interval between them, unless the node
restarted in between (its `uptime` went back, or a counter went down): then that
interval has no rate (None), never a huge negative one. Pure functions, no I/O.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from typing import Iterable, Optional

from .memcached_stats import MemcachedStats

COUNTERS = ("cmd_get", "cmd_set", "get_hits", "get_misses", "evictions")
HISTORY_LENGTH = 30
"""Samples kept per node for its sparkline: a minute and a half at the default 3 s."""

SPARK_BLOCKS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class NodeRates:
    """What changed on one node between two samples, and its gauges now."""

    seconds: float  # length of the interval the rates cover (0 for a first sample)
    get_per_s: Optional[float] = None
    set_per_s: Optional[float] = None
    hit_ratio: Optional[float] = None  # hits / (hits + misses) over the interval; None without gets
    evictions_per_s: Optional[float] = None
    connections: Optional[int] = None
    max_connections: Optional[int] = None  # `stats settings` maxconns, else the cluster's setting
    memory_used: Optional[int] = None
    memory_limit: Optional[int] = None
    restarted: bool = False  # the counters went back: the node restarted in the interval

    @property
    def connection_ratio(self) -> Optional[float]:
        if self.connections is None or not self.max_connections:
            return None
        return self.connections / self.max_connections

    @property
    def memory_ratio(self) -> Optional[float]:
        if self.memory_used is None or not self.memory_limit:
            return None
        return self.memory_used / self.memory_limit


def _counter(stats: MemcachedStats, name: str) -> Optional[int]:
    try:
        return int(stats.raw[name])
    except (KeyError, ValueError):
        return None


def restarted_between(previous: MemcachedStats, current: MemcachedStats) -> bool:
    """The node restarted between the samples: its uptime went back or a counter went down."""
    if previous.uptime is not None and current.uptime is not None and current.uptime < previous.uptime:
        return True
    for name in COUNTERS:
        before, now = _counter(previous, name), _counter(current, name)
        if before is not None and now is not None and now < before:
            return True
    return False


def _delta(previous: MemcachedStats, current: MemcachedStats, name: str) -> Optional[int]:
    before, now = _counter(previous, name), _counter(current, name)
    if before is None or now is None:
        return None
    return now - before


def _per_second(delta: Optional[int], seconds: float) -> Optional[float]:
    return None if delta is None else delta / seconds


def gauges(current: MemcachedStats, max_connections: Optional[int] = None) -> NodeRates:
    """The gauges of one sample alone (a first sample, or the sample after a restart)."""
    # arcus-memcached's `stats` gives the running limit itself (also after a live `config maxconns`)
    maxconns = _counter(current, "limit_maxconns") or _counter(current, "maxconns") or max_connections
    return NodeRates(0.0, connections=current.curr_connections, max_connections=maxconns,
                     memory_used=current.bytes, memory_limit=current.limit_maxbytes)


def rates_between(previous: Optional[MemcachedStats], current: MemcachedStats, seconds: float,
                  max_connections: Optional[int] = None) -> NodeRates:
    """Rates over the `seconds` between two samples of one node, plus its gauges now.

    No previous sample, a non-positive interval or a restart in between: gauges only."""
    now = gauges(current, max_connections)
    if previous is None or seconds <= 0:
        return now
    if restarted_between(previous, current):
        return replace(now, restarted=True)
    hits, misses = _delta(previous, current, "get_hits"), _delta(previous, current, "get_misses")
    lookups = None if hits is None or misses is None else hits + misses
    return NodeRates(
        seconds,
        get_per_s=_per_second(_delta(previous, current, "cmd_get"), seconds),
        set_per_s=_per_second(_delta(previous, current, "cmd_set"), seconds),
        hit_ratio=hits / lookups if lookups else None,
        evictions_per_s=_per_second(_delta(previous, current, "evictions"), seconds),
        connections=now.connections, max_connections=now.max_connections,
        memory_used=now.memory_used, memory_limit=now.memory_limit,
    )


class History:
    """The last `length` values of one node (oldest first); older ones fall off."""

    def __init__(self, length: int = HISTORY_LENGTH) -> None:
        self._values: deque[Optional[float]] = deque(maxlen=max(1, length))

    def add(self, value: Optional[float]) -> None:
        self._values.append(value)

    def values(self) -> tuple[Optional[float], ...]:
        return tuple(self._values)


def sparkline(values: Iterable[Optional[float]], width: Optional[int] = None) -> str:
    """▁▂▅█ blocks scaled to the largest value shown; a gap (None) is a space.

    All zeros draw the lowest block, so an idle node reads as idle, not as missing."""
    shown = list(values)
    if width is not None:
        shown = shown[-width:] if width > 0 else []
    top = max((value for value in shown if value is not None), default=0.0)
    top_index = len(SPARK_BLOCKS) - 1
    blocks = []
    for value in shown:
        if value is None:
            blocks.append(" ")
        elif top <= 0:
            blocks.append(SPARK_BLOCKS[0])
        else:
            blocks.append(SPARK_BLOCKS[min(top_index, max(0, round(value / top * top_index)))])
    return "".join(blocks)
