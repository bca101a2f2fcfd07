"""The cluster as arcus-tui sees it: one ARCUS service code, its hosts and their roles.

Values here are already validated and resolved (per-host overrides applied), so
every layer above can use them without re-checking. `Host.memcached` keeps only
each node's own overrides; `Cluster.nodes()` gives the merged ARCUS config.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterator, Optional

from .node_settings import BY_NAME, NODE_SETTING_KEYS

DEFAULT_SSH_PORT = 22
DEFAULT_INSTALL_DIR = "~/arcus"
DEFAULT_CLIENT_PORT = 2181
DEFAULT_QUORUM_PORT = 2888
DEFAULT_ELECTION_PORT = 3888
NODE_SESSION_TIMEOUT_RANGE = (10, 2000)
"""Seconds arcus-memcached accepts for `-o`; it silently keeps 30 for anything else."""


@dataclass(frozen=True)
class NodeSettings:
    """ARCUS memcached "config": the cluster default or one node's merged values."""

    threads: int = BY_NAME["threads"].default
    memlimit: int = BY_NAME["memlimit"].default  # MB
    connections: int = BY_NAME["connections"].default

    def merged(self, node: "MemcachedNode") -> "NodeSettings":
        overrides = {key: getattr(node, key) for key in NODE_SETTING_KEYS if getattr(node, key) is not None}
        return replace(self, **overrides)


@dataclass(frozen=True)
class MemcachedNode:
    """One memcached port on a host, with only the settings it overrides."""

    port: int
    threads: Optional[int] = None
    memlimit: Optional[int] = None
    connections: Optional[int] = None

    @property
    def overrides(self) -> dict[str, int]:
        return {key: getattr(self, key) for key in NODE_SETTING_KEYS if getattr(self, key) is not None}


@dataclass(frozen=True)
class Host:
    """A server: its ZooKeeper membership and memcached nodes (a box of the grid)."""

    name: str
    address: str
    zookeeper: bool = False
    memcached: tuple[MemcachedNode, ...] = ()
    user: str = ""
    ssh_port: int = DEFAULT_SSH_PORT
    install_dir: str = DEFAULT_INSTALL_DIR
    identity_file: Optional[str] = None

    @property
    def ports(self) -> tuple[int, ...]:
        return tuple(node.port for node in self.memcached)


@dataclass(frozen=True)
class ZooKeeperSettings:
    """The ensemble: members are the hosts with `zookeeper = true`, or `servers` if external."""

    client_port: int = DEFAULT_CLIENT_PORT
    quorum_port: int = DEFAULT_QUORUM_PORT
    election_port: int = DEFAULT_ELECTION_PORT
    servers: tuple[str, ...] = ()  # an ensemble the operator already runs: "host:port"
    tick_time: int = 2000
    init_limit: int = 10
    sync_limit: int = 5
    max_client_cnxns: int = 100
    min_session_timeout: int = 4000
    max_session_timeout: int = 200000
    session_timeout: int = 30  # s: each memcached node's session (memcached -o); ARCUS's default

    @property
    def external(self) -> bool:
        return bool(self.servers)


@dataclass(frozen=True)
class Node:
    """A memcached node with its host and merged config: one ARCUS `servers` entry."""

    host: Host
    port: int
    settings: NodeSettings

    @property
    def endpoint(self) -> str:
        """`ip:port`, the name ARCUS uses in cache_server_mapping and cache_list."""
        return f"{self.host.address}:{self.port}"


@dataclass(frozen=True)
class Cluster:
    service_code: str
    hosts: tuple[Host, ...] = ()
    user: str = ""
    ssh_port: int = DEFAULT_SSH_PORT
    install_dir: str = DEFAULT_INSTALL_DIR
    identity_file: Optional[str] = None
    package: Optional[str] = None
    bind_address: bool = False
    zookeeper: ZooKeeperSettings = field(default_factory=ZooKeeperSettings)
    memcached: NodeSettings = field(default_factory=NodeSettings)

    @property
    def zookeeper_hosts(self) -> tuple[Host, ...]:
        """Ensemble members we run ourselves, in myid order (1-based, file order)."""
        return tuple(host for host in self.hosts if host.zookeeper)

    def myid(self, host: Host) -> int:
        return self.zookeeper_hosts.index(host) + 1

    @property
    def ensemble(self) -> tuple[str, ...]:
        """`host:port` of every ensemble member, as memcached's `-z` and clients want it."""
        if self.zookeeper.external:
            return self.zookeeper.servers
        return tuple(f"{host.address}:{self.zookeeper.client_port}" for host in self.zookeeper_hosts)

    @property
    def node_session_timeout(self) -> float:
        """Seconds a memcached node's session lives on after it is gone: what it asks for
        (`-o`), clamped by the bounds of an ensemble we configure ourselves."""
        wanted = float(self.zookeeper.session_timeout)
        if self.zookeeper.external:
            return wanted
        low, high = self.zookeeper.min_session_timeout / 1000, self.zookeeper.max_session_timeout / 1000
        return min(max(wanted, low), high)

    @property
    def connect_string(self) -> str:
        return ",".join(self.ensemble)

    def nodes(self) -> Iterator[Node]:
        for host in self.hosts:
            for node in host.memcached:
                yield Node(host, node.port, self.memcached.merged(node))

    def host(self, name: str) -> Host:
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(name)
