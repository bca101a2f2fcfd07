"""The cloud as it is now: ensemble modes, every service's status, and for the
cluster's own nodes both what ZooKeeper says and whether the process runs.

ZooKeeper alone cannot tell a stopped node from one that runs but never joined
(no mapping, wrong ensemble, expired session); SSH alone cannot tell a running
node from a serving one. Together they can, and this is where that is decided.
Reads only: the registry session is read-only and the SSH checks run `kill -0`.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass, field, replace
from typing import Optional

from arcus_tui.deploy.releases import HostReleases, read_host
from arcus_tui.model import Cluster
from arcus_tui.ssh.hostkeys import HostKeyAsker
from arcus_tui.ssh.paths import SshPaths
from arcus_tui.ssh.results import HostResult
from arcus_tui.ssh.session import HostWork, Limits, SshSession
from arcus_tui.ssh.target import targets_for
from arcus_tui.events import HostState
from arcus_tui.zk.fourletter import MemberMode, probe_ensemble
from arcus_tui.zk.session import RegistryError, RegistrySession
from arcus_tui.zk.status import ServiceStatus, list_all


class Process(str, enum.Enum):
    RUNNING = "running"
    STOPPED = "stopped"
    UNKNOWN = "unknown"  # SSH not used or the host did not answer


class Registry(str, enum.Enum):
    ONLINE = "online"
    OFFLINE = "offline"
    UNREGISTERED = "unregistered"  # no mapping for this node under the service
    UNKNOWN = "unknown"  # the registry could not be read


@dataclass(frozen=True)
class NodeState:
    host: str
    endpoint: str
    registry: Registry
    process: Process
    release: Optional[str] = None  # the release its process runs (`deploy/releases.py`), when known

    @property
    def verdict(self) -> str:
        if self.registry is Registry.UNKNOWN:
            return f"registry unreadable; process {self.process.value}"
        if self.registry is Registry.ONLINE:
            return "ok" if self.process is not Process.STOPPED else "online, but no process behind the pidfile"
        if self.process is Process.RUNNING:
            return "running but not joined"
        if self.process is Process.STOPPED:
            return "stopped"
        return "offline"

    def to_json(self) -> dict:
        return {"host": self.host, "endpoint": self.endpoint, "registry": self.registry.value,
                "process": self.process.value, "verdict": self.verdict, "release": self.release}


@dataclass
class CloudStatus:
    service_code: str
    zookeeper: tuple[MemberMode, ...] = ()
    services: tuple[ServiceStatus, ...] = ()
    nodes: tuple[NodeState, ...] = ()
    errors: list[str] = field(default_factory=list)
    releases: dict[str, HostReleases] = field(default_factory=dict)  # host -> its releases (read over SSH)

    @property
    def service(self) -> Optional[ServiceStatus]:
        return next((s for s in self.services if s.service_code == self.service_code), None)

    def to_json(self) -> dict:
        return {
            "service_code": self.service_code,
            "zookeeper": [member.to_json() for member in self.zookeeper],
            "services": [service.to_json() for service in self.services],
            "nodes": [node.to_json() for node in self.nodes],
            "releases": [found.to_json() for found in self.releases.values()],
            "errors": list(self.errors),
        }


def _read_registry(connect_string: str, timeout: float) -> tuple[ServiceStatus, ...]:
    with RegistrySession.connect(connect_string, read_only=True, timeout=timeout) as session:
        return list_all(session)


async def _process_states(cluster: Cluster, paths: SshPaths, timeout: float,
                          on_unknown_host_key: Optional[HostKeyAsker],
                          releases: Optional[dict[str, HostReleases]] = None) -> tuple[dict[str, Process], list[str]]:
    """`kill -0` on each node's pidfile over SSH: endpoint -> running/stopped, and why hosts
    that could not be asked were not (their nodes stay `unknown`). The same one command per
    host reads its releases (current, previous, what each node runs) into `releases`."""
    states: dict[str, Process] = {}
    releases = {} if releases is None else releases

    async def job(work: HostWork) -> HostResult:
        host = cluster.host(work.name)
        found = releases[work.name] = await read_host(work, host)
        for node in found.nodes:
            states[f"{host.address}:{node.port}"] = Process.RUNNING if node.running else Process.STOPPED
        return HostResult(work.name, "process-check", HostState.OK)

    limits = Limits(connect_timeout=timeout, command_timeout=timeout)
    hosts = [host.name for host in cluster.hosts if host.memcached or host.zookeeper]
    async with SshSession(targets_for(cluster), paths=paths, limits=limits,
                          on_unknown_host_key=on_unknown_host_key) as ssh:
        result = await ssh.each_host(job, hosts=hosts, step="process-check")
    problems = [f"{host}: {result[host].error}" for host in result.failed]
    return states, problems


async def collect_status(cluster: Cluster, *, ssh_paths: Optional[SshPaths] = None, use_ssh: bool = True,
                         timeout: float = 5.0, on_unknown_host_key: Optional[HostKeyAsker] = None) -> CloudStatus:
    status = CloudStatus(cluster.service_code)
    registry = asyncio.to_thread(_read_registry, cluster.connect_string, timeout)
    processes = (_process_states(cluster, ssh_paths or SshPaths(), timeout, on_unknown_host_key, status.releases)
                 if use_ssh
                 else asyncio.sleep(0, ({}, [])))
    modes, services, states = await asyncio.gather(probe_ensemble(cluster.ensemble, timeout=timeout), registry,
                                                   processes, return_exceptions=True)
    if isinstance(modes, BaseException):
        status.errors.append(f"ZooKeeper members: {modes}")
    else:
        status.zookeeper = modes
    if isinstance(services, RegistryError):
        status.errors.append(str(services))
    elif isinstance(services, BaseException):
        raise services
    else:
        status.services = services
    if isinstance(states, BaseException):
        status.errors.append(f"process check over SSH: {states}")
        states = {}
    else:
        states, problems = states
        status.errors += [f"process check over SSH: {problem}" for problem in problems]
    registry_read = not isinstance(services, BaseException)
    status.releases = {h.name: status.releases[h.name] for h in cluster.hosts if h.name in status.releases}  # file order
    status.nodes = tuple(_with_releases(cluster, node_states(cluster, status.service, states, registry_read),
                                        status.releases))
    return status


def _with_releases(cluster: Cluster, nodes, releases: dict[str, HostReleases]):
    """Each node with the release its process runs, where its host was read."""
    for node in nodes:
        port = int(node.endpoint.rpartition(":")[2])
        found = releases.get(node.host)
        running = found.node(port) if found else None
        yield replace(node, release=running.release) if running and running.release else node


def node_states(cluster: Cluster, service: Optional[ServiceStatus], processes: dict[str, Process],
                registry_read: bool = True):
    """Each node of the cluster file: its registry entry (from `service`) and its process."""
    online = set(service.online) if service else set()
    offline = set(service.offline) if service else set()
    for node in cluster.nodes():
        endpoint = node.endpoint
        registry = (Registry.UNKNOWN if not registry_read
                    else Registry.ONLINE if endpoint in online
                    else Registry.OFFLINE if endpoint in offline else Registry.UNREGISTERED)
        yield NodeState(node.host.name, endpoint, registry, processes.get(endpoint, Process.UNKNOWN))


_node_states = node_states  # the name the older tests use
