"""zoo.cfg: the one place its keys are written (the deploy's hosts and the local ensembles of the
tests and benchmarks both render it here; tests/unit/test_one_zoo_cfg_renderer.py keeps it so).

Keys and defaults are the ones naver/arcus ships in `scripts/conf/zoo.cfg`
(docs/arcus.md#zookeeper-configuration; the values live in `model.cluster.ZooKeeperSettings`); `4lw.commands.whitelist=*` lets the four-letter words
(`srvr`, `ruok`) through on ZooKeeper 3.5+.
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

from arcus_tui.model import ZooKeeperSettings

HEADER = "# written by arcus-tui; ARCUS defaults (naver/arcus scripts/conf/zoo.cfg)"


def render_zoo_cfg(
    settings: ZooKeeperSettings,
    data_dir: str,
    *,
    client_address: Optional[str] = None,
    servers: Sequence[tuple[int, str]] = (),
    extra: Mapping[str, object] = {},
) -> str:
    """zoo.cfg of one ensemble member. `client_address` binds its client port to one address
    (`clientPortAddress`); `servers` are the (myid, address) of every member, for the `server.N`
    lines (none: the member runs standalone); `extra` keys are appended as given."""
    entries: list[tuple[str, object]] = [
        ("maxClientCnxns", settings.max_client_cnxns),
        ("tickTime", settings.tick_time),
        ("initLimit", settings.init_limit),
        ("syncLimit", settings.sync_limit),
        ("dataDir", data_dir),
        ("clientPort", settings.client_port),
    ]
    if client_address:
        entries.append(("clientPortAddress", client_address))
    entries += [
        ("4lw.commands.whitelist", "*"),
        ("minSessionTimeout", settings.min_session_timeout),
        ("maxSessionTimeout", settings.max_session_timeout),
    ]
    entries += [(f"server.{myid}", server_address(settings, address)) for myid, address in servers]
    entries += list(extra.items())
    return "\n".join([HEADER] + [f"{key}={properties_value(value)}" for key, value in entries]) + "\n"


def server_address(settings: ZooKeeperSettings, address: str) -> str:
    """A member as a `server.N` line names it: `address:quorum port:election port`."""
    return f"{address}:{settings.quorum_port}:{settings.election_port}"


def properties_value(value: object) -> str:
    """`value` as java.util.Properties reads it back: ZooKeeper loads zoo.cfg with
    Properties.load (ISO-8859-1, backslash escapes), so a backslash, a control character and
    anything outside printable ASCII are escaped. One value stays one line, whatever it holds:
    the model refuses such values, this is the second line of defence (e.g. a remote $HOME)."""
    out = []
    for ch in str(value):
        if ch == "\\":
            out.append("\\\\")
        elif " " <= ch <= "~":
            out.append(ch)
        else:  # \uXXXX per UTF-16 unit, as Java strings hold it
            units = ch.encode("utf-16-be")
            out += [f"\\u{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2)]
    return "".join(out)
