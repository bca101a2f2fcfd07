"""Starting a memcached node is proven by the registry: its own entry under cache_list.

arcus-memcached daemonizes before it connects to ZooKeeper, so the start command's
exit status says nothing about the join. When the entry of the node's previous
session is still there (a crash, or the ensemble stopped before the node), the new
daemon's create fails with ZNODEEXISTS and it quietly exits. So a start first waits
out such an entry (bounded by the session timeout), then starts the daemon, then
waits until the entry of the new session appears.

Every node of a fleet waits at once: they share one `CacheListView`, which reads
`cache_list/<svc>` at most once per interval whatever the number of waiters.
"""

from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable, Optional

from arcus_tui.ssh.session import HostWork
from arcus_tui.zk import paths

from . import actions

POLL_SECONDS = 0.05  # one shared read per interval, whatever the number of waiting nodes

LiveReader = Callable[[str], Awaitable[dict[str, str]]]
"""service code -> {ip:port: entry name} of the nodes under cache_list/<svc> right now."""


class CacheListView:
    """A shared, rate-limited view of cache_list/<svc>: one registry read per interval."""

    def __init__(self, read: LiveReader, interval: float = POLL_SECONDS):
        self._read = read
        self._interval = interval
        self._snapshots: dict[str, tuple[float, dict[str, str]]] = {}
        self._lock = asyncio.Lock()

    async def entries(self, service_code: str) -> dict[str, str]:
        async with self._lock:
            taken, entries = self._snapshots.get(service_code, (float("-inf"), {}))
            if time.monotonic() - taken >= self._interval:
                entries = await self._read(service_code)
                self._snapshots[service_code] = (time.monotonic(), entries)
            return entries

    async def wait(self, service_code: str, endpoint: str, *, present: bool, timeout: float) -> Optional[str]:
        """Wait until `endpoint` has an entry (present) or has none; its entry name, or
        None. Raises TimeoutError when that does not happen within `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            entry = (await self.entries(service_code)).get(endpoint)
            if (entry is not None) == present:
                return entry
            if time.monotonic() >= deadline:
                raise TimeoutError
            await asyncio.sleep(self._interval)


async def start_node(work: HostWork, action: actions.StartNode, view: CacheListView) -> tuple[bool, Optional[str]]:
    """Start one node unless it runs; (changed anything, error message)."""
    status, _, _ = await work.capture(action.unless)
    if status == 0:
        work.line(f"already done: {action.already}")
        return False, None
    previous = (await view.entries(action.service_code)).get(action.endpoint)
    if previous is not None:
        error = await _outwait_previous_session(work, action, view, previous)
        if error:
            return False, error
    status, signal = await work.exec(action.command)
    if signal is not None or status != 0:
        how = f"killed by signal {signal}" if signal is not None else f"exit status {status}"
        return True, f"memcached :{action.port} did not start ({how}); its output is in {action.log}"
    return True, await _await_join(work, action, view)


async def _outwait_previous_session(work: HostWork, action: actions.StartNode, view: CacheListView,
                                    entry: str) -> Optional[str]:
    limit = action.expiry_wait
    work.line(f"previous session still registered ({entry}), waiting up to {limit:g}s for it to expire")
    started = time.monotonic()
    try:
        await view.wait(action.service_code, action.endpoint, present=False, timeout=limit)
    except TimeoutError:
        return (f"{paths.service_cache_list(action.service_code)}/{entry} is still held after {limit:g}s: "
                f"another memcached seems to serve {action.endpoint} (not started by this install_dir)")
    work.line(f"the previous session expired after {time.monotonic() - started:.1f}s")
    return None


async def _await_join(work: HostWork, action: actions.StartNode, view: CacheListView) -> Optional[str]:
    started = time.monotonic()
    try:
        entry = await view.wait(action.service_code, action.endpoint, present=True, timeout=action.join_timeout)
    except TimeoutError:
        status, _, _ = await work.capture(action.unless)
        state = "is running but" if status == 0 else "is not running and"
        return (f"memcached :{action.port} {state} did not join {paths.service_cache_list(action.service_code)} "
                f"within {action.join_timeout:g}s: check its mapping (register), that this host reaches the "
                f"ensemble, and its log ({action.log}) and syslog")
    work.line(f"joined as {entry} after {time.monotonic() - started:.1f}s")
    return None
