"""Capacity, like arcus_cmd.py -i: memory and connections in use against their limits, per
node, per host and for the whole cluster. Pure sums over readings; no I/O but `collect_capacity`.

Memory comes from `stats` (``bytes`` of ``limit_maxbytes``). The connection limit is
arcus-memcached's ``limit_maxconns`` in the same `stats` reply (always the running value,
also after a live `config maxconns`), else stock memcached's ``max_connections``, else
``maxconns`` of `stats settings`, asked only for the nodes whose `stats` lacked both.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional

from arcus_tui.model import Cluster

from .memcached_stats import DEFAULT_TIMEOUT, MemcachedStats, StatsReading, StatsUnavailable, fetch_many, fetch_stats
from .snapshot import MonitorSnapshot

CONNECTION_LIMIT_KEYS = ("limit_maxconns", "max_connections")


@dataclass(frozen=True)
class Usage:
    """An amount in use and its limit (None: not known)."""

    used: Optional[int] = None
    limit: Optional[int] = None

    @property
    def ratio(self) -> Optional[float]:
        if self.used is None or not self.limit:
            return None
        return self.used / self.limit

    def __add__(self, other: "Usage") -> "Usage":
        def plus(a: Optional[int], b: Optional[int]) -> Optional[int]:
            return b if a is None else a if b is None else a + b
        return Usage(plus(self.used, other.used), plus(self.limit, other.limit))

    def to_json(self) -> dict:
        return {"used": self.used, "limit": self.limit, "ratio": self.ratio}

    def describe(self, show=str) -> str:
        """'1.5M / 100M (2%)', '5 / 1000 (1%)', '-' when not read; `show` formats an amount."""
        if self.used is None:
            return "-"
        limit = show(self.limit) if self.limit is not None else "-"
        ratio = f" ({self.ratio * 100:.0f}%)" if self.ratio is not None else ""
        return f"{show(self.used)} / {limit}{ratio}"


@dataclass(frozen=True)
class NodeCapacity:
    host: str
    endpoint: str
    memory: Usage = Usage()
    connections: Usage = Usage()
    problem: str = ""  # why the node could not be read; empty when it was

    @property
    def read(self) -> bool:
        return not self.problem

    def to_json(self) -> dict:
        return {"host": self.host, "node": self.endpoint, "memory": self.memory.to_json(),
                "connections": self.connections.to_json(), "problem": self.problem or None}


@dataclass(frozen=True)
class GroupCapacity:
    """The sums of a host's nodes, or of the whole cluster's: only of the nodes that answered."""

    name: str
    nodes: int = 0
    read: int = 0
    memory: Usage = Usage()
    connections: Usage = Usage()

    def to_json(self) -> dict:
        return {"name": self.name, "nodes": self.nodes, "read": self.read, "memory": self.memory.to_json(),
                "connections": self.connections.to_json()}


def _sum(name: str, nodes: Iterable[NodeCapacity]) -> GroupCapacity:
    nodes = list(nodes)
    memory, connections = Usage(), Usage()
    for node in nodes:
        if node.read:
            memory, connections = memory + node.memory, connections + node.connections
    return GroupCapacity(name, len(nodes), sum(1 for n in nodes if n.read), memory, connections)


@dataclass(frozen=True)
class CapacityReport:
    nodes: tuple[NodeCapacity, ...] = ()
    hosts: tuple[GroupCapacity, ...] = ()  # in the cluster file's host order
    total: GroupCapacity = field(default_factory=lambda: GroupCapacity("total"))

    @classmethod
    def of(cls, nodes: Iterable[NodeCapacity]) -> "CapacityReport":
        nodes = tuple(nodes)
        by_host: dict[str, list[NodeCapacity]] = {}
        for node in nodes:
            by_host.setdefault(node.host, []).append(node)
        return cls(nodes, tuple(_sum(name, members) for name, members in by_host.items()), _sum("total", nodes))

    def to_json(self) -> dict:
        return {"nodes": [n.to_json() for n in self.nodes], "hosts": [h.to_json() for h in self.hosts],
                "total": self.total.to_json()}


def _int(raw: Mapping[str, str], name: str) -> Optional[int]:
    try:
        return int(raw[name])
    except (KeyError, ValueError):
        return None


def connection_limit(stats: MemcachedStats) -> Optional[int]:
    """The running connection limit when `stats` itself says it (arcus-memcached, stock memcached)."""
    return next((value for key in CONNECTION_LIMIT_KEYS if (value := _int(stats.raw, key)) is not None), None)


def node_capacity(host: str, endpoint: str, reading: Optional[StatsReading],
                  max_connections: Optional[int] = None) -> NodeCapacity:
    """One node from its `stats` reading; `max_connections` when `stats` does not give the limit."""
    if not isinstance(reading, MemcachedStats):
        reason = reading.reason if isinstance(reading, StatsUnavailable) else "not read"
        return NodeCapacity(host, endpoint, problem=reason)
    limit = connection_limit(reading)
    return NodeCapacity(host, endpoint, Usage(reading.bytes, reading.limit_maxbytes),
                        Usage(reading.curr_connections, limit if limit is not None else max_connections))


def capacity_from_snapshot(snapshot: MonitorSnapshot) -> CapacityReport:
    """The report of what a monitor poll already read (`stats` per node; the feed's
    maxconns from `stats settings` or the file where `stats` does not give the limit)."""
    return CapacityReport.of(
        node_capacity(node.host, node.endpoint, node.stats, node.rates.max_connections if node.rates else None)
        for node in snapshot.nodes)


async def _settings_maxconns(endpoint: str, timeout: float) -> Optional[int]:
    try:
        return _int((await fetch_stats(endpoint, timeout=timeout, group="settings")).raw, "maxconns")
    except Exception:  # an old daemon without `stats settings`: the limit stays unknown
        return None


async def collect_capacity(cluster: Cluster, endpoints: Optional[Iterable[str]] = None, *,
                           timeout: float = DEFAULT_TIMEOUT) -> CapacityReport:
    """`stats` of the cluster's nodes (all, or those in `endpoints`) and the report of them."""
    wanted = set(endpoints) if endpoints is not None else None
    nodes = [node for node in cluster.nodes() if wanted is None or node.endpoint in wanted]
    readings = await fetch_many([node.endpoint for node in nodes], timeout=timeout)
    lacking = [e for e, r in readings.items() if isinstance(r, MemcachedStats) and connection_limit(r) is None]
    limits = dict(zip(lacking, await asyncio.gather(*(_settings_maxconns(e, timeout) for e in lacking))))
    return CapacityReport.of(node_capacity(node.host.name, node.endpoint, readings.get(node.endpoint),
                                           limits.get(node.endpoint)) for node in nodes)


__all__ = ["CapacityReport", "GroupCapacity", "NodeCapacity", "Usage", "capacity_from_snapshot", "collect_capacity",
           "connection_limit",
           "node_capacity"]
