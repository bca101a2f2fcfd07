"""The one look of every modal question: a bordered box centred over the screen.

Subclasses style only what differs (width, border colour) and their own parts;
Textual applies this base class's DEFAULT_CSS to them too.
"""

from __future__ import annotations

from typing import TypeVar

from textual.screen import ModalScreen

ResultType = TypeVar("ResultType")


class DialogScreen(ModalScreen[ResultType]):
    DEFAULT_CSS = """
    DialogScreen {
        align: center middle;
    }
    DialogScreen > Vertical, DialogScreen > VerticalScroll {
        width: 70;
        max-width: 95%;
        height: auto;
        padding: 1 2;
        border: thick $primary;
        border-title-style: bold;
        border-subtitle-color: $foreground-muted;
        background: $surface;
    }
    """
