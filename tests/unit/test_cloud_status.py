"""How a node's registry entry and its process combine into what the operator reads."""

from __future__ import annotations

import pytest

from arcus_tui.model import parse_cluster
from arcus_tui.monitor.cloud_status import NodeState, Process, Registry, _node_states
from arcus_tui.zk.status import compute_status

CLUSTER = parse_cluster("""
[cluster]
service_code = "svc"
[zookeeper]
servers = ["127.0.0.1:2181"]
[[host]]
name = "a"
address = "127.0.1.1"
memcached = [11211, 11212]
[[host]]
name = "b"
address = "127.0.1.2"
memcached = [11211]
""").cluster


@pytest.mark.parametrize("registry, process, verdict", [
    (Registry.ONLINE, Process.RUNNING, "ok"),
    (Registry.ONLINE, Process.UNKNOWN, "ok"),
    (Registry.ONLINE, Process.STOPPED, "online, but no process behind the pidfile"),
    (Registry.OFFLINE, Process.RUNNING, "running but not joined"),
    (Registry.UNREGISTERED, Process.RUNNING, "running but not joined"),
    (Registry.OFFLINE, Process.STOPPED, "stopped"),
    (Registry.OFFLINE, Process.UNKNOWN, "offline"),
])
def test_verdicts(registry, process, verdict):
    assert NodeState("a", "127.0.1.1:11211", registry, process).verdict == verdict


def test_node_states_join_the_registry_view_with_the_processes():
    service = compute_status("svc", ["127.0.1.1:11211", "127.0.1.1:11212"],
                             ["127.0.1.1:11211-a", "127.0.1.9:11211-x"])
    processes = {"127.0.1.1:11211": Process.RUNNING, "127.0.1.1:11212": Process.RUNNING}
    states = {s.endpoint: s for s in _node_states(CLUSTER, service, processes)}
    assert states["127.0.1.1:11211"].verdict == "ok"
    assert states["127.0.1.1:11212"].registry is Registry.OFFLINE
    assert states["127.0.1.1:11212"].verdict == "running but not joined"
    assert states["127.0.1.2:11211"].registry is Registry.UNREGISTERED  # not mapped to the service
    assert states["127.0.1.2:11211"].process is Process.UNKNOWN  # the host did not answer
    assert "127.0.1.9:11211" not in states  # undefined nodes are the service's business, not the cluster's


def test_when_the_registry_cannot_be_read_nodes_are_unknown_not_unregistered():
    states = list(_node_states(CLUSTER, None, {"127.0.1.1:11211": Process.RUNNING}, registry_read=False))
    assert {s.registry for s in states} == {Registry.UNKNOWN}
    assert states[0].verdict == "registry unreadable; process running"  # not "running but not joined"
