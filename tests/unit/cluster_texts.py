"""Cluster files the tests share, so that a test states only what its cluster has.

- `THREE_HOSTS`: ARCUS's co-located layout (docs/arcus.md#the-two-layouts) on 127.0.0.1-3,
  one memcached node each (test-cloud), for the UI and registry unit tests;
- `cluster_text` and `host_table`: a cluster file from its parts, for the tests that point
  a cluster at their own daemons (addresses, ports, logins known only at run time);
- `cluster_from_text`: such a text parsed, failing the test on any problem;
- `fleet`: many hosts, for the scale tests.
"""

from __future__ import annotations

import json
from typing import Iterable, Optional, Union

from arcus_tui.model import Cluster, parse_cluster

TomlValue = Union[str, int, bool, Iterable[Union[str, int]]]

THREE_HOSTS = """\
[cluster]
service_code = "test-cloud"
user = "arcus"

[[host]]
name = "cache001"
address = "127.0.0.1"
zookeeper = true
memcached = [11211]

[[host]]
name = "cache002"
address = "127.0.0.2"
zookeeper = true
memcached = [11211]

[[host]]
name = "cache003"
address = "127.0.0.3"
zookeeper = true
memcached = [11211]
"""


def fleet(hosts: int, ensemble: int = 3, ports: tuple[int, ...] = (11211, 11212)) -> str:
    """A cluster file of `hosts` hosts on 127.0.<n>.<m> (never contacted by unit tests), the first
    `ensemble` of them ZooKeeper members, each with memcached on `ports`."""
    lines = ['[cluster]', 'service_code = "fleet"', 'user = "arcus"', ""]
    for number in range(1, hosts + 1):
        lines += ["[[host]]", f'name = "cache{number:03d}"', f'address = "127.0.{number // 250 + 10}.{number % 250 + 1}"']
        if number <= ensemble:
            lines.append("zookeeper = true")
        lines += [f"memcached = [{', '.join(str(port) for port in ports)}]", ""]
    return "\n".join(lines)


def toml_value(value: TomlValue) -> str:
    """A TOML literal of a test's value: strings quoted (JSON escapes are TOML's), lists in brackets."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, str)):
        return json.dumps(value)
    return "[" + ", ".join(toml_value(item) for item in value) + "]"


def _table(header: str, keys: dict[str, Optional[TomlValue]]) -> str:
    return "\n".join([header, *(f"{key} = {toml_value(value)}" for key, value in keys.items() if value is not None)])


def host_table(name: str, address: str, *, memcached: Iterable[int] = (11211,), zookeeper: bool = False,
               **keys: TomlValue) -> str:
    """One `[[host]]` table: by default one memcached node on 11211 and no ensemble member;
    `keys` are any other host keys (`install_dir`, `user`, ...)."""
    ports = tuple(memcached)
    return _table("[[host]]", {"name": name, "address": address, **keys,
                               "zookeeper": True if zookeeper else None, "memcached": ports or None})


def cluster_text(service_code: str, hosts: Iterable[str], *, user: Optional[str] = "arcus",
                 servers: Iterable[str] = (), zookeeper: Optional[dict[str, TomlValue]] = None,
                 **cluster_keys: TomlValue) -> str:
    """A cluster file: `[cluster]` with the service code, `user` (None: the current login's
    default) and `cluster_keys`; `[zookeeper]` with `servers` (an ensemble we do not run) and/or
    the `zookeeper` keys; then the `hosts` tables (see `host_table`)."""
    sections = [_table("[cluster]", {"service_code": service_code, "user": user, **cluster_keys})]
    ensemble = {**({"servers": tuple(servers)} if tuple(servers) else {}), **(zookeeper or {})}
    if ensemble:
        sections.append(_table("[zookeeper]", ensemble))
    return "\n\n".join([*sections, *hosts]) + "\n"


def cluster_from_text(text: str, source: str = "cluster.toml") -> Cluster:
    """The cluster a test's file describes; the test fails, naming each problem, if it has any."""
    result = parse_cluster(text, source)
    assert result.ok, [problem.format(source) for problem in result.problems]
    return result.cluster
