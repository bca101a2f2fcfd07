"""ARCUS registry writes: init, register, unregister (docs/arcus.md#init-register-and-unregister).

(Over 400 lines on purpose: register's difference, what it asks consent for and the one
transaction it commits are built from the same reading of the registry, kept together so that
what the operator is shown is exactly what is written.)

Each is ONE ZooKeeper multi-op transaction built from what is there now, with the
semantics of naver/arcus `scripts/lib/zk.py` (`init_structure`,
`update_service_code`, `delete_service_code`), and each is idempotent: run twice,
the second run changes nothing and says so (`RegistryOutcome.changed` is False).

Where arcus-tui differs from zk.py, on purpose:

* Timestamps: zk.py writes ``str(datetime.datetime.now())`` (local time,
  ``YYYY-MM-DD HH:MM:SS.ffffff``). We write the same format, always with the
  microseconds (``str()`` drops them when they happen to be 0). zk.py writes only
  ``created`` on the first register and adds ``modified`` on re-register; we write
  ``modified`` (equal to ``created``) from the first register on, so "last changed"
  is always readable. Readers use ``.get("modified")``, so both are compatible.
* Idempotence: a register whose cluster JSON (ignoring ``created``/``modified``),
  node set and every node's config equal what is stored, and whose
  ``client_list/<svc>`` exists, is "already registered": no transaction, and
  ``modified`` is NOT bumped. Anything else is a full ARCUS re-register.
* A node (``ip:port``) mapped to ANOTHER service is refused with a clear error
  (zk.py's transaction would fail with a bare NodeExists). A mapping znode with no
  service child at all (left over by hand) is replaced.
* The old mapping parent ``<ip:port>`` is deleted only when the service's child is
  its only child (zk.py deletes it unconditionally and fails otherwise).
* Consent: a re-register that would delete the mappings of nodes registered under the
  code but missing from this file (another team's file under the same code, or a node
  removed by mistake) raises `RemovalNotConfirmedError` unless each of them is in
  ``allowed_removals``; `registration_diff` shows the operator what would change first
  (zk.py replaces the node set without a word).
* `init_arcus` on an /arcus that lacks some of its three children creates the
  missing ones (zk.py refuses whenever /arcus exists); a complete /arcus is a no-op.
* `unregister` refuses while ``cache_list/<svc>`` has ephemeral children (live
  nodes) unless ``force``; clients' ephemeral ``client_list/<svc>/*`` entries are
  removed with the service (otherwise the delete would fail with NotEmpty).
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Mapping, Optional, Sequence

from kazoo.client import KazooClient

from arcus_tui.events import HostState
from arcus_tui.zk import paths
from arcus_tui.zk.session import (
    RegistryError,
    RegistrySession,
    TxOp,
    as_session,
    check,
    create,
    delete,
    set_data,
)

TIMESTAMP_KEYS = ("created", "modified")


class NotInitializedError(RegistryError):
    """/arcus (or one of its three children) is missing: run init first."""


class MappingConflictError(RegistryError):
    """A node's ``ip:port`` already belongs to another service code."""

    def __init__(self, message: str, conflicts: Mapping[str, Sequence[str]]):
        super().__init__(message)
        self.conflicts = {k: tuple(v) for k, v in conflicts.items()}


class LiveNodesError(RegistryError):
    """Unregister refused: memcached nodes of the service are still online."""

    def __init__(self, service_code: str, live_nodes: Sequence[str]):
        self.service_code = service_code
        self.live_nodes = tuple(live_nodes)
        super().__init__(
            f"cannot unregister {service_code!r}: {len(self.live_nodes)} node(s) still online in "
            f"{paths.service_cache_list(service_code)}: {', '.join(self.live_nodes)}; "
            "stop them first (or force, which leaves them running but unlisted)"
        )


@dataclass(frozen=True)
class NodeMapping:
    """One memcached node of a service: its mapping znode ``<address>:<port>`` and the
    node's merged config (cluster ``config`` overridden by the server's own), which is
    stored as that znode's JSON data."""

    address: str
    port: int
    config: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.address or any(c in self.address for c in "/: \t"):
            raise ValueError(f"invalid node address {self.address!r}")
        try:
            port = int(self.port)
        except (TypeError, ValueError):
            raise ValueError(f"invalid port {self.port!r} for {self.address}") from None
        if not 0 < port < 65536:
            raise ValueError(f"port {port} out of range for {self.address}")
        object.__setattr__(self, "port", port)
        object.__setattr__(self, "config", dict(self.config))
        configured = self.config.get("port")
        if configured is not None and str(configured).strip() != str(port):
            raise ValueError(f"{self.key}: config says port {configured!r}")

    @property
    def key(self) -> str:
        return paths.node_key(self.address, self.port)


def nodes_from_cluster_json(cluster_json: Mapping[str, Any]) -> list[NodeMapping]:
    """The mappings `arcus.sh memcached register` derives from an ARCUS cluster JSON:
    for each ``servers[]`` entry, top-level ``config`` overridden key by key by the
    server's ``config``; the port comes from the merged ``port``. Unlike the old tool
    a server without ip or port is an error, not silently skipped."""
    defaults = dict(cluster_json.get("config") or {})
    nodes = []
    for index, server in enumerate(cluster_json.get("servers") or []):
        merged = {**defaults, **(server.get("config") or {})}
        ip = server.get("ip")
        if not ip or "port" not in merged:
            raise ValueError(f"servers[{index}] needs an ip and a port (got ip={ip!r}, port={merged.get('port')!r})")
        nodes.append(NodeMapping(ip, int(merged["port"]), merged))
    return nodes


@dataclass(frozen=True)
class RegistryOutcome:
    """What a registry step did. ``changed`` False means "already done"."""

    action: str
    service_code: Optional[str]
    changed: bool
    message: str
    operations: tuple[TxOp, ...] = ()

    @property
    def state(self) -> HostState:
        return HostState.OK if self.changed else HostState.ALREADY_DONE


def arcus_timestamp(now: Optional[datetime.datetime] = None) -> str:
    """The timestamp format of naver/arcus zk.py (``str(datetime.now())``), local
    time, always with microseconds: ``2024-05-01 12:34:56.789012``."""
    return (now or datetime.datetime.now()).isoformat(sep=" ", timespec="microseconds")


def _dumps(value: Any) -> bytes:
    # zk.py writes json.dumps(...) with the default separators; keep that byte format.
    return json.dumps(value).encode("utf-8")


def _loads(data: Optional[bytes]) -> Optional[Any]:
    if not data:
        return None
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _strip_timestamps(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in TIMESTAMP_KEYS}
    return value


def _require_initialized(session: RegistrySession) -> None:
    missing = [p for p, stat in session.exists_many(paths.init_paths()).items() if stat is None]
    if missing:
        raise NotInitializedError(
            f"ZooKeeper has no ARCUS structure ({', '.join(missing)} missing); run init first"
        )


# -- init ------------------------------------------------------------------------------


def init_arcus(client: "RegistrySession | KazooClient") -> RegistryOutcome:
    """Create /arcus, cache_list, client_list and cache_server_mapping in one
    transaction. No-op ("already present") when they all exist."""
    session = as_session(client)
    session.require_writable("initialise /arcus")
    session.sync("/")
    present = session.exists_many(paths.init_paths())
    missing = [p for p in paths.init_paths() if present[p] is None]
    if not missing:
        return RegistryOutcome("init", None, False, "ZooKeeper already has the ARCUS structure (/arcus)")
    ops = tuple(create(p) for p in missing)
    session.commit(ops)
    if len(missing) == len(present):
        message = "created the ARCUS structure: " + ", ".join(missing)
    else:
        message = "completed the ARCUS structure: created " + ", ".join(missing)
    return RegistryOutcome("init", None, True, message, ops)


# -- register --------------------------------------------------------------------------


@dataclass(frozen=True)
class _MappingState:
    children: dict[str, list[str]]  # every <ip:port> under cache_server_mapping -> its children

    def owned_by(self, service_code: str) -> list[str]:
        return sorted(k for k, kids in self.children.items() if service_code in kids)


def _read_mappings(session: RegistrySession, root: str = paths.ARCUS) -> _MappingState:
    base = paths.cache_server_mapping(root)
    keys = session.get_children(base)
    found = session.children_many(f"{base}/{k}" for k in keys)
    return _MappingState({k: sorted(found[f"{base}/{k}"] or []) for k in keys if found[f"{base}/{k}"] is not None})


class _EveryNode:
    """`allowed_removals` that contains every node: the operator agreed in advance (--yes)."""

    def __contains__(self, key: object) -> bool:
        return True

    def __repr__(self) -> str:
        return "ANY_NODE"


ANY_NODE = _EveryNode()
"""Pass as `register(..., allowed_removals=ANY_NODE)` to replace the node set whatever it was."""


class RemovalNotConfirmedError(RegistryError):
    """Register would delete mappings of nodes registered under the service code that the
    operator did not agree to remove (another team's file under the same code, say)."""

    def __init__(self, service_code: str, removed: Sequence[str]):
        self.service_code = service_code
        self.removed = tuple(removed)
        super().__init__(
            f"not confirmed: registering {service_code} would remove the mapping(s) of {len(self.removed)} "
            f"node(s) registered under it: {', '.join(self.removed)} (nothing changed). Check that this "
            f"file owns {service_code}, then confirm by typing the service code, or pass --yes"
        )


@dataclass(frozen=True)
class NodeChange:
    """A node in both registrations whose mapping config differs."""

    key: str
    before: Mapping[str, Any]
    after: Mapping[str, Any]

    def describe(self) -> str:
        keys = sorted(set(self.before) | set(self.after))
        parts = [f"{k} {self.before.get(k, '-')} -> {self.after.get(k, '-')}"
                 for k in keys if self.before.get(k) != self.after.get(k)]
        return ", ".join(parts) or "config rewritten"


@dataclass(frozen=True)
class RegistrationDiff:
    """What registering a file would do to what is registered under its service code now.

    ``created``/``modified`` are the timestamps ARCUS keeps in ``cache_list/<svc>``; ARCUS
    records no author, so "who" is only what the stored cluster JSON says (its hostnames)."""

    service_code: str
    registered: bool
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[NodeChange, ...] = ()
    unchanged: tuple[str, ...] = ()
    created: Optional[str] = None
    modified: Optional[str] = None
    stored_hostnames: Mapping[str, str] = field(default_factory=dict)  # ip:port -> hostname, as stored

    @property
    def removes_mappings(self) -> bool:
        return bool(self.removed)

    def describe(self) -> list[str]:
        svc = self.service_code
        if not self.registered:
            return [f"{svc} is not registered yet: {len(self.added)} node(s) to register"]
        stamps = (("created", self.created), ("last modified", self.modified))
        when = ", ".join(f"{name} {value}" for name, value in stamps if value) or "no timestamps"
        lines = [f"{svc} is registered already ({when})"]
        for key in self.removed:  # first: what needs consent must not scroll away
            host = self.stored_hostnames.get(key)
            lines.append(f"  remove {key}" + (f" ({host})" if host else ""))
        lines += [f"  change {change.key}: {change.describe()}" for change in self.changed]
        lines += [f"  add    {key}" for key in self.added]
        if self.unchanged:
            lines.append(f"  keep   {len(self.unchanged)} node(s) as they are")
        if not (self.added or self.removed or self.changed):
            lines.append("  the node set and every node's config stay as they are")
        return lines


@dataclass(frozen=True)
class _Registered:
    """What is under ``service_code`` now, read once for both the diff and the transaction."""

    cache_entry: Optional[tuple[bytes, Any]]  # data, stat of cache_list/<svc>
    client_list_exists: bool
    mappings: _MappingState
    owned: list[str]
    owned_configs: dict[str, Any]  # ip:port -> stored config JSON (None if unreadable)

    @property
    def cluster(self) -> Any:
        return _loads(self.cache_entry[0]) if self.cache_entry else None


def _read_registered(session: RegistrySession, service_code: str) -> _Registered:
    cache_path = paths.service_cache_list(service_code)
    existing = session.get_many([cache_path])[cache_path]
    client_list_exists = session.exists(paths.service_client_list(service_code)) is not None
    mappings = _read_mappings(session)
    owned = mappings.owned_by(service_code)
    stored = session.get_many(paths.mapping(k) for k in owned)
    configs = {k: _loads(stored[paths.mapping(k)][0]) if stored[paths.mapping(k)] else None for k in owned}
    return _Registered(existing, client_list_exists, mappings, owned, configs)


def _stored_hostnames(cluster_json: Any) -> dict[str, str]:
    """ip:port -> hostname from a stored ARCUS cluster JSON (best effort: it is data)."""
    if not isinstance(cluster_json, dict):
        return {}
    defaults = cluster_json.get("config") if isinstance(cluster_json.get("config"), dict) else {}
    names = {}
    for server in cluster_json.get("servers") or []:
        if not isinstance(server, dict):
            continue
        config = {**defaults, **(server.get("config") if isinstance(server.get("config"), dict) else {})}
        if server.get("ip") and config.get("port") is not None and server.get("hostname"):
            # stored data, shown to the operator: nothing in it may drive the terminal
            names[f"{server['ip']}:{config['port']}"] = "".join(c for c in str(server["hostname"]) if c.isprintable())
    return names


def _diff(service_code: str, now: _Registered, nodes: Sequence[NodeMapping]) -> RegistrationDiff:
    keys = [n.key for n in nodes]
    owned = set(now.owned)
    changed, unchanged = [], []
    for node in nodes:
        if node.key not in owned:
            continue
        before = now.owned_configs.get(node.key)
        if before == node.config:
            unchanged.append(node.key)
        else:
            changed.append(NodeChange(node.key, before if isinstance(before, dict) else {}, dict(node.config)))
    stored = now.cluster if isinstance(now.cluster, dict) else {}
    return RegistrationDiff(
        service_code,
        registered=now.cache_entry is not None,
        added=tuple(sorted(set(keys) - owned)),
        removed=tuple(sorted(owned - set(keys))),
        changed=tuple(sorted(changed, key=lambda c: c.key)),
        unchanged=tuple(sorted(unchanged)),
        created=str(stored["created"]) if stored.get("created") is not None else None,
        modified=str(stored["modified"]) if stored.get("modified") is not None else None,
        stored_hostnames=_stored_hostnames(stored),
    )


def _checked_nodes(service_code: str, cluster_json: Mapping[str, Any],
                   nodes: Sequence[NodeMapping]) -> list[NodeMapping]:
    paths.check_service_code(service_code)
    declared = cluster_json.get("serviceCode")
    if declared is not None and declared != service_code:
        raise ValueError(f"cluster JSON serviceCode {declared!r} differs from service code {service_code!r}")
    nodes = list(nodes)
    keys = [n.key for n in nodes]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"node listed twice: {', '.join(duplicates)}")
    return nodes


def registration_diff(
    client: "RegistrySession | KazooClient",
    service_code: str,
    cluster_json: Mapping[str, Any],
    nodes: Sequence[NodeMapping],
) -> RegistrationDiff:
    """What `register` with these arguments would add, remove and change, read now. Only
    reads (a read-only session will do). Without /arcus nothing is registered yet."""
    session = as_session(client)
    nodes = _checked_nodes(service_code, cluster_json, nodes)
    session.sync("/")
    if any(stat is None for stat in session.exists_many(paths.init_paths()).values()):
        return RegistrationDiff(service_code, registered=False, added=tuple(sorted(n.key for n in nodes)))
    return _diff(service_code, _read_registered(session, service_code), nodes)


def register(
    client: "RegistrySession | KazooClient",
    service_code: str,
    cluster_json: Mapping[str, Any],
    nodes: Sequence[NodeMapping],
    *,
    now: Optional[Callable[[], datetime.datetime]] = None,
    allowed_removals: "Collection[str] | _EveryNode" = (),
) -> RegistryOutcome:
    """Register (or re-register) ``service_code`` with exactly ``nodes``, as ARCUS does:
    one transaction that creates or updates ``cache_list/<svc>`` (cluster JSON plus
    ``created``, kept on re-register, and ``modified``), creates
    ``client_list/<svc>`` if missing, deletes the service's old mapping znodes and
    creates the new ones (``<ip:port>`` with the node's config JSON, child ``<svc>``).

    Unlike ARCUS, deleting the mapping of a node registered under the code but absent
    from ``nodes`` needs consent: every such node must be in ``allowed_removals``
    (`ANY_NODE` for all), else `RemovalNotConfirmedError` and nothing is written. The
    check is made on what is read here, right before the commit, so a consent given for
    an earlier reading covers no node that appeared since.
    """
    session = as_session(client)
    nodes = _checked_nodes(service_code, cluster_json, nodes)
    session.require_writable(f"register {service_code}")
    keys = [n.key for n in nodes]

    session.sync("/")
    _require_initialized(session)

    cache_path = paths.service_cache_list(service_code)
    client_path = paths.service_client_list(service_code)
    registered = _read_registered(session, service_code)
    existing, mappings, owned = registered.cache_entry, registered.mappings, registered.owned

    # Refuse to take over another service's node; note orphans (mapping without child).
    conflicts: dict[str, list[str]] = {}
    orphans: list[str] = []
    for key in keys:
        kids = mappings.children.get(key)
        if kids is None:
            continue
        others = [k for k in kids if k != service_code]
        if others:
            conflicts[key] = others
        elif not kids:
            orphans.append(key)
    if conflicts:
        detail = "; ".join(f"{k} belongs to {', '.join(repr(s) for s in v)}" for k, v in sorted(conflicts.items()))
        raise MappingConflictError(
            f"cannot register {service_code!r}: a memcached node maps to exactly one service code, and {detail}",
            conflicts,
        )

    diff = _diff(service_code, registered, nodes)
    unconfirmed = [key for key in diff.removed if key not in allowed_removals]
    if unconfirmed:
        raise RemovalNotConfirmedError(service_code, unconfirmed)

    stored_cluster = registered.cluster
    new_cluster = _strip_timestamps(dict(cluster_json))

    # Idempotence: same cluster JSON, same node set, same configs, client_list present.
    if (existing is not None and registered.client_list_exists and not orphans and sorted(keys) == owned
            and not diff.changed and _strip_timestamps(stored_cluster) == new_cluster):
        return RegistryOutcome(
            "register",
            service_code,
            False,
            f"{service_code} is already registered with these {len(nodes)} node(s); nothing changed",
        )

    stamp = arcus_timestamp(now() if now else None)
    ops: list[TxOp] = []
    # 1. cache_list/<svc>
    if existing is not None:
        created = stored_cluster.get("created") if isinstance(stored_cluster, dict) else None
        body = {**new_cluster, "created": created or stamp, "modified": stamp}
        ops.append(check(cache_path, existing[1].version))
        ops.append(set_data(cache_path, _dumps(body)))
    else:
        body = {**new_cluster, "created": stamp, "modified": stamp}
        ops.append(create(cache_path, _dumps(body)))
    # 2. client_list/<svc>
    if not registered.client_list_exists:
        ops.append(create(client_path))
    # 3. the service's old mappings (and mapping znodes nobody owns that we need)
    for key in owned:
        ops.append(delete(paths.mapping_service(key, service_code)))
        if mappings.children[key] == [service_code]:
            ops.append(delete(paths.mapping(key)))
    for key in orphans:
        ops.append(delete(paths.mapping(key)))
    # 4. the new mappings
    for node in nodes:
        ops.append(create(paths.mapping(node.key), _dumps(node.config)))
        ops.append(create(paths.mapping_service(node.key, service_code)))

    session.commit(ops)
    if existing is None:
        message = f"registered {service_code} with {len(nodes)} node(s)"
    else:
        message = (
            f"re-registered {service_code}: {len(nodes)} node(s)"
            + (f", added {', '.join(diff.added)}" if diff.added else "")
            + (f", removed {', '.join(diff.removed)}" if diff.removed else "")
        )
    return RegistryOutcome("register", service_code, True, message, tuple(ops))


def other_service_codes(client: "RegistrySession | KazooClient", service_code: str) -> tuple[str, ...]:
    """Every service code registered in the ensemble besides ``service_code`` (the
    children of /arcus/cache_list): who else would lose their registry if it stopped."""
    session = as_session(client)
    session.sync("/")
    base = paths.cache_list()
    children = session.children_many([base])[base] or []
    return tuple(sorted(code for code in children if code != service_code))


# -- unregister ------------------------------------------------------------------------


def unregister(
    client: "RegistrySession | KazooClient", service_code: str, force: bool = False
) -> RegistryOutcome:
    """Delete ``cache_list/<svc>``, ``client_list/<svc>`` and the service's mappings in
    one transaction. Refused (`LiveNodesError`) while ``cache_list/<svc>`` has ephemeral
    children, i.e. live memcached nodes, unless ``force`` (which removes their entries
    too; the processes keep running, unlisted, until stopped)."""
    session = as_session(client)
    paths.check_service_code(service_code)
    session.require_writable(f"unregister {service_code}")
    session.sync("/")
    if session.exists(paths.ARCUS) is None:
        return RegistryOutcome("unregister", service_code, False, f"{service_code} is not registered (no /arcus)")

    cache_path = paths.service_cache_list(service_code)
    client_path = paths.service_client_list(service_code)
    children = session.children_many([cache_path, client_path])
    cache_children = sorted(children[cache_path] or [])
    client_children = sorted(children[client_path] or [])

    stats = session.exists_many(f"{cache_path}/{c}" for c in cache_children)
    live = [c for c in cache_children if stats[f"{cache_path}/{c}"] and stats[f"{cache_path}/{c}"].ephemeralOwner]
    if live and not force:
        raise LiveNodesError(service_code, live)

    ops: list[TxOp] = []
    if children[cache_path] is not None:
        ops.extend(delete(f"{cache_path}/{c}") for c in cache_children if stats[f"{cache_path}/{c}"] is not None)
        ops.append(delete(cache_path))
    if children[client_path] is not None:
        ops.extend(delete(f"{client_path}/{c}") for c in client_children)
        ops.append(delete(client_path))
    if session.exists(paths.cache_server_mapping()) is not None:
        mappings = _read_mappings(session)
        for key in mappings.owned_by(service_code):
            ops.append(delete(paths.mapping_service(key, service_code)))
            if mappings.children[key] == [service_code]:
                ops.append(delete(paths.mapping(key)))
    if not ops:
        return RegistryOutcome(
            "unregister", service_code, False, f"{service_code} is not registered; nothing to delete"
        )
    session.commit(ops)
    mapping_prefix = paths.cache_server_mapping() + "/"
    removed_nodes = sum(
        1 for op in ops if op.path.startswith(mapping_prefix) and op.path.endswith("/" + service_code)
    )
    message = f"unregistered {service_code} ({removed_nodes} node mapping(s) removed)"
    if live:
        message += f"; forced: {len(live)} live node(s) unlisted: {', '.join(live)}"
    return RegistryOutcome("unregister", service_code, True, message, tuple(ops))


__all__ = [
    "ANY_NODE",
    "LiveNodesError",
    "MappingConflictError",
    "NodeChange",
    "NodeMapping",
    "NotInitializedError",
    "RegistrationDiff",
    "RegistryOutcome",
    "RemovalNotConfirmedError",
    "arcus_timestamp",
    "init_arcus",
    "nodes_from_cluster_json",
    "other_service_codes",
    "register",
    "registration_diff",
    "unregister",
]
