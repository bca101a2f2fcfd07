"""`arcus-tui sandbox up|down`: a practice cloud on this machine, before touching real servers."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

from arcus_tui.model import Cluster, Host, MemcachedNode, NodeSettings, ZooKeeperSettings

from .locks import LockTimeout, held
from .package import build_standin_package
from .practice_hosts import (
    SSH_PORT,
    PracticeHost,
    SandboxError,
    ensure_login,
    listening,
    load_state,
    practice_host,
    save_state,
    start_host,
    process_alive,
    stop_hosts,
    wipe_host,
)

SERVICE_CODE = "sandbox-cloud"
MEMCACHED_PORTS = (11211, 11212)
MAX_HOSTS = 16


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
    """The seed diagram on practice hosts: ZooKeeper on the first three, two memcached on each."""
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
    notes: list[str] = field(default_factory=list)
    standin: bool = False  # the package's memcached is the stand-in, not arcus-memcached


def sandbox_up(count: int, password: str, state_dir: Path, *, subnet: str = "127.0.1",
               fresh: bool = False, package: Optional[Path] = None) -> SandboxUp:
    """Start `count` practice hosts (reusing running ones) for `package`, a real ARCUS
    package (`arcus_tui.package`); without one, the stand-in practice package is built.
    `fresh` first stops everything and removes what earlier setups left on the hosts."""
    if not 1 <= count <= MAX_HOSTS:
        raise SandboxError(f"--hosts must be between 1 and {MAX_HOSTS}")
    if not password:
        raise SandboxError("the practice hosts need a password to practise copying the key")
    state_dir.mkdir(parents=True, exist_ok=True)
    standin = package is None
    if standin:
        package = build_standin_package(state_dir / "package").path
    if fresh:
        _refuse_if_served_elsewhere(count, subnet, state_dir)
        sandbox_down(state_dir)
        leftovers = [practice_host(number, subnet) for number in range(1, count + 1)]
        stop_hosts(leftovers)  # processes a lost state file no longer lists
        for host in leftovers:
            wipe_host(host)
    running = {host.number: host for host in load_state(state_dir) if _sshd_alive(host)}
    hosts = []
    try:
        for number in range(1, count + 1):
            host = practice_host(number, subnet)
            ensure_login(host, password)
            if number in running:
                hosts.append(running[number])
            else:
                hosts.append(start_host(host, state_dir)[0])
    finally:
        save_state(state_dir, hosts + [h for n, h in running.items() if n > count])
    return SandboxUp(hosts, sandbox_cluster(hosts, package), None, standin=standin)


def sandbox_down(state_dir: Path) -> list[str]:
    """Stop every process the sandbox, or a deploy on it, started. Logins and files stay."""
    report = stop_hosts(load_state(state_dir))
    save_state(state_dir, [])
    return report


def _sshd_alive(host: PracticeHost) -> bool:
    return bool(host.sshd_pid) and process_alive(host.sshd_pid)


def _refuse_if_served_elsewhere(count: int, subnet: str, state_dir: Path) -> None:
    """--fresh wipes the practice homes: never while another sandbox serves them."""
    ours = {host.address for host in load_state(state_dir) if _sshd_alive(host)}
    for number in range(1, count + 1):
        address = practice_host(number, subnet).address
        if address not in ours and listening(address, SSH_PORT):
            raise SandboxError(f"{address}:{SSH_PORT} is served by another sandbox; "
                               "run `arcus-tui sandbox down` with its --state-dir first")

