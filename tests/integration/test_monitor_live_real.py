"""The live monitor engine against real daemons: the suite's ZooKeeper ensemble
(127.0.2.1-3:2181) and real OpenSSH (127.0.1.1-3:2022).

- One ZooKeeper session for as long as the engine is open (same session id over
  several polls), read-only, and a node's `cache_list` znode appearing and
  disappearing reaches the subscribers through the watch, without a poll.
- One SSH login per host over several polls: the TCP connections to sshd that the
  process checks use are the same ones at every poll.

Run with the real-daemon lock: flock /tmp/arcus-tui-real-daemons.lock <pytest ...>
"""

from __future__ import annotations

import asyncio
import os

import pytest

from arcus_tui.model import Cluster, Host, MemcachedNode
from arcus_tui.model.cluster import ZooKeeperSettings
from arcus_tui.monitor.cloud_status import Process, Registry
from arcus_tui.monitor.live import LiveMonitor
from arcus_tui.monitor.memcached_stats import StatsUnavailable
from arcus_tui.ssh import ensure_gateway_key
from arcus_tui.read_only import ReadOnlyError
from tests.waits import wait_until_async

SERVICE = "monitor-live"
N1, N2 = "127.0.1.1:11211", "127.0.1.2:11211"
WAIT = 10.0
"""Seconds a watch or a poll has to show a change."""


async def no_stats(endpoints):
    return {e: StatsUnavailable(e, "no memcached in this test") for e in endpoints}


@pytest.mark.zookeeper
async def test_one_read_only_session_and_watches_see_a_node_join_and_leave(zk_hosts, zk_client):
    for endpoint in (N1, N2):
        zk_client.create(f"/arcus/cache_server_mapping/{endpoint}/{SERVICE}", makepath=True)
    zk_client.create(f"/arcus/cache_list/{SERVICE}", makepath=True)
    cluster = Cluster(service_code=SERVICE, zookeeper=ZooKeeperSettings(servers=tuple(zk_hosts.split(","))),
                      hosts=(Host("a", "127.0.1.1", memcached=(MemcachedNode(11211),)),
                             Host("b", "127.0.1.2", memcached=(MemcachedNode(11211),))))
    engine = LiveMonitor(cluster, use_ssh=False, stats=no_stats, settings=None, interval=60)
    seen = []
    engine.subscribe(seen.append)
    try:
        await wait_until_async(lambda: seen, WAIT, "first poll")
        first = seen[-1]
        assert first.registry_connected
        assert [n.state.registry for n in first.nodes] == [Registry.OFFLINE, Registry.OFFLINE]
        session_id = engine.registry.session_id
        assert session_id is not None

        zk_client.create(f"/arcus/cache_list/{SERVICE}/{N1}-a", ephemeral=True)
        await wait_until_async(lambda: seen[-1].node(N1).state.registry is Registry.ONLINE, WAIT,
                               "the join, seen by the watch")
        assert engine.polls == 1  # no poll: the watch told us
        assert seen[-1].service.online == (N1,)

        zk_client.delete(f"/arcus/cache_list/{SERVICE}/{N1}-a")
        await wait_until_async(lambda: seen[-1].node(N1).state.registry is Registry.OFFLINE, WAIT, "the leave")
        assert engine.polls == 1

        zk_client.create("/arcus/cache_list/another-svc")  # a new service: the root watch sees it
        await wait_until_async(lambda: any(s.service_code == "another-svc" for s in seen[-1].services), WAIT,
                               "a new service")

        for _ in range(3):
            await engine.poll_once()
        assert engine.registry.connects == 1 and engine.registry.session_id == session_id  # one session
        with pytest.raises(ReadOnlyError):
            engine.registry.session.create(f"/arcus/cache_list/{SERVICE}/written-by-the-monitor")
        assert zk_client.get_children(f"/arcus/cache_list/{SERVICE}") == []
    finally:
        await engine.close()
    assert engine.registry.session is None


def sshd_connections(port: int) -> set[tuple[str, int]]:
    """(remote address, local port) of this process's established TCP connections to `port`."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    with open("/proc/self/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
            remote_ip, remote_port = remote.split(":")
            if state == "01" and int(remote_port, 16) == port and inode in inodes:
                address = ".".join(str(int(remote_ip[i:i + 2], 16)) for i in (6, 4, 2, 0))
                found.add((address, int(local.split(":")[1], 16)))
    return found


@pytest.mark.sshd
async def test_ssh_logins_stay_at_one_per_host_over_several_polls(sshd_hosts, tmp_path):
    real = sshd_hosts
    paths = real.gateway_paths(tmp_path / "gateway")
    key = ensure_gateway_key(paths.key_dir)
    real.authorize(key.public_line)
    hosts = tuple(Host(name, address, user=real.user, ssh_port=real.port, identity_file=str(key.path),
                       install_dir=f"~/{name}/arcus", memcached=(MemcachedNode(11211),))
                  for name, address in zip(real.names, real.addresses))
    cluster = Cluster(service_code=SERVICE, hosts=hosts,
                      zookeeper=ZooKeeperSettings(servers=("127.0.2.250:2181",)))  # nobody there

    engine = LiveMonitor(cluster, ssh_paths=paths, stats=no_stats, settings=None,
                         probe=lambda members: asyncio.sleep(0, ()))
    engine.registry.timeout = 0.5
    try:
        seen: set[tuple[str, int]] = set()
        for _ in range(4):
            snapshot = await engine.poll_once()
            seen |= sshd_connections(real.port)
        assert {n.state.process for n in snapshot.nodes} == {Process.STOPPED}, snapshot.errors
        assert sorted(address for address, _ in seen) == sorted(real.addresses)  # one connection per host
        assert sshd_connections(real.port) == seen  # still open, the same ones
        assert any("ZooKeeper" in error for error in snapshot.errors)  # said, not raised
        assert engine.registry.connects == 0
    finally:
        await engine.close()
    await asyncio.sleep(0.2)
    assert sshd_connections(real.port) == set()  # close() ended them
