"""The content of the numbered tabs: 1 Grid, 2 Setup, 3 Logs, 4 ZooKeeper, 5 Monitor,
6 Events (`screens/main.py` `TABS` numbers them and binds the keys).

`PANES` maps a tab id to a function that composes that tab's widgets from the
`AppContext`, one module per tab; each pane says itself what it needs when there is no
cluster file.
"""

from __future__ import annotations

from typing import Callable, Iterable

from textual.widget import Widget

from ..context import AppContext
from .events import events_pane
from .logs import logs_pane
from .monitor import monitor_pane
from .setup import setup_pane
from .zookeeper import zookeeper_pane

PaneFactory = Callable[[AppContext], Iterable[Widget]]

PANES: dict[str, PaneFactory] = {
    "setup": setup_pane,
    "logs": logs_pane,
    "zookeeper": zookeeper_pane,
    "monitor": monitor_pane,
    "events": events_pane,
}
