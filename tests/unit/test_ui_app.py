"""The Textual app: host grid, keys, tabs, help, read-only title, themes, bad input."""

from __future__ import annotations

import time

import pytest
from textual.widgets import TabbedContent

from arcus_tui.model import parse_cluster
from arcus_tui.ui.app import EXIT_USAGE, ArcusApp, run_app
from arcus_tui.ui.screens.help import HelpScreen
from arcus_tui.ui.screens.main import TABS, MainScreen
from arcus_tui.ui.themes import DEFAULT_THEME, ThemeFileError, UnknownThemeError, load_theme_file, load_themes
from arcus_tui.ui.widgets.host_grid import HostBox, HostGrid, host_lines
from tests.unit.ui_waits import drawn, toasts, until

CLUSTER_TEXT = """\
[cluster]
service_code = "test-cloud"
user = "arcus"

[memcached]
threads = 6
memlimit = 100

[[host]]
name = "cache001.arcus"
address = "10.0.0.1"
zookeeper = true
memcached = [11211, 11212]

[[host]]
name = "cache002.arcus"
address = "10.0.0.2"
zookeeper = true
memcached = [{ port = 11211, threads = 4 }, 11212]

[[host]]
name = "cache003.arcus"
address = "10.0.0.3"
zookeeper = true
memcached = [11211, { port = 11212, memlimit = 512 }]

[[host]]
name = "cache004.arcus"
address = "10.0.0.4"
memcached = [11213]
"""

HOSTS = ["cache001.arcus", "cache002.arcus", "cache003.arcus", "cache004.arcus"]
WIDE = (120, 40)  # three boxes a row: cache001 cache002 cache003 / cache004


@pytest.fixture
def cluster():
    result = parse_cluster(CLUSTER_TEXT, "test.toml")
    assert result.ok, [p.format("test.toml") for p in result.problems]
    return result.cluster


def box_text(box: HostBox) -> str:
    return box.render().plain


async def wait_for_text(pilot, widget, text: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in drawn(widget):
        assert time.monotonic() < deadline, f"{text!r} never drawn; on screen:\n{drawn(widget)}"
        await pilot.pause(0.05)


def focused_host(app: ArcusApp) -> str | None:
    focused = app.focused
    return focused.host.name if isinstance(focused, HostBox) else None


# --- the grid -----------------------------------------------------------------------------


async def test_grid_has_one_box_per_host_titled_with_name_and_address(cluster):
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=WIDE):
        grid = app.screen.query_one(HostGrid)
        boxes = grid.boxes
        assert [box.host.name for box in boxes] == HOSTS
        assert [box.border_title for box in boxes] == [
            "cache001.arcus  10.0.0.1",
            "cache002.arcus  10.0.0.2",
            "cache003.arcus  10.0.0.3",
            "cache004.arcus  10.0.0.4",
        ]


async def test_box_text_lists_zookeeper_member_and_nodes_with_merged_settings(cluster):
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=WIDE):
        grid = app.screen.query_one(HostGrid)
        assert box_text(grid.box("cache001.arcus")).splitlines() == [
            "ZooKeeper :2181 (myid 1)",
            "memcached :11211  100MB  6 threads",
            "memcached :11212  100MB  6 threads",
        ]
        second = box_text(grid.box("cache002.arcus"))
        assert "ZooKeeper :2181 (myid 2)" in second
        assert "memcached :11211  100MB  4 threads" in second  # per-node override
        third = box_text(grid.box("cache003.arcus"))
        assert "ZooKeeper :2181 (myid 3)" in third
        assert "memcached :11212  512MB  6 threads" in third
        fourth = box_text(grid.box("cache004.arcus"))
        assert "ZooKeeper" not in fourth  # not an ensemble member
        assert fourth == "memcached :11213  100MB  6 threads"


def test_host_lines_follow_the_cluster_client_port(cluster):
    text = CLUSTER_TEXT.replace('user = "arcus"', 'user = "arcus"\n\n[zookeeper]\nclient_port = 2191', 1)
    other = parse_cluster(text).cluster
    assert host_lines(other, other.hosts[0])[0] == "ZooKeeper :2191 (myid 1)"


async def test_grid_is_responsive_to_width(cluster):
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=WIDE) as pilot:
        grid = app.screen.query_one(HostGrid)
        assert grid.columns == 3
        first, second = grid.box("cache001.arcus"), grid.box("cache002.arcus")
        assert first.region.y == second.region.y and first.region.x < second.region.x
        await pilot.resize_terminal(60, 40)
        await pilot.pause()
        assert grid.columns == 1
        first, second = grid.box("cache001.arcus"), grid.box("cache002.arcus")
        assert second.region.y > first.region.y and first.region.x == second.region.x


# --- moving between boxes ------------------------------------------------------------------


async def test_first_box_is_focused_and_highlighted(cluster):
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=WIDE):
        assert focused_host(app) == "cache001.arcus"
        first, second = app.screen.query_one(HostGrid).boxes[:2]
        assert first.has_pseudo_class("focus")
        assert first.styles.border_top != second.styles.border_top  # drawn differently


@pytest.mark.parametrize(
    "keys, expected",
    [
        (["right"], "cache002.arcus"),
        (["l"], "cache002.arcus"),
        (["l", "l"], "cache003.arcus"),
        (["l", "l", "l"], "cache003.arcus"),  # right edge: stays
        (["left"], "cache001.arcus"),  # left edge: stays
        (["l", "h"], "cache001.arcus"),
        (["down"], "cache004.arcus"),
        (["j"], "cache004.arcus"),
        (["l", "j"], "cache004.arcus"),  # nothing below cache002: the last box of the next row
        (["j", "k"], "cache001.arcus"),
        (["l", "l", "down", "up"], "cache001.arcus"),  # up from cache004 is cache001, its column
        (["up"], "cache001.arcus"),  # top edge: stays
        (["end"], "cache004.arcus"),
        (["end", "home"], "cache001.arcus"),
    ],
)
async def test_arrows_and_hjkl_move_focus_to_the_neighbour(cluster, keys, expected):
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press(*keys)
        assert focused_host(app) == expected


async def test_down_in_a_single_column_goes_to_the_next_host(cluster):
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=(50, 40)) as pilot:
        await pilot.press("j")
        assert focused_host(app) == "cache002.arcus"
        await pilot.press("down", "down")
        assert focused_host(app) == "cache004.arcus"
        await pilot.press("l")  # nothing to the right in one column
        assert focused_host(app) == "cache004.arcus"


# --- tabs, help, quitting ------------------------------------------------------------------


async def test_number_keys_switch_tabs(cluster):
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=WIDE) as pilot:
        tabs = app.screen.query_one(TabbedContent)
        assert tabs.active == "grid"
        for number, (tab, _label) in enumerate(TABS, 1):
            await pilot.press(str(number))
            assert tabs.active == tab
        assert [pane.id for pane in tabs.query("TabPane")] == ["grid", "setup", "logs", "zookeeper", "monitor",
                                                               "events"]


async def test_zookeeper_tab_is_the_registry_browser(cluster):
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("4")
        pane = app.screen.query_one(TabbedContent).active_pane
        message = pane.query_one("#zk-message")
        # The pane really tries: the sample's 10.0.0.x ensemble is refused by the loopback guard, and the
        # pane draws that answer (not only its "Connecting to ..." line), with the way to retry; no traceback.
        await wait_for_text(pilot, message, "Cannot connect to ZooKeeper")
        text = drawn(message)
        assert "10.0.0.1:2181,10.0.0.2:2181,10.0.0.3:2181" in text
        assert "not a loopback address" in text and "Press r to try again." in text
        assert "Connecting to" not in text
        assert "failed" in drawn(pane.query_one("#zk-status"))


async def test_back_to_grid_restores_the_focused_box(cluster):
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("l", "2")
        assert focused_host(app) is None
        await pilot.press("1")
        assert focused_host(app) == "cache002.arcus"


async def test_question_mark_opens_help_and_escape_closes_it(cluster):
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = app.screen.query_one("#help-keys").render().plain
        for fragment in ("1 2 3 4 5", "h j k l", "quit", "ctrl+p", "esc"):
            assert fragment in text
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
        assert focused_host(app) == "cache001.arcus"


async def test_footer_shows_key_hints(cluster):
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=WIDE):
        bindings = [active.binding for active in app.active_bindings.values()]
        shown = {binding.key_display or binding.key for binding in bindings if binding.show}
        assert {"?", "q", "1-6"} <= shown


@pytest.mark.parametrize("key", ["q", "ctrl+q"])
async def test_q_quits(cluster, key):
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press(key)
        await pilot.pause()
        assert not app.is_running
    assert app.return_code == 0


# --- title, read-only, no cluster ------------------------------------------------------------


async def test_title_shows_service_code_and_read_only(cluster):
    app = ArcusApp(cluster, "test.toml", read_only=True)
    async with app.run_test(size=WIDE):
        assert "test-cloud" in app.title
        assert "READ-ONLY" in app.title
        assert app.screen.has_class("-read-only")
        assert "READ-ONLY" in app.screen.query_one("#cluster-summary").render().plain


async def test_title_without_read_only(cluster):
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=WIDE):
        assert "test-cloud" in app.title
        assert "READ-ONLY" not in app.title


async def test_no_cluster_file_shows_how_to_give_one():
    app = ArcusApp(None, None)
    async with app.run_test(size=WIDE):
        assert not app.screen.query(HostGrid)
        assert "arcus-tui cluster.toml" in app.screen.query_one("#no-cluster").render().plain


async def test_cluster_file_warnings_are_shown_as_notifications(cluster):
    app = ArcusApp(cluster, "test.toml", notices=["test.toml:3: warning: something odd"])
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await until(pilot, lambda: toasts(app), "the warning")
        assert toasts(app).split() == ["Warning", "test.toml:3:", "warning:", "something", "odd"]  # one toast


# --- themes ---------------------------------------------------------------------------------


def test_shipped_themes_load():
    themes = load_themes()
    assert not themes.problems, [str(p) for p in themes.problems]
    assert {"arcus-dark", "arcus-light"} <= set(themes.themes)
    assert themes.themes["arcus-dark"].dark and not themes.themes["arcus-light"].dark
    assert themes.resolve(None) == DEFAULT_THEME == "arcus-dark"
    assert themes.resolve("nord") == "nord"  # Textual's own themes are accepted too


async def test_default_and_chosen_theme_are_applied(cluster):
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=WIDE):
        assert app.theme == "arcus-dark"
    app = ArcusApp(cluster, "test.toml", theme_name="arcus-light")
    async with app.run_test(size=WIDE):
        assert app.theme == "arcus-light"
        assert not app.current_theme.dark


def test_unknown_theme_is_rejected_by_the_app_with_the_list(cluster):
    with pytest.raises(UnknownThemeError) as caught:
        ArcusApp(cluster, "test.toml", theme_name="arcus-drak")
    message = str(caught.value)
    assert "unknown theme 'arcus-drak'" in message
    assert "did you mean 'arcus-dark'" in message
    assert "arcus-dark, arcus-light" in message


def test_run_app_rejects_unknown_theme_before_starting(tmp_path, capsys):
    path = tmp_path / "cluster.toml"
    path.write_text(CLUSTER_TEXT)
    assert run_app(str(path), theme="no-such-theme") == EXIT_USAGE
    err = capsys.readouterr().err
    assert "arcus-tui: unknown theme 'no-such-theme'" in err
    assert "arcus-dark" in err and "arcus-light" in err


def test_bad_theme_file_is_named_in_the_problem(tmp_path):
    (tmp_path / "good.toml").write_text('primary = "#112233"\ndark = false\n')
    (tmp_path / "broken.toml").write_text('primary = "not-a-colour"\n')
    (tmp_path / "typo.toml").write_text('primary = "#112233"\nprimray = "#000000"\n')
    themes = load_themes(tmp_path)
    assert list(themes.themes) == ["good"]
    messages = sorted(str(problem) for problem in themes.problems)
    assert messages[0].startswith(f"{tmp_path / 'broken.toml'}: primary: 'not-a-colour' is not a colour")
    assert messages[1].startswith(f"{tmp_path / 'typo.toml'}: unknown key(s) primray")
    with pytest.raises(ThemeFileError, match="missing 'primary'"):
        (tmp_path / "empty.toml").write_text("dark = true\n")
        load_theme_file(tmp_path / "empty.toml")


# --- bad cluster file: clear lines, no traceback, no full-screen app --------------------------


def test_run_app_prints_cluster_file_problems_and_returns_2(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text('[cluster]\nservice_code = "x"\nbogus = 1\n\n[[host]]\nname = "a"\n')
    assert run_app(str(path)) == EXIT_USAGE
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert f"{path}:3: unknown key 'bogus' in [cluster]" in lines
    assert any(line.startswith(f"{path}:5: ") and "address" in line for line in lines)
    assert "Traceback" not in captured.err
    assert captured.out == ""


def test_run_app_reports_a_missing_file(tmp_path, capsys):
    path = tmp_path / "missing.toml"
    assert run_app(str(path)) == EXIT_USAGE
    assert f"{path}:1: cannot read the cluster file" in capsys.readouterr().err

