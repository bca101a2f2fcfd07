"""Filtering the ZooKeeper browser's tree by name, without any UI.

A znode is shown when the filter is empty, when its name or an ancestor's name
contains the text, or when something read below it does. Everything works on the
names `ZnodeCache` already holds (lower-cased once per read), so a key typed in
the filter costs one substring scan per open znode (about 10 ms for 100 000
children) and never a ZooKeeper read. What is drawn is capped by the page limit:
`ZnodeFilter.page` says which children to draw and how many more match.
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from dataclasses import dataclass
from itertools import compress, repeat
from typing import Optional

from arcus_tui.zk.znode_cache import ROOT, ZnodeCache, child_path, name_of, parent_of


MEMO_SIZE = 64
"""(znode, text) results remembered for narrowing and backspace..."""
MEMO_NAMES = 500_000
"""... holding this many names at most (about 8 MB of references)."""


@dataclass(frozen=True)
class Page:
    """The children of one znode to draw, in order, and the rest that would be."""

    paths: tuple[str, ...]
    more: int
    matched_below: frozenset[str] = frozenset()
    """Drawn only because something below them matches (the tree opens them)."""


class MatchMemo:
    """The names that matched the last texts typed, per znode. A key typed narrows a
    remembered shorter text's result instead of scanning every name again; a backspace
    finds its text here. An entry holds only while the znode's names are the same
    tuple (`ZnodeCache` replaces it on each read)."""

    def __init__(self, size: int = MEMO_SIZE, max_names: int = MEMO_NAMES) -> None:
        self.size = size
        self.max_names = max_names
        self._names = 0
        self._entries: OrderedDict[tuple[str, str], tuple[tuple[str, ...], list[str], list[str]]] = OrderedDict()

    def get(self, path: str, text: str, lowered: tuple[str, ...]) -> Optional[tuple[list[str], list[str]]]:
        entry = self._entries.get((path, text))
        if entry is None or entry[0] is not lowered:
            return None
        self._entries.move_to_end((path, text))
        return entry[1], entry[2]

    def narrowest(self, path: str, text: str, lowered: tuple[str, ...]) -> Optional[tuple[list[str], list[str]]]:
        """The result of the longest remembered text that ``text`` starts with."""
        for cut in range(len(text) - 1, 0, -1):
            found = self.get(path, text[:cut], lowered)
            if found is not None:
                return found
        return None

    def put(self, path: str, text: str, lowered: tuple[str, ...], names: list[str], lows: list[str]) -> None:
        old = self._entries.pop((path, text), None)
        self._names -= len(old[1]) if old else 0
        self._entries[(path, text)] = (lowered, names, lows)
        self._names += len(names)
        while len(self._entries) > self.size or (self._names > self.max_names and len(self._entries) > 1):
            _, (_, dropped, _) = self._entries.popitem(last=False)
            self._names -= len(dropped)


class ZnodeFilter:
    """One filter text over one state of the cache; make a new one when either changes."""

    def __init__(self, cache: ZnodeCache, text: str, memo: Optional[MatchMemo] = None) -> None:
        self.cache = cache
        self.text = text.strip().lower()
        self.memo = memo if memo is not None else MatchMemo()
        self._below: dict[str, bool] = {}
        self._matching: dict[str, list[str]] = {}

    def __bool__(self) -> bool:
        return bool(self.text)

    def matches(self, path: str) -> bool:
        return bool(self.text) and self.text in name_of(path).lower()

    def ancestor_matches(self, path: str) -> bool:
        while path != ROOT:
            if self.matches(path):
                return True
            path = parent_of(path)
        return False

    def matching(self, path: str) -> list[str]:
        """Names of ``path``'s children that contain the text, in order (remembered)."""
        found = self._matching.get(path)
        if found is None:
            found = self._matching[path] = self._scan(path)
        return found

    def _scan(self, path: str) -> list[str]:
        lowered, text = self.cache.lowered(path), self.text
        known = self.memo.get(path, text, lowered)
        if known is None:
            names, lows = self.memo.narrowest(path, text, lowered) or (self.cache.names(path), lowered)
            # map/compress keep the loop in C.
            hits = list(map(operator.contains, lows, repeat(text)))
            known = list(compress(names, hits)), list(compress(lows, hits))
            self.memo.put(path, text, lowered, *known)
        return known[0]

    def match_below(self, path: str) -> bool:
        """Some child read below ``path`` (at any depth) matches."""
        known = self._below.get(path)
        if known is None:
            known = bool(self.matching(path)) or any(
                self.match_below(child_path(path, name)) for name in self.cache.open_children(path))
            self._below[path] = known
        return known

    def page(self, path: str, inherited: bool) -> Page:
        """The children of ``path`` to draw. ``inherited``: an ancestor matches."""
        names = self.cache.names(path)
        limit = self.cache.limit(path)
        if not self.text or inherited or self.matches(path):
            return Page(tuple(child_path(path, n) for n in names[:limit]), max(0, len(names) - limit))
        opened = [name for name in self.cache.open_children(path) if self.match_below(child_path(path, name))]
        chosen = self.matching(path)
        below = {name for name in opened if self.text not in name.lower()}
        if below:  # rare (an open child with a match under it): merge, keeping the order
            chosen = sorted(set(chosen) | below, key=_position(names))
        drawn = tuple(child_path(path, n) for n in chosen[:limit])
        return Page(drawn, max(0, len(chosen) - limit),
                    frozenset(child_path(path, n) for n in below) & frozenset(drawn))

    def count(self) -> tuple[int, int]:
        """(matching, known): child names of every open znode that match, and all of them."""
        known = sum(len(self.cache.names(path)) for path in self.cache.open_paths)
        if not self.text:
            return 0, known
        return sum(len(self.matching(path)) for path in self.cache.open_paths), known


def _position(names: tuple[str, ...]):
    index = {name: i for i, name in enumerate(names)}
    return index.__getitem__


__all__ = ["MatchMemo", "Page", "ZnodeFilter"]
