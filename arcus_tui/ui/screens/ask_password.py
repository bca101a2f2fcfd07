"""The SSH password, asked once when copying the gateway key needs it.

The typed value goes straight into a `Password` (which never shows in a repr or a
log line) and the input is emptied before the modal closes: nothing of it stays
in the screen, a log, a notification or a file.
"""

from __future__ import annotations

from typing import Optional

from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Static

from arcus_tui.ssh.connect import Password

from .dialog import DialogScreen

PROMPT = "SSH password for the hosts the gateway key is not on yet"


class AskPasswordScreen(DialogScreen[Optional[Password]]):
    """Enter gives the password (empty: none); Esc gives none."""

    DEFAULT_CSS = """
    AskPasswordScreen .ask-text {
        margin-bottom: 1;
    }
    AskPasswordScreen .ask-note {
        color: $foreground-muted;
        margin-top: 1;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, hosts: str = "") -> None:
        super().__init__()
        self.hosts = hosts

    def compose(self):
        with Vertical() as box:
            box.border_title = "SSH password"
            box.border_subtitle = "enter to go on · esc to skip"
            text = PROMPT + (f" ({self.hosts})" if self.hosts else "") + "."
            yield Static(text, classes="ask-text", markup=False)
            yield Input(password=True, placeholder="password", id="password")
            yield Static("Asked once and kept in memory only, to copy the key; "
                         "after that the hosts take the key.", classes="ask-note")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        field = self.query_one(Input)
        value = field.value
        field.value = ""
        self.dismiss(Password(value) if value else None)

    def action_cancel(self) -> None:
        self.query_one(Input).value = ""
        self.dismiss(None)
