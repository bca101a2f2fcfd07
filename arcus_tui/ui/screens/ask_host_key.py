"""An unknown host key: show host, key type and SHA256 fingerprint; trust it or not.

Only unknown keys are asked about. A key that differs from the one in
known_hosts is refused by the engine and shows as that host's failure.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Static

from arcus_tui.ssh.hostkeys import HostKeyQuestion, known_hosts_name

from .dialog import DialogScreen


def question_content(question: HostKeyQuestion) -> Content:
    where = known_hosts_name(question.hostname, question.port)
    peer = f" ({question.address})" if question.address and question.address != question.hostname else ""
    rows = (
        ("host", question.host),
        ("address", f"{where}{peer}"),
        ("key type", question.key_type),
        ("fingerprint", question.fingerprint),
    )
    lines = [Content.assemble((f"{label:<12}", "$foreground-muted"), (value, "bold")) for label, value in rows]
    lines.append(Content(""))
    lines.append(Content(f"This host's key is not in {question.known_hosts}. Compare the fingerprint "
                         f"with the host's own (ssh-keygen -lf on the host) before trusting it."))
    return Content("\n").join(lines)


class AskHostKeyScreen(DialogScreen[bool]):
    """y trusts the key (it is added to known_hosts); n or Esc refuses (that host fails)."""

    DEFAULT_CSS = """
    AskHostKeyScreen > Vertical {
        width: 90;
        border: thick $warning;
    }
    AskHostKeyScreen Horizontal {
        height: auto;
        margin-top: 1;
        align-horizontal: right;
    }
    AskHostKeyScreen Button {
        margin-left: 2;
    }
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Trust", id="dialog.yes"),
        Binding("n", "answer(False)", "Refuse", id="dialog.no"),
        Binding("escape", "answer(False)", "Refuse", show=False, id="dialog.cancel"),
    ]

    def __init__(self, question: HostKeyQuestion) -> None:
        super().__init__()
        self.question = question

    def compose(self):
        with Vertical() as box:
            box.border_title = "Unknown host key"
            box.border_subtitle = "y trust · n refuse"
            yield Static(question_content(self.question), id="host-key-question")
            with Horizontal():
                yield Button("Refuse (n)", id="refuse", variant="default")
                yield Button("Trust (y)", id="trust", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#refuse", Button).focus()  # the safe answer is the default

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "trust")

    def action_answer(self, trust: bool) -> None:
        self.dismiss(trust)
