"""Pieces of the Monitor tab: the ensemble line, the services and nodes tables.

Pure rendering of what `arcus_tui.monitor` gives (`CloudStatus`, memcached stats).
Cells are `rich.text.Text` (never markup strings: a hostname is shown as written)
coloured with the running theme's palette (``App.get_css_variables()``), so the
colours follow the theme like the rest of the app.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Optional, Sequence

from rich.text import Text
from textual.content import Content
from textual.widgets import DataTable

from arcus_tui.monitor.cloud_status import NodeState, Process, Registry
from arcus_tui.monitor.memcached_stats import MemcachedStats, StatsReading, human_bytes, human_duration
from arcus_tui.zk.fourletter import MemberMode, Mode
from arcus_tui.zk.status import Health, ServiceStatus

NOT_JOINED = "running but not joined"
MAX_ADDRESSES_SHOWN = 3

Palette = Mapping[str, str]


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
                ("verdict", "Verdict"), ("uptime", "Uptime"), ("connections", "Conns"), ("hits", "Get hits"),
                ("memory", "Memory used/limit"), ("evictions", "Evictions"))


def _percent(ratio: Optional[float]) -> str:
    return "-" if ratio is None else f"{ratio * 100:.1f}%"


def node_row(node: NodeState, stats: Optional[StatsReading], palette: Palette) -> list[Text]:
    """host | node | registry | process | verdict | uptime | conns | hits | memory | evictions"""
    registry_style = {Registry.ONLINE: "success", Registry.OFFLINE: "error", Registry.UNREGISTERED: "warning",
                      Registry.UNKNOWN: "warning"}
    process_style = {Process.RUNNING: _colour(palette, "success"), Process.STOPPED: _colour(palette, "error"),
                     Process.UNKNOWN: "dim"}
    verdict = node.verdict
    cells = [
        Text(node.host),
        Text(node.endpoint, style="bold"),
        Text(node.registry.value, style=_colour(palette, registry_style[node.registry])),
        Text(node.process.value, style=process_style[node.process]),
        Text(("⚠ " if verdict == NOT_JOINED else "") + verdict, style=verdict_style(verdict, palette)),
    ]
    if isinstance(stats, MemcachedStats):
        memory = f"{human_bytes(stats.bytes)} / {human_bytes(stats.limit_maxbytes)}"
        if stats.memory_ratio is not None:
            memory += f" ({stats.memory_ratio * 100:.0f}%)"
        evictions = stats.evictions
        cells += [
            Text(human_duration(stats.uptime), justify="right"),
            Text("-" if stats.curr_connections is None else str(stats.curr_connections), justify="right"),
            Text(_percent(stats.hit_ratio), justify="right"),
            Text(memory, justify="right"),
            Text("-" if evictions is None else str(evictions), justify="right",
                 style=_colour(palette, "warning") if evictions else ""),
        ]
    else:
        reason = stats.reason if stats is not None else "not read"
        cells += [Text(reason, style="dim italic")] + [Text("-", style="dim", justify="right") for _ in range(4)]
    return cells


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


class MonitorTable(DataTable):
    """A read-only table refreshed in place: rows keep their keys, the cursor stays."""

    def __init__(self, columns: Sequence[tuple[str, str]], *, id: Optional[str] = None) -> None:
        # Cell colours (status, verdict) stay visible under the cursor row.
        super().__init__(id=id, cursor_type="row", zebra_stripes=True, cursor_foreground_priority="renderable")
        self.column_keys = [key for key, _ in columns]
        self._labels = [label for _, label in columns]

    def on_mount(self) -> None:
        for key, label in zip(self.column_keys, self._labels):
            self.add_column(label, key=key)

    def fill(self, rows: Sequence[tuple[str, list[Text]]]) -> None:
        current = [row.key.value for row in self.ordered_rows]
        wanted = [key for key, _ in rows]
        if current == wanted:
            for key, cells in rows:
                for column, cell in zip(self.column_keys, cells):
                    self.update_cell(key, column, cell, update_width=True)
            return
        cursor_key = current[self.cursor_row] if 0 <= self.cursor_row < len(current) else None
        self.clear()
        for key, cells in rows:
            self.add_row(*cells, key=key)
        if cursor_key in wanted:
            self.move_cursor(row=wanted.index(cursor_key))

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
