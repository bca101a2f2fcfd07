"""Service status as `arcus.sh memcached list / listall` computes it (docs/arcus.md#service-status).

*static* = the ``ip:port`` mapping znodes that name the service; *current* = the
children of ``cache_list/<svc>`` cut at the first ``-``::

    online    = static ∩ current
    offline   = static − current
    undefined = current − static     (live, but not mapped to this service)

Service status: ``OK`` when every static node is online, ``DOWN`` when none is,
``SOME_DOWN`` otherwise. A service with NO static nodes is ``DOWN``: it serves
nothing, and that is also what the old tool prints for it (its check is
``offline + undefined == total`` with total 0). Undefined nodes are reported
but do not change the status (the old tool's ``listall`` counts them against the
total, which can call a fully online service DOWN; we decide by online and
offline only).

The pure functions come first (no ZooKeeper); the readers at the bottom fetch the
two sets for one service or for every child of ``/arcus/cache_list``, and also
recognise the replication layout under ``/arcus_repl`` (read only).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from kazoo.client import KazooClient

from arcus_tui.zk import paths
from arcus_tui.zk.session import RegistryError, RegistrySession, as_session


class Health(str, enum.Enum):
    OK = "OK"
    SOME_DOWN = "SOME_DOWN"
    DOWN = "DOWN"


class Layout(str, enum.Enum):
    """Which ARCUS tree a service lives in."""

    BASE = "arcus"  # /arcus
    REPL = "arcus_repl"  # /arcus_repl (replication; read only here)

    @property
    def root(self) -> str:
        return paths.ARCUS if self is Layout.BASE else paths.ARCUS_REPL


class ServiceNotFoundError(RegistryError):
    """No ``cache_list/<svc>`` in either layout."""


# -- parsing znode names ---------------------------------------------------------------


@dataclass(frozen=True)
class LiveNode:
    """One child of ``cache_list/<svc>``: a memcached node that is online right now."""

    name: str  # the znode name as stored
    endpoint: str  # ip:port, the ARCUS node name
    hostname: str = ""
    group: Optional[str] = None  # /arcus_repl only
    role: Optional[str] = None  # /arcus_repl only: "M" (master) or "S" (slave)


@dataclass(frozen=True)
class ReplMapping:
    """The child of ``/arcus_repl/cache_server_mapping/<ip:port>``:
    ``<svc>^<group>^<repl ip:port>[^<migration address>]``."""

    service_code: str
    group: Optional[str] = None
    repl_address: Optional[str] = None
    migration_address: Optional[str] = None


def parse_cache_list_child(name: str, layout: Layout = Layout.BASE) -> LiveNode:
    """``<ip>:<port>-<hostname>`` (base) or ``<group>^<M|S>^<ip>:<port>-<hostname>`` (repl).

    The endpoint is everything before the first ``-`` of the last field, as zk.py cuts
    it (ip:port never contains ``-``, hostnames may)."""
    group = role = None
    rest = name
    if layout is Layout.REPL:
        fields = name.split(paths.REPL_SEPARATOR)
        if len(fields) >= 3:
            group, role, rest = fields[0], fields[1], paths.REPL_SEPARATOR.join(fields[2:])
    endpoint, _, hostname = rest.partition("-")
    return LiveNode(name=name, endpoint=endpoint, hostname=hostname, group=group, role=role)


def parse_repl_mapping_child(name: str) -> ReplMapping:
    fields = name.split(paths.REPL_SEPARATOR)
    padded = fields + [None] * (4 - len(fields))
    return ReplMapping(service_code=padded[0], group=padded[1], repl_address=padded[2], migration_address=padded[3])


def mapping_child_service(name: str, layout: Layout = Layout.BASE) -> str:
    """The service code a mapping child names (base: the whole name; repl: field 1)."""
    if layout is Layout.REPL:
        return parse_repl_mapping_child(name).service_code
    return name


# -- the status math -------------------------------------------------------------------


def health_of(online: int, offline: int) -> Health:
    if online == 0:
        return Health.DOWN  # includes a service with no static nodes at all
    if offline == 0:
        return Health.OK
    return Health.SOME_DOWN


def _address_sort_key(address: str) -> tuple:
    host, _, port = address.rpartition(":")
    try:
        parts = tuple(int(p) for p in host.split("."))
    except ValueError:
        parts = ()
    return (parts, host, int(port) if port.isdigit() else 0, address)


def sort_addresses(addresses: Iterable[str]) -> tuple[str, ...]:
    """ip:port strings in numeric order (127.0.0.2 before 127.0.0.10)."""
    return tuple(sorted(set(addresses), key=_address_sort_key))


@dataclass(frozen=True)
class ServiceStatus:
    service_code: str
    status: Health
    online: tuple[str, ...]
    offline: tuple[str, ...]
    undefined: tuple[str, ...]
    layout: Layout = Layout.BASE
    live: tuple[LiveNode, ...] = ()
    created: Optional[str] = None
    modified: Optional[str] = None

    @property
    def total(self) -> int:
        """Number of nodes mapped to the service (online + offline), as `list` prints."""
        return len(self.online) + len(self.offline)

    def to_json(self) -> dict[str, Any]:
        return {
            "service_code": self.service_code,
            "status": self.status.value,
            "layout": self.layout.value,
            "total": self.total,
            "online": list(self.online),
            "offline": list(self.offline),
            "undefined": list(self.undefined),
            "live": [
                {k: v for k, v in (("name", n.name), ("endpoint", n.endpoint), ("hostname", n.hostname),
                                    ("group", n.group), ("role", n.role)) if v is not None}
                for n in self.live
            ],
            "created": self.created,
            "modified": self.modified,
        }


def compute_status(
    service_code: str,
    static: Iterable[str],
    current_children: Iterable[str],
    *,
    layout: Layout = Layout.BASE,
    created: Optional[str] = None,
    modified: Optional[str] = None,
) -> ServiceStatus:
    """Pure: the status of one service from its mapped ``ip:port`` set and the raw
    names of the children of its ``cache_list`` znode."""
    static_set = set(static)
    live = tuple(sorted((parse_cache_list_child(c, layout) for c in current_children), key=lambda n: n.name))
    current_set = {n.endpoint for n in live}
    online = static_set & current_set
    offline = static_set - current_set
    undefined = current_set - static_set
    return ServiceStatus(
        service_code=service_code,
        status=health_of(len(online), len(offline)),
        online=sort_addresses(online),
        offline=sort_addresses(offline),
        undefined=sort_addresses(undefined),
        layout=layout,
        live=live,
        created=created,
        modified=modified,
    )


def static_by_service(mapping_children: dict[str, Iterable[str]], layout: Layout = Layout.BASE) -> dict[str, set[str]]:
    """Pure: ``{ip:port: [children]}`` of ``cache_server_mapping`` -> ``{svc: {ip:port}}``."""
    result: dict[str, set[str]] = {}
    for key, children in mapping_children.items():
        for child in children:
            result.setdefault(mapping_child_service(child, layout), set()).add(key)
    return result


def _timestamps(data: Optional[bytes]) -> tuple[Optional[str], Optional[str]]:
    try:
        value = json.loads(data.decode("utf-8")) if data else None
    except (UnicodeDecodeError, ValueError):
        value = None
    if not isinstance(value, dict):
        return None, None
    created, modified = value.get("created"), value.get("modified")
    return (str(created) if created is not None else None, str(modified) if modified is not None else None)


# -- readers (ZooKeeper) ---------------------------------------------------------------


def read_static_mapping(client: "RegistrySession | KazooClient", layout: Layout = Layout.BASE) -> dict[str, set[str]]:
    """``{svc: {ip:port}}`` from one pass over ``cache_server_mapping`` (empty if absent)."""
    session = as_session(client)
    base = paths.cache_server_mapping(layout.root)
    keys = session.children_many([base])[base]
    if not keys:
        return {}
    found = session.children_many(f"{base}/{k}" for k in keys)
    return static_by_service({k: found[f"{base}/{k}"] or [] for k in keys}, layout)


def _statuses(
    session: RegistrySession, service_codes: list[str], layout: Layout, static: dict[str, set[str]]
) -> list[ServiceStatus]:
    """Read the data and children of every ``cache_list/<svc>`` at once."""
    base = paths.cache_list(layout.root)
    wanted = [f"{base}/{s}" for s in service_codes]
    datas = session.get_many(wanted)
    children = session.children_many(wanted)
    results = []
    for service_code, path in zip(service_codes, wanted):
        if datas[path] is None or children[path] is None:
            continue  # deleted while we were reading
        created, modified = _timestamps(datas[path][0])
        results.append(
            compute_status(
                service_code,
                static.get(service_code, set()),
                children[path],
                layout=layout,
                created=created,
                modified=modified,
            )
        )
    return results


def read_service_status(
    client: "RegistrySession | KazooClient", service_code: str, layout: Optional[Layout] = None
) -> ServiceStatus:
    """Status of one service (`memcached list <svc>`). With ``layout`` None the base
    layout is tried first, then ``/arcus_repl``."""
    session = as_session(client)
    paths.check_service_code(service_code)
    session.sync("/")  # see what other clients wrote, whichever member we talk to
    for candidate in ([layout] if layout else [Layout.BASE, Layout.REPL]):
        cache_path = f"{paths.cache_list(candidate.root)}/{service_code}"
        if session.exists(cache_path) is None:
            continue
        found = _statuses(session, [service_code], candidate, read_static_mapping(session, candidate))
        if found:
            return found[0]
    raise ServiceNotFoundError(f"service code {service_code!r} is not registered (no cache_list/{service_code})")


def live_nodes(client: "RegistrySession | KazooClient", service_code: str) -> tuple[LiveNode, ...]:
    """The entries under ``cache_list/<svc>`` right now (base layout): every node whose
    session holds one, which may be a crashed node's session that has not expired yet."""
    session = as_session(client)
    paths.check_service_code(service_code)
    path = paths.service_cache_list(service_code)
    session.sync(path)
    return tuple(parse_cache_list_child(name) for name in session.children_many([path])[path] or ())


def list_all(client: "RegistrySession | KazooClient", *, include_repl: bool = True) -> tuple[ServiceStatus, ...]:
    """Status of every child of ``/arcus/cache_list`` (`memcached listall`), then of
    every child of ``/arcus_repl/cache_list`` when that tree exists."""
    session = as_session(client)
    session.sync("/")  # see what other clients wrote, whichever member we talk to
    results: list[ServiceStatus] = []
    for layout in ([Layout.BASE, Layout.REPL] if include_repl else [Layout.BASE]):
        base = paths.cache_list(layout.root)
        services = session.children_many([base])[base]
        if not services:
            continue
        results.extend(_statuses(session, sorted(services), layout, read_static_mapping(session, layout)))
    return tuple(results)


__all__ = [
    "Health",
    "Layout",
    "LiveNode",
    "ReplMapping",
    "ServiceNotFoundError",
    "ServiceStatus",
    "compute_status",
    "health_of",
    "list_all",
    "live_nodes",
    "mapping_child_service",
    "parse_cache_list_child",
    "parse_repl_mapping_child",
    "read_service_status",
    "read_static_mapping",
    "sort_addresses",
    "static_by_service",
]
