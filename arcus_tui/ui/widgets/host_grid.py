"""The host grid: one bordered box per server, like the co-located layout's 3-server diagram
(docs/arcus.md#the-two-layouts).

    ╭ cache001.arcus  10.0.0.1 ──────────╮  ╭ cache002.arcus  10.0.0.2 ──────────╮
    │ ZooKeeper :2181 (myid 1)           │  │ ZooKeeper :2181 (myid 2)           │
    │ memcached :11211  100MB  6 threads │  │ memcached :11211  100MB  4 threads │
    │ memcached :11212  100MB  6 threads │  │ memcached :11212  100MB  6 threads │
    ╰────────────────────────────────────╯  ╰────────────────────────────────────╯

Boxes flow into as many columns as the width allows; arrow keys and hjkl move a cursor
between neighbouring boxes, `/` filters them by name, address or live state.

Built for a fleet: every box is built once from per-host data (linear in hosts + nodes) and
has a fixed height, so the grid's layout never measures text. The cursor is an index kept
here, not read back from the focus: keys typed ahead each move from where the previous one
left the cursor, even before the focus caught up. With live state (`show_live`) each row
ends with its state as a symbol and a word ("● leader", "✗ stopped"), coloured by tone, and
only the boxes whose state changed are redrawn.

Over 400 lines: the box, its text and the grid's cursor, filter and live updates are tuned
together for 200 hosts (bench/grid.py); they are kept in one place so that a change to one
is measured against the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

from textual import events
from textual.binding import Binding
from textual.containers import ScrollableContainer, Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Input

from arcus_tui.model import Cluster, Host
from arcus_tui.monitor.feed import MonitorFeed
from arcus_tui.monitor.host_live import (RELEASE_WIDTH, STATE_WIDTH, HostLive, MemberState, NodeLiveState, Tone,
                                        host_live_from_status)
from arcus_tui.monitor.snapshot import MonitorSnapshot

BOX_CHROME = 4
"""Columns a box adds around its text: border and one column of padding each side."""
GUTTER = 2
"""Blank columns between two boxes."""
MIN_BOX_WIDTH = 30
STRETCH = 12
"""How much wider than its widest line a box may grow to fill a row."""
STATE_GAP = 2
"""Blank columns between a row's text and its live state."""
EMPTY_TEXT = "(no ZooKeeper, no memcached yet)"

TONE_STYLES = {
    Tone.GOOD: "$success",
    Tone.WARNING: "bold $warning",
    Tone.ERROR: "bold $error",
    Tone.MUTED: "$foreground-muted",
}


@dataclass(frozen=True)
class BoxRow:
    """One line of a box: the ZooKeeper member (port None) or a memcached node."""

    role: str
    detail: str
    port: Optional[int] = None

    @property
    def text(self) -> str:
        return f"{self.role} {self.detail}"


def member_ids(cluster: Cluster) -> dict[str, int]:
    """host name -> myid, for every ensemble member at once (`Cluster.myid` is per host)."""
    return {host.name: myid for myid, host in enumerate(cluster.zookeeper_hosts, 1)}


def host_rows(cluster: Cluster, host: Host, myid: Optional[int] = None) -> list[BoxRow]:
    """A host's box: its ZooKeeper member and its own memcached nodes (merged settings)."""
    rows = []
    if host.zookeeper:
        myid = myid if myid is not None else cluster.myid(host)
        rows.append(BoxRow("ZooKeeper", f":{cluster.zookeeper.client_port} (myid {myid})"))
    for node in host.memcached:
        settings = cluster.memcached.merged(node)
        rows.append(BoxRow("memcached", f":{node.port}  {settings.memlimit}MB  {settings.threads} threads", node.port))
    return rows


def host_lines(cluster: Cluster, host: Host, myid: Optional[int] = None) -> list[str]:
    """The text of a host's box, line by line (without live state)."""
    return [row.text for row in host_rows(cluster, host, myid)]


def host_title(host: Host) -> str:
    return f"{host.name}  {host.address}"


def row_state(row: BoxRow, live: HostLive) -> Optional[MemberState | NodeLiveState]:
    if row.port is None:
        return live.zookeeper
    return live.nodes.get(row.port, NodeLiveState.UNKNOWN)


class HostBox(Widget, can_focus=True):
    """One server of the grid: a fixed-size box, redrawn only when its live state changes."""

    DEFAULT_CSS = """
    HostBox {
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

    def __init__(self, host: Host, rows: list[BoxRow], text_width: int, live: Optional[HostLive] = None) -> None:
        super().__init__(classes="" if rows else "-empty")
        self.host = host
        self.rows = rows
        self.text_width = text_width
        """Width of the widest row of the whole grid: states line up in one column."""
        self.live = live
        self.styles.height = max(1, len(rows)) + 2  # fixed: the layout needs no text measure
        self.border_title = Content(host_title(host))  # plain text, never markup
        self._content = self._build()

    def render(self) -> Content:
        return self._content

    def show_live(self, live: Optional[HostLive]) -> bool:
        """Show `live`; True when it changed what the box shows (and so was redrawn)."""
        if live == self.live:
            return False
        self.live = live
        self._content = self._build()
        self.refresh()  # same size: a repaint, no layout
        return True

    def _build(self) -> Content:
        if not self.rows:
            return Content(EMPTY_TEXT)
        return Content("\n").join(self._row(row) for row in self.rows)

    def _row(self, row: BoxRow) -> Content:
        style = "bold $primary" if row.role == "ZooKeeper" else "$success"
        parts: list[str | tuple[str, str]] = [(row.role, style), " ", row.detail]
        state = row_state(row, self.live) if self.live is not None else None
        if state is not None:
            pad = self.text_width - len(row.text) + STATE_GAP
            shown = f"{state.symbol} {state.value}"
            parts += [" " * pad, (shown, TONE_STYLES[state.tone])]
            release = self.live.release_text(row.port) if row.port is not None else ""
            if release:  # which build the node runs: an upgrade half-way shows as mixed releases
                parts += [" " * (STATE_WIDTH - len(shown) + STATE_GAP), (release, "$foreground-muted")]
        return Content.assemble(*parts)

    @property
    def text(self) -> str:
        """The box's text as plain lines (what a test or a screen reader sees)."""
        return self._content.plain

    def matches(self, query: str) -> bool:
        """Whether a filter (lower case) finds this box: by name, address or live state."""
        words = self.live.words() if self.live is not None else ()
        return any(query in text.lower() for text in (self.host.name, self.host.address, *words))


class HostBoxes(ScrollableContainer, can_focus=False, inherit_bindings=False):
    """The scrolling area the boxes flow in; its scrolling keys are left to the grid's moves."""

    DEFAULT_CSS = f"""
    HostBoxes {{
        layout: grid;
        grid-size: 3;
        grid-rows: auto;
        grid-gutter: 1 {GUTTER};
        height: 1fr;
        padding: 1 1 0 1;
    }}
    """

    def on_resize(self, event: events.Resize) -> None:
        if isinstance(self.parent, HostGrid):
            self.parent.fit_columns(self.scrollable_content_region.width)


class HostGrid(Vertical, can_focus=False):
    """Every host of a cluster as a box, in a responsive grid; a cursor moves box to box."""

    DEFAULT_CSS = """
    HostGrid {
        height: 1fr;
    }
    HostGrid #grid-filter {
        display: none;
        margin: 0 1;
    }
    HostGrid.-filtering #grid-filter {
        display: block;
    }
    """

    BINDINGS = [
        # the arrows and the vi keys are bound apart, so that a keymap can move either set alone
        Binding("left", "move('left')", "Move", key_display="←↓↑→/hjkl", id="grid.left"),
        *(Binding(key, f"move('{way}')", "Move", show=False, id=f"grid.{way}")
          for key, way in (("down", "down"), ("up", "up"), ("right", "right"))),
        *(Binding(key, f"move('{way}')", "Move", show=False, id=f"grid.{way}-vi")
          for key, way in (("h", "left"), ("j", "down"), ("k", "up"), ("l", "right"))),
        Binding("home", "move('first')", "First host", show=False, id="grid.first"),
        Binding("end", "move('last')", "Last host", show=False, id="grid.last"),
        Binding("slash", "filter", "Filter", key_display="/", id="grid.filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="grid.clear-filter"),
    ]

    def __init__(self, cluster: Cluster, *, feed: Optional[MonitorFeed] = None, id: Optional[str] = None) -> None:
        super().__init__(id=id)
        self.cluster = cluster
        self.feed = feed  # the app's live monitor: each box shows its member's mode and nodes' states
        self.columns = 1
        self.column_width = 0
        self.cursor = 0
        """Index in `boxes` of the box the keys act on (focused, or to be focused)."""
        self.query_text = ""
        self.live: dict[str, HostLive] = {}
        self._boxes: list[HostBox] = []
        self._shown: list[int] = []
        self._position: dict[int, int] = {}
        self._build(cluster)

    # --- building -----------------------------------------------------------------------

    def _build(self, cluster: Cluster) -> None:
        """The boxes for `cluster`, in one pass over its hosts."""
        self.cluster = cluster
        myids = member_ids(cluster)
        rows = [host_rows(cluster, host, myids.get(host.name)) for host in cluster.hosts]
        self.text_width = max([len(row.text) for box in rows for row in box] + [0])
        self._boxes = [HostBox(host, box_rows, self.text_width, self.live.get(host.name))
                       for host, box_rows in zip(cluster.hosts, rows)]
        self._index = {box.host.name: index for index, box in enumerate(self._boxes)}
        self.box_width = self._box_width()

    def _box_width(self) -> int:
        releases = any(live.releases for live in self.live.values())
        widths = [self.text_width + (STATE_GAP + STATE_WIDTH if self.live else 0)
                  + (STATE_GAP + RELEASE_WIDTH if releases else 0)]
        widths += [len(host_title(box.host)) + 2 for box in self._boxes]
        if any(not box.rows for box in self._boxes):
            widths.append(len(EMPTY_TEXT))
        return max(MIN_BOX_WIDTH, max(widths) + BOX_CHROME)

    def compose(self):
        yield Input(placeholder="filter by name, address or state  (Enter: keep, Esc: clear)", id="grid-filter")
        yield HostBoxes(*self._boxes, id="grid-boxes")

    def on_mount(self) -> None:
        self._apply_filter()

    # --- live state from the app's monitor (polled only while the grid is on screen) ------------

    def on_show(self) -> None:
        if self.feed is not None:
            self.feed.subscribe(self._take_snapshot)

    def on_hide(self) -> None:
        if self.feed is not None:
            self.feed.unsubscribe(self._take_snapshot)

    def on_unmount(self) -> None:
        self.on_hide()

    def _take_snapshot(self, snapshot: MonitorSnapshot) -> None:
        self.show_live(host_live_from_status(self.cluster, snapshot.cloud_status()))

    @property
    def area(self) -> HostBoxes:
        return self.query_one(HostBoxes)

    async def show(self, cluster: Cluster, focus: Optional[str] = None) -> None:
        """Redraw every box from `cluster` (after an edit); put the cursor on the host named
        `focus`. When that host is gone, the box now at its place (or the last one) gets it."""
        had_focus = self.focused_box is not None
        cursor = self.cursor
        self._build(cluster)
        area = self.area
        await area.remove_children()
        await area.mount_all(self._boxes)
        self.columns = self.column_width = 0  # refit: the box width may have changed
        self.fit_columns(area.scrollable_content_region.width)
        self.cursor = self._index.get(focus or "", min(cursor, len(self._boxes) - 1))
        self._apply_filter()
        if had_focus or focus is not None:
            self.focus_default()

    # --- boxes and the cursor -----------------------------------------------------------

    @property
    def boxes(self) -> list[HostBox]:
        return list(self._boxes)

    def box(self, host_name: str) -> HostBox:
        return self._boxes[self._index[host_name]]

    @property
    def shown_boxes(self) -> list[HostBox]:
        """The boxes the filter lets through, in order."""
        return [self._boxes[index] for index in self._shown]

    @property
    def cursor_box(self) -> Optional[HostBox]:
        return self._boxes[self.cursor] if self._shown else None

    last_focused = cursor_box  # the name main.py and older tests know

    @property
    def focused_box(self) -> Optional[HostBox]:
        focused = self.screen.focused if self.is_attached else None
        return focused if isinstance(focused, HostBox) and focused.parent is self.area else None

    def focus_default(self) -> None:
        """Focus the cursor's box now (not after the next refresh): a key that follows acts on it."""
        box = self.cursor_box
        if box is not None and box.is_attached:
            self.screen.set_focus(box, scroll_visible=False)
            self.area.scroll_to_widget(box, animate=False)  # the least scroll, in one frame
        elif self.query_text and self.is_attached:  # nothing matches: the filter keeps the keys
            self.screen.set_focus(self.query_one("#grid-filter", Input))

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        # A click: the cursor follows. A late echo of our own focus() is ignored, so a key
        # typed ahead is never taken back.
        widget = event.widget
        if isinstance(widget, HostBox) and widget is self.screen.focused and widget.host.name in self._index:
            self.cursor = self._index[widget.host.name]

    # --- live state ---------------------------------------------------------------------

    def show_live(self, live: Mapping[str, HostLive]) -> int:
        """Show each host's live state; only boxes whose state changed are redrawn (how many)."""
        had = (bool(self.live), any(known.releases for known in self.live.values()))
        self.live.update(live)
        if had != (bool(self.live), any(known.releases for known in self.live.values())):
            # room for the state column, and for the release column once releases are known
            self.box_width = self._box_width()
            self.columns = self.column_width = 0
            if self.is_mounted:
                self.fit_columns(self.area.scrollable_content_region.width)
        changed = 0
        for name, host_live in live.items():
            index = self._index.get(name)
            if index is not None and self._boxes[index].show_live(host_live):
                changed += 1
                if self.query_text:
                    self._filter_one(index)
        if changed and self.query_text:
            self._after_filter()
        return changed

    # --- filter -------------------------------------------------------------------------

    def action_filter(self) -> None:
        self.add_class("-filtering")
        self.screen.set_focus(self.query_one("#grid-filter", Input))

    def action_clear_filter(self) -> None:
        field = self.query_one("#grid-filter", Input)
        self.remove_class("-filtering")
        if field.value:
            field.value = ""  # Input.Changed clears the filter
        self.query_text = ""
        self._apply_filter()
        self.focus_default()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filter":
            return self.has_class("-filtering")
        return True

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.query_text = event.value.strip().lower()
        self._apply_filter()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not self.query_text:
            self.remove_class("-filtering")
        self.focus_default()

    def _apply_filter(self) -> None:
        for index in range(len(self._boxes)):
            self._filter_one(index)
        self._after_filter()

    def _filter_one(self, index: int) -> None:
        box = self._boxes[index]
        shown = not self.query_text or box.matches(self.query_text)
        if box.display != shown:
            box.display = shown

    def _after_filter(self) -> None:
        """The shown boxes changed: the moves work over them, the cursor stays on one."""
        self._shown = [index for index, box in enumerate(self._boxes) if box.display]
        self._position = {index: position for position, index in enumerate(self._shown)}
        if self._shown and self.cursor not in self._position:
            self.cursor = self._shown[0]
            if self.focused_box is not None:
                self.focus_default()
        if self._shown and self.is_mounted:  # the boxes moved: keep the cursor's box in sight
            self.call_after_refresh(self._reveal_cursor)

    def _reveal_cursor(self) -> None:
        box = self.cursor_box
        if box is not None and box.display and not self.area.can_view_entire(box):
            self.area.scroll_to_widget(box, animate=False, center=True, immediate=True)

    # --- layout -------------------------------------------------------------------------

    def fit_columns(self, width: int) -> None:
        hosts = max(1, len(self._boxes))
        columns = max(1, min(hosts, (width + GUTTER) // (self.box_width + GUTTER)))
        room = (width - GUTTER * (columns - 1)) // columns
        column_width = max(self.box_width, min(room, self.box_width + STRETCH))
        if (columns, column_width) != (self.columns, self.column_width):
            self.columns, self.column_width = columns, column_width
            area = self.area
            area.styles.grid_size_columns = columns
            area.styles.grid_columns = str(column_width)

    # --- keys ---------------------------------------------------------------------------

    def neighbour(self, position: int, direction: str) -> int:
        """The shown box `direction` of shown box `position` (the same box at an edge)."""
        count, columns = len(self._shown), self.columns
        row, column = divmod(position, columns)
        last_row = (count - 1) // columns
        if direction == "left":
            return position - 1 if column > 0 else position
        if direction == "right":
            return position + 1 if column < columns - 1 and position + 1 < count else position
        if direction == "up":
            return position - columns if row > 0 else position
        if direction == "down":
            return min(position + columns, count - 1) if row < last_row else position
        if direction == "first":
            return 0
        if direction == "last":
            return count - 1
        raise ValueError(direction)

    def action_move(self, direction: str) -> None:
        if not self._shown:
            return
        if self.focused_box is not None or direction in ("first", "last"):
            position = self.neighbour(self._position[self.cursor], direction)
            self.cursor = self._shown[position]
        self.focus_default()  # from elsewhere (the filter field): the first key lands on the cursor
