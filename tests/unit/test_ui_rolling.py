"""The Setup tab's rolling restarts (`R` memcached, `Z` ZooKeeper), driven by a scripted
stand-in for the deploy runner: the order shown before anything runs, one matrix row per
restart and per check in that order, where the run stands, and the gate (read-only hides
the keys). Asserted on what is drawn."""

from __future__ import annotations

import pytest

from arcus_tui.deploy import rolling
from arcus_tui.deploy.plan import ENSEMBLE, Plan
from arcus_tui.deploy.report import DeployReport
from arcus_tui.events import HostState, ProgressEvent
from arcus_tui.model import parse_cluster
from arcus_tui.ui.app import ArcusApp
from arcus_tui.ui.screens.confirm_setup import ConfirmSetupScreen
from arcus_tui.ui.screens.main import MainScreen
from arcus_tui.zk.fourletter import MemberMode, Mode
from tests.unit.cluster_texts import THREE_HOSTS
from tests.unit.test_ui_setup import finished, setup_pane
from tests.unit.ui_waits import drawn, toasts, until

SIZE = (160, 50)
CLUSTER_TEXT = THREE_HOSTS.replace('address = "127.0.0.2"\nzookeeper = true\nmemcached = [11211]',
                                    'address = "127.0.0.2"\nzookeeper = true\nmemcached = [11211, 11212]')
NODES = ["127.0.0.1:11211", "127.0.0.2:11211", "127.0.0.2:11212", "127.0.0.3:11211"]


@pytest.fixture(autouse=True)
def every_node_serving(monkeypatch):
    """cache_list as the memcached restart reads it first: every node in it (no ZooKeeper here)."""
    async def none_down(cluster):
        return frozenset()

    monkeypatch.setattr(rolling, "nodes_out_of_cache_list", none_down)


@pytest.fixture
def cluster():
    result = parse_cluster(CLUSTER_TEXT, "test.toml")
    assert result.ok
    return result.cluster


class ScriptedRunner:
    """Restarts and checks succeed up to `fail_at` (a check that fails there), as the real runner
    reports them; the steps after a failed check are skipped."""

    def __init__(self, factory, cluster, options, sink):
        self.factory, self.sink = factory, sink

    async def run(self, plan: Plan, *, previous=None) -> DeployReport:
        self.factory.plans.append(plan)
        report = DeployReport(plan)
        stopped = False
        for step in plan.steps:
            for target in step.targets:
                if stopped:
                    state, text = HostState.SKIPPED, "previous check did not succeed"
                elif step.id.value == self.factory.fail_at:
                    state, text = HostState.FAILED, "127.0.0.2:11211 does not serve after 60s: not in cache_list"
                    stopped = True
                else:
                    state, text = HostState.OK, ""
                self.sink(ProgressEvent(target, step.id.value, state=HostState.RUNNING))
                self.sink(ProgressEvent(target, step.id.value, text=text, state=state, duration=0.5))
                report.set(step.id, target, state, text)
        return report

    async def close(self) -> None:
        pass


class Factory:
    def __init__(self, fail_at: str = ""):
        self.fail_at = fail_at
        self.plans: list[Plan] = []

    def __call__(self, cluster, options, sink):
        return ScriptedRunner(self, cluster, options, sink)


def modal_text(app) -> str:
    """The confirm modal's whole text (it scrolls: more than a screen for a fleet)."""
    return app.screen.query_one("#confirm-setup-what").render().plain


def row_titles(matrix) -> list[str]:
    return [matrix.get_cell_at((row, 0)).plain for row in range(matrix.row_count)]


async def open_setup(app, pilot, factory):
    app.runs.runner_factory = factory
    await pilot.press("2")
    await pilot.pause()
    return setup_pane(app)


async def test_rolling_restart_shows_the_order_then_a_row_per_node_in_that_order(cluster):
    factory = Factory()
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_setup(app, pilot, factory)
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ConfirmSetupScreen), "the order to confirm")
        modal = modal_text(app)
        assert "Rolling restart of memcached" in drawn(app.screen.query_one("VerticalScroll"))
        assert "Restart in this order now?" in modal
        positions = [modal.index(f"Restart {node}") for node in NODES]
        assert positions == sorted(positions)  # the cluster file's order, one node at a time
        assert factory.plans == []  # nothing runs before the y
        await pilot.press("y")
        await finished(pilot, pane, 1)

        matrix = pane.matrix
        expected = [title for node in NODES for title in (f"Restart {node}", f"{node} serves again")]
        assert row_titles(matrix) == [f"{n}. {title}" for n, title in enumerate(expected, 1)]
        first_check = factory.plans[0].steps[1].id.value
        assert matrix.cell_text(first_check, ENSEMBLE) == "✓ ok"
        screen_text = drawn(matrix)
        assert "Restart 127.0.0.2:11212" in screen_text and "127.0.0.3:11211 serves again" in screen_text
        status = pane.query_one("#setup-status").render().plain
        assert "Rolling restart of memcached done" in status


async def test_a_node_that_does_not_come_back_stops_the_run_where_it_stands(cluster):
    plan = rolling.memcached_rolling_plan(cluster)
    factory = Factory(fail_at=plan.steps[3].id.value)  # the check of the second node
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_setup(app, pilot, factory)
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ConfirmSetupScreen), "the order to confirm")
        await pilot.press("y")
        await finished(pilot, pane, 1)
        matrix = pane.matrix
        assert matrix.cell_text(plan.steps[2].id.value, "cache002") == "✓ ok"
        assert matrix.cell_text(plan.steps[3].id.value, ENSEMBLE) == "✗ failed"
        assert matrix.cell_text(plan.steps[4].id.value, "cache002") == "– skipped"
        assert "not in cache_list" in matrix.cell(plan.steps[3].id.value, ENSEMBLE).message
        status = pane.query_one("#setup-status").render().plain
        assert "Rolling restart of memcached finished with 1 failed" in status


async def test_a_node_out_of_cache_list_is_restarted_first(cluster, monkeypatch):
    async def one_down(cluster):
        return frozenset({"127.0.0.2:11212"})

    monkeypatch.setattr(rolling, "nodes_out_of_cache_list", one_down)
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=SIZE) as pilot:
        await open_setup(app, pilot, Factory())
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ConfirmSetupScreen), "the order to confirm")
        modal = modal_text(app)
        order = [modal.index(f"Restart {node}") for node in ["127.0.0.2:11212", *NODES[:2], NODES[3]]]
        assert order == sorted(order)


async def test_unreadable_cache_list_is_refused_and_nothing_runs(cluster, monkeypatch):
    async def unreadable(cluster):
        return None

    monkeypatch.setattr(rolling, "nodes_out_of_cache_list", unreadable)
    factory = Factory()
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_setup(app, pilot, factory)
        await pilot.press("R")
        await until(pilot, lambda: "cannot read /arcus/cache_list/test-cloud" in toasts(app), "the refusal")
        assert isinstance(app.screen, MainScreen) and factory.plans == []


async def test_zookeeper_restart_shows_the_leader_last(cluster, monkeypatch):
    async def modes(members):
        said = {"127.0.0.1:2181": Mode.LEADER, "127.0.0.2:2181": Mode.FOLLOWER, "127.0.0.3:2181": Mode.FOLLOWER}
        return [MemberMode(member, said[member]) for member in members]

    monkeypatch.setattr(rolling, "_probe", modes)
    factory = Factory()
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_setup(app, pilot, factory)
        await pilot.press("Z")
        await until(pilot, lambda: isinstance(app.screen, ConfirmSetupScreen), "the order to confirm")
        modal = modal_text(app)
        assert "Rolling restart of ZooKeeper" in drawn(app.screen.query_one("VerticalScroll"))
        assert (modal.index("127.0.0.2:2181 (follower)") < modal.index("127.0.0.3:2181 (follower)")
                < modal.index("127.0.0.1:2181 (leader)"))
        await pilot.press("y")
        await finished(pilot, pane, 1)
        titles = row_titles(pane.matrix)
        assert titles[0] == "1. Restart ZooKeeper 127.0.0.2:2181 (follower)"
        assert titles[-2] == "5. Restart ZooKeeper 127.0.0.1:2181 (leader)"


async def test_zookeeper_restart_without_quorum_is_refused_and_nothing_runs(cluster, monkeypatch):
    async def silent(members):
        return [MemberMode(member, Mode.UNREACHABLE, error="connection refused") for member in members]

    monkeypatch.setattr(rolling, "_probe", silent)
    factory = Factory()
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_setup(app, pilot, factory)
        await pilot.press("Z")
        await until(pilot, lambda: "no quorum" in toasts(app), "the refusal")
        assert isinstance(app.screen, MainScreen) and factory.plans == []


async def test_read_only_hides_the_restart_keys(cluster):
    factory = Factory()
    app = ArcusApp(cluster, "test.toml", read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_setup(app, pilot, factory)
        assert pane.check_action("rolling_memcached", ()) is False
        assert pane.check_action("rolling_zookeeper", ()) is False
        shown = {b.binding.key for b in app.active_bindings.values() if b.binding.show}
        assert not {"R", "Z"} & shown
        await pilot.press("R", "Z")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen) and factory.plans == []


async def test_the_footer_shows_the_restart_keys_on_a_writable_setup_tab(cluster):
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=SIZE) as pilot:
        await open_setup(app, pilot, Factory())
        shown = {b.binding.key for b in app.active_bindings.values() if b.binding.show}
        assert {"R", "Z"} <= shown
