"""What a tab will hold, shown until its issue lands."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static


class ComingSoon(Static):
    """A centred note: the tab's name, what it will show, and that it is not here yet."""

    DEFAULT_CSS = """
    ComingSoon {
        width: 1fr;
        height: 1fr;
        content-align: center middle;
        text-align: center;
        color: $foreground-muted;
    }
    """

    def __init__(self, title: str, what: str, *, id: str | None = None) -> None:
        self.title = title
        self.what = what
        body = Content.assemble((title, "bold $primary"), "\n\n", what, "\n\n", ("(not built yet)", "italic"))
        super().__init__(body, id=id)
