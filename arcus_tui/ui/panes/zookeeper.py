"""Tab 4, ZooKeeper: a live, lazy browser of the cluster's ensemble. READ-ONLY.

The pane opens its own `RegistrySession` with ``read_only=True`` (always, whatever
``--read-only`` says): it only reads and watches, and the session would refuse a
write even if some code here tried one. Nothing in this module calls a write.

What the pane knows of the tree, and every decision about it, lives in
`arcus_tui.zk.znode_browser` (no Textual): the session and its watcher, the znodes read
so far (`znode_cache`), the name filter (`znode_filter`), which reads run or failed, what
a watched change asks for. This module runs the reads in workers and keeps the `Tree`
widget in step with the model:

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

Over 400 lines: what is left is Textual wiring only (workers, the tree's events, focus, the
filter box); the model and its decisions moved to `zk/znode_browser.py` (issue 11).
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
from arcus_tui.zk.tree import TreeChange, TreeWatcher, read_data
from arcus_tui.zk.znode_browser import ZnodeBrowser
from arcus_tui.zk.znode_cache import ROOT, ChildStat, Level, ZnodeCache, drain_stats, read_level, read_stats

from ..context import AppContext
from ..widgets.zk_tree import ZkDetail, ZkTree, connection_message, is_znode, status_line

DEFAULT_CONNECT_TIMEOUT = 10.0
CONNECTION_CHECK_INTERVAL = 1.0
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
        Binding("slash", "filter", "Filter", key_display="/", id="zookeeper.filter"),
        Binding("r", "reload", "Reload / retry", id="zookeeper.reload"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="zookeeper.clear-filter"),
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
        self.connect_string = cluster.connect_string if cluster is not None else ""
        self.connect_timeout = connect_timeout
        self.model = ZnodeBrowser()
        self.state = "idle"  # idle | connecting | connected | failed | unavailable
        self.error = ""
        self._filter_due = False
        self._stats_running = False
        self._stats_asked = False
        self._detail_path: Optional[str] = None
        self._started = False

    @property
    def filter_text(self) -> str:
        return self.model.filter_text

    @property
    def session(self) -> Optional[RegistrySession]:
        return self.model.session

    @property
    def cache(self) -> ZnodeCache:
        return self.model.cache

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
        elif not self.connect_string:
            self._set_state("unavailable", "The cluster file names no ZooKeeper member ([zookeeper] servers "
                                           "or a host with zookeeper = true).")
        else:
            self._set_state("idle")
        self.set_interval(CONNECTION_CHECK_INTERVAL, self._check_connection)
        # the tree's labels hold their colours: a new theme draws them again
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.znode_tree.repaint(self.cache))

    def on_show(self) -> None:
        """First shown: connect (not at start-up, so an unused tab costs nothing)."""
        if not self._started and self.state == "idle":
            self._started = True
            self.connect()
        self.call_after_refresh(self._focus_primary, True)

    def on_resize(self) -> None:
        self._want_stats()

    async def on_unmount(self) -> None:
        session = self.model.detach()
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
            RegistrySession.connect, self.connect_string, read_only=True, timeout=self.connect_timeout))
        try:
            session = await asyncio.shield(attempt)
        except asyncio.CancelledError:  # pane gone or a newer attempt: close what arrives
            attempt.add_done_callback(lambda done: done.cancelled() or done.exception() or _close_quietly(done.result()))
            raise
        except Exception as error:  # RegistryConnectionError, or anything else: a message, no traceback
            self._set_state("failed", str(error) or type(error).__name__)
            return
        self.model.attach(session, TreeWatcher(session, asyncio.get_running_loop(), self._on_change))
        self._set_state("connected")
        tree = self.znode_tree
        tree.auto_expand = set(AUTO_EXPAND)
        tree.root.expand()
        tree.move_cursor(tree.root)
        self._show_detail(ROOT)
        self._reload(ROOT)

    def _teardown(self) -> None:
        _close_quietly(self.model.detach())
        self.znode_tree.reset()
        self._detail_path = None

    def _check_connection(self) -> None:
        """kazoo reconnects by itself; after it does, re-read and re-watch (a session
        expiry drops every watch)."""
        if self.state != "connected":
            return
        connected = self.model.connection_changed()
        if connected:
            self._reload_all()
        if connected is not None:
            self._update_status()

    # -- state and status line -------------------------------------------------------

    def _set_state(self, state: str, error: str = "") -> None:
        self.state = state
        self.error = error
        for name in ("idle", "connecting", "connected", "failed", "unavailable"):
            self.set_class(state == name, f"-{name}")
        self.query_one(ZkMessage).update(connection_message(state, self.connect_string, error, self.connect_timeout))
        self._update_status()
        self.refresh_bindings()
        self.call_after_refresh(self._focus_primary)

    def _update_status(self) -> None:
        state = self.state
        if state == "connected" and self.session is not None and not self.session.connected:
            state = "reconnecting"
        self.query_one("#zk-status", Static).update(status_line(
            self.connect_string, state, len(self.cache.open_paths), self.filter_text,
            self.model.filter.count() if self.filter_text else (0, 0), self.model.read_error))

    # -- reading children ------------------------------------------------------------

    def _reload(self, path: str) -> None:
        """Read ``path`` again; while a read of it is running, once more after it (a
        busy cache_server_log day fires a change per join: one 3 MB read at a time)."""
        if self.model.begin_load(path):
            self.run_worker(partial(self._load, path), group=f"zk-load {path}", exit_on_error=False)

    async def _load(self, path: str) -> None:
        try:
            await self._read_children(path)
        finally:
            if self.model.end_load(path):
                self._reload(path)

    def _reload_all(self) -> None:
        """Re-read every open znode and re-arm every watch (a session expiry drops them)."""
        for path in self.model.to_read_again():
            self._reload(path)
        if self._detail_path:
            self._show_detail(self._detail_path)

    async def _read_children(self, path: str) -> None:
        session, watcher = self.model.session, self.model.watcher
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
        if self.model.read_succeeded(path):
            self._update_status()
        if level is None:  # gone: its parent's children watch reports it
            self._forget(path)
            return
        self._apply_level(level)

    def _read_failed(self, path: str, error: BaseException) -> None:
        """A short word in the status line and under the znode, the whole story
        (what to raise, where) in its detail panel."""
        self.model.read_failed(path, error)
        self._update_status()
        if not self.cache.is_open(path):
            self.znode_tree.show_failure(path, "could not read its children, see the details")
        if path == self._detail_path:
            self._show_detail(path)

    def _apply_level(self, level: Level) -> None:
        path = level.info.path
        self.model.apply_level(level)
        self.znode_tree.refresh_row(path, self.cache)
        self.znode_tree.sync(path, self.cache, self.model.filter)
        self._update_status()
        self._want_stats()

    def _forget(self, top: str) -> None:
        """Drop ``top`` and everything read below it from the model (and their watches) and the tree."""
        self.model.forget(top)
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
        self.model.stat_queue.add(self.znode_tree.visible_paths(), self.cache)
        if self.model.stat_queue and not self._stats_running:
            self._stats_running = True
            self.run_worker(self._fetch_stats, group="zk-stats", exit_on_error=False)

    async def _fetch_stats(self) -> None:
        try:
            await drain_stats(self.model.stat_queue, lambda: self.session, self._apply_stats)
        finally:
            self._stats_running = False

    def _apply_stats(self, found: dict[str, Optional[ChildStat]]) -> None:
        tree = self.znode_tree
        palette = tree.palette()
        for path in self.model.apply_stats(found):
            tree.refresh_row(path, self.cache, palette)

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

    # -- events ----------------------------------------------------------------------

    def _on_change(self, change: TreeChange) -> None:
        """TreeWatcher's callback: already on the loop; hand it on as a message."""
        self.post_message(self.Changed(change))

    @on(Changed)
    def _changed(self, event: Changed) -> None:
        work = self.model.work_for(event.change, self._detail_path)
        if work.forget is not None:
            self._forget(work.forget)
        if work.reload is not None:
            self._reload(work.reload)
        if work.restat is not None:
            self._restat(work.restat)
        if work.detail:
            self._show_detail(event.change.path)

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
        self.znode_tree.show_more(event.parent, self.cache, self.model.filter)
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
        self.detail.show_node(info, self.model.failures.get(path, ""))
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
        if not self.model.set_filter(text):
            return
        self.znode_tree.sync(ROOT, self.cache, self.model.filter)
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
