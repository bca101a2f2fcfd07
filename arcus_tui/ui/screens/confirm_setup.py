"""Before the setup runs: what it does (steps × hosts, every process it starts, the registry
changes) and a y/N question. `s` never starts a setup without it."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from .dialog import DialogScreen


def setup_question(summary: str, effects: list[str], question: str = "Run the setup now?") -> Content:
    """The modal's body: the one-line summary, then each step with what it changes under it."""
    lines = [Content.styled(summary, "bold"), Content(""), Content("This will:")]
    # an indented line details the step above it (one process or registry change)
    lines += [Content(f"      {line.strip()}" if line.startswith(" ") else f"  • {line}") for line in effects]
    lines.append(Content(""))
    lines.append(Content.assemble(f"{question} ", ("[y/N]", "bold $accent")))
    return Content("\n").join(lines)


class ConfirmSetupScreen(DialogScreen[bool]):
    """True only for `y`; n, Esc or Enter give False."""

    DEFAULT_CSS = """
    ConfirmSetupScreen > VerticalScroll {
        width: 96;
        max-height: 90%;
        border: thick $warning;
    }
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Yes, run it", id="dialog.yes"),
        Binding("n,escape,enter", "answer(False)", "No", id="dialog.no"),
    ]

    def __init__(self, service_code: str, summary: str, effects: list[str], *, title: str = "",
                 question: str = "Run the setup now?") -> None:
        super().__init__()
        self.service_code = service_code
        self.summary = summary
        self.effects = effects
        self.title_text = title or f"Set up {service_code}"  # other runs (a rolling restart) name themselves
        self.question = question

    def compose(self):
        with VerticalScroll() as box:
            box.border_title = self.title_text
            box.border_subtitle = "y run it · N no"
            yield Static(setup_question(self.summary, self.effects, self.question), id="confirm-setup-what")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
