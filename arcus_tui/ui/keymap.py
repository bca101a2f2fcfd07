"""The user's keymap: a TOML file mapping binding ids to keys, as Posting does.

    # ~/.config/arcus-tui/keymap.toml  (or $XDG_CONFIG_HOME/arcus-tui/keymap.toml, or --keymap FILE)
    "setup.start" = "S"
    "grid.left-vi" = "a,ctrl+h"     # several keys: comma-separated

Every binding of the app has an id ("<where>.<what>", listed by `binding_ids()`); Textual puts the
keymap's keys in place of the defaults (`App.set_keymap`). A file that cannot be read, is not
TOML, or names an id that does not exist is refused with one clear line, before the app starts.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Mapping, Optional

from textual.binding import Binding
from textual.keys import key_to_character

KEYMAP_FILE = Path("arcus-tui") / "keymap.toml"

_SHOWN = {"left": "←", "down": "↓", "up": "↑", "right": "→", "escape": "esc", "plus": "+", "minus": "-",
          "equals_sign": "=", "slash": "/", "question_mark": "?", "space": "space"}


class KeymapError(Exception):
    """A keymap file that cannot be used; the message names the file and what is wrong."""


def default_keymap_path(environ: Mapping[str, str] = os.environ) -> Path:
    """Where the keymap is looked for when no --keymap is given (XDG, like Posting)."""
    config = environ.get("XDG_CONFIG_HOME") or str(Path(environ.get("HOME", "~")) / ".config")
    return Path(config).expanduser() / KEYMAP_FILE


def _bound_classes() -> list[type]:
    """Every class of the app that declares keys (imported here, late: they import this module's
    neighbours)."""
    from .app import ArcusApp
    from .panes.events import EventsPane
    from .panes.grid import GridPane
    from .panes.logs import LogsPane
    from .panes.monitor import MonitorPane
    from .panes.setup import SetupPane
    from .panes.zookeeper import ZooKeeperPane
    from .screens import admin_command, ask_host_key, ask_password, confirm_setup, edit_prompts, help
    from .screens import live_config, typed_confirmation
    from .screens.main import MainScreen
    from .widgets.host_grid import HostGrid

    dialogs = [admin_command.AdminCommandScreen, ask_host_key.AskHostKeyScreen, ask_password.AskPasswordScreen,
               confirm_setup.ConfirmSetupScreen, edit_prompts.AskHostScreen, edit_prompts.AskNumberScreen,
               edit_prompts.ConfirmScreen, help.HelpScreen, live_config.LiveConfigScreen,
               typed_confirmation.TypedConfirmationScreen]
    return [ArcusApp, MainScreen, GridPane, HostGrid, SetupPane, LogsPane, ZooKeeperPane, MonitorPane, EventsPane, *dialogs]


def own_bindings(cls: type) -> list[Binding]:
    """The bindings `cls` itself declares (not those it inherits)."""
    return [b for b in cls.__dict__.get("BINDINGS", ()) if isinstance(b, Binding)]


def default_keys() -> dict[str, str]:
    """binding id -> its default keys ("x,ctrl+c"), for every binding of the app."""
    return {b.id: b.key for cls in _bound_classes() for b in own_bindings(cls) if b.id}


def binding_ids() -> set[str]:
    return set(default_keys())


def key_text(keys: str) -> str:
    """Keys as the help shows them: "left,h" -> "← h", "plus" -> "+"."""
    return " ".join(_SHOWN.get(key) or key_to_character(key) or key for key in keys.split(","))


def load_keymap(path: Path, *, required: bool = True) -> dict[str, str]:
    """The keymap in `path` (binding id -> keys). A missing file is {} when not `required`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if not required:
            return {}
        raise KeymapError(f"{path}: no such keymap file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise KeymapError(f"{path}: cannot read the keymap: {error}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise KeymapError(f"{path}: not TOML: {error}") from None
    return check_keymap(data, str(path))


def check_keymap(data: Mapping[str, object], source: str) -> dict[str, str]:
    known = binding_ids()
    unknown = sorted(name for name in data if name not in known)
    if unknown:
        raise KeymapError(f"{source}: unknown binding id(s) {', '.join(unknown)}; known ids: {', '.join(sorted(known))}")
    for name, keys in data.items():
        if not isinstance(keys, str) or not keys.strip() or any(not key.strip() for key in keys.split(",")):
            raise KeymapError(f'{source}: {name} must be keys in a string, e.g. "{name}" = "ctrl+k" (several: "a,b")')
    return {name: ",".join(key.strip() for key in str(keys).split(",")) for name, keys in data.items()}


def read_user_keymap(path: Optional[str]) -> dict[str, str]:
    """The keymap for this run: `path` when given (it must exist), else the XDG file if present."""
    return load_keymap(Path(path), required=True) if path else load_keymap(default_keymap_path(), required=False)
