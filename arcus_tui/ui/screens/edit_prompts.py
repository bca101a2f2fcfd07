"""The small questions the Grid's layout edits ask: a new host, a number, yes or no.

Each is a modal screen: Enter answers, Esc cancels (dismissing with None/False).
The values are only checked for shape here (a plain name, a whole number); the
cluster file's own checks run when the edit is applied.
"""

from __future__ import annotations

from typing import Optional

from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, Static

from arcus_tui.model.names import address_problem, plain_name_problem

from .dialog import DialogScreen, ResultType

class EditPrompt(DialogScreen[ResultType]):
    """The Grid's questions: a narrower box, labels above fields, an error line."""

    DEFAULT_CSS = """
    EditPrompt > Vertical {
        width: 64;
    }
    EditPrompt .edit-label {
        margin-top: 1;
    }
    EditPrompt .edit-error {
        color: $error;
        height: auto;
        margin-top: 1;
    }
    """


class AskHostScreen(EditPrompt[Optional[tuple[str, str]]]):
    """Name and address of a host to add; (name, address) or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, suggested_name: str = "", suggested_address: str = "") -> None:
        super().__init__()
        self.suggested_name = suggested_name
        self.suggested_address = suggested_address

    def compose(self):
        with Vertical() as box:
            box.border_title = "Add a host"
            box.border_subtitle = "enter to add · esc to cancel"
            yield Static("Host name (the ARCUS hostname):", classes="edit-label")
            yield Input(self.suggested_name, placeholder="cache004.arcus", id="edit-host-name")
            yield Static("Address (IP or DNS name):", classes="edit-label")
            yield Input(self.suggested_address, placeholder="10.0.0.4", id="edit-host-address")
            yield Static("", classes="edit-error", id="edit-error")

    def on_mount(self) -> None:
        self.query_one("#edit-host-name", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        name = self.query_one("#edit-host-name", Input).value.strip()
        address = self.query_one("#edit-host-address", Input).value.strip()
        if event.input.id == "edit-host-name" and not address:
            self.query_one("#edit-host-address", Input).focus()
            return
        problem = plain_name_problem(name)
        if problem:
            self._error(f"name: {problem}", "#edit-host-name")
            return
        problem = address_problem(address)
        if problem:
            self._error(f"address: {problem}", "#edit-host-address")
            return
        self.dismiss((name, address))

    def _error(self, message: str, field: str) -> None:
        self.query_one("#edit-error", Static).update(Content(message))
        self.query_one(field, Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)


class AskNumberScreen(EditPrompt[Optional[int]]):
    """One whole number (a port, a memlimit); None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, title: str, prompt: str, suggested: Optional[int] = None, note: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.prompt = prompt
        self.suggested = suggested
        self.note = note

    def compose(self):
        with Vertical() as box:
            box.border_title = self.title_text
            box.border_subtitle = "enter to apply · esc to cancel"
            yield Static(Content(self.prompt), classes="edit-label")
            if self.note:
                yield Static(Content(self.note), classes="edit-label", id="edit-note")
            value = "" if self.suggested is None else str(self.suggested)
            yield Input(value, placeholder="a whole number", id="edit-number")
            yield Static("", classes="edit-error", id="edit-error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text.isdigit():
            self.query_one("#edit-error", Static).update(Content(f"{text!r} is not a whole number"))
            return
        self.dismiss(int(text))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(EditPrompt[bool]):
    """A yes/no question; only `y` says yes (n, Esc or Enter say no)."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="dialog.yes"),
        Binding("n,escape,enter", "answer(False)", "No", id="dialog.no"),
    ]

    def __init__(self, title: str, question: str) -> None:
        super().__init__()
        self.title_text = title
        self.question = question

    def compose(self):
        with Vertical() as box:
            box.border_title = self.title_text
            box.border_subtitle = "y yes · N no"
            yield Static(Content.assemble(self.question, ("  [y/N]", "bold $accent")), id="edit-question")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
