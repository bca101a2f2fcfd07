"""The cloud's events and its clients against the suite's real ZooKeeper ensemble
(127.0.2.1-3:2181): other kazoo clients play the memcached nodes (ephemeral
``cache_list`` entries, ``cache_server_log`` lines as arcus_zk.c writes them) and an
ARCUS Java client (an ephemeral ``client_list`` entry), and the stream, on its own
read-only session, sees joined / left / rejoined arrive by its watch; the verbs print them.

Run with the real-daemon lock: flock /tmp/arcus-tui-real-daemons.lock <pytest ...>
"""

from __future__ import annotations

import datetime
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from kazoo.client import KazooClient

from arcus_tui.cli import main
from arcus_tui.monitor.cloud_events import CloudEventStream, EventKind, Source
from arcus_tui.zk.client_list import read_client_list
from arcus_tui.zk.session import ReadOnlyError, RegistrySession
from tests.unit.cluster_texts import cluster_text, host_table

pytestmark = pytest.mark.zookeeper

SERVICE = "events-real"
N1, N2, N3 = "127.0.1.1:11211", "127.0.1.2:11211", "127.0.1.3:11211"
JAVA_CLIENT = "app01_127.0.0.1_4_java_1.13.4_{time}_{session}"
WAIT = 10.0


def node_client(hosts: str) -> KazooClient:
    """A second ZooKeeper session, as a memcached node has its own."""
    client = KazooClient(hosts=hosts, timeout=10.0)
    client.start(timeout=15)
    return client


def join(client: KazooClient, endpoint: str, hostname: str) -> None:
    """What arcus-memcached does: its ephemeral entry, then its log line."""
    client.create(f"/arcus/cache_list/{SERVICE}/{endpoint}-{hostname}", b"64MB", ephemeral=True)
    day = datetime.date.today().isoformat()
    client.create(f"/arcus/cache_server_log/{day}/{endpoint}-{hostname}-", b"join", sequence=True, makepath=True)


def register(zk_client: KazooClient) -> None:
    for endpoint in (N1, N2, N3):
        zk_client.create(f"/arcus/cache_server_mapping/{endpoint}/{SERVICE}", makepath=True)
    zk_client.create(f"/arcus/cache_list/{SERVICE}", makepath=True)
    zk_client.create(f"/arcus/client_list/{SERVICE}", makepath=True)


def take(arrived: queue.Queue, count: int, what: str) -> list:
    """`count` events, waiting at most WAIT seconds in all."""
    events = []
    deadline = time.monotonic() + WAIT
    while len(events) < count:
        left = deadline - time.monotonic()
        assert left > 0, f"not within {WAIT} s: {what}; got {events}"
        try:
            events.extend(arrived.get(timeout=left))
        except queue.Empty:
            pass
    return events


def test_joined_left_rejoined_and_the_clients_arrive_by_watch(zk_hosts, zk_client):
    register(zk_client)
    old = node_client(zk_hosts)  # N2 joined and left before we started: only the log knows
    join(old, N2, "cache002")
    old.stop(), old.close()
    node1 = node_client(zk_hosts)
    node1.create(f"/arcus/cache_list/{SERVICE}/{N1}-cache001", b"64MB", ephemeral=True)  # online, never logged
    other = node_client(zk_hosts)
    other.create("/arcus/cache_server_log/2020-01-01/127.0.9.9:11211-elsewhere-0000000001", b"join",
                 makepath=True)  # another service's node: not ours

    arrived: queue.Queue = queue.Queue()
    clients: queue.Queue = queue.Queue()
    stream = CloudEventStream(zk_hosts, SERVICE, arrived.put, clients.put, since_log=True)
    nodes = [node1, other]
    try:
        stream.start()
        first = take(arrived, 2, "the history and the node online now")
        assert [(e.kind, e.endpoint, e.source) for e in first] == [
            (EventKind.JOINED, N2, Source.LOG), (EventKind.JOINED, N1, Source.ONLINE)]
        assert first[0].detail == "join" and abs(first[0].at - time.time()) < 60
        assert clients.get(timeout=WAIT) == ()

        node3 = node_client(zk_hosts)
        nodes.append(node3)
        join(node3, N3, "cache003")
        assert [(e.kind, e.endpoint, e.hostname, e.source) for e in take(arrived, 1, "N3 joining")] == [
            (EventKind.JOINED, N3, "cache003", Source.WATCH)]

        node3.stop()  # its session ends: ZooKeeper deletes the entry
        assert [(e.kind, e.endpoint) for e in take(arrived, 1, "N3 leaving")] == [(EventKind.LEFT, N3)]

        again = node_client(zk_hosts)
        nodes.append(again)
        join(again, N3, "cache003")
        assert [(e.kind, e.endpoint) for e in take(arrived, 1, "N3 back")] == [(EventKind.REJOINED, N3)]

        node2 = node_client(zk_hosts)
        nodes.append(node2)
        join(node2, N2, "cache002")  # left before we started, known from the log
        assert [(e.kind, e.endpoint) for e in take(arrived, 1, "N2 back")] == [(EventKind.REJOINED, N2)]
        assert stream.online == {N1: "cache001", N2: "cache002", N3: "cache003"}

        app = node_client(zk_hosts)
        nodes.append(app)
        name = JAVA_CLIENT.format(time=time.strftime("%Y%m%d%H%M%S"), session=app.client_id[0])
        app.create(f"/arcus/client_list/{SERVICE}/{name}", ephemeral=True)
        seen = clients.get(timeout=WAIT)
        assert [(c.hostname, c.kind, c.pool_size, c.session_hex) for c in seen] == [
            ("app01", "java", 4, hex(app.client_id[0]))]

        with pytest.raises(ReadOnlyError):
            stream.session.create(f"/arcus/cache_list/{SERVICE}/written-by-the-stream")
        assert len(stream.ring) == 6
    finally:
        stream.close()
        for node in nodes:
            node.stop(), node.close()


def test_read_client_list_parses_java_c_and_unknown_entries(zk_hosts, zk_client):
    register(zk_client)
    for name in ("web_127.0.0.1_2_java_1.13.4_20261203010203_72057594037927937",
                 "batch_NULL_1_c_1.10.2_20261203020304_100000abc0001", "something-else"):
        zk_client.create(f"/arcus/client_list/{SERVICE}/{name}", ephemeral=True)
    with RegistrySession.connect(zk_hosts, read_only=True) as session:
        found = read_client_list(session, SERVICE)
        missing = read_client_list(session, "no-such-service")
    assert found.path == f"/arcus/client_list/{SERVICE}"
    assert [(e.known, e.hostname or e.name, e.kind, e.session_hex) for e in found.entries] == [
        (True, "web", "java", "0x100000000000001"), (True, "batch", "c", "0x100000abc0001"),
        (False, "something-else", "", "")]
    assert not missing.exists


def cluster_file(tmp_path: Path, zk_hosts: str, service: str = SERVICE) -> Path:
    path = tmp_path / f"{service}.toml"
    path.write_text(cluster_text(service, [host_table("cache001", "127.0.1.1")], user=None,
                                 servers=zk_hosts.split(",")))
    return path


def test_events_and_clients_verbs(zk_hosts, zk_client, tmp_path, capsys):
    register(zk_client)
    node = node_client(zk_hosts)
    try:
        path = cluster_file(tmp_path, zk_hosts)
        assert main(["events", str(path), "--since-log"]) == 0  # nothing online, nothing logged
        out, err = capsys.readouterr()
        assert out == "" and "no /arcus/cache_server_log" in err
        join(node, N1, "cache001")
        assert main(["events", str(path), "--since-log"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == 1 and f"joined    {N1}  cache001  (log)" in lines[0]  # the log line, not twice

        assert main(["events", str(path), "--json"]) == 0
        (record,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert (record["event"], record["node"], record["source"]) == ("joined", N1, "online")

        zk_client.create(f"/arcus/client_list/{SERVICE}/web_127.0.0.1_2_java_1.13.4_20261203010203_5",
                         ephemeral=True)
        assert main(["clients", str(path)]) == 0
        out = capsys.readouterr().out
        assert "1 client of events-real" in out and "web" in out and "java" in out and "0x5" in out
        assert main(["clients", str(path), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["clients"][0]["pool_size"] == 2

        assert main(["events", str(path), "--for", "1"]) == 2  # --for needs --follow
        assert main(["events", str(cluster_file(tmp_path, zk_hosts, "not-registered"))]) == 1
        assert "'not-registered' is not registered" in capsys.readouterr().err
        zk_client.delete(f"/arcus/client_list/{SERVICE}", recursive=True)
        assert main(["clients", str(path)]) == 1
        assert "no client_list znode" in capsys.readouterr().out
    finally:
        node.stop(), node.close()


def line_reader(stream) -> queue.Queue:
    """The lines of a pipe, read by a thread, so the test waits for each with a timeout."""
    lines: queue.Queue = queue.Queue()

    def read():
        for line in stream:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def test_events_follow_prints_live_events_and_ctrl_c_ends_it_cleanly(zk_hosts, zk_client, tmp_path):
    register(zk_client)
    path = cluster_file(tmp_path, zk_hosts)
    zk_client.create(f"/arcus/cache_list/{SERVICE}/{N1}-cache001", ephemeral=True)
    follow = subprocess.Popen([sys.executable, "-m", "arcus_tui", "events", str(path), "--follow"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
    node = node_client(zk_hosts)
    lines = line_reader(follow.stdout)
    try:
        line = lines.get(timeout=WAIT)  # printed once the verb has read everything and set its watch
        assert f"joined    {N1}  cache001  (online)" in line, line
        join(node, N2, "cache002")
        line = lines.get(timeout=WAIT)
        assert f"joined    {N2}  cache002  (watch)" in line, line
        node.stop()
        line = lines.get(timeout=WAIT)
        assert f"left      {N2}  cache002  (watch)" in line, line
        follow.send_signal(signal.SIGINT)
        follow.wait(timeout=WAIT)
        err = follow.stderr.read()
        assert follow.returncode == 0, err
        assert "Traceback" not in err and err.strip() == ""
    finally:
        if follow.poll() is None:
            follow.kill()
            follow.wait(timeout=WAIT)
        node.close()


@pytest.mark.memcached
@pytest.mark.timeout(1800)  # the first session compiles the package (about 30 s on 2 cores)
def test_a_real_arcus_memcached_joining_leaving_and_rejoining(arcus_package, zk_hosts, zk_client, tmp_path):
    """The real daemon writes its own entry and its own log line: both are read as it writes them."""
    from arcus_tui.localhost import free_port
    from tests.integration.test_package_build_real import host_env, stop

    port = free_port("127.0.0.1")
    endpoint = f"127.0.0.1:{port}"
    zk_client.create(f"/arcus/cache_server_mapping/{endpoint}/{SERVICE}", makepath=True)
    zk_client.create(f"/arcus/cache_list/{SERVICE}", makepath=True)
    # arcus-memcached logs only under an existing cache_server_log (it creates the date, not the
    # parent); `zookeeper init` does not create it, ARCUS's own test set-ups (arcus-misc) do.
    zk_client.create("/arcus/cache_server_log")
    lib = arcus_package / "lib"
    argv = [str(arcus_package / "bin" / "memcached"), "-E", str(lib / "default_engine.so"),
            "-X", str(lib / "syslog_logger.so"), "-X", str(lib / "ascii_scrub.so"),
            "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "64", "-z", zk_hosts]
    if os.geteuid() == 0:
        argv += ["-u", "root"]  # it refuses to run as root otherwise
    env = {**host_env(), "ARCUS_CACHE_PUBLIC_IP": "127.0.0.1"}  # on loopback it would find no mapping

    def start(run: int) -> subprocess.Popen:
        with open(tmp_path / f"memcached-{run}.log", "wb") as log:
            return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)

    arrived: queue.Queue = queue.Queue()
    stream = CloudEventStream(zk_hosts, SERVICE, arrived.put, since_log=True)
    daemons: list[subprocess.Popen] = []
    try:
        stream.start()
        assert arrived.empty()  # nothing online, nothing logged yet
        daemons.append(start(1))
        (joined,) = take(arrived, 1, "arcus-memcached joining")
        assert (joined.kind, joined.endpoint, joined.source) == (EventKind.JOINED, endpoint, Source.WATCH)
        assert joined.hostname  # its reverse-looked-up name, as it wrote it
        stop(daemons[0].pid)  # SIGTERM: it closes its session, ZooKeeper drops the entry at once
        daemons[0].wait(timeout=WAIT)
        assert [(e.kind, e.endpoint) for e in take(arrived, 1, "arcus-memcached leaving")] == [
            (EventKind.LEFT, endpoint)]
        daemons.append(start(2))
        assert [(e.kind, e.endpoint) for e in take(arrived, 1, "arcus-memcached back")] == [
            (EventKind.REJOINED, endpoint)]
        stream.close()
        history: queue.Queue = queue.Queue()
        later = CloudEventStream(zk_hosts, SERVICE, history.put, since_log=True)
        later.start()
        later.close()
        logged = take(history, 2, "its two log lines")  # the second also covers the entry online now
        assert [(e.kind, e.endpoint, e.source, e.detail) for e in logged] == [
            (EventKind.JOINED, endpoint, Source.LOG, "join"), (EventKind.REJOINED, endpoint, Source.LOG, "join")]
        assert logged[0].at <= logged[1].at and abs(logged[1].at - time.time()) < 60
        assert history.empty()
    finally:  # whatever failed, every daemon this test started is stopped, by its PID
        stream.close()
        for daemon in daemons:
            if daemon.poll() is None:
                stop(daemon.pid)
                daemon.wait(timeout=WAIT)


async def test_the_events_tab_of_the_read_only_app_follows_a_node_and_a_client(zk_hosts, zk_client):
    """Key 6 in `arcus-tui --read-only`: the pane's own read-only session, live rows."""
    from textual.widgets import DataTable, TabbedContent

    from arcus_tui.model import Cluster, Host, MemcachedNode, ZooKeeperSettings
    from arcus_tui.ui.app import ArcusApp
    from tests.unit.ui_waits import until

    register(zk_client)
    cluster = Cluster(service_code=SERVICE, zookeeper=ZooKeeperSettings(servers=tuple(zk_hosts.split(","))),
                      hosts=(Host("cache001", "127.0.1.1", memcached=(MemcachedNode(11211),)),))
    node = node_client(zk_hosts)
    app = ArcusApp(cluster, "events.toml", read_only=True)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await pilot.press("6")
            pane = app.screen.query_one(TabbedContent).active_pane.query_one("EventsPane")
            table, clients = pane.query_one("#ev-table", DataTable), pane.query_one("#ev-clients", DataTable)

            await until(pilot, lambda: pane.state == "connected", "connected", WAIT)
            join(node, N1, "cache001")
            await until(pilot, lambda: table.row_count == 1, "the join drawn", WAIT)
            assert [c.plain for c in table.get_row_at(0)][1:4] == ["joined", N1, "cache001"]
            node.stop()
            await until(pilot, lambda: table.row_count == 2, "the leave drawn", WAIT)
            assert [c.plain for c in table.get_row_at(0)][1:3] == ["left", N1]  # newest first
            zk_client.create(f"/arcus/client_list/{SERVICE}/web_127.0.0.1_2_c_1.10.2_20261203010203_abc",
                             ephemeral=True)
            await until(pilot, lambda: clients.row_count == 1, "the client drawn", WAIT)
            assert [c.plain for c in clients.get_row_at(0)][:3] == ["web", "127.0.0.1", "c"]
            with pytest.raises(ReadOnlyError):
                pane.source.session.create(f"/arcus/cache_list/{SERVICE}/x")
    finally:
        node.close()
