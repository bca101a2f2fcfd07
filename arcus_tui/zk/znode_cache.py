"""What the ZooKeeper browser knows of the tree, without any UI.

A znode's children are read as names only (one ``get_children``: 0.1 s for 100 000
children), never with a stat per child: 100 000 ``exists()`` calls took 18 s. The
stat (children count, data length, ctime/mtime) is read later, and only for the
rows on screen (`read_stats`, in bounded batches). The rows are drawn a page at a
time: `ZnodeCache.limit` says how many children of a znode are drawn.

`ZnodeCache` is plain data, filled from a worker's results on the loop.
`read_failure` turns the error of a big ``get_children`` into a message an
operator can act on (ZooKeeper's Java client refuses a reply larger than
``jute.maxbuffer``, 1 MB by default: ``zkCli.sh ls`` fails with ConnectionLoss).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from itertools import islice
from typing import Callable, Iterable, Optional

from kazoo.protocol.states import ZnodeStat

from arcus_tui.zk.session import RegistryConnectionError, RegistrySession
from arcus_tui.zk.tree import ZnodeInfo, child_path, read_znode

ROOT = "/"
PAGE = 100
"""Children drawn per page under one znode; the next page is one key away."""
STAT_BATCH = 64
"""Stats requested at once (pipelined ``exists``): bounds the requests in flight."""
MAX_STAT_ROUNDS = 1000
"""Batches one `drain_stats` reads at most (the next scroll starts another)."""
LARGE_CHILDREN = 10_000
"""From this many children a lost connection on ``get_children`` is blamed on the reply size."""
JUTE_DEFAULT = 1024 * 1024
NAME_BYTES = 30
"""Rough bytes per child in a ``get_children`` reply (4-byte length + an ARCUS name)."""


@dataclass(frozen=True)
class ChildStat:
    """What a tree row needs to know of a znode without reading its data."""

    num_children: int
    ephemeral: bool
    data_length: int = 0
    ctime_ms: int = 0
    mtime_ms: int = 0

    @classmethod
    def from_stat(cls, stat: ZnodeStat) -> "ChildStat":
        return cls(stat.numChildren, stat.ephemeralOwner != 0, stat.dataLength, stat.ctime, stat.mtime)

    @classmethod
    def from_info(cls, info: ZnodeInfo) -> "ChildStat":
        return cls(info.num_children, info.ephemeral, len(info.data), info.ctime_ms, info.mtime_ms)


def parent_of(path: str) -> str:
    return path.rsplit("/", 1)[0] or ROOT


def name_of(path: str) -> str:
    return path.rsplit("/", 1)[-1] or ROOT


def under(path: str, top: str) -> bool:
    return path == top or top == ROOT or path.startswith(top + "/")


@dataclass(frozen=True)
class Level:
    """A znode as read for the tree: its data, stat and sorted child names, and the
    names in lower case for the filter."""

    info: ZnodeInfo
    lowered: tuple[str, ...]


def read_level(session: RegistrySession, path: str) -> Optional[Level]:
    """In a worker thread: sorting and lower-casing 100 000 names take ~0.15 s, kept
    off the loop. None when ``path`` is gone."""
    info = read_znode(session, path)
    return None if info is None else Level(info, tuple(name.lower() for name in info.children))


def read_stats(session: RegistrySession, paths: Iterable[str]) -> dict[str, Optional[ChildStat]]:
    """In a worker thread: the stat of each path (None: gone), one pipelined round."""
    found = session.exists_many(paths)
    return {path: ChildStat.from_stat(stat) if stat is not None else None for path, stat in found.items()}


def read_failure(path: str, error: BaseException, num_children: Optional[int]) -> str:
    """The status-line text for a failed read of ``path``'s children."""
    if isinstance(error, RegistryConnectionError) and "ConnectionLoss" in str(error) \
            and num_children is not None and num_children >= LARGE_CHILDREN:
        size = num_children * NAME_BYTES / JUTE_DEFAULT
        return (f"{path} has {num_children} children: the list (about {size:.1f} MB) is larger than the "
                f"ensemble's jute.maxbuffer ({JUTE_DEFAULT // 1024} KB by default), and the connection was "
                f"dropped. Raise it on every member (SERVER_JVMFLAGS=\"-Djute.maxbuffer=<bytes>\" in "
                f"conf/java.env, then restart) and in CLIENT_JVMFLAGS for zkCli.sh, or remove old children.")
    return f"reading {path}: {error}"


def size_note(num_children: int) -> str:
    """For a znode whose child list alone likely exceeds ZooKeeper's default
    jute.maxbuffer: why ``zkCli.sh ls`` fails on it while this browser reads it."""
    size = num_children * NAME_BYTES
    if size < JUTE_DEFAULT:
        return ""
    return (f"{num_children} children: a list of about {size / JUTE_DEFAULT:.1f} MB, over the "
            f"{JUTE_DEFAULT // 1024} KB jute.maxbuffer of ZooKeeper's Java clients (zkCli.sh ls fails with "
            f"ConnectionLoss unless CLIENT_JVMFLAGS=\"-Djute.maxbuffer=<bytes>\"). This browser reads it "
            f"and draws it {PAGE} at a time.")


class ZnodeCache:
    """Children names per open znode, a stat per znode seen, and the paging.

    Not thread-safe: fill it on the loop from what workers read."""

    def __init__(self) -> None:
        self._children: dict[str, tuple[str, ...]] = {}
        self._lowered: dict[str, tuple[str, ...]] = {}
        self._stats: dict[str, ChildStat] = {}
        self._limits: dict[str, int] = {}

    # -- reading the model ------------------------------------------------------------

    def is_open(self, path: str) -> bool:
        """Its children have been read."""
        return path in self._children

    @property
    def open_paths(self) -> list[str]:
        return list(self._children)

    def names(self, path: str) -> tuple[str, ...]:
        return self._children.get(path, ())

    def lowered(self, path: str) -> tuple[str, ...]:
        """The child names in lower case, in the same order (kept for the filter)."""
        return self._lowered.get(path, ())

    def open_children(self, path: str) -> list[str]:
        """Names of ``path``'s children that are open themselves."""
        return [name_of(p) for p in self._children if p != ROOT and parent_of(p) == path]

    def stat(self, path: str) -> Optional[ChildStat]:
        return self._stats.get(path)

    def needs_stat(self, path: str) -> bool:
        return path not in self._stats

    def has_children(self, path: str) -> bool:
        stat = self._stats.get(path)
        return bool(stat and stat.num_children) or bool(self._children.get(path))

    def limit(self, path: str) -> int:
        """How many of ``path``'s (matching) children are drawn."""
        return self._limits.get(path, PAGE)

    # -- changing it ------------------------------------------------------------------

    def set_level(self, info: ZnodeInfo, lowered: Optional[tuple[str, ...]] = None) -> None:
        """``info``'s children (names) and its own stat; what is gone is forgotten.
        ``lowered``: the names in lower case, if already made (`read_level`)."""
        path = info.path
        old = self._children.get(path)
        names = info.children
        if old is not None and old != names:
            self._forget_children(path, set(old) - set(names))
        self._children[path] = names
        self._lowered[path] = lowered if lowered is not None else tuple(name.lower() for name in names)
        self._stats[path] = ChildStat.from_info(info)

    def set_stat(self, path: str, stat: Optional[ChildStat]) -> None:
        if stat is None:
            self.forget(path)
        else:
            self._stats[path] = stat

    def more(self, path: str) -> None:
        """Draw one more page of ``path``'s children."""
        self._limits[path] = self.limit(path) + PAGE

    def forget(self, top: str) -> None:
        """Drop ``top`` and everything read below it."""
        for table in (self._children, self._lowered, self._stats, self._limits):
            for path in [p for p in table if under(p, top)]:
                del table[path]

    def clear(self) -> None:
        for table in (self._children, self._lowered, self._stats, self._limits):
            table.clear()

    def _forget_children(self, parent: str, gone: set[str]) -> None:
        """One pass over what is known, however many children went (a day of
        cache_server_log cleaned at once)."""
        if not gone:
            return
        prefix = parent.rstrip("/") + "/"
        for table in (self._children, self._lowered, self._stats, self._limits):
            for path in [p for p in table if p.startswith(prefix) and
                         path_child(p, prefix) in gone]:
                del table[path]


class StatQueue:
    """Rows waiting for their stat, in the order they came on screen."""

    def __init__(self) -> None:
        self._paths: dict[str, None] = {}  # an ordered set

    def __len__(self) -> int:
        return len(self._paths)

    def add(self, paths: Iterable[str], cache: ZnodeCache) -> None:
        for path in paths:
            if path != ROOT and cache.needs_stat(path):
                self._paths[path] = None

    def take(self) -> list[str]:
        """The next batch (at most ``STAT_BATCH``), removed from the queue."""
        batch = list(islice(self._paths, STAT_BATCH))
        for path in batch:
            del self._paths[path]
        return batch

    def clear(self) -> None:
        self._paths.clear()


async def drain_stats(queue: StatQueue, current: Callable[[], Optional[RegistrySession]],
                      apply: Callable[[dict[str, Optional[ChildStat]]], None]) -> None:
    """Read the queued stats batch by batch (one batch in flight; kazoo pipelines its
    requests) and hand each result to ``apply`` on the loop. Stops when the queue is
    empty, the session changed, or a read failed (the next scroll asks again)."""
    for _ in range(MAX_STAT_ROUNDS):
        session = current()
        batch = queue.take() if session is not None else []
        if not batch:
            return
        try:
            found = await asyncio.to_thread(read_stats, session, batch)
        except Exception:
            return
        if current() is not session:
            return
        apply(found)


def path_child(path: str, prefix: str) -> str:
    """The name right below ``prefix`` (which ends in /) on the way to ``path``."""
    return path[len(prefix):].split("/", 1)[0]


__all__ = ["ChildStat", "Level", "PAGE", "STAT_BATCH", "StatQueue", "ZnodeCache", "child_path", "drain_stats", "name_of",
           "parent_of", "read_failure", "read_level", "read_stats", "size_note", "under"]
