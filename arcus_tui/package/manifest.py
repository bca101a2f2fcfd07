"""MANIFEST.json: what a package was built from, by whom, and whether a new build may reuse it."""

from __future__ import annotations

import datetime
import json
import platform
from pathlib import Path
from typing import Optional, Sequence

from arcus_tui import __version__

from .source import Source
from .zookeeper_server import ZooKeeperServer

MANIFEST_NAME = "MANIFEST.json"
BUILDER = "arcus-tui package build"
BUILDER_FORMAT = 1  # raise it when a package built the old way must no longer be reused


def new_manifest(source: Source, server: ZooKeeperServer, zookeeper_client: str,
                 libraries: Sequence[str], modules: Sequence[str], rpath: str) -> dict:
    checksum_kind, _, digest = source.checksum.partition(":")
    return {
        "builder": BUILDER,
        "builder_format": BUILDER_FORMAT,
        "arcus_tui_version": __version__,
        "built_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "build_host": {"machine": platform.machine(), "system": _os_name()},
        "source": {
            "name": "arcus-memcached",
            "version": source.version,
            "kind": source.kind,
            "origin": str(source.origin),
            "checksum": source.checksum,
            "sha256": digest if checksum_kind == "sha256" else None,
            "commit": source.commit,
            "dirty": source.dirty,
        },
        "zookeeper_client": zookeeper_client,
        "zookeeper_server": server.manifest(),
        "libraries": list(libraries),
        "modules": list(modules),
        "rpath": rpath,
    }


def _os_name() -> str:
    try:
        return platform.freedesktop_os_release().get("PRETTY_NAME", platform.system())
    except (OSError, AttributeError):  # no /etc/os-release, or Python < 3.10
        return platform.system()


def write_manifest(package: Path, manifest: dict) -> None:
    (package / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def read_manifest(package: Path) -> Optional[dict]:
    """The manifest, or None when there is none or it is not one we can read."""
    try:
        data = json.loads((Path(package) / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_ours(manifest: Optional[dict]) -> bool:
    return manifest is not None and manifest.get("builder") == BUILDER


def same_build(manifest: Optional[dict], source: Source, zookeeper_origin: str) -> bool:
    """A package built the same way from the same source, with the same ZooKeeper server."""
    if not is_ours(manifest) or manifest.get("builder_format") != BUILDER_FORMAT:
        return False
    recorded_source = manifest.get("source") or {}
    recorded_server = manifest.get("zookeeper_server") or {}
    return (recorded_source.get("checksum") == source.checksum
            and recorded_server.get("origin") == zookeeper_origin)
