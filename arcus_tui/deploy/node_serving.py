"""A rolling restart's check after each batch: its nodes are back in cache_list/<svc> AND
answer `stats` (registered is not serving: a node can hold its entry while it hangs).

The step fails with what an operator needs to go on: which node, whether it is missing from
cache_list or silent on its port, and where its log is. The rolling plan makes the next
batch depend on this check, so nothing else goes down after a node that did not come back.
"""

from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable

from arcus_tui.events import EventSink, HostState, ProgressEvent, Stream
from arcus_tui.monitor.memcached_stats import StatsError, fetch_stats
from arcus_tui.zk import paths

from . import actions
from .plan import ENSEMBLE, Step
from .report import DeployReport

POLL_SECONDS = 0.2
STATS_TIMEOUT = 2.0

LiveReader = Callable[[str], Awaitable[dict[str, str]]]
"""service code -> {ip:port: entry name} under cache_list/<svc> right now."""


class NotServing(TimeoutError):
    """A node of the batch did not serve again (the message names it and why)."""


async def wait_until_serving(live_entries: LiveReader, sink: EventSink, step: Step, action: actions.NodesServe,
                             report: DeployReport) -> tuple[HostState, str]:
    """Poll until every endpoint of `action` is in cache_list and answers `stats`; raises
    `NotServing` naming each node that is not, at the deadline or at once for a node whose
    restart already failed."""
    logs = dict(zip(action.endpoints, action.logs))
    not_restarted = _not_restarted(step, action, report)
    if not_restarted:
        raise NotServing("; ".join(f"{endpoint} was not restarted ({why})" for endpoint, why in not_restarted.items()))
    started = time.monotonic()
    deadline = started + action.timeout
    polls_left = int(action.timeout / POLL_SECONDS) + 2  # a count bound besides the clock
    serving: set[str] = set()
    why: dict[str, str] = {}
    while polls_left > 0:
        polls_left -= 1
        entries = await live_entries(action.service_code)
        for endpoint in action.endpoints:
            if endpoint not in serving:
                reason = await _not_serving(endpoint, entries, action.service_code)
                if reason is None:
                    serving.add(endpoint)
                    sink(ProgressEvent(ENSEMBLE, step.id.value, Stream.INFO,
                                       f"{endpoint} is in cache_list and answers stats "
                                       f"after {time.monotonic() - started:.1f}s"))
                else:
                    why[endpoint] = reason
        if len(serving) == len(action.endpoints) or time.monotonic() >= deadline:
            break
        await asyncio.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
    missing = [endpoint for endpoint in action.endpoints if endpoint not in serving]
    if not missing:
        return HostState.OK, f"{', '.join(action.endpoints)} serve{'s' if len(serving) == 1 else ''} again"
    raise NotServing("; ".join(
        f"{endpoint} does not serve after {action.timeout:g}s: {why.get(endpoint, 'not checked')}"
        + (f"; its log: {logs[endpoint]}" if logs.get(endpoint) else "") for endpoint in missing))


async def _not_serving(endpoint: str, entries: dict[str, str], service_code: str):
    """Why `endpoint` does not serve now, or None when it does."""
    if endpoint not in entries:
        return f"not in {paths.service_cache_list(service_code)}"
    try:
        await fetch_stats(endpoint, timeout=STATS_TIMEOUT)
    except (OSError, asyncio.TimeoutError, StatsError, ValueError) as error:
        said = str(error) or type(error).__name__
        return f"in cache_list but no answer to `stats` ({said})"
    return None


def _not_restarted(step: Step, action: actions.NodesServe, report: DeployReport) -> dict[str, str]:
    """Endpoints whose host failed the restart step this check depends on: {endpoint: its message}."""
    failed: dict[str, str] = {}
    for dependency in (s for s in report.plan.steps if s.id in step.depends_on and s.per_host):
        for host_name in dependency.targets:
            if report.succeeded(dependency.id, host_name):
                continue
            outcome = report.get(dependency.id, host_name)
            address = report.plan.cluster.host(host_name).address
            restarted = {f"{address}:{a.port}" for a in dependency.actions[host_name] if getattr(a, "port", None)}
            for endpoint in restarted & set(action.endpoints):
                failed[endpoint] = (outcome.message if outcome else "") or f"its restart on {host_name} failed"
    return failed
