"""`?`: every key of the app on one screen; Esc (or `?` again) closes it."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from .dialog import DialogScreen

KEYS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "Anywhere",
        (
            ("1 2 3 4 5 6", "Grid / Setup / Logs / ZooKeeper / Monitor / Events tab"),
            ("?", "this help"),
            ("ctrl+p", "command palette (change theme, keys, quit...)"),
            ("esc", "close this screen, go back"),
            ("q  ctrl+q", "quit (asks first during a run or with unsaved layout edits)"),
        ),
    ),
    (
        "Grid",
        (
            ("← ↓ ↑ →", "move to the neighbouring host box"),
            ("h j k l", "the same, vi style"),
            ("home  end", "first / last host"),
            ("/", "filter the boxes by name, address or state (enter keeps, esc clears)"),
            ("tab  shift+tab", "next / previous box, then the tab bar"),
            ("a", "add a host (asks name and address)"),
            ("d", "delete the focused host (asks y/N)"),
            ("z", "toggle ZooKeeper on the focused host"),
            ("+  -", "add / remove a memcached port (suggests the next free / the last)"),
            ("m", "set the memlimit of one of the host's nodes"),
            ("ctrl+s", "save the layout to the cluster file (comments kept)"),
            ("L", "apply the saved file's memlimit / connections to the running nodes, live (asks y/N)"),
        ),
    ),
    (
        "Setup",
        (
            ("s", "run the whole setup, every step on all hosts at once (shows what it changes, asks y/N)"),
            ("r", "run again only what failed or was skipped"),
            ("t", "tear down (asks you to type Delete <service code>)"),
            ("R  Z", "rolling restart of memcached (a node at a time) / ZooKeeper (leader last); shows the order, asks y/N"),
            ("x  ctrl+c", "cancel the run in progress (steps already done stay done)"),
            ("← ↓ ↑ →", "pick a cell: its message shows under the matrix"),
        ),
    ),
    (
        "Logs",
        (
            ("n  p", "next / previous host's log (a fleet's logs come a page at a time)"),
            ("e", "the next host that failed"),
            ("m", "every host's lines merged in arrival order, each with its host, and back"),
            ("/", "filter the logs: text, or re:REGEX (enter applies, esc clears)"),
            ("]  [", "next / previous matching line"),
            ("space", "pause following the newest lines, and resume"),
            ("f  enter", "maximise the focused host's log, and back"),
            ("w", "save the focused log (or the merged one) to a file"),
            ("c", "clear every log"),
        ),
    ),
    (
        "ZooKeeper  (read-only)",
        (
            ("↓ ↑", "move in the znode tree; the panel shows the znode's data and stat"),
            ("enter  space", "open / close a znode (its children load and stay live)"),
            ("/", "filter the tree by name (enter keeps it, esc clears it)"),
            ("r", "re-read every open znode; retry when not connected"),
        ),
    ),
    (
        "Monitor  (read-only)",
        (
            ("p", "pause / resume polling"),
            ("+  -", "poll less / more often (1 to 60 s, default 3 s)"),
            ("r", "poll now"),
            ("o", "sort the nodes: file order, node, verdict, get/s, memory, connections"),
            ("/", "filter the nodes by host, address or verdict (enter keeps it, esc clears it)"),
            ("c", "a memcached admin command on every node (stats ...; a write only if asked, never read-only)"),
        ),
    ),
    (
        "Events  (read-only)",
        (
            ("↓ ↑", "move in the events (newest first: joined / left / rejoined) or the clients"),
            ("tab  shift+tab", "from the events to the clients (client_list) and back"),
            ("r", "read everything again on a new session; retry when not connected"),
        ),
    ),
)
"""What the help screen lists, section by section: (keys, what they do)."""


def help_content() -> Content:
    width = max(len(keys) for _, rows in KEYS for keys, _ in rows) + 3
    lines: list[Content] = []
    for section, rows in KEYS:
        if lines:
            lines.append(Content(""))
        lines.append(Content.styled(section, "bold $primary"))
        for keys, what in rows:
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
        Binding("escape", "dismiss", "Back"),
        Binding("question_mark", "dismiss", "Back", show=False),
    ]

    def compose(self):
        with VerticalScroll() as box:
            box.border_title = "arcus-tui keys"
            box.border_subtitle = "esc to close"
            yield Static(help_content(), id="help-keys")
