"""The live monitor engine with fakes: in-process SSH servers (real protocol), a fake
registry that fires watch events from another thread, fake `stats` and `srvr`.

What matters: one SSH login per host however many polls; process checks share one
command per host; a watch event reaches the subscribers at once (through the loop),
without a poll; polling runs only while someone subscribes; an unreachable host is
not retried on every poll; close() ends every connection.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace

import pytest

from arcus_tui.model import Cluster, Host, MemcachedNode
from arcus_tui.monitor.cloud_status import Process, Registry
from arcus_tui.monitor.live import LiveMonitor, ProcessChecks, check_command, parse_check, parse_releases
from arcus_tui.monitor.memcached_stats import MemcachedStats, StatsUnavailable
from arcus_tui.monitor.host_live import MemberState, NodeLiveState as Liveness
from arcus_tui.ssh.session import Limits, SshSession
from arcus_tui.ssh.target import targets_for
from arcus_tui.zk.fourletter import MemberMode, Mode
from arcus_tui.zk.status import compute_status
from ssh_fakeserver import Lab

SERVICE = "live-svc"


class FakeRegistry:
    """Stands in for `RegistryWatch`: `join`/`leave` fire `on_change` from a foreign thread,
    as kazoo's watch callbacks do."""

    def __init__(self, connect_string, on_change, *, mapped=()):
        self.connect_string = connect_string
        self.on_change = on_change
        self.mapped = set(mapped)
        self.live: set[str] = set()
        self.session = None
        self.ensures = 0
        self.closed = False
        self.loop = None

    @property
    def connected(self):
        return self.session is not None

    async def ensure(self):
        self.ensures += 1
        self.loop = asyncio.get_running_loop()
        self.session = self.session or object()
        return ""

    def services(self):
        return (compute_status(SERVICE, self.mapped, [f"{a}-host" for a in self.live]),)

    def _from_kazoo_thread(self, change):
        def run():
            change()
            self.loop.call_soon_threadsafe(self.on_change)

        thread = threading.Thread(target=run)
        thread.start()
        thread.join()

    def join(self, address):
        self._from_kazoo_thread(lambda: self.live.add(address))

    def leave(self, address):
        self._from_kazoo_thread(lambda: self.live.discard(address))

    def close(self):
        self.closed = True


class Counter:
    def __init__(self):
        self.calls = 0

    async def stats(self, endpoints):
        self.calls += 1
        return {e: MemcachedStats(e, {"uptime": "10", "cmd_get": str(100 * self.calls)}) for e in endpoints}

    async def probe(self, members):
        return tuple(MemberMode(m, Mode.LEADER if i == 0 else Mode.FOLLOWER) for i, m in enumerate(members))


@pytest.fixture
async def lab(tmp_path):
    lab = Lab(tmp_path)
    yield lab
    await lab.stop()


def cluster_for(lab, hosts, *, extra=()):
    """One cluster host per fake SSH server (all on 127.0.0.1, so ports tell the nodes apart)."""
    entries = [Host(f"h{i}", "127.0.0.1", zookeeper=i == 0, user="tester", ssh_port=h.port,
                    identity_file=str(lab.key.path), memcached=(MemcachedNode(11211 + i),))
               for i, h in enumerate(hosts)]
    return Cluster(service_code=SERVICE, hosts=tuple(entries) + tuple(extra))


def monitor(lab, cluster, counter, **options):
    registries = []

    def registry(connect_string, on_change):
        registries.append(FakeRegistry(connect_string, on_change, mapped=[n.endpoint for n in cluster.nodes()]))
        return registries[-1]

    def ssh(cluster, paths):
        return SshSession(targets_for(cluster), paths=lab.paths,
                          limits=Limits(connect_timeout=0.5, command_timeout=5, slow_handshake_grace=0.2))

    engine = LiveMonitor(cluster, registry=registry, ssh=ssh, stats=counter.stats, settings=None,
                         probe=counter.probe, **options)
    return engine, registries[0]


async def test_polls_reuse_one_ssh_login_per_host_and_one_command_per_host(lab):
    hosts = [await lab.add(f"h{i}") for i in range(3)]
    engine, registry = monitor(lab, cluster_for(lab, hosts), Counter())
    try:
        for _ in range(4):
            snapshot = await engine.poll_once()
        assert [h.stats.connections for h in hosts] == [1, 1, 1]  # logged in once, reused
        assert [len(h.stats.commands) for h in hosts] == [4, 4, 4]  # one check per host per poll
        assert all("kill -0" in c or "/proc/" in c for c in hosts[0].stats.commands)
        assert registry.ensures == 4  # the same registry object: never a new session
        assert {n.state.process for n in snapshot.nodes} == {Process.STOPPED}  # no pidfile on the fakes
    finally:
        await engine.close()
    await asyncio.sleep(0.1)
    assert registry.closed
    assert not any(engine.ssh.connected(h.name) for h in cluster_for(lab, hosts).hosts)


async def test_a_watch_event_reaches_subscribers_at_once_without_a_poll(lab):
    host = await lab.add("h0")
    cluster = cluster_for(lab, [host])
    engine, registry = monitor(lab, cluster, Counter(), interval=60)
    seen = []
    engine.subscribe(seen.append)
    try:
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.02)
        assert engine.polls == 1 and seen[-1].nodes[0].state.registry is Registry.OFFLINE
        endpoint = seen[-1].nodes[0].endpoint

        registry.join(endpoint)  # from another thread, through loop.call_soon_threadsafe
        for _ in range(100):
            if seen[-1].nodes[0].state.registry is Registry.ONLINE:
                break
            await asyncio.sleep(0.02)
        assert seen[-1].nodes[0].state.registry is Registry.ONLINE
        # the fake host runs no memcached: an entry with no process behind it reads "stopped"
        assert seen[-1].nodes[0].liveness is Liveness.STOPPED
        assert engine.polls == 1  # no poll was needed

        registry.leave(endpoint)
        for _ in range(100):
            if seen[-1].nodes[0].state.registry is Registry.OFFLINE:
                break
            await asyncio.sleep(0.02)
        assert seen[-1].nodes[0].liveness is Liveness.STOPPED  # gone, and no process behind it
        assert engine.polls == 1
    finally:
        await engine.close()


async def test_polling_runs_only_while_someone_subscribes_and_feeds_every_subscriber(lab):
    host = await lab.add("h0")
    counter = Counter()
    engine, _ = monitor(lab, cluster_for(lab, [host]), counter, interval=0.05)
    first, second = [], []
    try:
        await asyncio.sleep(0.2)
        assert engine.polls == 0  # nobody listens: nothing is polled
        engine.subscribe(first.append)
        engine.subscribe(second.append)
        for _ in range(200):
            if len(first) >= 3:
                break
            await asyncio.sleep(0.02)
        assert len(first) >= 3
        assert [s.sequence for s in first[:3]] == [s.sequence for s in second[:3]]  # the same snapshots
        engine.unsubscribe(first.append)
        engine.unsubscribe(second.append)
        await asyncio.sleep(0.2)
        polls = engine.polls
        await asyncio.sleep(0.3)  # six intervals
        assert engine.polls == polls
    finally:
        await engine.close()


async def test_rates_and_history_come_from_successive_polls(lab):
    host = await lab.add("h0")
    ticks = iter(range(0, 1000, 2))
    engine, _ = monitor(lab, cluster_for(lab, [host]), Counter(), clock=lambda: float(next(ticks)))
    try:
        for _ in range(3):
            snapshot = await engine.poll_once()
        node = snapshot.nodes[0]
        assert node.rates.get_per_s == pytest.approx(50.0)  # 100 more gets every 2 s
        assert node.history == (None, 50.0, 50.0)
        assert snapshot.hosts["h0"].nodes == (node,)
    finally:
        await engine.close()


async def test_an_unreachable_host_is_not_retried_every_poll(lab):
    good = await lab.add("h0")
    hanging = await lab.hanging()
    dead = Host("dead", "127.0.0.1", user="tester", ssh_port=hanging.port, identity_file=str(lab.key.path),
                memcached=(MemcachedNode(11299),))
    engine, _ = monitor(lab, cluster_for(lab, [good], extra=[dead]), Counter(), interval=30)
    try:
        snapshot = await engine.poll_once()
        assert hanging.accepted == 1
        assert "next try in 30 s" in snapshot.hosts["dead"].ssh_problem
        assert snapshot.node("127.0.0.1:11299").state.process is Process.UNKNOWN
        assert any("dead" in error for error in snapshot.errors)
        for _ in range(3):
            snapshot = await engine.poll_once()
        assert hanging.accepted == 1  # backed off: no login storm
        assert good.stats.connections == 1 and len(good.stats.commands) == 4
    finally:
        await engine.close()


async def test_member_modes_per_host_for_the_grid(lab):
    hosts = [await lab.add(f"h{i}") for i in range(2)]
    cluster = cluster_for(lab, hosts)
    cluster = replace(cluster, hosts=(replace(cluster.hosts[0], address="127.0.0.1"),
                                      replace(cluster.hosts[1], zookeeper=True, address="127.0.0.2")))
    counter = Counter()

    async def probe(members):
        return (MemberMode(members[0], Mode.LEADER), MemberMode(members[1], Mode.UNREACHABLE, error="refused"))

    counter.probe = probe
    engine, _ = monitor(lab, cluster, counter, use_ssh=False)
    try:
        snapshot = await engine.poll_once()
        assert snapshot.hosts["h0"].member_state is MemberState.LEADER
        assert snapshot.hosts["h1"].member_state is MemberState.DOWN
        assert snapshot.hosts["h1"].nodes[0].endpoint == "127.0.0.2:11212"
    finally:
        await engine.close()


def test_one_check_command_per_host_and_its_answer():
    host = Host("a", "127.0.1.1", memcached=(MemcachedNode(11211), MemcachedNode(11212)))
    command = check_command(host)
    assert command.count("memcached.11211.pid") == 1 and command.count("memcached.11212.pid") == 1
    assert "rm " not in command and ">" not in command.replace("2>/dev/null", "")  # reads only
    assert parse_check(host, "11211 1\n11212 0\n") == {"127.0.1.1:11211": Process.RUNNING,
                                                       "127.0.1.1:11212": Process.STOPPED}
    assert parse_check(host, "11213 1\ngarbage\n11211 x\n") == {}  # what we did not ask is ignored


def test_the_check_also_says_which_release_each_running_node_runs():
    host = Host("a", "127.0.1.1", memcached=(MemcachedNode(11211), MemcachedNode(11212), MemcachedNode(11213)))
    assert 'readlink /proc/"$pid"/exe' in check_command(host)
    answer = ("11211 1 /home/arcus/arcus/releases/1.15.0-0123456789ab/bin/memcached\n"
              "11212 1 /usr/bin/python3.11\n11213 0\n")
    assert parse_releases(host, answer) == {"127.0.1.1:11211": "1.15.0-0123456789ab", "127.0.1.1:11212": None}
    assert parse_check(host, answer) == {"127.0.1.1:11211": Process.RUNNING, "127.0.1.1:11212": Process.RUNNING,
                                         "127.0.1.1:11213": Process.STOPPED}


async def test_a_failing_stats_reading_leaves_a_gap_in_the_history(lab):
    host = await lab.add("h0")
    answers = iter([True, False, True])

    async def stats(endpoints):
        ok = next(answers)
        return {e: MemcachedStats(e, {"uptime": "1", "cmd_get": "0"}) if ok else StatsUnavailable(e, "refused")
                for e in endpoints}

    counter = Counter()
    counter.stats = stats
    engine, _ = monitor(lab, cluster_for(lab, [host]), counter, use_ssh=False)
    try:
        for _ in range(3):
            snapshot = await engine.poll_once()
        assert snapshot.nodes[0].history == (None, None, None)  # first sample, gap, first sample again
    finally:
        await engine.close()


class ScriptedSsh:
    """`each_host` over canned answers: every node runs. Records which hosts were asked."""

    def __init__(self):
        self.asked: list[list[str]] = []

    async def each_host(self, job, *, hosts, step):
        from arcus_tui.ssh.results import RunResult

        self.asked.append(list(hosts))

        class Work:
            def __init__(self, name):
                self.name = name

            async def capture(self, command):
                ports = [part.split("'")[1].split()[0] for part in command.split("echo ")[1::2]]
                return 0, "".join(f"{port} 1\n" for port in ports), ""

        return RunResult(step, {name: await job(Work(name)) for name in hosts})


async def test_hosts_whose_nodes_answer_stats_are_checked_in_turn_not_every_poll():
    hosts = tuple(Host(f"h{i:02d}", f"127.0.1.{i + 1}", memcached=(MemcachedNode(11211),)) for i in range(20))
    cluster = Cluster(service_code=SERVICE, hosts=hosts)
    ssh = ScriptedSsh()
    checks = ProcessChecks(cluster, ssh, sweep_polls=10)
    endpoints = {n.endpoint for n in cluster.nodes()}

    states, _ = await checks.check(endpoints)
    assert len(ssh.asked[-1]) == 20  # never checked: every host
    assert set(states.values()) == {Process.RUNNING}
    await checks.check(endpoints)
    assert len(ssh.asked[-1]) == 2  # all answered `stats` and run: a tenth of the fleet, in turn
    silent = "127.0.1.8:11211"
    await checks.check(endpoints - {silent})
    assert "h07" in ssh.asked[-1] and len(ssh.asked[-1]) == 3  # no `stats` answer: checked now
    for _ in range(8):
        await checks.check(endpoints)
    in_turn = {name for asked in ssh.asked[1:] for name in asked}
    assert sorted(in_turn) == [h.name for h in hosts]  # every host within ten polls
    assert max(len(asked) for asked in ssh.asked[1:]) <= 3
    await checks.check(None)
    assert len(ssh.asked[-1]) == 20  # no `stats` read at all: every host


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now


async def test_the_registry_connect_is_tried_at_most_once_per_backoff(monkeypatch):
    from arcus_tui.monitor import registry_watch
    from arcus_tui.zk.session import RegistryConnectionError

    clock = FakeClock()
    monkeypatch.setattr(registry_watch, "time", clock)
    attempts = []

    def refused(connect_string, timeout):
        attempts.append(connect_string)
        raise RegistryConnectionError("could not connect to ZooKeeper 127.0.2.250:2181: refused")

    watch = registry_watch.RegistryWatch("127.0.2.250:2181", lambda: None, connect=refused)
    assert "refused" in await watch.ensure()
    for _ in range(5):  # polls within the back-off: no new attempt, the reason is still said
        assert "refused" in await watch.ensure()
    assert len(attempts) == 1
    clock.now += registry_watch.FIRST_BACKOFF
    await watch.ensure()
    assert len(attempts) == 2
    clock.now += registry_watch.FIRST_BACKOFF  # the back-off doubled: not yet
    await watch.ensure()
    assert len(attempts) == 2
    clock.now += 1000  # never more than MAX_BACKOFF apart
    await watch.ensure()
    assert len(attempts) == 3
    watch.close()


async def test_a_slow_registry_connect_does_not_hold_the_poll(monkeypatch):
    from arcus_tui.monitor import registry_watch
    from arcus_tui.zk.session import RegistryConnectionError

    monkeypatch.setattr(registry_watch, "CONNECT_GRACE", 0.05)
    release = threading.Event()
    attempts = []
    changes = []

    def slow(connect_string, timeout):
        attempts.append(connect_string)
        release.wait(10)
        raise RegistryConnectionError("no quorum")

    watch = registry_watch.RegistryWatch("127.0.2.250:2181", lambda: changes.append(1), connect=slow)
    assert "connecting" in await watch.ensure()
    assert "connecting" in await watch.ensure()  # the same attempt goes on: not a second one
    assert len(attempts) == 1
    release.set()
    for _ in range(100):
        problem = await watch.ensure()
        if "no quorum" in problem:
            break
    assert "no quorum" in problem and len(attempts) == 1
    watch.close()


async def test_a_snapshot_reads_as_a_cloud_status_too(lab):
    host = await lab.add("h0")
    engine, registry = monitor(lab, cluster_for(lab, [host]), Counter(), use_ssh=False)
    try:
        snapshot = await engine.poll_once()
        status = snapshot.cloud_status()
        assert status.service_code == SERVICE and status.zookeeper == snapshot.zookeeper
        assert status.nodes == tuple(n.state for n in snapshot.nodes) and status.service is snapshot.service
    finally:
        await engine.close()
