"""Tab 5, Monitor: the cloud as it is now, polled. READ-ONLY.

A polling monitor after memray's live TUI: its DATA SOURCE IS PASSED IN, an async
callable returning a `CloudStatus`; the app's default is
``collect_status(cluster, ssh_paths=...)`` (ZooKeeper read through a read-only
session, `srvr` on each member, ``kill -0`` over SSH). A second source gives the
memcached `stats` of each node (default `memcached_stats.fetch_many`). Neither
can change anything: the pane only reads and draws.

It shows the ensemble members and their modes, every service (`memcached
listall`), the cluster's own nodes with registry, process and verdict ("running
but not joined" highlighted) plus uptime, connections, get hit ratio, memory and
evictions, the time of the last update and any errors.

Polling runs while the tab is on screen (an unused tab sends nothing), every
``interval`` seconds (default 3; ``+``/``-`` step through `INTERVAL_STEPS`, ``p``
pauses, ``r`` polls now). A poll that is still running when the next one is due
is not doubled: the next one waits for the following tick.
"""

from __future__ import annotations

import asyncio
import datetime
import time
from typing import Awaitable, Callable, Mapping, Optional, Sequence

from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Label, Static

from arcus_tui.monitor.cloud_status import CloudStatus, Process, collect_status
from arcus_tui.monitor.memcached_stats import StatsReading, fetch_many

from ..context import AppContext
from ..widgets.monitor_tables import NOT_JOINED, NodesTable, ServicesTable, ensemble_content, node_row, service_row

StatusSource = Callable[[], Awaitable[CloudStatus]]
StatsSource = Callable[[Sequence[str]], Awaitable[Mapping[str, StatsReading]]]

DEFAULT_INTERVAL = 3.0
INTERVAL_STEPS: tuple[float, ...] = (1, 2, 3, 5, 10, 15, 30, 60)
"""What ``+`` and ``-`` step through; the interval never leaves [first, last]."""
DEFAULT_POLL_TIMEOUT = 30.0
"""A poll that takes longer is abandoned and reported (collect_status bounds each
part by its own 5 s timeout; this catches anything that would still hang)."""
STATS_TIMEOUT = 2.0


def default_source(context: AppContext) -> Optional[StatusSource]:
    cluster = context.cluster
    if cluster is None:
        return None
    return lambda: collect_status(cluster, ssh_paths=context.ssh_paths)


async def default_stats_source(endpoints: Sequence[str]) -> Mapping[str, StatsReading]:
    return await fetch_many(endpoints, timeout=STATS_TIMEOUT)


def clamp_interval(value: float, steps: Sequence[float]) -> float:
    return float(min(max(value, steps[0]), steps[-1]))


def _seconds(value: float) -> str:
    return f"{value:g} s"


class MonitorPane(Vertical):
    """The Monitor tab: status line, ensemble, services, nodes, errors."""

    BINDINGS = [
        Binding("p", "toggle_pause", "Pause/resume"),
        Binding("plus", "slower", "Interval +", key_display="+"),
        Binding("equals_sign", "slower", "Interval +", show=False),
        Binding("minus", "faster", "Interval -", key_display="-"),
        Binding("r", "poll_now", "Poll now"),
    ]

    def __init__(
        self,
        context: AppContext,
        source: Optional[StatusSource] = None,
        *,
        stats_source: Optional[StatsSource] = default_stats_source,
        interval: float = DEFAULT_INTERVAL,
        steps: Sequence[float] = INTERVAL_STEPS,
        poll_timeout: float = DEFAULT_POLL_TIMEOUT,
        id: Optional[str] = "monitor-pane",
    ) -> None:
        super().__init__(id=id)
        self.context = context
        self.source = source if source is not None else default_source(context)
        self.stats_source = stats_source
        self.steps = tuple(sorted(steps))
        self.interval = clamp_interval(interval, self.steps)
        self.poll_timeout = poll_timeout
        self.paused = False
        self.status: Optional[CloudStatus] = None
        self.stats: Mapping[str, StatsReading] = {}
        self.poll_errors: list[str] = []
        self.polls = 0  # polls started
        self.last_update: Optional[datetime.datetime] = None
        self.took: Optional[float] = None
        self.highlighted: frozenset[str] = frozenset()  # endpoints shown as "running but not joined"
        self._polling = False
        self._visible = False
        self._timer: Optional[Timer] = None

    # -- layout ----------------------------------------------------------------------

    def compose(self):
        yield Static(id="mon-status")
        yield Static(ensemble_content(()), id="mon-ensemble")
        yield Label("Services  (memcached listall)", classes="mon-heading")
        yield ServicesTable(id="mon-services")
        yield Label(self._nodes_heading(), classes="mon-heading", id="mon-nodes-heading")
        yield Static(id="mon-note")
        yield NodesTable(id="mon-nodes")
        yield Static(id="mon-errors")

    def _nodes_heading(self) -> str:
        cluster = self.context.cluster
        code = cluster.service_code if cluster is not None else "the cluster"
        return f"Nodes of {code}  (registry, process over SSH, memcached stats)"

    def on_mount(self) -> None:
        self._timer = self.set_interval(self.interval, self._tick, pause=True)
        if self.source is None:
            self.add_class("-unavailable")
            self.query_one("#mon-errors", Static).update(Content.assemble(
                ("No cluster file: ", "bold"), "start arcus-tui with one to monitor its cloud."))
        self._draw_status_line()

    def on_show(self) -> None:
        self._visible = True
        if self._age() >= self.interval and not self.paused:
            self.poll_now()
        self._apply_running()
        self.call_after_refresh(self._focus_primary)

    def on_hide(self) -> None:
        self._visible = False
        self._apply_running()

    def _age(self) -> float:
        return (datetime.datetime.now() - self.last_update).total_seconds() if self.last_update else float("inf")

    def _focus_primary(self) -> None:
        if self.is_attached and self.region:
            self.query_one(ServicesTable).focus()

    # -- polling ---------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """The timer polls: on screen, not paused, and something to poll."""
        return self._visible and not self.paused and self.source is not None

    def _apply_running(self) -> None:
        if self._timer is None:
            return
        if self.running:
            self._timer.resume()
        else:
            self._timer.pause()
        self._draw_status_line()

    def _restart_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_interval(self.interval, self._tick, pause=not self.running)

    def _tick(self) -> None:
        if self.running:
            self.poll_now()

    def poll_now(self) -> bool:
        """Start one poll unless one is running; True when started."""
        if self.source is None or self._polling:
            return False
        self._polling = True
        self.polls += 1
        self._draw_status_line()
        self.run_worker(self._poll, group="monitor-poll", exit_on_error=False)
        return True

    async def _poll(self) -> None:
        began = time.monotonic()
        try:
            endpoints = self._endpoints()
            status_call = asyncio.wait_for(_call(self.source), self.poll_timeout)
            stats_call = (asyncio.wait_for(_call(self.stats_source, endpoints), self.poll_timeout)
                          if self.stats_source is not None and endpoints else _no_stats())
            status, stats = await asyncio.gather(status_call, stats_call, return_exceptions=True)
            errors: list[str] = []
            if isinstance(status, BaseException):
                errors.append(f"status poll failed: {_explain(status, self.poll_timeout)}"
                              + ("; showing the previous result" if self.status is not None else ""))
            else:
                self.status = status
            if isinstance(stats, BaseException):
                errors.append(f"memcached stats failed: {_explain(stats, self.poll_timeout)}")
            else:
                self.stats = stats
            self.poll_errors = errors
            self.last_update = datetime.datetime.now()
            self.took = time.monotonic() - began
            self._draw()
        finally:
            self._polling = False
            self._draw_status_line()

    def _endpoints(self) -> list[str]:
        cluster = self.context.cluster
        if cluster is not None:
            return [node.endpoint for node in cluster.nodes()]
        return [node.endpoint for node in self.status.nodes] if self.status is not None else []

    # -- drawing ---------------------------------------------------------------------

    def _palette(self) -> dict[str, str]:
        return self.app.get_css_variables()

    def _draw(self) -> None:
        palette = self._palette()
        status = self.status
        if status is not None:
            self.query_one("#mon-ensemble", Static).update(ensemble_content(status.zookeeper))
            self.query_one(ServicesTable).fill(
                [(f"{s.layout.value}/{s.service_code}", service_row(s, palette)) for s in status.services])
            self.query_one(NodesTable).fill(
                [(n.endpoint, node_row(n, self.stats.get(n.endpoint), palette)) for n in status.nodes])
            self.highlighted = frozenset(n.endpoint for n in status.nodes if n.verdict == NOT_JOINED)
            self.query_one("#mon-nodes-heading", Label).update(
                f"Nodes of {status.service_code}  (registry, process over SSH, memcached stats)")
            unknown = sum(1 for n in status.nodes if n.process is Process.UNKNOWN)
            self.query_one("#mon-note", Static).update(Content.styled(
                f"process unknown for {unknown} of {len(status.nodes)} node(s): the SSH check (kill -0 on the "
                "pidfile) gave no answer for that host (no login yet, host key not trusted, or unreachable)",
                "italic $foreground-muted") if unknown else "")
        errors = [*self.poll_errors, *(status.errors if status is not None else [])]
        box = self.query_one("#mon-errors", Static)
        box.set_class(bool(errors), "-has-errors")
        box.update(Content("\n").join(Content.assemble(("error  ", "bold $error"), error) for error in errors))

    def _draw_status_line(self) -> None:
        parts: list = [("Monitor", "bold"), "  ·  every ", (_seconds(self.interval), "bold $accent")]
        if self.paused:
            parts += ["  ·  ", ("PAUSED", "bold reverse $warning"), (" (p resumes)", "$foreground-muted")]
        elif not self._visible:
            parts += [("  ·  idle while hidden", "$foreground-muted")]
        if self.last_update is not None:
            parts += ["  ·  updated ", (self.last_update.strftime("%H:%M:%S"), "bold")]
            if self.took is not None:
                parts.append((f" (took {self.took:.1f} s)", "$foreground-muted"))
        else:
            parts.append(("  ·  no data yet", "$foreground-muted"))
        if self._polling:
            parts.append(("  ·  polling...", "italic $foreground-muted"))
        parts.append(("  ·  read-only", "$foreground-muted"))
        self.query_one("#mon-status", Static).update(Content.assemble(*parts))

    # -- keys ------------------------------------------------------------------------

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        self._apply_running()
        if not self.paused and self._age() >= self.interval:
            self.poll_now()

    def set_interval_seconds(self, value: float) -> None:
        value = clamp_interval(value, self.steps)
        if value != self.interval:
            self.interval = value
            self._restart_timer()
        self._draw_status_line()

    def action_slower(self) -> None:
        longer = [step for step in self.steps if step > self.interval]
        if longer:
            self.set_interval_seconds(longer[0])
        else:
            self.notify(f"{_seconds(self.interval)} is the longest interval", timeout=2)

    def action_faster(self) -> None:
        shorter = [step for step in self.steps if step < self.interval]
        if shorter:
            self.set_interval_seconds(shorter[-1])
        else:
            self.notify(f"{_seconds(self.interval)} is the shortest interval", timeout=2)

    def action_poll_now(self) -> None:
        if not self.poll_now() and self.source is not None:
            self.notify("A poll is already running", timeout=2)


async def _no_stats() -> Mapping[str, StatsReading]:
    return {}


async def _call(source, *args):
    """Await a source inside a coroutine, so that even a source that raises before
    returning its awaitable is reported like any other failed poll."""
    return await source(*args)


def _explain(error: BaseException, timeout: float) -> str:
    if isinstance(error, asyncio.TimeoutError):
        return f"no answer within {timeout:g} s"
    return str(error) or type(error).__name__


def monitor_pane(context: AppContext):
    """PANES entry for tab 5."""
    yield MonitorPane(context)
