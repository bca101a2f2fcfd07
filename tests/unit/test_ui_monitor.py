"""The Monitor tab with a FAKE data source: what it draws, how it polls.

The pane takes its data source as an argument (as memray's live view does), so these
tests hand it scripted `CloudStatus` values that change from one poll to the next
(wrapped in a `CallableFeed`, the same poll loop as the live engine's).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.app import App
from textual.widgets import TabbedContent

import arcus_tui.ui.app
from arcus_tui.model import Cluster, Host, MemcachedNode
from arcus_tui.monitor.cloud_status import CloudStatus, NodeState, Process, Registry, node_states
from arcus_tui.monitor.feed import CallableFeed
from arcus_tui.monitor.live import LiveMonitor
from arcus_tui.monitor.memcached_stats import MemcachedStats, StatsUnavailable
from arcus_tui.ssh.paths import SshPaths
from arcus_tui.ui.app import ArcusApp
from arcus_tui.ui.context import AppContext
from arcus_tui.ui.panes import PANES, monitor as monitor_module
from arcus_tui.ui.panes.monitor import INTERVAL_STEPS, MonitorPane
from arcus_tui.ui.widgets.monitor_tables import NodesTable, ServicesTable
from arcus_tui.zk.fourletter import MemberMode, Mode
from arcus_tui.zk.status import compute_status
from tests.unit.ui_waits import colour_of, until

SERVICE = "test-svc"
N1, N2 = "127.0.1.1:11211", "127.0.1.2:11211"
FAST = (0.05, 0.1, 0.2)  # interval steps for tests that wait for the timer

CLUSTER = Cluster(
    service_code=SERVICE,
    hosts=(Host("cache001", "127.0.1.1", zookeeper=True, memcached=(MemcachedNode(11211),)),
           Host("cache002", "127.0.1.2", zookeeper=True, memcached=(MemcachedNode(11211),))),
)

ENSEMBLE = (MemberMode("127.0.1.1:2181", Mode.LEADER), MemberMode("127.0.1.2:2181", Mode.FOLLOWER))


def status(service_live: list[str], nodes: list[tuple[str, str, Registry, Process]], *,
           ensemble=ENSEMBLE, errors=()) -> CloudStatus:
    service = compute_status(SERVICE, {N1, N2}, [f"{address}-host" for address in service_live])
    other = compute_status("other-svc", set(), [])
    return CloudStatus(SERVICE, zookeeper=tuple(ensemble), services=(other, service),
                       nodes=tuple(NodeState(h, e, r, p) for h, e, r, p in nodes), errors=list(errors))


ALL_OK = status([N1, N2], [("cache001", N1, Registry.ONLINE, Process.RUNNING),
                           ("cache002", N2, Registry.ONLINE, Process.RUNNING)])
NOT_JOINED = status([N1], [("cache001", N1, Registry.ONLINE, Process.RUNNING),
                           ("cache002", N2, Registry.OFFLINE, Process.RUNNING)])
ALL_DOWN = status([], [("cache001", N1, Registry.OFFLINE, Process.STOPPED),
                       ("cache002", N2, Registry.OFFLINE, Process.STOPPED)],
                  ensemble=(MemberMode("127.0.1.1:2181", Mode.UNREACHABLE, error="connection refused"),
                            MemberMode("127.0.1.2:2181", Mode.NOT_SERVING)),
                  errors=["process check over SSH: cache002 did not answer"])


class FakeSource:
    """Returns the scripted statuses one per call (the last one again after that);
    an exception in the script is raised instead."""

    def __init__(self, *script, delay: float = 0.0) -> None:
        self.script = list(script)
        self.calls = 0
        self.delay = delay
        self.running = 0
        self.most_at_once = 0

    async def __call__(self) -> CloudStatus:
        self.calls += 1
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            item = self.script[min(self.calls, len(self.script)) - 1]
            if isinstance(item, BaseException):
                raise item
            return item
        finally:
            self.running -= 1


class FakeStats:
    def __init__(self, readings=None) -> None:
        self.readings = readings or {}
        self.asked: list[list[str]] = []

    async def __call__(self, endpoints):
        self.asked.append(list(endpoints))
        return {e: self.readings.get(e, StatsUnavailable(e, "connection refused")) for e in endpoints}


class MonitorApp(App[None]):
    CSS_PATH = str(Path(arcus_tui.ui.app.__file__).with_name("app.tcss"))

    def __init__(self, source, **options) -> None:
        super().__init__()
        options.setdefault("stats_source", FakeStats())
        self.pane = MonitorPane(AppContext(CLUSTER), source, **options)

    def compose(self):
        yield self.pane


def cells(table, key: str) -> list[str]:
    return [cell.plain for cell in table.get_row(key)]


def palette(app) -> dict[str, str]:
    return app.get_css_variables()


# --- what is drawn ----------------------------------------------------------------------------


async def test_first_poll_fills_ensemble_services_and_nodes():
    source = FakeSource(NOT_JOINED)
    app = MonitorApp(source)
    async with app.run_test(size=(160, 40)) as pilot:
        pane = app.pane
        await until(pilot, lambda: pane.last_update is not None, "first poll")
        assert source.calls == 1
        ensemble = pane.query_one("#mon-ensemble").render().plain
        assert "127.0.1.1:2181 leader" in ensemble and "127.0.1.2:2181 follower" in ensemble

        services = pane.query_one(ServicesTable)
        assert services.row_keys() == ["arcus/other-svc", f"arcus/{SERVICE}"]
        assert cells(services, f"arcus/{SERVICE}") == [SERVICE, "arcus", "SOME_DOWN", "1/2", N2, "-"]
        assert cells(services, "arcus/other-svc") == ["other-svc", "arcus", "DOWN", "0/0", "-", "-"]
        colours = palette(app)
        assert colours["warning"] in str(services.get_cell(f"arcus/{SERVICE}", "status").style)
        assert colours["error"] in str(services.get_cell("arcus/other-svc", "status").style)

        nodes = pane.query_one(NodesTable)
        assert nodes.row_keys() == [N1, N2]
        assert cells(nodes, N1)[:5] == ["cache001", N1, "online", "running", "ok"]
        assert cells(nodes, N2)[:5] == ["cache002", N2, "offline", "running", "⚠ running but not joined"]
        # "running but not joined" is highlighted: reversed, warning colour; nothing else is.
        assert pane.highlighted == {N2}
        verdict = nodes.get_cell(N2, "verdict")
        assert "reverse" in str(verdict.style) and colours["warning"] in str(verdict.style)
        assert "reverse" not in str(nodes.get_cell(N1, "verdict").style)
        assert colours["success"] in str(nodes.get_cell(N1, "verdict").style)

        line = pane.query_one("#mon-status").render().plain
        assert "every 3 s" in line and "updated " in line and "read-only" in line
        assert not pane.query_one("#mon-errors").display


async def test_statuses_change_between_polls():
    source = FakeSource(NOT_JOINED, ALL_OK, ALL_DOWN)
    app = MonitorApp(source, interval=0.05, steps=FAST)
    async with app.run_test(size=(160, 40)) as pilot:
        pane = app.pane
        nodes = pane.query_one(NodesTable)
        services = pane.query_one(ServicesTable)
        await until(pilot, lambda: source.calls >= 2 and not pane.polling, "second poll")
        assert cells(services, f"arcus/{SERVICE}")[2:5] == ["OK", "2/2", "-"]
        assert cells(nodes, N2)[2:5] == ["online", "running", "ok"]
        assert pane.highlighted == frozenset()  # the node joined: no longer highlighted
        await until(pilot, lambda: source.calls >= 3 and not pane.polling, "third poll")
        assert cells(services, f"arcus/{SERVICE}")[2:5] == ["DOWN", "0/2", f"{N1}, {N2}"]
        assert palette(app)["error"] in str(services.get_cell(f"arcus/{SERVICE}", "status").style)
        assert cells(nodes, N1)[2:5] == ["offline", "stopped", "stopped"]
        ensemble = pane.query_one("#mon-ensemble").render().plain
        assert "127.0.1.1:2181 unreachable (connection refused)" in ensemble and "not-serving" in ensemble
        errors = pane.query_one("#mon-errors")
        assert errors.display
        assert "process check over SSH: cache002 did not answer" in errors.render().plain
        assert nodes.row_keys() == [N1, N2]  # rows updated in place, not duplicated


class Clock:
    """A fake monotonic clock for the rates: each reading is `step` seconds after the last."""

    def __init__(self, step: float = 3.0) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def sample(address, *, gets, sets, hits, misses, evictions, uptime=3700, conns=5, used_mb=10):
    return MemcachedStats(address, {
        "uptime": str(uptime), "curr_connections": str(conns), "cmd_get": str(gets), "cmd_set": str(sets),
        "get_hits": str(hits), "get_misses": str(misses), "evictions": str(evictions),
        "bytes": str(used_mb * 1024 * 1024), "limit_maxbytes": str(100 * 1024 * 1024)})


class ScriptedStats:
    """One dict of readings per poll (the last again after that)."""

    def __init__(self, *polls) -> None:
        self.polls = list(polls)
        self.asked: list[list[str]] = []

    async def __call__(self, endpoints):
        self.asked.append(list(endpoints))
        readings = self.polls[min(len(self.asked), len(self.polls)) - 1]
        return {e: readings.get(e, StatsUnavailable(e, "connection refused")) for e in endpoints}


async def test_memcached_rates_between_two_polls_and_a_sparkline():
    stats = ScriptedStats(
        {N1: sample(N1, gets=1000, sets=100, hits=900, misses=100, evictions=3)},
        {N1: sample(N1, gets=1300, sets=160, hits=1170, misses=130, evictions=9, conns=950, used_mb=80)},
        {N1: sample(N1, gets=1450, sets=160, hits=1320, misses=130, evictions=9, conns=950, used_mb=80)})
    feed = CallableFeed(CLUSTER, FakeSource(ALL_OK), stats, clock=Clock(3.0))
    app = MonitorApp(feed, interval=60)  # polls on `r` only
    async with app.run_test(size=(200, 40)) as pilot:
        pane = app.pane
        nodes = pane.query_one(NodesTable)
        await until(pilot, lambda: pane.drawn is not None and pane.drawn.sequence == 1, "first poll")
        assert stats.asked == [[N1, N2]]  # the cluster's own nodes
        # one sample: gauges only, no rate yet
        assert cells(nodes, N1)[5:12] == ["1h 1m", "-", "-", "-", "-", "5 / 1000 (0%)", "10M / 100M (10%)"]
        assert cells(nodes, N2)[5:12] == ["connection refused", "-", "-", "-", "-", "-", "-"]
        await pilot.press("r")
        await until(pilot, lambda: pane.drawn.sequence == 2, "second poll")
        # 300 gets, 60 sets, 6 evictions in 3 s; 270 hits of 300 lookups in the interval
        assert cells(nodes, N1)[5:12] == ["1h 1m", "100", "20.0", "90.0%", "2.0", "950 / 1000 (95%)",
                                          "80M / 100M (80%)"]
        colours = palette(app)
        assert colours["error"] in str(nodes.get_cell(N1, "connections").style)  # 95 % of the limit
        assert colours["warning"] in str(nodes.get_cell(N1, "memory").style)  # 80 %
        await pilot.press("r")
        await until(pilot, lambda: pane.drawn.sequence == 3, "third poll")
        # history of get/s: none (first sample), 100, 50: a gap, the top block, the middle one
        assert cells(nodes, N1)[12] == " █▅"
        assert cells(nodes, N2)[12] == "   "  # never answered: gaps, not zeros
        assert nodes.row_keys() == [N1, N2]


async def test_a_failing_poll_keeps_the_last_result_and_says_why():
    source = FakeSource(ALL_OK, RuntimeError("ZooKeeper 127.0.1.1:2181 did not answer"), ALL_OK)
    app = MonitorApp(source)
    async with app.run_test(size=(160, 40)) as pilot:
        pane = app.pane
        await until(pilot, lambda: pane.last_update is not None, "first poll")
        await pilot.press("r")
        await until(pilot, lambda: source.calls == 2 and not pane.polling, "failing poll")
        errors = pane.query_one("#mon-errors")
        assert errors.display
        assert ("status poll failed: ZooKeeper 127.0.1.1:2181 did not answer; showing the previous result"
                in errors.render().plain)
        assert cells(pane.query_one(NodesTable), N1)[4] == "ok"  # still the last good data
        await pilot.press("r")
        await until(pilot, lambda: source.calls == 3 and not pane.polling, "good poll again")
        assert not errors.display


async def test_a_hanging_source_is_cut_off_by_the_poll_timeout():
    source = FakeSource(ALL_OK, delay=5)
    app = MonitorApp(source, poll_timeout=0.2)
    async with app.run_test(size=(160, 40)) as pilot:
        pane = app.pane
        await until(pilot, lambda: pane.last_update is not None, "timed-out poll")
        assert "status poll failed: no answer within 0.2 s" in pane.query_one("#mon-errors").render().plain


# --- how it polls ------------------------------------------------------------------------------


async def test_pause_stops_polling_and_resume_restarts_it():
    source = FakeSource(ALL_OK)
    app = MonitorApp(source, interval=0.05, steps=FAST)
    async with app.run_test(size=(160, 40)) as pilot:
        pane = app.pane
        await until(pilot, lambda: source.calls >= 2, "polling")
        await pilot.press("p")
        assert pane.paused and not pane.running
        await until(pilot, lambda: not pane.polling, "the poll in flight ends")
        calls = source.calls
        await pilot.pause(0.5)  # ten intervals
        assert source.calls == calls
        assert "PAUSED" in pane.query_one("#mon-status").render().plain
        await pilot.press("p")
        assert not pane.paused
        await until(pilot, lambda: source.calls >= calls + 2, "polling again")
        assert "PAUSED" not in pane.query_one("#mon-status").render().plain


async def test_interval_steps_with_plus_and_minus_and_stays_bounded():
    app = MonitorApp(FakeSource(ALL_OK))
    async with app.run_test(size=(160, 40)) as pilot:
        pane = app.pane
        assert pane.interval == 3
        seen = []
        for _ in range(len(INTERVAL_STEPS) + 2):
            await pilot.press("plus")
            seen.append(pane.interval)
        assert seen == [5, 10, 15, 30, 60, 60, 60, 60, 60, 60]
        assert "every 60 s" in pane.query_one("#mon-status").render().plain
        seen = []
        for _ in range(len(INTERVAL_STEPS) + 2):
            await pilot.press("minus")
            seen.append(pane.interval)
        assert seen == [30, 15, 10, 5, 3, 2, 1, 1, 1, 1]
        await pilot.press("equals_sign")  # + without shift
        assert pane.interval == 2
    assert MonitorPane(AppContext(CLUSTER), FakeSource(), interval=0.01).interval == 1
    assert MonitorPane(AppContext(CLUSTER), FakeSource(), interval=3600).interval == 60


async def test_a_slow_poll_is_never_doubled():
    source = FakeSource(ALL_OK, delay=0.3)
    app = MonitorApp(source, interval=0.05, steps=FAST)
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: source.calls >= 3, "three polls")
        assert source.most_at_once == 1


# --- inside the app ---------------------------------------------------------------------------


async def test_tab_5_is_the_monitor_and_polls_only_while_shown(monkeypatch):
    calls: list[Cluster] = []
    made: list = []

    async def fake_status():
        calls.append(CLUSTER)
        return ALL_OK

    def fake_live_monitor(cluster, ssh_paths=None, **options):
        made.append((cluster, ssh_paths))
        return CallableFeed(cluster, fake_status, FakeStats())

    monkeypatch.setattr(monitor_module, "live_monitor", fake_live_monitor)
    assert "monitor" in PANES
    app = ArcusApp(CLUSTER, "test.toml", read_only=True)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause(0.2)
        assert calls == []  # the grid is shown: nothing polled
        assert [cluster for cluster, _ in made] == [CLUSTER]  # the app's engine, for this cluster
        await pilot.press("5")
        pane = app.screen.query_one(MonitorPane)
        assert app.screen.query_one(TabbedContent).active == "monitor"
        await until(pilot, lambda: pane.last_update is not None, "poll on show")
        assert calls == [CLUSTER]
        assert app.focused is pane.query_one(ServicesTable)  # its keys work at once
        await pilot.press("p")
        assert pane.paused and pane.feed.subscribers == 0
        await pilot.press("1")
        assert not pane.running  # hidden: not subscribed, nothing drawn
        polled = len(calls)
        await pilot.press("5", "p")  # shown and resumed: polls again
        await until(pilot, lambda: len(calls) > polled or pane.polling, "poll after resume", timeout=8)
        await pilot.press("1")
        assert pane.feed.subscribers == 0


async def test_default_feed_is_the_live_engine_and_connects_nothing_until_subscribed(tmp_path):
    assert monitor_module.default_feed(AppContext(None)) is None
    paths = SshPaths.under(tmp_path / "gw")
    feed = monitor_module.default_feed(AppContext(CLUSTER, ssh_paths=paths))
    try:
        assert isinstance(feed, LiveMonitor)
        assert feed.cluster is CLUSTER and feed.ssh.paths is paths  # the app's own ~/.ssh
        assert feed.registry.connect_string == CLUSTER.connect_string
        assert feed.polls == 0 and feed.registry.session is None  # made, not polled yet
        assert not any(feed.ssh.connected(host.name) for host in CLUSTER.hosts)
    finally:
        await feed.close()


async def test_no_cluster_file_says_so_and_polls_nothing():
    class Bare(App[None]):
        CSS_PATH = MonitorApp.CSS_PATH

        def compose(self):
            yield MonitorPane(AppContext(None))

    app = Bare()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        pane = app.query_one(MonitorPane)
        assert pane.source is None and pane.polls == 0
        assert "No cluster file" in pane.query_one("#mon-errors").render().plain
        await pilot.press("r")
        assert pane.polls == 0


# --- sort and filter --------------------------------------------------------------------------


def drawn_lines(widget) -> list[str]:
    """The lines the widget puts on screen now (what the terminal shows), top to bottom."""
    from textual.geometry import Region

    width, height = widget.size
    return [strip.text for strip in widget.render_lines(Region(0, 0, width, height))]


def row_order(table, endpoints) -> list[str]:
    """The endpoints in the order their rows are drawn."""
    lines = drawn_lines(table)
    found = {e: next((i for i, line in enumerate(lines) if e in line), None) for e in endpoints}
    return sorted((e for e in endpoints if found[e] is not None), key=lambda e: found[e])


async def test_o_cycles_the_sort_and_slash_filters_what_is_drawn():
    busy = {N1: sample(N1, gets=1000, sets=0, hits=0, misses=0, evictions=0),
            N2: sample(N2, gets=1000, sets=0, hits=0, misses=0, evictions=0)}
    busier = {N1: sample(N1, gets=1030, sets=0, hits=0, misses=0, evictions=0),
              N2: sample(N2, gets=1900, sets=0, hits=0, misses=0, evictions=0)}
    feed = CallableFeed(CLUSTER, FakeSource(NOT_JOINED), ScriptedStats(busy, busier), clock=Clock(3.0))
    app = MonitorApp(feed, interval=60)  # polls on `r` only: a third poll would make every rate 0
    async with app.run_test(size=(200, 40)) as pilot:
        pane = app.pane
        nodes = pane.query_one(NodesTable)
        heading = pane.query_one("#mon-nodes-heading")
        await until(pilot, lambda: pane.drawn is not None, "first poll")
        await pilot.press("r")
        await until(pilot, lambda: pane.drawn.sequence == 2, "second poll")
        await pilot.pause()
        assert row_order(nodes, [N1, N2]) == [N1, N2]  # file order
        assert "sorted by file order" in heading.render().plain
        await pilot.press("o", "o")  # node, then verdict: the node that is not ok first
        await pilot.pause()
        assert "sorted by verdict" in heading.render().plain
        assert row_order(nodes, [N1, N2]) == [N2, N1]
        await pilot.press("o")  # get/s: the busiest first (N2 300/s, N1 10/s)
        await pilot.pause()
        assert "sorted by get/s" in heading.render().plain
        assert row_order(nodes, [N1, N2]) == [N2, N1]
        assert "300" in drawn_lines(nodes)[1] and N2 in drawn_lines(nodes)[1]

        await pilot.press("slash")
        assert pane.query_one("#mon-filter").has_focus
        await pilot.press(*"cache001")
        await pilot.pause()
        assert row_order(nodes, [N1, N2]) == [N1]  # only the matching host is drawn
        assert "filter 'cache001'" in heading.render().plain
        await pilot.press("enter")
        assert nodes.has_focus and pane.query_one("#mon-filter").display  # the filter stays, shown
        await pilot.press("slash", *["backspace"] * len("cache001"), *"not joined")
        await pilot.pause()
        assert row_order(nodes, [N1, N2]) == [N2]  # by verdict text too
        await pilot.press("escape")
        await pilot.pause()
        assert row_order(nodes, [N1, N2]) == [N2, N1] and not pane.query_one("#mon-filter").display
        assert "filter" not in heading.render().plain


async def test_rows_out_of_view_show_the_newest_values_once_scrolled_to():
    """Rows out of view are brought up to date only when they scroll in: what is then
    drawn must be the newest poll's values, never the first poll's."""
    big = Cluster(service_code=SERVICE, hosts=tuple(
        Host(f"cache{i:03d}", f"127.0.1.{i + 1}", memcached=(MemcachedNode(11211),)) for i in range(60)))
    endpoints = [node.endpoint for node in big.nodes()]

    async def all_ok():
        service = compute_status(SERVICE, endpoints, [f"{e}-h" for e in endpoints])
        return CloudStatus(SERVICE, services=(service,),
                           nodes=tuple(node_states(big, service, {e: Process.RUNNING for e in endpoints})))

    first = {e: sample(e, gets=0, sets=0, hits=0, misses=0, evictions=0) for e in endpoints}
    second = {e: sample(e, gets=30 * (i + 1), sets=0, hits=0, misses=0, evictions=0)
              for i, e in enumerate(endpoints)}

    class BigApp(MonitorApp):
        def __init__(self):
            App.__init__(self)
            feed = CallableFeed(big, all_ok, ScriptedStats(first, second), clock=Clock(3.0))
            self.pane = MonitorPane(AppContext(big), feed, interval=60)

    app = BigApp()
    async with app.run_test(size=(200, 30)) as pilot:
        pane = app.pane
        nodes = pane.query_one(NodesTable)
        await until(pilot, lambda: pane.drawn is not None, "first poll")
        await pilot.press("r")
        await until(pilot, lambda: pane.drawn.sequence == 2, "second poll")
        await pilot.pause()
        last = endpoints[-1]
        assert not any(last in line for line in drawn_lines(nodes))  # out of view
        nodes.focus()
        await pilot.pause()
        await pilot.press("ctrl+end")  # to the last row
        await until(pilot, lambda: any(last in line for line in drawn_lines(nodes)), "the last row in view")
        line = next(line for line in drawn_lines(nodes) if last in line)
        assert " 600 " in line  # 60 x 30 gets in 3 s: the second poll's rate, drawn on arrival
        assert cells(nodes, last)[6] == "600"


async def test_a_feed_the_app_holds_is_shared_not_made_nor_closed_by_the_pane():
    """With `AppContext.monitor` (the app's one engine, also the Grid's), the pane uses it,
    and leaving the pane only unsubscribes: the engine and its sessions live on."""
    from dataclasses import dataclass
    from typing import Optional

    from arcus_tui.monitor.feed import MonitorFeed

    @dataclass(frozen=True)
    class SharingContext(AppContext):
        monitor: Optional[MonitorFeed] = None

    shared = CallableFeed(CLUSTER, FakeSource(ALL_OK), FakeStats())
    grid_view = []
    shared.subscribe(grid_view.append)  # another view of the same engine

    class SharingApp(MonitorApp):
        def __init__(self):
            App.__init__(self)
            self.pane = MonitorPane(SharingContext(CLUSTER, monitor=shared))

    app = SharingApp()
    async with app.run_test(size=(160, 40)) as pilot:
        pane = app.pane
        assert pane.feed is shared and not pane.owns_feed
        await until(pilot, lambda: pane.drawn is not None, "a snapshot of the shared engine")
        assert shared.subscribers == 2
        assert cells(pane.query_one(NodesTable), N1)[4] == "ok"
    assert shared.subscribers == 1  # the grid still listens
    assert grid_view and grid_view[-1].sequence >= pane.drawn.sequence
    seen, asked = len(grid_view), False
    for _ in range(250):  # nothing closed: a poll asked now still reaches the grid (bounded: 5 s)
        if len(grid_view) > seen:
            break
        asked = asked or (not shared.polling and shared.poll_now())
        await asyncio.sleep(0.02)
    assert len(grid_view) > seen, "the shared engine stopped when the pane went"
    await shared.close()


async def test_a_theme_change_recolours_the_drawn_cells():
    feed = CallableFeed(CLUSTER, FakeSource(ALL_OK), FakeStats())
    app = ArcusApp(CLUSTER, "test.toml", theme_name="arcus-dark", monitor=feed)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.press("5")
        table = app.screen.query_one(NodesTable)
        await until(pilot, lambda: table.row_count == 2, "the nodes drawn")
        await pilot.pause()
        dark = app.theme_variables["success"].lower()
        assert colour_of(table, "running") == dark
        await pilot.press("p")  # paused: no poll draws the table again, only the theme change may
        await pilot.pause()
        app.theme = "arcus-light"
        await pilot.pause()
        light = app.theme_variables["success"].lower()
        assert light == "#2f855a" != dark
        await until(pilot, lambda: colour_of(table, "running") == light, "the light theme's success colour")
    await feed.close()
