"""Editing the layout in the Grid tab: keys, modals, save, read-only, quit with unsaved changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from arcus_tui.model import check_cluster_file
from arcus_tui.ui.app import ArcusApp
from arcus_tui.ui.screens.edit_prompts import AskNumberScreen, ConfirmScreen
from arcus_tui.ui.widgets.host_grid import HostBox, HostGrid
from tests.unit.ui_waits import drawn as drawn_box, toasts

SAMPLE = Path(__file__).resolve().parents[2] / "sample_clusters" / "colocated.toml"
TEXT = SAMPLE.read_text(encoding="utf-8")
COMMENTS = [line for line in TEXT.splitlines() if line.startswith("#")]
SIZE = (140, 40)


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    monkeypatch.setenv("ARCUS_TUI_LOOPBACK_ONLY", "1")


@pytest.fixture
def cluster_file(tmp_path):
    path = tmp_path / "colocated.toml"
    path.write_text(TEXT, encoding="utf-8")
    return path


def make_app(path: Path, read_only: bool = False) -> ArcusApp:
    result = check_cluster_file(path)
    assert result.ok
    return ArcusApp(result.cluster, str(path), read_only)


def box(app: ArcusApp, name: str) -> HostBox:
    return app.screen.query_one(HostGrid).box(name)


def drawn(app: ArcusApp, name: str) -> str:
    """The box as it is drawn on the screen (border, title and lines), not as the model says."""
    return drawn_box(box(app, name))


def shown_keys(app: ArcusApp) -> set[str]:
    """The keys the footer shows now."""
    return {active.binding.key for active in app.active_bindings.values() if active.binding.show}


def summary(app: ArcusApp) -> str:
    return app.screen.query_one("#cluster-summary").render().plain


async def type_number(pilot, value: str) -> None:
    assert isinstance(pilot.app.screen, AskNumberScreen)
    await pilot.press("ctrl+a", "shift+end", "backspace")  # clear the suggestion
    for ch in value:
        await pilot.press(ch)
    await pilot.press("enter")
    await pilot.pause()


async def test_z_toggles_the_focused_hosts_zookeeper(cluster_file):
    app = make_app(cluster_file)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.focused.host.name == "cache001.arcus"
        assert "ZooKeeper :2181 (myid 1)" in drawn(app, "cache001.arcus")
        await pilot.press("z")
        await pilot.pause()
        assert "ZooKeeper" not in drawn(app, "cache001.arcus")
        assert "ZooKeeper :2181 (myid 1)" in drawn(app, "cache002.arcus")
        assert app.focused.host.name == "cache001.arcus"
        assert "modified" in summary(app)
        await pilot.press("z")
        await pilot.pause()
        assert "ZooKeeper :2181 (myid 1)" in drawn(app, "cache001.arcus")
    assert cluster_file.read_text(encoding="utf-8") == TEXT  # never saved


async def test_plus_adds_a_node_and_ctrl_s_saves_with_comments(cluster_file):
    app = make_app(cluster_file)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("right")  # cache002.arcus
        await pilot.press("plus")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, AskNumberScreen) and screen.suggested == 11213
        await pilot.press("enter")
        await pilot.pause()
        assert "memcached :11213  100MB  6 threads" in drawn(app, "cache002.arcus")
        assert "modified" in summary(app)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "modified" not in summary(app)
    saved = cluster_file.read_text(encoding="utf-8")
    assert all(comment in saved.splitlines() for comment in COMMENTS)
    result = check_cluster_file(cluster_file)
    assert result.ok and result.cluster.host("cache002.arcus").ports == (11211, 11212, 11213)


async def test_an_invalid_port_shows_the_problem_and_changes_nothing(cluster_file):
    app = make_app(cluster_file)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        before = drawn(app, "cache001.arcus")
        await pilot.press("plus")
        await pilot.pause()
        await type_number(pilot, "70000")
        problems = app.screen.query_one("#grid-problems")
        assert problems.display
        assert f"{cluster_file}:26: host 'cache001.arcus' memcached: port 70000 is outside 1-65535" in problems.render().plain
        assert drawn(app, "cache001.arcus") == before and "modified" not in summary(app)
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert cluster_file.read_text(encoding="utf-8") == TEXT


async def test_memlimit_and_remove_port_and_add_delete_host(cluster_file):
    app = make_app(cluster_file)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("m")
        await pilot.pause()
        await type_number(pilot, "11212")  # which node
        await type_number(pilot, "512")  # its memlimit
        assert "memcached :11212  512MB  6 threads" in drawn(app, "cache001.arcus")
        await pilot.press("minus")
        await pilot.pause()
        await type_number(pilot, "11211")
        assert "memcached :11211" not in drawn(app, "cache001.arcus")
        await pilot.press("a")
        await pilot.pause()
        for ch in "cache004.arcus":
            await pilot.press(ch)
        await pilot.press("enter")
        for ch in "10.0.0.4":
            await pilot.press(ch)
        await pilot.press("enter")
        await pilot.pause()
        assert [b.host.name for b in app.screen.query_one(HostGrid).boxes][-1] == "cache004.arcus"
        assert app.focused.host.name == "cache004.arcus"
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await pilot.pause()
        assert len(app.screen.query_one(HostGrid).boxes) == 3
        await pilot.press("ctrl+s")
        await pilot.pause()
    saved = cluster_file.read_text(encoding="utf-8")
    assert "memcached = [{ port = 11212, memlimit = 512 }]" in saved
    assert all(comment in saved.splitlines() for comment in COMMENTS)
    assert check_cluster_file(cluster_file).ok


async def test_read_only_hides_the_edit_keys_and_changes_nothing(cluster_file):
    app = make_app(cluster_file, read_only=True)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        assert not {"a", "ctrl+s"} & shown_keys(app)  # hidden, not shown and then refused
        assert {"q", "1"} <= shown_keys(app)
        before = [drawn_box(b) for b in app.screen.query_one(HostGrid).boxes]
        for key in ("z", "plus", "minus", "m", "a", "d", "ctrl+s"):
            await pilot.press(key)
            await pilot.pause()
            assert not isinstance(app.screen, (AskNumberScreen, ConfirmScreen))
        assert [drawn_box(b) for b in app.screen.query_one(HostGrid).boxes] == before
        await pilot.pause()
        assert not toasts(app)  # nothing to refuse: the keys are off
    assert cluster_file.read_text(encoding="utf-8") == TEXT


async def test_the_edit_keys_show_when_the_file_may_be_edited(cluster_file):
    app = make_app(cluster_file)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert {"a", "ctrl+s"} <= shown_keys(app)


async def test_quitting_with_unsaved_changes_asks(cluster_file):
    app = make_app(cluster_file)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("z")
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen) and app.is_running
        await pilot.press("q")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert not app.is_running
    assert cluster_file.read_text(encoding="utf-8") == TEXT


async def test_quitting_without_changes_does_not_ask(cluster_file):
    app = make_app(cluster_file)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_edit_keys_do_nothing_on_other_tabs(cluster_file):
    app = make_app(cluster_file, read_only=True)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        await pilot.press("3")  # Logs
        await pilot.pause()
        await pilot.press("z")
        await pilot.pause()
        await pilot.pause()
        assert "Read-only" not in toasts(app)


async def test_after_a_save_the_other_tabs_use_the_saved_layout(cluster_file):
    from arcus_tui.ui.panes.setup import SetupPane

    app = make_app(cluster_file)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("z")  # cache001.arcus leaves the ensemble
        await pilot.pause()
        before = app.screen.query_one(SetupPane).cluster
        assert before.host("cache001.arcus").zookeeper  # not saved yet: the setup plan is unchanged
        await pilot.press("ctrl+s")
        await pilot.pause()
        saved = app.screen.query_one(SetupPane).cluster
        assert not saved.host("cache001.arcus").zookeeper
        assert app.context.cluster == saved
        assert [h.name for h in saved.zookeeper_hosts] == ["cache002.arcus", "cache003.arcus"]


async def test_an_edit_key_typed_right_after_a_move_acts_on_the_box_moved_to(cluster_file):
    from textual import events

    app = make_app(cluster_file)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for key in ("right", "z"):  # together, before the screen catches up
            app.post_message(events.Key(key, "z" if key == "z" else None))
        await pilot.pause()
        await pilot.pause()
        assert "ZooKeeper" not in drawn(app, "cache002.arcus")
        assert "ZooKeeper :2181 (myid 1)" in drawn(app, "cache001.arcus")
        assert app.focused.host.name == "cache002.arcus"


async def test_edits_keep_the_filter_and_the_cursor(cluster_file):
    app = make_app(cluster_file)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"cache003", "enter")
        await pilot.pause()
        assert [b.host.name for b in app.screen.query_one(HostGrid).boxes if b.display] == ["cache003.arcus"]
        await pilot.press("z")  # cache003.arcus leaves the ensemble; the grid is rebuilt
        await pilot.pause()
        grid = app.screen.query_one(HostGrid)
        assert [b.host.name for b in grid.boxes if b.display] == ["cache003.arcus"]
        assert "ZooKeeper" not in drawn(app, "cache003.arcus")
        assert app.focused.host.name == "cache003.arcus"
