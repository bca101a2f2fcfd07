"""What an empty tab says: what is missing and, as numbered steps, how to get it."""

from __future__ import annotations

from typing import Iterable, Optional

from textual.content import Content
from textual.widgets import Static


def empty_state_content(title: str, steps: Iterable[str]) -> Content:
    """The title, then one numbered line per way forward."""
    lines = [Content.styled(title, "bold $primary"), Content("")]
    lines += [Content.assemble((f"{number}. ", "bold $accent"), step) for number, step in enumerate(steps, 1)]
    return Content("\n").join(lines)


class EmptyState(Static):
    """A centred note in place of a tab's content: what is missing and what to do next."""

    DEFAULT_CSS = """
    EmptyState {
        width: 1fr;
        height: 1fr;
        content-align: center middle;
        color: $foreground-muted;
    }
    """

    def __init__(self, title: str, steps: Iterable[str], *, id: Optional[str] = None) -> None:
        self.title = title
        self.steps = tuple(steps)
        super().__init__(empty_state_content(title, self.steps), id=id)
