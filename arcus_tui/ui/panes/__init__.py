"""The content of each numbered tab, one module per tab.

`PANES` maps a tab id to a function that composes that tab's widgets from the
`AppContext`; a tab without an entry shows what it will hold (`COMING`).
"""

from __future__ import annotations

from typing import Callable, Iterable

from textual.widget import Widget

from ..context import AppContext

PaneFactory = Callable[[AppContext], Iterable[Widget]]

PANES: dict[str, PaneFactory] = {}
