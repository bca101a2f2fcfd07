"""The live monitor engine: long-lived sessions, watches, and only cheap polls.

While it is open, a `LiveMonitor` keeps
- ONE read-only ZooKeeper session with watches on ``cache_list`` (`RegistryWatch`):
  joins and leaves arrive as events, published at once, between polls;
- ONE `SshSession`: one connection per host, logged in once and reused by every
  process check (`kill -0` on each node's pidfile, all of a host's nodes in one
  command). A host that cannot be reached is tried again at most once per poll,
  after a back-off that doubles up to `MAX_HOST_BACKOFF`, so a dead fleet never
  becomes a login storm;
- ONE TCP connection per memcached node (`StatsClient`) for its `stats`;
and polls, every `interval` seconds while someone subscribes, only what has no
watch: memcached `stats` (plus `stats settings` once per node, for maxconns),
`srvr` on each ensemble member, and the process checks (`ProcessChecks`: the hosts
whose nodes did not answer `stats`, plus a slice of the fleet in turn). `close()`
closes them all. Reads only, everywhere.

Every source is a parameter, so tests and the benchmark can use fakes.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from typing import Awaitable, Callable, Mapping, Optional, Sequence, Union

from arcus_tui.deploy.layout import InstallLayout
from arcus_tui.deploy.recipes import process_alive_test
from arcus_tui.deploy.releases import release_of_exe
from arcus_tui.events import HostState
from arcus_tui.model import Cluster, Host
from arcus_tui.ssh.paths import SshPaths
from arcus_tui.ssh.results import HostResult
from arcus_tui.ssh.session import HostWork, Limits, SshSession
from arcus_tui.ssh.target import targets_for
from arcus_tui.zk.fourletter import MemberMode, probe_ensemble

from .cloud_status import CloudStatus, Process, node_states
from .feed import Gathered, MonitorFeed, cluster_max_connections
from .memcached_stats import MemcachedStats, StatsClient, StatsReading, fetch_many
from .registry_watch import RegistryWatch

MAX_HOST_BACKOFF = 60.0
SWEEP_POLLS = 10
"""Every host's processes are checked at least once per this many polls (30 s at 3 s)."""
STATS_TIMEOUT = 2.0
PROBE_TIMEOUT = 2.0
SSH_TIMEOUT = 5.0
REGISTRY_COALESCE = 0.1
"""Seconds watch events are gathered before one snapshot is published for them."""

StatsFetch = Callable[[Sequence[str]], Awaitable[Mapping[str, StatsReading]]]
SettingsFetch = Callable[[str], Awaitable[MemcachedStats]]
EnsembleProbe = Callable[[Sequence[str]], Awaitable[tuple[MemberMode, ...]]]


async def default_stats(endpoints: Sequence[str]) -> Mapping[str, StatsReading]:
    """One-off `stats` of each node (a connection each); the engine keeps its own instead."""
    return await fetch_many(endpoints, timeout=STATS_TIMEOUT)


OWN = "own"
"""The engine's own `StatsClient` (one kept connection per node) for `stats` and `stats settings`."""


async def default_probe(members: Sequence[str]) -> tuple[MemberMode, ...]:
    return await probe_ensemble(members, timeout=PROBE_TIMEOUT)


def check_command(host: Host) -> str:
    """One shell command answering ``<port> 1 <executable>`` (running, and the real path of what
    it runs: its release) or ``<port> 0`` per node of the host."""
    layout = InstallLayout(host.install_dir)
    exe = 'readlink /proc/"$pid"/exe 2>/dev/null'  # $pid: read by the alive test
    return "; ".join(f"if {process_alive_test(layout.memcached_pidfile(port))}; then echo '{port} 1' \"$({exe})\"; "
                     f"else echo '{port} 0'; fi" for port in host.ports)


def parse_check(host: Host, output: str) -> dict[str, Process]:
    """`check_command`'s output -> endpoint -> running/stopped (missing lines stay unknown)."""
    states: dict[str, Process] = {}
    for line in output.splitlines():
        port, _, rest = line.strip().partition(" ")
        flag = rest.partition(" ")[0]
        if port.isdigit() and int(port) in host.ports and flag in ("0", "1"):
            states[f"{host.address}:{port}"] = Process.RUNNING if flag == "1" else Process.STOPPED
    return states


def parse_releases(host: Host, output: str) -> dict[str, Optional[str]]:
    """`check_command`'s output -> endpoint -> the release its running process runs (None when
    it runs no release of ours, e.g. the stand-in under an interpreter)."""
    releases: dict[str, Optional[str]] = {}
    for line in output.splitlines():
        port, _, rest = line.strip().partition(" ")
        flag, _, exe = rest.partition(" ")
        if port.isdigit() and int(port) in host.ports and flag == "1":
            releases[f"{host.address}:{port}"] = release_of_exe(exe)
    return releases


@dataclass
class _Backoff:
    failures: int = 0
    next_attempt: float = 0.0
    problem: str = ""


@dataclass
class ProcessChecks:
    """`kill -0` per node over one long-lived `SshSession`, with a back-off per host.

    Not every host every poll: a node whose `stats` just answered is running, so a host is
    checked when one of its nodes did not answer (is it stopped, or only not serving?), when
    one answered although it was last seen stopped, when it was never checked, and otherwise
    in turn, a slice of the fleet per poll, so that each host is checked at least once every
    `sweep_polls` polls (the pidfile can still lose its process while the port answers)."""

    cluster: Cluster
    ssh: SshSession
    interval: float = 3.0
    sweep_polls: int = SWEEP_POLLS
    states: dict[str, Process] = field(default_factory=dict)  # endpoint -> last known
    releases: dict[str, Optional[str]] = field(default_factory=dict)  # endpoint -> release it runs, last known
    checked: int = 0  # host checks run, for tests and the benchmark
    _hosts: dict[str, _Backoff] = field(default_factory=dict)
    _round: int = 0

    def _wanted(self, index: int, host: Host, answered: Optional[set[str]]) -> bool:
        if answered is None or index % self.sweep_polls == self._round % self.sweep_polls:
            return True
        for port in host.ports:
            endpoint = f"{host.address}:{port}"
            known = self.states.get(endpoint)
            if known is None or endpoint not in answered or known is Process.STOPPED:
                return True
        return False

    async def check(self, answered: Optional[set[str]] = None) -> tuple[dict[str, Process], dict[str, str]]:
        """endpoint -> running/stopped (last known); host name -> why its nodes stay unknown.
        `answered`: the endpoints whose `stats` answered this poll (None: check every host)."""
        now = time.monotonic()
        self._round += 1
        hosts = [h for h in self.cluster.hosts if h.memcached]
        due = [h.name for index, h in enumerate(hosts)
               if self._hosts.setdefault(h.name, _Backoff()).next_attempt <= now
               and self._wanted(index, h, answered)]

        async def job(work: HostWork) -> HostResult:
            host = self.cluster.host(work.name)
            _, out, _ = await work.capture(check_command(host))
            self.states.update(parse_check(host, out))
            self.releases.update(parse_releases(host, out))
            return HostResult(work.name, "process-check", HostState.OK)

        result = await self.ssh.each_host(job, hosts=due, step="process-check") if due else None
        self.checked += len(due)
        failed = set(result.failed) if result is not None else set()  # a list made per access: once
        for name in due:
            if name in failed:
                self._failed(name, result[name].error, now)
            else:
                self._hosts[name] = _Backoff()
        problems = {h.name: self._hosts[h.name].problem for h in hosts if self._hosts[h.name].problem}
        return dict(self.states), problems

    def _failed(self, name: str, error: Optional[str], now: float) -> None:
        backoff = self._hosts[name]
        backoff.failures += 1
        delay = min(MAX_HOST_BACKOFF, self.interval * 2 ** (backoff.failures - 1))
        backoff.next_attempt = now + delay
        backoff.problem = f"{error} (next try in {delay:g} s)"
        for port in self.cluster.host(name).ports:  # what it said before is no longer known
            self.states.pop(f"{self.cluster.host(name).address}:{port}", None)


SshFactory = Callable[[Cluster, SshPaths], SshSession]
RegistryFactory = Callable[[str, Callable[[], None]], RegistryWatch]


def default_ssh(cluster: Cluster, paths: SshPaths) -> SshSession:
    limits = Limits(connect_timeout=SSH_TIMEOUT, command_timeout=SSH_TIMEOUT)
    return SshSession(targets_for(cluster), paths=paths, limits=limits)


def default_registry(connect_string: str, on_change: Callable[[], None]) -> RegistryWatch:
    return RegistryWatch(connect_string, on_change)


class LiveMonitor(MonitorFeed):
    """The app's monitor engine (see the module docstring)."""

    def __init__(self, cluster: Cluster, *, ssh_paths: Optional[SshPaths] = None, use_ssh: bool = True,
                 registry: RegistryFactory = default_registry, ssh: SshFactory = default_ssh,
                 stats: Union[StatsFetch, str, None] = OWN, settings: Union[SettingsFetch, str, None] = OWN,
                 probe: EnsembleProbe = default_probe, **options) -> None:
        super().__init__(cluster, **options)
        self.registry = registry(cluster.connect_string, self._registry_changed)
        self.ssh: Optional[SshSession] = ssh(cluster, ssh_paths or SshPaths()) if use_ssh else None
        self.checks = ProcessChecks(cluster, self.ssh, self.interval) if self.ssh is not None else None
        self.stats_client = StatsClient(timeout=STATS_TIMEOUT)
        self._stats_fetch = self.stats_client.fetch_many if stats == OWN else stats
        self._settings_fetch = self._own_settings if settings == OWN else settings
        self._probe = probe
        self._max_connections = cluster_max_connections(cluster)
        self._settings_read: set[str] = set()
        self._processes: dict[str, Process] = {}
        self._members: tuple[MemberMode, ...] = ()
        self._flush_pending = False

    def set_interval(self, seconds: float) -> None:
        super().set_interval(seconds)
        if self.checks is not None:
            self.checks.interval = self.interval

    # -- one poll ---------------------------------------------------------------------

    async def _gather(self) -> Gathered:
        endpoints = [node.endpoint for node in self.cluster.nodes()]
        registry_problem, members, (stats, processes) = await asyncio.gather(
            self.registry.ensure(), self._probe(self.cluster.ensemble), self._stats_then_processes(endpoints))
        self._members = members
        states, ssh_problems, ssh_error = processes
        self._processes = states
        gathered = Gathered(status=self._status_now(), stats=stats, max_connections=self._max_connections,
                            ssh_problems=ssh_problems)
        gathered.errors += [f"process check over SSH: {name}: {why}" for name, why in ssh_problems.items()]
        if ssh_error:
            gathered.errors.append(f"process check over SSH: {ssh_error}")
        if registry_problem:
            gathered.errors.insert(0, registry_problem)
        return gathered

    async def _stats_then_processes(self, endpoints: list[str]):
        """`stats` first: which nodes answered tells which hosts need a process check now."""
        stats = await self._read_stats(endpoints)
        answered = ({e for e, r in stats.items() if isinstance(r, MemcachedStats)} if stats is not None
                    else None)
        return stats, await self._check_processes(answered)

    async def _check_processes(self, answered: Optional[set[str]]) -> tuple[dict[str, Process], dict[str, str], str]:
        if self.checks is None:
            return {}, {}, ""
        try:
            states, problems = await self.checks.check(answered)
            return states, problems, ""
        except Exception as error:  # the session itself failed: every node's process is unknown
            return {}, {}, str(error) or type(error).__name__

    async def _read_stats(self, endpoints: list[str]) -> Optional[Mapping[str, StatsReading]]:
        if self._stats_fetch is None:
            return None
        readings = await self._stats_fetch(endpoints)
        answered = [e for e, r in readings.items() if isinstance(r, MemcachedStats) and e not in self._settings_read]
        if answered and self._settings_fetch is not None:
            await asyncio.gather(*(self._read_settings(e) for e in answered))
        return readings

    async def _own_settings(self, endpoint: str) -> MemcachedStats:
        return await self.stats_client.fetch(endpoint, group="settings")

    async def _read_settings(self, endpoint: str) -> None:
        """maxconns from `stats settings` (once per node); the cluster file's value until then."""
        try:
            settings = await self._settings_fetch(endpoint)
        except Exception:  # stock and old memcached alike answer it; if not, keep the file's value
            self._settings_read.add(endpoint)
            return
        self._settings_read.add(endpoint)
        try:
            self._max_connections[endpoint] = int(settings.raw["maxconns"])
        except (KeyError, ValueError):
            pass

    def _status_now(self) -> CloudStatus:
        """The registry as the watches see it, joined with the last process checks."""
        status = CloudStatus(self.service_code, zookeeper=self._members)
        if self.registry.session is not None:
            status.services = self.registry.services()
        read = self.registry.session is not None
        releases = self.checks.releases if self.checks is not None else {}
        status.nodes = tuple(replace(node, release=releases.get(node.endpoint)) if node.process is Process.RUNNING
                             else node for node in node_states(self.cluster, status.service, self._processes, read))
        return status

    # -- between polls ----------------------------------------------------------------

    def _registry_changed(self) -> None:
        """A watch saw a join or a leave: publish it soon (on the loop), not at the next poll.
        A burst of events (a whole fleet joining) makes one snapshot, not one per event."""
        if self._closed or self._flush_pending:
            return
        self._flush_pending = True
        asyncio.get_running_loop().call_later(REGISTRY_COALESCE, self._flush_registry)

    def _flush_registry(self) -> None:
        self._flush_pending = False
        if self._closed or self._status is None:
            return
        self._status = self._status_now()
        self.publish(self._snapshot())

    def _registry_connected(self) -> bool:
        return self.registry.connected

    async def close(self) -> None:
        await super().close()
        await asyncio.to_thread(self.registry.close)
        await self.stats_client.close()
        if self.ssh is not None:
            await self.ssh.close()


def live_monitor(cluster: Cluster, ssh_paths: Optional[SshPaths] = None, **options) -> LiveMonitor:
    """The app's default engine for a cluster."""
    return LiveMonitor(cluster, ssh_paths=ssh_paths, **options)


__all__ = ["LiveMonitor", "ProcessChecks", "check_command", "live_monitor", "parse_check", "parse_releases"]
