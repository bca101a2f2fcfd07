"""The main screen: the tab shell. Numbered tabs Grid / Setup / Logs / ZooKeeper / Monitor / Events,
the keys that switch them, where the focus goes when a tab shows, and the gate every tab asks
(what may change now). The Grid's boxes and layout edits are its own pane (`panes/grid.py`)."""

from __future__ import annotations

from dataclasses import replace
from typing import Optional

from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Header, TabbedContent, TabPane, Tabs

from arcus_tui.model import Cluster

from ..gate import Gate
from ..panes import PANES
from ..panes.grid import GridPane
from ..panes.setup import SetupPane
from ..widgets.steady_footer import SteadyFooter

TABS: tuple[tuple[str, str], ...] = (
    ("grid", "Grid"),
    ("setup", "Setup"),
    ("logs", "Logs"),
    ("zookeeper", "ZooKeeper"),
    ("monitor", "Monitor"),
    ("events", "Events"),
)
"""(pane id, label) in key order: key 1 shows the first, 6 the last."""


class MainScreen(Screen[None]):
    """Header, the numbered tabs (`TABS`) and the footer with key hints."""

    AUTO_FOCUS = "HostBox"

    BINDINGS = [
        Binding("1", "show_tab('grid')", "Tabs", key_display=f"1-{len(TABS)}", id="tab.grid"),
        *(
            Binding(str(number), f"show_tab('{tab}')", label, show=False, id=f"tab.{tab}")
            for number, (tab, label) in enumerate(TABS[1:], 2)
        ),
    ]

    def __init__(self, cluster: Optional[Cluster], path: Optional[str], read_only: bool) -> None:
        super().__init__(classes="-read-only" if read_only else "")
        self.cluster = cluster
        self.path = path
        self.read_only = read_only

    def compose(self):
        yield Header()
        with TabbedContent(initial="grid", id="tabs"):
            for number, (tab, label) in enumerate(TABS, 1):
                with TabPane(f"{number} {label}", id=tab):
                    if tab == "grid":
                        yield GridPane(self.cluster, self.path, self.read_only)
                    else:
                        yield from PANES[tab](self.app.context)
        yield SteadyFooter()

    def action_show_tab(self, tab: str) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = tab  # shows the pane at once (its watcher is synchronous)
        self._focus_pane(tabs.get_pane(tab))  # now, so that a key typed next lands in it

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """A tab shown by a click (or a key, again): the focus goes into its pane, unless a key
        typed since already moved it somewhere in that pane."""
        focused = self.focused
        if focused is None or event.pane not in focused.ancestors:
            self._focus_pane(event.pane)

    def _focus_pane(self, pane: TabPane) -> None:
        """Focus the pane's own target: the first child with `focus_default()` (the Grid's cursor
        box, ...) decides. A pane without one gets the tab bar, and its `on_show` may move on."""
        target = next((child for child in pane.children if callable(getattr(child, "focus_default", None))), None)
        if target is None or target.focus_default() is False:
            self.set_focus(self.query_one(TabbedContent).query_one(Tabs))

    # --- what may change now ---------------------------------------------------------------

    @property
    def grid(self) -> GridPane:
        return self.query_one(GridPane)

    @property
    def unsaved(self) -> bool:
        return self.grid.unsaved

    @property
    def gate(self) -> Gate:
        """What may change now (`ui/gate.py`): the Grid's edits, the Setup tab's runs and quit ask it."""
        return Gate(read_only=self.read_only, running=self.app.runs.running, unsaved=self.unsaved)

    def gate_changed(self) -> None:
        """Something the gate weighs changed (an edit, a save, a run began or ended): the footer
        and the Setup tab show what is on now."""
        self.refresh_bindings()
        for pane in self.query(SetupPane):
            pane.gate_changed()

    async def on_grid_pane_layout_saved(self, message: GridPane.LayoutSaved) -> None:
        await self._use_saved_layout(message.cluster)

    async def _use_saved_layout(self, cluster: Cluster) -> None:
        """From a save on, the other tabs work on the saved layout: their panes are built anew
        (closing their sessions and timers). A run in progress goes on with the layout it started
        with; the panes built anew watch it from where it is (`ui/runs.py`)."""
        self.app.context = replace(self.app.context, cluster=cluster)
        for tab, label in TABS[1:]:
            pane = self.query_one(f"#{tab}", TabPane)
            await pane.remove_children()
            await pane.mount(*PANES[tab](self.app.context))
