"""The whole way there and back on real parts: OpenSSH, Debian's ZooKeeper and the real
arcus-memcached (built from source by the `arcus_package` fixture), three practice hosts
on 127.0.1.1-3 as in the guide's diagram, and NAVER's own Python client to prove that
the cloud serves."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time

import pytest
from kazoo.client import KazooClient

from arcus_tui.deploy.plan import StepId, setup_plan
from arcus_tui.deploy.runner import Runner, RunnerOptions
from arcus_tui.events import HostState
from arcus_tui.monitor.memcached_stats import fetch_stats
from arcus_tui.sandbox.practice_hosts import load_state, stop_hosts
from arcus_tui.ssh.paths import SshPaths
from tests.e2e.arcus_client import client_dir, exercise
from tests.e2e.sandbox_checks import cli, node_processes
from tests.infra.require import missing
from tests.waits import wait_until

pytestmark = pytest.mark.timeout(420)

SERVICE = "sandbox-cloud"
NODE_PORTS = (11211, 11212)
ENTRY_NAME = re.compile(r"^(\d+\.\d+\.\d+\.\d+:\d+)-(.+)$")  # <ip>:<port>-<hostname>


WAITS = {StepId.ZOOKEEPER_QUORUM, StepId.MEMCACHED_ONLINE}  # checks, not changes: they report ok


async def engine_setup(sandbox):
    """The setup plan through the engine itself, to read every (step, host) outcome."""
    async def trust(question):
        return question.fingerprint in sandbox.fingerprints

    options = RunnerOptions(ssh_paths=SshPaths.under(sandbox.ssh_dir), on_unknown_host_key=trust)
    async with Runner(sandbox.cluster, options) as runner:
        return await runner.run(setup_plan(sandbox.cluster))


def registry_tree(client: KazooClient, path: str = "/arcus") -> dict[str, bytes]:
    """Every znode under `path` with its data, except the ever-growing join log."""
    tree = {}
    for child in client.get_children(path):
        child_path = f"{path}/{child}"
        if child_path.startswith("/arcus/cache_server_log"):
            continue
        tree[child_path] = client.get(child_path)[0]
        tree.update(registry_tree(client, child_path))
    return tree


def listeners_on(endpoints: set[str]) -> list[str]:
    """Listening TCP sockets (ss) on any of `endpoints` ("address:port")."""
    out = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if any(f" {endpoint} " in f" {line} " for endpoint in endpoints)]


def service_status(capsys, file: str, access: list[str]) -> tuple[int, dict, dict]:
    code, out, _ = cli(capsys, "status", file, "--json", *access)
    status = json.loads(out)
    return code, status, next(s for s in status["services"] if s["service_code"] == SERVICE)


def live_entries(client: KazooClient) -> list[str]:
    return client.get_children(f"/arcus/cache_list/{SERVICE}")


def test_setup_from_nothing_serve_repair_and_teardown(practice_sandbox, capsys):
    sandbox = practice_sandbox
    cluster = sandbox.cluster
    file = str(sandbox.cluster_file)
    access = sandbox.cli_access()
    password = ("--password-file", str(sandbox.password_file))
    if client_dir() is None:
        missing("NAVER's arcus-python-client is not beside the checkout (../shared/arcus/arcus-python-client)")

    # 1. setup from nothing: key, copy (password), verify, upload, ZooKeeper, register, memcached
    code, out, err = cli(capsys, "setup", file, "--yes", *password, *access)
    assert code == 0, out + err
    assert "practice-pw" not in out + err

    # 2. one leader, two followers; six nodes online
    code, status, service = service_status(capsys, file, access)
    assert sorted(member["mode"] for member in status["zookeeper"]) == ["follower", "follower", "leader"]
    assert code == 0 and service["status"] == "OK" and len(service["online"]) == 6

    client = KazooClient(hosts=cluster.connect_string)
    client.start(timeout=15)
    try:
        # 3. every node joined by itself, under <ip>:<port>-<hostname> (the daemon looks its hostname up)
        names = live_entries(client)
        parsed = [ENTRY_NAME.match(name) for name in names]
        assert all(parsed), names
        assert sorted(m.group(1) for m in parsed) == sorted(node.endpoint for node in cluster.nodes())

        # 4. the real daemon speaks ARCUS: its ZooKeeper link is up on every node
        for node in cluster.nodes():
            zk_stats = asyncio.run(fetch_stats(node.endpoint, group="zookeeper")).raw
            assert zk_stats["zk_connected"] == "true" and zk_stats["zk_timeout"] == "10000", (node.endpoint, zk_stats)

        # 5. NAVER's client finds the nodes in ZooKeeper, spreads 1,000 keys over all six, and collections work
        report = exercise(cluster.connect_string, SERVICE, keys=1000, timeout=90)
        assert report.keys_set == report.keys_got == 1000
        assert set(report.nodes_used) == {node.endpoint for node in cluster.nodes()}, report.nodes_used
        assert report.list_items and report.set_items and report.btree_items
        before_tree = registry_tree(client)
        processes = {host.name: node_processes(f"/home/{host.user}") for host in cluster.hosts}
        assert all(sorted(found) == list(NODE_PORTS) for found in processes.values()), processes

        # 6. kill -9 one node: its session expires within the session timeout, and status says SOME_DOWN
        first = cluster.hosts[1]
        first_victim = f"{first.address}:11212"
        killed = time.monotonic()
        os.kill(processes[first.name][11212][0], signal.SIGKILL)
        wait_until(lambda: len(live_entries(client)) == 5, cluster.node_session_timeout + 5, "the node to drop out")
        assert time.monotonic() - killed < cluster.node_session_timeout + 5
        code, status, service = service_status(capsys, file, access)
        assert code != 0 and service["status"] == "SOME_DOWN" and service["offline"] == [first_victim]
        assert {n["endpoint"]: n["process"] for n in status["nodes"]}[first_victim] == "stopped"

        # 7. kill -9 another and repair at once: its old session still holds its entry (ZNODEEXISTS for
        #    the daemon), so setup waits it out, then starts it; the first victim starts right away
        second = cluster.hosts[2]
        os.kill(processes[second.name][11211][0], signal.SIGKILL)
        code, out, err = cli(capsys, "setup", file, "--yes", *password, *access)
        assert code == 0, out + err
        assert re.search(rf"{second.name}.*previous session still registered \({re.escape(second.address)}:11211-", out), out
        assert "waiting up to 15s for it to expire" in out
        assert len(live_entries(client)) == 6
        after_tree = registry_tree(client)
        assert after_tree.keys() == before_tree.keys()  # no duplicate or missing znodes
        assert {path for path in before_tree if before_tree[path] != after_tree[path]} == set()
        victims = {(first.name, 11212), (second.name, 11211)}
        for host in cluster.hosts:
            now = node_processes(f"/home/{host.user}")
            assert sorted(now) == list(NODE_PORTS) and all(len(pids) == 1 for pids in now.values())
            for port in NODE_PORTS:
                if (host.name, port) not in victims:
                    assert now[port] == processes[host.name][port]  # untouched: the same process
        assert exercise(cluster.connect_string, SERVICE, keys=200, timeout=60).keys_got == 200

        # 8. a third run has nothing left to do anywhere
        report = asyncio.run(engine_setup(sandbox))
        busy = [(step.value, target, outcome.state.value) for (step, target), outcome in report.outcomes.items()
                if outcome.state is not HostState.ALREADY_DONE and step not in WAITS]
        assert report.ok and busy == []
    finally:
        client.stop()
        client.close()

    # 9. what `sandbox down` does (nodes first, then the ensemble) lets the next setup start at once
    stop_hosts(load_state(sandbox.state_dir), sshd=False)
    code, out, err = cli(capsys, "setup", file, "--yes", *password, *access)
    assert code == 0, out + err
    assert "previous session still registered" not in out

    # 10. stop the nodes and unregister, then stop ZooKeeper
    code, out, err = cli(capsys, "unregister", file, "--yes", "--stop-nodes", *access)
    assert code == 0, out + err
    code, out, err = cli(capsys, "stop", file, "zookeeper", "--yes", *access)
    assert code == 0, out + err
    assert all(not node_processes(f"/home/{host.user}") for host in cluster.hosts)

    # 11. teardown leaves no listener and no process behind (the practice sshd is the host itself)
    service_ports = {2181, 2888, 3888, *NODE_PORTS}
    endpoints = {f"{host.address}:{port}" for host in cluster.hosts for port in service_ports}
    wait_until(lambda: not listeners_on(endpoints), 15, "listeners to close")
    users = {host.user for host in cluster.hosts}
    processes = subprocess.run(["ps", "-eo", "user:32,args", "--no-headers"], capture_output=True,
                               text=True).stdout.splitlines()
    assert [line for line in processes if line.split()[0] in users and "sshd" not in line] == []
