"""Practice hosts on one machine: a login and a private sshd per loopback address.

Each practice host `i` is `127.0.1.i`, reached over SSH on port 2222 as its own
login `arcus-sb<i>` (home `/home/arcus-sb<i>`), so files of different hosts never
collide, exactly as on separate servers. Logins are created once and kept (until
`sandbox destroy`); `stop_hosts` stops only processes: the sshd daemons started here, and
whatever a deploy started on the hosts (found by the pidfiles under each install dir).
A recorded PID is signalled only while it is still the process that was started (its
executable and its command line), never because it merely exists: PIDs are reused.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

from arcus_tui import localhost
from arcus_tui.deploy.recipes import ProcessIdentity, identity_of_pidfile
from arcus_tui.localhost import command_line, login_comment, process_alive
from arcus_tui.ssh.hostkeys import public_key_fingerprint

from .sshd import RunningSshd, sshd_command_line, start_sshd

SANDBOX_MARK = "arcus-tui sandbox"  # GECOS of the logins we create; others are never touched
LOGIN_PREFIX = "arcus-sb"
MAX_PRACTICE_HOSTS = 16
SSH_PORT = 2222
STOP_WAIT_SECONDS = 15.0


class SandboxError(RuntimeError):
    """The sandbox cannot do what was asked; the message says why and what to do."""


@dataclass(frozen=True)
class PracticeHost:
    number: int
    name: str
    address: str
    user: str
    home: str
    sshd_pid: int = 0
    host_key: str = ""  # the sshd's public host key line, to check fingerprints against
    sshd_config: str = ""  # the private sshd's config: its `-f` proves a PID is still that sshd

    @property
    def install_dir(self) -> str:
        return f"{self.home}/arcus"

    @property
    def host_key_fingerprint(self) -> str:
        return public_key_fingerprint(self.host_key)


def practice_login(number: int) -> str:
    return f"{LOGIN_PREFIX}{number}"


def practice_host(number: int, subnet: str = "127.0.1") -> PracticeHost:
    user = practice_login(number)
    return PracticeHost(number, f"cache{number:03d}.arcus", f"{subnet}.{number}", user, f"/home/{user}")


def require_root() -> None:
    if os.geteuid() != 0:
        raise SandboxError(
            "practice hosts need their own logins (useradd) and an sshd that checks passwords, "
            "which takes root: run `sudo arcus-tui sandbox up`"
        )


def check_logins(hosts: list[PracticeHost]) -> None:
    """Before anything is touched: root, and no login of `hosts` that the sandbox did not make
    (one found half-way would leave earlier hosts set up and started)."""
    require_root()
    foreign = [host.user for host in hosts if login_comment(host.user) not in (None, SANDBOX_MARK)]
    if foreign:
        raise SandboxError(f"login {', '.join(foreign)} already exists and was not made by the sandbox; it is left "
                           "alone and nothing was started (remove or rename it, or ask for fewer --hosts)")


def ensure_login(host: PracticeHost, password: str) -> None:
    """Create the host's login (once) and set its password through chpasswd's stdin."""
    require_root()
    try:
        localhost.ensure_login(host.user, home=host.home, comment=SANDBOX_MARK, password=password)
    except localhost.ForeignLogin:
        raise SandboxError(f"a login named {host.user} already exists and was not made by the sandbox; "
                           "it is left alone") from None


def remove_login(host: PracticeHost) -> Optional[str]:
    """Remove the host's login if the sandbox made it, with its home when that is where the
    sandbox put it; what was done, or None when there is no such login."""
    try:
        entry = pwd.getpwnam(host.user)
    except KeyError:
        return None
    if entry.pw_gecos != SANDBOX_MARK:
        return f"login {host.user} was not made by the sandbox: left alone"
    keep_home = entry.pw_dir != host.home  # moved by someone: not ours to delete
    argv = ["userdel", host.user] if keep_home else ["userdel", "--remove", host.user]
    try:
        subprocess.run(argv, check=True, capture_output=True, timeout=60)
    except subprocess.CalledProcessError as error:
        problem = (error.stderr or b"").decode(errors="replace").strip()
        raise SandboxError(f"`{' '.join(argv)}` failed: {problem or f'exit status {error.returncode}'}") from None
    if keep_home:
        return f"removed login {host.user}; its home {entry.pw_dir} is not where the sandbox put it and stays"
    return f"removed login {host.user} and its home {host.home}"


def start_host(host: PracticeHost, state_dir: Path) -> tuple[PracticeHost, RunningSshd]:
    sshd = start_sshd(state_dir / host.name / "sshd", [(host.address, SSH_PORT)], allow_users=[host.user])
    started = PracticeHost(**(asdict(host) | {"sshd_pid": sshd.pid, "host_key": sshd.host_public_key,
                                              "sshd_config": str(sshd.config_path)}))
    return started, sshd


def memcached_pidfiles(host: PracticeHost) -> list[Path]:
    return sorted((Path(host.install_dir) / "pids").glob("memcached.*.pid"))


def zookeeper_pidfiles(host: PracticeHost) -> list[Path]:
    return [Path(host.install_dir) / "zookeeper" / "data" / "zookeeper_server.pid"]


def _read_pid(pidfile: Path) -> Optional[int]:
    try:
        return int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _owned_by(pid: int, user: str) -> bool:
    """Only signal processes of the practice login (or the sshd we started), never others."""
    try:
        return pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name == user
    except (OSError, KeyError):
        return False


def _stop_pid(pid: int, sig: signal.Signals) -> bool:
    """Signal `pid` and wait (bounded) for it to go; True when it went without SIGKILL."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + STOP_WAIT_SECONDS
    while time.monotonic() < deadline:
        if not process_alive(pid):
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return False


def stop_hosts(hosts: list[PracticeHost], *, sshd: bool = True) -> list[str]:
    """Stop what runs on the practice hosts; one line per process for the operator.
    Every memcached node of every host goes first, then the ZooKeeper members, then
    sshd: the nodes leave the registry while the ensemble still has a quorum, so no
    session of theirs outlives them and a next start needs no wait."""
    report = []
    for pidfiles, sig in ((memcached_pidfiles, signal.SIGINT), (zookeeper_pidfiles, signal.SIGTERM)):
        # SIGINT is arcus-memcached's graceful shutdown: it leaves ZooKeeper before exiting
        report += _stop_all([(host, pidfile) for host in hosts for pidfile in pidfiles(host)], sig)
    if sshd:
        for host in hosts:
            report += _stop_sshd(host)
    return report


def _is_node(pid: int, host: PracticeHost, identity: ProcessIdentity) -> bool:
    """`pid` is the practice login's process that `identity` describes (a memcached node of
    this install and port, or this install's ZooKeeper), not merely some process."""
    line = command_line(pid)
    return line is not None and _owned_by(pid, host.user) and identity.matches(line)


def _stop_all(targets: list[tuple[PracticeHost, Path]], sig: signal.Signals) -> list[str]:
    """Signal every process of `targets` at once, then wait for each (bounded). A pidfile that
    names no process of ours is stale: it is removed, and what its PID names is left alone."""
    signalled, report = [], []
    for host, pidfile in targets:
        pid = _read_pid(pidfile)
        if pid is None:
            continue
        identity = identity_of_pidfile(str(pidfile))
        if not _is_node(pid, host, identity):
            if command_line(pid) is not None:
                report.append(f"{host.name}: not signalled: pid {pid} in {pidfile.name} is not "
                              f"{identity.what} (a stale pidfile, removed)")
            pidfile.unlink(missing_ok=True)
            continue
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
        signalled.append((host, pidfile, pid))
    for host, pidfile, pid in signalled:
        graceful = _stop_pid(pid, sig)
        pidfile.unlink(missing_ok=True)
        report.append(f"{host.name}: stopped {pidfile.name.removesuffix('.pid')} (pid {pid})"
                      + ("" if graceful else " by SIGKILL after waiting"))
    return report


def sshd_is_ours(host: PracticeHost) -> bool:
    """The host's recorded PID is still its private sshd: a running sshd executable, ours,
    reading this sandbox's config (`-f`). After a reboot the PID may be anything, the
    system's sshd included, which has the same executable but not this config."""
    pid, config = host.sshd_pid, host.sshd_config
    if pid <= 0 or not config or not process_alive(pid):
        return False
    line = sshd_command_line(pid)
    me = "root" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    return line is not None and _owned_by(pid, me) and ProcessIdentity("sshd", (("-f", config),)).matches(line)


def _stop_sshd(host: PracticeHost) -> list[str]:
    if sshd_is_ours(host):
        _stop_pid(host.sshd_pid, signal.SIGTERM)
        return [f"{host.name}: stopped sshd (pid {host.sshd_pid})"]
    if host.sshd_pid > 0 and command_line(host.sshd_pid) is not None:
        return [f"{host.name}: not signalled: pid {host.sshd_pid} is no longer the practice sshd "
                f"(not an sshd reading {host.sshd_config or 'its config'})"]
    return []


def wipe_host(host: PracticeHost) -> None:
    """Remove what setup put on a practice host (its ~/arcus and ~/.ssh), for a fresh start.
    Only logins the sandbox made are touched."""
    try:
        if pwd.getpwnam(host.user).pw_gecos != SANDBOX_MARK:
            return
    except KeyError:
        return
    for name in ("arcus", ".ssh"):
        shutil.rmtree(Path(host.home) / name, ignore_errors=True)


def save_state(state_dir: Path, hosts: list[PracticeHost]) -> None:
    path = state_dir / "state.json"
    path.write_text(json.dumps({"hosts": [asdict(host) for host in hosts]}, indent=2) + "\n")


def load_state(state_dir: Path) -> list[PracticeHost]:
    try:
        document = json.loads((state_dir / "state.json").read_text())
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as error:
        raise SandboxError(f"{state_dir / 'state.json'} is unreadable: {error}") from None
    return [PracticeHost(**_with_sshd_config(entry, state_dir)) for entry in document.get("hosts", [])]


def _with_sshd_config(entry: dict, state_dir: Path) -> dict:
    """State written before the sshd config was recorded: it is where start_host puts it."""
    if entry.get("sshd_config") or "name" not in entry:
        return entry
    return entry | {"sshd_config": str(state_dir / entry["name"] / "sshd" / "sshd_config")}
