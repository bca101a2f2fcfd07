"""What a monitor feed hands its subscribers after each poll or registry change.

One `MonitorSnapshot` describes the whole cloud at one moment, for every view at
once: the Monitor tab draws its tables from it, the Grid draws each host's box
from `snapshot.hosts[name]` (the ensemble member's mode, each memcached node's
liveness). Snapshots are immutable; a feed makes a new one each time and keeps
the per-node history in it, so a view never needs its own copy of the past.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Mapping, Optional

from arcus_tui.model import Cluster
from arcus_tui.zk.fourletter import MemberMode, member_address
from arcus_tui.zk.status import ServiceStatus

from .cloud_status import CloudStatus, NodeState
from .host_live import MemberState, NodeLiveState, member_state, node_live_state
from .memcached_stats import StatsReading
from .rates import NodeRates


@dataclass(frozen=True)
class NodeLive:
    """One memcached node of the cluster file, as of the snapshot."""

    host: str  # the host's name in the cluster file
    endpoint: str  # ip:port, as in cache_list and cache_server_mapping
    state: NodeState  # registry + process (+ verdict)
    stats: Optional[StatsReading] = None  # MemcachedStats, StatsUnavailable, or None (not read)
    rates: Optional[NodeRates] = None  # None until a `stats` reply came
    history: tuple[Optional[float], ...] = ()  # get/s per poll, oldest first (bounded)

    @property
    def liveness(self) -> NodeLiveState:
        return node_live_state(self.state)


@dataclass(frozen=True)
class HostSnapshot:
    """One host (a Grid box): its ensemble member, if any, and its memcached nodes."""

    name: str
    address: str
    member: Optional[MemberMode] = None  # None: not an ensemble member (or not probed yet)
    nodes: tuple[NodeLive, ...] = ()
    ssh_problem: str = ""  # why the process check gave no answer for this host, if it did not
    is_member: bool = False

    @property
    def member_state(self) -> Optional[MemberState]:
        """None when the host is not an ensemble member."""
        return member_state(self.member) if self.is_member else None


@dataclass(frozen=True)
class MonitorSnapshot:
    service_code: str
    sequence: int = 0  # grows by one per snapshot of a feed
    taken: float = field(default_factory=time.time)  # wall clock
    polled: Optional[float] = None  # wall clock of the poll the stats come from (None: none yet)
    took: Optional[float] = None  # seconds the last poll took
    zookeeper: tuple[MemberMode, ...] = ()
    services: tuple[ServiceStatus, ...] = ()
    nodes: tuple[NodeLive, ...] = ()  # the cluster file's nodes, in file order
    hosts: Mapping[str, HostSnapshot] = field(default_factory=dict)  # by host name, file order
    errors: tuple[str, ...] = ()
    registry_connected: bool = False

    @property
    def service(self) -> Optional[ServiceStatus]:
        return next((s for s in self.services if s.service_code == self.service_code), None)

    def node(self, endpoint: str) -> Optional[NodeLive]:
        return next((n for n in self.nodes if n.endpoint == endpoint), None)

    def cloud_status(self) -> CloudStatus:
        """The same moment as a `CloudStatus` (what `collect_status` returns), for code that
        reads that shape (e.g. `monitor.host_live.host_live_from_status`)."""
        return CloudStatus(self.service_code, zookeeper=self.zookeeper, services=self.services,
                           nodes=tuple(node.state for node in self.nodes), errors=list(self.errors))


def hosts_of(cluster: Optional[Cluster], nodes: tuple[NodeLive, ...], members: tuple[MemberMode, ...],
             ssh_problems: Mapping[str, str]) -> dict[str, HostSnapshot]:
    """Per host of the cluster file: its member (matched by address:client port) and nodes."""
    if cluster is None:
        return {}
    by_address = {member.address: member for member in members}
    by_host: dict[str, list[NodeLive]] = {}
    for node in nodes:
        by_host.setdefault(node.host, []).append(node)
    port = cluster.zookeeper.client_port
    result: dict[str, HostSnapshot] = {}
    for host in cluster.hosts:
        result[host.name] = HostSnapshot(
            host.name, host.address,
            member=by_address.get(member_address(f"{host.address}:{port}")) if host.zookeeper else None,
            nodes=tuple(by_host.get(host.name, ())),
            ssh_problem=ssh_problems.get(host.name, ""), is_member=host.zookeeper)
    return result
