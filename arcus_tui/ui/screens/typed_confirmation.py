"""A destructive action's last question: what it will do, then a phrase typed exactly.

Teardown asks for `Delete <service code>` (as arcus.sh did, docs/arcus.md#init-register-and-unregister); a register that removes
mappings asks for the service code. Both share this dialog; each says what it will do.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, Static

from .dialog import DialogScreen


class TypedConfirmationScreen(DialogScreen[bool]):
    """True only once `phrase` is typed exactly and Enter pressed; Esc gives False."""

    DEFAULT_CSS = """
    TypedConfirmationScreen > Vertical {
        width: 90;
        border: thick $error;
    }
    TypedConfirmationScreen #confirm-what {
        margin-bottom: 1;
    }
    TypedConfirmationScreen #confirm-error {
        color: $error;
        height: auto;
        margin-top: 1;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]
    placeholder = "type the words above"

    def __init__(self, title: str, phrase: str) -> None:
        super().__init__()
        self.title_text = title
        self.phrase = phrase

    def what(self) -> list[Content]:
        """The lines above the question: what the action will do."""
        raise NotImplementedError

    def compose(self):
        with Vertical() as box:
            box.border_title = self.title_text
            box.border_subtitle = "enter to confirm · esc to cancel"
            lines = self.what() + [Content(""), Content.assemble("Type ", (self.phrase, "bold $error"), " to go on:")]
            yield Static(Content("\n").join(lines), id="confirm-what")
            yield Input(placeholder=self.placeholder, id="confirm-input")
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
