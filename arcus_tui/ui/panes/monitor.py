"""Tab 5, Monitor: the cloud as it is now, live. READ-ONLY.

After memray's live TUI, the DATA SOURCE IS PASSED IN: a monitor feed
(`arcus_tui.monitor.feed.MonitorFeed`) that polls while someone subscribes and
hands every subscriber a `MonitorSnapshot`. The app's default is the live engine
(`arcus_tui.monitor.live.LiveMonitor`: the app's own in `AppContext.monitor` when
it holds one, else built by `default_feed` from the AppContext): one read-only ZooKeeper session with watches on ``cache_list``, one
SSH connection per host reused by every process check, and polls of memcached
`stats` and `srvr` only. For tests and other sources, an async callable returning
a `CloudStatus` is accepted too (wrapped in a `CallableFeed` with `stats_source`).

It shows the ensemble members and their modes, every service (`memcached
listall`), the cluster's own nodes with registry, process and verdict ("running
but not joined" highlighted), uptime and the rates between two `stats` samples
(get/s, set/s, hit ratio, evictions/s), connections and memory against their
limits, and a sparkline of each node's get/s. ``o`` cycles the sort of the node
table, ``/`` filters it by text (host, node, verdict). Below, the capacity table sums memory
and connections per host and in total (`monitor.capacity`); ``c`` opens the memcached
admin-command prompt (`screens/admin_command.py`: reads only, or a write the operator confirms
in an app that is not read-only).

The pane subscribes while it is on screen and not paused, and draws only then:
a hidden Monitor costs nothing (another view of the same feed, the Grid, keeps it
polling). Each snapshot updates the tables' cells in place. ``+``/``-`` step the
interval through `INTERVAL_STEPS`, ``p`` pauses, ``r`` polls now.
"""

from __future__ import annotations

import datetime
from functools import partial
from typing import Optional, Sequence, Union

from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Input, Label, Static

from arcus_tui.monitor.feed import (DEFAULT_INTERVAL, DEFAULT_POLL_TIMEOUT, CallableFeed, MonitorFeed,
                                    StatsSource, StatusSource)
from arcus_tui.monitor.capacity import capacity_from_snapshot
from arcus_tui.monitor.live import default_stats, live_monitor
from arcus_tui.monitor.snapshot import MonitorSnapshot

from ..context import AppContext
from ..screens.admin_command import AdminCommandScreen
from ..widgets.capacity_table import CapacityTable
from ..widgets.monitor_tables import (NODE_SORTS, NOT_JOINED, NodesTable, ServicesTable, ensemble_content, node_matches,
                                      node_row, service_row)

INTERVAL_STEPS: tuple[float, ...] = (1, 2, 3, 5, 10, 15, 30, 60)
"""What ``+`` and ``-`` step through; the interval never leaves [first, last]."""

default_stats_source: StatsSource = default_stats


def shared_feed(context: AppContext) -> Optional[MonitorFeed]:
    """The app's own engine when the app holds one (`AppContext.monitor`), shared with the
    Grid and kept across pane rebuilds; the pane then neither makes nor closes one."""
    return context.monitor


def default_feed(context: AppContext) -> Optional[MonitorFeed]:
    """A live engine for the app's cluster, for a pane whose app holds none (None without a
    cluster file)."""
    if context.cluster is None:
        return None
    return live_monitor(context.cluster, context.ssh_paths)


def clamp_interval(value: float, steps: Sequence[float]) -> float:
    return float(min(max(value, steps[0]), steps[-1]))


def _seconds(value: float) -> str:
    return f"{value:g} s"


class MonitorPane(Vertical):
    """The Monitor tab: status line, ensemble, services, nodes, errors."""

    BINDINGS = [
        Binding("p", "toggle_pause", "Pause/resume", id="monitor.pause"),
        Binding("plus", "slower", "Interval +", key_display="+", id="monitor.slower"),
        Binding("equals_sign", "slower", "Interval +", show=False, id="monitor.slower-equals"),
        Binding("minus", "faster", "Interval -", key_display="-", id="monitor.faster"),
        Binding("r", "poll_now", "Poll now", id="monitor.poll-now"),
        Binding("o", "cycle_sort", "Sort nodes", id="monitor.sort"),
        Binding("slash", "filter", "Filter nodes", key_display="/", id="monitor.filter"),
        Binding("c", "admin_command", "mc command", id="monitor.admin-command"),
    ]

    interval: reactive[float] = reactive(DEFAULT_INTERVAL, init=False)
    """Seconds between polls (+ / -); the feed and the status line follow."""
    paused: reactive[bool] = reactive(False, init=False)
    sort_index: reactive[int] = reactive(0, init=False)
    """Index into NODE_SORTS (o)."""
    filter_text: reactive[str] = reactive("", init=False)

    def __init__(
        self,
        context: AppContext,
        source: Union[MonitorFeed, StatusSource, None] = None,
        *,
        stats_source: Optional[StatsSource] = default_stats_source,
        interval: float = DEFAULT_INTERVAL,
        steps: Sequence[float] = INTERVAL_STEPS,
        poll_timeout: float = DEFAULT_POLL_TIMEOUT,
        id: Optional[str] = "monitor-pane",
    ) -> None:
        super().__init__(id=id)
        self.context = context
        self.steps = tuple(sorted(steps))
        self.set_reactive(MonitorPane.interval, clamp_interval(interval, self.steps))
        shared = shared_feed(context) if source is None else None
        self.owns_feed = not isinstance(source, MonitorFeed) and shared is None  # else its giver closes it
        if isinstance(source, MonitorFeed):
            self.feed: Optional[MonitorFeed] = source
        elif source is not None:
            self.feed = CallableFeed(context.cluster, source, stats_source, poll_timeout=poll_timeout)
        else:
            self.feed = shared or default_feed(context)
        if self.feed is not None:
            self.feed.set_interval(self.interval)
            self.feed.poll_timeout = poll_timeout
        self.highlighted: frozenset[str] = frozenset()  # endpoints shown as "running but not joined"
        self.drawn: Optional[MonitorSnapshot] = None
        self._pending: Optional[MonitorSnapshot] = None
        self._visible = False
        self._subscribed = False

    # -- what tests and the status line read ------------------------------------------

    @property
    def source(self) -> Optional[MonitorFeed]:
        return self.feed

    @property
    def polls(self) -> int:
        return self.feed.polls if self.feed is not None else 0

    @property
    def polling(self) -> bool:
        return self.feed is not None and self.feed.polling

    @property
    def last_update(self) -> Optional[datetime.datetime]:
        polled = self.drawn.polled if self.drawn is not None else None
        return datetime.datetime.fromtimestamp(polled) if polled is not None else None

    @property
    def running(self) -> bool:
        """Subscribed to the feed: on screen, not paused, and something to watch."""
        return self._visible and not self.paused and self.feed is not None

    # -- layout ----------------------------------------------------------------------

    def compose(self):
        yield Static(id="mon-status")
        yield Static(ensemble_content(()), id="mon-ensemble")
        yield Label("Services  (memcached listall)", classes="mon-heading")
        yield ServicesTable(id="mon-services")
        yield Label(self._nodes_heading(), classes="mon-heading", id="mon-nodes-heading")
        yield Static(id="mon-note")
        filter_box = Input(placeholder="filter nodes by host, address or verdict (Enter keeps, Esc clears)",
                           id="mon-filter")
        filter_box.display = False
        yield filter_box
        yield NodesTable(id="mon-nodes")
        yield Label("Capacity  (memory and connections used / limit, per host and in total)", classes="mon-heading")
        yield CapacityTable(id="mon-capacity")
        yield Static(id="mon-errors")

    def _nodes_heading(self) -> str:
        cluster = self.context.cluster
        code = cluster.service_code if cluster is not None else "the cluster"
        parts = [f"Nodes of {code}  (registry, process over SSH, memcached stats)",
                 f"sorted by {NODE_SORTS[self.sort_index][0]} (o)"]
        if self.filter_text:
            parts.append(f"filter {self.filter_text!r} (/)")
        return "  ·  ".join(parts)

    def on_mount(self) -> None:
        if self.feed is None:
            self.add_class("-unavailable")
            self.query_one("#mon-errors", Static).update(Content.assemble(
                ("No cluster file: ", "bold"), "start arcus-tui with one to monitor its cloud."))
        self._draw_status_line()
        # the tables' cells hold their colours: a new theme draws the last snapshot again
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.drawn and self._draw(self.drawn))

    async def on_unmount(self) -> None:
        self._unsubscribe()
        if self.owns_feed and self.feed is not None:
            await self.feed.close()

    def on_show(self) -> None:
        self._visible = True
        self._apply_running()
        self.call_after_refresh(self._focus_primary)

    def on_hide(self) -> None:
        self._visible = False
        self._apply_running()

    def _focus_primary(self) -> None:
        if self.is_attached and self.region:
            self.query_one(ServicesTable).focus()

    # -- the feed --------------------------------------------------------------------

    def _apply_running(self) -> None:
        if self.running:
            self._subscribe()
        else:
            self._unsubscribe()
        self._draw_status_line()

    def _subscribe(self) -> None:
        if self._subscribed or self.feed is None:
            return
        self._subscribed = True
        self.feed.subscribe(self._on_snapshot)
        latest = self.feed.snapshot
        if latest.sequence and (self.drawn is None or latest.sequence > self.drawn.sequence):
            self._on_snapshot(latest)  # what came while hidden, at once

    def _unsubscribe(self) -> None:
        if self._subscribed and self.feed is not None:
            self.feed.unsubscribe(self._on_snapshot)
        self._subscribed = False

    def _on_snapshot(self, snapshot: MonitorSnapshot) -> None:
        """From the feed (on the loop): draw after the messages already queued, and only
        the newest of several snapshots that arrive before that."""
        first = self._pending is None
        self._pending = snapshot
        if first:
            self.call_later(self._draw_pending)

    def _draw_pending(self) -> None:
        snapshot, self._pending = self._pending, None
        if snapshot is not None and self.is_attached:
            self._draw(snapshot)

    def poll_now(self) -> bool:
        """Start one poll unless one is running; True when started."""
        return self.feed is not None and self.feed.poll_now()

    # -- drawing ---------------------------------------------------------------------

    def _draw(self, snapshot: MonitorSnapshot) -> None:
        self.drawn = snapshot
        palette = self.app.get_css_variables()
        self.query_one("#mon-ensemble", Static).update(ensemble_content(snapshot.zookeeper))
        self.query_one(ServicesTable).fill(
            [(f"{s.layout.value}/{s.service_code}", service_row(s, palette)) for s in snapshot.services])
        self._draw_nodes(snapshot, palette)
        self.query_one(CapacityTable).show(capacity_from_snapshot(snapshot), palette)
        self.highlighted = frozenset(n.endpoint for n in snapshot.nodes if n.state.verdict == NOT_JOINED)
        self._draw_note(snapshot)
        errors = snapshot.errors
        box = self.query_one("#mon-errors", Static)
        box.set_class(bool(errors), "-has-errors")
        box.update(Content("\n").join(Content.assemble(("error  ", "bold $error"), error) for error in errors))
        self._draw_status_line()

    def _draw_nodes(self, snapshot: MonitorSnapshot, palette: Optional[dict] = None) -> None:
        palette = palette if palette is not None else self.app.get_css_variables()
        nodes = [n for n in snapshot.nodes if not self.filter_text or node_matches(n, self.filter_text)]
        nodes.sort(key=NODE_SORTS[self.sort_index][1])
        self.query_one(NodesTable).fill([(n.endpoint, partial(node_row, n, palette)) for n in nodes])
        self.query_one("#mon-nodes-heading", Label).update(self._nodes_heading())

    def _draw_note(self, snapshot: MonitorSnapshot) -> None:
        unknown = sum(1 for n in snapshot.nodes if n.state.process.value == "unknown")
        self.query_one("#mon-note", Static).update(Content.styled(
            f"process unknown for {unknown} of {len(snapshot.nodes)} node(s): the SSH check (kill -0 on the "
            "pidfile) gave no answer for that host (no login yet, host key not trusted, or unreachable)",
            "italic $foreground-muted") if unknown else "")

    def _draw_status_line(self) -> None:
        parts: list = [("Monitor", "bold"), "  ·  every ", (_seconds(self.interval), "bold $accent")]
        if self.paused:
            parts += ["  ·  ", ("PAUSED", "bold reverse $warning"), (" (p resumes)", "$foreground-muted")]
        elif not self._visible:
            parts += [("  ·  idle while hidden", "$foreground-muted")]
        snapshot = self.drawn
        if snapshot is not None and snapshot.polled is not None:
            parts += ["  ·  updated ", (datetime.datetime.fromtimestamp(snapshot.polled).strftime("%H:%M:%S"),
                                       "bold")]
            if snapshot.took is not None:
                parts.append((f" (took {snapshot.took:.1f} s)", "$foreground-muted"))
        else:
            parts.append(("  ·  no data yet", "$foreground-muted"))
        parts.append(("  ·  read-only", "$foreground-muted"))
        self.query_one("#mon-status", Static).update(Content.assemble(*parts))

    # -- keys ------------------------------------------------------------------------

    # What the keys change draws itself: the watchers below redraw (Textual's reactive attributes).

    def watch_paused(self) -> None:
        self._apply_running()

    def watch_interval(self, value: float) -> None:
        if self.feed is not None:
            self.feed.set_interval(value)
        self._draw_status_line()

    def watch_sort_index(self) -> None:
        self._redraw_nodes()

    def watch_filter_text(self) -> None:
        self._redraw_nodes()

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused

    def set_interval_seconds(self, value: float) -> None:
        self.interval = clamp_interval(value, self.steps)

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
        if not self.poll_now() and self.feed is not None:
            self.notify("A poll is already running", timeout=2)

    def action_admin_command(self) -> None:
        """`c`: one admin command on every node of the file (reads, or a confirmed write)."""
        cluster = self.context.cluster
        if cluster is None or not any(True for _ in cluster.nodes()):
            self.notify("No memcached nodes to send a command to", timeout=3)
            return
        self.app.push_screen(AdminCommandScreen([node.endpoint for node in cluster.nodes()],
                                                read_only=self.context.read_only))

    def action_cycle_sort(self) -> None:
        self.sort_index = (self.sort_index + 1) % len(NODE_SORTS)

    def action_filter(self) -> None:
        box = self.query_one("#mon-filter", Input)
        box.display = True
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "mon-filter":
            self.filter_text = event.value.strip()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "mon-filter":
            self._close_filter(keep=True)

    def on_key(self, event) -> None:
        box = self.query_one("#mon-filter", Input)
        if event.key == "escape" and box.has_focus:
            event.stop()
            self._close_filter(keep=False)

    def _close_filter(self, *, keep: bool) -> None:
        box = self.query_one("#mon-filter", Input)
        if not keep:
            box.value = ""
            self.filter_text = ""
        box.display = bool(self.filter_text)
        self.query_one(NodesTable).focus()

    def _redraw_nodes(self) -> None:
        if self.drawn is not None:
            self._draw_nodes(self.drawn)
        else:
            self.query_one("#mon-nodes-heading", Label).update(self._nodes_heading())


def monitor_pane(context: AppContext):
    """PANES entry for tab 5."""
    yield MonitorPane(context)
