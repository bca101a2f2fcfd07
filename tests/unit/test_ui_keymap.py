"""Keys by binding id: the help lists exactly the bindings that exist, and a user keymap file
(binding id = "key", as Posting does) rebinds them; a bad file is one clear line, not a traceback."""

from __future__ import annotations

import pytest

from arcus_tui.model import parse_cluster
from arcus_tui.ui.app import EXIT_USAGE, ArcusApp, run_app
from arcus_tui.ui.keymap import KeymapError, binding_ids, default_keymap_path, load_keymap, own_bindings
from arcus_tui.ui.panes.events import EventsPane
from arcus_tui.ui.panes.grid import GridPane
from arcus_tui.ui.panes.logs import LogsPane
from arcus_tui.ui.panes.monitor import MonitorPane
from arcus_tui.ui.panes.setup import SetupPane
from arcus_tui.ui.panes.zookeeper import ZooKeeperPane
from arcus_tui.ui.screens.confirm_setup import ConfirmSetupScreen
from arcus_tui.ui.screens.help import HelpScreen, help_ids
from arcus_tui.ui.screens.main import MainScreen
from arcus_tui.ui.widgets.host_grid import HostGrid

from tests.unit.cluster_texts import THREE_HOSTS
from tests.unit.ui_waits import drawn, until

SIZE = (140, 45)
MAIN_SCREEN_KEYS = (ArcusApp, MainScreen, GridPane, HostGrid, SetupPane, LogsPane, ZooKeeperPane, MonitorPane, EventsPane)
"""Where the keys of the main screen are declared: the app, the tab shell, the Grid (its edits and its
boxes) and each other pane."""


@pytest.fixture
def cluster():
    return parse_cluster(THREE_HOSTS, "test.toml").cluster


def test_every_binding_has_an_id_and_no_two_share_one_in_a_class():
    for cls in MAIN_SCREEN_KEYS:
        ids = [binding.id for binding in own_bindings(cls)]
        assert all(ids), f"{cls.__name__} has a binding without an id"
        assert len(ids) == len(set(ids)), cls.__name__


def test_help_lists_exactly_the_bindings_that_exist():
    declared = {binding.id for cls in MAIN_SCREEN_KEYS for binding in own_bindings(cls)}
    assert help_ids() == declared


async def test_help_shows_the_keys_of_the_keymap(cluster):
    app = ArcusApp(cluster, "test.toml", keymap={"setup.start": "S", "grid.left-vi": "y"})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        text = drawn(app.screen.query_one("#help-keys"))
        assert "S               run the whole setup" in text
        assert "y j k l" in text and "h j k l" not in text


async def test_a_keymap_rebinds_a_key_and_frees_the_old_one(cluster):
    app = ArcusApp(cluster, "test.toml", keymap={"setup.start": "S"})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)  # the default key does nothing now
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, ConfirmSetupScreen), "the setup confirmation")


def test_keymap_file_is_read(tmp_path):
    path = tmp_path / "keymap.toml"
    path.write_text('"setup.start" = "S"\n"logs.maximise" = "f, ctrl+f"\n', encoding="utf-8")
    assert load_keymap(path) == {"setup.start": "S", "logs.maximise": "f,ctrl+f"}


@pytest.mark.parametrize("text, said", [
    ('"setup.strat" = "S"\n', "unknown binding id(s) setup.strat; known ids: "),
    ('"setup.start" = 5\n', 'setup.start must be keys in a string'),
    ('"setup.start" = ""\n', 'setup.start must be keys in a string'),
    ('setup.start = "S"\n', "unknown binding id(s) setup"),  # a dotted bare key is a table: quote the id
    ('"setup.start" = S\n', "not TOML: "),
])
def test_a_bad_keymap_file_is_one_clear_message(tmp_path, text, said):
    path = tmp_path / "keymap.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(KeymapError) as raised:
        load_keymap(path)
    assert str(raised.value).startswith(f"{path}: ") and said in str(raised.value)


def test_the_keymap_file_is_looked_for_under_xdg_config_home(tmp_path):
    assert default_keymap_path({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "arcus-tui" / "keymap.toml"
    assert default_keymap_path({"HOME": str(tmp_path)}) == tmp_path / ".config" / "arcus-tui" / "keymap.toml"
    assert load_keymap(tmp_path / "none.toml", required=False) == {}


def test_run_app_refuses_a_bad_keymap_before_the_screen_starts(tmp_path, capsys):
    path = tmp_path / "keymap.toml"
    path.write_text('"no.such-key" = "x"\n', encoding="utf-8")
    assert run_app(None, keymap=str(path)) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith(f"arcus-tui: {path}: unknown binding id(s) no.such-key") and "Traceback" not in err
    assert run_app(None, keymap=str(tmp_path / "missing.toml")) == EXIT_USAGE
    assert "no such keymap file" in capsys.readouterr().err


def test_the_known_ids_are_the_help_s_plus_the_dialogs():
    assert help_ids() < binding_ids()
    assert {"dialog.yes", "dialog.no", "dialog.cancel"} <= binding_ids() - help_ids()
