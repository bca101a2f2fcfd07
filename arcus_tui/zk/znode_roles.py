"""What a znode is in the ARCUS layout, in a few words for the ZooKeeper tab's rows and detail
("ARCUS registry", "service", "memcached node (live)", ...)."""

from __future__ import annotations

from typing import Optional

from . import paths

_ROOT_ROLES = {paths.ARCUS: "ARCUS registry", paths.ARCUS_REPL: "ARCUS replication registry",
               "/zookeeper": "ZooKeeper's own"}
_SECTION_ROLES = {
    paths.CACHE_LIST: "services: live nodes per service code",
    paths.CLIENT_LIST: "clients per service code",
    paths.CACHE_SERVER_MAPPING: "node -> service code",
    paths.CACHE_SERVER_LOG: "join / rejoin log",
    paths.GROUP_LIST: "replication groups",
    paths.SERVICE_CODE_MAPPING: "service code mapping",
    paths.META: "ARCUS meta",
}


def describe_path(path: str) -> Optional[str]:
    """What a path is in the ARCUS layout (docs/arcus.md#the-znode-layout), or None."""
    if path in _ROOT_ROLES:
        return _ROOT_ROLES[path]
    for root in paths.ROOTS:
        if not path.startswith(root + "/"):
            continue
        parts = path[len(root) + 1:].split("/")
        section = parts[0]
        if len(parts) == 1:
            return _SECTION_ROLES.get(section)
        if section == paths.CACHE_LIST:
            return "service" if len(parts) == 2 else "memcached node (live)" if len(parts) == 3 else None
        if section == paths.CACHE_SERVER_MAPPING and len(parts) == 2:
            return "node"
        if section == paths.CACHE_SERVER_MAPPING and len(parts) == 3:
            return "its service code" + (" ^ group ^ address" if root == paths.ARCUS_REPL else "")
        if section == paths.CLIENT_LIST and len(parts) == 2:
            return "service"
        if section == paths.CACHE_SERVER_LOG and len(parts) == 2:
            return "day"
    return None
