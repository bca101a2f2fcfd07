"""`?`: every key of the app on one screen; Esc (or `?` again) closes it."""

from __future__ import annotations

from typing import Mapping, Optional

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from ..keymap import default_keys, key_text
from .dialog import DialogScreen

Keys = tuple[str, ...]
"""A help row's keys: a binding id ("setup.start", shown as its key now, keymap applied) or,
without a dot, a key Textual itself binds (the command palette, a tree's enter)."""

KEYS: tuple[tuple[str, tuple[tuple[Keys, str], ...]], ...] = (
    (
        "Anywhere",
        (
            (("tab.grid", "tab.setup", "tab.logs", "tab.zookeeper", "tab.monitor", "tab.events"),
             "Grid / Setup / Logs / ZooKeeper / Monitor / Events tab"),
            (("app.help",), "this help"),
            (("ctrl+p",), "command palette: every action (setup, retry, tabs, hosts, themes, quit...)"),
            (("esc",), "close this screen, go back"),
            (("app.quit", "ctrl+q"), "quit (asks first during a run or with unsaved layout edits)"),
        ),
    ),
    (
        "Grid",
        (
            (("grid.left", "grid.down", "grid.up", "grid.right"), "move to the neighbouring host box"),
            (("grid.left-vi", "grid.down-vi", "grid.up-vi", "grid.right-vi"), "the same, vi style"),
            (("grid.first", "grid.last"), "first / last host"),
            (("grid.filter",), "filter the boxes by name, address or state (enter keeps it)"),
            (("grid.clear-filter",), "clear the filter"),
            (("tab", "shift+tab"), "next / previous box, then the tab bar"),
            (("grid.add-host",), "add a host (asks name and address)"),
            (("grid.delete-host",), "delete the focused host (asks y/N)"),
            (("grid.toggle-zookeeper",), "toggle ZooKeeper on the focused host"),
            (("grid.add-port", "grid.remove-port"), "add / remove a memcached port (suggests the next free / the last)"),
            (("grid.set-memlimit",), "set the memlimit of one of the host's nodes"),
            (("grid.save",), "save the layout to the cluster file (comments kept)"),
            (("grid.live-config",), "apply the saved file's memlimit / connections to the running nodes, live (asks y/N)"),
        ),
    ),
    (
        "Setup",
        (
            (("setup.start",), "run the whole setup, every step on all hosts at once (shows what it changes, asks y/N)"),
            (("setup.retry",), "run again only what failed or was skipped"),
            (("setup.teardown",), "tear down (asks you to type Delete <service code>)"),
            (("setup.rolling-memcached", "setup.rolling-zookeeper"),
             "rolling restart of memcached (a node at a time) / ZooKeeper (leader last); shows the order, asks y/N"),
            (("setup.cancel",), "cancel the run in progress (steps already done stay done)"),
            (("←", "↓", "↑", "→"), "pick a cell: its message shows under the matrix"),
        ),
    ),
    (
        "Logs",
        (
            (("logs.next-host", "logs.previous-host"), "next / previous host's log (a fleet's logs come a page at a time)"),
            (("logs.next-failed",), "the next host that failed"),
            (("logs.merged",), "every host's lines merged in arrival order, each with its host, and back"),
            (("logs.filter",), "filter the logs: text, or re:REGEX (enter applies, esc clears)"),
            (("logs.next-match", "logs.previous-match"), "next / previous matching line"),
            (("logs.follow",), "pause following the newest lines, and resume"),
            (("logs.maximise",), "maximise the focused host's log, and back"),
            (("logs.save",), "save the focused log (or the merged one) to a file"),
            (("logs.clear",), "clear every log"),
        ),
    ),
    (
        "ZooKeeper  (read-only)",
        (
            (("↓", "↑"), "move in the znode tree; the panel shows the znode's data and stat"),
            (("enter", "space"), "open / close a znode (its children load and stay live)"),
            (("zookeeper.filter",), "filter the tree by name (enter keeps it)"),
            (("zookeeper.clear-filter",), "clear the filter"),
            (("zookeeper.reload",), "re-read every open znode; retry when not connected"),
        ),
    ),
    (
        "Monitor  (read-only)",
        (
            (("monitor.pause",), "pause / resume polling"),
            (("monitor.slower", "monitor.slower-equals", "monitor.faster"),
             "poll less / less / more often (1 to 60 s, default 3 s)"),
            (("monitor.poll-now",), "poll now"),
            (("monitor.sort",), "sort the nodes: file order, node, verdict, get/s, memory, connections"),
            (("monitor.filter",), "filter the nodes by host, address or verdict (enter keeps it, esc clears it)"),
            (("monitor.admin-command",),
             "a memcached admin command on every node (stats ...; a write only if asked, never read-only)"),
        ),
    ),
    (
        "Events  (read-only)",
        (
            (("↓", "↑"), "move in the events (newest first: joined / left / rejoined) or the clients"),
            (("tab", "shift+tab"), "from the events to the clients (client_list) and back"),
            (("events.reread",), "read everything again on a new session; retry when not connected"),
        ),
    ),
)
"""What the help screen lists, section by section: (keys, what they do)."""


def help_ids() -> set[str]:
    """The binding ids the help lists."""
    return {key for _, rows in KEYS for keys, _ in rows for key in keys if "." in key}


def shown_keys(keys: Keys, keymap: Mapping[str, str]) -> str:
    return " ".join(key_text(keymap[key]) if "." in key else key for key in keys)


def help_content(keymap: Optional[Mapping[str, str]] = None) -> Content:
    """The help text; `keymap` is the user's (binding id -> keys), over the defaults."""
    current = {**default_keys(), **(keymap or {})}
    rows = [(section, [(shown_keys(keys, current), what) for keys, what in section_rows]) for section, section_rows in KEYS]
    width = max(len(keys) for _, section_rows in rows for keys, _ in section_rows) + 3
    lines: list[Content] = []
    for section, section_rows in rows:
        if lines:
            lines.append(Content(""))
        lines.append(Content.styled(section, "bold $primary"))
        for keys, what in section_rows:
            lines.append(Content.assemble(("  " + keys.ljust(width), "bold $accent"), what))
    return Content("\n").join(lines)


class HelpScreen(DialogScreen[None]):
    """The key list, over the screen it was opened from."""

    DEFAULT_CSS = """
    HelpScreen > VerticalScroll {
        width: auto;
        max-width: 90%;
        max-height: 90%;
    }
    HelpScreen Static {
        width: auto;
    }
    """

    BINDINGS = [
        Binding("escape", "dismiss", "Back", id="help.close"),
        Binding("question_mark", "dismiss", "Back", show=False, id="help.close-again"),
    ]

    def compose(self):
        with VerticalScroll() as box:
            box.border_title = "arcus-tui keys"
            box.border_subtitle = "esc to close"
            yield Static(help_content(getattr(self.app, "keymap", None)), id="help-keys")
