"""How engine progress reaches the widgets: one message type, `EngineEvent`.

A deploy run (the Setup tab's worker) hands the runner an `EngineFeed` as its
sink. The feed wraps every `ProgressEvent` in an `EngineEvent` message and posts
one to each widget that takes them (the Setup pane's matrix, the Logs pane),
wherever they sit in the screen: Textual messages bubble *up* only, and the two
panes are siblings in different tabs, so the feed addresses them directly.
Each of those widgets handles it in one place, its `on_engine_event`.

`post_message` is thread-safe in Textual, so the sink may be called from the
engine's helper threads (key making, kazoo calls) as well as from the loop.
"""

from __future__ import annotations

from typing import Iterable

from textual.dom import DOMNode
from textual.message import Message
from textual.widget import Widget

from arcus_tui.events import ProgressEvent


class EngineEvent(Message, bubble=False):
    """One engine `ProgressEvent` of run number `run` (a setup, retry or teardown).

    `kind` names the run ("setup", "retry", "teardown") so a log can mark where a run begins."""

    def __init__(self, event: ProgressEvent, run: int = 0, kind: str = "") -> None:
        super().__init__()
        self.event = event
        self.run = run
        self.kind = kind


class TakesEngineEvents:
    """Marks a widget that handles `EngineEvent` (in its `on_engine_event`)."""


def engine_listeners(root: DOMNode) -> list[Widget]:
    """Every widget under `root` (normally the screen) that takes engine events."""
    return [node for node in root.query("*") if isinstance(node, TakesEngineEvents)]


class EngineFeed:
    """The `EventSink` a run gives the runner: each event to every listener, in order."""

    def __init__(self, listeners: Iterable[Widget], run: int = 0, kind: str = "") -> None:
        self.listeners = list(listeners)
        self.run = run
        self.kind = kind

    def __call__(self, event: ProgressEvent) -> None:
        for listener in self.listeners:
            listener.post_message(EngineEvent(event, self.run, self.kind))
