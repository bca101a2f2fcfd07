"""The app's one gate of every mutating key (`ui/gate.py`), the setup's question before it
runs, cancelling a run, quitting during one, and the empty state. Asserted on what is drawn
(the footer's keys, the modals' text, the Setup tab's lines), not on the model."""

from __future__ import annotations

import asyncio

import pytest
from textual.worker import WorkerState

from arcus_tui.deploy.plan import Plan, StepId
from arcus_tui.deploy.report import DeployReport
from arcus_tui.events import GATEWAY, HostState, ProgressEvent
from arcus_tui.model import parse_cluster
from arcus_tui.ui.app import ArcusApp
from arcus_tui.ui.gate import Gate
from arcus_tui.ui.panes.setup import SetupPane
from arcus_tui.ui.runs import CANCELLED
from arcus_tui.ui.screens.confirm_setup import ConfirmSetupScreen
from arcus_tui.ui.screens.edit_prompts import ConfirmScreen
from arcus_tui.ui.screens.main import MainScreen
from tests.unit.cluster_texts import THREE_HOSTS
from tests.unit.ui_waits import drawn, until

CLUSTER_TEXT = THREE_HOSTS.replace('address = "127.0.0.2"\nzookeeper = true\nmemcached = [11211]',
                                    'address = "127.0.0.2"\nzookeeper = true\nmemcached = [11211, 11212]')

SIZE = (140, 45)


@pytest.fixture
def cluster_file(tmp_path):
    path = tmp_path / "cluster.toml"
    path.write_text(CLUSTER_TEXT, encoding="utf-8")
    return path


@pytest.fixture
def cluster():
    result = parse_cluster(CLUSTER_TEXT, "cluster.toml")
    assert result.ok
    return result.cluster


class HangingRunner:
    """A runner whose first step starts on the gateway and then hangs, like a host that never answers."""

    def __init__(self, cluster, options, sink):
        self.sink = sink
        self.started = asyncio.Event()
        self.closed = False
        self.cancelled = False
        HangingRunner.last = self

    async def run(self, plan: Plan, *, previous=None) -> DeployReport:
        self.sink(ProgressEvent(GATEWAY, StepId.MAKE_KEY.value, state=HostState.RUNNING))
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return DeployReport(plan)

    async def close(self) -> None:
        self.closed = True


def footer_keys(app: ArcusApp) -> dict[str, bool]:
    """Every key the footer shows now, and whether it is on (False: shown, but off)."""
    return {active.binding.key: active.enabled for active in app.active_bindings.values() if active.binding.show}


def main_screen(app: ArcusApp) -> MainScreen:
    return next(screen for screen in app.screen_stack if isinstance(screen, MainScreen))


def setup_pane(app: ArcusApp) -> SetupPane:
    return main_screen(app).query_one(SetupPane)


def status(app: ArcusApp) -> str:
    return drawn(setup_pane(app).query_one("#setup-status"))


async def start_hanging_run(app: ArcusApp, pilot) -> SetupPane:
    pane = setup_pane(app)
    app.runs.runner_factory = HangingRunner
    await pilot.press("2")
    await pilot.pause()
    await pilot.press("s")
    await until(pilot, lambda: isinstance(app.screen, ConfirmSetupScreen), "the setup question")
    await pilot.press("y")
    await until(pilot, lambda: pane.running and HangingRunner.last.started.is_set(), "the run to hang")
    await pilot.pause()
    return pane


# --- the gate itself ----------------------------------------------------------------------------


@pytest.mark.parametrize("gate, action, expected", [
    (Gate(), "toggle_zookeeper", True),
    (Gate(), "start", True),
    (Gate(), "cancel_run", False),  # nothing to cancel: hidden
    (Gate(read_only=True), "toggle_zookeeper", False),  # hidden, not refused with a toast
    (Gate(read_only=True), "save", False),
    (Gate(read_only=True), "start", False),
    (Gate(running=True), "save", True),  # the run keeps the layout it started with
    (Gate(running=True), "start", None),
    (Gate(running=True), "teardown", None),
    (Gate(running=True), "cancel_run", True),
    (Gate(unsaved=True), "start", None),  # a run would deploy the saved file, not what is shown
    (Gate(unsaved=True), "save", True),
    (Gate(read_only=True), "show_tab", True),  # not mutating
], ids=str)
def test_the_gate_decides_every_mutating_action(gate, action, expected):
    assert gate.check(action) is expected


def test_quitting_asks_only_when_something_would_be_lost():
    assert Gate().quit_question() is None
    assert Gate(read_only=True).quit_question() is None
    assert "run is in progress" in Gate(running=True).quit_question()
    assert "unsaved" in Gate(unsaved=True).quit_question()


# --- item 7: `s` asks, with the plan's summary ------------------------------------------------------


async def test_s_shows_the_plan_summary_and_runs_nothing_until_yes(cluster, cluster_file):
    app = ArcusApp(cluster, str(cluster_file))
    async with app.run_test(size=SIZE) as pilot:
        pane = setup_pane(app)
        app.runs.runner_factory = HangingRunner
        HangingRunner.last = None
        await pilot.press("2", "s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmSetupScreen), "the setup question")
        question = drawn(app.screen.query_one("#confirm-setup-what"))
        steps = len(pane.matrix.plan.steps)
        assert f"{steps} steps on 3 hosts for service code test-cloud" in question
        for effect in ("start ZooKeeper 127.0.0.2:2181 on cache002", "start memcached 127.0.0.2:11212 on cache002",
                       "register service code test-cloud in ZooKeeper"):
            assert effect in question
        assert "[y/N]" in question
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen) and not pane.running and HangingRunner.last is None
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmSetupScreen), "the setup question")
        await pilot.press("enter")  # Enter is no, like every y/N here
        await pilot.pause()
        assert not pane.running and HangingRunner.last is None
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmSetupScreen), "the setup question")
        await pilot.press("y")
        await until(pilot, lambda: pane.running, "the run")
        pane.action_cancel_run()
        await until(pilot, lambda: not pane.running, "the cancel")


# --- item 7: cancelling a run ----------------------------------------------------------------------


async def test_x_cancels_the_run_in_progress_and_the_pane_says_so(cluster, cluster_file):
    app = ArcusApp(cluster, str(cluster_file))
    async with app.run_test(size=SIZE) as pilot:
        assert "x" not in footer_keys(app)  # nothing to cancel yet
        pane = await start_hanging_run(app, pilot)
        assert footer_keys(app).get("x") is True  # shown while the run is in progress
        assert "Setup running" in status(app) and "x cancels it" in status(app)
        assert "running" in pane.matrix.cell_text(StepId.MAKE_KEY.value, GATEWAY)
        await pilot.press("x")
        await until(pilot, lambda: not pane.running, "the run to end", timeout=1.0)  # within a second
        await pilot.pause()
        runner = HangingRunner.last
        assert runner.cancelled and runner.closed  # the engine was stopped and its connections closed
        assert "Setup cancelled" in status(app)
        assert pane.matrix.cell_text(StepId.MAKE_KEY.value, GATEWAY).endswith("cancelled")
        assert "x" not in footer_keys(app)
        assert footer_keys(app).get("s") is True  # and it can be run again


async def test_ctrl_c_cancels_too(cluster, cluster_file):
    app = ArcusApp(cluster, str(cluster_file))
    async with app.run_test(size=SIZE) as pilot:
        pane = await start_hanging_run(app, pilot)
        await pilot.press("ctrl+c")
        await until(pilot, lambda: not pane.running, "the run to end", timeout=1.0)
        assert app.is_running and "Setup cancelled" in status(app)


async def test_a_cancelled_worker_still_posts_its_end(cluster, cluster_file):
    """Cancelled from anywhere (the app quitting, a test), the worker ends as cancelled and the
    pane does not stay "running"."""
    app = ArcusApp(cluster, str(cluster_file))
    async with app.run_test(size=SIZE) as pilot:
        pane = await start_hanging_run(app, pilot)
        (worker,) = [w for w in app.workers if w.group == "deploy"]
        worker.cancel()
        await until(pilot, lambda: not pane.running, "the run to end", timeout=1.0)
        await pilot.pause()
        assert worker.state is WorkerState.CANCELLED  # the cancel was re-raised, not swallowed
        assert "Setup cancelled" in status(app) and "running" not in status(app)
        assert pane.matrix.cell(StepId.MAKE_KEY.value, GATEWAY).message == CANCELLED


# --- item 8: quitting, read-only, a run in progress, unsaved edits ---------------------------------------


async def test_q_during_a_run_asks_first(cluster, cluster_file):
    app = ArcusApp(cluster, str(cluster_file))
    async with app.run_test(size=SIZE) as pilot:
        pane = await start_hanging_run(app, pilot)
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "run is in progress" in drawn(app.screen.query_one("#edit-question"))
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running and pane.running
        await pilot.press("q")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert not app.is_running
    assert HangingRunner.last.cancelled and HangingRunner.last.closed


async def test_the_layout_can_be_edited_and_saved_during_a_run_which_keeps_its_own(cluster, cluster_file):
    app = ArcusApp(cluster, str(cluster_file))
    async with app.run_test(size=SIZE) as pilot:
        await start_hanging_run(app, pilot)
        await pilot.press("1")
        await pilot.pause()
        keys = footer_keys(app)
        assert keys.get("a") is True and keys.get("ctrl+s") is True
        await pilot.press("z")  # cache001 leaves the ensemble
        await pilot.pause()
        assert "modified" in drawn(main_screen(app).query_one("#cluster-summary"))
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert 'address = "127.0.0.1"\nzookeeper = true' not in cluster_file.read_text()  # saved
        assert HangingRunner.last is not None and not HangingRunner.last.cancelled
        await pilot.press("2")  # the Setup pane was built anew by the save: it shows the same run
        await pilot.pause()
        assert setup_pane(app).running and "Setup running" in status(app)
        await pilot.press("x")
        await until(pilot, lambda: not setup_pane(app).running, "the cancel")
        await pilot.pause()
        assert "Setup cancelled" in status(app) and HangingRunner.last.cancelled


async def test_unsaved_edits_turn_the_runs_off_until_saved(cluster, cluster_file):
    app = ArcusApp(cluster, str(cluster_file))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("z")  # cache001 leaves the ensemble, not saved
        await pilot.pause()
        await pilot.press("2")
        await pilot.pause()
        assert footer_keys(app).get("s") is False and footer_keys(app).get("t") is False
        assert "Unsaved layout edits" in status(app)
        await pilot.press("s", "t")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen) and not setup_pane(app).running
        await pilot.press("1", "ctrl+s")
        await pilot.pause()
        await pilot.press("2")
        await pilot.pause()
        assert footer_keys(app).get("s") is True
        assert "Unsaved layout edits" not in status(app)


async def test_read_only_hides_every_mutating_key(cluster, cluster_file):
    app = ArcusApp(cluster, str(cluster_file), read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not {"a", "ctrl+s"} & set(footer_keys(app))
        await pilot.press("2")
        await pilot.pause()
        assert not {"s", "r", "t", "x"} & set(footer_keys(app))
        assert "q" in footer_keys(app)


# --- item 8: the empty state ------------------------------------------------------------------------


async def test_no_cluster_file_shows_the_ways_to_get_one():
    app = ArcusApp(None, None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        shown = drawn(app.screen.query_one("#no-cluster"))
        assert "not built yet" not in shown
        assert "No cluster file" in shown
        for step in ("1. Start arcus-tui with the cluster file of your cloud:   arcus-tui cluster.toml",
                     "arcus-tui import-arcus", "sample_clusters/colocated.toml", "arcus-tui sandbox up"):
            assert step in shown
