"""Pieces of the Monitor tab: the ensemble line, the services and nodes tables.

Pure rendering of what `arcus_tui.monitor` gives (a `MonitorSnapshot`: statuses,
memcached stats, rates and history).
Cells are `rich.text.Text` (never markup strings: a hostname is shown as written)
coloured with the running theme's palette (``App.get_css_variables()``), so the
colours follow the theme like the rest of the app.
"""

from __future__ import annotations

from typing import Callable, Iterable, Mapping, Optional, Sequence, Union

from rich.text import Text
from textual.content import Content
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from arcus_tui.monitor.cloud_status import Process, Registry
from arcus_tui.monitor.memcached_stats import MemcachedStats, StatsUnavailable, human_bytes, human_duration
from arcus_tui.monitor.rates import sparkline
from arcus_tui.monitor.snapshot import NodeLive
from arcus_tui.zk.fourletter import MemberMode, Mode
from arcus_tui.zk.status import Health, ServiceStatus

NOT_JOINED = "running but not joined"
MAX_ADDRESSES_SHOWN = 3

Palette = Mapping[str, str]
Cells = Union[Sequence[Text], Callable[[], Sequence[Text]]]


def _rate_key(value: Optional[float]) -> float:
    return -(value if value is not None else -1.0)  # highest first, missing last


NODE_SORTS: tuple[tuple[str, Callable[[NodeLive], object]], ...] = (
    ("file order", lambda node: 0),
    ("node", lambda node: node.endpoint),
    ("verdict", lambda node: (node.state.verdict == "ok", node.state.verdict)),
    ("get/s", lambda node: _rate_key(node.rates.get_per_s if node.rates else None)),
    ("memory", lambda node: _rate_key(node.rates.memory_ratio if node.rates else None)),
    ("connections", lambda node: _rate_key(node.rates.connection_ratio if node.rates else None)),
)
"""What ``o`` cycles through: (name, key). Python's sort is stable: ties keep file order."""


def node_matches(node: NodeLive, text: str) -> bool:
    """The filter: a case-insensitive piece of the host, the node's address or its verdict."""
    text = text.lower()
    return any(text in field.lower() for field in (node.host, node.endpoint, node.state.verdict,
                                                   node.liveness.value))


def _colour(palette: Palette, name: str) -> str:
    return palette.get(name, "")


def health_style(health: Health, palette: Palette) -> str:
    name = {Health.OK: "success", Health.SOME_DOWN: "warning", Health.DOWN: "error"}[health]
    return f"bold {_colour(palette, name)}".strip()


def verdict_style(verdict: str, palette: Palette) -> str:
    """"running but not joined" is the one an operator must not miss: reversed, in the
    warning colour. Stopped / offline in the error colour, ok in the success colour."""
    if verdict == NOT_JOINED:
        return f"bold reverse {_colour(palette, 'warning')}".strip()
    if verdict == "ok":
        return _colour(palette, "success")
    if verdict.startswith("online"):
        return f"bold {_colour(palette, 'warning')}".strip()
    return f"bold {_colour(palette, 'error')}".strip()


def _addresses(addresses: Sequence[str]) -> str:
    if not addresses:
        return "-"
    shown = ", ".join(addresses[:MAX_ADDRESSES_SHOWN])
    more = len(addresses) - MAX_ADDRESSES_SHOWN
    return f"{shown} +{more} more" if more > 0 else shown


def service_row(service: ServiceStatus, palette: Palette) -> list[Text]:
    """service | tree | status | online/total | offline | undefined"""
    online = f"{len(service.online)}/{service.total}"
    return [
        Text(service.service_code, style="bold"),
        Text(service.layout.value, style="dim"),
        Text(service.status.value, style=health_style(service.status, palette)),
        Text(online, justify="right"),
        Text(_addresses(service.offline), style=_colour(palette, "error") if service.offline else "dim"),
        Text(_addresses(service.undefined), style=_colour(palette, "warning") if service.undefined else "dim"),
    ]


SERVICE_COLUMNS = (("service", "Service"), ("tree", "Tree"), ("status", "Status"), ("online", "Online/total"),
                   ("offline", "Offline"), ("undefined", "Undefined (live, not mapped)"))

NODE_COLUMNS = (("host", "Host"), ("node", "Node"), ("registry", "Registry"), ("process", "Process"),
                ("verdict", "Verdict"), ("uptime", "Uptime"), ("gets", "Get/s"), ("sets", "Set/s"),
                ("hits", "Hit %"), ("evictions", "Evict/s"), ("connections", "Conns used/limit"),
                ("memory", "Memory used/limit"), ("history", "Get/s history"))

SPARK_WIDTH = 20


def _percent(ratio: Optional[float]) -> str:
    return "-" if ratio is None else f"{ratio * 100:.1f}%"


def _rate(value: Optional[float]) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _used_of(used: Optional[int], limit: Optional[int], ratio: Optional[float], show=str) -> str:
    if used is None:
        return "-"
    text = f"{show(used)} / {show(limit) if limit is not None else '-'}"
    return text + (f" ({ratio * 100:.0f}%)" if ratio is not None else "")


def _ratio_style(ratio: Optional[float], palette: Palette) -> str:
    """Near a limit reads at a glance: over 90 % in the error colour, over 75 % in the warning one."""
    if ratio is None or ratio < 0.75:
        return ""
    return _colour(palette, "error" if ratio >= 0.9 else "warning")


def node_row(node: NodeLive, palette: Palette) -> list[Text]:
    """host | node | registry | process | verdict | uptime | get/s | set/s | hit % | evict/s |
    conns | memory | history (one cell each, in `NODE_COLUMNS` order)."""
    state = node.state
    registry_style = {Registry.ONLINE: "success", Registry.OFFLINE: "error", Registry.UNREGISTERED: "warning",
                      Registry.UNKNOWN: "warning"}
    process_style = {Process.RUNNING: _colour(palette, "success"), Process.STOPPED: _colour(palette, "error"),
                     Process.UNKNOWN: "dim"}
    verdict = state.verdict
    cells = [
        Text(node.host),
        Text(node.endpoint, style="bold"),
        Text(state.registry.value, style=_colour(palette, registry_style[state.registry])),
        Text(state.process.value, style=process_style[state.process]),
        Text(("⚠ " if verdict == NOT_JOINED else "") + verdict, style=verdict_style(verdict, palette)),
    ]
    return cells + _stats_cells(node, palette)


def _stats_cells(node: NodeLive, palette: Palette) -> list[Text]:
    stats, rates = node.stats, node.rates
    history = Text(sparkline(node.history, SPARK_WIDTH), style=_colour(palette, "accent"))
    if not isinstance(stats, MemcachedStats) or rates is None:
        reason = stats.reason if isinstance(stats, StatsUnavailable) else "not read"
        dashes = [Text("-", style="dim", justify="right") for _ in range(6)]
        return [Text(reason, style="dim italic")] + dashes + [history]
    evictions = rates.evictions_per_s
    return [
        Text(human_duration(stats.uptime), justify="right"),
        Text(_rate(rates.get_per_s), justify="right"),
        Text(_rate(rates.set_per_s), justify="right"),
        Text(_percent(rates.hit_ratio), justify="right"),
        Text(_rate(evictions), justify="right", style=_colour(palette, "warning") if evictions else ""),
        Text(_used_of(rates.connections, rates.max_connections, rates.connection_ratio), justify="right",
             style=_ratio_style(rates.connection_ratio, palette)),
        Text(_used_of(rates.memory_used, rates.memory_limit, rates.memory_ratio, human_bytes), justify="right",
             style=_ratio_style(rates.memory_ratio, palette)),
        history,
    ]


def ensemble_content(members: Iterable[MemberMode]) -> Content:
    """``ZooKeeper  a:2181 leader  ·  b:2181 follower  ·  c:2181 unreachable (refused)``"""
    parts: list = [("ZooKeeper  ", "bold")]
    members = list(members)
    if not members:
        parts.append(("no answer yet", "$foreground-muted"))
    styles = {Mode.LEADER: "bold $success", Mode.STANDALONE: "bold $success", Mode.NOT_SERVING: "bold $warning"}
    for index, member in enumerate(members):
        if index:
            parts.append(("  ·  ", "$foreground-muted"))
        style = styles.get(member.mode, "$success" if member.mode.serving else "bold $error")
        parts += [(member.address, ""), " ", (member.mode.value, style)]
        if member.error:
            parts.append((f" ({member.error})", "$foreground-muted"))
    return Content.assemble(*parts)


def _same(before: Text, after: Text) -> bool:
    return before.plain == after.plain and str(before.style) == str(after.style) and before.spans == after.spans


class MonitorTable(DataTable):
    """A read-only table refreshed in place: rows keep their keys, the cursor stays."""

    def __init__(self, columns: Sequence[tuple[str, str]], *, id: Optional[str] = None) -> None:
        # Cell colours (status, verdict) stay visible under the cursor row.
        super().__init__(id=id, cursor_type="row", zebra_stripes=True, cursor_foreground_priority="renderable")
        self.column_keys = [key for key, _ in columns]
        self._labels = [label for _, label in columns]
        self._drawn: dict[str, list[Text]] = {}  # row key -> the cells the table shows
        self._stale: dict[str, Cells] = {}  # rows out of view: their newer cells, not shown yet
        self._order: list[str] = []

    def on_mount(self) -> None:
        for key, label in zip(self.column_keys, self._labels):
            self.add_column(label, key=key)

    def fill(self, rows: Sequence[tuple[str, Cells]]) -> None:
        """Show exactly `rows` in this order, without rebuilding the table: rows are added or
        removed only when the set changes, a new order is a sort of the rows in place, and
        only cells that changed are updated. A row's cells may be given as a function that
        makes them: a row out of view is then made and updated only when it scrolls into view
        (at 400 nodes most rows are out of view, and each poll changes most of their cells)."""
        wanted = [key for key, _ in rows]
        keep = set(wanted)
        gone = [key for key in self._drawn if key not in keep]
        for key in gone:
            self.remove_row(key)
            del self._drawn[key]
        self._stale = {}
        added = []
        for key, cells in rows:
            if key not in self._drawn:
                made = list(cells() if callable(cells) else cells)
                self.add_row(*made, key=key)
                self._drawn[key] = made
                added.append(key)
            else:
                self._stale[key] = cells
        # Our own record of the order (DataTable's ordered_rows cache can miss a remove + add).
        shown = [key for key in self._order if key in keep and key not in added] + added
        if gone or added or shown != wanted:
            # The table holds the very Text objects of `_drawn`: find each row's place by them.
            place = {id(self._drawn[key][0]): index for index, key in enumerate(wanted)}
            self.sort(self.column_keys[0], key=lambda cell: place[id(cell)])
        self._order = wanted
        self._freshen_view()

    def _freshen_view(self) -> None:
        """Bring the rows in view (and a screenful around them) up to date."""
        if not self._stale:
            return
        top = int(self.scroll_y)
        height = max(self.size.height, 1)
        for key in self._order[max(0, top - height): top + 2 * height]:
            cells = self._stale.pop(key, None)
            if cells is not None:
                self._update_row(key, cells() if callable(cells) else cells)

    def _update_row(self, key: str, cells: Sequence[Text]) -> None:
        drawn = self._drawn[key]
        for index, (column, cell) in enumerate(zip(self.column_keys, cells)):
            if not _same(drawn[index], cell):
                self.update_cell(key, column, cell, update_width=self._widens(column, cell))
                drawn[index] = cell

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._freshen_view()

    def on_resize(self) -> None:
        self._freshen_view()

    def _widens(self, column: str, cell: Text) -> bool:
        """A cell wider than its column widens it. A narrower one leaves the column as it is:
        DataTable shrinks a column by measuring every cell in it, which for each of hundreds of
        cells per poll would cost rows x cells (seconds at 400 nodes)."""
        return cell.cell_len > self.columns[ColumnKey(column)].content_width

    def cell_text(self, row_key: str, column: str) -> Text:
        return self.get_cell(row_key, column)

    def row_keys(self) -> list[str]:
        return [row.key.value for row in self.ordered_rows]


class ServicesTable(MonitorTable):
    def __init__(self, *, id: Optional[str] = None) -> None:
        super().__init__(SERVICE_COLUMNS, id=id)


class NodesTable(MonitorTable):
    def __init__(self, *, id: Optional[str] = None) -> None:
        super().__init__(NODE_COLUMNS, id=id)
