"""Tab 4, ZooKeeper: a live, lazy browser of the cluster's ensemble. READ-ONLY.

The pane opens its own `RegistrySession` with ``read_only=True`` (always, whatever
``--read-only`` says): it only reads and watches, and the session would refuse a
write even if some code here tried one. Nothing in this module calls a write.

What the pane knows of the tree lives in `arcus_tui.zk.znode_cache` (child names per
open znode, a stat per row seen, the paging) and the filter in
`arcus_tui.zk.znode_filter`; this module holds the connection and keeps the `Tree`
widget in step with them:

* connecting runs in a worker (kazoo is synchronous: ``asyncio.to_thread``) with
  a timeout, the first time the tab is shown; a failure shows the ensemble string,
  the reason and the retry key, never a traceback;
* expanding a znode reads its child NAMES only (one ``get_children``, fast even for
  100 000 children) and draws the first page of them with a "… N more" row; the
  stat of a row (children count, live mark) is read once the row is on screen, in
  bounded batches, by one worker;
* `TreeWatcher` watches open znodes and the rows whose stat was read: its callbacks
  already run on the loop, they post `ZooKeeperPane.Changed`, whose handler re-reads
  that one znode and updates the tree in place;
* the detail panel shows the highlighted znode (data as UTF-8, JSON pretty-printed);
* ``/`` filters by name over the names read so far (keys typed ahead coalesce into
  one pass; at most a page of rows is drawn per znode), ``r`` re-reads every open
  znode (or retries the connection).
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
from textual.message import Message
from textual.widgets import Input, Static, Tree

from arcus_tui.zk import paths
from arcus_tui.zk.session import RegistrySession
from arcus_tui.zk.tree import ChangeKind, TreeChange, TreeWatcher, read_data
from arcus_tui.zk.znode_cache import (ROOT, ChildStat, Level, StatQueue, ZnodeCache, drain_stats, parent_of,
                                      read_failure, read_level, read_stats, under)
from arcus_tui.zk.znode_filter import MatchMemo, ZnodeFilter

from ..context import AppContext
from ..widgets.zk_tree import ZkDetail, ZkTree, connection_message, is_znode, status_line

DEFAULT_CONNECT_TIMEOUT = 10.0
CONNECTION_CHECK_INTERVAL = 1.0
MAX_WATCHED = 2000
"""Znodes watched at most: the open ones, then rows whose stat was read (live counts)."""
AUTO_EXPAND = (paths.ARCUS, paths.ARCUS_REPL, paths.cache_list(paths.ARCUS))
"""Opened on connect when they exist: the ARCUS registry is what an operator came for."""


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
        self.cache = ZnodeCache()
        self._memo = MatchMemo()
        self._filter = ZnodeFilter(self.cache, "", self._memo)
        self._filter_due = False
        self._failures: dict[str, str] = {}
        self._stat_queue = StatQueue()  # rows on screen without a stat
        self._stats_running = False
        self._stats_asked = False
        self._loading: set[str] = set()  # znodes whose children are being read
        self._load_again: set[str] = set()  # ... and that changed meanwhile
        self._detail_path: Optional[str] = None
        self._started = False
        self._was_connected = False
        self._read_error = ""

    @property
    def filter_text(self) -> str:
        return self._filter.text

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

    def on_resize(self) -> None:
        self._want_stats()

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
        message, tree = self.query_one(ZkMessage), self.znode_tree
        wanted, hidden = (tree, message) if self.state == "connected" else (message, tree)
        focused = self.screen.focused
        # The hidden one may still have a region until the next layout: it never keeps the focus.
        if (not force and focused is not None and focused is not hidden
                and (self not in focused.ancestors or focused.region)):
            return
        wanted.focus()

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
        tree = self.znode_tree
        tree.auto_expand = set(AUTO_EXPAND)
        tree.root.expand()
        tree.move_cursor(tree.root)
        self._show_detail(ROOT)
        self._reload(ROOT)

    def _teardown(self) -> None:
        if self.watcher is not None:
            self.watcher.close()
        _close_quietly(self.session)
        self.watcher = self.session = None
        self.cache.clear()
        self._refilter()
        self._failures.clear()
        self._stat_queue.clear()
        self.znode_tree.reset()
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
        self.query_one(ZkMessage).update(connection_message(state, self.hosts, error, self.connect_timeout))
        self._update_status()
        self.refresh_bindings()
        self.call_after_refresh(self._focus_primary)

    def _update_status(self) -> None:
        state = self.state
        if state == "connected" and self.session is not None and not self.session.connected:
            state = "reconnecting"
        self.query_one("#zk-status", Static).update(status_line(
            self.hosts, state, len(self.cache.open_paths), self.filter_text,
            self._filter.count() if self.filter_text else (0, 0), self._read_error))

    # -- reading children ------------------------------------------------------------

    def _reload(self, path: str) -> None:
        """Read ``path`` again; while a read of it is running, once more after it (a
        busy cache_server_log day fires a change per join: one 3 MB read at a time)."""
        if path in self._loading:
            self._load_again.add(path)
            return
        self._loading.add(path)
        self.run_worker(partial(self._load, path), group=f"zk-load {path}", exit_on_error=False)

    async def _load(self, path: str) -> None:
        try:
            await self._read_children(path)
        finally:
            self._loading.discard(path)
            if path in self._load_again:
                self._load_again.discard(path)
                self._reload(path)

    def _reload_all(self) -> None:
        """Re-read every open znode and re-arm every watch (a session expiry drops them)."""
        if self.watcher is not None:
            for path in self.watcher.watched:
                self.watcher.unwatch(path)
        for path in sorted(self.cache.open_paths) or [ROOT]:
            self._reload(path)
        if self._detail_path:
            self._show_detail(self._detail_path)

    async def _read_children(self, path: str) -> None:
        session, watcher = self.session, self.watcher
        if session is None or watcher is None:
            return
        watcher.watch(path)  # before reading: a change after the read is then reported
        try:
            level = await asyncio.to_thread(read_level, session, path)
        except Exception as error:
            if session is self.session:
                self._read_failed(path, error)
            return
        if session is not self.session:
            return  # reconnected meanwhile: that session reads for itself
        if self._failures.pop(path, None) is not None or self._read_error:
            self._read_error = ""
            self._update_status()
        if level is None:  # gone: its parent's children watch reports it
            self._forget(path)
            return
        self._apply_level(level)

    def _read_failed(self, path: str, error: BaseException) -> None:
        """A short word in the status line and under the znode, the whole story
        (what to raise, where) in its detail panel."""
        stat = self.cache.stat(path)
        self._failures[path] = read_failure(path, error, stat.num_children if stat else None)
        self._read_error = f"could not read the children of {path} (see its details)"
        self._update_status()
        if not self.cache.is_open(path):
            self.znode_tree.show_failure(path, "could not read its children, see the details")
        if path == self._detail_path:
            self._show_detail(path)

    def _apply_level(self, level: Level) -> None:
        path = level.info.path
        self.cache.set_level(level.info, level.lowered)
        self._refilter()
        self.znode_tree.refresh_row(path, self.cache)
        self.znode_tree.sync(path, self.cache, self._filter)
        self._update_status()
        self._want_stats()

    def _forget(self, top: str) -> None:
        """Drop ``top`` and everything read below it from the model, and their watches."""
        self.cache.forget(top)
        self._refilter()
        if self.watcher is not None:
            for path in self.watcher.watched:
                if under(path, top):
                    self.watcher.unwatch(path)
        self.znode_tree.forget_below(top)

    # -- reading the stat of the rows on screen ---------------------------------------

    def _want_stats(self) -> None:
        """After the next refresh (rows laid out), queue the rows on screen that have
        no stat yet."""
        if self.state == "connected" and not self._stats_asked:
            self._stats_asked = True
            self.call_after_refresh(self._queue_visible)

    def _queue_visible(self) -> None:
        self._stats_asked = False
        if self.session is None or not self.is_attached:
            return
        self._stat_queue.add(self.znode_tree.visible_paths(), self.cache)
        if self._stat_queue and not self._stats_running:
            self._stats_running = True
            self.run_worker(self._fetch_stats, group="zk-stats", exit_on_error=False)

    async def _fetch_stats(self) -> None:
        try:
            await drain_stats(self._stat_queue, lambda: self.session, self._apply_stats)
        finally:
            self._stats_running = False

    def _apply_stats(self, found: dict[str, Optional[ChildStat]]) -> None:
        tree = self.znode_tree
        palette = tree.palette()
        room = MAX_WATCHED - len(self.watcher.watched) if self.watcher is not None else 0
        for path, stat in found.items():
            if stat is None:
                continue  # gone: its parent's children watch reports it
            self.cache.set_stat(path, stat)
            tree.refresh_row(path, self.cache, palette)
            if room > 0 and self.watcher is not None:
                # Rows on screen stay live: their counts and expanders follow changes
                # (an empty service gets its first node).
                self.watcher.watch(path)
                room -= 1

    def _restat(self, path: str) -> None:
        self.run_worker(partial(self._read_stat, path), group=f"zk-stat {path}", exclusive=True, exit_on_error=False)

    async def _read_stat(self, path: str) -> None:
        session = self.session
        if session is None:
            return
        try:
            found = await asyncio.to_thread(read_stats, session, [path])
        except Exception:
            return  # the next change or r will tell
        if found.get(path) is not None and session is self.session and not self.cache.needs_stat(path):
            self._apply_stats(found)

    # -- the tree against the model ---------------------------------------------------

    def _refilter(self) -> None:
        """The names changed: a new filter over them (it memoises per state)."""
        self._filter = ZnodeFilter(self.cache, self._filter.text, self._memo)

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
            if change.path != ROOT and self.cache.is_open(parent):
                self._reload(parent)
        elif change.kind in (ChangeKind.CHILDREN, ChangeKind.CREATED) and self.cache.is_open(change.path):
            self._reload(change.path)
        elif change.kind is ChangeKind.CHILDREN and not self.cache.needs_stat(change.path):
            self._restat(change.path)  # shown but not open: its count and expander
        if change.path == self._detail_path:
            self._show_detail(change.path)

    @on(Tree.NodeExpanded, "#zk-tree")
    def _expanded_node(self, event: Tree.NodeExpanded) -> None:
        path = event.node.data
        if not is_znode(path):
            return
        self.znode_tree.expanded_paths.add(path)
        if not self.cache.is_open(path) and self.session is not None:
            if not event.node.children:
                event.node.add_leaf(Text("loading...", style="dim italic"), data=None)
            self._reload(path)
        self._want_stats()

    @on(Tree.NodeCollapsed, "#zk-tree")
    def _collapsed_node(self, event: Tree.NodeCollapsed) -> None:
        # Children read so far stay in the model and stay watched: re-opening is instant.
        if is_znode(event.node.data) and event.node.data != ROOT:
            self.znode_tree.expanded_paths.discard(event.node.data)
            self.znode_tree.opened_by_filter.discard(event.node.data)

    @on(ZkTree.MoreWanted)
    def _more_wanted(self, event: ZkTree.MoreWanted) -> None:
        self.znode_tree.show_more(event.parent, self.cache, self._filter)
        self._want_stats()

    @on(ZkTree.Scrolled)
    def _scrolled(self) -> None:
        self._want_stats()

    @on(Tree.NodeHighlighted, "#zk-tree")
    def _highlighted(self, event: Tree.NodeHighlighted) -> None:
        if is_znode(event.node.data):
            self._show_detail(event.node.data)

    def _show_detail(self, path: str) -> None:
        self._detail_path = path
        self.run_worker(partial(self._read_detail, path), group="zk-detail", exclusive=True, exit_on_error=False)

    async def _read_detail(self, path: str) -> None:
        session = self.session
        if session is None:
            return
        try:
            info = await asyncio.to_thread(read_data, session, path)
        except Exception as error:
            if path == self._detail_path:
                self.detail.show_note(path, f"could not read: {error}")
            return
        if path != self._detail_path or session is not self.session:
            return
        if info is None:
            self.detail.show_note(path, "deleted")
            return
        self.detail.show_node(info, self._failures.get(path, ""))
        # The highlighted znode is fresh: mend its line (a leaf may have grown children).
        self.cache.set_stat(path, ChildStat.from_info(info))
        self.znode_tree.refresh_row(path, self.cache)

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
        # Applied once the messages already queued are handled, with the box's value
        # then: keys typed ahead coalesce into one pass.
        if not self._filter_due:
            self._filter_due = True
            self.call_later(self._apply_typed_filter)

    def _apply_typed_filter(self) -> None:
        self._filter_due = False
        self._set_filter(self.query_one("#zk-filter", Input).value)

    @on(Input.Submitted, "#zk-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self._set_filter(event.value)
        if not event.value.strip():
            self.remove_class("-filtering")
        self.znode_tree.focus()

    def _set_filter(self, text: str) -> None:
        text = text.strip().lower()
        if text == self.filter_text:
            return
        self._filter = ZnodeFilter(self.cache, text, self._memo)
        self.znode_tree.sync(ROOT, self.cache, self._filter)
        if not text:
            self.znode_tree.close_filter_openings()
        self._update_status()
        self._want_stats()

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
