"""One host's live log: every line the engine reports for it, prefixed by its step.

stdout as it came, stderr in the theme's error colour, the engine's own narration
muted, and each state change as a short line (`✓ ok 1.2s`, `✗ failed …`).
The lines are kept as data too (`entries`, `text`), so that the log can be drawn
again in a new theme and a test can read exactly what the operator sees.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, replace
from typing import Optional

from rich.text import Text
from textual import events
from textual.content import Content
from textual.widgets import RichLog

from arcus_tui.events import HostState, ProgressEvent, Stream
from arcus_tui.text import printable, printable_lines

from .setup_matrix import COLOURS, GLYPHS, format_duration

MAX_LINES = 5000
IDLE = "no run yet"
STEP_WIDTH = 16  # "memcached-online", "zookeeper-config"


@dataclass(frozen=True)
class LogEntry:
    """One line of a host's log: output, a state change, or where a run begins."""

    step: str
    text: str
    stream: Optional[Stream] = None
    state: Optional[HostState] = None
    separator: bool = False

    @property
    def plain(self) -> str:
        return entry_text(self, {}).plain


def state_words(event: ProgressEvent, repeat_text: bool = True) -> str:
    state = event.state
    assert state is not None
    words = f"{GLYPHS[state] if state is not HostState.RUNNING else '▶'} {state.value}"
    if event.exit_status not in (None, 0):
        words += f" (exit {event.exit_status})"
    if event.duration is not None:
        words += f" {format_duration(event.duration)}"
    if event.text and repeat_text:
        words += f": {event.text}"
    return words


def entry_text(entry: LogEntry, colours: dict[str, str]) -> Text:
    """A log line as Rich text, in the given theme colours (name -> colour)."""
    muted = colours.get("foreground-muted", "")
    if entry.separator:
        return Text(entry.text, style=f"bold {colours.get('primary', '')}".strip())
    line = Text(f"{entry.step:<{STEP_WIDTH}} ", style=muted)
    if entry.state is not None:
        colour = colours.get(COLOURS[entry.state], "")
        line.append(entry.text, style=f"bold {colour}".strip() if entry.state is HostState.FAILED else colour)
    elif entry.stream is Stream.STDERR:
        line.append(entry.text, style=colours.get("error", ""))
    elif entry.stream is Stream.INFO:
        line.append(entry.text, style=muted)
    else:
        line.append(entry.text)
    return line


class HostLog(RichLog, can_focus=True):
    """The live log of one target (a host, `gateway` or `zookeeper`)."""

    DEFAULT_CSS = """
    HostLog {
        height: 1fr;
        border: round $secondary;
        border-title-color: $foreground;
        border-title-style: bold;
        border-subtitle-color: $foreground-muted;
        background: $surface;
        scrollbar-size-vertical: 1;
    }
    HostLog:focus {
        border: heavy $accent;
        border-title-color: $accent;
        background: $boost;
    }
    """

    def __init__(self, target: str, title: str) -> None:
        super().__init__(max_lines=MAX_LINES, wrap=True, markup=False, highlight=False, min_width=20)
        self.target = target
        self.border_title = Content(printable(title))
        self.border_subtitle = IDLE
        self.entries: deque[LogEntry] = deque(maxlen=MAX_LINES)
        self.run = 0
        self._last: dict[str, str] = {}  # step -> last line's text (not repeated by the state line)
        self._state: dict[str, HostState] = {}  # step -> its last state here
        self._stale = False  # lines came while hidden: draw them all when shown
        self._drawn_width = 0

    @property
    def text(self) -> str:
        """Every line as plain text (what the operator reads)."""
        return "\n".join(entry.plain for entry in self.entries)

    def take(self, event: ProgressEvent, run: int = 0, kind: str = "") -> None:
        """Add one engine event of run `run` to the log."""
        event = _printable(event)
        if run != self.run:
            self.run = run
            self._last.clear()
            self._state.clear()
            stamp = time.strftime("%H:%M:%S", time.localtime(event.time))
            self._add(LogEntry("", f"── {kind or 'run'} {run} · {stamp} ──", separator=True))
        if event.state is None:
            if not event.text:
                return
            for piece in event.text.splitlines() or [""]:
                self._add(LogEntry(event.step, piece, stream=event.stream))
            self._last[event.step] = event.text
            return
        if event.state is HostState.RUNNING and self._state.get(event.step) is HostState.RUNNING and not event.text:
            return  # already said
        self._state[event.step] = event.state
        repeat = event.text != self._last.get(event.step)
        self._add(LogEntry(event.step, state_words(event, repeat), state=event.state))
        self.border_subtitle = f"{event.step} {state_words(event, repeat_text=False)}"
        self._last.pop(event.step, None)

    def _colours(self) -> dict[str, str]:
        return self.app.theme_variables if self.is_attached else {}

    def _add(self, entry: LogEntry) -> None:
        self.entries.append(entry)
        if self._size_known and self.scrollable_content_region.width <= 0:
            self._stale = True  # hidden (another tab): wrapped now, it would fit no width
        elif self._stale:
            self.redraw()  # shown again: every line, this one too, in the width there is now
        else:
            self.write(entry_text(entry, self._colours()))

    def on_resize(self, event: events.Resize) -> None:
        # RichLog's own handler runs after this one and writes what waited for a first size.
        if self._size_known and event.size.width and (self._stale or event.size.width != self._drawn_width):
            self.redraw()
        self._drawn_width = event.size.width

    def on_show(self) -> None:
        if self._stale:
            self.call_after_refresh(self.redraw)

    def wipe(self) -> None:
        self._stale = False
        self.entries.clear()
        self._last.clear()
        self.clear()

    def redraw(self) -> None:
        """Draw every kept line again: in the width the log has now, or in a new theme."""
        if self._size_known and self.scrollable_content_region.width <= 0:
            self._stale = True
            return
        self._stale = False
        colours = self._colours()
        self.clear()
        for entry in self.entries:
            self.write(entry_text(entry, colours), scroll_end=False)
        self.scroll_end(animate=False)


def _printable(event: ProgressEvent) -> ProgressEvent:
    """The event with its text and step made printable: remote output must not drive the terminal
    (escape sequences, carriage returns); line breaks stay, each line is kept on its own."""
    text = "\n".join(printable_lines(event.text)) if event.text else ""
    step = printable(event.step)
    if text == event.text and step == event.step:
        return event
    return replace(event, text=text, step=step)
