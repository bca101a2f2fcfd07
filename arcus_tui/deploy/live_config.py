"""Live configuration: bring running memcached nodes to the cluster file's memlimit and
connections without a restart, and the ZooKeeper mappings with them.

arcus-memcached 1.15.0 changes two of the file's settings live (memcached.c
`process_config_command`): ``config memlimit <MB>`` and ``config maxconns <n>``, each
answering ``END`` when done. Its limits, which this module puts into words:

* memlimit: refused (``CLIENT_ERROR bad value``) below 1.1 x the memory the node has
  already allocated, or below its sticky_limit, or when it runs on one preallocated chunk.
* maxconns: refused (``CLIENT_ERROR the value is out of range``) unless the value plus the
  13 descriptors it reserves is at least 1.1 x the current connections and at most
  1,000,000; refused (``SERVER_ERROR ... over the soft limit``) above the open-files limit,
  which the daemon set at start to max(ulimit -n, connections + 20): only a restart lifts it.

`threads` (`-t`) is read at start only: a difference is reported as needing a restart.

Steps: `read_plan` reads every node's `stats settings` (and, read-only, what registering
the file would change in ZooKeeper) and lists the differences; `apply_plan` sends the
`config` commands, re-registers the file's cluster JSON with `zk.registry.register` (so the
mappings are exactly what the next register writes, and ``created`` is kept), then reads
`stats settings` back and verifies. It reports as `ProgressEvent`s and returns a result.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Optional

from arcus_tui.events import EventSink, HostState, ProgressEvent, Stream, ignore_events
from arcus_tui.model import Cluster
from arcus_tui.model.arcus_json import export_arcus
from arcus_tui.monitor.admin import AdminReply, DEFAULT_CONCURRENCY, send_command
from arcus_tui.monitor.memcached_stats import explain, fetch_stats
from arcus_tui.zk.registry import RegistrationDiff, RegistryOutcome, nodes_from_cluster_json, register, registration_diff
from arcus_tui.zk.session import KazooException, RegistryError, RegistrySession

from .plan import ENSEMBLE

MB = 1024 * 1024
DEFAULT_TIMEOUT = 5.0
RESTART_HINT = "run `arcus-tui restart {file} memcached --rolling`"

LIVE_SETTINGS = {"memlimit": ("maxbytes", MB, "memlimit"), "connections": ("maxconns", 1, "maxconns")}
"""file key -> (`stats settings` name, its unit in the file's unit, `config` name)."""
RESTART_SETTINGS = {"threads": ("num_threads", 1)}
"""file key -> (`stats settings` name, unit): settings the daemon reads only at start."""

STEP_READ, STEP_CONFIG, STEP_REGISTER, STEP_VERIFY = "read settings", "config", "register", "verify"

RegistryConnect = Callable[[str, bool], RegistrySession]


def default_registry(connect_string: str, read_only: bool, timeout: float = DEFAULT_TIMEOUT) -> RegistrySession:
    return RegistrySession.connect(connect_string, read_only=read_only, timeout=timeout, op_timeout=timeout)


def _connector(connect: Optional[RegistryConnect], timeout: float) -> RegistryConnect:
    return connect or (lambda hosts, read_only: default_registry(hosts, read_only, timeout))


class LiveConfigRefused(RuntimeError):
    """The engine was asked to write in read-only mode."""


@dataclass(frozen=True)
class SettingDifference:
    """One setting of one node: the running value (file units) and the file's."""

    host: str
    endpoint: str
    setting: str  # the cluster file's key: memlimit, connections, threads
    running: Optional[int]
    wanted: int

    @property
    def live(self) -> bool:
        return self.setting in LIVE_SETTINGS

    @property
    def command(self) -> Optional[str]:
        if not self.live:
            return None
        return f"config {LIVE_SETTINGS[self.setting][2]} {self.wanted}"

    def describe(self) -> str:
        unit = " MB" if self.setting == "memlimit" else ""
        running = "?" if self.running is None else f"{self.running}{unit}"
        how = f"live: {self.command}" if self.live else "needs a restart"
        return f"{self.endpoint:22} {self.setting:12} running {running} -> file {self.wanted}{unit}  ({how})"

    def to_json(self) -> dict:
        return {"host": self.host, "node": self.endpoint, "setting": self.setting, "running": self.running,
                "wanted": self.wanted, "live": self.live, "command": self.command}


@dataclass(frozen=True)
class NodeReading:
    """A node's `stats settings` (raw), or why it could not be read."""

    host: str
    endpoint: str
    settings: Mapping[str, str] = field(default_factory=dict)
    problem: str = ""


def running_value(settings: Mapping[str, str], setting: str) -> Optional[int]:
    """The file-unit value of `setting` in a `stats settings` reply (memlimit in MB)."""
    name, unit = (LIVE_SETTINGS[setting][:2] if setting in LIVE_SETTINGS else RESTART_SETTINGS[setting])
    try:
        return int(settings[name]) // unit
    except (KeyError, ValueError):
        return None


def _differs(settings: Mapping[str, str], setting: str, wanted: int) -> bool:
    name, unit = (LIVE_SETTINGS[setting][:2] if setting in LIVE_SETTINGS else RESTART_SETTINGS[setting])
    try:
        return int(settings[name]) != wanted * unit  # bytes against bytes: a fraction of a MB differs too
    except (KeyError, ValueError):
        return True


def differences(cluster: Cluster, readings: Iterable[NodeReading]) -> list[SettingDifference]:
    """What differs between each read node and the file, live settings first per node."""
    by_endpoint = {node.endpoint: node for node in cluster.nodes()}
    found = []
    for reading in readings:
        node = by_endpoint.get(reading.endpoint)
        if node is None or reading.problem:
            continue
        for setting in (*LIVE_SETTINGS, *RESTART_SETTINGS):
            wanted = getattr(node.settings, setting)
            if _differs(reading.settings, setting, wanted):
                found.append(SettingDifference(reading.host, reading.endpoint, setting,
                                               running_value(reading.settings, setting), wanted))
    return found


@dataclass(frozen=True)
class LiveConfigPlan:
    service_code: str
    readings: tuple[NodeReading, ...] = ()
    differences: tuple[SettingDifference, ...] = ()
    registration: Optional[RegistrationDiff] = None  # None when ZooKeeper could not be read
    registry_problem: str = ""

    @property
    def live(self) -> list[SettingDifference]:
        return [d for d in self.differences if d.live]

    @property
    def restart(self) -> list[SettingDifference]:
        return [d for d in self.differences if not d.live]

    @property
    def unreadable(self) -> list[NodeReading]:
        return [r for r in self.readings if r.problem]

    @property
    def mapping_changes(self) -> bool:
        """Registering the file would change node mappings (same node set, other configs)."""
        diff = self.registration
        return diff is not None and diff.registered and bool(diff.changed)

    @property
    def registry_blocked(self) -> str:
        """Why the mappings cannot be brought along by re-registering; empty when they can."""
        diff = self.registration
        if diff is None:
            return self.registry_problem or "ZooKeeper was not read"
        if not diff.registered:
            return f"{self.service_code} is not registered: `arcus-tui setup FILE` registers it"
        if diff.added or diff.removed:
            return (f"the file's nodes differ from those registered (add {', '.join(diff.added) or '-'}, "
                    f"remove {', '.join(diff.removed) or '-'}): apply the file with `arcus-tui setup FILE` first")
        return ""

    @property
    def needs_action(self) -> bool:
        return bool(self.live) or (self.mapping_changes and not self.registry_blocked)

    def describe(self, file: str = "FILE") -> list[str]:
        lines = [f"{len(self.readings) - len(self.unreadable)}/{len(self.readings)} node(s) read"]
        lines += [f"  cannot read {r.endpoint}: {r.problem}" for r in self.unreadable]
        lines += [f"  {d.describe()}" for d in self.differences]
        if not self.differences and not self.unreadable:
            lines.append("  every node runs with the file's memlimit, connections and threads")
        if self.restart:
            lines.append(f"  needs a restart ({len(self.restart)} setting(s)): {RESTART_HINT.format(file=file)}")
        if self.registry_blocked:
            lines.append(f"ZooKeeper mappings not updated: {self.registry_blocked}")
        elif self.mapping_changes:
            lines.append(f"ZooKeeper: re-register {self.service_code} so the mappings match the file:")
            lines += [f"  change {c.key}: {c.describe()}" for c in self.registration.changed]
        elif not self.registration.registered:
            lines.append(f"ZooKeeper: {self.service_code} is not registered; no mapping to update")
        else:
            lines.append("ZooKeeper: the mappings already match the file")
        return lines

    def to_json(self) -> dict:
        return {"service_code": self.service_code, "differences": [d.to_json() for d in self.differences],
                "unreadable": {r.endpoint: r.problem for r in self.unreadable},
                "mapping_changes": [c.key for c in self.registration.changed] if self.registration else None,
                "registry_blocked": self.registry_blocked or None}


async def read_settings(cluster: Cluster, endpoints: Optional[Iterable[str]] = None, *,
                        timeout: float = DEFAULT_TIMEOUT) -> list[NodeReading]:
    """`stats settings` of the cluster's nodes (all, or those in `endpoints`), bounded in number at once."""
    wanted = set(endpoints) if endpoints is not None else None
    nodes = [node for node in cluster.nodes() if wanted is None or node.endpoint in wanted]
    gate = asyncio.Semaphore(DEFAULT_CONCURRENCY)

    async def one(host: str, endpoint: str) -> NodeReading:
        async with gate:
            try:
                stats = await fetch_stats(endpoint, timeout=timeout, group="settings")
            except Exception as error:  # any trouble of one node is that node's problem, not the run's
                return NodeReading(host, endpoint, problem=explain(error, timeout))
            return NodeReading(host, endpoint, stats.raw)

    return list(await asyncio.gather(*(one(node.host.name, node.endpoint) for node in nodes)))


def _registration(cluster: Cluster, connect: RegistryConnect) -> RegistrationDiff:
    document = export_arcus(cluster)
    with connect(cluster.connect_string, True) as session:
        return registration_diff(session, cluster.service_code, document, nodes_from_cluster_json(document))


async def read_plan(cluster: Cluster, endpoints: Optional[Iterable[str]] = None, *,
                    timeout: float = DEFAULT_TIMEOUT, connect: Optional[RegistryConnect] = None) -> LiveConfigPlan:
    """What differs, read only: nodes' `stats settings` and what registering would change."""
    readings_call = read_settings(cluster, endpoints, timeout=timeout)
    registry_call = asyncio.to_thread(_registration, cluster, _connector(connect, timeout))
    readings, registration = await asyncio.gather(readings_call, registry_call, return_exceptions=True)
    if isinstance(readings, BaseException):
        raise readings
    problem = ""
    if isinstance(registration, BaseException):
        if not isinstance(registration, (RegistryError, KazooException, OSError, TimeoutError)):
            raise registration
        problem, registration = f"ZooKeeper: {registration}", None
    return LiveConfigPlan(cluster.service_code, tuple(readings), tuple(differences(cluster, readings)),
                          registration, problem)


# -- applying ---------------------------------------------------------------------------


def refusal_reason(difference: SettingDifference, reply: AdminReply) -> str:
    """An operator's explanation of a refused `config` command (the daemon says little)."""
    said = reply.problem or reply.error or " / ".join(reply.lines) or "no reply"
    if "soft limit" in said:
        why = ("above the node's open-files limit, set when it started: it needs a restart "
               f"(connections {difference.wanted})")
    elif difference.setting == "connections" and "out of range" in said:
        why = "memcached takes maxconns + 13 between 1.1 x the connections open now and 1,000,000"
    elif difference.setting == "memlimit" and "bad value" in said:
        why = ("memcached refuses a memlimit below 1.1 x the memory it has already allocated "
               "(or below its sticky_limit); a smaller memlimit needs a restart")
    else:
        return said
    return f"{said}: {why}"


@dataclass
class LiveConfigResult:
    applied: dict[str, list[tuple[SettingDifference, AdminReply]]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # endpoint -> why (config refused or not verified)
    verified: dict[str, bool] = field(default_factory=dict)
    registry: Optional[RegistryOutcome] = None
    registry_problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.failed and not self.registry_problem and all(self.verified.values())

    def to_json(self) -> dict:
        return {"ok": self.ok, "failed": self.failed, "verified": self.verified,
                "applied": {e: [{"command": d.command, "reply": list(r.lines), "ok": r.ok and r.lines == ("END",)}
                                for d, r in pairs] for e, pairs in self.applied.items()},
                "registry": self.registry.message if self.registry else None,
                "registry_problem": self.registry_problem or None}


class _Reporter:
    def __init__(self, sink: EventSink) -> None:
        self.sink = sink

    def line(self, host: str, step: str, text: str, stream: Stream = Stream.INFO) -> None:
        self.sink(ProgressEvent(host, step, stream, text))

    def state(self, host: str, step: str, state: HostState, text: str = "", started: Optional[float] = None) -> None:
        stream = Stream.STDERR if state is HostState.FAILED else Stream.INFO
        self.sink(ProgressEvent(host, step, stream, text, state=state,
                                duration=time.monotonic() - started if started is not None else None))


async def _configure(endpoint: str, changes: list[SettingDifference], result: LiveConfigResult,
                     report: _Reporter, timeout: float) -> None:
    started = time.monotonic()
    report.state(endpoint, STEP_CONFIG, HostState.RUNNING)
    pairs = result.applied.setdefault(endpoint, [])
    for change in changes:
        reply = await send_command(endpoint, change.command, timeout=timeout)
        pairs.append((change, reply))
        if reply.lines != ("END",):  # the one answer of a done `config <name> <value>`
            why = refusal_reason(change, reply)
            result.failed[endpoint] = f"{change.command}: {why}"
            report.state(endpoint, STEP_CONFIG, HostState.FAILED, f"{change.command}: {why}", started)
            return
        report.line(endpoint, STEP_CONFIG, f"{change.command}: END")
    report.state(endpoint, STEP_CONFIG, HostState.OK, f"{len(changes)} setting(s) changed", started)


def _register(cluster: Cluster, connect: RegistryConnect) -> RegistryOutcome:
    document = export_arcus(cluster)
    with connect(cluster.connect_string, False) as session:
        # allowed_removals stays empty: live config never removes a node's mapping
        return register(session, cluster.service_code, document, nodes_from_cluster_json(document))


async def _register_step(cluster: Cluster, plan: LiveConfigPlan, result: LiveConfigResult, report: _Reporter,
                         connect: RegistryConnect) -> None:
    started = time.monotonic()
    report.state(ENSEMBLE, STEP_REGISTER, HostState.RUNNING)
    if plan.registry_blocked:
        result.registry_problem = plan.registry_blocked
        report.state(ENSEMBLE, STEP_REGISTER, HostState.FAILED, plan.registry_blocked, started)
        return
    try:
        outcome = await asyncio.to_thread(_register, cluster, connect)
    except (RegistryError, KazooException, OSError, TimeoutError) as error:
        result.registry_problem = f"ZooKeeper: {error}"
        report.state(ENSEMBLE, STEP_REGISTER, HostState.FAILED, result.registry_problem, started)
        return
    result.registry = outcome
    report.state(ENSEMBLE, STEP_REGISTER, outcome.state, outcome.message, started)


async def _verify(cluster: Cluster, endpoints: list[str], result: LiveConfigResult, report: _Reporter,
                  timeout: float) -> None:
    readings = await read_settings(cluster, endpoints, timeout=timeout)
    left = {(d.endpoint, d.setting): d for d in differences(cluster, readings) if d.live}
    for reading in readings:
        endpoint = reading.endpoint
        if reading.problem:
            why = f"cannot read stats settings back: {reading.problem}"
        else:
            still = [d for (e, _), d in left.items() if e == endpoint]
            why = "; ".join(f"{d.setting} is {d.running}, not {d.wanted}" for d in still)
        result.verified[endpoint] = not why
        if why:
            result.failed.setdefault(endpoint, why)
            report.state(endpoint, STEP_VERIFY, HostState.FAILED, why)
        else:
            report.state(endpoint, STEP_VERIFY, HostState.OK, "stats settings match the file")


async def apply_plan(cluster: Cluster, plan: LiveConfigPlan, sink: EventSink = ignore_events, *,
                     read_only: bool = False, timeout: float = DEFAULT_TIMEOUT,
                     connect: Optional[RegistryConnect] = None) -> LiveConfigResult:
    """Send the plan's `config` commands (each node's in order, nodes at once, bounded), bring
    the ZooKeeper mappings along, and verify by reading `stats settings` again."""
    if read_only:
        raise LiveConfigRefused("read-only: live configuration changes running nodes and ZooKeeper; refused")
    report = _Reporter(sink)
    result = LiveConfigResult()
    by_node: dict[str, list[SettingDifference]] = {}
    for change in plan.live:
        by_node.setdefault(change.endpoint, []).append(change)
    gate = asyncio.Semaphore(DEFAULT_CONCURRENCY)

    async def one(endpoint: str, changes: list[SettingDifference]) -> None:
        async with gate:
            await _configure(endpoint, changes, result, report, timeout)

    await asyncio.gather(*(one(endpoint, changes) for endpoint, changes in by_node.items()))
    if plan.mapping_changes or plan.registry_blocked:  # blocked: said, and counted as not done
        await _register_step(cluster, plan, result, report, _connector(connect, timeout))
    if by_node:
        await _verify(cluster, list(by_node), result, report, timeout)
    return result


__all__ = ["LiveConfigPlan", "LiveConfigRefused", "LiveConfigResult", "NodeReading", "RESTART_HINT",
           "SettingDifference", "apply_plan", "differences", "read_plan", "read_settings", "refusal_reason"]
