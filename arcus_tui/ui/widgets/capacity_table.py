"""The Monitor tab's capacity section: memory and connections used / limit per host and in
total (like arcus_cmd.py -i), drawn from a `monitor.capacity.CapacityReport`."""

from __future__ import annotations

from typing import Optional

from rich.text import Text

from arcus_tui.monitor.capacity import CapacityReport, GroupCapacity
from arcus_tui.monitor.memcached_stats import human_bytes

from .monitor_tables import MonitorTable, Palette, _ratio_style

CAPACITY_COLUMNS = (("host", "Host"), ("nodes", "Nodes read"), ("memory", "Memory used / limit"),
                    ("connections", "Connections used / limit"))
TOTAL_KEY = "total"




def capacity_row(group: GroupCapacity, palette: Palette, *, total: bool = False) -> list[Text]:
    """host | nodes read | memory | connections; near a limit in the warning/error colour."""
    style = "bold" if total else ""
    missing = group.read < group.nodes
    return [
        Text("Total" if total else group.name, style=style),
        Text(f"{group.read}/{group.nodes}", justify="right",
             style=palette.get("warning", "") if missing else "dim"),
        Text(group.memory.describe(human_bytes), justify="right",
             style=f"{style} {_ratio_style(group.memory.ratio, palette)}".strip()),
        Text(group.connections.describe(), justify="right",
             style=f"{style} {_ratio_style(group.connections.ratio, palette)}".strip()),
    ]


class CapacityTable(MonitorTable):
    """One row per host, then the cluster's total."""

    DEFAULT_CSS = """
    CapacityTable {
        height: auto;
        max-height: 10;
    }
    """

    def __init__(self, *, id: Optional[str] = None) -> None:
        super().__init__(CAPACITY_COLUMNS, id=id)

    def show(self, report: CapacityReport, palette: Palette) -> None:
        rows = [(f"host:{group.name}", capacity_row(group, palette)) for group in report.hosts]
        self.fill(rows + [(TOTAL_KEY, capacity_row(report.total, palette, total=True))])
