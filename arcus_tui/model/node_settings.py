"""The memcached node settings (threads, memlimit, connections): the one table they are read from.

Each setting is a key of the cluster file (`[memcached]` and per-node overrides) and, spelled the
same, a key of an ARCUS cluster JSON `config`; it becomes one option of the memcached command
line. Its default, its bounds and its description live here; `cluster.NodeSettings`, the schema,
the ARCUS JSON import/export, the TOML writer and the layout edits all derive from `NODE_SETTINGS`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SettingBounds:
    """Refused outside low..high (`why`); warned about above `usual` (`unusual`)."""

    low: int
    high: int
    usual: int
    why: str
    unusual: str


@dataclass(frozen=True)
class NodeSetting:
    name: str  # the cluster-file key, and the ARCUS JSON `config` key
    default: int
    option: str  # the memcached command-line option
    doc: str
    bounds: SettingBounds


_INT_MAX = 2**31 - 1
_MAXCONNS_CEILING = 1_000_000 - 13
"""arcus-memcached's `config maxconns` refuses a value once it plus its 13 reserved
descriptors (10 admin connections, ZooKeeper, the TCP listeners) exceeds 1,000,000."""

NODE_SETTINGS = (
    # In ARCUS's own order. Bounds from arcus-memcached 1.15.0 memcached.c, where each option is
    # read with atoi(); defaults are ARCUS's (naver/arcus scripts/conf/*.json).
    NodeSetting("threads", 6, "-t", "worker threads", SettingBounds(
        1, 1024, 64,
        "memcached needs at least 1 worker thread, and more than 1024 (16 times the 64 above "
        "which memcached itself warns) is taken for a typo",
        "memcached itself warns above 64 worker threads; use the number of cores or fewer")),
    NodeSetting("memlimit", 100, "-m", "memory limit in MB", SettingBounds(
        1, _INT_MAX, 1024 * 1024,
        f"memcached needs at least 1 MB and reads -m into an int: above {_INT_MAX} it wraps around",
        "more than 1 TiB for one node; memlimit is in MB, not bytes")),
    NodeSetting("connections", 1000, "-c", "maximum connections", SettingBounds(
        3, _MAXCONNS_CEILING, 65536,
        "memcached exits unless -c exceeds the 2 descriptors its listeners take, and its own "
        f"`config maxconns` refuses more than {_MAXCONNS_CEILING}",
        "memcached raises its open-files limit to connections + 20 at start and exits if it cannot: "
        "check `ulimit -Hn` on the hosts")),
)

NODE_SETTING_KEYS = tuple(setting.name for setting in NODE_SETTINGS)
"""The ARCUS per-node config keys besides `port`, in ARCUS's own order."""

BY_NAME = {setting.name: setting for setting in NODE_SETTINGS}
NODE_SETTING_BOUNDS = {setting.name: setting.bounds for setting in NODE_SETTINGS}
