"""Pieces of the ZooKeeper browser: the tree widget, node labels and the detail panel.

Pure rendering: these take what `arcus_tui.zk` read (`ZnodeInfo`, the `ZnodeCache`
seen through a `ZnodeFilter`) and draw it; `ZkTree.sync` makes the rows under a
znode match the model in place, a page at a time. The pane
(`ui/panes/zookeeper.py`) decides when to read.

A row's data is its znode path, or `more_marker(parent)` for the "… N more" row
that loads the next page of ``parent``'s children (Enter or space on it).

Znode names and data are shown as plain text, never parsed as markup: a znode
called ``[bold]`` is drawn as those seven characters.
"""

from __future__ import annotations

import datetime
import json
from typing import Mapping, Optional

from rich.text import Text
from textual.content import Content
from textual.message import Message
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from arcus_tui.zk import paths
from arcus_tui.zk.tree import ZnodeInfo
from arcus_tui.zk.znode_roles import describe_path
from arcus_tui.zk.znode_cache import PAGE, ROOT, ChildStat, ZnodeCache, name_of, parent_of, size_note, under
from arcus_tui.zk.znode_filter import ZnodeFilter

MORE = "more:"
"""Prefix of a "… N more" row's data (a znode path always starts with /)."""
MAX_DATA_SHOWN = 64 * 1024
"""Bytes of a znode's data the detail panel shows (ZooKeeper allows up to 1 MB)."""

def more_marker(parent: str) -> str:
    return MORE + parent


def more_parent(data: Optional[str]) -> Optional[str]:
    """The znode whose next page a row loads, or None for any other row."""
    return data[len(MORE):] if data and data.startswith(MORE) else None


def is_znode(data: Optional[str]) -> bool:
    return bool(data) and data.startswith("/")


def more_label(more: int, page: int, filtered: bool) -> Text:
    """``… 99800 more, Enter: show 200 more`` (``more match`` under a filter)."""
    count = f"… {more} more match" if filtered else f"… {more} more"
    return Text(f"{count}, press Enter to show {min(more, page)} more", style="dim italic")


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


def detail_content(info: ZnodeInfo, warning: str = "") -> Content:
    """The detail panel for one znode: path, role, stat, a warning (a read of its
    children that failed), then the data."""
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
    if warning:
        parts += [Content.styled(warning, "bold $error"), Content("")]
    note = size_note(info.num_children)
    if note:
        parts += [Content.styled(note, "italic $warning"), Content("")]
    for key, value in rows:
        parts.append(Content.assemble((f"{key:<10}", label), value))
    parts.append(Content(""))
    parts.append(Content.assemble(("data", "bold"), ("  " + kind, label)))
    if text:
        parts.append(Content(text))
    return Content("\n").join(parts)


def connection_message(state: str, connect_string: str, error: str, connect_timeout: float) -> Content:
    """What the pane shows instead of the tree while there is no connection."""
    muted = "$foreground-muted"
    if state == "failed":
        return Content.assemble(
            ("Cannot connect to ZooKeeper", "bold $error"), "\n\n", ("ensemble  ", muted), (connect_string, "bold"), "\n\n",
            error, "\n\n", ("Press ", muted), ("r", "bold $accent"), (" to try again.", muted))
    if state == "unavailable":
        return Content.assemble(("ZooKeeper", "bold $primary"), "\n\n", error)
    return Content.assemble(("Connecting to ZooKeeper ", muted), (connect_string, "bold"),
                            (f"  (read-only, up to {connect_timeout:g} s)", muted))


def status_line(connect_string: str, state: str, open_count: int, filter_text: str, matches: tuple[int, int],
                read_error: str) -> Content:
    """``ZooKeeper <ensemble> · connected · read-only · 3 open · filter …``."""
    muted = "$foreground-muted"
    parts: list = [("ZooKeeper ", "bold"), (connect_string or "-", "bold $primary"), "  ·  "]
    if state == "reconnecting":
        parts.append(("connection lost, reconnecting", "bold $warning"))
    elif state == "connected":
        parts.append(("connected", "$success"))
    else:
        parts.append((state, "$warning" if state == "failed" else muted))
    parts.append(("  ·  read-only", muted))
    if state in ("connected", "reconnecting"):
        parts.append((f"  ·  {open_count} open", muted))
    if filter_text:
        parts += ["  ·  filter ", (filter_text, "bold $accent"),
                  (f": {matches[0]} of {matches[1]} znodes read so far match", muted)]
    if read_error:
        parts += ["  ·  ", (read_error, "$error")]
    return Content.assemble(*parts)


class ZkTree(Tree[str]):
    """The znode tree, drawn from a `ZnodeCache` through a `ZnodeFilter`.

    Each row's data is its znode path (or a "… N more" marker). Enter / space expand
    and collapse; on a "… N more" row they post `MoreWanted`. Scrolling posts
    `Scrolled`, so the pane reads the stat of the rows that came on screen."""

    class Scrolled(Message):
        pass

    class MoreWanted(Message):
        def __init__(self, parent: str) -> None:
            super().__init__()
            self.parent = parent

    def __init__(self, *, id: Optional[str] = None) -> None:
        super().__init__(Text(ROOT), data=ROOT, id=id)
        self.show_root = True
        self.guide_depth = 3
        self.by_path: dict[str, TreeNode[str]] = {ROOT: self.root}
        self.expanded_paths: set[str] = {ROOT}
        self.opened_by_filter: set[str] = set()
        self.auto_expand: set[str] = set()
        """Opened as soon as they are known to have children (once each)."""
        self._drawn_stats: dict[str, Optional[ChildStat]] = {}
        """The stat each row's label was drawn with: an unchanged row is not redrawn."""

    def reset(self) -> None:
        self.clear()
        self._drawn_stats.clear()
        self.by_path = {ROOT: self.root}
        self.expanded_paths = {ROOT}
        self.opened_by_filter.clear()

    # -- keys and scrolling -----------------------------------------------------------

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            self.post_message(self.Scrolled())

    def _wants_more(self) -> bool:
        node = self.cursor_node
        parent = more_parent(node.data) if node is not None else None
        if parent is None:
            return False
        self.post_message(self.MoreWanted(parent))
        return True

    def action_select_cursor(self) -> None:
        if not self._wants_more():
            super().action_select_cursor()

    def action_toggle_node(self) -> None:
        if not self._wants_more():
            super().action_toggle_node()

    def visible_paths(self) -> list[str]:
        """The znode paths of the rows on screen."""
        top = round(self.scroll_y)
        found = []
        for line in range(top, top + max(self.scrollable_content_region.height, 1)):
            node = self.get_node_at_line(line)
            if node is None:
                break
            if is_znode(node.data):
                found.append(node.data)
        return found

    # -- drawing the model ------------------------------------------------------------

    def palette(self) -> dict[str, str]:
        try:
            return self.app.get_css_variables()
        except Exception:  # pragma: no cover - no app (unit use)
            return {}

    def refresh_row(self, path: str, cache: ZnodeCache, palette: Optional[Mapping[str, str]] = None) -> None:
        """The label and expander of ``path``'s row, if drawn."""
        node = self.by_path.get(path)
        if node is None or path == ROOT:
            return
        stat, allow_expand = cache.stat(path), cache.has_children(path)
        if stat is not self._drawn_stats.get(path, node) or allow_expand != node.allow_expand:
            node.set_label(znode_label(path, stat, palette or self.palette()))
            node.allow_expand = allow_expand
            self._drawn_stats[path] = stat
        if path in self.auto_expand and node.allow_expand:
            self.auto_expand.discard(path)
            if not node.is_expanded:
                node.expand()

    def repaint(self, cache: ZnodeCache) -> None:
        """Every row's label again, in the colours of the theme now (a label holds its colours)."""
        palette = self.palette()
        for path, node in self.by_path.items():
            if path != ROOT and is_znode(path):
                node.set_label(znode_label(path, cache.stat(path), palette))

    def sync(self, path: str, cache: ZnodeCache, view: ZnodeFilter,
             palette: Optional[Mapping[str, str]] = None) -> None:
        """Make the rows under ``path`` what the model says (filtered, paged), in
        place: rows that stay keep their expansion and the cursor."""
        node = self.by_path.get(path)
        if node is not None:
            self._sync(node, cache, view, view.ancestor_matches(path), palette or self.palette())

    def _sync(self, node: TreeNode[str], cache: ZnodeCache, view: ZnodeFilter, inherited: bool,
              palette: Mapping[str, str]) -> None:
        path = node.data
        if not is_znode(path) or not cache.is_open(path):
            return
        page = view.page(path, inherited)
        inherited = inherited or view.matches(path)
        self._remove_rows_but(node, set(page.paths))
        present = {child.data: child for child in node.children}
        for index, path_ in enumerate(page.paths):
            child = present.get(path_)
            if child is None:
                before = index if index < len(node.children) else None
                stat = cache.stat(path_)
                child = node.add(znode_label(path_, stat, palette), data=path_, before=before,
                                 expand=path_ in self.expanded_paths, allow_expand=cache.has_children(path_))
                self.by_path[path_] = child
                self._drawn_stats[path_] = stat
            else:
                self.refresh_row(path_, cache, palette)
            if path_ in page.matched_below and not child.is_expanded and child.allow_expand:
                # Shown only for a match below it: open it so the match is on screen
                # (closed again when the filter is cleared).
                self.opened_by_filter.add(path_)
                child.expand()
            self._sync(child, cache, view, inherited, palette)
        if page.more:
            node.add_leaf(more_label(page.more, PAGE, bool(view)), data=more_marker(path))

    def _remove_rows_but(self, node: TreeNode[str], keep: set[str]) -> None:
        for child in list(node.children):
            if child.data in keep:
                continue
            cursor = self.cursor_node
            if cursor is not None and is_znode(cursor.data) and cursor in (child, *_descendants(child)):
                self.move_cursor(node)
            for each in (child, *_descendants(child)):
                if is_znode(each.data) and self.by_path.get(each.data) is each:
                    del self.by_path[each.data]
                    self._drawn_stats.pop(each.data, None)
            child.remove()

    def show_more(self, parent: str, cache: ZnodeCache, view: ZnodeFilter) -> None:
        """One more page under ``parent``; the cursor stays on its line, now the
        first row of that page."""
        line = self.cursor_line
        cache.more(parent)
        self.sync(parent, cache, view)
        self.cursor_line = line

    def show_failure(self, path: str, note: str) -> None:
        """A row under ``path`` saying its children could not be read."""
        node = self.by_path.get(path)
        if node is not None:
            node.remove_children()
            node.add_leaf(Text(note, style=self.palette().get("error", "")), data=None)

    def close_filter_openings(self) -> None:
        for path in self.opened_by_filter:
            node = self.by_path.get(path)
            if node is not None and node.is_expanded:
                node.collapse()
        self.opened_by_filter.clear()

    def forget_below(self, top: str) -> None:
        self.expanded_paths = {p for p in self.expanded_paths if p == ROOT or not under(p, top)}


def _descendants(node: TreeNode[str]):
    for child in node.children:
        yield child
        yield from _descendants(child)


class ZkDetail(Static):
    """The selected znode: stat and data, as plain text."""

    def show_node(self, info: ZnodeInfo, warning: str = "") -> None:
        self.info = info
        self.update(detail_content(info, warning))

    def show_note(self, path: str, note: str) -> None:
        self.info = None
        self.update(Content.assemble((path, "bold $primary"), "\n\n", (note, "italic $foreground-muted")))

    info: Optional[ZnodeInfo] = None


__all__ = ["ChildStat", "MAX_DATA_SHOWN", "ROOT", "ZkDetail", "ZkTree", "connection_message", "describe_path",
           "detail_content", "status_line",
           "format_data", "format_time", "is_znode", "more_label", "more_marker", "more_parent", "name_of",
           "parent_of", "znode_label"]
