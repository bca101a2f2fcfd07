"""Before the teardown: the operator types `Delete <service_code>`, as the old tool asked."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, Static

from .dialog import DialogScreen


def confirmation_phrase(service_code: str) -> str:
    return f"Delete {service_code}"


class ConfirmTeardownScreen(DialogScreen[bool]):
    """True only once the exact phrase is typed and Enter pressed; Esc gives False."""

    DEFAULT_CSS = """
    ConfirmTeardownScreen > Vertical {
        width: 80;
        border: thick $error;
    }
    ConfirmTeardownScreen #confirm-what {
        margin-bottom: 1;
    }
    ConfirmTeardownScreen #confirm-error {
        color: $error;
        height: auto;
        margin-top: 1;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, service_code: str, what: list[str]) -> None:
        super().__init__()
        self.service_code = service_code
        self.phrase = confirmation_phrase(service_code)
        self.what = what

    def compose(self):
        with Vertical() as box:
            box.border_title = f"Tear down {self.service_code}"
            box.border_subtitle = "enter to confirm · esc to cancel"
            lines = [Content("This will:")]
            # an indented line details the item above it (e.g. one process of a step)
            lines += [Content(f"      {line.strip()}" if line.startswith(" ") else f"  • {line}")
                      for line in self.what]
            lines.append(Content(""))
            lines.append(Content.assemble("Type ", (self.phrase, "bold $error"), " to go on:"))
            yield Static(Content("\n").join(lines), id="confirm-what")
            yield Input(placeholder="type the words above", id="confirm-input")
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
