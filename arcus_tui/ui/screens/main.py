"""The main screen: numbered tabs Grid / Setup / Logs / ZooKeeper / Monitor."""

from __future__ import annotations

from typing import Optional

from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Header, Static, TabbedContent, TabPane, Tabs

from arcus_tui.model import Cluster

from ..panes import PANES
from ..widgets.host_grid import HostGrid
from ..widgets.placeholder import ComingSoon

TABS: tuple[tuple[str, str], ...] = (
    ("grid", "Grid"),
    ("setup", "Setup"),
    ("logs", "Logs"),
    ("zookeeper", "ZooKeeper"),
    ("monitor", "Monitor"),
)
"""(pane id, label) in key order: key 1 shows the first, 5 the last."""

def cluster_summary(cluster: Cluster, path: Optional[str], read_only: bool) -> Content:
    nodes = sum(1 for _ in cluster.nodes())
    if cluster.zookeeper.external:
        zookeeper = f"external ZooKeeper {cluster.connect_string}"
    else:
        members = len(cluster.zookeeper_hosts)
        zookeeper = f"{members} ZooKeeper member{'s' if members != 1 else ''}"
    parts: list[str | tuple[str, str]] = [
        ("service code ", "$foreground-muted"),
        (cluster.service_code, "bold"),
        (
            f"  ·  {len(cluster.hosts)} host{'s' if len(cluster.hosts) != 1 else ''}"
            f"  ·  {zookeeper}  ·  {nodes} memcached node{'s' if nodes != 1 else ''}",
            "$foreground-muted",
        ),
    ]
    if path:
        parts.append((f"  ·  {path}", "$foreground-muted"))
    if read_only:
        parts.append(("  ·  ", "$foreground-muted"))
        parts.append(("READ-ONLY", "bold $warning"))
    return Content.assemble(*parts)


class MainScreen(Screen[None]):
    """Header, the five numbered tabs and the footer with key hints."""

    AUTO_FOCUS = "HostBox"

    BINDINGS = [
        Binding("1", "show_tab('grid')", "Tabs", key_display="1-5"),
        *(
            Binding(str(number), f"show_tab('{tab}')", label, show=False)
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
                        yield from self._grid()
                    else:
                        yield from PANES[tab](self.app.context)
        yield Footer()

    def _grid(self):
        if self.cluster is None:
            yield ComingSoon(
                "No cluster file",
                "Start arcus-tui with a cluster file to see its hosts:\n\n    arcus-tui cluster.toml",
                id="no-cluster",
            )
            return
        yield Static(cluster_summary(self.cluster, self.path, self.read_only), id="cluster-summary")
        if self.cluster.hosts:
            yield HostGrid(self.cluster, id="host-grid")
        else:
            yield ComingSoon("No hosts yet", "Add [[host]] tables to the cluster file.", id="no-hosts")

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """Keep the focus on something visible: the grid's box, or the tab bar elsewhere."""
        if event.pane.id == "grid" and (grids := self.query(HostGrid)):
            grids.first().focus_box()
        else:
            self.query_one(TabbedContent).query_one(Tabs).focus()
