"""The clients of a service: the ephemeral children of ``/arcus/client_list/<svc>``.

NAVER's Java client (`CacheManager`) and C client (`arcus.cc`, ``do_add_client_info``)
each create one ephemeral znode per client (per pool) when they connect::

    <client hostname>_<ip>_<pool size>_<java|c>_<client version>_<YYYYMMDDhhmmss>_<zk session id>

- the time is the CLIENT's local time when it connected (no zone in the name);
- the session id is written in decimal by Java (``getSessionId()``) and in hex by C
  (``%llx``); we show both as ``0x...``, the way ZooKeeper's ``cons`` prints it;
- C cuts the hostname at 50 characters and writes ``NULL`` for an IP it could not
  resolve. NAVER's Python client registers nothing here.

A name in any other format (another client, a newer version) is kept and shown raw.
Replication clusters keep their clients under ``/arcus_repl/client_list/<svc>``.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from typing import Any, Optional

from kazoo.client import KazooClient

from arcus_tui.zk import paths
from arcus_tui.zk.session import RegistrySession, as_session

FIELDS = 7
"""hostname, ip, pool size, kind, version, time, session id."""
KNOWN_KINDS = ("java", "c")


@dataclass(frozen=True)
class ClientEntry:
    """One client of a service; `known` False means the name was not understood (see `name`)."""

    name: str  # the znode name as stored
    known: bool = False
    hostname: str = ""
    ip: str = ""
    pool_size: Optional[int] = None
    kind: str = ""  # "java", "c", or what another client writes there
    version: str = ""
    connected_at: Optional[datetime.datetime] = None  # the client's local time, naive
    session_id: str = ""  # as written
    session_hex: str = ""  # "0x..." when the kind says how it was written

    def to_json(self) -> dict[str, Any]:
        if not self.known:
            return {"name": self.name, "known": False}
        return {
            "name": self.name, "known": True, "hostname": self.hostname, "ip": self.ip,
            "pool_size": self.pool_size, "kind": self.kind, "version": self.version,
            "connected_at": self.connected_at.isoformat(sep=" ") if self.connected_at else None,
            "session_id": self.session_id, "session_hex": self.session_hex,
        }


def _looks_like_ip(text: str) -> bool:
    if text == "NULL":  # the C client's "could not resolve my own name"
        return True
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _session_hex(kind: str, session_id: str) -> str:
    try:
        if kind == "java":
            return hex(int(session_id, 10) & 0xFFFFFFFFFFFFFFFF)  # Java's long may print negative
        if kind == "c":
            return hex(int(session_id, 16))
    except ValueError:
        pass
    return ""


def _candidates(fields: list[str]) -> list[list[str]]:
    """The two readings of the name's fields: an underscore inside the hostname (cut from the
    right), or inside the version (cut from the left). Hostnames rarely have one; either way
    the time and the session id are the last two fields."""
    right = ["_".join(fields[:len(fields) - FIELDS + 1]), *fields[len(fields) - FIELDS + 1:]]
    left = [*fields[:4], "_".join(fields[4:-2]), *fields[-2:]]
    return [right] if right == left else [right, left]


def parse_client_entry(name: str) -> ClientEntry:
    """A ``client_list`` child name -> its fields; an unknown format -> ``known=False``."""
    fields = name.split("_")
    if len(fields) < FIELDS:
        return ClientEntry(name)
    for hostname, ip, pool, kind, version, when, session in _candidates(fields):
        if not (hostname and _looks_like_ip(ip) and pool.isdigit() and kind and version and len(when) == 14):
            continue
        try:
            connected_at = datetime.datetime.strptime(when, "%Y%m%d%H%M%S")
        except ValueError:
            continue
        if not session or not all(c in "0123456789abcdefABCDEF-" for c in session):
            continue
        return ClientEntry(name, True, hostname, ip, int(pool), kind, version, connected_at, session,
                           _session_hex(kind, session))
    return ClientEntry(name)


def parse_client_list(names: list[str]) -> tuple[ClientEntry, ...]:
    """Every child, sorted by connection time (unknown formats last, by name)."""
    entries = [parse_client_entry(n) for n in names]
    return tuple(sorted(entries, key=lambda e: (not e.known, e.connected_at or datetime.datetime.min, e.name)))


@dataclass(frozen=True)
class ClientList:
    service_code: str
    path: Optional[str]  # the client_list znode read; None when the service has none
    entries: tuple[ClientEntry, ...] = ()

    @property
    def exists(self) -> bool:
        return self.path is not None

    def to_json(self) -> dict[str, Any]:
        return {"service_code": self.service_code, "path": self.path, "count": len(self.entries),
                "clients": [e.to_json() for e in self.entries]}


def client_list_path(client: "RegistrySession | KazooClient", service_code: str) -> Optional[str]:
    """``/arcus/client_list/<svc>``, or the ``/arcus_repl`` one when only that exists (None: neither)."""
    session = as_session(client)
    candidates = [paths.service_client_list(service_code, root) for root in paths.ROOTS]
    found = session.exists_many(candidates)
    return next((p for p in candidates if found[p] is not None), None)


def read_client_list(client: "RegistrySession | KazooClient", service_code: str) -> ClientList:
    """The clients connected to a service now (reads only)."""
    session = as_session(client)
    paths.check_service_code(service_code)
    session.sync("/")  # see the clients other members registered
    path = client_list_path(session, service_code)
    if path is None:
        return ClientList(service_code, None)
    names = session.children_many([path])[path]
    return ClientList(service_code, path if names is not None else None, parse_client_list(names or []))


__all__ = ["ClientEntry", "ClientList", "client_list_path", "parse_client_entry", "parse_client_list",
           "read_client_list"]
