"""The private sshd starter shared by the practice sandbox and the tests."""

from __future__ import annotations

import subprocess

import pytest

from arcus_tui.localhost import listening
from arcus_tui.sandbox.sshd import MAX_LISTEN_ADDRESSES, find_sshd, start_sshd, start_sshd_fleet
from arcus_tui.ssh import Credentials, SshSession, ensure_gateway_key
from tests.infra.require import require_executable
from tests.waits import wait_until, wait_until_async

pytestmark = pytest.mark.sshd


def test_start_and_stop_by_pid(tmp_path):
    require_executable("sshd", "/usr/sbin/sshd")
    keygen = require_executable("ssh-keygen")
    daemon = start_sshd(tmp_path / "d", [("127.0.3.251", 2041), ("127.0.3.252", 2041)])
    try:
        assert daemon.is_running() and listening("127.0.3.251", 2041) and listening("127.0.3.252", 2041)
        assert int(daemon.pidfile.read_text()) == daemon.pid
        assert daemon.known_hosts_lines()[0] == f"[127.0.3.251]:2041 {' '.join(daemon.host_public_key.split()[:2])}"
        printed = subprocess.run([keygen, "-lf", str(daemon.host_key_path) + ".pub"], capture_output=True,
                                 text=True, check=True).stdout
        assert daemon.host_key_fingerprint in printed
        assert "MaxStartups 10:30:100" in daemon.config_path.read_text()
    finally:
        daemon.stop()
    assert not daemon.is_running() and not listening("127.0.3.251", 2041)
    daemon.stop()  # idempotent
    again = start_sshd(tmp_path / "d", [("127.0.3.251", 2041)], max_startups="100", max_sessions=50)
    try:
        assert again.host_public_key == daemon.host_public_key  # the host key is kept across restarts
        assert "MaxStartups 100" in again.config_path.read_text()
        assert "MaxSessions 50" in again.config_path.read_text()
    finally:
        again.stop()


def test_loopback_only_and_listen_limit(tmp_path):
    with pytest.raises(ValueError, match="not a loopback address"):
        start_sshd(tmp_path, [("10.0.0.1", 2041)])
    with pytest.raises(ValueError, match="not an IP address"):
        start_sshd(tmp_path, [("example.com", 2041)])
    too_many = [(f"127.0.3.{i}", 2041) for i in range(1, MAX_LISTEN_ADDRESSES + 2)]
    with pytest.raises(ValueError, match="at most 16"):
        start_sshd(tmp_path, too_many)


def test_fleet_splits_addresses_and_stops_all(tmp_path):
    if not find_sshd():
        require_executable("sshd", "/usr/sbin/sshd")
    listen = [(f"127.0.3.{i}", 2042) for i in range(201, 221)]
    fleet = start_sshd_fleet(tmp_path, listen, share_host_key=False, addresses_per_daemon=8)
    try:
        assert [len(d.listen) for d in fleet] == [8, 8, 4]
        assert len({d.host_public_key for d in fleet}) == 3
        assert all(listening(address, port) for address, port in listen)
    finally:
        for daemon in fleet:
            daemon.stop()
    # the kernel closes the sockets as the daemons exit
    wait_until(lambda: not any(listening(address, port) for address, port in listen), 5,
               "every address to stop listening after stop")


async def test_processes_left_running_by_a_session_are_reaped(sshd_hosts, tmp_path):
    """Servers started in the background outlive their shell; when they end, the sandbox sshd
    (their adoptive parent) reaps them, so no zombie is left even if PID 1 does not reap."""
    real = sshd_hosts
    paths = real.gateway_paths(tmp_path / "gateway")
    key = ensure_gateway_key(paths.key_dir)
    real.authorize(key.public_line)
    cred = Credentials(identity_files=(key.path,), use_agent=False)
    async with SshSession(real.targets()[:1], paths=paths, credentials=cred) as ssh:
        result = await ssh.run("nohup sleep 0.3 >/dev/null 2>&1 & echo $!")
    assert result.ok
    pid = result["host1"].stdout.strip()

    def ps_state() -> str:
        return subprocess.run(["ps", "-o", "stat=", "-p", pid], capture_output=True, text=True).stdout.strip()

    await wait_until_async(lambda: not ps_state(), 5, f"process {pid} to be reaped (no zombie left)")
