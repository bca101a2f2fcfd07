"""Before register removes a registered node's mapping: the operator types the service code.

The engine's register step computes the difference against what is registered
(`RegistrationDiff`) and asks through `PlanOptions.ask_removal`; this modal is the
app's way of asking. It only shows and answers; what needs consent is the engine's call.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, Static

from arcus_tui.zk.registry import RegistrationDiff

from .dialog import DialogScreen

MAX_LINES = 24  # a 200-node registration must still fit on the screen


def shown_lines(lines: list[str], limit: int = MAX_LINES) -> list[str]:
    """At most `limit` lines, the rest counted."""
    if len(lines) <= limit:
        return lines
    return lines[:limit - 1] + [f"  … and {len(lines) - limit + 1} more line(s)"]


class ConfirmRegisterScreen(DialogScreen[bool]):
    """True only once the service code is typed exactly and Enter pressed; Esc gives False."""

    DEFAULT_CSS = """
    ConfirmRegisterScreen > Vertical {
        width: 90;
        border: thick $error;
    }
    ConfirmRegisterScreen #confirm-what {
        margin-bottom: 1;
    }
    ConfirmRegisterScreen #confirm-error {
        color: $error;
        height: auto;
        margin-top: 1;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, diff: RegistrationDiff) -> None:
        super().__init__()
        self.diff = diff
        self.phrase = diff.service_code

    def compose(self):
        removed = len(self.diff.removed)
        with Vertical() as box:
            box.border_title = f"Register {self.diff.service_code}: remove {removed} node(s)?"
            box.border_subtitle = "enter to confirm · esc to cancel"
            lines = [Content(line) for line in shown_lines(self.diff.describe())]
            lines.append(Content(""))
            lines.append(Content(f"Registering this file deletes the mapping of {removed} node(s) registered under "
                                 f"{self.diff.service_code} (another team's file under the same code?)."))
            lines.append(Content.assemble("Type the service code ", (self.phrase, "bold $error"), " to go on:"))
            yield Static(Content("\n").join(lines), id="confirm-what")
            yield Input(placeholder="the service code", id="confirm-input")
            yield Static("", id="confirm-error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip() == self.phrase:
            self.dismiss(True)
        else:
            self.query_one("#confirm-error", Static).update(
                Content(f"Not confirmed: type exactly '{self.phrase}' (or esc to cancel)."))

    def action_cancel(self) -> None:
        self.dismiss(False)
