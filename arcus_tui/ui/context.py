"""What every screen and pane of one app run shares: the cluster and how to reach it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from arcus_tui.model import Cluster
from arcus_tui.monitor.feed import MonitorFeed
from arcus_tui.ssh.paths import SshPaths


@dataclass(frozen=True)
class AppContext:
    cluster: Optional[Cluster]
    path: Optional[str] = None
    read_only: bool = False
    ssh_paths: SshPaths = field(default_factory=SshPaths)  # the gateway's key, known_hosts and config
    probe: bool = False  # read what is already in place when the Setup tab opens (`deploy/probe.py`)
    monitor: Optional[MonitorFeed] = None  # the app's one live monitor engine: the Monitor tab and the Grid
