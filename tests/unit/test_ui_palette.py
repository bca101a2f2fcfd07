"""The command palette (ctrl+p) finds every action by name: the runs, the tabs, a host, a theme."""

from __future__ import annotations

import pytest
from textual.command import CommandPalette
from textual.widgets import TabbedContent

from arcus_tui.model import parse_cluster
from arcus_tui.ui.app import ArcusApp
from arcus_tui.ui.screens.confirm_setup import ConfirmSetupScreen
from arcus_tui.ui.screens.main import MainScreen
from arcus_tui.ui.widgets.host_grid import HostBox

from tests.unit.cluster_texts import THREE_HOSTS
from tests.unit.test_ui_setup import FakeFactory, answer_first_setup, everything_ok, finished, first_setup, start_setup, start_with
from tests.unit.ui_waits import drawn, until

SIZE = (140, 45)


@pytest.fixture
def cluster():
    return parse_cluster(THREE_HOSTS, "test.toml").cluster


def results(app) -> str:
    return drawn(app.screen.query_one("CommandList"))


async def search(app, pilot, text: str, expect: str) -> None:
    """Open the palette, type `text`, wait until `expect` is among the hits."""
    await pilot.press("ctrl+p")
    await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
    await pilot.press(*text)
    await until(pilot, lambda: expect in results(app), f"{expect!r} found")


@pytest.mark.parametrize("typed, found", [
    ("run setup", "Run setup"),
    ("tear", "Tear down"),
    ("rolling mem", "Rolling restart: memcached"),
    ("rolling zoo", "Rolling restart: ZooKeeper"),
    ("monitor tab", "Show the Monitor tab"),
    ("open host cache002", "Open host cache002"),
    ("theme arcus-light", "Theme: arcus-light"),
    ("save the layout", "Save the layout"),
    ("poll now", "Poll now"),
])
async def test_the_palette_finds_each_action(cluster, typed, found):
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=SIZE) as pilot:
        await search(app, pilot, typed, found)


async def test_run_setup_from_the_palette_asks_like_the_key(cluster):
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=SIZE) as pilot:
        await search(app, pilot, "run setup", "Run setup")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmSetupScreen), "the setup confirmation")
        assert app.screen_stack[-2].query_one(TabbedContent).active == "setup"


async def test_a_tab_a_host_and_a_theme_from_the_palette(cluster):
    app = ArcusApp(cluster, "test.toml", theme_name="arcus-dark")
    async with app.run_test(size=SIZE) as pilot:
        await search(app, pilot, "events tab", "Show the Events tab")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MainScreen)
                    and app.screen.query_one(TabbedContent).active == "events", "the Events tab")
        await search(app, pilot, "open host cache003", "Open host cache003")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.focused, HostBox) and app.focused.host.name == "cache003",
                    "cache003 focused on the Grid")
        assert app.screen.query_one(TabbedContent).active == "grid"
        await search(app, pilot, "theme arcus-light", "Theme: arcus-light")
        await pilot.press("enter")
        await until(pilot, lambda: app.theme == "arcus-light", "the light theme")


async def test_read_only_offers_no_run(cluster):
    app = ArcusApp(cluster, "test.toml", read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await search(app, pilot, "tab", "Show the Setup tab")
        await pilot.press(*"run setup")
        await pilot.pause(0.3)
        assert "Run setup" not in results(app)


async def test_retry_is_offered_once_something_failed_and_runs_it(cluster, tmp_path):
    factory = FakeFactory(first_setup(tmp_path, {}), everything_ok)
    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=SIZE) as pilot:
        pane = await start_with(app, pilot, factory)
        await search(app, pilot, "retr", "Rolling restart")  # the palette is up and searching
        assert "Retry failed steps" not in results(app)  # nothing to retry yet
        await pilot.press("escape")
        await start_setup(app, pilot)
        await answer_first_setup(app, pilot)
        await finished(pilot, pane, 1)
        await search(app, pilot, "retry", "Retry failed steps")
        await pilot.press("enter")
        await finished(pilot, pane, 2)
        assert factory.runs[-1][1] is not None  # run again with the previous report: a retry
