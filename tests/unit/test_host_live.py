"""Each host's live state for the Grid, from a `CloudStatus` (ensemble modes + node states)."""

from __future__ import annotations

import pytest

from arcus_tui.model import parse_cluster
from arcus_tui.monitor.cloud_status import CloudStatus, NodeState, Process, Registry
from arcus_tui.monitor.host_live import (
    STATE_WIDTH, HostLive, MemberState, NodeLiveState, Tone, host_live_from_status, node_live_state,
)
from arcus_tui.zk.fourletter import MemberMode, Mode

CLUSTER = parse_cluster("""
[cluster]
service_code = "svc"
[zookeeper]
client_port = 2191
[[host]]
name = "a"
address = "127.0.1.1"
zookeeper = true
memcached = [11211, 11212]
[[host]]
name = "b"
address = "127.0.1.2"
zookeeper = true
memcached = [11211]
[[host]]
name = "c"
address = "127.0.1.3"
zookeeper = true
[[host]]
name = "d"
address = "127.0.1.4"
memcached = [11211]
""").cluster


@pytest.mark.parametrize("registry, process, state", [
    (Registry.ONLINE, Process.RUNNING, NodeLiveState.ONLINE),
    (Registry.ONLINE, Process.UNKNOWN, NodeLiveState.ONLINE),
    (Registry.ONLINE, Process.STOPPED, NodeLiveState.STOPPED),  # an entry about to expire, nothing serving
    (Registry.OFFLINE, Process.RUNNING, NodeLiveState.NOT_JOINED),
    (Registry.UNREGISTERED, Process.RUNNING, NodeLiveState.NOT_JOINED),
    (Registry.OFFLINE, Process.STOPPED, NodeLiveState.STOPPED),
    (Registry.OFFLINE, Process.UNKNOWN, NodeLiveState.OFFLINE),
    (Registry.UNKNOWN, Process.RUNNING, NodeLiveState.UNKNOWN),
    (Registry.UNKNOWN, Process.STOPPED, NodeLiveState.STOPPED),
])
def test_node_state_joins_registry_and_process(registry, process, state):
    assert node_live_state(NodeState("a", "127.0.1.1:11211", registry, process)) is state


def test_hosts_get_their_members_mode_and_each_nodes_state():
    status = CloudStatus("svc", zookeeper=(
        MemberMode("127.0.1.1:2191", Mode.LEADER),
        MemberMode("127.0.1.2:2191", Mode.UNREACHABLE),
        MemberMode("127.0.1.3:2191", Mode.NOT_SERVING),
    ), nodes=(
        NodeState("a", "127.0.1.1:11211", Registry.ONLINE, Process.RUNNING, release="1.15.0-0123456789ab"),
        NodeState("a", "127.0.1.1:11212", Registry.OFFLINE, Process.STOPPED),
        NodeState("b", "127.0.1.2:11211", Registry.UNREGISTERED, Process.RUNNING),
    ))
    live = host_live_from_status(CLUSTER, status)
    assert live == {
        "a": HostLive(MemberState.LEADER, {11211: NodeLiveState.ONLINE, 11212: NodeLiveState.STOPPED},
                      {11211: "1.15.0-0123456789ab"}),
        "b": HostLive(MemberState.DOWN, {11211: NodeLiveState.NOT_JOINED}),
        "c": HostLive(MemberState.NO_QUORUM, {}),
        "d": HostLive(None, {11211: NodeLiveState.UNKNOWN}),  # not in the status: unknown, not offline
    }
    assert live["a"].words() == ("leader", "online", "stopped", "1.15.0-0123456789ab")


def test_without_an_ensemble_answer_members_are_unknown():
    live = host_live_from_status(CLUSTER, CloudStatus("svc", errors=["ZooKeeper members: boom"]))
    assert {name: host.zookeeper for name, host in live.items()} == {
        "a": MemberState.UNKNOWN, "b": MemberState.UNKNOWN, "c": MemberState.UNKNOWN, "d": None}


def test_an_external_ensemble_is_no_hosts_member():
    external = parse_cluster("""
[cluster]
service_code = "svc"
[zookeeper]
servers = ["127.0.1.1:2181"]
[[host]]
name = "a"
address = "127.0.1.1"
memcached = [11211]
""").cluster
    status = CloudStatus("svc", zookeeper=(MemberMode("127.0.1.1:2181", Mode.LEADER),))
    assert host_live_from_status(external, status)["a"].zookeeper is None


def test_every_state_reads_without_colour():
    """Symbol + word, distinct from one another for the states an operator acts on."""
    for states in (MemberState, NodeLiveState):
        assert len({f"{state.symbol} {state.value}" for state in states}) == len(states)
    looks = {f"{state.symbol} {state.value}" for state in [*MemberState, *NodeLiveState]}
    assert STATE_WIDTH == max(len(look) for look in looks)
    assert {NodeLiveState.STOPPED.symbol, NodeLiveState.ONLINE.symbol, MemberState.DOWN.symbol} == {"✗", "✓", "○"}
    assert NodeLiveState.ONLINE.tone is Tone.GOOD and NodeLiveState.STOPPED.tone is Tone.ERROR
