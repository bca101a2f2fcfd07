"""The Monitor tab with a FAKE data source: what it draws, how it polls.

The pane takes its data source as an argument (as memray's live view does), so these
tests hand it scripted `CloudStatus` values that change from one poll to the next.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from textual.app import App
from textual.widgets import TabbedContent

import arcus_tui.ui.app
from arcus_tui.model import Cluster, Host, MemcachedNode
from arcus_tui.monitor.cloud_status import CloudStatus, NodeState, Process, Registry
from arcus_tui.monitor.memcached_stats import MemcachedStats, StatsUnavailable
from arcus_tui.ssh.paths import SshPaths
from arcus_tui.ui.app import ArcusApp
from arcus_tui.ui.context import AppContext
from arcus_tui.ui.panes import PANES, monitor as monitor_module
from arcus_tui.ui.panes.monitor import INTERVAL_STEPS, MonitorPane
from arcus_tui.ui.widgets.monitor_tables import NodesTable, ServicesTable
from arcus_tui.zk.fourletter import MemberMode, Mode
from arcus_tui.zk.status import compute_status

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


async def wait_until(pilot, predicate, what: str, timeout: float = 5.0) -> None:
    began = time.monotonic()
    while not predicate():
        if time.monotonic() - began > timeout:
            raise AssertionError(f"not within {timeout} s: {what}")
        await pilot.pause(0.02)


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
        await wait_until(pilot, lambda: pane.last_update is not None, "first poll")
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
        await wait_until(pilot, lambda: source.calls >= 2 and not pane._polling, "second poll")
        assert cells(services, f"arcus/{SERVICE}")[2:5] == ["OK", "2/2", "-"]
        assert cells(nodes, N2)[2:5] == ["online", "running", "ok"]
        assert pane.highlighted == frozenset()  # the node joined: no longer highlighted
        await wait_until(pilot, lambda: source.calls >= 3 and not pane._polling, "third poll")
        assert cells(services, f"arcus/{SERVICE}")[2:5] == ["DOWN", "0/2", f"{N1}, {N2}"]
        assert palette(app)["error"] in str(services.get_cell(f"arcus/{SERVICE}", "status").style)
        assert cells(nodes, N1)[2:5] == ["offline", "stopped", "stopped"]
        ensemble = pane.query_one("#mon-ensemble").render().plain
        assert "127.0.1.1:2181 unreachable (connection refused)" in ensemble and "not-serving" in ensemble
        errors = pane.query_one("#mon-errors")
        assert errors.display
        assert "process check over SSH: cache002 did not answer" in errors.render().plain
        assert nodes.row_keys() == [N1, N2]  # rows updated in place, not duplicated


async def test_memcached_stats_per_node():
    stats = FakeStats({N1: MemcachedStats(N1, {
        "uptime": "3700", "curr_connections": "5", "get_hits": "90", "get_misses": "10",
        "bytes": str(10 * 1024 * 1024), "limit_maxbytes": str(100 * 1024 * 1024), "evictions": "3"})})
    app = MonitorApp(FakeSource(ALL_OK), stats_source=stats)
    async with app.run_test(size=(160, 40)) as pilot:
        pane = app.pane
        await wait_until(pilot, lambda: pane.last_update is not None, "first poll")
        assert stats.asked == [[N1, N2]]  # the cluster's own nodes
        nodes = pane.query_one(NodesTable)
        assert cells(nodes, N1)[5:] == ["1h 1m", "5", "90.0%", "10M / 100M (10%)", "3"]
        assert palette(app)["warning"] in str(nodes.get_cell(N1, "evictions").style)
        assert cells(nodes, N2)[5:] == ["connection refused", "-", "-", "-", "-"]


async def test_a_failing_poll_keeps_the_last_result_and_says_why():
    source = FakeSource(ALL_OK, RuntimeError("ZooKeeper 127.0.1.1:2181 did not answer"), ALL_OK)
    app = MonitorApp(source)
    async with app.run_test(size=(160, 40)) as pilot:
        pane = app.pane
        await wait_until(pilot, lambda: pane.last_update is not None, "first poll")
        await pilot.press("r")
        await wait_until(pilot, lambda: source.calls == 2 and not pane._polling, "failing poll")
        errors = pane.query_one("#mon-errors")
        assert errors.display
        assert ("status poll failed: ZooKeeper 127.0.1.1:2181 did not answer; showing the previous result"
                in errors.render().plain)
        assert cells(pane.query_one(NodesTable), N1)[4] == "ok"  # still the last good data
        await pilot.press("r")
        await wait_until(pilot, lambda: source.calls == 3 and not pane._polling, "good poll again")
        assert not errors.display


async def test_a_hanging_source_is_cut_off_by_the_poll_timeout():
    source = FakeSource(ALL_OK, delay=5)
    app = MonitorApp(source, poll_timeout=0.2)
    async with app.run_test(size=(160, 40)) as pilot:
        pane = app.pane
        await wait_until(pilot, lambda: pane.last_update is not None, "timed-out poll")
        assert "status poll failed: no answer within 0.2 s" in pane.query_one("#mon-errors").render().plain


# --- how it polls ------------------------------------------------------------------------------


async def test_pause_stops_polling_and_resume_restarts_it():
    source = FakeSource(ALL_OK)
    app = MonitorApp(source, interval=0.05, steps=FAST)
    async with app.run_test(size=(160, 40)) as pilot:
        pane = app.pane
        await wait_until(pilot, lambda: source.calls >= 2, "polling")
        await pilot.press("p")
        assert pane.paused and not pane.running
        await wait_until(pilot, lambda: not pane._polling, "the poll in flight ends")
        calls = source.calls
        await pilot.pause(0.5)  # ten intervals
        assert source.calls == calls
        assert "PAUSED" in pane.query_one("#mon-status").render().plain
        await pilot.press("p")
        assert not pane.paused
        await wait_until(pilot, lambda: source.calls >= calls + 2, "polling again")
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
        await wait_until(pilot, lambda: source.calls >= 3, "three polls")
        assert source.most_at_once == 1


# --- inside the app ---------------------------------------------------------------------------


async def test_tab_5_is_the_monitor_and_polls_only_while_shown(monkeypatch):
    calls: list[Cluster] = []

    async def fake_collect_status(cluster, **options):
        calls.append(cluster)
        return ALL_OK

    async def no_stats(endpoints, **options):
        return {}

    monkeypatch.setattr(monitor_module, "collect_status", fake_collect_status)
    monkeypatch.setattr(monitor_module, "fetch_many", no_stats)
    assert "monitor" in PANES
    app = ArcusApp(CLUSTER, "test.toml", read_only=True)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause(0.2)
        assert calls == []  # the grid is shown: nothing polled
        await pilot.press("5")
        pane = app.screen.query_one(MonitorPane)
        assert app.screen.query_one(TabbedContent).active == "monitor"
        await wait_until(pilot, lambda: pane.last_update is not None, "poll on show")
        assert calls == [CLUSTER]
        assert app.focused is pane.query_one(ServicesTable)  # its keys work at once
        await pilot.press("p")
        assert pane.paused
        await pilot.press("1")
        assert not pane.running  # hidden: the timer is paused
        polled = len(calls)
        await pilot.press("5", "p")  # shown and resumed: polls again
        await wait_until(pilot, lambda: len(calls) > polled or pane._polling, "poll after resume", timeout=8)


async def test_default_source_reads_the_cluster_through_collect_status(monkeypatch, tmp_path):
    asked = []

    async def fake_collect_status(cluster, **options):
        asked.append((cluster, options))
        return ALL_OK

    monkeypatch.setattr(monitor_module, "collect_status", fake_collect_status)
    assert monitor_module.default_source(AppContext(None)) is None
    paths = SshPaths.under(tmp_path / "gw")
    source = monitor_module.default_source(AppContext(CLUSTER, ssh_paths=paths))
    assert asked == []  # made, not polled yet
    assert await source() is ALL_OK
    assert asked == [(CLUSTER, {"ssh_paths": paths})]  # this cluster, through the app's own ~/.ssh


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
