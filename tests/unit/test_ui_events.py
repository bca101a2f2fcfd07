"""The Events tab with an injected FAKE event source: what it draws, and that callbacks from
another thread (as kazoo's) reach the table, coalesced and bounded."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from textual.app import App
from textual.widgets import DataTable, TabbedContent

import arcus_tui.ui.app
from arcus_tui.model import Cluster, Host, MemcachedNode
from arcus_tui.model.cluster import ZooKeeperSettings
from arcus_tui.monitor.cloud_events import CloudEvent, EventKind, Source
from arcus_tui.ui.app import ArcusApp
from arcus_tui.ui.context import AppContext
from arcus_tui.ui.panes import events as events_module
from arcus_tui.ui.panes.events import SHOWN_EVENTS, EventsPane
from arcus_tui.ui.screens.help import help_content
from arcus_tui.zk.client_list import parse_client_list
from arcus_tui.zk.session import RegistryConnectionError
from tests.unit.ui_waits import drawn, until

SERVICE = "events-svc"
N1, N2 = "127.0.1.1:11211", "127.0.1.2:11211"
CLUSTER = Cluster(service_code=SERVICE, zookeeper=ZooKeeperSettings(servers=("127.0.2.1:2181",)),
                  hosts=(Host("cache001", "127.0.1.1", memcached=(MemcachedNode(11211),)),
                         Host("cache002", "127.0.1.2", memcached=(MemcachedNode(11211),))))
T0 = time.mktime((2026, 12, 3, 1, 0, 0, 0, 0, -1))
CLIENTS = ["app01_10.1.2.3_4_java_1.13.4_20261203010203_72057594037927937", "odd-client-name"]


class FakeSource:
    """Calls back from its own threads, as kazoo does; `fail` makes start() raise."""

    def __init__(self, on_events, on_clients, *, history=(), clients=CLIENTS, fail: str = "", note: str = "") -> None:
        self.on_events, self.on_clients = on_events, on_clients
        self.history, self.client_names, self.fail = list(history), clients, fail
        self.connected = False
        self.note = note
        self.closed = False
        self.callback_threads: set[str] = set()

    def start(self) -> None:
        if self.fail:
            raise RegistryConnectionError(self.fail)
        self.connected = True
        self._call(self.on_events, tuple(self.history))
        self._call(self.on_clients, parse_client_list(self.client_names) if self.client_names is not None else None)

    def _call(self, consumer, value) -> None:
        self.callback_threads.add(threading.current_thread().name)
        consumer(value)

    def emit(self, *batches) -> threading.Thread:
        """Each batch from another thread, like a watch firing; the loop goes on meanwhile."""
        def run():
            for batch in batches:
                self._call(self.on_events, tuple(batch))
        thread = threading.Thread(target=run, name="fake-kazoo", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self.closed = True
        self.connected = False


class Factory:
    def __init__(self, **options) -> None:
        self.options = options
        self.made: list[FakeSource] = []

    def __call__(self, context, on_events, on_clients) -> FakeSource:
        source = FakeSource(on_events, on_clients, **self.options)
        self.made.append(source)
        return source


class EventsApp(App[None]):
    CSS_PATH = str(Path(arcus_tui.ui.app.__file__).with_name("app.tcss"))

    def __init__(self, factory, **options) -> None:
        super().__init__()
        self.pane = EventsPane(AppContext(CLUSTER, read_only=True), factory, **options)

    def compose(self):
        yield self.pane


def rows(table: DataTable) -> list[list[str]]:
    return [[cell.plain for cell in table.get_row_at(i)] for i in range(table.row_count)]


def event(at: float, kind: EventKind, address: str, hostname: str, source: Source = Source.WATCH) -> CloudEvent:
    return CloudEvent(T0 + at, kind, address, hostname, source)


HISTORY = [event(0, EventKind.JOINED, N1, "cache001", Source.LOG),
           event(5, EventKind.JOINED, N2, "cache002", Source.ONLINE)]


async def test_events_newest_first_and_clients_below_from_the_source_threads():
    factory = Factory(history=HISTORY)
    app = EventsApp(factory)
    async with app.run_test(size=(140, 40)) as pilot:
        pane = app.pane
        table = pane.query_one("#ev-table", DataTable)
        await until(pilot, lambda: table.row_count == 2, "the history drawn")
        assert rows(table) == [
            ["2026-12-03 01:00:05", "joined", N2, "cache002", "online at start"],
            ["2026-12-03 01:00:00", "joined", N1, "cache001", "cache_server_log"],
        ]
        source = factory.made[0]
        source.emit([event(10, EventKind.LEFT, N1, "cache001")],
                    [event(20, EventKind.REJOINED, N1, "cache001")]).join(5)
        await until(pilot, lambda: table.row_count == 4, "the live events drawn")
        assert [r[:3] for r in rows(table)[:2]] == [["2026-12-03 01:00:20", "rejoined", N1],
                                                    ["2026-12-03 01:00:10", "left", N1]]
        assert rows(table)[0][4] == "live"
        assert "fake-kazoo" in source.callback_threads  # really from another thread

        clients = pane.query_one("#ev-clients", DataTable)
        assert rows(clients) == [
            ["app01", "10.1.2.3", "java", "1.13.4", "4", "2026-12-03 01:02:03", "0x100000000000001"],
            ["odd-client-name", "(unknown format)", "", "", "", "", ""],
        ]
        assert "2 connected" in drawn(pane.query_one("#ev-clients-heading"))
        status = drawn(pane.query_one("#ev-status"))
        assert "connected" in status and "4 events" in status and "read-only" in status
        assert app.focused is table
    assert source.closed  # the pane closed its source with it


async def test_a_storm_of_events_is_a_few_bounded_redraws_and_keys_are_answered_meanwhile():
    factory = Factory()
    app = EventsApp(factory, limit=1000)
    async with app.run_test(size=(140, 40)) as pilot:
        pane = app.pane
        await until(pilot, lambda: pane.state == "connected", "connected")
        await pilot.pause(0.3)
        draws = pane.draws
        fleet = [event(i / 100, EventKind.JOINED, f"127.0.3.{i % 250}:{11211 + i // 250}", f"h{i}")
                 for i in range(1500)]
        table = pane.query_one("#ev-table", DataTable)
        began = time.monotonic()
        storm = factory.made[0].emit(*[fleet[i:i + 1] for i in range(len(fleet))])  # one callback per node
        slowest = 0.0
        while storm.is_alive() or pane.ring.total < 1500:  # keys typed during the storm
            assert time.monotonic() - began < 10, "the storm never ended"
            row, pressed = table.cursor_row, time.monotonic()
            await pilot.press("down" if row < 3 else "up")
            slowest = max(slowest, time.monotonic() - pressed)
        await until(pilot, lambda: table.row_count == SHOWN_EVENTS, "all drawn")
        assert time.monotonic() - began < 5.0
        assert slowest < 0.5, f"a key waited {slowest:.2f} s"
        assert pane.draws - draws <= 20  # coalesced, not one redraw per event
        assert len(pane.ring) == 1000 and pane.ring.dropped == 500  # bounded memory
        assert rows(table)[0][3] == "h1499"  # the newest on top
        assert "newest 200 shown" in drawn(pane.query_one("#ev-status"))


async def test_a_failed_start_says_why_and_r_tries_again():
    factory = Factory(fail="could not connect to ZooKeeper 127.0.2.1:2181 within 10 s")
    app = EventsApp(factory)
    async with app.run_test(size=(140, 40)) as pilot:
        pane = app.pane
        await until(pilot, lambda: pane.state == "failed", "the failure")
        message = drawn(pane.query_one("#ev-message"))
        assert "Cannot follow the events" in message and "127.0.2.1:2181" in message and "Press r" in message
        factory.options["fail"] = ""
        factory.options["history"] = HISTORY
        await pilot.press("r")
        await until(pilot, lambda: pane.state == "connected", "connected on retry")
        await until(pilot, lambda: pane.query_one("#ev-table", DataTable).row_count == 2, "drawn")
        assert len(factory.made) == 2 and drawn(pane.query_one("#ev-message")).strip() == ""


async def test_no_client_list_and_no_log_are_said():
    app = EventsApp(Factory(clients=None, note="no /arcus/cache_server_log: ..."))
    async with app.run_test(size=(140, 40)) as pilot:
        heading = app.pane.query_one("#ev-clients-heading")
        await until(pilot, lambda: "no client_list znode" in drawn(heading), "the client note")
        assert "no /arcus/cache_server_log" in drawn(app.pane.query_one("#ev-message"))
        assert app.pane.state == "connected"


async def test_tab_6_is_events_in_the_app_read_only(monkeypatch):
    factory = Factory(history=HISTORY)
    monkeypatch.setattr(events_module, "default_source", factory)
    app = ArcusApp(CLUSTER, "test.toml", read_only=True)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        assert not factory.made  # nothing connects before the tab is shown
        await pilot.press("6")
        tabs = app.screen.query_one(TabbedContent)
        assert tabs.active == "events"
        table = tabs.active_pane.query_one("#ev-table", DataTable)
        await until(pilot, lambda: table.row_count == 2, "the events drawn")
        assert app.focused is table
    assert "Events" in help_content().plain


async def test_the_real_source_on_a_sample_cluster_is_refused_with_a_message():
    """The default source really tries: the guard refuses a 10.0.0.x ensemble; no traceback."""
    cluster = Cluster(service_code=SERVICE, zookeeper=ZooKeeperSettings(servers=("10.0.0.1:2181",)))
    pane = EventsPane(AppContext(cluster))

    class One(App[None]):
        def compose(self):
            yield pane

    async with One().run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: pane.state == "failed", "the refusal", timeout=15)
        assert "not a loopback address" in pane.error
