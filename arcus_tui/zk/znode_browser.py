"""What the ZooKeeper tab knows and decides, with no UI: the session and its watcher, the znodes
read so far (`ZnodeCache`) seen through the name filter (`ZnodeFilter`), which reads are running,
which failed, and what a watched change asks for. The tab (`ui/panes/zookeeper.py`) runs the
reads in workers and draws; every decision about the model is made here, where a test needs no
screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

from .session import RegistrySession
from .tree import ChangeKind, TreeChange, TreeWatcher
from .znode_cache import ROOT, ChildStat, Level, StatQueue, ZnodeCache, parent_of, read_failure, under
from .znode_filter import MatchMemo, ZnodeFilter

MAX_WATCHED = 2000
"""Znodes watched at most: the open ones, then rows whose stat was read (live counts)."""


@dataclass(frozen=True)
class ChangeWork:
    """What one watched change asks for: drop a subtree, read a znode's children again, read one
    row's stat again, and whether the detail panel shows the changed znode."""

    forget: Optional[str] = None
    reload: Optional[str] = None
    restat: Optional[str] = None
    detail: bool = False


class ZnodeBrowser:
    """The model behind the ZooKeeper tab (one per pane; reset on each connection)."""

    def __init__(self, max_watched: int = MAX_WATCHED) -> None:
        self.max_watched = max_watched
        self.session: Optional[RegistrySession] = None
        self.watcher: Optional[TreeWatcher] = None
        self.was_connected = False
        self.cache = ZnodeCache()
        self._memo = MatchMemo()
        self.filter = ZnodeFilter(self.cache, "", self._memo)
        self.failures: dict[str, str] = {}
        """znode -> why its children could not be read (shown in its detail)."""
        self.read_error = ""
        """The status line's word about the last failed read ("" once a read succeeds)."""
        self.stat_queue = StatQueue()  # rows on screen without a stat
        self._loading: set[str] = set()  # znodes whose children are being read
        self._load_again: set[str] = set()  # ... and that changed meanwhile

    # -- the connection ----------------------------------------------------------------

    def attach(self, session: RegistrySession, watcher: TreeWatcher) -> None:
        self.session, self.watcher = session, watcher
        self.was_connected = True

    def detach(self) -> Optional[RegistrySession]:
        """Forget the session (returned, for the caller to close off the loop) and all read."""
        if self.watcher is not None:
            self.watcher.close()
        session = self.session
        self.watcher = self.session = None
        self.cache.clear()
        self.refilter()
        self.failures.clear()
        self.stat_queue.clear()
        return session

    def connection_changed(self) -> Optional[bool]:
        """kazoo reconnects by itself: None when nothing changed since last asked, else whether
        the session is connected now (True after a reconnect: read and watch everything again)."""
        if self.session is None:
            return None
        connected = self.session.connected
        if connected == self.was_connected:
            return None
        self.was_connected = connected
        return connected

    # -- reads of children ---------------------------------------------------------------

    def begin_load(self, path: str) -> bool:
        """True: read `path` now. False: a read of it is running, it runs once more after that
        (a busy cache_server_log day fires a change per join: one big read at a time)."""
        if path in self._loading:
            self._load_again.add(path)
            return False
        self._loading.add(path)
        return True

    def end_load(self, path: str) -> bool:
        """The read of `path` ended; True when it changed meanwhile and must be read again."""
        self._loading.discard(path)
        again = path in self._load_again
        self._load_again.discard(path)
        return again

    def to_read_again(self) -> list[str]:
        """Every open znode, its watch dropped to be armed anew (a session expiry drops them)."""
        if self.watcher is not None:
            for path in self.watcher.watched:
                self.watcher.unwatch(path)
        return sorted(self.cache.open_paths) or [ROOT]

    def read_succeeded(self, path: str) -> bool:
        """True when the status line's word about a failure goes."""
        if self.failures.pop(path, None) is not None or self.read_error:
            self.read_error = ""
            return True
        return False

    def read_failed(self, path: str, error: BaseException) -> None:
        stat = self.cache.stat(path)
        self.failures[path] = read_failure(path, error, stat.num_children if stat else None)
        self.read_error = f"could not read the children of {path} (see its details)"

    def apply_level(self, level: Level) -> None:
        self.cache.set_level(level.info, level.lowered)
        self.refilter()

    def forget(self, top: str) -> None:
        """Drop `top` and everything read below it, and their watches."""
        self.cache.forget(top)
        self.refilter()
        if self.watcher is not None:
            for path in self.watcher.watched:
                if under(path, top):
                    self.watcher.unwatch(path)

    # -- stats of the rows on screen -------------------------------------------------------

    def apply_stats(self, found: Mapping[str, Optional[ChildStat]]) -> list[str]:
        """Keep the stats read; the rows on screen stay live (watched) while there is room.
        Returns the znodes whose stat was kept."""
        room = self.max_watched - len(self.watcher.watched) if self.watcher is not None else 0
        kept = []
        for path, stat in found.items():
            if stat is None:
                continue  # gone: its parent's children watch reports it
            self.cache.set_stat(path, stat)
            kept.append(path)
            if room > 0 and self.watcher is not None:
                # counts and expanders follow changes (an empty service gets its first node)
                self.watcher.watch(path)
                room -= 1
        return kept

    # -- the filter ------------------------------------------------------------------------

    @property
    def filter_text(self) -> str:
        return self.filter.text

    def refilter(self) -> None:
        """The names changed: a new filter over them (it memoises per state)."""
        self.filter = ZnodeFilter(self.cache, self.filter.text, self._memo)

    def set_filter(self, text: str) -> bool:
        """True when the filter changed."""
        text = text.strip().lower()
        if text == self.filter.text:
            return False
        self.filter = ZnodeFilter(self.cache, text, self._memo)
        return True

    # -- watched changes ---------------------------------------------------------------------

    def work_for(self, change: TreeChange, detail_path: Optional[str]) -> ChangeWork:
        path = change.path
        detail = path == detail_path
        if change.kind is ChangeKind.DELETED:
            parent = parent_of(path)
            reload = parent if path != ROOT and self.cache.is_open(parent) else None
            return ChangeWork(forget=path, reload=reload, detail=detail)
        if change.kind in (ChangeKind.CHILDREN, ChangeKind.CREATED) and self.cache.is_open(path):
            return ChangeWork(reload=path, detail=detail)
        if change.kind is ChangeKind.CHILDREN and not self.cache.needs_stat(path):
            return ChangeWork(restat=path, detail=detail)  # shown but not open: its count and expander
        return ChangeWork(detail=detail)
