"""Faults, end to end on the practice sandbox: the gateway killed mid-setup, the
quorum lost before register, a host whose command hangs, and a wrong SSH password. Real
parts only (OpenSSH, the bundled ZooKeeper, the real arcus-memcached); every wait is bounded.

Each test starts from whatever the session left (setup is idempotent) and leaves the
sandbox torn down: nodes stopped and unregistered, ZooKeeper stopped."""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kazoo.client import KazooClient

from arcus_tui.deploy.plan import StepId, setup_plan
from arcus_tui.deploy.runner import Runner, RunnerOptions
from arcus_tui.ssh.paths import SshPaths
from tests.e2e.sandbox_checks import cmdlines, cli, node_processes
from tests.waits import wait_until

pytestmark = pytest.mark.timeout(420)  # the fixture may first wait for the practice hosts to be free

SERVICE = "sandbox-cloud"
NODE_PORTS = (11211, 11212)
REPO = Path(__file__).resolve().parents[2]


# -- helpers ---------------------------------------------------------------------------------------

def home(host) -> str:
    return f"/home/{host.user}"


def zookeeper_processes(login_home: str) -> list[int]:
    """pids of the ZooKeeper servers running with one practice home's zoo.cfg (by /proc)."""
    config = f"{login_home}/arcus/zookeeper/conf/zoo.cfg"
    return [pid for pid, words in cmdlines() if "org.apache.zookeeper.server.quorum.QuorumPeerMain" in words
            and config in words]


def zookeeper_pidfile(host) -> Path:
    return Path(home(host)) / "arcus/zookeeper/data/zookeeper_server.pid"


def registry_tree(client: KazooClient, path: str = "/arcus") -> dict[str, object]:
    """Every znode under `path` with its data, except the ever-growing join log; JSON data is
    parsed and ARCUS's registration timestamps (created/modified) are left out, so that two
    clean runs at different times compare equal."""
    tree: dict[str, object] = {}
    for child in client.get_children(path):
        child_path = f"{path}/{child}"
        if child_path.startswith("/arcus/cache_server_log"):
            continue
        data = client.get(child_path)[0]
        try:
            value = json.loads(data) if data else data
        except ValueError:
            value = data
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in ("created", "modified")}
        tree[child_path] = value
        tree.update(registry_tree(client, child_path))
    return tree


def read_tree(cluster) -> dict[str, object]:
    client = KazooClient(hosts=cluster.connect_string)
    client.start(timeout=15)
    try:
        return registry_tree(client)
    finally:
        client.stop()
        client.close()


def assert_no_duplicates(sandbox, tree: dict[str, object]) -> None:
    """One ZooKeeper per member, one memcached per port, one cache_list entry per node."""
    cluster = sandbox.cluster
    for host in cluster.hosts:
        if host.zookeeper:
            assert len(zookeeper_processes(home(host))) == 1, (host.name, zookeeper_processes(home(host)))
        found = node_processes(home(host))
        assert sorted(found) == sorted(host.ports) and all(len(p) == 1 for p in found.values()), (host.name, found)
    prefix = f"/arcus/cache_list/{SERVICE}/"
    entries = [path[len(prefix):] for path in tree if path.startswith(prefix)]
    endpoints = [entry.split("-")[0] for entry in entries]
    assert sorted(endpoints) == sorted(node.endpoint for node in cluster.nodes()), entries


def persistent(tree: dict[str, object]) -> dict[str, object]:
    """The tree without the nodes' ephemeral cache_list entries."""
    prefix = f"/arcus/cache_list/{SERVICE}/"
    return {path: value for path, value in tree.items() if not path.startswith(prefix)}


def teardown(sandbox, capsys) -> None:
    """Nodes stopped and unregistered, then ZooKeeper stopped (as test_setup_sandbox ends)."""
    file, access = str(sandbox.cluster_file), sandbox.cli_access()
    code, out, err = cli(capsys, "unregister", file, "--yes", "--stop-nodes", *access)
    if code != 0:  # e.g. the ensemble is not up: stop whatever runs, by pidfile
        cli(capsys, "start", file, "zookeeper", "--yes", "--timeout", "30", *access)
        cli(capsys, "unregister", file, "--yes", "--stop-nodes", *access)
    code, out, err = cli(capsys, "stop", file, "all", "--yes", "--force", *access)
    assert code == 0, out + err
    for host in sandbox.cluster.hosts:
        assert not node_processes(home(host)) and not zookeeper_processes(home(host)), host.name


def ensure_torn_down(sandbox, capsys) -> None:
    """Tear down only when something of the practice cloud runs (a fresh sandbox has no ensemble
    to unregister from, and asking an absent one costs its connect timeout)."""
    if any(node_processes(home(h)) or zookeeper_processes(home(h)) for h in sandbox.cluster.hosts):
        teardown(sandbox, capsys)


def setup(sandbox, capsys) -> str:
    code, out, err = cli(capsys, "setup", str(sandbox.cluster_file), "--yes",
                         "--password-file", str(sandbox.password_file), *sandbox.cli_access())
    assert code == 0, out + err
    return out + err


def trust(sandbox):
    async def ask(question):
        return question.fingerprint in sandbox.fingerprints
    return ask


# -- 1. the gateway killed mid-setup ---------------------------------------------------------------

def test_gateway_killed_during_zookeeper_start_then_setup_converges(practice_sandbox, capsys):
    sandbox = practice_sandbox
    cluster = sandbox.cluster
    ensure_torn_down(sandbox, capsys)  # nothing runs: zookeeper-start has work to do on every member
    for host in cluster.hosts:
        zookeeper_pidfile(host).unlink(missing_ok=True)

    command = [sys.executable, "-u", "-m", "arcus_tui", "setup", str(sandbox.cluster_file), "--yes",
               "--password-file", str(sandbox.password_file), *sandbox.cli_access()]
    gateway = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    seen: list[str] = []
    try:
        buffer = b""
        deadline = time.monotonic() + 120
        while not any(line.startswith("==> zookeeper-start") for line in seen):
            assert time.monotonic() < deadline, "no zookeeper-start within 120 s:\n" + "\n".join(seen)
            ready, _, _ = select.select([gateway.stdout], [], [], 0.5)
            if not ready:
                continue
            chunk = os.read(gateway.stdout.fileno(), 65536)
            assert chunk, "setup ended before zookeeper-start:\n" + "\n".join(seen)
            buffer += chunk
            *lines, rest = buffer.split(b"\n")
            buffer = rest
            seen += [line.decode(errors="replace") for line in lines]
        # in the middle of the step: once a member's pidfile appears (or at most 5 s in)
        members = [host for host in cluster.hosts if host.zookeeper]
        end = time.monotonic() + 5
        while time.monotonic() < end and not any(zookeeper_pidfile(h).exists() for h in members):
            time.sleep(0.05)
        assert gateway.poll() is None, "setup finished before it could be killed"
        gateway.send_signal(signal.SIGKILL)
        assert gateway.wait(timeout=10) == -signal.SIGKILL
    finally:
        if gateway.poll() is None:
            gateway.kill()
            gateway.wait(timeout=10)
        gateway.stdout.close()
    assert not any(line.startswith("==> zookeeper-quorum") for line in seen), seen

    try:
        # the same command again converges: every member up once, every node once, one entry each
        setup(sandbox, capsys)
        wait_until(lambda: all(len(zookeeper_processes(home(h))) == 1 for h in members), 10, "one ZooKeeper per member")
        converged = read_tree(cluster)
        assert_no_duplicates(sandbox, converged)

        # ... and the registry is exactly what a clean run leaves
        teardown(sandbox, capsys)
        setup(sandbox, capsys)
        clean = read_tree(cluster)
        assert_no_duplicates(sandbox, clean)
        assert converged == clean
    finally:
        teardown(sandbox, capsys)


# -- 2. the quorum lost before register ------------------------------------------------------------

def test_quorum_lost_then_register_says_so_and_a_rerun_converges(practice_sandbox, capsys):
    sandbox = practice_sandbox
    cluster = sandbox.cluster
    file, access = str(sandbox.cluster_file), sandbox.cli_access()
    try:
        setup(sandbox, capsys)
        registered = persistent(read_tree(cluster))
        # the ensemble stays up, the registration goes: register has a commit to make
        code, out, err = cli(capsys, "unregister", file, "--yes", "--stop-nodes", *access)
        assert code == 0, out + err
        assert f"/arcus/cache_list/{SERVICE}" not in read_tree(cluster)

        members = [host for host in cluster.hosts if host.zookeeper]
        assert len(members) == 3
        for host in members[1:]:
            os.kill(int(zookeeper_pidfile(host).read_text().split()[0]), signal.SIGTERM)
        wait_until(lambda: all(not zookeeper_processes(home(h)) for h in members[1:]), 30, "two members to stop")

        started = time.monotonic()
        code, out, err = cli(capsys, "register", file, "--yes", *access)
        took = time.monotonic() - started
        text = out + err
        assert code != 0, text
        assert "Traceback" not in text and took < 60, (took, text)
        # said once, on the step that could not reach it, with what to do; register is then skipped
        failed = [line for line in out.splitlines() if line.startswith("[zookeeper]") and " failed" in line]
        assert len(failed) == 1 and "could not connect to ZooKeeper" in failed[0], text
        assert "majority" in failed[0] and "run the same command again" in failed[0], failed[0]
        assert "skipped: zookeeper-init did not succeed" in out, text

        code, out, err = cli(capsys, "start", file, "zookeeper", "--yes", *access)
        assert code == 0, out + err
        code, out, err = cli(capsys, "register", file, "--yes", *access)
        assert code == 0, out + err
        assert persistent(read_tree(cluster)) == registered
        code, out, err = cli(capsys, "register", file, "--yes", *access)  # and it stays converged
        assert code == 0 and persistent(read_tree(cluster)) == registered, out + err
    finally:
        teardown(sandbox, capsys)


# -- 3. a hung host ----------------------------------------------------------------------------------

HUNG_SCRIPT = """#!/bin/sh
# arcus-tui fault test: a memcached that never returns
echo $$ > "$HOME/hung-memcached.pid"
exec sleep 60
"""


def _kill_hung(host) -> None:
    pidfile = Path(home(host)) / "hung-memcached.pid"
    try:
        pid = int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    try:
        words = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        if b"sleep" in words[0]:
            os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    pidfile.unlink(missing_ok=True)


def test_a_hung_host_fails_alone_within_the_budget_and_cancel_returns_at_once(practice_sandbox, capsys):
    sandbox = practice_sandbox
    cluster = sandbox.cluster
    file, access = str(sandbox.cluster_file), sandbox.cli_access()
    hung = cluster.hosts[1]
    binary = Path(home(hung)) / "arcus/current/bin/memcached"  # the current release's file
    try:
        setup(sandbox, capsys)
        code, out, err = cli(capsys, "stop", file, "memcached", "--yes", *access)
        assert code == 0, out + err
        stat = binary.stat()
        replacement = binary.with_name("memcached.hung")
        replacement.write_text(HUNG_SCRIPT)
        os.chown(replacement, stat.st_uid, stat.st_gid)
        replacement.chmod(0o755)
        os.replace(replacement, binary)

        # the operator's budget for one command: the hung host fails after it, the others go on
        budget = 5.0
        started = time.monotonic()
        code, out, err = cli(capsys, "start", file, "memcached", "--yes", "--command-timeout", f"{budget:g}",
                             "--timeout", "10", *access)
        took = time.monotonic() - started
        assert code != 0 and took < budget + 10, (took, out + err)  # held for its budget, not 120 s
        for host in cluster.hosts:
            if host is not hung:
                assert sorted(node_processes(home(host))) == list(NODE_PORTS), host.name
        assert not node_processes(home(hung))
        failed = [line for line in out.splitlines() if line.startswith(f"[{hung.name}]") and "failed" in line]
        assert failed and f"timed out after {budget:g} s" in failed[0], out
        assert "4/6 node(s) online" in out + err  # the online check names the rest
        assert "Traceback" not in out + err
        plan = setup_plan(cluster).subset({StepId.MEMCACHED_START})
        options = RunnerOptions(ssh_paths=SshPaths.under(sandbox.ssh_dir), on_unknown_host_key=trust(sandbox))
        _kill_hung(hung)

        # cancel: the same start as a task, cancelled after 1 s, gives control back within 1 s
        plan = plan.subset({StepId.MEMCACHED_START}, hosts={hung.name})
        slow = RunnerOptions(ssh_paths=options.ssh_paths, on_unknown_host_key=options.on_unknown_host_key)

        async def cancel_after_a_second() -> tuple[float, float]:
            runner = Runner(cluster, slow)  # the 120 s default: only the cancel can end it soon
            task = asyncio.create_task(runner.run(plan))
            done, _ = await asyncio.wait({task}, timeout=1.0)
            assert not done, "the hung start returned by itself"
            cancelled = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(task), timeout=1.0)
            returned = time.monotonic() - cancelled
            closing = time.monotonic()
            await asyncio.wait_for(runner.close(), timeout=2.0)
            return returned, time.monotonic() - closing

        returned, closed = asyncio.run(cancel_after_a_second())
        assert returned < 1.0, returned
        assert closed < 1.0, closed
    finally:
        _kill_hung(hung)
        # the package's own binary back (upload puts back what differs), then the usual end
        setup(sandbox, capsys)
        assert binary.read_bytes()[:4] == b"\x7fELF"
        teardown(sandbox, capsys)


# -- 4. a wrong password -----------------------------------------------------------------------------

def _snapshot(sandbox) -> dict[str, object]:
    state: dict[str, object] = {}
    for host in sandbox.cluster.hosts:
        root = Path(home(host))
        keys = root / ".ssh/authorized_keys"
        state[f"{host.name}:authorized_keys"] = keys.read_bytes() if keys.exists() else None
        state[f"{host.name}:arcus"] = sorted(str(p) for p in (root / "arcus").rglob("*")) \
            if (root / "arcus").exists() else None
    return state


def _wrong_password_setup(sandbox, capsys, tmp_path) -> tuple[int, str, str, float]:
    """setup from a fresh gateway ~/.ssh (so the key must be copied) with a wrong password."""
    ssh_dir = tmp_path / "fresh-gateway-ssh"
    ssh_dir.mkdir(mode=0o700)
    wrong = tmp_path / "wrong-password"
    wrong.write_text("not-the-practice-password\n")
    wrong.chmod(0o600)
    access = ["--ssh-dir", str(ssh_dir)] + [arg for fp in sandbox.fingerprints for arg in ("--trust-host-key", fp)]
    started = time.monotonic()
    code, out, err = cli(capsys, "setup", str(sandbox.cluster_file), "--yes", "--password-file", str(wrong), *access)
    return code, out, err, time.monotonic() - started


def _refusals(out: str, host) -> list[str]:
    """The progress lines of one host that say its password was refused."""
    return [line for line in out.splitlines() if line.startswith(f"[{host.name}]") and "wrong password" in line]


def test_a_wrong_password_is_said_per_host_and_changes_nothing(practice_sandbox, capsys, tmp_path):
    sandbox = practice_sandbox
    before = _snapshot(sandbox)
    code, out, err, took = _wrong_password_setup(sandbox, capsys, tmp_path)
    text = out + err
    assert code != 0 and took < 60, (took, text)
    assert "Traceback" not in text and "not-the-practice-password" not in text
    for host in sandbox.cluster.hosts:
        said = _refusals(out, host)
        # the login was tried once: one final state; its message may be echoed once just before it
        # (see test_..._exactly_once below)
        finals = [line for line in said if line.split()[1:2] == ["failed"]]
        assert len(finals) == 1 and 1 <= len(said) <= 2, (host.name, said)
        assert f"login refused for {host.user}@{host.address}:{host.ssh_port}" in finals[0]
        summary = [line for line in err.splitlines() if line.split()[:2] == ["copy-key", host.name]]
        assert len(summary) == 1 and "wrong password" in summary[0], (host.name, err)
        # every later step of that host is skipped, none is tried
        later = [line for line in err.splitlines() if line.split()[1:2] == [host.name] and "copy-key" not in line.split()[0]]
        assert later and all("skipped" in line for line in later), later
    assert "skipped: skipped:" not in out  # the state word once, then why
    assert _snapshot(sandbox) == before  # authorized_keys and ~/arcus untouched on every host


def test_a_wrong_password_is_said_exactly_once_per_host(practice_sandbox, capsys, tmp_path):
    code, out, err, _ = _wrong_password_setup(practice_sandbox, capsys, tmp_path)
    assert code != 0
    for host in practice_sandbox.cluster.hosts:
        assert len(_refusals(out, host)) == 1, (host.name, _refusals(out, host))
