"""The whole way there and back on real parts: OpenSSH, Debian's ZooKeeper and
memcached (behind the stand-in for arcus-memcached), three practice hosts on
127.0.1.1-3 as in the guide's diagram."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import time

import pytest
from kazoo.client import KazooClient

from arcus_tui.cli import main
from arcus_tui.deploy.plan import StepId, setup_plan
from arcus_tui.deploy.runner import Runner, RunnerOptions
from arcus_tui.events import HostState
from arcus_tui.ssh.paths import SshPaths

pytestmark = pytest.mark.timeout(300)

SERVICE = "sandbox-cloud"
NODE_PORTS = (11211, 11212)


WAITS = {StepId.ZOOKEEPER_QUORUM, StepId.MEMCACHED_ONLINE}  # checks, not changes: they report ok


async def engine_setup(sandbox):
    """The setup plan through the engine itself, to read every (step, host) outcome."""
    async def trust(question):
        return question.fingerprint in sandbox.fingerprints

    options = RunnerOptions(ssh_paths=SshPaths.under(sandbox.ssh_dir), on_unknown_host_key=trust)
    async with Runner(sandbox.cluster, options) as runner:
        return await runner.run(setup_plan(sandbox.cluster))


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def memcached_roundtrip(address: str, port: int, key: str, value: str) -> str:
    """set then get over the memcached text protocol; returns what get answered."""
    with socket.create_connection((address, port), timeout=5) as conn:
        conn.sendall(f"set {key} 0 0 {len(value)}\r\n{value}\r\n".encode())
        assert conn.recv(64) == b"STORED\r\n"
        conn.sendall(f"get {key}\r\n".encode())
        reply = b""
        while not reply.endswith(b"END\r\n"):
            chunk = conn.recv(4096)
            assert chunk, "connection closed"
            reply += chunk
    return reply.decode().split("\r\n")[1]


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


def node_processes(home: str) -> dict[int, int]:
    """port -> supervisor pid of the stand-ins running from one practice home (by /proc)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = open(f"/proc/{entry}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        words = [word.decode(errors="replace") for word in argv if word]
        if len(words) > 1 and words[1] == f"{home}/arcus/bin/memcached":
            found.setdefault(int(words[words.index("-p") + 1]), []).append(int(entry))
    return found


def stock_memcached_child(supervisor: int) -> int:
    children = subprocess.run(["pgrep", "-P", str(supervisor)], capture_output=True, text=True).stdout.split()
    assert len(children) == 1, f"stand-in {supervisor} has children {children}"
    return int(children[0])


def listeners_on(endpoints: set[str]) -> list[str]:
    """Listening TCP sockets (ss) on any of `endpoints` ("address:port")."""
    out = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if any(f" {endpoint} " in f" {line} " for endpoint in endpoints)]


def test_setup_from_nothing_status_repair_and_teardown(practice_sandbox, capsys):
    sandbox = practice_sandbox
    cluster = sandbox.cluster
    file = str(sandbox.cluster_file)
    access = sandbox.cli_access()

    # 1. setup from nothing: key, copy (password), verify, upload, ZooKeeper, register, memcached
    code, out, err = cli(capsys, "setup", file, "--yes", "--password-file", str(sandbox.password_file), *access)
    assert code == 0, out + err
    assert "practice-pw" not in out + err

    # 2. one leader, two followers
    code, out, _ = cli(capsys, "status", file, "--json", *access)
    status = json.loads(out)
    modes = sorted(member["mode"] for member in status["zookeeper"])
    assert modes == ["follower", "follower", "leader"]

    # 3. six nodes online
    service = next(s for s in status["services"] if s["service_code"] == SERVICE)
    assert service["status"] == "OK" and len(service["online"]) == 6 and code == 0

    # 4. an independent client finds the nodes through ZooKeeper and uses every one
    client = KazooClient(hosts=cluster.connect_string)
    client.start(timeout=15)
    try:
        live = client.get_children(f"/arcus/cache_list/{SERVICE}")
        endpoints = sorted(name.split("-", 1)[0] for name in live)
        assert endpoints == sorted(node.endpoint for node in cluster.nodes())
        for endpoint in endpoints:
            address, port = endpoint.split(":")
            assert memcached_roundtrip(address, int(port), "greeting", f"hello-{endpoint}") == f"hello-{endpoint}"
        before_tree = registry_tree(client)

        # 5. kill one memcached (the cache process itself, by SIGKILL): SOME_DOWN, that node offline
        victim_host = cluster.hosts[1]
        supervisors = {host.name: node_processes(f"/home/{host.user}") for host in cluster.hosts}
        os.kill(stock_memcached_child(supervisors[victim_host.name][11212][0]), signal.SIGKILL)
        victim = f"{victim_host.address}:11212"
        wait_until(lambda: len(client.get_children(f"/arcus/cache_list/{SERVICE}")) == 5, 30, "the node to drop out")
        code, out, _ = cli(capsys, "status", file, "--json", *access)
        status = json.loads(out)
        service = next(s for s in status["services"] if s["service_code"] == SERVICE)
        assert code != 0 and service["status"] == "SOME_DOWN" and service["offline"] == [victim]
        assert {n["endpoint"]: n["process"] for n in status["nodes"]}[victim] == "stopped"

        # 6. setup again: the node is back and nothing else changed
        code, out, err = cli(capsys, "setup", file, "--yes", "--password-file", str(sandbox.password_file), *access)
        assert code == 0, out + err
        assert len(client.get_children(f"/arcus/cache_list/{SERVICE}")) == 6
        after_tree = registry_tree(client)
        assert after_tree.keys() == before_tree.keys()  # no duplicate or missing znodes
        changed = {path for path in before_tree if before_tree[path] != after_tree[path]}
        assert changed == set(), changed  # not even `modified` of the service was touched
        for host in cluster.hosts:
            now = node_processes(f"/home/{host.user}")
            assert sorted(now) == list(NODE_PORTS) and all(len(pids) == 1 for pids in now.values())
            for port in NODE_PORTS:
                if (host.name, port) != (victim_host.name, 11212):
                    assert now[port] == supervisors[host.name][port]  # untouched: same process
        address, port = victim.split(":")
        assert memcached_roundtrip(address, int(port), "again", "back") == "back"

        # 6b. and a third run has nothing left to do anywhere
        report = asyncio.run(engine_setup(sandbox))
        busy = [(step.value, target, outcome.state.value) for (step, target), outcome in report.outcomes.items()
                if outcome.state is not HostState.ALREADY_DONE and step not in WAITS]
        assert report.ok and busy == []
    finally:
        client.stop()
        client.close()

    # 7. stop the nodes and unregister, then stop ZooKeeper
    code, out, err = cli(capsys, "unregister", file, "--yes", "--stop-nodes", *access)
    assert code == 0, out + err
    code, out, err = cli(capsys, "stop", file, "zookeeper", "--yes", *access)
    assert code == 0, out + err
    assert all(not node_processes(f"/home/{host.user}") for host in cluster.hosts)

    # 8. teardown leaves no listener and no process behind (the practice sshd is the host itself)
    service_ports = {2181, 2888, 3888, *NODE_PORTS}
    endpoints = {f"{host.address}:{port}" for host in cluster.hosts for port in service_ports}
    wait_until(lambda: not listeners_on(endpoints), 15, "listeners to close")
    users = {host.user for host in cluster.hosts}
    processes = subprocess.run(["ps", "-eo", "user:32,args", "--no-headers"], capture_output=True,
                               text=True).stdout.splitlines()
    assert [line for line in processes if line.split()[0] in users and "sshd" not in line] == []
