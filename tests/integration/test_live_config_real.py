"""Live configuration, `mc` and capacity against the REAL arcus-memcached 1.15.0 (built by the
`arcus_package` fixture) and the suite's real ZooKeeper ensemble (127.0.2.1-3:2181).

Two nodes run standalone (no -z: arcus-memcached then runs without ZooKeeper) on
127.0.3.1 and 127.0.3.2, started here in the foreground and stopped by their PIDs.

- `config memlimit` / `config maxconns` change what `stats settings` reports, in the
  same process (same PID), and the node mappings in ZooKeeper then equal what
  `register` writes for the file (the next register changes nothing; `created` kept).
- A maxconns above the open-files limit the daemon set at start is refused by the
  daemon, and the result says it needs a restart.
- `arcus-tui mc` runs `stats` on both nodes; a writing command is refused and never sent.

Run with the real-daemon lock: flock /tmp/arcus-tui-real-daemons.lock <pytest ...>
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from arcus_tui.cli import main
from arcus_tui.deploy.live_config import apply_plan, read_plan
from arcus_tui.localhost import free_port, wait_listening
from arcus_tui.model import Cluster, Host, MemcachedNode
from arcus_tui.model.arcus_json import export_arcus
from arcus_tui.model.cluster import NodeSettings, ZooKeeperSettings
from arcus_tui.monitor.admin import run_on_nodes
from arcus_tui.monitor.capacity import collect_capacity
from arcus_tui.monitor.memcached_stats import fetch_stats
from arcus_tui.zk import paths
from arcus_tui.zk.registry import init_arcus, nodes_from_cluster_json, register, registration_diff
from tests.unit.cluster_texts import cluster_text, host_table

pytestmark = pytest.mark.memcached

ADDRESSES = ("127.0.3.1", "127.0.3.2")
SERVICE = "live-config"
START = NodeSettings(threads=2, memlimit=64, connections=100)


def exited(process: subprocess.Popen, log: Path):
    if process.poll() is None:
        return None
    return f"memcached exited with {process.returncode}: {log.read_text()[-2000:]}"


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGINT)  # by the PID we started, never by name
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
def daemons(arcus_package, tmp_path):
    """Two standalone arcus-memcached nodes: yields their endpoints ('ip:port')."""
    started: list[subprocess.Popen] = []
    endpoints = []
    try:
        for address in ADDRESSES:
            port = free_port(address)
            log = tmp_path / f"memcached-{address}-{port}.log"
            command = [str(arcus_package / "bin" / "memcached"), "-E", str(arcus_package / "lib" / "default_engine.so"),
                       "-l", address, "-p", str(port), "-U", "0", "-m", str(START.memlimit),
                       "-c", str(START.connections), "-t", str(START.threads)]
            if os.geteuid() == 0:
                command += ["-u", "root"]  # memcached refuses to run as root without it
            with open(log, "wb") as out:
                process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                           cwd=tmp_path)
            started.append(process)
            wait_listening(address, port, lambda: exited(process, log), deadline=15.0)
            endpoints.append(f"{address}:{port}")
        yield endpoints
    finally:
        for process in started:
            stop(process)


def cluster_of(endpoints, zk_hosts: str, settings: NodeSettings) -> Cluster:
    hosts = tuple(Host(f"node{index}", endpoint.split(":")[0], memcached=(MemcachedNode(int(endpoint.split(":")[1])),))
                  for index, endpoint in enumerate(endpoints, start=1))
    return Cluster(service_code=SERVICE, hosts=hosts, memcached=settings,
                   zookeeper=ZooKeeperSettings(servers=tuple(zk_hosts.split(","))))


def settings_of(endpoint: str) -> dict:
    return dict(asyncio.run(fetch_stats(endpoint, group="settings")).raw)


def pid_of(endpoint: str) -> str:
    return asyncio.run(fetch_stats(endpoint)).raw["pid"]


@pytest.mark.zookeeper
def test_live_config_changes_the_running_nodes_and_their_mappings(daemons, zk_hosts, zk_session):
    before = cluster_of(daemons, zk_hosts, START)
    init_arcus(zk_session)
    document = export_arcus(before)
    register(zk_session, SERVICE, document, nodes_from_cluster_json(document))
    created = json.loads(zk_session.get(paths.service_cache_list(SERVICE))[0])["created"]
    pids = {endpoint: pid_of(endpoint) for endpoint in daemons}

    after = replace(before, memcached=replace(START, memlimit=128, connections=150))
    plan = asyncio.run(read_plan(after))
    assert sorted((d.endpoint, d.setting, d.running, d.wanted) for d in plan.live) == sorted(
        [(e, "memlimit", 64, 128) for e in daemons] + [(e, "connections", 100, 150) for e in daemons])
    assert plan.mapping_changes and not plan.registry_blocked and not plan.restart

    result = asyncio.run(apply_plan(after, plan))
    assert result.ok, result.to_json()
    for endpoint in daemons:
        running = settings_of(endpoint)
        assert running["maxbytes"] == str(128 * 1024 * 1024) and running["maxconns"] == "150"
        assert pid_of(endpoint) == pids[endpoint]  # changed live: the same process
        assert result.verified[endpoint]

    # The mappings are what `register` writes for the new file: the next register changes nothing.
    new_document = export_arcus(after)
    for mapping in nodes_from_cluster_json(new_document):
        stored = json.loads(zk_session.get(paths.mapping(mapping.key))[0])
        assert stored == mapping.config and stored["memlimit"] == "128" and stored["connections"] == "150"
    assert not registration_diff(zk_session, SERVICE, new_document, nodes_from_cluster_json(new_document)).changed
    again = register(zk_session, SERVICE, new_document, nodes_from_cluster_json(new_document))
    assert not again.changed
    assert json.loads(zk_session.get(paths.service_cache_list(SERVICE))[0])["created"] == created

    # Read again: nothing left to do.
    assert not asyncio.run(read_plan(after)).needs_action


@pytest.mark.zookeeper
def test_maxconns_over_the_open_files_limit_is_refused_and_needs_a_restart(daemons, zk_hosts):
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft > 900_000:
        pytest.skip(f"open-files soft limit {soft}: no maxconns above it is accepted by the model")
    too_many = soft + 100  # the daemon set its limit to max(soft, 100 + 20) at start
    cluster = cluster_of(daemons[:1], zk_hosts, replace(START, connections=too_many))
    plan = asyncio.run(read_plan(cluster))
    result = asyncio.run(apply_plan(cluster, plan))
    assert not result.ok
    why = result.failed[daemons[0]]
    assert "SERVER_ERROR cannot change to the maxconns over the soft limit" in why and "needs a restart" in why
    assert settings_of(daemons[0])["maxconns"] == "100"


def test_mc_runs_stats_on_both_nodes_and_refuses_a_write(daemons, tmp_path, capsys):
    cluster_file = tmp_path / "cluster.toml"
    hosts = [host_table(f"node{i}", e.split(":")[0], memcached=[int(e.split(":")[1])])
             for i, e in enumerate(daemons, start=1)]
    cluster_file.write_text(cluster_text(SERVICE, hosts, servers=["127.0.2.1:2181"]))
    assert main(["mc", str(cluster_file), "--", "stats"]) == 0
    out = capsys.readouterr().out
    for endpoint in daemons:
        assert f"[{endpoint}] ok" in out
    assert out.count("STAT version 1.15.0") == 2 and "2 ok, 0 failed, 0 refused (of 2 node(s))" in out

    assert main(["mc", str(cluster_file), "--", "flush_all"]) == 2
    assert "pass --allow-writes" in capsys.readouterr().err
    replies = asyncio.run(run_on_nodes(daemons, "stats"))
    assert all("STAT cmd_flush 0" in reply.lines for reply in replies.values())  # never sent

    report = asyncio.run(collect_capacity(cluster_of(daemons, "127.0.2.1:2181", START)))
    assert report.total.read == 2 and report.total.memory.limit == 2 * 64 * 1024 * 1024
    assert report.total.connections.limit == 2 * 100  # limit_maxconns of `stats`
