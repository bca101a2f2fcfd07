"""The registry as the Monitor sees it: ONE read-only ZooKeeper session, kept open,
and kazoo watches on ``/arcus/cache_list`` instead of re-reading the tree each poll.

- A `ChildrenWatch` on ``/arcus/cache_list`` knows the service codes; one per
  service, on ``/arcus/cache_list/<service code>``, knows its live nodes. A node
  joining or leaving reaches us as a watch event (kazoo's thread), handed to the
  event loop with ``loop.call_soon_threadsafe``.
- The static side (which ``ip:port`` is mapped to which service, in
  ``cache_server_mapping``) and the replication tree (``/arcus_repl``, shown but
  never watched) change rarely: they are read in full once at connect and then
  every `RESYNC_EVERY` seconds, not on every poll.
- Reconnecting is bounded: kazoo retries a lost connection itself with a growing
  delay (`CONNECTION_RETRY`); if the first connect fails, `ensure()` tries again
  at most once per call and only after a back-off that doubles up to
  `MAX_BACKOFF`.

Read-only: the session is a `RegistrySession(read_only=True)` (it refuses every
write), and the watches get `_WatchClient`, which exposes only the reads they use.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Callable, Optional

from kazoo.client import KazooClient
from kazoo.recipe.watchers import ChildrenWatch

from arcus_tui import netguard
from arcus_tui.zk import paths
from arcus_tui.zk.session import RegistryConnectionError, RegistryError, RegistrySession
from arcus_tui.zk.status import Layout, ServiceStatus, compute_status, list_all

log = logging.getLogger(__name__)

RESYNC_EVERY = 60.0
"""Seconds between full reads of the mapping and the replication tree."""
FIRST_BACKOFF = 3.0
MAX_BACKOFF = 60.0
CONNECTION_RETRY = dict(max_tries=-1, delay=0.5, backoff=2, max_delay=30.0)
"""kazoo's own reconnect loop for a session that lost its server: never faster than this."""
SESSION_TIMEOUT = 30.0
CONNECT_GRACE = 1.0
"""Seconds a poll waits for the registry's connect; a slower one goes on in the background."""


class _WatchClient:
    """What `ChildrenWatch` needs of a kazoo client, and nothing that writes."""

    def __init__(self, client: KazooClient) -> None:
        self.handler = client.handler
        self.retry = client.retry
        self.get_children = client.get_children
        self.add_listener = client.add_listener
        self.remove_listener = client.remove_listener
        self.session_id = lambda: client.client_id[0] if client.client_id else None


def connect_read_only(connect_string: str, timeout: float) -> tuple[RegistrySession, _WatchClient]:
    """A started read-only session on the ensemble, and the watch view of its client."""
    for member in connect_string.split("/", 1)[0].split(","):
        try:
            netguard.check(member.strip().rsplit(":", 1)[0])
        except netguard.NonLoopbackTarget as error:
            raise RegistryConnectionError(str(error)) from None
    client = KazooClient(hosts=connect_string, timeout=SESSION_TIMEOUT, connection_retry=dict(CONNECTION_RETRY))
    try:
        client.start(timeout=timeout)
    except Exception as error:  # kazoo raises its handler's timeout exception
        client.stop()
        client.close()
        raise RegistryConnectionError(f"could not connect to ZooKeeper {connect_string} within {timeout:g} s: "
                                      f"{error}") from None
    return RegistrySession(client, read_only=True, owns_client=True), _WatchClient(client)


Connect = Callable[[str, float], tuple[RegistrySession, _WatchClient]]


class RegistryWatch:
    """Services and their live nodes, kept current by watches on one read-only session."""

    def __init__(self, connect_string: str, on_change: Callable[[], None], *, timeout: float = 5.0,
                 resync_every: float = RESYNC_EVERY, connect: Connect = connect_read_only) -> None:
        self.connect_string = connect_string
        self.on_change = on_change  # called on the event loop after a watch saw a change
        self.timeout = timeout
        self.resync_every = resync_every
        self._connect = connect
        self.session: Optional[RegistrySession] = None
        self.connects = 0  # sessions opened (should stay 1)
        self.resyncs = 0
        self.events = 0  # watch callbacks received
        self._watch_client: Optional[_WatchClient] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._lock = threading.Lock()
        self._children: dict[str, tuple[str, ...]] = {}  # service code -> cache_list children
        self._watched: dict[str, object] = {}  # service code -> token of its live watch
        self._static: dict[str, set[str]] = {}
        self._resynced: dict[str, ServiceStatus] = {}  # by "layout/code", from the last full read
        self._next_resync = 0.0
        self._root_watched = False
        self._failures = 0
        self._next_attempt = 0.0
        self._connecting: Optional[asyncio.Future] = None
        self._closed = False
        self.problem = ""

    @property
    def connected(self) -> bool:
        return self.session is not None and self.session.connected

    async def ensure(self) -> str:
        """Connect if needed (one attempt at most, after the back-off) and resync when due.
        Returns what went wrong, or ''. A connect that takes longer than `CONNECT_GRACE` goes
        on in the background (its end publishes the registry): a poll never waits for it."""
        self._loop = asyncio.get_running_loop()
        if self.session is None:
            if self._connecting is None:
                if time.monotonic() < self._next_attempt:
                    return self.problem or "ZooKeeper: not connected"
                self._connecting = asyncio.ensure_future(self._connect_once())
            await asyncio.wait({self._connecting}, timeout=CONNECT_GRACE)
            if not self._connecting.done():
                return f"ZooKeeper: connecting to {self.connect_string}..."
            self._connecting = None
            if self.session is None:
                return self.problem
        elif time.monotonic() >= self._next_resync:
            try:
                await self._resync_now()
            except RegistryError as error:
                self.problem = str(error)
                return self.problem
        self.problem = "" if self.connected else "ZooKeeper: connection lost, kazoo is reconnecting"
        return self.problem

    async def _connect_once(self) -> None:
        """One connect attempt, then the watches and a full read; tells `on_change` when done."""
        try:
            session, watch_client = await asyncio.to_thread(self._connect, self.connect_string, self.timeout)
        except Exception as error:  # RegistryError, or anything kazoo raises: said, never raised
            self._failures += 1
            self._next_attempt = time.monotonic() + min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** (self._failures - 1))
            self.problem = str(error)
            return
        if self._closed:  # closed while the thread connected: do not leave a session behind
            await asyncio.to_thread(session.close)
            return
        self.session, self._watch_client = session, watch_client
        self.connects += 1
        self._failures = 0
        try:
            await self._resync_now()
        except RegistryError as error:
            self.problem = str(error)
        self.on_change()

    async def _resync_now(self) -> None:
        if not self._root_watched:  # first time, or /arcus/cache_list did not exist yet
            await asyncio.to_thread(self._watch_services)
        await asyncio.to_thread(self._resync)
        self._next_resync = time.monotonic() + self.resync_every

    # -- kazoo's thread -------------------------------------------------------------

    def _watch_services(self) -> None:
        ChildrenWatch(self._watch_client, paths.cache_list(), self._services_changed)

    def _services_changed(self, services: list[str]) -> None:
        self.events += 1
        self._root_watched = True
        with self._lock:
            wanted = set(services)
            for gone in set(self._watched) - wanted:
                del self._watched[gone]
                self._children.pop(gone, None)
            new = [code for code in services if code not in self._watched]
            for code in new:
                self._watched[code] = object()
        for code in new:
            self._watch_service(code, self._watched.get(code))
        self._notify()

    def _watch_service(self, code: str, token: object) -> None:
        def changed(children: list[str]) -> Optional[bool]:
            self.events += 1
            with self._lock:
                if self._watched.get(code) is not token:
                    return False  # the service went away (or is watched anew): stop this watch
                self._children[code] = tuple(children)
            self._notify()
            return None

        ChildrenWatch(self._watch_client, paths.service_cache_list(code), changed)

    def _notify(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self.on_change)
        except RuntimeError:  # the loop closed between the check and the call
            pass

    def _resync(self) -> None:
        assert self.session is not None
        statuses = list_all(self.session)
        with self._lock:
            self._static = {s.service_code: set(s.online) | set(s.offline)
                            for s in statuses if s.layout is Layout.BASE}
            self._resynced = {f"{s.layout.value}/{s.service_code}": s for s in statuses}
        self.resyncs += 1

    # -- the loop's side ------------------------------------------------------------

    def services(self) -> tuple[ServiceStatus, ...]:
        """Every service: base ones from the watched children, replication ones as last read."""
        with self._lock:
            children = dict(self._children)
            static = dict(self._static)
            resynced = dict(self._resynced)
        base = []
        for code in sorted(children):
            known = resynced.get(f"{Layout.BASE.value}/{code}")
            base.append(compute_status(code, static.get(code, ()), children[code],
                                       created=known.created if known else None,
                                       modified=known.modified if known else None))
        repl = [s for s in resynced.values() if s.layout is Layout.REPL]
        return tuple(base + repl)

    @property
    def session_id(self) -> Optional[int]:
        """ZooKeeper's id of the session (the same one for as long as the monitor is open)."""
        return self._watch_client.session_id() if self._watch_client is not None and self.session else None

    def close(self) -> None:
        """Close the session (idempotent). A connect still in its thread closes its own
        session when it ends."""
        self._closed = True
        with self._lock:
            self._watched.clear()
            self._children.clear()
        self._root_watched = False
        session, self.session = self.session, None
        if session is not None:
            session.close()
