"""A monitor feed: polls while someone listens, and hands each `MonitorSnapshot` to
every subscriber (the Monitor tab, the Grid...). No Textual here.

`MonitorFeed` owns what every feed shares: the subscribers, the poll loop (one
poll at a time, every `interval` seconds, only while there is a subscriber), the
poll timeout, and the per-node rates and history computed from successive
`stats` samples. Subclasses say how one poll gathers its data (`_gather`):
`LiveMonitor` (monitor/live.py) through long-lived sessions, `CallableFeed`
below from plain async callables (tests, and any source that returns a
`CloudStatus`).

Subscribers are called on the event loop's thread, with the new snapshot; a
subscriber that raises is logged and kept.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Mapping, Optional, Sequence

from arcus_tui.model import Cluster

from .cloud_status import CloudStatus
from .memcached_stats import MemcachedStats, StatsReading
from .rates import HISTORY_LENGTH, History, NodeRates, rates_between
from .snapshot import MonitorSnapshot, NodeLive, hosts_of

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 3.0
DEFAULT_POLL_TIMEOUT = 30.0
"""A poll that takes longer is abandoned and reported; the next one starts afresh."""

Subscriber = Callable[[MonitorSnapshot], None]
StatusSource = Callable[[], Awaitable[CloudStatus]]
StatsSource = Callable[[Sequence[str]], Awaitable[Mapping[str, StatsReading]]]


@dataclass
class Gathered:
    """What one poll found. None for a part that failed: the previous one is kept."""

    status: Optional[CloudStatus] = None
    stats: Optional[Mapping[str, StatsReading]] = None
    max_connections: Mapping[str, int] = field(default_factory=dict)  # endpoint -> limit
    ssh_problems: Mapping[str, str] = field(default_factory=dict)  # host name -> why unknown
    errors: list[str] = field(default_factory=list)


def explain(error: BaseException, timeout: float) -> str:
    if isinstance(error, asyncio.TimeoutError):
        return f"no answer within {timeout:g} s"
    return str(error) or type(error).__name__


class MonitorFeed:
    """Subscriptions, the poll loop, rates and history. Subclasses implement `_gather`."""

    def __init__(self, cluster: Optional[Cluster], *, service_code: str = "", interval: float = DEFAULT_INTERVAL,
                 poll_timeout: float = DEFAULT_POLL_TIMEOUT, history_length: int = HISTORY_LENGTH,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.cluster = cluster
        self.service_code = cluster.service_code if cluster is not None else service_code
        self.interval = float(interval)
        self.poll_timeout = float(poll_timeout)
        self.history_length = history_length
        self.clock = clock  # when a `stats` sample was taken, for the rates (a fake in tests)
        self.snapshot = MonitorSnapshot(self.service_code)
        self.polls = 0  # polls started
        self.polling = False
        self._subscribers: list[Subscriber] = []
        self._task: Optional[asyncio.Task] = None
        self._wake: Optional[asyncio.Event] = None
        self._last_start: Optional[float] = None  # monotonic
        self._closed = False
        self._status: Optional[CloudStatus] = None
        self._stats: Mapping[str, StatsReading] = {}
        self._ssh_problems: Mapping[str, str] = {}
        self._errors: list[str] = []
        self._samples: dict[str, tuple[MemcachedStats, float]] = {}  # endpoint -> (last reply, monotonic)
        self._rates: dict[str, NodeRates] = {}
        self._histories: dict[str, History] = {}

    # -- subscriptions ----------------------------------------------------------------

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def subscribe(self, callback: Subscriber) -> None:
        """Call `callback(snapshot)` after each change; polling runs while anyone listens."""
        if callback not in self._subscribers:
            self._subscribers.append(callback)
        self._ensure_loop()

    def unsubscribe(self, callback: Subscriber) -> None:
        """Stop calling `callback`; the last one leaving stops polling (after the poll in flight)."""
        if callback in self._subscribers:
            self._subscribers.remove(callback)
        if not self._subscribers and self._wake is not None:
            self._wake.set()

    def publish(self, snapshot: MonitorSnapshot) -> None:
        self.snapshot = snapshot
        for callback in list(self._subscribers):
            try:
                callback(snapshot)
            except Exception:  # one view's bug must not stop the others, nor the polling
                log.exception("a monitor subscriber failed")

    # -- polling ----------------------------------------------------------------------

    def set_interval(self, seconds: float) -> None:
        self.interval = float(seconds)
        if self._wake is not None:
            self._wake.set()  # re-plan the next poll with the new interval

    def poll_now(self) -> bool:
        """Poll at once unless a poll is running; True when one starts."""
        if self.polling or self._closed:
            return False
        self._last_start = None
        if self._wake is not None:
            self._wake.set()
        if not self._ensure_loop():
            asyncio.ensure_future(self.poll_once())  # nobody subscribed: a single poll
        return True

    def _ensure_loop(self) -> bool:
        if self._closed or not self._subscribers:
            return False
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = asyncio.ensure_future(self._loop())
        return True

    def _due_in(self) -> float:
        if self._last_start is None:
            return 0.0
        return max(0.0, self._last_start + self.interval - time.monotonic())

    async def _loop(self) -> None:
        assert self._wake is not None
        while self._subscribers and not self._closed:
            delay = self._due_in()
            if delay > 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), delay)
                except asyncio.TimeoutError:
                    pass
                continue  # re-check: unsubscribed, closed, interval changed, or due now
            try:
                await self.poll_once()
            except Exception:  # a bug of ours: logged, and the next poll is tried (never a traceback on screen)
                log.exception("a monitor poll failed")

    async def poll_once(self) -> MonitorSnapshot:
        """One poll, now (not doubled: a poll already running is awaited instead)."""
        if self.polling:
            return self.snapshot
        self.polling = True
        self.polls += 1
        self._last_start = began = time.monotonic()
        try:
            try:
                gathered = await asyncio.wait_for(self._gather(), self.poll_timeout)
            except Exception as error:  # a source's failure is shown, never raised into a view
                gathered = Gathered(errors=[f"status poll failed: {explain(error, self.poll_timeout)}"
                                            + ("; showing the previous result" if self._status else "")])
            self._absorb(gathered, self.clock())
            snapshot = self._snapshot(polled=time.time(), took=time.monotonic() - began)
        finally:
            self.polling = False
        self.publish(snapshot)
        return snapshot

    async def _gather(self) -> Gathered:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- state ------------------------------------------------------------------------

    def _absorb(self, gathered: Gathered, now: float) -> None:
        if gathered.status is not None:
            self._status = gathered.status
        self._errors = list(gathered.errors) + (list(gathered.status.errors) if gathered.status else [])
        self._ssh_problems = gathered.ssh_problems
        if gathered.stats is None:
            return
        self._stats = gathered.stats
        for endpoint, reading in gathered.stats.items():
            self._sample(endpoint, reading, now, gathered.max_connections.get(endpoint))

    def _sample(self, endpoint: str, reading: StatsReading, now: float, max_connections: Optional[int]) -> None:
        history = self._histories.get(endpoint)
        if history is None:
            history = self._histories[endpoint] = History(self.history_length)
        if not isinstance(reading, MemcachedStats):
            self._rates.pop(endpoint, None)
            self._samples.pop(endpoint, None)
            history.add(None)
            return
        previous = self._samples.get(endpoint)
        rates = rates_between(previous[0] if previous else None, reading,
                              now - previous[1] if previous else 0.0, max_connections)
        self._samples[endpoint] = (reading, now)
        self._rates[endpoint] = rates
        history.add(rates.get_per_s)

    def _snapshot(self, *, polled: Optional[float] = None, took: Optional[float] = None) -> MonitorSnapshot:
        status = self._status
        previous = self.snapshot
        nodes = tuple(
            NodeLive(state.host, state.endpoint, state, self._stats.get(state.endpoint),
                     self._rates.get(state.endpoint),
                     self._histories[state.endpoint].values() if state.endpoint in self._histories else ())
            for state in (status.nodes if status else ()))
        zookeeper = status.zookeeper if status else ()
        return MonitorSnapshot(
            self.service_code, sequence=previous.sequence + 1,
            polled=polled if polled is not None else previous.polled,
            took=took if took is not None else previous.took,
            zookeeper=zookeeper, services=status.services if status else (), nodes=nodes,
            hosts=hosts_of(self.cluster, nodes, zookeeper, self._ssh_problems),
            errors=tuple(self._errors), registry_connected=self._registry_connected())

    def _registry_connected(self) -> bool:
        return self._status is not None and bool(self._status.services)

    async def close(self) -> None:
        """Stop polling and drop the subscribers (subclasses also close their sessions)."""
        self._closed = True
        self._subscribers.clear()
        if self._wake is not None:
            self._wake.set()
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


class CallableFeed(MonitorFeed):
    """A feed over two async callables: one returning a `CloudStatus`, one the `stats` of
    a list of endpoints (optional). Each poll calls both at once; a failure of one
    keeps that part's previous result and says so."""

    def __init__(self, cluster: Optional[Cluster], status_source: StatusSource,
                 stats_source: Optional[StatsSource] = None, **options) -> None:
        super().__init__(cluster, **options)
        self.status_source = status_source
        self.stats_source = stats_source

    def _endpoints(self) -> list[str]:
        if self.cluster is not None:
            return [node.endpoint for node in self.cluster.nodes()]
        return [node.endpoint for node in self._status.nodes] if self._status is not None else []

    async def _gather(self) -> Gathered:
        endpoints = self._endpoints()
        status_call = asyncio.wait_for(_call(self.status_source), self.poll_timeout)
        stats_call = (asyncio.wait_for(_call(self.stats_source, endpoints), self.poll_timeout)
                      if self.stats_source is not None and endpoints else _no_stats())
        status, stats = await asyncio.gather(status_call, stats_call, return_exceptions=True)
        gathered = Gathered()
        if isinstance(status, BaseException):
            gathered.errors.append(f"status poll failed: {explain(status, self.poll_timeout)}"
                                   + ("; showing the previous result" if self._status is not None else ""))
        else:
            gathered.status = status
        if isinstance(stats, BaseException):
            gathered.errors.append(f"memcached stats failed: {explain(stats, self.poll_timeout)}")
        else:
            gathered.stats = stats
        if self.cluster is not None and gathered.stats is not None:
            gathered.max_connections = cluster_max_connections(self.cluster)
        return gathered


def cluster_max_connections(cluster: Cluster) -> dict[str, int]:
    """endpoint -> the connection limit the cluster file gives the node (memcached -c)."""
    return {node.endpoint: node.settings.connections for node in cluster.nodes()}


async def _no_stats() -> Mapping[str, StatsReading]:
    return {}


async def _call(source, *args):
    """Await a source inside a coroutine, so that even a source that raises before
    returning its awaitable is reported like any other failed poll."""
    return await source(*args)
