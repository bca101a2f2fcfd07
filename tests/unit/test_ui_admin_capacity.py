"""The Monitor tab's capacity section (per host and total, from what the feed polled) and its
`c` admin-command prompt (against in-process fake memcached nodes): what is drawn, what is
sent, what is refused in a read-only app, and the question before a write."""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.widgets import DataTable, Input

import arcus_tui.ui.app
from arcus_tui.model import Cluster, Host, MemcachedNode
from arcus_tui.monitor.cloud_status import CloudStatus, NodeState, Process, Registry
from arcus_tui.monitor.memcached_stats import MemcachedStats, StatsUnavailable
from arcus_tui.ui.context import AppContext
from arcus_tui.ui.panes.monitor import MonitorPane
from arcus_tui.ui.screens.admin_command import AdminCommandScreen
from arcus_tui.ui.screens.edit_prompts import ConfirmScreen
from arcus_tui.ui.widgets.capacity_table import TOTAL_KEY, CapacityTable
from tests.unit.fake_memcached import FakeMemcached
from tests.unit.ui_waits import until

MB = 1024 * 1024


def cluster_of(*hosts: tuple[str, str, tuple[int, ...]]) -> Cluster:
    return Cluster(service_code="cap-svc", hosts=tuple(
        Host(name, address, memcached=tuple(MemcachedNode(port) for port in ports)) for name, address, ports in hosts))


def status_of(cluster: Cluster) -> CloudStatus:
    return CloudStatus(cluster.service_code, nodes=tuple(
        NodeState(node.host.name, node.endpoint, Registry.ONLINE, Process.RUNNING) for node in cluster.nodes()))


def stats(endpoint: str, *, used_mb: int, conns: int, limit_mb: int = 64, maxconns: int = 100) -> MemcachedStats:
    return MemcachedStats(endpoint, {"bytes": str(used_mb * MB), "limit_maxbytes": str(limit_mb * MB),
                                     "curr_connections": str(conns), "limit_maxconns": str(maxconns)})


class PaneApp(App[None]):
    CSS_PATH = str(Path(arcus_tui.ui.app.__file__).with_name("app.tcss"))

    def __init__(self, cluster: Cluster, readings: dict, *, read_only: bool = False) -> None:
        super().__init__()
        self.readings = readings

        async def status_source():
            return status_of(cluster)

        async def stats_source(endpoints):
            return {e: self.readings.get(e, StatsUnavailable(e, "connection refused")) for e in endpoints}

        self.pane = MonitorPane(AppContext(cluster, read_only=read_only), status_source, stats_source=stats_source)

    def compose(self):
        yield self.pane


def cells(table: DataTable, key: str) -> list[str]:
    return [cell.plain for cell in table.get_row(key)]


async def test_capacity_table_sums_per_host_and_in_total_from_the_polled_stats():
    cluster = cluster_of(("cache001", "127.0.1.1", (11211, 11212)), ("cache002", "127.0.1.2", (11211,)))
    readings = {"127.0.1.1:11211": stats("127.0.1.1:11211", used_mb=10, conns=5),
                "127.0.1.1:11212": stats("127.0.1.1:11212", used_mb=110, conns=15, limit_mb=128, maxconns=20)}
    app = PaneApp(cluster, readings)
    async with app.run_test(size=(160, 50)) as pilot:
        pane = app.pane
        await until(pilot, lambda: pane.last_update is not None, "first poll")
        table = pane.query_one(CapacityTable)
        assert table.row_keys() == ["host:cache001", "host:cache002", TOTAL_KEY]
        assert cells(table, "host:cache001") == ["cache001", "2/2", "120M / 192M (62%)", "20 / 120 (17%)"]
        assert cells(table, "host:cache002") == ["cache002", "0/1", "-", "-"]
        assert cells(table, TOTAL_KEY) == ["Total", "2/3", "120M / 192M (62%)", "20 / 120 (17%)"]
        colours = app.get_css_variables()
        assert colours["warning"] in str(table.get_cell("host:cache002", "nodes").style)  # a node not read

        readings["127.0.1.2:11211"] = stats("127.0.1.2:11211", used_mb=60, conns=95)  # next poll: near its limits
        pane.poll_now()
        await until(pilot, lambda: cells(table, TOTAL_KEY)[1] == "3/3", "second poll drawn")
        assert cells(table, "host:cache002") == ["cache002", "1/1", "60M / 64M (94%)", "95 / 100 (95%)"]
        assert colours["error"] in str(table.get_cell("host:cache002", "memory").style)
        assert cells(table, TOTAL_KEY) == ["Total", "3/3", "180M / 256M (70%)", "115 / 220 (52%)"]


async def _prompt_app(read_only: bool):
    fakes = [await FakeMemcached("127.0.3.1").start(), await FakeMemcached("127.0.3.2").start()]
    cluster = cluster_of(("h1", "127.0.3.1", (fakes[0].port,)), ("h2", "127.0.3.2", (fakes[1].port,)))
    return fakes, PaneApp(cluster, {}, read_only=read_only)


async def _open_prompt(pilot, app) -> AdminCommandScreen:
    await until(pilot, lambda: app.pane.last_update is not None, "first poll")
    app.pane.query_one("#mon-services").focus()
    await pilot.press("c")
    await until(pilot, lambda: isinstance(app.screen, AdminCommandScreen), "the prompt")
    return app.screen


async def _submit(pilot, screen: AdminCommandScreen, line: str) -> None:
    screen.query_one("#admin-command", Input).value = line
    screen.query_one("#admin-command", Input).focus()
    await pilot.press("enter")


async def test_c_sends_a_reading_command_to_every_node_and_shows_each_reply():
    fakes, app = await _prompt_app(read_only=True)
    try:
        async with app.run_test(size=(160, 50)) as pilot:
            screen = await _open_prompt(pilot, app)
            await _submit(pilot, screen, "stats settings")
            await until(pilot, lambda: len(screen.replies) == 2, "both replies")
            await pilot.pause()
            table = screen.query_one("#admin-results", DataTable)
            for fake in fakes:
                assert cells(table, fake.endpoint) == [fake.endpoint, "ok", "STAT maxbytes 67108864  (+3 lines)"]
                assert fake.commands == ["stats settings", "version"]
            note = screen.query_one("#admin-note").render().plain
            assert "stats settings: 2 ok, 0 failed, 0 refused (of 2 node(s))" in note
            detail = screen.query_one("#admin-detail").render().plain
            assert "STAT maxconns 100" in detail and "END" in detail
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, AdminCommandScreen), "closed")
    finally:
        for fake in fakes:
            await fake.stop()


async def test_a_writing_command_is_refused_in_a_read_only_app_and_never_sent():
    fakes, app = await _prompt_app(read_only=True)
    try:
        async with app.run_test(size=(160, 50)) as pilot:
            screen = await _open_prompt(pilot, app)
            await _submit(pilot, screen, "flush_all")
            await pilot.pause(0.2)
            assert "read-only" in screen.query_one("#admin-note").render().plain
            assert screen.sent == [] and all(fake.commands == [] for fake in fakes)
            await _submit(pilot, screen, "stats\x1b[2J")
            await pilot.pause()
            assert "one command line only" in screen.query_one("#admin-note").render().plain
    finally:
        for fake in fakes:
            await fake.stop()


async def test_a_writing_command_is_sent_only_after_yes():
    fakes, app = await _prompt_app(read_only=False)
    try:
        async with app.run_test(size=(160, 50)) as pilot:
            screen = await _open_prompt(pilot, app)
            await _submit(pilot, screen, "flush_all")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
            await pilot.press("n")
            await until(pilot, lambda: app.screen is screen, "back to the prompt")
            assert "not sent" in screen.query_one("#admin-note").render().plain
            assert all(fake.commands == [] for fake in fakes)

            await _submit(pilot, screen, "flush_all")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question again")
            await pilot.press("y")
            await until(pilot, lambda: len(screen.replies) == 2, "both replies")
            assert all(fake.commands == ["flush_all", "version"] for fake in fakes)
            table = screen.query_one("#admin-results", DataTable)
            assert [cells(table, fake.endpoint)[1:] for fake in fakes] == [["ok", "OK"], ["ok", "OK"]]
    finally:
        for fake in fakes:
            await fake.stop()
