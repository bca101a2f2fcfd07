"""The one gate of every action that changes something: the Grid's layout edits and save,
and the Setup tab's runs (setup, retry, teardown), the cancel key and quitting.

Every `check_action` of the app asks `Gate.check`, which answers as Textual wants it:
True (on), None (shown in the footer but off) or False (hidden). What it weighs:

* read-only: nothing may change, so the keys that would are hidden, not refused later;
* a run in progress: the other runs wait for it (shown, off); its cancel key shows. The layout
  may be edited and saved meanwhile: the run goes on with the layout it started with;
* unsaved layout edits: a run would deploy the saved file, not what the Grid shows (shown, off).

Quitting is never off; `quit_question` says what would be lost, and then the app asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

GRID_EDITS = frozenset(
    {"add_host", "delete_host", "toggle_zookeeper", "add_port", "remove_port", "set_memlimit", "save"}
)
"""The Grid's layout edits and save."""

RUNS = frozenset({"start", "retry", "teardown", "rolling_memcached", "rolling_zookeeper"})
"""The Setup tab's runs (setup, retry, teardown, the rolling restarts): each changes servers and znodes."""

CANCEL_RUN = "cancel_run"
"""Stops the run in progress."""

MUTATING = GRID_EDITS | RUNS


@dataclass(frozen=True)
class Gate:
    read_only: bool = False
    running: bool = False
    unsaved: bool = False

    def check(self, action: str) -> Optional[bool]:
        """Textual's `check_action` answer for `action`: True on, None shown but off, False hidden."""
        if action == CANCEL_RUN:
            return True if self.running else False
        if action not in MUTATING:
            return True
        if self.read_only:
            return False
        if self.running and action in RUNS:
            return None
        if action in RUNS and self.unsaved:
            return None
        return True

    def quit_question(self) -> Optional[str]:
        """What quitting now would lose, as a question; None when nothing is lost."""
        losses = []
        if self.running:
            losses.append("a run is in progress (quitting cancels it part-way)")
        if self.unsaved:
            losses.append("the layout has unsaved changes (ctrl+s on the Grid saves them)")
        if not losses:
            return None
        return f"{' and '.join(losses).capitalize()}. Quit anyway?"
