"""Runs belong to the app: a save mid-run rebuilds the panes and the Logs stay complete, `q`
asks during a run, and the Logs tab holds a fleet (pages, merged view, filter, next failed)."""

from __future__ import annotations

from functools import partial

import asyncio

import pytest

from arcus_tui.deploy.plan import Plan, StepId
from arcus_tui.deploy.report import DeployReport
from arcus_tui.events import HostState, ProgressEvent, Stream
from arcus_tui.model import parse_cluster
from arcus_tui.ui.app import ArcusApp
from arcus_tui.ui.panes.logs import LogsPane
from arcus_tui.ui.screens.confirm_setup import ConfirmSetupScreen
from arcus_tui.ui.screens.edit_prompts import ConfirmScreen
from arcus_tui.ui.screens.main import MainScreen
from arcus_tui.ui.widgets.log_view import LogView
from tests.unit.cluster_texts import THREE_HOSTS, fleet
from tests.unit.ui_waits import drawn, until

# this file's waits are longer than the shared default
until = partial(until, timeout=10.0)

SIZE = (140, 45)
HOSTS = ("cache001", "cache002", "cache003")


class TwoHalvesRunner:
    """Prints `lines` lines per host, waits for `go_on`, prints as many again; cache002 fails."""

    lines = 300
    go_on: asyncio.Event

    def __init__(self, cluster, options, sink):
        self.cluster, self.sink = cluster, sink

    async def run(self, plan: Plan, *, previous=None) -> DeployReport:
        report = DeployReport(plan)
        hosts = [host.name for host in self.cluster.hosts]
        self._half(hosts, 0)
        TwoHalvesRunner.halfway.set()
        await TwoHalvesRunner.go_on.wait()
        self._half(hosts, self.lines)
        for host in hosts:
            failed = host == "cache002"
            state = HostState.FAILED if failed else HostState.OK
            text = "exit status 1: disk full" if failed else ""
            self.sink(ProgressEvent(host, StepId.UPLOAD_PACKAGE.value, Stream.INFO, text, state=state, duration=1.0))
            report.set(StepId.UPLOAD_PACKAGE, host, state, text)
        return report

    def _half(self, hosts, start: int) -> None:
        for number in range(start, start + self.lines):
            for host in hosts:
                stream = Stream.STDERR if number % 100 == 7 else Stream.STDOUT
                self.sink(ProgressEvent(host, StepId.UPLOAD_PACKAGE.value, stream, f"{host} line {number}"))

    async def close(self) -> None:
        pass


def logs_pane(app: ArcusApp) -> LogsPane:
    return app.screen.query_one(LogsPane)


async def start_run(app: ArcusApp, pilot) -> None:
    TwoHalvesRunner.halfway, TwoHalvesRunner.go_on = asyncio.Event(), asyncio.Event()
    app.runs.runner_factory = TwoHalvesRunner
    await pilot.press("2", "s")
    await until(pilot, lambda: isinstance(app.screen, ConfirmSetupScreen), "the confirmation")
    await pilot.press("y")
    await until(pilot, TwoHalvesRunner.halfway.is_set, "the first half")


@pytest.fixture
def cluster_file(tmp_path):
    path = tmp_path / "cluster.toml"
    path.write_text(THREE_HOSTS)
    return path


async def test_a_save_mid_run_keeps_the_logs_complete(cluster_file):
    cluster = parse_cluster(cluster_file.read_text(), str(cluster_file)).cluster
    app = ArcusApp(cluster, str(cluster_file))
    async with app.run_test(size=SIZE) as pilot:
        await start_run(app, pilot)
        await pilot.press("3")
        await pilot.pause()
        before = logs_pane(app)
        await pilot.press("1", "z", "ctrl+s")  # edit and save the layout: every other tab is built anew
        await until(pilot, lambda: not app.screen.query(LogsPane) or app.screen.query_one(LogsPane) is not before,
                    "the panes built anew")
        TwoHalvesRunner.go_on.set()
        await until(pilot, lambda: not app.runs.running, "the run's end")
        await pilot.press("3")
        await pilot.pause(0.3)
        logs = logs_pane(app)
        assert logs is not before
        for host in HOSTS:
            text = logs.log_of(host).text
            numbers = [int(line.rsplit(" ", 1)[1]) for line in text.splitlines() if f"{host} line" in line]
            assert numbers == list(range(2 * TwoHalvesRunner.lines)), host  # every line, in order, once
        view = logs.log_of("cache003")
        await pilot.pause()
        assert f"cache003 line {2 * TwoHalvesRunner.lines - 1}" in drawn(view)  # following: the last is shown


async def test_q_during_a_run_asks_and_no_keeps_it_running(cluster_file):
    cluster = parse_cluster(cluster_file.read_text(), str(cluster_file)).cluster
    app = ArcusApp(cluster, str(cluster_file))
    async with app.run_test(size=SIZE) as pilot:
        await start_run(app, pilot)
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        asked = " ".join(drawn(widget) for widget in app.screen.query("Static"))
        assert "run is in progress" in asked
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running and app.runs.running and isinstance(app.screen, MainScreen)
        TwoHalvesRunner.go_on.set()
        await until(pilot, lambda: not app.runs.running, "the run's end")


async def test_merged_view_filter_and_next_failed(cluster_file):
    cluster = parse_cluster(cluster_file.read_text(), str(cluster_file)).cluster
    app = ArcusApp(cluster, str(cluster_file))
    async with app.run_test(size=SIZE) as pilot:
        await start_run(app, pilot)
        TwoHalvesRunner.go_on.set()
        await until(pilot, lambda: not app.runs.running, "the run's end")
        await pilot.press("3", "m")
        await pilot.pause()
        logs = logs_pane(app)
        merged = logs.query_one("#logs-merged", LogView)
        assert merged.display and app.focused is merged
        screen_text = drawn(merged)
        # each line's target first
        assert "cache001  upload-package" in screen_text and "cache002  upload-package" in screen_text
        assert "✗ failed 1.0s: exit status 1: disk full" in screen_text

        await pilot.press("slash", *"line 107", "enter")
        await pilot.pause()
        on_screen = [line for line in drawn(merged).splitlines()[1:-1] if line.strip("┃ ")]
        assert len(on_screen) == 3 and all("line 107" in line for line in on_screen)  # one per host
        assert "3 match 'line 107'" in drawn(merged)
        await pilot.press("right_square_bracket")
        await pilot.pause()
        highlighted = [y for y in range(merged.size.height)
                       if any(segment.style and segment.style.reverse for segment in merged.render_line(y))]
        assert len(highlighted) == 1 and "cache001  upload-package" in merged.render_line(highlighted[0]).text

        await pilot.press("escape", "m", "e")  # back to the hosts; e: the host that failed
        await pilot.pause()
        assert getattr(app.focused, "target", None) == "cache002"
        assert "1 failed" in drawn(logs.query_one("#logs-status"))


async def test_a_fleet_gets_pages_and_typed_ahead_keys_all_land(tmp_path):
    path = tmp_path / "fleet.toml"
    path.write_text(fleet(200))
    cluster = parse_cluster(path.read_text(), str(path)).cluster
    app = ArcusApp(cluster, str(path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await until(pilot, lambda: isinstance(app.focused, LogView), "a log to take the keys")
        logs = logs_pane(app)
        assert len(logs.tiles) == 6 and len(logs.targets) == 202  # 6 views, not 202 widgets
        await pilot.press(*"nnnnnnn")  # seven keys typed ahead: seven logs on
        await pilot.pause()
        assert getattr(app.focused, "target", None) == "cache007"
        status = drawn(logs.query_one("#logs-status"))
        assert "cache007" in status and "page 2/34" in status
        shown = [view.border_title for view in logs.tiles if view.display]
        assert shown[0].startswith("cache006") and len(shown) == 6


async def test_opened_on_a_running_cloud_the_matrix_shows_what_is_done_and_offers_the_rest(
        cluster_file, monkeypatch):
    """The probe (its read-only engine is tested in test_deploy_probe) found the access steps done:
    the matrix says so, and `s` offers only the steps left."""
    from arcus_tui.deploy import probe as probe_module
    from arcus_tui.ui.panes import setup as setup_module

    async def found_access_done(plan, options=None):
        result = probe_module.ProbeResult()
        for step in plan.steps:
            for target in step.targets:
                verdict = (probe_module.done("key login works") if step.id in
                           (StepId.MAKE_KEY, StepId.COPY_KEY, StepId.VERIFY_LOGIN) else probe_module.to_do("not yet"))
                result.set(step.id, target, verdict)
        return result

    monkeypatch.setattr(setup_module, "probe_setup", found_access_done)
    cluster = parse_cluster(cluster_file.read_text(), str(cluster_file)).cluster
    app = ArcusApp(cluster, str(cluster_file), probe=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        pane = app.screen.query_one("#setup-pane")
        await until(pilot, lambda: "already in place" in drawn(pane.query_one("#setup-status")), "the probe")
        matrix = drawn(pane.matrix)
        assert "= already-done" in matrix and "· pending" in matrix
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmSetupScreen), "the confirmation")
        asked = " ".join(drawn(widget) for widget in app.screen.query("Static"))
        assert "Copy the key" not in asked and "memcached" in asked.lower()
