"""What each host runs right now, per box of the Grid: its ZooKeeper member's mode and the
state of each of its memcached nodes, from one `CloudStatus` (whatever source polled it).

Each state has a word, a symbol and a tone, so that a box reads on a monochrome terminal
too ("● leader", "○ down", "✓ online", "✗ stopped"); the UI maps the tone to a colour.
Built in one pass over the cluster's hosts: linear in hosts + nodes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Mapping, Optional

from arcus_tui.model import Cluster
from arcus_tui.zk.fourletter import MemberMode, Mode, member_address

from .cloud_status import CloudStatus, NodeState, Process, Registry


class Tone(str, enum.Enum):
    """How a state should strike the eye; the UI picks the colour."""

    GOOD = "good"
    WARNING = "warning"
    ERROR = "error"
    MUTED = "muted"


class MemberState(str, enum.Enum):
    """An ensemble member's mode as the Grid shows it."""

    LEADER = "leader"
    FOLLOWER = "follower"
    STANDALONE = "standalone"
    OBSERVER = "observer"
    READ_ONLY = "read-only"
    NO_QUORUM = "no quorum"  # the process answers but serves nothing
    DOWN = "down"  # refused or timed out
    UNKNOWN = "unknown"  # not asked, or answered something unreadable

    @property
    def symbol(self) -> str:
        return _MEMBER_LOOK[self][0]

    @property
    def tone(self) -> Tone:
        return _MEMBER_LOOK[self][1]


_MEMBER_LOOK: dict[MemberState, tuple[str, Tone]] = {
    MemberState.LEADER: ("●", Tone.GOOD),
    MemberState.FOLLOWER: ("●", Tone.GOOD),
    MemberState.STANDALONE: ("●", Tone.GOOD),
    MemberState.OBSERVER: ("●", Tone.GOOD),
    MemberState.READ_ONLY: ("◐", Tone.WARNING),
    MemberState.NO_QUORUM: ("◐", Tone.WARNING),
    MemberState.DOWN: ("○", Tone.ERROR),
    MemberState.UNKNOWN: ("?", Tone.MUTED),
}

_MODES: dict[Mode, MemberState] = {
    Mode.LEADER: MemberState.LEADER,
    Mode.FOLLOWER: MemberState.FOLLOWER,
    Mode.STANDALONE: MemberState.STANDALONE,
    Mode.OBSERVER: MemberState.OBSERVER,
    Mode.READ_ONLY: MemberState.READ_ONLY,
    Mode.NOT_SERVING: MemberState.NO_QUORUM,
    Mode.UNREACHABLE: MemberState.DOWN,
}
"""Modes not listed (not whitelisted, unreadable) are `UNKNOWN`: we cannot tell."""


class NodeLiveState(str, enum.Enum):
    """A memcached node as the Grid shows it: the registry and the process together."""

    ONLINE = "online"  # in cache_list
    OFFLINE = "offline"  # not in cache_list; whether it runs is not known
    NOT_JOINED = "not joined"  # runs, but not in cache_list
    STOPPED = "stopped"  # no process behind its pidfile
    UNKNOWN = "unknown"  # the registry could not be read

    @property
    def symbol(self) -> str:
        return _NODE_LOOK[self][0]

    @property
    def tone(self) -> Tone:
        return _NODE_LOOK[self][1]


_NODE_LOOK: dict[NodeLiveState, tuple[str, Tone]] = {
    NodeLiveState.ONLINE: ("✓", Tone.GOOD),
    NodeLiveState.OFFLINE: ("○", Tone.ERROR),
    NodeLiveState.NOT_JOINED: ("!", Tone.WARNING),
    NodeLiveState.STOPPED: ("✗", Tone.ERROR),
    NodeLiveState.UNKNOWN: ("?", Tone.MUTED),
}

STATE_WIDTH = max(len(f"{state.symbol} {state.value}") for state in [*MemberState, *NodeLiveState])
"""Columns the widest state takes ("◐ no quorum"): a box reserves them once live state shows."""


RELEASE_WIDTH = 20
"""Columns a node's release takes in a box (`<version>-<12 hex>`; a longer id is cut)."""


@dataclass(frozen=True)
class HostLive:
    """One host's live state: None for a host that is no ensemble member of ours."""

    zookeeper: Optional[MemberState] = None
    nodes: Mapping[int, NodeLiveState] = field(default_factory=dict)
    releases: Mapping[int, str] = field(default_factory=dict)  # port -> release its process runs, when known

    def words(self) -> tuple[str, ...]:
        """Every state word and release of the host (what a filter matches)."""
        states = ([self.zookeeper] if self.zookeeper else []) + list(self.nodes.values())
        return tuple(state.value for state in states) + tuple(self.releases.values())

    def release_text(self, port: int) -> str:
        release = self.releases.get(port, "")
        return release if len(release) <= RELEASE_WIDTH else release[:RELEASE_WIDTH - 1] + "…"


def node_live_state(node: NodeState) -> NodeLiveState:
    """One node's state; "online but no process behind the pidfile" is `STOPPED`: the entry
    in cache_list is a session about to expire, not a node serving."""
    if node.process is Process.STOPPED:
        return NodeLiveState.STOPPED
    if node.registry is Registry.UNKNOWN:
        return NodeLiveState.UNKNOWN
    if node.registry is Registry.ONLINE:
        return NodeLiveState.ONLINE
    return NodeLiveState.NOT_JOINED if node.process is Process.RUNNING else NodeLiveState.OFFLINE


def member_state(member: Optional[MemberMode]) -> MemberState:
    """An ensemble member's state from its `srvr` answer (None: not asked yet)."""
    return MemberState.UNKNOWN if member is None else _MODES.get(member.mode, MemberState.UNKNOWN)


def host_live_from_status(cluster: Cluster, status: CloudStatus) -> dict[str, HostLive]:
    """host name -> `HostLive` for every host of `cluster`; what the status lacks is `UNKNOWN`."""
    members = {member_address(member.address): member_state(member)
               for member in status.zookeeper}
    nodes = {node.endpoint: node_live_state(node) for node in status.nodes}
    releases = {node.endpoint: node.release for node in status.nodes if node.release}
    client_port = cluster.zookeeper.client_port
    live: dict[str, HostLive] = {}
    for host in cluster.hosts:
        member = None
        if host.zookeeper and not cluster.zookeeper.external:
            member = members.get(member_address(f"{host.address}:{client_port}"), MemberState.UNKNOWN)
        endpoints = {port: f"{host.address}:{port}" for port in host.ports}
        live[host.name] = HostLive(member, {port: nodes.get(endpoint, NodeLiveState.UNKNOWN)
                                            for port, endpoint in endpoints.items()},
                                   {port: releases[endpoint] for port, endpoint in endpoints.items()
                                    if endpoint in releases})
    return live
