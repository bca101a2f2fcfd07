"""The command palette (ctrl+p): every action of the app by name, beside Textual's own commands.

`ArcusCommands` offers the tabs, the Setup tab's runs (setup, retry, teardown, rolling restarts,
cancel), the other panes' actions, each host of the grid ("Open host cache001") and each theme.
A pane's action is offered only when its key would work now (the pane's `check_action`, so that
read-only mode hides what it hides from the footer); choosing it shows that pane's tab first.
"""

from __future__ import annotations

from functools import partial
from typing import Callable, Iterator, NamedTuple, Optional

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode
from textual.widgets import TabbedContent

from .screens.main import TABS, MainScreen
from .widgets.host_grid import HostGrid

PANE_ACTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("grid", "add_host", "Add a host", "the Grid: asks name and address"),
    ("grid", "save", "Save the layout", "write the Grid's edits to the cluster file (comments kept)"),
    ("grid", "live_config", "Apply live config", "the saved memlimit / connections to the running nodes (asks)"),
    ("setup", "start", "Run setup", "every step on all hosts at once (shows what it changes, asks y/N)"),
    ("setup", "retry", "Retry failed steps", "run again only what failed or was skipped"),
    ("setup", "teardown", "Tear down", "asks you to type Delete <service code>"),
    ("setup", "rolling_memcached", "Rolling restart: memcached", "a node at a time (shows the order, asks)"),
    ("setup", "rolling_zookeeper", "Rolling restart: ZooKeeper", "the leader last (shows the order, asks)"),
    ("setup", "cancel_run", "Cancel the run", "steps already done stay done"),
    ("logs", "next_failed", "Next failed host's log", "the Logs tab"),
    ("logs", "toggle_merged", "Merged log", "every host's lines in arrival order, and back"),
    ("logs", "save", "Save the log", "the focused log (or the merged one) to a file"),
    ("logs", "clear", "Clear the logs", "every host's log"),
    ("zookeeper", "reload", "Re-read ZooKeeper", "every open znode; retry when not connected"),
    ("monitor", "poll_now", "Poll now", "the Monitor tab"),
    ("monitor", "toggle_pause", "Pause / resume monitoring", "the Monitor tab's polling"),
    ("monitor", "admin_command", "memcached admin command", "on every node (a write only if asked)"),
    ("events", "reconnect", "Re-read the events", "on a new ZooKeeper session"),
)
"""(tab, action of the pane in that tab, command name, what it does)."""


class Command(NamedTuple):
    name: str
    help: str
    run: Callable[[], object]


def arcus_commands(screen: MainScreen) -> Iterator[Command]:
    """The commands the palette offers over `screen` now."""
    for tab, label in TABS:
        yield Command(f"Show the {label} tab", f"tab {label}", partial(screen.action_show_tab, tab))
    for tab, action, name, what in PANE_ACTIONS:
        pane = _acting(screen, tab, action)
        if pane is not None and pane.check_action(action, ()):
            yield Command(name, what, partial(_run_in_tab, screen, tab, pane, action))
    for grid in screen.query(HostGrid):
        for box in grid.boxes:
            host = box.host.name
            yield Command(f"Open host {host}", "focus its box on the Grid", partial(_open_host, screen, grid, host))
    app = screen.app
    for theme in sorted(getattr(app, "themes").themes) if hasattr(app, "themes") else ():
        yield Command(f"Theme: {theme}", "change the colours", partial(setattr, app, "theme", theme))


def _acting(screen: MainScreen, tab: str, action: str) -> Optional[DOMNode]:
    """What runs `action` for the tab: the pane in it (the Grid's edits: the screen itself)."""
    for node in (*screen.query_one(TabbedContent).get_pane(tab).children, screen):
        if callable(getattr(node, f"action_{action}", None)):
            return node
    return None


def _run_in_tab(screen: MainScreen, tab: str, pane: DOMNode, action: str) -> None:
    screen.action_show_tab(tab)
    screen.call_after_refresh(pane.run_action, action)


def _open_host(screen: MainScreen, grid: HostGrid, host: str) -> None:
    screen.action_show_tab("grid")
    grid.box(host).focus()


class ArcusCommands(Provider):
    """The app's actions, tabs, hosts and themes, for the command palette."""

    def _commands(self) -> list[Command]:
        screen = next((s for s in reversed(self.app.screen_stack) if isinstance(s, MainScreen)), None)
        return list(arcus_commands(screen)) if screen is not None else []

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.name, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            if (score := matcher.match(command.name)) > 0:
                yield Hit(score, matcher.highlight(command.name), command.run, help=command.help)
