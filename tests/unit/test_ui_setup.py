"""The Setup and Logs tabs, driven by a scripted stand-in for the deploy runner.

The fake runner emits what the real one would (states, output lines, a failure,
skips), asks for the password and about an unknown host key through the very
callables the pane gives it, and returns a `DeployReport` built from its events.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.widgets import Button, Input

from arcus_tui.deploy.plan import ENSEMBLE, Plan, StepId, setup_plan, teardown_plan
from arcus_tui.deploy.report import DeployReport
from arcus_tui.deploy.runner import Runner
from arcus_tui.events import GATEWAY, HostState, ProgressEvent, Stream
from arcus_tui.model import parse_cluster
from arcus_tui.ssh.connect import Password
from arcus_tui.ssh.hostkeys import HostKeyQuestion
from arcus_tui.ssh.paths import SshPaths
from arcus_tui.ui.app import ArcusApp
from arcus_tui.ui.panes.logs import LogsPane
from arcus_tui.ui.panes.setup import SetupPane
from arcus_tui.ui.screens.ask_host_key import AskHostKeyScreen
from arcus_tui.ui.screens.ask_password import AskPasswordScreen
from arcus_tui.ui.screens.confirm_setup import ConfirmSetupScreen
from arcus_tui.ui.screens.confirm_teardown import ConfirmTeardownScreen
from arcus_tui.ui.screens.help import HelpScreen
from arcus_tui.ui.screens.main import MainScreen
from arcus_tui.ui.widgets.log_view import LogView
from arcus_tui.ui.widgets.setup_matrix import SetupMatrix, plan_targets
from tests.unit.cluster_texts import THREE_HOSTS
from tests.unit.ui_waits import drawn, toasts, until

CLUSTER_TEXT = THREE_HOSTS

HOSTS = ("cache001", "cache002", "cache003")
SIZE = (140, 45)
SECRET = "s3cret-Pa55word"
FINGERPRINT = "SHA256:AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg"


@pytest.fixture
def cluster():
    result = parse_cluster(CLUSTER_TEXT, "test.toml")
    assert result.ok, [p.format("test.toml") for p in result.problems]
    return result.cluster


def question_for(host: str, tmp_path: Path) -> HostKeyQuestion:
    return HostKeyQuestion(host=host, hostname="127.0.0.2", address="127.0.0.2", port=22, key_type="ssh-ed25519",
                           fingerprint=FINGERPRINT, public_key="ssh-ed25519 AAAAC3Nza", known_hosts=tmp_path / "kh")


# --- the fake runner ------------------------------------------------------------------------


class FakeRunner:
    """Plays one script per run; records what it was given and what the operator answered."""

    def __init__(self, factory: "FakeFactory", cluster, options, sink):
        self.factory = factory
        self.cluster = cluster
        self.options = options
        self.sink = sink
        self.closed = False

    async def run(self, plan: Plan, *, previous=None) -> DeployReport:
        self.factory.runs.append((plan, previous))
        self.report = DeployReport(plan)
        if previous is not None:  # what succeeded last time is kept, as the real runner does
            for (step, target), outcome in previous.outcomes.items():
                if outcome.state.succeeded:
                    self.report.set(step, target, outcome.state, outcome.message)
        script = self.factory.scripts.pop(0)
        await script(self, plan, previous)
        return self.report

    async def close(self) -> None:
        self.closed = True

    def emit(self, target: str, step: StepId, state=None, text="", stream=Stream.INFO, duration=None,
             exit_status=None) -> None:
        self.sink(ProgressEvent(target, step.value, stream, text, state=state, duration=duration,
                                exit_status=exit_status))
        if state is not None and state.finished:
            self.report.set(step, target, state, text)

    def finish(self, target: str, step: StepId, state=HostState.OK, text="", duration=0.25) -> None:
        self.emit(target, step, HostState.RUNNING)
        self.emit(target, step, state, text, duration=duration)


class FakeFactory:
    """The pane's `runner_factory`: a `FakeRunner` per run."""

    def __init__(self, *scripts):
        self.scripts = list(scripts)
        self.runners: list[FakeRunner] = []
        self.runs: list[tuple[Plan, object]] = []

    def __call__(self, cluster, options, sink):
        runner = FakeRunner(self, cluster, options, sink)
        self.runners.append(runner)
        return runner


def first_setup(tmp_path: Path, answers: dict):
    """Key made; copy-key asks about cache002's host key and for the password, fails on
    cache003 (stderr + failure); everything cache003 needs later is skipped."""

    async def script(runner: FakeRunner, plan: Plan, previous) -> None:
        runner.emit(GATEWAY, StepId.MAKE_KEY, HostState.RUNNING)
        runner.emit(GATEWAY, StepId.MAKE_KEY, text="made a new ed25519 key /tmp/gw/id_ed25519")
        runner.emit(GATEWAY, StepId.MAKE_KEY, HostState.OK, "made /tmp/gw/id_ed25519", duration=0.1)
        for host in HOSTS:
            runner.emit(host, StepId.COPY_KEY, HostState.RUNNING)
        answers["host_key"] = await runner.options.on_unknown_host_key(question_for("cache002", tmp_path))
        answers["password"] = await runner.options.ask_password()
        runner.emit("cache001", StepId.COPY_KEY, text="Number of key(s) added: 1", stream=Stream.STDOUT)
        runner.emit("cache001", StepId.COPY_KEY, HostState.OK, duration=1.25)
        runner.emit("cache002", StepId.COPY_KEY, HostState.OK, duration=1.5)
        runner.emit("cache003", StepId.COPY_KEY, text="Permission denied, please try again.", stream=Stream.STDERR)
        runner.emit("cache003", StepId.COPY_KEY, HostState.FAILED, "authentication failed", duration=2.0,
                    exit_status=None)
        runner.finish("cache001", StepId.VERIFY_LOGIN)
        runner.finish("cache002", StepId.VERIFY_LOGIN, HostState.ALREADY_DONE)
        for step in plan.steps[3:]:
            for target in step.targets:
                if target == "cache003":
                    runner.emit(target, step.id, HostState.SKIPPED, "copy-key did not succeed on this host")
                else:
                    runner.finish(target, step.id)
        runner.emit("cache003", StepId.VERIFY_LOGIN, HostState.SKIPPED, "copy-key did not succeed on this host")

    return script


async def everything_ok(runner: FakeRunner, plan: Plan, previous) -> None:
    """Run what did not succeed before; all of it works now."""
    runner.factory.rerun = []
    for step in plan.steps:
        for target in step.targets:
            if previous is not None and previous.succeeded(step.id, target):
                continue
            runner.factory.rerun.append((step.id, target))
            runner.finish(target, step.id)


def setup_pane(app: ArcusApp) -> SetupPane:
    return main_screen(app).query_one(SetupPane)


def main_screen(app: ArcusApp) -> MainScreen:
    return next(screen for screen in app.screen_stack if isinstance(screen, MainScreen))


def logs_pane(app: ArcusApp) -> LogsPane:
    return main_screen(app).query_one(LogsPane)


async def start_with(app: ArcusApp, pilot, factory: FakeFactory) -> SetupPane:
    pane = setup_pane(app)
    app.runs.runner_factory = factory
    await pilot.press("2")
    await pilot.pause()
    return pane


async def start_setup(app: ArcusApp, pilot) -> None:
    """`s`, then `y` to the plan summary it shows."""
    await pilot.press("s")
    await until(pilot, lambda: isinstance(app.screen, ConfirmSetupScreen), "the setup confirmation")
    await pilot.press("y")
    await pilot.pause()


async def answer_first_setup(app: ArcusApp, pilot) -> None:
    """Trust the host key, give the password."""
    await until(pilot, lambda: isinstance(app.screen, AskHostKeyScreen), "the host key question")
    await pilot.press("y")
    await until(pilot, lambda: isinstance(app.screen, AskPasswordScreen), "the password prompt")
    await pilot.press(*SECRET)
    await pilot.press("enter")


async def finished(pilot, pane: SetupPane, runs: int) -> None:
    await until(pilot, lambda: pane.run_number == runs and not pane.running, "the run to finish")
    await pilot.pause()


def every_text(app: ArcusApp) -> str:
    """Everything the operator could read: every screen's widgets, logs, cells, notifications."""
    parts = []
    for screen in app.screen_stack:
        for widget in screen.query("*"):
            if isinstance(widget, Input):
                parts.append(widget.value)
            elif isinstance(widget, LogView):
                parts.append(widget.text)
            elif isinstance(widget, SetupMatrix):
                parts.extend(f"{c.message} {c.last_line}" for c in widget.cells.values())
            else:
                try:
                    parts.append(str(widget.render()))
                    parts.append(getattr(widget.render(), "plain", ""))
                except Exception:
                    pass
    parts.append(toasts(app))  # drawn only when the app runs with notifications=True
    parts.append(app.export_screenshot())
    return "\n".join(parts)


# --- the matrix -------------------------------------------------------------------------------


async def test_matrix_shows_the_plan_pending_before_any_run(cluster):
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        matrix = setup_pane(app).matrix
        plan = setup_plan(cluster)
        assert matrix.targets == [GATEWAY, *HOSTS, ENSEMBLE]
        assert [str(col.label) for col in matrix.columns.values()] == ["Step", GATEWAY, *HOSTS, ENSEMBLE, "Time"]
        assert [matrix.get_cell_at((row, 0)).plain for row in range(matrix.row_count)] == [
            f"{n}. {step.title}" for n, step in enumerate(plan.steps, 1)]
        assert matrix.cell_text(StepId.MAKE_KEY.value, GATEWAY) == "· pending"
        assert matrix.cell_text(StepId.MAKE_KEY.value, "cache001") == ""  # not a target of that step
        assert matrix.cell_text(StepId.ZOOKEEPER_QUORUM.value, ENSEMBLE) == "· pending"
        status = app.screen.query_one("#setup-status").render().plain
        assert "test-cloud" in status and "s runs the whole setup" in status


def test_plan_targets_put_gateway_first_and_the_ensemble_last(cluster):
    assert plan_targets(setup_plan(cluster)) == [GATEWAY, *HOSTS, ENSEMBLE]
    assert plan_targets(teardown_plan(cluster)) == [*HOSTS, ENSEMBLE]


async def test_setup_run_fills_matrix_and_logs(cluster, tmp_path):
    answers: dict = {}
    factory = FakeFactory(first_setup(tmp_path, answers))
    app = ArcusApp(cluster, "test.toml", ssh_paths=SshPaths.under(tmp_path / "gw"))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        pane = await start_with(app, pilot, factory)
        await start_setup(app, pilot)

        # the host-key question: host, key type and fingerprint on screen; copy-key is running meanwhile
        await until(pilot, lambda: isinstance(app.screen, AskHostKeyScreen), "the host key question")
        question = app.screen.query_one("#host-key-question").render().plain
        assert "cache002" in question and "ssh-ed25519" in question and FINGERPRINT in question
        matrix = pane.matrix
        assert matrix.state(StepId.MAKE_KEY.value, GATEWAY) is HostState.OK
        assert matrix.state(StepId.COPY_KEY.value, "cache001") is HostState.RUNNING
        assert matrix.cell_text(StepId.COPY_KEY.value, "cache001").endswith(" running")
        assert "running" in app.screen_stack[0].query_one("#setup-status").render().plain
        await pilot.press("y")

        await until(pilot, lambda: isinstance(app.screen, AskPasswordScreen), "the password prompt")
        field = app.screen.query_one(Input)
        assert field.password  # shown as dots
        await pilot.press(*SECRET)
        await pilot.press("enter")
        await finished(pilot, pane, 1)

        # the engine got the answers
        assert answers["host_key"] is True
        assert isinstance(answers["password"], Password) and answers["password"].reveal() == SECRET
        assert len(factory.runs) == 1 and factory.runs[0][1] is None
        assert factory.runners[0].closed
        assert factory.runners[0].options.ssh_paths == SshPaths.under(tmp_path / "gw")
        assert factory.runners[0].options.read_only is False

        # the matrix: every state, glyph and time
        assert matrix.cell_text(StepId.MAKE_KEY.value, GATEWAY) == "✓ ok"
        assert matrix.cell_text(StepId.COPY_KEY.value, "cache001") == "✓ ok"
        assert matrix.cell_text(StepId.COPY_KEY.value, "cache003") == "✗ failed"
        assert matrix.cell_text(StepId.VERIFY_LOGIN.value, "cache002") == "= already-done"
        assert matrix.cell_text(StepId.VERIFY_LOGIN.value, "cache003") == "– skipped"
        assert matrix.cell_text(StepId.MEMCACHED_START.value, "cache003") == "– skipped"
        assert matrix.cell_text(StepId.MEMCACHED_ONLINE.value, ENSEMBLE) == "✓ ok"
        assert matrix.get_cell(StepId.COPY_KEY.value, "#time").plain == "2.0s"  # its slowest host
        assert matrix.cell(StepId.COPY_KEY.value, "cache003").message == "authentication failed"
        failed_style = matrix.get_cell(StepId.COPY_KEY.value, "cache003").style
        assert app.theme_variables["error"].lower() in str(failed_style).lower()

        status = pane.query_one("#setup-status").render().plain
        assert "finished with 1 failed and 4 skipped" in status and "r runs again" in status

        # the highlighted cell's detail: move to copy-key / cache003
        matrix.focus()
        matrix.cursor_coordinate = (1, 1 + matrix.targets.index("cache003"))
        await pilot.pause()
        detail = pane.query_one("#setup-detail").render().plain
        assert "Copy the key to every host · cache003" in detail and "failed" in detail
        assert "authentication failed" in detail

        # the logs: a pane per target, lines prefixed by step, stderr in the error colour
        logs = logs_pane(app)
        assert logs.targets == [GATEWAY, *HOSTS, ENSEMBLE]
        assert [view.target for view in logs.tiles] == [GATEWAY, *HOSTS, ENSEMBLE]  # all on one page
        gateway = logs.log_of(GATEWAY).text
        assert "make-key         made a new ed25519 key /tmp/gw/id_ed25519" in gateway
        assert "make-key         ✓ ok 0.1s: made /tmp/gw/id_ed25519" in gateway
        third = logs.log_of("cache003")
        assert "copy-key         Permission denied, please try again." in third.text
        assert "copy-key         ✗ failed 2.0s: authentication failed" in third.text
        assert "verify-login     – skipped: copy-key did not succeed on this host" in third.text
        assert third.text.splitlines()[0].startswith("── setup 1 · ")
        await pilot.press("3")
        await pilot.pause()
        row = next(y for y in range(third.size.height) if "Permission denied" in third.render_line(y).text)
        stderr_styles = [segment.style for segment in third.render_line(row) if "Permission" in segment.text]
        assert any(app.theme_variables["error"].lower() in str(style).lower() for style in stderr_styles)
        assert "copy-key         Number of key(s) added: 1" in logs.log_of("cache001").text
        assert "zookeeper-quorum ✓ ok" in logs.log_of(ENSEMBLE).text
        assert "cache003" not in logs.log_of("cache001").text

        # the password went to the engine and nowhere else
        seen = every_text(app)
        assert "authentication failed" in seen and "Number of key(s) added" in seen  # the search sees text
        assert SECRET not in seen
        assert not any(isinstance(screen, AskPasswordScreen) for screen in app.screen_stack)
        await pilot.press("3")
        await pilot.pause()
        assert SECRET not in every_text(app)


async def test_retry_runs_again_with_the_previous_report(cluster, tmp_path):
    factory = FakeFactory(first_setup(tmp_path, {}), everything_ok)
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=SIZE) as pilot:
        pane = await start_with(app, pilot, factory)
        assert pane.check_action("retry", ()) is None  # nothing to retry yet
        await start_setup(app, pilot)
        await answer_first_setup(app, pilot)
        await finished(pilot, pane, 1)
        first = pane.report
        assert first is not None and not first.ok
        assert pane.check_action("retry", ()) is True
        assert not pane.query_one("#setup-retry", Button).disabled

        await pilot.press("r")
        await finished(pilot, pane, 2)
        plan, previous = factory.runs[1]
        assert previous is first and plan is first.plan
        failed_before = {(step, target) for step, target, _ in first.failures()}
        assert set(factory.rerun) == failed_before  # only what did not succeed ran again
        matrix = pane.matrix
        assert all(state.succeeded for _, _, state in matrix.states())
        assert matrix.cell_text(StepId.VERIFY_LOGIN.value, "cache002") == "= already-done"  # kept
        assert matrix.cell_text(StepId.COPY_KEY.value, "cache003") == "✓ ok"
        assert "Retry done" in pane.query_one("#setup-status").render().plain
        assert pane.check_action("retry", ()) is None  # nothing left to retry
        assert "── retry 2 · " in logs_pane(app).log_of("cache003").text


async def test_refused_host_key_and_no_password_reach_the_engine_as_such(cluster, tmp_path):
    answers: dict = {}
    factory = FakeFactory(first_setup(tmp_path, answers))
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=SIZE) as pilot:
        pane = await start_with(app, pilot, factory)
        await start_setup(app, pilot)
        await until(pilot, lambda: isinstance(app.screen, AskHostKeyScreen), "the host key question")
        assert app.focused.id == "refuse"  # the safe answer is the default
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, AskPasswordScreen), "the password prompt")
        await pilot.press("escape")
        await finished(pilot, pane, 1)
        assert answers == {"host_key": False, "password": None}


async def test_one_question_on_screen_at_a_time(cluster, tmp_path):
    """Hosts connecting at once may ask together: the modals come one after the other."""
    answers = []

    async def script(runner, plan, previous):
        asks = [runner.options.on_unknown_host_key(question_for(host, tmp_path)) for host in HOSTS]
        answers.extend(await asyncio.gather(*asks))

    factory = FakeFactory(script)
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=SIZE) as pilot:
        pane = await start_with(app, pilot, factory)
        await start_setup(app, pilot)
        for expected in ("y", "n", "y"):
            await until(pilot, lambda: isinstance(app.screen, AskHostKeyScreen), "a host key question")
            assert sum(isinstance(s, AskHostKeyScreen) for s in app.screen_stack) == 1
            await pilot.press(expected)
            await pilot.pause()
        await finished(pilot, pane, 1)
        assert answers == [True, False, True]


# --- teardown --------------------------------------------------------------------------------


async def test_teardown_needs_the_typed_confirmation(cluster):
    async def teardown(runner, plan, previous):
        for step in plan.steps:
            for target in step.targets:
                runner.finish(target, step.id)

    factory = FakeFactory(teardown)
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=SIZE) as pilot:
        pane = await start_with(app, pilot, factory)

        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, ConfirmTeardownScreen), "the confirmation")
        text = app.screen.query_one("#confirm-what").render().plain
        assert "Delete test-cloud" in text and "Stop memcached" in text and "Stop ZooKeeper" in text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen) and factory.runs == []

        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, ConfirmTeardownScreen), "the confirmation")
        await pilot.press(*"delete test-cloud", "enter")  # not exactly the phrase
        await pilot.pause()
        assert isinstance(app.screen, ConfirmTeardownScreen)
        assert "Not confirmed" in app.screen.query_one("#confirm-error").render().plain
        assert factory.runs == []

        app.screen.query_one(Input).value = ""
        await pilot.press(*"Delete test-cloud", "enter")
        await finished(pilot, pane, 1)
        plan, previous = factory.runs[0]
        assert previous is None
        assert [step.id for step in plan.steps] == [step.id for step in teardown_plan(cluster).steps]
        assert pane.matrix.targets == [*HOSTS, ENSEMBLE]
        assert pane.matrix.cell_text(StepId.UNREGISTER.value, ENSEMBLE) == "✓ ok"
        assert "Teardown done" in pane.query_one("#setup-status").render().plain


# --- read-only -------------------------------------------------------------------------------


async def test_read_only_never_calls_the_runner_and_the_engine_refuses_anyway(cluster):
    factory = FakeFactory()
    app = ArcusApp(cluster, "test.toml", read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        pane = await start_with(app, pilot, factory)
        status = pane.query_one("#setup-status").render().plain
        assert "READ-ONLY" in status and "refuses writes" in status
        for key in ("s", "r", "t"):
            assert pane.check_action({"s": "start", "r": "retry", "t": "teardown"}[key], ()) is False  # hidden
            assert key not in {b.binding.key for b in app.active_bindings.values() if b.binding.show}
            await pilot.press(key)
            await pilot.pause()
        assert isinstance(app.screen, MainScreen)  # no confirmation, no password prompt
        assert factory.runners == [] and factory.runs == []
        assert all(button.disabled for button in pane.query(Button))
        await pilot.click("#setup-start")
        assert factory.runs == []

        # invoked anyway (say from code): the real engine refuses before anything runs
        app.runs.runner_factory = Runner  # the real engine
        pane.launch("setup", setup_plan(cluster), None)
        await finished(pilot, pane, 1)
        status = pane.query_one("#setup-status").render().plain
        assert "Setup not run: read-only mode: deploy steps change servers and znodes, so none is run" in status
        assert all(state is HostState.PENDING for _, _, state in pane.matrix.states())


async def test_no_cluster_file_has_nothing_to_run():
    app = ArcusApp(None, None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        pane = setup_pane(app)
        assert "No cluster file" in pane.query_one("#setup-status").render().plain
        assert pane.check_action("start", ()) is None
        await pilot.press("s")
        assert not pane.running


# --- logs keys, help ---------------------------------------------------------------------------


async def test_logs_maximise_cycle_and_clear(cluster, tmp_path):
    factory = FakeFactory(first_setup(tmp_path, {}))
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=SIZE) as pilot:
        pane = await start_with(app, pilot, factory)
        await start_setup(app, pilot)
        await answer_first_setup(app, pilot)
        await finished(pilot, pane, 1)

        await pilot.press("3")
        await pilot.pause()
        logs = logs_pane(app)

        def focused_target():
            return getattr(app.focused, "target", "not a log")

        def shown():
            return [view.target for view in logs.tiles if view.display]

        assert focused_target() == GATEWAY
        await pilot.press("n")
        assert focused_target() == "cache001"
        await pilot.press("f")
        assert logs.maximised and shown() == ["cache001"]
        await pilot.press("n")  # the maximised view follows
        assert shown() == ["cache002"] and focused_target() == "cache002"
        await pilot.press("p", "p")
        assert shown() == [GATEWAY]
        await pilot.press("enter")
        assert not logs.maximised and shown() == [GATEWAY, *HOSTS, ENSEMBLE]

        await pilot.press("f")  # the gateway's log maximised; three hosts on: cache003's
        await pilot.press("n", "n", "n")
        await pilot.pause()
        third = app.focused
        assert shown() == ["cache003"] and third.target == "cache003"
        assert "Permission denied, please try again." in drawn(third)
        await pilot.press("c")
        await pilot.pause()
        on_screen = drawn(third)
        assert "Permission denied" not in on_screen and "copy-key  " not in on_screen  # gone from the screen
        assert "skipped" in on_screen  # the last state stays in the title
        assert all(view.text == "" for view in logs.tiles)


async def test_help_lists_the_setup_and_logs_keys(cluster):
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = app.screen.query_one("#help-keys").render().plain
        for fragment in ("Setup", "only what failed", "Delete <service code>", "cancel the run in progress",
                         "Logs", "maximise", "clear every log"):
            assert fragment in text


async def test_footer_shows_the_setup_keys_on_the_setup_tab(cluster):
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await pilot.pause()
        shown = {b.binding.key for b in app.active_bindings.values() if b.binding.show}
        assert {"s", "r", "t"} <= shown


async def test_lines_that_came_while_the_logs_tab_was_hidden_are_drawn_when_shown(cluster, tmp_path):
    factory = FakeFactory(first_setup(tmp_path, {}))
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")  # seen once: the logs know their size
        await pilot.pause()
        pane = await start_with(app, pilot, factory)
        await start_setup(app, pilot)
        await answer_first_setup(app, pilot)
        await finished(pilot, pane, 1)
        await pilot.press("3")
        await pilot.pause(0.2)
        log = logs_pane(app).log_of("cache003")
        width = log.scrollable_content_region.width
        on_screen = drawn(log)
        assert width > 40 and "copy-key         Permission denied, please"[:width - 2] in on_screen
        assert log.text.splitlines()[-1].split()[-1] in on_screen  # following: the newest line is shown
