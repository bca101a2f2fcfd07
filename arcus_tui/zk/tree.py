"""A lazy ZooKeeper tree reader for the browser: one node at a time, plus watches.

`read_znode` returns a path's data, stat and children (nothing below it is read).
`TreeWatcher` keeps a data+children watch on each path the browser shows; kazoo
fires watches on its own thread, so every change is handed to the asyncio loop
with ``loop.call_soon_threadsafe`` and the consumer's callback runs ON THE LOOP.
Nothing here touches a UI.

Watches are ZooKeeper's one-shot kind, re-armed after each firing (persistent
watches need ZooKeeper 3.6+, and operators run older ensembles). kazoo re-sends
them after a reconnect; after a session expiry the browser should re-read.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import threading
from dataclasses import dataclass
from typing import Callable, Optional

from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError
from kazoo.protocol.states import EventType, WatchedEvent, ZnodeStat

from arcus_tui.zk.session import RegistrySession, as_session

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ZnodeInfo:
    """One znode as the browser shows it."""

    path: str
    data: bytes
    children: tuple[str, ...]
    version: int
    cversion: int
    num_children: int
    ephemeral_owner: int
    ctime_ms: int
    mtime_ms: int
    czxid: int
    mzxid: int

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1] or "/"

    @property
    def ephemeral(self) -> bool:
        return self.ephemeral_owner != 0

    @property
    def text(self) -> str:
        """The data as text (ARCUS stores UTF-8 JSON or short strings); bytes it cannot
        decode are shown as replacement characters."""
        return self.data.decode("utf-8", "replace")

    @classmethod
    def from_stat(cls, path: str, data: bytes, stat: ZnodeStat, children: list[str]) -> "ZnodeInfo":
        return cls(
            path=path,
            data=data or b"",
            children=tuple(sorted(children)),
            version=stat.version,
            cversion=stat.cversion,
            num_children=stat.numChildren,
            ephemeral_owner=stat.ephemeralOwner,
            ctime_ms=stat.ctime,
            mtime_ms=stat.mtime,
            czxid=stat.czxid,
            mzxid=stat.mzxid,
        )


def child_path(parent: str, name: str) -> str:
    return f"{parent.rstrip('/')}/{name}"


def read_znode(client: "RegistrySession | KazooClient", path: str, *, sync: bool = True) -> Optional[ZnodeInfo]:
    """Data, stat and child names of ``path``; None when it does not exist. ``sync``
    first makes the member we talk to catch up with the leader (one round trip)."""
    session = as_session(client)
    if sync:
        session.sync(path if session.exists(path) else "/")
    data = session.get_many([path])[path]
    children = session.children_many([path])[path]
    if data is None or children is None:
        return None
    return ZnodeInfo.from_stat(path, data[0], data[1], children)


def read_data(client: "RegistrySession | KazooClient", path: str) -> Optional[ZnodeInfo]:
    """Data and stat of ``path`` without its child names (a znode may have 100 000
    of them); None when it does not exist."""
    found = as_session(client).get_many([path])[path]
    return None if found is None else ZnodeInfo.from_stat(path, found[0], found[1], [])


class ChangeKind(str, enum.Enum):
    CREATED = "created"
    DELETED = "deleted"
    DATA = "data"
    CHILDREN = "children"


@dataclass(frozen=True)
class TreeChange:
    path: str
    kind: ChangeKind


_KINDS = {
    EventType.CREATED: ChangeKind.CREATED,
    EventType.DELETED: ChangeKind.DELETED,
    EventType.CHANGED: ChangeKind.DATA,
    EventType.CHILD: ChangeKind.CHILDREN,
}


class TreeWatcher:
    """Watches a set of paths and reports `TreeChange`s to ``on_change`` on ``loop``.

    ``on_change`` is called on the loop thread, never on a kazoo thread. Watching a
    path that does not exist yet reports its creation. Reads only: works on a
    read-only session."""

    def __init__(
        self,
        client: "RegistrySession | KazooClient",
        loop: asyncio.AbstractEventLoop,
        on_change: Callable[[TreeChange], None],
    ) -> None:
        self._session = as_session(client)
        self._loop = loop
        self._on_change = on_change
        self._lock = threading.Lock()
        self._watched: dict[str, "_PathWatch"] = {}
        self._closed = False

    def watch(self, path: str) -> None:
        with self._lock:
            if self._closed or path in self._watched:
                return
            watch = _PathWatch(self, path)
            self._watched[path] = watch
        watch.arm()

    def unwatch(self, path: str) -> None:
        """Stop reporting ``path`` (ZooKeeper may still fire its pending one-shot
        watch once; that firing is dropped and not re-armed)."""
        with self._lock:
            watch = self._watched.pop(path, None)
        if watch:
            watch.active = False

    @property
    def watched(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._watched)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            watches = list(self._watched.values())
            self._watched.clear()
        for watch in watches:
            watch.active = False

    # called on a kazoo thread
    def _fired(self, watch: "_PathWatch", event: WatchedEvent) -> None:
        if not watch.active or self._closed:
            return
        watch.arm()  # first: whoever hears of this change and acts finds the watch set again
        kind = _KINDS.get(event.type)
        if kind is not None:
            try:
                self._loop.call_soon_threadsafe(self._deliver, watch, TreeChange(watch.path, kind))
            except RuntimeError:  # loop closed: nobody left to tell
                watch.active = False

    # called on the loop
    def _deliver(self, watch: "_PathWatch", change: TreeChange) -> None:
        if watch.active and not self._closed:
            self._on_change(change)


class _PathWatch:
    """The data watch (exists: created/deleted/changed) and the children watch of one
    path. The same bound methods are re-registered each time, and kazoo keeps
    watchers in a set per path, so re-arming never doubles a watch."""

    def __init__(self, owner: TreeWatcher, path: str) -> None:
        self.owner = owner
        self.path = path
        self.active = True

    def arm(self) -> None:
        if not self.active:
            return
        session = self.owner._session
        # Non-blocking: results are not needed, only the watches they leave behind.
        session.exists_async(self.path, watch=self.on_data)
        result = session.get_children_async(self.path, watch=self.on_children)
        result.rawlink(self._children_armed)

    def _children_armed(self, result) -> None:
        # NoNode: the node is gone (or not there yet); the exists watch reports its
        # creation, and arming again on that event sets the children watch.
        try:
            result.get_nowait()
        except NoNodeError:
            pass
        except Exception as exc:  # connection trouble: kazoo restores watches itself
            log.debug("children watch on %s not set: %s", self.path, exc)

    def on_data(self, event: WatchedEvent) -> None:
        self.owner._fired(self, event)

    def on_children(self, event: WatchedEvent) -> None:
        if event.type is EventType.DELETED:
            return  # the data watch reports the deletion once
        self.owner._fired(self, event)


__all__ = ["ChangeKind", "ZnodeInfo", "TreeChange", "TreeWatcher", "child_path", "read_data", "read_znode"]
