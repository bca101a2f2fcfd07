"""The ARCUS znode layout (docs/arcus.md#the-znode-layout), as names and small functions.

Base layout, written by `arcus.sh zookeeper init` / `memcached register` and read by
arcus-memcached (`arcus_zk.c`) and every ARCUS client::

    /arcus
    /arcus/cache_list/<svc>                          cluster JSON + created/modified
    /arcus/cache_list/<svc>/<ip>:<port>-<hostname>   ephemeral, data "<memlimit>MB"
    /arcus/client_list/<svc>                         clients add ephemeral children
    /arcus/cache_server_mapping/<ip>:<port>          the node's merged config JSON
    /arcus/cache_server_mapping/<ip>:<port>/<svc>    empty; its name is the service code
    /arcus/cache_server_log/<YYYY-MM-DD>/<ip>:<port>-<hostname>-<seq>   join / rejoin

Replication layout (later ARCUS versions; arcus-tui only reads it)::

    /arcus_repl/cache_list/<svc>/<group>^<M|S>^<ip>:<port>-<hostname>
    /arcus_repl/cache_server_mapping/<ip>:<port>/<svc>^<group>^<repl ip:port>[^<migration>]
    /arcus_repl/group_list/<svc>/<group>
"""

from __future__ import annotations

from typing import Final

ARCUS: Final = "/arcus"
ARCUS_REPL: Final = "/arcus_repl"

CACHE_LIST: Final = "cache_list"
CLIENT_LIST: Final = "client_list"
CACHE_SERVER_MAPPING: Final = "cache_server_mapping"
CACHE_SERVER_LOG: Final = "cache_server_log"
GROUP_LIST: Final = "group_list"  # /arcus_repl only
SERVICE_CODE_MAPPING: Final = "service_code_mapping"  # newer ARCUS, displayed only
META: Final = "meta"  # newer ARCUS, displayed only

ROOTS: Final = (ARCUS, ARCUS_REPL)

# The children "zookeeper init" creates under /arcus (after /arcus itself, in the same
# transaction): the old tool's three, plus the join log's parent, which NAVER's own test setups
# (arcus-misc) create too: arcus-memcached writes its join/rejoin history under it only when
# it exists, and the Events tab reads it.
INIT_CHILDREN: Final = (CACHE_LIST, CLIENT_LIST, CACHE_SERVER_MAPPING, CACHE_SERVER_LOG)

REPL_SEPARATOR: Final = "^"
"""Separates the fields of /arcus_repl mapping children and cache_list children."""


def _check_root(root: str) -> str:
    if root not in ROOTS:
        raise ValueError(f"unknown ARCUS root {root!r}; expected one of {', '.join(ROOTS)}")
    return root


def check_service_code(service_code: str) -> str:
    """A service code is one znode name: non-empty, no '/', no ARCUS separators."""
    if not isinstance(service_code, str) or not service_code:
        raise ValueError("service code must be a non-empty string")
    bad = [c for c in ("/", REPL_SEPARATOR, "\x00") if c in service_code]
    if bad or service_code in (".", "..") or service_code != service_code.strip():
        raise ValueError(f"invalid service code {service_code!r}")
    return service_code


def node_key(address: str, port: int | str) -> str:
    """`<ip>:<port>`, the name of a node's mapping znode."""
    return f"{address}:{int(port)}"


def cache_list(root: str = ARCUS) -> str:
    return f"{_check_root(root)}/{CACHE_LIST}"


def client_list(root: str = ARCUS) -> str:
    return f"{_check_root(root)}/{CLIENT_LIST}"


def cache_server_mapping(root: str = ARCUS) -> str:
    return f"{_check_root(root)}/{CACHE_SERVER_MAPPING}"


def cache_server_log(root: str = ARCUS) -> str:
    return f"{_check_root(root)}/{CACHE_SERVER_LOG}"


def group_list(root: str = ARCUS_REPL) -> str:
    return f"{_check_root(root)}/{GROUP_LIST}"


def service_cache_list(service_code: str, root: str = ARCUS) -> str:
    """`/arcus/cache_list/<svc>`: cluster JSON; live nodes are its ephemeral children."""
    return f"{cache_list(root)}/{check_service_code(service_code)}"


def service_client_list(service_code: str, root: str = ARCUS) -> str:
    return f"{client_list(root)}/{check_service_code(service_code)}"


def mapping(key: str, root: str = ARCUS) -> str:
    """`/arcus/cache_server_mapping/<ip>:<port>`: the node's merged config JSON."""
    return f"{cache_server_mapping(root)}/{key}"


def mapping_service(key: str, service_code: str, root: str = ARCUS) -> str:
    """`/arcus/cache_server_mapping/<ip>:<port>/<svc>`: tells the node its service."""
    return f"{mapping(key, root)}/{check_service_code(service_code)}"


def init_paths() -> tuple[str, ...]:
    """The znodes "zookeeper init" creates, parents first."""
    return (ARCUS, *(f"{ARCUS}/{child}" for child in INIT_CHILDREN))
