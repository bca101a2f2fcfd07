"""A real OpenSSH daemon for the suite: one `sshd -f <own config>` on 127.0.1.1-3 port 2022.

Fixtures:
- `real_sshd` (session): the daemon plus a dedicated login user (`arcustest`, clean
  home, a random password set for this session) for the copy-id path.
- `sshd_hosts` (function): the same, with the user's home emptied first.

The daemon is started once per session and stopped by the PID it was started with.
Needs root (to create the user and let sshd switch to it) and openssh-server: a
missing one skips on a laptop and fails when CI is set. Sessions that need it take
a lock first, so two pytest runs on one machine take turns instead of colliding
on the port (a daemon left by a killed run is stopped by its recorded PID).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import pytest

from arcus_tui.localhost import command_line, ensure_login, process_alive
from arcus_tui.sandbox.locks import LockTimeout, held
from arcus_tui.sandbox.sshd import RunningSshd, SshdError, start_sshd
from arcus_tui.ssh import HostTarget, SshPaths
from tests.infra.require import missing, require_executable

SSHD_ADDRESSES = ("127.0.1.1", "127.0.1.2", "127.0.1.3")
SSHD_PORT = 2022
TEST_USER = "arcustest"
STATE_DIR = Path("/tmp/arcus-tui-test-sshd")
LOCK_WAIT = 90.0


@dataclass
class RealSshd:
    daemon: RunningSshd
    addresses: tuple[str, ...]
    port: int
    user: str
    password: str
    home: Path
    uid: int
    gid: int

    @property
    def names(self) -> list[str]:
        return [f"host{index}" for index in range(1, len(self.addresses) + 1)]

    def targets(self, install_dir: Optional[str] = None, **overrides) -> list[HostTarget]:
        return [
            HostTarget(name=name, address=address, port=self.port, user=self.user, install_dir=install_dir,
                       **overrides)
            for name, address in zip(self.names, self.addresses)
        ]

    def known_hosts_lines(self) -> list[str]:
        return self.daemon.known_hosts_lines()

    def gateway_paths(self, directory: Path, *, trust: bool = True) -> SshPaths:
        """A private ~/.ssh for the gateway side of a test (known_hosts trusting the daemon)."""
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        paths = SshPaths.under(directory)
        if trust:
            paths.known_hosts.write_text("\n".join(self.known_hosts_lines()) + "\n")
        return paths

    def clean_home(self) -> None:
        for entry in self.home.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def authorize(self, public_line: str) -> None:
        """Put a key in the user's authorized_keys directly (owned by the user, 0600 in 0700)."""
        ssh_dir = self.home / ".ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        keys = ssh_dir / "authorized_keys"
        with open(keys, "a") as handle:
            handle.write(public_line.strip() + "\n")
        for path in (ssh_dir, keys):
            os.chown(path, self.uid, self.gid)
        os.chmod(keys, 0o600)


def _ensure_user(user: str, password: str) -> pwd.struct_passwd:
    entry = ensure_login(user, home=f"/home/{user}", comment="arcus-tui test login", password=password,
                         shell="/bin/bash", create_home=False)
    home = Path(entry.pw_dir)
    home.mkdir(mode=0o755, parents=True, exist_ok=True)
    os.chown(home, entry.pw_uid, entry.pw_gid)
    os.chmod(home, 0o755)  # StrictModes: not group/world writable
    return entry


def _stop_stale(pidfile: Path, config: Path) -> None:
    """Stop a daemon a killed earlier run left behind, by the PID it recorded (only if it is ours)."""
    try:
        pid = int(pidfile.read_text().strip())
    except (FileNotFoundError, ValueError):
        return
    if f" {config} " not in f" {command_line(pid) or ''} ":
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and process_alive(pid):
        time.sleep(0.05)


@pytest.fixture(scope="session")
def real_sshd() -> Iterator[RealSshd]:
    sshd_path = require_executable("sshd", "/usr/sbin/sshd")
    if os.geteuid() != 0:
        missing("the real-sshd tests need root (to create the test user and run sshd for it)")
    for tool in ("useradd", "chpasswd"):
        require_executable(tool, f"/usr/sbin/{tool}")

    STATE_DIR.mkdir(mode=0o700, exist_ok=True)
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(held(STATE_DIR / "lock", LOCK_WAIT, "the test sshd (another test run)"))
        except LockTimeout as error:
            missing(str(error))
        daemon = None
        try:
            _stop_stale(STATE_DIR / "sshd.pid", STATE_DIR / "sshd_config")
            password = "pw-" + secrets.token_urlsafe(18)
            entry = _ensure_user(TEST_USER, password)
            try:
                daemon = start_sshd(STATE_DIR, [(address, SSHD_PORT) for address in SSHD_ADDRESSES],
                                    sshd_path=sshd_path, allow_users=[TEST_USER])
            except SshdError as exc:
                pytest.fail(f"could not start the test sshd: {exc}", pytrace=False)
            yield RealSshd(daemon, SSHD_ADDRESSES, SSHD_PORT, TEST_USER, password, Path(entry.pw_dir),
                           entry.pw_uid, entry.pw_gid)
        finally:
            if daemon is not None:
                daemon.stop()


@pytest.fixture
def sshd_hosts(real_sshd: RealSshd) -> RealSshd:
    """The real sshd with the test user's home emptied (no ~/.ssh, no install dirs)."""
    real_sshd.clean_home()
    return real_sshd
