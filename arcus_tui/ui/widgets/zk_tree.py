"""Pieces of the ZooKeeper browser: the tree widget, node labels and the detail panel.

Pure rendering: these take what `arcus_tui.zk.tree` read (`NodeInfo`, znode stats)
and draw it. The pane (`ui/panes/zookeeper.py`) decides when to read.

Znode names and data are shown as plain text, never parsed as markup: a znode
called ``[bold]`` is drawn as those seven characters.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Mapping, Optional

from rich.text import Text
from textual.content import Content
from textual.widgets import Static, Tree

from arcus_tui.zk import paths
from arcus_tui.zk.tree import NodeInfo

ROOT = "/"
MAX_DATA_SHOWN = 64 * 1024
"""Bytes of a znode's data the detail panel shows (ZooKeeper allows up to 1 MB)."""

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


def parent_of(path: str) -> str:
    parent = path.rsplit("/", 1)[0]
    return parent or ROOT


def name_of(path: str) -> str:
    return path.rsplit("/", 1)[-1] or ROOT


def describe_path(path: str) -> Optional[str]:
    """What a path is in the ARCUS layout (arcus-reference.md §3), or None."""
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


@dataclass(frozen=True)
class ChildStat:
    """What a tree line needs to know of a znode without reading its data."""

    num_children: int
    ephemeral: bool
    data_length: int = 0

    @classmethod
    def from_stat(cls, stat) -> "ChildStat":
        return cls(stat.numChildren, stat.ephemeralOwner != 0, stat.dataLength)

    @classmethod
    def from_info(cls, info: NodeInfo) -> "ChildStat":
        return cls(info.num_children, info.ephemeral, len(info.data))


def znode_label(path: str, stat: Optional[ChildStat], palette: Mapping[str, str]) -> Text:
    """``name  (children)  role``; ARCUS roots bold, live (ephemeral) nodes in the
    success colour with a dot."""
    name = name_of(path)
    style = ""
    if path in (paths.ARCUS, paths.ARCUS_REPL):
        style = f"bold {palette.get('primary', '')}".strip()
    elif stat is not None and stat.ephemeral:
        style = palette.get("success", "")
    label = Text(name, style=style)
    if stat is not None and stat.ephemeral:
        label.append(" ●", style=palette.get("success", ""))
    if stat is not None and stat.num_children:
        label.append(f" ({stat.num_children})", style="dim")
    role = describe_path(path)
    if role:
        label.append(f"  {role}", style="dim italic")
    return label


def format_time(ms: int) -> str:
    if not ms:
        return "-"
    return datetime.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def format_data(data: bytes) -> tuple[str, str]:
    """(what it is, text to show): JSON objects/arrays pretty-printed, UTF-8 text as
    is, other bytes with replacement characters."""
    if not data:
        return "empty", ""
    shown = data[:MAX_DATA_SHOWN]
    cut = f", first {MAX_DATA_SHOWN} shown" if len(data) > MAX_DATA_SHOWN else ""
    try:
        text = shown.decode("utf-8")
    except UnicodeDecodeError:
        return f"{len(data)} bytes, not UTF-8{cut}", shown.decode("utf-8", "replace")
    if not cut:
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, (dict, list)):
            return f"{len(data)} bytes, JSON", json.dumps(value, indent=2, ensure_ascii=False)
    return f"{len(data)} bytes, UTF-8{cut}", text


def detail_content(info: NodeInfo) -> Content:
    """The detail panel for one znode: path, role, stat, then the data."""
    label = "$foreground-muted"
    rows: list[tuple[str, str]] = [
        ("version", f"{info.version}  (children version {info.cversion})"),
        ("children", str(info.num_children)),
        ("created", format_time(info.ctime_ms)),
        ("modified", format_time(info.mtime_ms)),
        ("owner", f"ephemeral, session 0x{info.ephemeral_owner:x}" if info.ephemeral else "persistent"),
    ]
    kind, text = format_data(info.data)
    parts: list[Content] = [Content.styled(info.path, "bold $primary")]
    role = describe_path(info.path)
    if role:
        parts.append(Content.styled(role, "italic $foreground-muted"))
    parts.append(Content(""))
    for key, value in rows:
        parts.append(Content.assemble((f"{key:<10}", label), value))
    parts.append(Content(""))
    parts.append(Content.assemble(("data", "bold"), ("  " + kind, label)))
    if text:
        parts.append(Content(text))
    return Content("\n").join(parts)


class ZkTree(Tree[str]):
    """The znode tree; each node's data is its path. Enter / space expand and collapse."""

    def __init__(self, *, id: Optional[str] = None) -> None:
        super().__init__(Text(ROOT), data=ROOT, id=id)
        self.show_root = True
        self.guide_depth = 3


class ZkDetail(Static):
    """The selected znode: stat and data, as plain text."""

    def show_node(self, info: NodeInfo) -> None:
        self.info = info
        self.update(detail_content(info))

    def show_note(self, path: str, note: str) -> None:
        self.info = None
        self.update(Content.assemble((path, "bold $primary"), "\n\n", (note, "italic $foreground-muted")))

    info: Optional[NodeInfo] = None
