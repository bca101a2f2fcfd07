"""Rules that need the whole cluster: collisions, ensemble shape, roles.

Each rule walks the hosts once with their index (never `hosts.index(host)`, which
made 10,000 hosts take minutes and names the first of two equal hosts)."""

from __future__ import annotations

from collections import Counter
from typing import Iterator

from .cluster import Cluster, Host
from .key_lines import KeyLines
from .names import split_endpoint
from .problems import Problem, Severity

_ERROR = Severity.ERROR
_WARNING = Severity.WARNING


def validate_cluster(cluster: Cluster, where: KeyLines) -> list[Problem]:
    problems: list[Problem] = []
    for check in (_hosts, _ports_per_host, _ensemble, _roles):
        for path, message, severity in check(cluster):
            problems.append(Problem(where.line(*path), message, severity))
    return problems


def _hosts(cluster: Cluster) -> Iterator[tuple]:
    if not cluster.hosts:
        yield ("cluster",), "no hosts: add at least one [[host]] with a name and an address", _ERROR
    first_by_name: dict[str, int] = {}
    first_by_address: dict[str, int] = {}
    for index, host in enumerate(cluster.hosts):
        if host.name in first_by_name:
            yield ("host", index, "name"), f"host name {host.name!r} is used twice (first at host #{first_by_name[host.name] + 1})", _ERROR
        first_by_name.setdefault(host.name, index)
        if host.address in first_by_address:
            other = cluster.hosts[first_by_address[host.address]].name
            yield ("host", index, "address"), f"host {host.name!r} has the same address {host.address} as host {other!r}: list each server once", _ERROR
        first_by_address.setdefault(host.address, index)


def _endpoints(cluster: Cluster, index: int, host: Host) -> Iterator[tuple[int, str, tuple]]:
    """(port, what listens there, where it is written) for everything on host #index."""
    yield host.ssh_port, "SSH", ("host", index, "ssh_port")
    if host.zookeeper:
        zookeeper = cluster.zookeeper
        yield zookeeper.client_port, "ZooKeeper client port", ("zookeeper", "client_port")
        yield zookeeper.quorum_port, "ZooKeeper quorum port", ("zookeeper", "quorum_port")
        yield zookeeper.election_port, "ZooKeeper election port", ("zookeeper", "election_port")
    for node in host.memcached:
        yield node.port, f"memcached {node.port}", ("host", index, "memcached")


def _ports_per_host(cluster: Cluster) -> Iterator[tuple]:
    external = {}
    for server in cluster.zookeeper.servers:
        external.setdefault(split_endpoint(server), server)
    for index, host in enumerate(cluster.hosts):
        duplicates = [port for port, count in Counter(host.ports).items() if count > 1]
        for port in duplicates:
            yield ("host", index, "memcached"), f"host {host.name!r} lists memcached port {port} twice", _ERROR
        taken: dict[int, str] = {}
        for port, what, path in _endpoints(cluster, index, host):
            if port in taken and port not in duplicates:
                yield path, f"{host.address}:{port} is used twice on host {host.name!r}: {taken[port]} and {what}", _ERROR
            taken.setdefault(port, what)
            if (host.address, port) in external and what.startswith("memcached"):
                yield path, f"{host.address}:{port} is both a memcached node and the external ZooKeeper server {external[(host.address, port)]}", _ERROR


def _ensemble(cluster: Cluster) -> Iterator[tuple]:
    member_indexes = [index for index, host in enumerate(cluster.hosts) if host.zookeeper]
    members = [cluster.hosts[index] for index in member_indexes]
    if cluster.zookeeper.external:
        for index, host in zip(member_indexes, members):
            yield ("host", index, "zookeeper"), (
                f"host {host.name!r} has zookeeper = true but [zookeeper] servers names an existing ensemble: use one or the other"
            ), _ERROR
        duplicates = [s for s, count in Counter(cluster.zookeeper.servers).items() if count > 1]
        for server in duplicates:
            yield ("zookeeper", "servers"), f"ZooKeeper server {server} is listed twice", _ERROR
        size = len(cluster.zookeeper.servers)
    else:
        if not members:
            yield ("cluster",), (
                "no ZooKeeper: set zookeeper = true on some hosts, or list an existing ensemble in [zookeeper] servers"
            ), _ERROR
            return
        size = len(members)
    # where the ensemble is written: the servers list, or the last member's `zookeeper = true`
    where = ("zookeeper", "servers") if cluster.zookeeper.external else ("host", member_indexes[-1], "zookeeper")
    if size == 1:
        yield where, (
            "a single ZooKeeper member has no fault tolerance: use 3 or 5 members for production"
        ), _WARNING
    elif size % 2 == 0:
        yield where, (
            f"{size} ZooKeeper members tolerate no more failures than {size - 1}: use an odd number"
        ), _WARNING
    zookeeper = cluster.zookeeper
    if members and not cluster.zookeeper.external:
        low, high = zookeeper.min_session_timeout, zookeeper.max_session_timeout
        if not low <= zookeeper.session_timeout * 1000 <= high:
            yield ("zookeeper", "session_timeout"), (
                f"session_timeout {zookeeper.session_timeout}s lies outside min/max_session_timeout "
                f"({low}-{high} ms): ZooKeeper will grant {cluster.node_session_timeout:g}s instead"
            ), _WARNING
    if len({zookeeper.client_port, zookeeper.quorum_port, zookeeper.election_port}) < 3 and members:
        yield ("zookeeper",), "ZooKeeper client, quorum and election ports must all differ", _ERROR


def _roles(cluster: Cluster) -> Iterator[tuple]:
    for index, host in enumerate(cluster.hosts):
        if not host.zookeeper and not host.memcached:
            yield ("host", index), f"host {host.name!r} has no role: neither ZooKeeper nor memcached", _WARNING
    if cluster.hosts and not any(host.memcached for host in cluster.hosts):
        yield ("cluster",), "no memcached nodes: the service code would have nothing to serve", _WARNING
