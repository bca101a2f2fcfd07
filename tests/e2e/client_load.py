"""A steady client load on a live ARCUS cloud, and samplers of cache_list and of the ensemble's
modes, for end-to-end tests and benchmarks that change the cloud under traffic.

Which node a key goes to is decided by NAVER's client itself: its `ArcusLocator` watches
/arcus/cache_list/<service code> and spreads keys with its ketama hash, exactly as
arcus-python-client routes them (a node that leaves cache_list is rehashed away at once). The
set/get exchange with that node is done here, over a plain socket with a timeout, because the
upstream client's own I/O blocks without bound when a node closes its connection with a request
in flight (its reader spins on the empty read; see `arcus_client.py`), which is exactly what a
restart does. So a failure counted here is what any ARCUS client would see: its request to a
node that was going away (or not yet back) was refused, reset or not answered in time.

    load = client_load.start(connect_string, service_code, keys=200)
    ... change the cloud ...
    counts = load.stop()          # counts.ok["set"], counts.failed["get"], counts.failures, ...

    sampler = client_load.sample_cache_list(connect_string, service_code)   # every 0.2 s
    samples = sampler.stop()      # [(monotonic time, frozenset of ip:port, or None if unreadable)]

    watch = client_load.watch_cache_list(connect_string, service_code)      # every change
    changes = watch.stop()        # [(monotonic time, frozenset of ip:port)]

    modes = client_load.sample_modes(members)                               # `srvr` every 0.2 s
    samples = modes.stop()        # [(monotonic time, {member: "leader"/"follower"/...})]
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Optional

from tests.e2e.arcus_client import _import_client

OP_TIMEOUT = 1.0  # s a set or get may take before it counts as failed
EXPTIME = 600
MAX_FAILURES_KEPT = 10_000
STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Failure:
    at: float  # time.monotonic()
    op: str  # "set" or "get"
    key: str
    node: str  # ip:port the locator sent the key to ("" when no node was registered)
    error: str


@dataclass
class LoadCounts:
    """What the load did: per operation ("set", "get") how many succeeded and failed."""

    ok: Counter = field(default_factory=Counter)
    failed: Counter = field(default_factory=Counter)
    misses: int = 0  # gets that found nothing: the key moved to another node with a rehash (not a failure)
    stale: int = 0  # gets that found an older value (the key came back to a node that still held it)
    failures: list[Failure] = field(default_factory=list)  # the first MAX_FAILURES_KEPT, in order
    elapsed: float = 0.0
    error: str = ""  # why the load stopped early (the locator could not connect, ...)

    @property
    def failed_nodes(self) -> Counter:
        """ip:port -> failures of keys that node held."""
        return Counter(failure.node for failure in self.failures)

    @property
    def total(self) -> int:
        return sum(self.ok.values()) + sum(self.failed.values())

    @property
    def error_rate(self) -> float:
        return sum(self.failed.values()) / self.total if self.total else 0.0


class _Node:
    """What the locator allocates per cache_list entry: no I/O of its own (see the module doc)."""

    def __init__(self, addr: str, name: str) -> None:
        self.addr = addr
        self.name = name
        self.in_use = False

    def disconnect(self) -> None:  # the locator drops a node that left cache_list
        pass


class _Allocator:
    def alloc(self, addr: str, name: str) -> _Node:
        return _Node(addr, name)

    def join(self) -> None:
        pass


class LoadRun:
    """A client loop in a daemon thread: set a key, get it back, next key, until `stop()`."""

    def __init__(self, connect_string: str, service_code: str, keys: int, op_timeout: float, pause: float) -> None:
        arcus, _ = _import_client()
        self._locator = arcus.ArcusLocator(_Allocator())
        self._connect_string = connect_string
        self._service_code = service_code
        self._keys = keys
        self._timeout = op_timeout
        self._pause = pause
        self._prefix = f"arcus-tui-load-{uuid.uuid4().hex[:8]}"
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._sockets: dict[str, socket.socket] = {}
        self._written: dict[str, str] = {}
        self.counts = LoadCounts()
        self._thread = threading.Thread(target=self._guarded, name="arcus-client-load", daemon=True)

    def start(self, connect_timeout: float = 15.0) -> "LoadRun":
        self._thread.start()
        if not self._connected.wait(connect_timeout):
            self.stop()
            raise TimeoutError(f"the ARCUS locator did not read /arcus/cache_list/{self._service_code} "
                               f"within {connect_timeout:g}s ({self.counts.error})")
        if self.counts.error:
            self.stop()
            raise RuntimeError(self.counts.error)
        return self

    def stop(self, timeout: float = STOP_TIMEOUT) -> LoadCounts:
        self._stopping.set()
        self._thread.join(timeout)
        zk = getattr(self._locator, "zk", None)
        if zk is not None:
            _bounded(lambda: (zk.stop(), zk.close()), timeout)
        return self.counts

    # --- the loop, in its thread -----------------------------------------------------------------

    def _guarded(self) -> None:
        started = time.monotonic()
        try:
            self._locator.connect(self._connect_string, self._service_code)
        except Exception as error:
            self.counts.error = f"locator: {type(error).__name__}: {error}"
            self._connected.set()
            return
        self._connected.set()
        number = 0
        try:
            while not self._stopping.is_set():
                key = f"{self._prefix}:{number % self._keys}"
                value = f"value {number}"
                self._one(key, value)
                number += 1
                if self._pause:
                    time.sleep(self._pause)
        finally:
            for sock in self._sockets.values():
                sock.close()
            self.counts.elapsed = time.monotonic() - started

    def _one(self, key: str, value: str) -> None:
        node = self._node_of(key)
        if node is None:
            self._fail("set", key, "", "no node in cache_list")
            return
        try:
            self._set(node, key, value)
        except (OSError, ValueError) as error:
            self._fail("set", key, node, error)
            return
        self.counts.ok["set"] += 1
        self._written[key] = value
        node = self._node_of(key) or node
        try:
            found = self._get(node, key)
        except (OSError, ValueError) as error:
            self._fail("get", key, node, error)
            return
        self.counts.ok["get"] += 1
        if found is None:
            self.counts.misses += 1
        elif found != value:
            self.counts.stale += 1

    def _node_of(self, key: str) -> Optional[str]:
        try:
            return self._locator.get_node(key).addr
        except IndexError:  # an empty ring: no node registered
            return None

    def _fail(self, op: str, key: str, node: str, error) -> None:
        self.counts.failed[op] += 1
        if len(self.counts.failures) < MAX_FAILURES_KEPT:
            self.counts.failures.append(Failure(time.monotonic(), op, key, node, str(error) or type(error).__name__))
        sock = self._sockets.pop(node, None)
        if sock is not None:
            sock.close()  # never reuse a connection that failed half-way

    # --- the memcached text protocol, bounded --------------------------------------------------------

    def _socket(self, node: str) -> socket.socket:
        sock = self._sockets.get(node)
        if sock is None:
            host, port = node.rsplit(":", 1)
            sock = socket.create_connection((host, int(port)), timeout=self._timeout)
            sock.settimeout(self._timeout)
            self._sockets[node] = sock
        return sock

    def _set(self, node: str, key: str, value: str) -> None:
        data = value.encode()
        sock = self._socket(node)
        sock.sendall(b"set %s 0 %d %d\r\n%s\r\n" % (key.encode(), EXPTIME, len(data), data))
        reply = _read_until(sock, (b"\r\n",))
        if reply != b"STORED\r\n":
            raise ValueError(f"set answered {reply[:60]!r}")

    def _get(self, node: str, key: str) -> Optional[str]:
        sock = self._socket(node)
        sock.sendall(b"get %s\r\n" % key.encode())
        reply = _read_until(sock, (b"END\r\n",))
        if reply == b"END\r\n":
            return None
        header, _, rest = reply.partition(b"\r\n")
        if not header.startswith(b"VALUE "):
            raise ValueError(f"get answered {reply[:60]!r}")
        length = int(header.split()[3])
        return rest[:length].decode()


def _read_until(sock: socket.socket, endings: tuple[bytes, ...], limit: int = 1 << 16) -> bytes:
    """Read until the reply ends with one of `endings`; EOF and oversize replies raise."""
    data = b""
    while not data.endswith(endings):
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionResetError("the node closed the connection")
        data += chunk
        if len(data) > limit:
            raise ValueError("reply too long")
    return data


def start(connect_string: str, service_code: str, keys: int = 200, *, op_timeout: float = OP_TIMEOUT,
          pause: float = 0.001) -> LoadRun:
    """Start a client loop on the service (set then get each of `keys` keys, round and round).
    Returns once NAVER's locator has read cache_list; `stop()` returns the `LoadCounts`."""
    return LoadRun(connect_string, service_code, keys, op_timeout, pause).start()


def _bounded(action: Callable[[], object], timeout: float) -> None:
    thread = threading.Thread(target=lambda: _quietly(action), daemon=True)
    thread.start()
    thread.join(timeout)


def _quietly(action: Callable[[], object]) -> None:
    try:
        action()
    except Exception:
        pass


# --- samplers ----------------------------------------------------------------------------------------


class Sampler:
    """Calls `read()` every `interval` s in a daemon thread until `stop()`, which returns the
    samples [(monotonic time, value)]; a read that raises is recorded as None."""

    def __init__(self, read: Callable[[], object], interval: float, close: Callable[[], None] = lambda: None):
        self._read = read
        self._interval = interval
        self._close = close
        self._stopping = threading.Event()
        self.samples: list[tuple[float, object]] = []
        self._thread = threading.Thread(target=self._loop, name="arcus-sampler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            taken = time.monotonic()
            try:
                value = self._read()
            except Exception:
                value = None
            self.samples.append((taken, value))
            self._stopping.wait(max(0.0, self._interval - (time.monotonic() - taken)))

    def stop(self, timeout: float = STOP_TIMEOUT) -> list[tuple[float, object]]:
        self._stopping.set()
        self._thread.join(timeout)
        _bounded(self._close, timeout)
        return list(self.samples)


def sample_cache_list(connect_string: str, service_code: str, interval: float = 0.2) -> Sampler:
    """ip:port of every node under /arcus/cache_list/<svc>, every `interval` s (its own session)."""
    from kazoo.client import KazooClient

    client = KazooClient(hosts=connect_string, timeout=10)
    client.start(timeout=15)
    path = f"/arcus/cache_list/{service_code}"

    def read() -> frozenset:
        return frozenset(name.split("-", 1)[0] for name in client.get_children(path))

    return Sampler(read, interval, lambda: (client.stop(), client.close()))


class CacheListWatch:
    """Every change of /arcus/cache_list/<svc> as ZooKeeper reports it (a children watch, its own
    session): [(monotonic time, frozenset of ip:port)], the first being the list when it started.
    Finer than any polling: a node that is gone for 100 ms is in it."""

    def __init__(self, connect_string: str, service_code: str) -> None:
        from kazoo.client import KazooClient
        from kazoo.recipe.watchers import ChildrenWatch

        self.changes: list[tuple[float, frozenset]] = []
        self._client = KazooClient(hosts=connect_string, timeout=10)
        self._client.start(timeout=15)
        self._stopped = False

        def changed(children) -> bool:
            self.changes.append((time.monotonic(), frozenset(name.split("-", 1)[0] for name in children)))
            return not self._stopped

        ChildrenWatch(self._client, f"/arcus/cache_list/{service_code}", changed)

    def stop(self, timeout: float = STOP_TIMEOUT) -> list[tuple[float, frozenset]]:
        self._stopped = True
        _bounded(lambda: (self._client.stop(), self._client.close()), timeout)
        return list(self.changes)


def watch_cache_list(connect_string: str, service_code: str) -> CacheListWatch:
    return CacheListWatch(connect_string, service_code)


def sample_modes(members, interval: float = 0.2, probe_timeout: float = 0.5) -> Sampler:
    """{member: mode} of every ensemble member (`srvr`), every `interval` s."""
    from arcus_tui.zk.fourletter import probe_ensemble

    def read() -> dict:
        modes = asyncio.run(probe_ensemble(members, timeout=probe_timeout))
        return {member.address: member.mode.value for member in modes}

    return Sampler(read, interval)


def windows(samples: list[tuple[float, object]], bad: Callable[[object], bool]) -> list[tuple[float, float]]:
    """(start, end) of every run of consecutive samples for which `bad(value)` holds; a run's
    length is from its first bad sample to the first good one after it (or its last sample)."""
    found, opened, last = [], None, None
    for taken, value in samples:
        if bad(value):
            opened = taken if opened is None else opened
            last = taken
        elif opened is not None:
            found.append((opened, taken))
            opened = None
    if opened is not None:
        found.append((opened, last))
    return found
