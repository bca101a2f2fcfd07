"""The Logs tab: one live log per host, plus `gateway` and `zookeeper`, in a grid.

The same `EngineEvent`s that fill the Setup matrix arrive here (see
`widgets/setup_messages.py`); each goes to its target's `HostLog`.
`f`/Enter maximises the focused log (and back), `n`/`p` move to the next or
previous host's log (the maximised view follows), `c` clears every log.
"""

from __future__ import annotations

import math
from typing import Iterable, Optional

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widget import Widget

from arcus_tui.deploy.plan import REGISTRY
from arcus_tui.events import GATEWAY

from ..context import AppContext
from ..widgets.log_host import HostLog
from ..widgets.setup_messages import EngineEvent, TakesEngineEvents

TALL_GRID_ROW = 12
"""Height of a log when there are too many hosts for the grid to fit the screen."""
MAX_FITTING_ROWS = 3


def log_targets(context: AppContext) -> list[tuple[str, str]]:
    """(target, title) of every log: the gateway, each host, and the ensemble."""
    targets = [(GATEWAY, f"{GATEWAY} · this machine")]
    if context.cluster is not None:
        targets += [(host.name, f"{host.name}  {host.address}") for host in context.cluster.hosts]
        ensemble = context.cluster.connect_string
        targets.append((REGISTRY, f"{REGISTRY} · {ensemble}" if ensemble else REGISTRY))
    return targets


class LogsPane(VerticalScroll, TakesEngineEvents, can_focus=False):
    """A grid of `HostLog`s fed by engine events."""

    DEFAULT_CSS = """
    LogsPane {
        layout: grid;
        grid-size: 2;
        grid-gutter: 0 1;
        grid-rows: 1fr;
        height: 1fr;
        padding: 0 1;
    }
    """

    BINDINGS = [
        Binding("f,enter", "maximise", "Maximise", key_display="f"),
        Binding("n", "cycle(1)", "Next host"),
        Binding("p", "cycle(-1)", "Previous", show=False),
        Binding("c", "clear", "Clear logs"),
    ]

    def __init__(self, context: AppContext, *, id: Optional[str] = "logs-pane") -> None:
        super().__init__(id=id)
        self.context = context
        self.logs: dict[str, HostLog] = {}
        self.maximised: Optional[str] = None
        self.last_focused: Optional[str] = None

    def compose(self):
        for target, title in log_targets(self.context):
            log = HostLog(target, title)
            self.logs[target] = log
            yield log

    def on_mount(self) -> None:
        self._arrange()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.call_after_refresh(self._redraw))

    def on_show(self) -> None:
        """The tab came into view: focus a log so that f, n, p and c work at once."""
        self.call_after_refresh(self._focus_log)

    def _focus_log(self) -> None:
        target = self.maximised or self.last_focused
        log = self.logs.get(target) if target else None
        (log or next(iter(self.logs.values()))).focus()

    def on_descendant_focus(self, event) -> None:
        if isinstance(event.widget, HostLog):
            self.last_focused = event.widget.target

    # --- events ---------------------------------------------------------------------------

    def on_engine_event(self, message: EngineEvent) -> None:
        event = message.event
        target = self.target_of(event.host)
        log = self.logs.get(target)
        if log is None:  # a target the cluster file does not name: give it a log too
            log = self.logs[target] = HostLog(target, target)
            self.mount(log)
            self._arrange()
        log.take(event, message.run, message.kind)

    def target_of(self, name: str) -> str:
        """The log an event belongs in. The quorum wait reports per ensemble member
        (`address:port`): that goes to the host with that address, or to the ensemble's log."""
        if name in self.logs or self.context.cluster is None:
            return name
        address, _, port = name.rpartition(":")
        if address and port.isdigit():
            for host in self.context.cluster.hosts:
                if host.address == address and host.name in self.logs:
                    return host.name
            if REGISTRY in self.logs:
                return REGISTRY
        return name

    def log_of(self, target: str) -> HostLog:
        return self.logs[target]

    # --- keys -----------------------------------------------------------------------------

    def _focused(self) -> Optional[HostLog]:
        focused = self.screen.focused if self.is_attached else None
        return focused if isinstance(focused, HostLog) and focused.parent is self else None

    def action_maximise(self) -> None:
        if self.maximised is not None:
            self.maximised = None
        else:
            log = self._focused() or self.logs.get(self.last_focused or "")
            if log is None:
                return
            self.maximised = log.target
        self._arrange()
        self._focus_log()

    def action_cycle(self, step: int) -> None:
        targets = list(self.logs)
        current = self._focused()
        index = targets.index(current.target) if current is not None else -step
        target = targets[(index + step) % len(targets)]
        if self.maximised is not None:
            self.maximised = target
            self._arrange()
        self.last_focused = target
        self.logs[target].focus()

    def action_clear(self) -> None:
        for log in self.logs.values():
            log.wipe()

    # --- layout ---------------------------------------------------------------------------

    def _arrange(self) -> None:
        """Columns and rows for the number of logs; one log filling the pane when maximised."""
        self.set_class(self.maximised is not None, "-maximised")
        for target, log in self.logs.items():
            log.display = self.maximised is None or target == self.maximised
        count = 1 if self.maximised is not None else len(self.logs)
        columns = 1 if count == 1 else 2 if count <= 4 else 3
        rows = math.ceil(count / columns)
        self.styles.grid_size_columns = columns
        self.styles.grid_rows = "1fr" if rows <= MAX_FITTING_ROWS else str(TALL_GRID_ROW)

    def _redraw(self) -> None:
        for log in self.logs.values():
            log.redraw()


def logs_pane(context: AppContext) -> Iterable[Widget]:
    """The `PANES` entry of the Logs tab."""
    yield LogsPane(context)
