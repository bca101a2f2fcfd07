"""ARCUS cluster JSON (`scripts/conf/*.json` of naver/arcus) <-> `Cluster`.

The JSON holds one `servers` entry per memcached node and a top-level `config`
of defaults that each node's `config` overrides key by key; values are strings.
The ZooKeeper ensemble is not in it (arcus.sh takes it as `-z`), so importing
needs it given separately, and exporting returns it as the `-z` string.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Optional

from .cluster import Cluster, Host, MemcachedNode, NodeSettings, ZooKeeperSettings
from .node_settings import NODE_SETTING_KEYS
from .names import address_problem, plain_name_problem, split_endpoint
from .schema import NODE_KEYS


class ArcusJsonError(ValueError):
    """The JSON cannot be turned into a cluster; the message says where and why."""


def export_arcus(cluster: Cluster) -> dict[str, Any]:
    """The ARCUS JSON document of a cluster, values as strings like the shipped files."""
    servers = []
    for host in cluster.hosts:
        for node in host.memcached:
            config = {"port": str(node.port)} | {key: str(value) for key, value in node.overrides.items()}
            servers.append({"hostname": host.name, "ip": host.address, "config": config})
    defaults = {key: str(getattr(cluster.memcached, key)) for key in NODE_SETTING_KEYS}
    return {"serviceCode": cluster.service_code, "servers": servers, "config": defaults}


def dump_arcus(cluster: Cluster) -> str:
    return json.dumps(export_arcus(cluster), indent=2) + "\n"


_DIGITS = re.compile(r"[0-9]{1,18}")
"""ASCII digits only: str.isdigit() and int() also take "²" or "١٢"; 18 digits is more
than any setting's bound and keeps int() far from Python's limit on digit strings."""


def _number(value: Any, where: str) -> int:
    """ARCUS writes numbers as strings; accept either, insist on a whole number."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip(" \t")):
        return int(value.strip(" \t"))
    raise ArcusJsonError(f"{where}: expected a number (ASCII digits), got {value!r}")


def _settings(config: Any, where: str, allowed: tuple[str, ...]) -> dict[str, int]:
    if not isinstance(config, dict):
        raise ArcusJsonError(f"{where}: \"config\" must be an object")
    unknown = sorted(set(config) - set(allowed))
    if unknown:
        raise ArcusJsonError(f"{where}: unknown config key(s) {', '.join(map(repr, unknown))} (known: {', '.join(allowed)})")
    values = {key: _number(value, f"{where} {key}") for key, value in config.items()}
    for key, value in values.items():
        if problem := NODE_KEYS[key].check(value):
            raise ArcusJsonError(f"{where} {key}: {problem}")
    return values


def _text(entry: dict, key: str, where: str, check: Callable[[str], Optional[str]]) -> str:
    """A string the cluster file will hold, held to the same alphabet here so the error names the entry."""
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise ArcusJsonError(f"{where}: \"{key}\" must be a non-empty string")
    if problem := check(value):
        raise ArcusJsonError(f"{where} {key}: {problem}")
    return value


def _hosts(servers: Any) -> list[Host]:
    """One Host per (hostname, ip), ports in the order the JSON lists them."""
    if not isinstance(servers, list) or not servers:
        raise ArcusJsonError("\"servers\" must be a non-empty list")
    nodes_by_host: dict[tuple[str, str], list[MemcachedNode]] = {}
    for number, entry in enumerate(servers, start=1):
        where = f"servers[{number - 1}]"
        if not isinstance(entry, dict):
            raise ArcusJsonError(f"{where}: must be an object")
        key = (_text(entry, "hostname", where, plain_name_problem), _text(entry, "ip", where, address_problem))
        config = _settings(entry.get("config", {}), where, ("port",) + NODE_SETTING_KEYS)
        if "port" not in config:
            raise ArcusJsonError(f"{where}: config has no \"port\"")
        nodes_by_host.setdefault(key, []).append(MemcachedNode(**config))
    return [Host(name=name, address=ip, memcached=tuple(nodes)) for (name, ip), nodes in nodes_by_host.items()]


def _place_ensemble(hosts: list[Host], ensemble: list[str], external: bool) -> tuple[list[Host], ZooKeeperSettings]:
    """Members that are cluster hosts on one client port become `zookeeper = true`; others stay external."""
    endpoints = [split_endpoint(server) for server in ensemble]
    ports = {port for _, port in endpoints}
    by_name = {host.address: host for host in hosts} | {host.name: host for host in hosts}
    if external or len(ports) != 1 or not all(address in by_name for address, _ in endpoints):
        return hosts, ZooKeeperSettings(servers=tuple(ensemble))
    members = {by_name[address].name for address, _ in endpoints}
    placed = [Host(**{**host.__dict__, "zookeeper": host.name in members}) for host in hosts]
    return placed, ZooKeeperSettings(client_port=ports.pop())


def import_arcus(text: str, ensemble: list[str], *, user: str, external: bool = False) -> Cluster:
    """A cluster from ARCUS JSON text and the `-z` ensemble list."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ArcusJsonError(f"line {error.lineno}, column {error.colno}: not valid JSON: {error.msg}") from None
    except RecursionError:
        raise ArcusJsonError("not valid ARCUS JSON: arrays or objects nested too deeply") from None
    except ValueError as error:  # e.g. a number of thousands of digits (Python's int() limit)
        raise ArcusJsonError(f"not valid ARCUS JSON: {error}") from None
    if not isinstance(document, dict):
        raise ArcusJsonError("the document must be a JSON object with serviceCode, servers and config")
    unknown = sorted(set(document) - {"serviceCode", "servers", "config"})
    if unknown:
        raise ArcusJsonError(f"unknown top-level key(s): {', '.join(map(repr, unknown))}")
    service_code = _text(document, "serviceCode", "top level", plain_name_problem)
    defaults = NodeSettings(**_settings(document.get("config", {}), "top-level config", NODE_SETTING_KEYS))
    for server in ensemble:
        try:
            split_endpoint(server)
        except ValueError as error:
            raise ArcusJsonError(f"--zookeeper: {error}") from None
    hosts, zookeeper = _place_ensemble(_hosts(document.get("servers")), ensemble, external)
    hosts = [Host(**{**host.__dict__, "user": user}) for host in hosts]
    return Cluster(service_code=service_code, hosts=tuple(hosts), user=user, zookeeper=zookeeper, memcached=defaults)


def ensemble_order_note(cluster: Cluster, ensemble: list[str]) -> Optional[str]:
    """A note when arcus.sh's -z order (which sets myid) differs from the hosts' order."""
    if cluster.zookeeper.external:
        return None
    given = [split_endpoint(server)[0] for server in ensemble]
    ours = [host.address for host in cluster.zookeeper_hosts]
    names = [host.name for host in cluster.zookeeper_hosts]
    if given in (ours, names):
        return None
    return (
        "ZooKeeper myid follows the order of [[host]] entries: "
        + ", ".join(f"{host.name}={cluster.myid(host)}" for host in cluster.zookeeper_hosts)
        + f" (the -z list gave {','.join(ensemble)})"
    )
