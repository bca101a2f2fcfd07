"""The cloud's own events for one service code: which node joined, left, rejoined, and when.

Three sources, read only:

- **live**: a kazoo `ChildrenWatch` on ``/arcus/cache_list/<svc>``. Each callback gives
  the whole child list; `MembershipDiff` compares it with the previous one, keyed by
  ``ip:port``: new endpoints joined, missing ones left. The time is the wall clock
  when the watch fired (ZooKeeper sends no time with a watch). A join and a leave
  that both happen between two callbacks are not seen: ZooKeeper watches are one-shot.
- **online now**: at start, each child's ``ctime`` is when that node's current session
  created its entry: a "joined" event at its real time.
- **history** (`since_log`): arcus-memcached logs every join in
  ``/arcus/cache_server_log/<YYYY-MM-DD>/<ip>:<port>-<hostname>-<seq>`` (data ``join``
  or ``rejoin``; `arcus_zk.c`, ``arcus_zk_log``). The date is the node's local date,
  the znode's ``ctime`` gives the time. The log names no service code, so entries are
  kept for the service's endpoints (its mapping, its live entries and any given).
  Nothing logs a leave (an ephemeral znode just vanishes), so the history holds joins.
  arcus-memcached creates the date directory but not ``cache_server_log`` itself, which
  `zookeeper init` (arcus.sh's and ours) does not create: without it there is no history
  (`NO_LOG_NOTE`).

A node is **rejoined** when it joins after an earlier join this stream knows of (in the
history, online at start, or seen live), or when arcus-memcached logged ``rejoin``
(it came back to the ensemble after a pause).

Memory is bounded: the newest `limit` events (`EventRing`). Batches of events are handed
to the `on_events` callable, from the caller's thread at start and from kazoo's thread
after; the UI moves them to its loop. No Textual here.
"""

from __future__ import annotations

import collections
import datetime
import enum
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Sequence

from kazoo.recipe.watchers import ChildrenWatch

from arcus_tui.zk import paths
from arcus_tui.zk.client_list import ClientEntry, client_list_path, parse_client_list
from arcus_tui.zk.session import RegistryError, RegistrySession
from arcus_tui.zk.status import parse_cache_list_child, read_static_mapping

from .registry_watch import connect_read_only

DEFAULT_LIMIT = 500
"""Events kept (and history entries read) at most."""
HISTORY_DAYS = 62
"""Date directories of ``cache_server_log`` looked at, newest first, at most."""
DAYS_PER_READ = 7
NO_LOG_NOTE = ("no /arcus/cache_server_log: arcus-memcached logs its joins only under an existing one "
               "(zookeeper init does not create it), so there is no history before now")
SAME_JOIN_SECONDS = 5.0
"""A node's live entry and its log line are written within this of each other: one join."""


class EventKind(str, enum.Enum):
    JOINED = "joined"
    LEFT = "left"
    REJOINED = "rejoined"


class Source(str, enum.Enum):
    LOG = "log"  # /arcus/cache_server_log
    ONLINE = "online"  # ctime of a live cache_list entry, read at start
    WATCH = "watch"  # seen live


@dataclass(frozen=True)
class CloudEvent:
    at: float  # wall time, seconds since the epoch
    kind: EventKind
    endpoint: str  # ip:port
    hostname: str = ""
    source: Source = Source.WATCH
    detail: str = ""  # what the log said ("join", "rejoin"), or the raw znode name

    @property
    def when(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.at)

    def time_text(self) -> str:
        return self.when.strftime("%Y-%m-%d %H:%M:%S")

    def to_json(self) -> dict:
        return {"time": self.when.isoformat(sep=" ", timespec="seconds"), "at": self.at, "event": self.kind.value,
                "node": self.endpoint, "hostname": self.hostname, "source": self.source.value,
                "detail": self.detail}


EventsConsumer = Callable[[Sequence[CloudEvent]], None]
ClientsConsumer = Callable[[Optional[tuple[ClientEntry, ...]]], None]


class EventRing:
    """The newest `limit` events, in arrival order; thread-safe."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._events: collections.deque[CloudEvent] = collections.deque(maxlen=max(1, int(limit)))
        self._lock = threading.Lock()
        self.total = 0  # every event ever added, kept or not

    def extend(self, events: Iterable[CloudEvent]) -> None:
        with self._lock:
            for event in events:
                self._events.append(event)
                self.total += 1

    def newest_first(self, count: Optional[int] = None) -> list[CloudEvent]:
        with self._lock:
            events = list(self._events)
        events.reverse()
        return events if count is None else events[:count]

    def __len__(self) -> int:
        return len(self._events)

    @property
    def dropped(self) -> int:
        return self.total - len(self._events)


# -- the pure parts ---------------------------------------------------------------------


class MembershipDiff:
    """Successive child lists of ``cache_list/<svc>`` -> joined / left / rejoined events."""

    def __init__(self, known: Iterable[str] = ()) -> None:
        self.current: dict[str, str] = {}  # endpoint -> hostname, online now
        self.known: set[str] = set(known)  # endpoints that joined at least once

    def baseline(self, children: Iterable[str]) -> None:
        """The list at start: its nodes are online, and have joined."""
        self.current = _by_endpoint(children)
        self.known |= set(self.current)

    def kind_of_join(self, endpoint: str) -> EventKind:
        return EventKind.REJOINED if endpoint in self.known else EventKind.JOINED

    def update(self, children: Iterable[str], at: float) -> list[CloudEvent]:
        now = _by_endpoint(children)
        events = [CloudEvent(at, EventKind.LEFT, endpoint, self.current[endpoint])
                  for endpoint in sorted(set(self.current) - set(now))]
        for endpoint in sorted(set(now) - set(self.current)):
            events.append(CloudEvent(at, self.kind_of_join(endpoint), endpoint, now[endpoint]))
            self.known.add(endpoint)
        self.current = now
        return events


def _by_endpoint(children: Iterable[str]) -> dict[str, str]:
    nodes = (parse_cache_list_child(name) for name in children)
    return {node.endpoint: node.hostname for node in nodes}


@dataclass(frozen=True)
class LogEntry:
    """One ``cache_server_log/<date>/<ip>:<port>-<hostname>-<seq>`` znode name."""

    date: str
    name: str
    endpoint: str
    hostname: str
    sequence: int

    @property
    def path(self) -> str:
        return f"{paths.cache_server_log()}/{self.date}/{self.name}"


def parse_log_entry(date: str, name: str) -> Optional[LogEntry]:
    """None for a name that is not ``<ip>:<port>-<hostname>-<sequence>`` (ZooKeeper's sequence
    is 10 digits; the hostname may hold dashes)."""
    base, dash, sequence = name.rpartition("-")
    if not dash or not sequence.isdigit():
        return None
    node = parse_cache_list_child(base)
    if ":" not in node.endpoint:
        return None
    return LogEntry(date, name, node.endpoint, node.hostname, int(sequence))


def history_events(entries: Iterable[tuple[LogEntry, str, float]]) -> list[CloudEvent]:
    """(entry, data, ctime) -> events in time order; a join after a join of the same node, or a
    logged ``rejoin``, is a rejoin."""
    events = []
    seen: set[str] = set()
    for entry, data, at in sorted(entries, key=lambda item: (item[2], item[0].date, item[0].sequence)):
        kind = EventKind.REJOINED if data == "rejoin" or entry.endpoint in seen else EventKind.JOINED
        seen.add(entry.endpoint)
        events.append(CloudEvent(at, kind, entry.endpoint, entry.hostname, Source.LOG, data or "?"))
    return events


def online_events(children: dict[str, float], history: Sequence[CloudEvent]) -> list[CloudEvent]:
    """Joins of the nodes online now, at their entry's ctime; skipped when the history has it."""
    logged: dict[str, list[float]] = {}
    for event in history:
        logged.setdefault(event.endpoint, []).append(event.at)
    events = []
    for name, at in children.items():
        node = parse_cache_list_child(name)
        if any(abs(at - t) <= SAME_JOIN_SECONDS for t in logged.get(node.endpoint, ())):
            continue
        kind = EventKind.REJOINED if node.endpoint in logged else EventKind.JOINED
        events.append(CloudEvent(at, kind, node.endpoint, node.hostname, Source.ONLINE, name))
    return sorted(events, key=lambda e: (e.at, e.endpoint))


# -- reading ZooKeeper --------------------------------------------------------------------


def read_history(session: RegistrySession, endpoints: set[str], limit: int = DEFAULT_LIMIT,
                 days: int = HISTORY_DAYS) -> list[CloudEvent]:
    """The newest `limit` log entries of `endpoints`, newest days first, `days` at most."""
    base = paths.cache_server_log()
    dates = session.children_many([base])[base]
    if not dates or not endpoints or limit <= 0:
        return []
    chosen: list[LogEntry] = []
    newest = sorted(dates, reverse=True)[:days]
    for start in range(0, len(newest), DAYS_PER_READ):
        batch = newest[start:start + DAYS_PER_READ]
        found = session.children_many(f"{base}/{d}" for d in batch)
        for date in batch:
            entries = [e for e in (parse_log_entry(date, n) for n in found[f"{base}/{date}"] or ())
                       if e is not None and e.endpoint in endpoints]
            chosen.extend(sorted(entries, key=lambda e: e.sequence, reverse=True))
        if len(chosen) >= limit:
            break
    chosen = chosen[:limit]
    read = session.get_many(e.path for e in chosen)
    return history_events((e, read[e.path][0].decode("utf-8", "replace").strip(), read[e.path][1].ctime / 1000)
                          for e in chosen if read[e.path] is not None)


def read_online(session: RegistrySession, service_code: str) -> dict[str, float]:
    """Child name -> ctime (s) of each live entry of the service."""
    path = paths.service_cache_list(service_code)
    children = session.children_many([path])[path]
    if children is None:
        raise RegistryError(f"service code {service_code!r} is not registered (no {path})")
    stats = session.exists_many(f"{path}/{c}" for c in children)
    return {c: stats[f"{path}/{c}"].ctime / 1000 for c in children if stats[f"{path}/{c}"] is not None}


def service_addresses(session: RegistrySession, service_code: str, online: Iterable[str],
                      extra: Iterable[str] = ()) -> set[str]:
    """Whose log entries belong to the service: its mapping, its live nodes, and `extra`."""
    mapped = read_static_mapping(session).get(service_code, set())
    return set(mapped) | {parse_cache_list_child(c).endpoint for c in online} | set(extra)


Connect = Callable[[str, float], tuple]


class CloudEventStream:
    """The event stream of one service code on its own read-only ZooKeeper session.

    `start()` blocks (run it in a thread from an event loop): connect, hand the history and
    the nodes online now to `on_events`, then watch. Later batches come from kazoo's thread.
    `on_clients` (optional) gets the service's clients at start and on every change (None
    while the service has no client_list znode)."""

    def __init__(self, connect_string: str, service_code: str, on_events: EventsConsumer,
                 on_clients: Optional[ClientsConsumer] = None, *, since_log: bool = False,
                 limit: int = DEFAULT_LIMIT, extra_addresses: Iterable[str] = (), timeout: float = 10.0,
                 connect: Connect = connect_read_only, clock: Callable[[], float] = time.time) -> None:
        self.connect_string = connect_string
        self.service_code = paths.check_service_code(service_code)
        self.on_events = on_events
        self.on_clients = on_clients
        self.since_log = since_log
        self.limit = limit
        self.extra_addresses = tuple(extra_addresses)
        self.timeout = timeout
        self._connect = connect
        self._clock = clock
        self.ring = EventRing(limit)
        self.diff = MembershipDiff()
        self.session: Optional[RegistrySession] = None
        self._watch_client = None
        self._lock = threading.Lock()
        self._closed = False
        self.watch_callbacks = 0
        self.note = ""  # what the operator should know about the history (NO_LOG_NOTE)

    @property
    def connected(self) -> bool:
        return self.session is not None and self.session.connected

    @property
    def online(self) -> dict[str, str]:
        """endpoint -> hostname of the nodes online as last seen."""
        with self._lock:
            return dict(self.diff.current)

    def start(self) -> None:
        """Connect, read, watch. Raises `RegistryError` (not registered, unreachable)."""
        session, watch_client = self._connect(self.connect_string, self.timeout)
        with self._lock:
            if self._closed:
                session.close()
                return
            self.session, self._watch_client = session, watch_client
        try:
            self._read_and_watch(session)
        except Exception:
            self.close()
            raise

    def _read_and_watch(self, session: RegistrySession) -> None:
        session.sync("/")
        online = read_online(session, self.service_code)
        history: list[CloudEvent] = []
        if self.since_log:
            if session.exists(paths.cache_server_log()) is None:
                self.note = NO_LOG_NOTE
            endpoints = service_addresses(session, self.service_code, online, self.extra_addresses)
            history = read_history(session, endpoints, self.limit)
        first = history + online_events(online, history)
        with self._lock:
            self.diff.known |= {e.endpoint for e in history}
            self.diff.baseline(online)
        self._emit(first)
        ChildrenWatch(self._watch_client, paths.service_cache_list(self.service_code), self._children_changed)
        if self.on_clients is not None:
            self._watch_clients(session)

    def _watch_clients(self, session: RegistrySession) -> None:
        path = client_list_path(session, self.service_code)
        if path is None:
            self.on_clients(None)
            return

        def changed(names: list[str]) -> Optional[bool]:
            if self._closed:
                return False
            self.on_clients(parse_client_list(names))
            return None

        ChildrenWatch(self._watch_client, path, changed)

    def _children_changed(self, children: list[str]) -> Optional[bool]:
        """kazoo's thread (the first call: the caller's)."""
        if self._closed:
            return False  # stop this watch
        with self._lock:
            self.watch_callbacks += 1
            events = self.diff.update(children, self._clock())
        self._emit(events)
        return None

    def _emit(self, events: Sequence[CloudEvent]) -> None:
        if not events:
            return
        self.ring.extend(events)
        self.on_events(tuple(events))

    def close(self) -> None:
        """Stop the watches and close the session (idempotent)."""
        with self._lock:
            self._closed = True
            session, self.session = self.session, None
        if session is not None:
            session.close()


__all__ = ["NO_LOG_NOTE", "CloudEvent", "CloudEventStream", "EventKind", "EventRing", "LogEntry", "MembershipDiff", "Source",
           "history_events", "online_events", "parse_log_entry", "read_history", "read_online",
           "service_addresses"]
