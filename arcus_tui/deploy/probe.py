"""What of the setup plan is already true, found by reading only.

Opened on a cloud that already runs, the Setup tab should not say "pending" everywhere.
`probe_setup` asks, for every step of the setup plan and every target, whether running
that step would change anything, and answers DONE, TO_DO or UNKNOWN (with why). It uses
the same checks the runner makes before it acts (the "unless" half of each step): the
gateway key file, a key-only login, the package's checksums, zoo.cfg and myid against
what the recipe would write, the pidfile tests, `srvr` on every ensemble member, /arcus,
the registration diff and cache_list.

It never writes. ZooKeeper is read through a `RegistrySession(read_only=True)`, which
refuses every write, and the SSH side gets `ReadOnlyHost`s, which send only commands
that read (`read_guard`). Unknown host keys are not asked about (that would write
known_hosts): such a host's cells stay UNKNOWN.

The result feeds `SetupMatrix.show_probe` and `Plan.remaining`, or, as a report,
`Runner.run(plan, previous=result.as_report(plan))` skips what is already done.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Awaitable, Callable, Optional

import asyncssh

from arcus_tui.events import GATEWAY, HostState, ignore_events
from arcus_tui.model import Cluster
from arcus_tui.ssh.connect import Credentials
from arcus_tui.ssh.errors import AuthFailed, SshHostError
from arcus_tui.ssh.keys import KEY_TYPES
from arcus_tui.ssh.paths import SshPaths
from arcus_tui.ssh.results import HostResult
from arcus_tui.ssh.session import HostWork, Limits, SshSession
from arcus_tui.ssh.target import targets_for
from arcus_tui.ssh.upload import STATE_DIR, _checksum_command, _parse_checksums, is_tarball, remote_dir, scan
from arcus_tui.zk import paths
from arcus_tui.zk.fourletter import MemberMode, Mode, probe_ensemble, quorum_reached
from arcus_tui.zk.registry import RegistrationDiff, nodes_from_cluster_json, registration_diff
from arcus_tui.zk.session import KazooException, RegistryError, RegistrySession
from arcus_tui.zk.status import ServiceNotFoundError, read_service_status

from . import actions
from .layout import shell_path
from .membership_check import check_membership
from .plan import ENSEMBLE, Plan, StepId, setup_plan
from .read_guard import ReadOnlyCommandError, ReadOnlyHost
from .registry_steps import QUIET_MODES
from .report import DeployReport

PROBE_STEP = "probe"
ACCESS = (StepId.COPY_KEY, StepId.VERIFY_LOGIN)
REGISTRY_READS = (StepId.ZOOKEEPER_INIT, StepId.REGISTER, StepId.MEMCACHED_ONLINE)


class Finding(str, enum.Enum):
    DONE = "done"  # running the step here would change nothing
    TO_DO = "to do"
    UNKNOWN = "unknown"  # could not be read (unreachable host, no login yet, registry down, ...)


@dataclass(frozen=True)
class Verdict:
    finding: Finding
    reason: str = ""

    @property
    def done(self) -> bool:
        return self.finding is Finding.DONE

    def describe(self) -> str:
        return f"probe: {self.finding.value}" + (f" ({self.reason})" if self.reason else "")


def done(reason: str) -> Verdict:
    return Verdict(Finding.DONE, reason)


def to_do(reason: str) -> Verdict:
    return Verdict(Finding.TO_DO, reason)


def unknown(reason: str) -> Verdict:
    return Verdict(Finding.UNKNOWN, reason)


@dataclass
class ProbeResult:
    """(step, target) -> verdict, for every target of every step of the probed plan."""

    verdicts: dict[tuple[StepId, str], Verdict] = field(default_factory=dict)
    registration: Optional[RegistrationDiff] = None  # what register would change, when the registry was read

    def set(self, step: StepId, target: str, verdict: Verdict) -> None:
        self.verdicts[(step, target)] = verdict

    def get(self, step: StepId, target: str) -> Optional[Verdict]:
        return self.verdicts.get((step, target))

    def done(self, step: StepId, target: str) -> bool:
        verdict = self.get(step, target)
        return verdict is not None and verdict.done

    def counts(self) -> dict[Finding, int]:
        counts = {finding: 0 for finding in Finding}
        for verdict in self.verdicts.values():
            counts[verdict.finding] += 1
        return counts

    def as_report(self, plan: Plan) -> DeployReport:
        """The done cells as a previous run's ALREADY_DONE outcomes: what `Runner.run(plan,
        previous=...)` and `SetupMatrix.show_plan(plan, previous)` keep instead of redoing."""
        report = DeployReport(plan)
        for (step, target), verdict in self.verdicts.items():
            if verdict.done:
                report.set(step, target, HostState.ALREADY_DONE, verdict.reason)
        return report


@dataclass(frozen=True)
class ProbeOptions:
    ssh_paths: SshPaths = field(default_factory=SshPaths)
    timeout: float = 5.0  # per login, per command, per registry connect
    use_ssh: bool = True


RegistryOpener = Callable[[], RegistrySession]
ModesReader = Callable[[tuple[str, ...]], Awaitable[tuple[MemberMode, ...]]]
SessionMaker = Callable[[Cluster, Credentials, ProbeOptions], SshSession]


def _ssh_session(cluster: Cluster, credentials: Credentials, options: ProbeOptions) -> SshSession:
    limits = Limits(connect_timeout=options.timeout, command_timeout=options.timeout)
    return SshSession(targets_for(cluster), credentials=credentials, paths=options.ssh_paths, limits=limits,
                      on_unknown_host_key=None, sink=ignore_events)


async def probe_setup(plan: Plan, options: Optional[ProbeOptions] = None, *,
                      open_registry: Optional[RegistryOpener] = None, read_modes: Optional[ModesReader] = None,
                      make_session: SessionMaker = _ssh_session) -> ProbeResult:
    """Read what of `plan` (a setup plan) is already in place; writes nothing anywhere."""
    options = options or ProbeOptions()
    cluster = plan.cluster
    result = ProbeResult()
    key = _gateway_key(plan, options, result)
    if open_registry is None:
        def open_registry() -> RegistrySession:
            return RegistrySession.connect(cluster.connect_string, read_only=True, timeout=options.timeout)
    await asyncio.gather(
        _probe_ensemble(plan, result, open_registry, read_modes or _read_modes(options.timeout)),
        _probe_hosts(plan, options, key, result, make_session))
    for step in plan.steps:  # every cell gets a verdict, whatever was not looked at
        for target in step.targets:
            if result.get(step.id, target) is None:
                result.set(step.id, target, unknown("not probed"))
    return result


def _read_modes(timeout: float) -> ModesReader:
    async def read(members: tuple[str, ...]) -> tuple[MemberMode, ...]:
        return await probe_ensemble(members, timeout=timeout)
    return read


# -- the gateway key ------------------------------------------------------------------------

def _gateway_key(plan: Plan, options: ProbeOptions, result: ProbeResult) -> Optional[Path]:
    """The key file make-key would reuse, if it is there and a key (read, never written)."""
    path = options.ssh_paths.key_dir / KEY_TYPES[plan.options.key_type][1]
    verdict: Verdict
    if not path.is_file():
        verdict, key = to_do(f"no key at {path}"), None
    else:
        try:
            asyncssh.read_private_key(str(path))
            verdict, key = done(f"{path} exists"), path
        except (asyncssh.KeyImportError, OSError) as error:
            verdict, key = unknown(f"{path} is not a usable key: {error}"), None
    if any(step.id is StepId.MAKE_KEY for step in plan.steps):
        result.set(StepId.MAKE_KEY, GATEWAY, verdict)
    return key


# -- the ensemble and the registry ----------------------------------------------------------

async def _probe_ensemble(plan: Plan, result: ProbeResult, open_registry: RegistryOpener,
                          read_modes: ModesReader) -> None:
    cluster = plan.cluster
    ids = {step.id for step in plan.steps}
    modes = await read_modes(cluster.ensemble)
    said = ", ".join(f"{member.address} {member.describe()}" for member in modes)
    if StepId.ZOOKEEPER_QUORUM in ids:
        result.set(StepId.ZOOKEEPER_QUORUM, ENSEMBLE,
                   done(f"quorum: {said}") if quorum_reached(modes) else to_do(f"no quorum: {said}"))
    if StepId.ZOOKEEPER_MEMBERSHIP in ids:
        quiet = all(member.mode is Mode.UNREACHABLE for member in modes)
        result.set(StepId.ZOOKEEPER_MEMBERSHIP, ENSEMBLE, done("no member is running") if quiet else
                   await _membership(plan.step(StepId.ZOOKEEPER_MEMBERSHIP).actions[ENSEMBLE][0]))
    wanted = [step_id for step_id in REGISTRY_READS if step_id in ids]
    if not wanted:
        return
    if all(member.mode in QUIET_MODES for member in modes):
        for step_id in wanted:
            result.set(step_id, ENSEMBLE, to_do(f"no ZooKeeper member is serving ({said})"))
        return
    try:
        verdicts, result.registration = await asyncio.to_thread(_read_registry, plan, open_registry)
    except (RegistryError, KazooException) as error:
        verdicts = {step_id: unknown(f"ZooKeeper could not be read: {error}") for step_id in REGISTRY_READS}
    for step_id in wanted:
        result.set(step_id, ENSEMBLE, verdicts[step_id])


async def _membership(action: actions.EnsembleMembership) -> Verdict:
    """Done when no member runs or every running one has the file's members (`conf`, read only)."""
    try:
        _, why = await check_membership(action)
    except RegistryError as error:
        return to_do(str(error))
    return done(why)


def _read_registry(plan: Plan, open_registry: RegistryOpener) -> tuple[dict[StepId, Verdict], Optional[RegistrationDiff]]:
    """/arcus, the registration and cache_list, through a session that cannot write."""
    cluster = plan.cluster
    session = open_registry()
    try:
        if not session.read_only:
            raise RegistryError("the probe reads through read-only sessions only")
        missing = [path for path, stat in session.exists_many(paths.init_paths()).items() if stat is None]
        verdicts = {StepId.ZOOKEEPER_INIT: to_do(f"missing {', '.join(missing)}") if missing
                    else done("/arcus is in place")}
        verdicts[StepId.REGISTER], diff = _registration(session, plan)
        verdicts[StepId.MEMCACHED_ONLINE] = _online(session, cluster)
        return verdicts, diff
    finally:
        session.close()


def _registration(session: RegistrySession, plan: Plan) -> tuple[Verdict, Optional[RegistrationDiff]]:
    step = next((s for s in plan.steps if s.id is StepId.REGISTER), None)
    if step is None:
        return unknown("no register step"), None
    action = step.actions[ENSEMBLE][0]
    diff = registration_diff(session, action.service_code, action.cluster_json,
                             nodes_from_cluster_json(action.cluster_json))
    if diff.registered and not (diff.added or diff.removed or diff.changed):
        return done(f"{action.service_code} is registered with these {len(diff.unchanged)} node(s)"), diff
    return to_do("; ".join(diff.describe())), diff


def _online(session: RegistrySession, cluster: Cluster) -> Verdict:
    wanted = [node.endpoint for node in cluster.nodes()]
    try:
        online = set(read_service_status(session, cluster.service_code).online)
    except ServiceNotFoundError:
        return to_do(f"{cluster.service_code} is not registered")
    missing = [endpoint for endpoint in wanted if endpoint not in online]
    if missing:
        return to_do(f"not online: {', '.join(missing)}")
    return done(f"{len(wanted)} node(s) online")


# -- the hosts ------------------------------------------------------------------------------

async def _probe_hosts(plan: Plan, options: ProbeOptions, key: Optional[Path], result: ProbeResult,
                       make_session: SessionMaker) -> None:
    hosts = [host.name for host in plan.cluster.hosts
             if any(host.name in step.targets for step in plan.steps)]
    if not hosts:
        return
    if not options.use_ssh or key is None:
        why = "SSH not used" if not options.use_ssh else "no gateway key yet"
        for name in hosts:
            _host_unknown(plan, result, name, why, access=to_do(why) if key is None else None)
        return
    # The gateway key alone, as verify-login logs in: a login that works proves copy-key and verify-login.
    ssh = make_session(plan.cluster, Credentials(identity_files=(key,), use_agent=False), options)
    try:
        async def job(work: HostWork) -> HostResult:
            await _probe_host(plan, ReadOnlyHost(work), result)
            return HostResult(work.name, PROBE_STEP, HostState.OK)

        await ssh.each_host(job, hosts=hosts, step=PROBE_STEP, sink=ignore_events)
    finally:
        await ssh.close()


def _host_unknown(plan: Plan, result: ProbeResult, name: str, why: str, access: Optional[Verdict] = None) -> None:
    for step in plan.steps:
        if name in step.targets and result.get(step.id, name) is None:
            result.set(step.id, name, access if access is not None and step.id in ACCESS else unknown(why))


async def _probe_host(plan: Plan, host: ReadOnlyHost, result: ProbeResult) -> None:
    name = host.name
    try:
        status, home, _ = await host.capture('printf "%s\\n" "$HOME"')
    except AuthFailed as error:
        _host_unknown(plan, result, name, "no key-only login yet", access=to_do(str(error)))
        return
    except SshHostError as error:
        _host_unknown(plan, result, name, str(error))
        return
    for step_id in ACCESS:
        result.set(step_id, name, done("the gateway key logs in"))
    steps = [step for step in plan.steps if name in step.targets and step.id not in ACCESS]
    for step in steps:
        step_actions = step.actions[name]
        if step.id is StepId.ZOOKEEPER_CONFIG and name not in plan.options.homes and status == 0 and home.strip():
            step_actions = _with_home(plan, name, home.strip())
        try:
            verdict = await _check_actions(host, step_actions)
        except (SshHostError, ReadOnlyCommandError) as error:
            verdict = unknown(str(error))
        result.set(step.id, name, verdict)


def _with_home(plan: Plan, name: str, home: str):
    """zoo.cfg as the runner would write it on this host: with the login's real home."""
    options = replace(plan.options, homes={**plan.options.homes, name: home})
    return setup_plan(plan.cluster, options).step(StepId.ZOOKEEPER_CONFIG).actions[name]


async def _check_actions(host: ReadOnlyHost, step_actions) -> Verdict:
    """DONE when every action is already in place (the runner would change nothing)."""
    reasons = []
    for action in step_actions:
        verdict = await _check(host, action)
        if not verdict.done:
            return verdict
        reasons.append(verdict.reason)
    return done("; ".join(reasons))


async def _check(host: ReadOnlyHost, action) -> Verdict:
    if isinstance(action, actions.Upload):
        return await _check_upload(host, action)
    if isinstance(action, actions.WriteFile):
        wanted = hashlib.sha256(action.content.encode()).hexdigest()
        status, out, _ = await host.capture(f"sha256sum < {shell_path(action.path)} 2>/dev/null")
        if status == 0 and out.split()[:1] == [wanted]:
            return done(f"{action.path} holds what the recipe writes")
        return to_do(f"{action.path} differs from what the recipe writes" if status == 0
                     else f"no {action.path}")
    if isinstance(action, actions.RunCommand) and action.unless:  # StartNode too: its process runs
        status, _, _ = await host.capture(action.unless)
        return done(action.already or "already in place") if status == 0 else to_do(
            f"not yet: {action.already}" if action.already else "not in place")
    return unknown(f"{type(action).__name__} has no read-only check")


async def _check_upload(host: ReadOnlyHost, action: actions.Upload) -> Verdict:
    """The package's files against the host's sha256sums, as upload itself compares them."""
    source = Path(action.source)
    unpack = is_tarball(source)
    try:
        files = await asyncio.to_thread(scan, source, under=STATE_DIR if unpack else "")
    except (OSError, ValueError) as error:
        return unknown(f"the package cannot be read on the gateway: {error}")
    directory = remote_dir(action.destination)
    stamp = f"{STATE_DIR}/{source.name}.unpacked" if unpack else None
    _, listing, _ = await host.capture(_checksum_command(directory, stamp),
                                       input="".join(f.rel + "\n" for f in files))
    remote, unpacked = _parse_checksums(listing)
    changed = [f.rel for f in files if remote.get(f.rel) != f.sha256]
    if changed:
        return to_do(f"{len(changed)} of {len(files)} file(s) differ or are missing in {directory}")
    if unpack and unpacked != files[0].sha256:
        return to_do(f"{source.name} is not unpacked in {directory}")
    return done(f"{len(files)} file(s) in place in {directory} (sha256)")
