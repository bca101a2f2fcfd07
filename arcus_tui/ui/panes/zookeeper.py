"""Tab 4, ZooKeeper: a live, lazy browser of the cluster's ensemble. READ-ONLY.

The pane opens its own `RegistrySession` with ``read_only=True`` (always, whatever
``--read-only`` says): it only reads and watches, and the session would refuse a
write even if some code here tried one. Nothing in this module calls a write.

How it works (after Harlequin's lazy tree):

* connecting runs in a worker (kazoo is synchronous: ``asyncio.to_thread``) with
  a timeout, the first time the tab is shown; a failure shows the ensemble string,
  the reason and the retry key, never a traceback;
* expanding a node reads its children (and their stats, for child counts and the
  live-node mark) in a worker, and `TreeWatcher` then watches it: its callbacks
  already run on the loop, they post `ZooKeeperPane.Changed`, whose handler
  re-reads that one node and updates the tree in place;
* the detail panel shows the highlighted znode (data as UTF-8, JSON pretty-printed);
* ``/`` filters the tree by name (over the nodes read so far), ``r`` re-reads
  every open node (or retries the connection).

The model (children names and stats per path read so far) is kept apart from the
`Tree` widget, so filtering and live changes are one `_sync` of the tree against it.
"""

from __future__ import annotations

import asyncio
import threading
from functools import partial
from typing import Optional

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Static, Tree
from textual.widgets.tree import TreeNode

from arcus_tui.zk import paths
from arcus_tui.zk.session import RegistrySession
from arcus_tui.zk.tree import ChangeKind, NodeInfo, TreeChange, TreeWatcher, child_path, read_node

from ..context import AppContext
from ..widgets.zk_tree import ROOT, ChildStat, ZkDetail, ZkTree, name_of, parent_of, znode_label

DEFAULT_CONNECT_TIMEOUT = 10.0
CONNECTION_CHECK_INTERVAL = 1.0
MAX_CHILDREN_SHOWN = 1000
"""Children drawn under one node; the rest are named by a count (filter to narrow)."""
MAX_WATCHED_CHILDREN = 1000
"""Up to this many children of an open node are watched themselves (live counts)."""
AUTO_EXPAND = (paths.ARCUS, paths.ARCUS_REPL, paths.cache_list(paths.ARCUS))
"""Opened on connect when they exist: the ARCUS registry is what an operator came for."""


def read_level(session: RegistrySession, path: str) -> Optional[tuple[NodeInfo, dict[str, ChildStat]]]:
    """In a worker thread: ``path`` and the stat of each of its children (one
    pipelined round of requests). None when ``path`` is gone."""
    info = read_node(session, path)
    if info is None:
        return None
    child_paths = {name: child_path(path, name) for name in info.children}
    found = session.exists_many(child_paths.values())
    return info, {name: ChildStat.from_stat(found[p]) for name, p in child_paths.items() if found[p] is not None}


def _under(path: str, top: str) -> bool:
    return path == top or top == ROOT or path.startswith(top + "/")


def _close_quietly(session: Optional[RegistrySession]) -> None:
    """Close off the loop: kazoo's stop waits for its connection thread."""
    if session is not None:
        threading.Thread(target=session.close, name="arcus-tui-zk-close", daemon=True).start()


class ZkMessage(Static, can_focus=True):
    """Shown instead of the tree when there is no connection; focusable so that the
    pane's keys (``r`` to retry) work while it is shown."""


class ZooKeeperPane(Vertical):
    """The ZooKeeper tab: status line, filter, tree and detail panel."""

    BINDINGS = [
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("r", "reload", "Reload / retry"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    class Changed(Message):
        """A watched znode changed (posted from TreeWatcher's callback, on the loop)."""

        def __init__(self, change: TreeChange) -> None:
            super().__init__()
            self.change = change

    def __init__(self, context: AppContext, *, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
                 id: Optional[str] = "zk-pane") -> None:
        super().__init__(id=id)
        self.context = context
        cluster = context.cluster
        self.hosts = cluster.connect_string if cluster is not None else ""
        self.connect_timeout = connect_timeout
        self.session: Optional[RegistrySession] = None
        self.watcher: Optional[TreeWatcher] = None
        self.state = "idle"  # idle | connecting | connected | failed | unavailable
        self.error = ""
        self.filter_text = ""
        self._children: dict[str, tuple[str, ...]] = {}
        self._stats: dict[str, ChildStat] = {}
        self._by_path: dict[str, TreeNode[str]] = {}
        self._expanded: set[str] = {ROOT}
        self._detail_path: Optional[str] = None
        self._started = False
        self._was_connected = False
        self._read_error = ""
        self._auto_expand: set[str] = set()
        self._opened_by_filter: set[str] = set()

    # -- layout ----------------------------------------------------------------------

    def compose(self):
        yield Static(id="zk-status")
        yield Input(placeholder="filter by name (enter: keep, esc: clear)", id="zk-filter")
        with Horizontal(id="zk-body"):
            yield ZkTree(id="zk-tree")
            with VerticalScroll(id="zk-detail-box"):
                yield ZkDetail(id="zk-detail")
        yield ZkMessage(id="zk-message")

    @property
    def znode_tree(self) -> ZkTree:
        return self.query_one(ZkTree)

    @property
    def detail(self) -> ZkDetail:
        return self.query_one(ZkDetail)

    def on_mount(self) -> None:
        self._by_path[ROOT] = self.znode_tree.root
        if self.context.cluster is None:
            self._set_state("unavailable", "No cluster file: start arcus-tui with one to browse its ZooKeeper.")
        elif not self.hosts:
            self._set_state("unavailable", "The cluster file names no ZooKeeper member ([zookeeper] servers "
                                           "or a host with zookeeper = true).")
        else:
            self._set_state("idle")
        self.set_interval(CONNECTION_CHECK_INTERVAL, self._check_connection)

    def on_show(self) -> None:
        """First shown: connect (not at start-up, so an unused tab costs nothing)."""
        if not self._started and self.state == "idle":
            self._started = True
            self.connect()
        self.call_after_refresh(self._focus_primary, True)

    async def on_unmount(self) -> None:
        watcher, session = self.watcher, self.session
        self.watcher = self.session = None
        if watcher is not None:
            watcher.close()
        if session is not None:
            try:
                await asyncio.wait_for(asyncio.to_thread(session.close), 5)
            except Exception:  # leaving anyway
                pass

    def _focus_primary(self, force: bool = False) -> None:
        """Focus the tree (or the message): always when the tab is shown, otherwise
        only when the focus was lost or sits on a widget of this pane now hidden."""
        if not self.is_attached or not self.region:  # not on screen (another tab)
            return
        focused = self.screen.focused
        if not force and focused is not None and (self not in focused.ancestors or focused.region):
            return
        if self.state == "connected":
            self.znode_tree.focus()
        else:
            self.query_one(ZkMessage).focus()

    # -- connection ------------------------------------------------------------------

    def connect(self) -> None:
        """(Re)connect in a worker; the UI keeps running meanwhile."""
        self._teardown()
        self._set_state("connecting")
        self.run_worker(self._connect, group="zk-connect", exclusive=True, exit_on_error=False)

    async def _connect(self) -> None:
        attempt = asyncio.ensure_future(asyncio.to_thread(
            RegistrySession.connect, self.hosts, read_only=True, timeout=self.connect_timeout))
        try:
            session = await asyncio.shield(attempt)
        except asyncio.CancelledError:  # pane gone or a newer attempt: close what arrives
            attempt.add_done_callback(lambda done: done.cancelled() or done.exception() or _close_quietly(done.result()))
            raise
        except Exception as error:  # RegistryConnectionError, or anything else: a message, no traceback
            self._set_state("failed", str(error) or type(error).__name__)
            return
        self.session = session
        self.watcher = TreeWatcher(session, asyncio.get_running_loop(), self._on_change)
        self._was_connected = True
        self._set_state("connected")
        self._auto_expand = set(AUTO_EXPAND)
        tree = self.znode_tree
        tree.root.expand()
        tree.move_cursor(tree.root)
        self._show_detail(ROOT)
        await self._load(ROOT)

    def _teardown(self) -> None:
        if self.watcher is not None:
            self.watcher.close()
        _close_quietly(self.session)
        self.watcher = self.session = None
        self._children.clear()
        self._stats.clear()
        tree = self.znode_tree
        tree.clear()
        self._by_path = {ROOT: tree.root}
        self._expanded = {ROOT}
        self._opened_by_filter.clear()
        self._detail_path = None

    def _check_connection(self) -> None:
        """kazoo reconnects by itself; after it does, re-read and re-watch (a session
        expiry drops every watch)."""
        if self.state != "connected" or self.session is None:
            return
        connected = self.session.connected
        if connected and not self._was_connected:
            self._reload_all()
        if connected != self._was_connected:
            self._was_connected = connected
            self._update_status()

    # -- state and status line -------------------------------------------------------

    def _set_state(self, state: str, error: str = "") -> None:
        self.state = state
        self.error = error
        for name in ("idle", "connecting", "connected", "failed", "unavailable"):
            self.set_class(state == name, f"-{name}")
        message = self.query_one(ZkMessage)
        if state == "failed":
            message.update(Content.assemble(
                ("Cannot connect to ZooKeeper", "bold $error"), "\n\n",
                ("ensemble  ", "$foreground-muted"), (self.hosts, "bold"), "\n\n",
                error, "\n\n",
                ("Press ", "$foreground-muted"), ("r", "bold $accent"), (" to try again.", "$foreground-muted")))
        elif state == "unavailable":
            message.update(Content.assemble(("ZooKeeper", "bold $primary"), "\n\n", error))
        else:
            message.update(Content.assemble(
                ("Connecting to ZooKeeper ", "$foreground-muted"), (self.hosts, "bold"),
                (f"  (read-only, up to {self.connect_timeout:g} s)", "$foreground-muted")))
        self._update_status()
        self.refresh_bindings()
        self.call_after_refresh(self._focus_primary)

    def _update_status(self) -> None:
        parts: list = [("ZooKeeper ", "bold"), (self.hosts or "-", "bold $primary"), "  ·  "]
        if self.state == "connected":
            if self.session is not None and not self.session.connected:
                parts.append(("connection lost, reconnecting", "bold $warning"))
            else:
                parts.append(("connected", "$success"))
        else:
            parts.append((self.state, "$warning" if self.state == "failed" else "$foreground-muted"))
        parts.append(("  ·  read-only", "$foreground-muted"))
        if self.state == "connected":
            parts.append((f"  ·  {len(self._children)} open", "$foreground-muted"))
        if self.filter_text:
            matches = sum(1 for path in self._stats if self._matches(path))
            parts += ["  ·  filter ", (self.filter_text, "bold $accent"),
                      (f": {matches} of {len(self._stats)} znodes read so far match", "$foreground-muted")]
        if self._read_error:
            parts += ["  ·  ", (self._read_error, "$error")]
        self.query_one("#zk-status", Static).update(Content.assemble(*parts))

    # -- reading ---------------------------------------------------------------------

    def _reload(self, path: str) -> None:
        self.run_worker(partial(self._load, path), group=f"zk-load {path}", exclusive=True, exit_on_error=False)

    def _reload_all(self) -> None:
        """Re-read every open node and re-arm every watch (a session expiry drops them)."""
        if self.watcher is not None:
            for path in self.watcher.watched:
                self.watcher.unwatch(path)
        for path in sorted(self._children) or [ROOT]:
            self._reload(path)
        if self._detail_path:
            self._show_detail(self._detail_path)

    async def _load(self, path: str) -> None:
        session, watcher = self.session, self.watcher
        if session is None or watcher is None:
            return
        watcher.watch(path)  # before reading: a change after the read is then reported
        try:
            level = await asyncio.to_thread(read_level, session, path)
        except Exception as error:
            self._read_error = f"reading {path}: {error}"
            self._update_status()
            return
        if session is not self.session:
            return  # reconnected meanwhile: that session reads for itself
        if self._read_error:
            self._read_error = ""
            self._update_status()
        if level is None:  # gone: its parent's children watch reports it
            self._forget(path)
            return
        info, stats = level
        self._apply_level(path, info, stats)
        if len(stats) <= MAX_WATCHED_CHILDREN:
            # Watch the children shown, too: their counts and expanders stay live (an
            # empty service gets its first node), not only the lists of open nodes.
            for name in stats:
                watcher.watch(child_path(path, name))

    def _restat(self, path: str) -> None:
        self.run_worker(partial(self._read_stat, path), group=f"zk-stat {path}", exclusive=True, exit_on_error=False)

    async def _read_stat(self, path: str) -> None:
        session = self.session
        if session is None:
            return
        try:
            stat = await asyncio.to_thread(session.exists, path)
        except Exception:
            return  # the next change or r will tell
        if stat is None or session is not self.session or path not in self._stats:
            return
        self._stats[path] = ChildStat.from_stat(stat)
        node = self._by_path.get(path)
        if node is not None:
            self._refresh_label(node)

    def _apply_level(self, path: str, info: NodeInfo, stats: dict[str, ChildStat]) -> None:
        names = tuple(name for name in info.children if name in stats)
        for gone in set(self._children.get(path, ())) - set(names):
            self._forget(child_path(path, gone))
        self._children[path] = names
        self._stats[path] = ChildStat.from_info(info)
        for name, stat in stats.items():
            self._stats[child_path(path, name)] = stat
        node = self._by_path.get(path)
        if node is not None:
            self._refresh_label(node)
            self._sync(node, self._ancestor_matches(path))
            for name in names:  # open the ARCUS registry on connect (once)
                child = self._by_path.get(child_path(path, name))
                if child is not None and child.data in self._auto_expand:
                    self._auto_expand.discard(child.data)
                    if child.allow_expand and not child.is_expanded:
                        child.expand()
        self._update_status()

    def _forget(self, top: str) -> None:
        """Drop ``top`` and everything read below it from the model, and their watches."""
        for path in [p for p in self._children if _under(p, top)]:
            del self._children[path]
        for path in [p for p in self._stats if _under(p, top)]:
            del self._stats[path]
        if self.watcher is not None:
            for path in self.watcher.watched:
                if _under(path, top):
                    self.watcher.unwatch(path)
        self._expanded = {p for p in self._expanded if not _under(p, top) or p == ROOT}

    # -- the tree against the model ---------------------------------------------------

    def _palette(self) -> dict[str, str]:
        try:
            return self.app.get_css_variables()
        except Exception:  # pragma: no cover - no app (unit use)
            return {}

    def _matches(self, path: str) -> bool:
        return bool(self.filter_text) and self.filter_text in name_of(path).lower()

    def _ancestor_matches(self, path: str) -> bool:
        while path != ROOT:
            if self._matches(path):
                return True
            path = parent_of(path)
        return False

    def _shown(self, path: str, inherited: bool) -> bool:
        """Shown under the filter: no filter, it or an ancestor matches, or something
        read below it matches."""
        if not self.filter_text or inherited or self._matches(path):
            return True
        return any(self._shown(child_path(path, name), False) for name in self._children.get(path, ()))

    def _refresh_label(self, node: TreeNode[str], palette: Optional[dict[str, str]] = None) -> None:
        path = node.data
        if path is None or path == ROOT:
            return
        stat = self._stats.get(path)
        node.set_label(znode_label(path, stat, palette or self._palette()))
        node.allow_expand = bool(stat and stat.num_children) or bool(self._children.get(path))

    def _sync(self, node: TreeNode[str], inherited: bool, palette: Optional[dict[str, str]] = None) -> None:
        """Make ``node``'s children in the tree what the model says (filtered), in
        place: lines that stay keep their expansion and the cursor."""
        path = node.data
        names = self._children.get(path)
        if path is None or names is None:
            return
        palette = palette if palette is not None else self._palette()
        inherited = inherited or self._matches(path)
        wanted = [child_path(path, name) for name in names if self._shown(child_path(path, name), inherited)]
        hidden = max(0, len(wanted) - MAX_CHILDREN_SHOWN)
        wanted = wanted[:MAX_CHILDREN_SHOWN]
        keep = set(wanted)
        tree = self.znode_tree
        for child in list(node.children):
            if child.data not in keep:
                if tree.cursor_node is not None and tree.cursor_node in (child, *self._descendants(child)):
                    tree.move_cursor(node)
                self._drop_nodes(child)
                child.remove()
        present = {child.data: child for child in node.children}
        for index, child_path_ in enumerate(wanted):
            child = present.get(child_path_)
            if child is None:
                stat = self._stats.get(child_path_)
                before = index if index < len(node.children) else None
                child = node.add(znode_label(child_path_, stat, palette), data=child_path_, before=before,
                                 expand=child_path_ in self._expanded,
                                 allow_expand=bool(stat and stat.num_children) or bool(self._children.get(child_path_)))
                self._by_path[child_path_] = child
            else:
                self._refresh_label(child, palette)
            if (self.filter_text and not inherited and not self._matches(child_path_)
                    and not child.is_expanded and child.allow_expand):
                # Shown only for a match below it: open it so the match is on screen
                # (closed again when the filter is cleared).
                self._opened_by_filter.add(child_path_)
                child.expand()
            self._sync(child, inherited, palette)
        if hidden:
            node.add_leaf(Text(f"... {hidden} more (press / to filter)", style="dim italic"), data=None)

    def _descendants(self, node: TreeNode[str]):
        for child in node.children:
            yield child
            yield from self._descendants(child)

    def _drop_nodes(self, node: TreeNode[str]) -> None:
        for each in (node, *self._descendants(node)):
            if each.data is not None and self._by_path.get(each.data) is each:
                del self._by_path[each.data]

    # -- events ----------------------------------------------------------------------

    def _on_change(self, change: TreeChange) -> None:
        """TreeWatcher's callback: already on the loop; hand it on as a message."""
        self.post_message(self.Changed(change))

    @on(Changed)
    def _changed(self, event: Changed) -> None:
        change = event.change
        if change.kind is ChangeKind.DELETED:
            self._forget(change.path)
            parent = parent_of(change.path)
            if change.path != ROOT and parent in self._children:
                self._reload(parent)
        elif change.kind in (ChangeKind.CHILDREN, ChangeKind.CREATED) and change.path in self._children:
            self._reload(change.path)
        elif change.kind is ChangeKind.CHILDREN and change.path in self._stats:
            self._restat(change.path)  # shown but not open: its count and expander
        if change.path == self._detail_path:
            self._show_detail(change.path)

    @on(Tree.NodeExpanded, "#zk-tree")
    def _expanded_node(self, event: Tree.NodeExpanded) -> None:
        path = event.node.data
        if path is None:
            return
        self._expanded.add(path)
        if path not in self._children and self.session is not None:
            if not event.node.children:
                event.node.add_leaf(Text("loading...", style="dim italic"), data=None)
            self._reload(path)

    @on(Tree.NodeCollapsed, "#zk-tree")
    def _collapsed_node(self, event: Tree.NodeCollapsed) -> None:
        # Children read so far stay in the model and stay watched: re-opening is instant.
        if event.node.data is not None and event.node.data != ROOT:
            self._expanded.discard(event.node.data)
            self._opened_by_filter.discard(event.node.data)

    @on(Tree.NodeHighlighted, "#zk-tree")
    def _highlighted(self, event: Tree.NodeHighlighted) -> None:
        if event.node.data is not None:
            self._show_detail(event.node.data)

    def _show_detail(self, path: str) -> None:
        self._detail_path = path
        self.run_worker(partial(self._read_detail, path), group="zk-detail", exclusive=True, exit_on_error=False)

    async def _read_detail(self, path: str) -> None:
        session = self.session
        if session is None:
            return
        try:
            info = await asyncio.to_thread(read_node, session, path, sync=False)
        except Exception as error:
            if path == self._detail_path:
                self.detail.show_note(path, f"could not read: {error}")
            return
        if path != self._detail_path or session is not self.session:
            return
        if info is None:
            self.detail.show_note(path, "deleted")
            return
        self.detail.show_node(info)
        # The highlighted node is fresh: mend its line (a leaf may have grown children).
        self._stats[path] = ChildStat.from_info(info)
        node = self._by_path.get(path)
        if node is not None:
            self._refresh_label(node)

    # -- filter ----------------------------------------------------------------------

    def action_filter(self) -> None:
        if self.state != "connected":
            return
        self.add_class("-filtering")
        self.query_one("#zk-filter", Input).focus()

    def check_action(self, action: str, parameters: tuple) -> Optional[bool]:
        if action == "clear_filter":
            return bool(self.filter_text) or self.has_class("-filtering")
        if action == "filter":
            return self.state == "connected"
        return True

    def action_clear_filter(self) -> None:
        box = self.query_one("#zk-filter", Input)
        box.value = ""
        self._set_filter("")
        self.remove_class("-filtering")
        if self.state == "connected":
            self.znode_tree.focus()

    @on(Input.Changed, "#zk-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._set_filter(event.value)

    @on(Input.Submitted, "#zk-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.remove_class("-filtering")
        self.znode_tree.focus()

    def _set_filter(self, text: str) -> None:
        text = text.strip().lower()
        if text == self.filter_text:
            return
        self.filter_text = text
        self._sync(self.znode_tree.root, False)
        if not text:
            for path in self._opened_by_filter:
                node = self._by_path.get(path)
                if node is not None and node.is_expanded:
                    node.collapse()
            self._opened_by_filter.clear()
        self._update_status()

    # -- keys ------------------------------------------------------------------------

    def action_reload(self) -> None:
        if self.state in ("idle", "failed"):
            self._started = True
            self.connect()
        elif self.state == "connected":
            self._reload_all()
            self.notify("Re-reading the open ZooKeeper nodes", timeout=2)


def zookeeper_pane(context: AppContext):
    """PANES entry for tab 4."""
    yield ZooKeeperPane(context)
