"""`arcus-tui sandbox up|down|destroy`: a practice cloud on this machine, before touching real servers."""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

from arcus_tui.localhost import listening, login_comment
from arcus_tui.model import Cluster, Host, MemcachedNode, NodeSettings, ZooKeeperSettings

from .locks import LockTimeout, held
from .package import build_standin_package
from .password import forget_password, password_file, sandbox_password
from .practice_hosts import (
    MAX_PRACTICE_HOSTS,
    SANDBOX_MARK,
    SSH_PORT,
    PracticeHost,
    SandboxError,
    check_logins,
    ensure_login,
    load_state,
    practice_host,
    remove_login,
    require_root,
    save_state,
    sshd_is_ours,
    start_host,
    stop_hosts,
    wipe_host,
)
from .system_sshd import protect_practice_logins, remove_protection

SERVICE_CODE = "sandbox-cloud"
MEMCACHED_PORTS = (11211, 11212)
MAX_HOSTS = MAX_PRACTICE_HOSTS
GATEWAY_DIR = "gateway-ssh"  # the sandbox's own ~/.ssh for `sandbox up --setup`


LOCK_FILE = Path("/tmp/arcus-tui-practice-hosts.lock")
"""The practice logins are machine-wide: one user of them (a test session, a benchmark) at a time."""


@contextlib.contextmanager
def exclusive_use(timeout: float = 600.0) -> Iterator[None]:
    """Hold the practice hosts for one user of them; waits (bounded) for the current one."""
    try:
        with held(LOCK_FILE, timeout, "the practice hosts"):
            yield
    except LockTimeout as error:
        raise SandboxError(str(error)) from None


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return Path(base) / "arcus-tui" / "sandbox"


NODE_SESSION_TIMEOUT = 10
"""Seconds (memcached -o): the shortest arcus-memcached takes, so that a killed practice
node is seen offline, and its entry expires for a restart, as soon as ARCUS allows."""


def sandbox_cluster(hosts: list[PracticeHost], package: Path) -> Cluster:
    """The co-located layout (docs/arcus.md#the-two-layouts) on practice hosts: ZooKeeper on the
    first three, two memcached on each."""
    members = 3 if len(hosts) >= 3 else 1
    return Cluster(
        service_code=SERVICE_CODE,
        user=hosts[0].user,
        ssh_port=SSH_PORT,
        package=str(package),
        bind_address=True,  # every practice host shares the machine: bind to its own address
        zookeeper=ZooKeeperSettings(session_timeout=NODE_SESSION_TIMEOUT),
        memcached=NodeSettings(threads=2, memlimit=64, connections=256),
        hosts=tuple(
            Host(name=host.name, address=host.address, zookeeper=host.number <= members,
                 memcached=tuple(MemcachedNode(port) for port in MEMCACHED_PORTS),
                 user=host.user, ssh_port=SSH_PORT)
            for host in hosts
        ),
    )


@dataclass
class SandboxUp:
    hosts: list[PracticeHost]
    cluster: Cluster
    cluster_file: Optional[Path]
    notes: list[str] = field(default_factory=list)  # what was changed outside the sandbox, for the operator
    standin: bool = False  # the package's memcached is the stand-in, not arcus-memcached
    password_file: Optional[Path] = None  # the logins' password (0600), for `setup --password-file`


def sandbox_up(count: int, password: Optional[str], state_dir: Path, *, subnet: str = "127.0.1",
               fresh: bool = False, package: Optional[Path] = None) -> SandboxUp:
    """Start `count` practice hosts (reusing running ones) for `package`, a real ARCUS
    package (`arcus_tui.package`); without one, the stand-in practice package is built.
    `fresh` first stops everything and removes what earlier setups left on the hosts.
    `password` is for tests; None gives the logins this sandbox's own random password
    (`password.py`). Nothing is touched unless every login is the sandbox's or new, and the
    system sshd is kept from accepting them (`system_sshd.py`) before any login is made."""
    if not 1 <= count <= MAX_HOSTS:
        raise SandboxError(f"--hosts must be between 1 and {MAX_HOSTS}")
    if password is not None and not password:
        raise SandboxError("the practice hosts need a password to practise copying the key")
    wanted = [practice_host(number, subnet) for number in range(1, count + 1)]
    check_logins(wanted)
    notes = protect_practice_logins([host.user for host in wanted])
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # private when made here; the password file always is
    password = sandbox_password(state_dir, password)
    standin = package is None
    if standin:
        package = build_standin_package(state_dir / "package").path
    if fresh:
        _refuse_if_served_elsewhere(range(1, count + 1), subnet, state_dir)
        sandbox_down(state_dir)
        leftovers = [practice_host(number, subnet) for number in range(1, count + 1)]
        stop_hosts(leftovers)  # processes a lost state file no longer lists
        for host in leftovers:
            wipe_host(host)
    running = {host.number: host for host in load_state(state_dir) if sshd_is_ours(host)}
    hosts = []
    try:
        for host in wanted:
            number = host.number
            ensure_login(host, password)
            if number in running:
                hosts.append(running[number])
            else:
                hosts.append(start_host(host, state_dir)[0])
    finally:
        save_state(state_dir, hosts + [h for n, h in running.items() if n > count])
    return SandboxUp(hosts, sandbox_cluster(hosts, package), None, notes=notes, standin=standin,
                     password_file=password_file(state_dir))


def sandbox_down(state_dir: Path) -> list[str]:
    """Stop every process the sandbox, or a deploy on it, started. Logins and files stay.
    Without a state (never up, or destroyed) there is nothing to stop and nothing is written."""
    if not (state_dir / "state.json").exists():
        return []
    report = stop_hosts(load_state(state_dir))
    save_state(state_dir, [])
    return report


def sandbox_destroy(state_dir: Path, subnet: str = "127.0.1") -> list[str]:
    """Everything `sandbox up` made, gone: every process stopped first (a login with a running
    process cannot be removed), then the practice logins the sandbox made, with their homes,
    the system sshd drop-in, and this sandbox's files. Logins it did not make are left alone."""
    require_root()
    hosts = [practice_host(number, subnet) for number in range(1, MAX_HOSTS + 1)]
    ours = [host for host in hosts if login_comment(host.user) == SANDBOX_MARK]
    _refuse_if_served_elsewhere([host.number for host in ours], subnet, state_dir)
    report = sandbox_down(state_dir)
    report += stop_hosts(ours, sshd=False)  # what a lost state no longer lists
    for host in hosts:
        line = remove_login(host)  # only the sandbox's; any other is named and left alone
        if line:
            report.append(line)
    report += remove_protection()
    report += _remove_state(state_dir)
    return report


def _remove_state(state_dir: Path) -> list[str]:
    """This sandbox's own files, by name (never the whole --state-dir, which could be anything)."""
    removed = forget_password(state_dir)
    if (state_dir / "state.json").exists():
        (state_dir / "state.json").unlink()
        removed = True
    for name in [GATEWAY_DIR, "package"] + [practice_host(n).name for n in range(1, MAX_HOSTS + 1)]:
        path = state_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
            removed = True
    with contextlib.suppress(OSError):
        state_dir.rmdir()  # only when nothing else is in it
    return [f"removed the sandbox's password, gateway key and state in {state_dir}"] if removed else []


def _refuse_if_served_elsewhere(numbers, subnet: str, state_dir: Path) -> None:
    """--fresh and destroy wipe the practice homes: never while another sandbox serves them."""
    ours = {host.address for host in load_state(state_dir) if sshd_is_ours(host)}
    for number in numbers:
        address = practice_host(number, subnet).address
        if address not in ours and listening(address, SSH_PORT):
            raise SandboxError(f"{address}:{SSH_PORT} is served by another sandbox; "
                               "run `arcus-tui sandbox down` with its --state-dir first")

