"""The host grid: one bordered box per server, like the seed's 3-server diagram.

    ╭ cache001.arcus  10.0.0.1 ──────────╮  ╭ cache002.arcus  10.0.0.2 ──────────╮
    │ ZooKeeper :2181 (myid 1)           │  │ ZooKeeper :2181 (myid 2)           │
    │ memcached :11211  100MB  6 threads │  │ memcached :11211  100MB  4 threads │
    │ memcached :11212  100MB  6 threads │  │ memcached :11212  100MB  6 threads │
    ╰────────────────────────────────────╯  ╰────────────────────────────────────╯

Boxes flow into as many columns as the width allows; arrow keys and hjkl move
the focus between neighbouring boxes.
"""

from __future__ import annotations

from typing import Optional

from textual import events
from textual.binding import Binding
from textual.containers import ScrollableContainer
from textual.content import Content
from textual.widgets import Static

from arcus_tui.model import Cluster, Host

BOX_CHROME = 4
"""Columns a box adds around its text: border and one column of padding each side."""
GUTTER = 2
"""Blank columns between two boxes."""
MIN_BOX_WIDTH = 30
STRETCH = 12
"""How much wider than its widest line a box may grow to fill a row."""


def host_lines(cluster: Cluster, host: Host) -> list[str]:
    """The text of a host's box: its ZooKeeper member and memcached nodes (merged settings)."""
    lines = []
    if host.zookeeper:
        lines.append(f"ZooKeeper :{cluster.zookeeper.client_port} (myid {cluster.myid(host)})")
    for node in cluster.nodes():
        if node.host is host:
            settings = node.settings
            lines.append(f"memcached :{node.port}  {settings.memlimit}MB  {settings.threads} threads")
    return lines


def host_title(host: Host) -> str:
    return f"{host.name}  {host.address}"


class HostBox(Static, can_focus=True):
    """One server of the grid."""

    DEFAULT_CSS = """
    HostBox {
        height: auto;
        min-height: 3;
        padding: 0 1;
        border: round $secondary;
        border-title-color: $foreground;
        border-title-style: bold;
        background: $surface;
    }
    HostBox:focus {
        border: heavy $accent;
        border-title-color: $accent;
        background: $boost;
    }
    HostBox.-empty {
        color: $foreground-muted;
    }
    """

    def __init__(self, cluster: Cluster, host: Host) -> None:
        self.cluster = cluster
        self.host = host
        lines = host_lines(cluster, host)
        super().__init__(self._content(lines), classes="" if lines else "-empty")
        self.border_title = Content(host_title(host))  # plain text, never markup

    @staticmethod
    def _content(lines: list[str]) -> Content:
        if not lines:
            return Content("(no ZooKeeper, no memcached yet)")
        parts: list[Content] = []
        for line in lines:
            role, _, rest = line.partition(" ")
            style = "bold $primary" if role == "ZooKeeper" else "$success"
            parts.append(Content.assemble((role, style), " ", rest))
        return Content("\n").join(parts)

    @property
    def text(self) -> str:
        """The box's text as plain lines (what a test or a screen reader sees)."""
        return "\n".join(host_lines(self.cluster, self.host))


class HostGrid(ScrollableContainer, can_focus=False):
    """Every host of a cluster as a box, in a responsive grid; focus moves box to box."""

    DEFAULT_CSS = f"""
    HostGrid {{
        layout: grid;
        grid-size: 3;
        grid-rows: auto;
        grid-gutter: 1 {GUTTER};
        height: 1fr;
        padding: 1 1 0 1;
    }}
    """

    BINDINGS = [
        Binding("left,h", "move('left')", "Move", key_display="←↓↑→/hjkl"),
        Binding("down,j", "move('down')", "Move", show=False),
        Binding("up,k", "move('up')", "Move", show=False),
        Binding("right,l", "move('right')", "Move", show=False),
        Binding("home", "move('first')", "First host", show=False),
        Binding("end", "move('last')", "Last host", show=False),
    ]

    def __init__(self, cluster: Cluster, *, id: Optional[str] = None) -> None:
        super().__init__(id=id)
        self.cluster = cluster
        self.columns = 1
        self.column_width = 0
        self.last_focused: Optional[HostBox] = None
        self.box_width = self._box_width(cluster)

    @staticmethod
    def _box_width(cluster: Cluster) -> int:
        lines = [host_lines(cluster, host) for host in cluster.hosts]
        widest = max(
            [len(line) for box in lines for line in box] + [len(host_title(host)) + 2 for host in cluster.hosts] + [0]
        )
        return max(MIN_BOX_WIDTH, widest + BOX_CHROME)

    async def show(self, cluster: Cluster, focus: Optional[str] = None) -> None:
        """Redraw every box from `cluster` (after an edit); focus the host named `focus`.

        When that host is gone, the box now at its place (or the last one) gets the focus.
        """
        boxes = self.boxes
        current = self.focused_box
        index = boxes.index(current) if current in boxes else 0
        self.cluster = cluster
        self.box_width = self._box_width(cluster)
        await self.remove_children()
        await self.mount_all([HostBox(cluster, host) for host in cluster.hosts])
        self.columns = self.column_width = 0  # refit: the box width may have changed
        self._fit_columns(self.scrollable_content_region.width)
        boxes = self.boxes
        if not boxes:
            return
        names = [box.host.name for box in boxes]
        target = boxes[names.index(focus)] if focus in names else boxes[min(index, len(boxes) - 1)]
        target.focus()

    def compose(self):
        for host in self.cluster.hosts:
            yield HostBox(self.cluster, host)

    @property
    def boxes(self) -> list[HostBox]:
        return list(self.query_children(HostBox))

    def box(self, host_name: str) -> HostBox:
        for box in self.boxes:
            if box.host.name == host_name:
                return box
        raise KeyError(host_name)

    @property
    def focused_box(self) -> Optional[HostBox]:
        focused = self.screen.focused if self.is_attached else None
        return focused if isinstance(focused, HostBox) and focused.parent is self else None

    def focus_box(self) -> None:
        """Focus the box focused last (coming back to the grid), else the first one."""
        if self.last_focused is not None and self.last_focused.is_attached:
            self.last_focused.focus()
        elif boxes := self.boxes:
            boxes[0].focus()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if isinstance(event.widget, HostBox):
            self.last_focused = event.widget

    # --- layout -------------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        self._fit_columns(self.scrollable_content_region.width)

    def _fit_columns(self, width: int) -> None:
        hosts = max(1, len(self.cluster.hosts))
        columns = max(1, min(hosts, (width + GUTTER) // (self.box_width + GUTTER)))
        room = (width - GUTTER * (columns - 1)) // columns
        column_width = max(self.box_width, min(room, self.box_width + STRETCH))
        if (columns, column_width) != (self.columns, self.column_width):
            self.columns, self.column_width = columns, column_width
            self.styles.grid_size_columns = columns
            self.styles.grid_columns = str(column_width)

    # --- keys ---------------------------------------------------------------------------

    def neighbour(self, index: int, direction: str) -> int:
        """The box `direction` of box `index` in the current columns (the same box at an edge)."""
        count, columns = len(self.cluster.hosts), self.columns
        row, column = divmod(index, columns)
        last_row = (count - 1) // columns
        if direction == "left":
            return index - 1 if column > 0 else index
        if direction == "right":
            return index + 1 if column < columns - 1 and index + 1 < count else index
        if direction == "up":
            return index - columns if row > 0 else index
        if direction == "down":
            return min(index + columns, count - 1) if row < last_row else index
        if direction == "first":
            return 0
        if direction == "last":
            return count - 1
        raise ValueError(direction)

    def action_move(self, direction: str) -> None:
        boxes = self.boxes
        if not boxes:
            return
        current = self.focused_box
        if current is None:
            boxes[0].focus()
            return
        boxes[self.neighbour(boxes.index(current), direction)].focus()
