"""`Cluster` -> cluster file text, in the layout docs/cluster-file.md shows.

Only what differs from the defaults is written, so a file stays as short as the
one a person would write; `parse_cluster(dump_cluster(c)).cluster == c` holds.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import tomlkit

from .cluster import Cluster, Host, ZooKeeperSettings
from .node_settings import NODE_SETTING_KEYS

_HOST_INHERITED = ("user", "ssh_port", "install_dir", "identity_file")


def _value(value: Any) -> str:
    if isinstance(value, tuple):
        value = list(value)
    return tomlkit.item(value).as_string()


def _changed(current, default, keys) -> dict[str, Any]:
    return {key: getattr(current, key) for key in keys if getattr(current, key) != getattr(default, key)}


def _lines(table: str, values: dict[str, Any]) -> list[str]:
    lines = [f"[{table}]"] + [f"{key} = {_value(value)}" for key, value in values.items() if value is not None]
    return lines + [""]


def _memcached(host: Host) -> str:
    if not any(node.overrides for node in host.memcached):
        return _value(list(host.ports))
    entries = []
    for node in host.memcached:
        pairs = [f"port = {node.port}"] + [f"{key} = {value}" for key, value in node.overrides.items()]
        entries.append("{ " + ", ".join(pairs) + " }")
    return "[\n    " + ",\n    ".join(entries) + ",\n]"


def _host(cluster: Cluster, host: Host) -> list[str]:
    lines = ["[[host]]", f"name = {_value(host.name)}", f"address = {_value(host.address)}"]
    if host.zookeeper:
        lines.append("zookeeper = true")
    lines.append(f"memcached = {_memcached(host)}")
    for key in _HOST_INHERITED:
        if getattr(host, key) != getattr(cluster, key) and getattr(host, key) is not None:
            lines.append(f"{key} = {_value(getattr(host, key))}")
    return lines + [""]


def dump_cluster(cluster: Cluster) -> str:
    general = {"service_code": cluster.service_code, "user": cluster.user, "ssh_port": cluster.ssh_port,
               "install_dir": cluster.install_dir, "identity_file": cluster.identity_file,
               "package": cluster.package}
    if cluster.bind_address:
        general["bind_address"] = True
    zookeeper_keys = [f.name for f in fields(ZooKeeperSettings)]
    zookeeper = _changed(cluster.zookeeper, ZooKeeperSettings(), zookeeper_keys)
    zookeeper.setdefault("client_port", cluster.zookeeper.client_port)
    memcached = {key: getattr(cluster.memcached, key) for key in NODE_SETTING_KEYS}
    lines = _lines("cluster", general) + _lines("zookeeper", zookeeper) + _lines("memcached", memcached)
    for host in cluster.hosts:
        lines += _host(cluster, host)
    return "\n".join(lines).rstrip("\n") + "\n"
