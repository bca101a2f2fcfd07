"""Execute a plan: each step on all of its targets at once, in order.

A target that fails a step is skipped by the later steps that depend on it
(per host); the other hosts go on. Every step is idempotent: what is already
in place is reported as ALREADY_DONE and left alone. `run(previous=report)`
re-runs only what did not succeed last time.

SSH work goes through `arcus_tui.ssh`, registry work through `arcus_tui.zk`;
both report as `ProgressEvent`s to the one sink the caller gives.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Awaitable, Callable, Optional

from arcus_tui.events import GATEWAY, EventSink, HostState, ProgressEvent, Stream, ignore_events
from arcus_tui.model import Cluster
from arcus_tui.model.problems import Severity
from arcus_tui.package.inspect import package_problems
from arcus_tui.read_only import ReadOnlyError
from arcus_tui.ssh.audit import CommandObserver
from arcus_tui.ssh.connect import Credentials, Password
from arcus_tui.ssh.hostkeys import HostKeyAsker
from arcus_tui.ssh.keys import GatewayKey, copy_id, ensure_gateway_key, verify_key_login
from arcus_tui.ssh.paths import SshPaths
from arcus_tui.ssh.remote_write import atomic_write_command
from arcus_tui.ssh.results import HostResult, RunResult, last_said
from arcus_tui.ssh.session import HostWork, Limits, SshSession
from arcus_tui.ssh.target import targets_for
from arcus_tui.ssh.upload import upload

from . import actions
from .layout import shell_path
from .node_join import CacheListView, start_node
from .plan import Plan, Step, StepId, setup_plan
from .registry_steps import RegistrySteps
from .report import DeployReport

PasswordAsker = Callable[[], Awaitable[Optional[Password]]]

ACCESS_STEPS = (StepId.MAKE_KEY, StepId.COPY_KEY, StepId.VERIFY_LOGIN)


@dataclass
class RunnerOptions:
    ssh_paths: SshPaths = field(default_factory=SshPaths)
    limits: Optional[Limits] = None
    on_unknown_host_key: Optional[HostKeyAsker] = None
    ask_password: Optional[PasswordAsker] = None  # asked at most once, only if a host needs it
    read_only: bool = False
    on_command: Optional[CommandObserver] = None  # the run's audit trail (`deploy/audit.py`)


class Runner:
    """Runs setup/teardown plans of one cluster over one SSH session and one registry session."""

    def __init__(self, cluster: Cluster, options: Optional[RunnerOptions] = None, sink: EventSink = ignore_events):
        self.cluster = cluster
        self.options = options or RunnerOptions()
        self.sink = sink
        self._key: Optional[GatewayKey] = None
        self._password: Optional[Password] = None
        self._asked_password = False
        self._ssh: Optional[SshSession] = None
        self._registry = RegistrySteps(cluster, sink, read_only=self.options.read_only)
        self._cache_list = CacheListView(self._registry.live_entries)
        self._homes: dict[str, str] = {}
        self._key_proven: set[str] = set()  # hosts where a key-only login already worked in this run

    async def __aenter__(self) -> "Runner":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        if self._ssh is not None:
            await self._ssh.close()
            self._ssh = None
        await asyncio.to_thread(self._registry.close)

    # -- running a plan ---------------------------------------------------------------------------

    async def run(self, plan: Plan, *, previous: Optional[DeployReport] = None) -> DeployReport:
        if self.options.read_only:
            raise ReadOnlyError("read-only mode: deploy steps change servers and znodes, so none is run")
        report = DeployReport(plan)
        for step in plan.steps:
            if step.id is StepId.ZOOKEEPER_CONFIG and not plan.options.homes:
                plan = await self._with_real_homes(plan, step)
                report.plan = plan
                step = plan.step(step.id)
            runnable = self._runnable(step, report, previous)
            if runnable:
                await self._execute(step, runnable, report)
        return report

    def _runnable(self, step: Step, report: DeployReport, previous: Optional[DeployReport]) -> list[str]:
        runnable = []
        for target in step.targets:
            if previous is not None and previous.succeeded(step.id, target):
                kept = previous.get(step.id, target)
                report.set(step.id, target, kept.state, kept.message)
                continue
            blocker = self._blocker(step, target, report)
            if blocker:
                report.set(step.id, target, HostState.SKIPPED, blocker)
                self._emit(target, step.id, blocker, HostState.SKIPPED)  # the state says "skipped"
            else:
                runnable.append(target)
        return runnable

    def _blocker(self, step: Step, target: str, report: DeployReport) -> Optional[str]:
        """Why `target` cannot run `step`, or None. A host waits only for its own part of
        earlier host steps; the ensemble-wide steps need what they depend on to have worked."""
        for dependency_id in step.depends_on:
            dependency = next((s for s in report.plan.steps if s.id is dependency_id), None)
            if dependency is None:
                continue  # not part of this plan (e.g. no package to upload)
            if dependency.per_host and step.per_host:
                blocked = target in dependency.targets and not report.succeeded(dependency_id, target)
            elif dependency.per_host:
                blocked = not report.any_succeeded(dependency)
            else:
                blocked = not report.step_succeeded(dependency)
            if blocked:
                where = " on this host" if dependency.per_host and step.per_host else ""
                return f"{dependency_id.value} did not succeed{where}"
        return None

    async def _execute(self, step: Step, targets: list[str], report: DeployReport) -> None:
        kind = type(step.actions[targets[0]][0])
        if kind is actions.MakeKey:
            await self._make_key(step, report)
        elif kind is actions.CopyKey:
            self._record(step, report, await self._copy_key(step, targets))
        elif kind is actions.VerifyLogin:
            self._record(step, report, await self._verify(step, targets))
        elif kind is actions.Upload:
            source = step.actions[targets[0]][0].source
            refusal = self._package_refusal(source)
            if refusal:
                for target in targets:
                    report.set(step.id, target, HostState.FAILED, refusal)
                    self.sink(ProgressEvent(target, step.id.value, Stream.STDERR, refusal, state=HostState.FAILED))
                return
            destinations = {target: step.actions[target][0].destination for target in targets}  # release dirs
            self._record(step, report, await upload(await self._session(), source, hosts=targets, dest=destinations,
                                                    step=step.id.value, sink=self.sink))
        elif step.per_host:
            self._record(step, report, await self._host_actions(step, targets))
        else:
            for target in targets:
                state, message = await self._registry.execute(step, step.actions[target], report)
                report.set(step.id, target, state, message)

    def _package_refusal(self, source: str) -> Optional[str]:
        """Why the package must not be uploaded (it cannot start anything), or None."""
        errors = [message for severity, message in package_problems(Path(source), bool(self.cluster.zookeeper_hosts))
                  if severity is Severity.ERROR]
        return "; ".join(errors) or None

    def _record(self, step: Step, report: DeployReport, result: RunResult) -> None:
        for host, host_result in result.items():
            report.set(step.id, host, host_result.state, host_result.error or "")

    def _emit(self, target: str, step: StepId, text: str, state: Optional[HostState] = None) -> None:
        self.sink(ProgressEvent(target, step.value, Stream.INFO, text, state=state))

    # -- access: key, copy, verify ------------------------------------------------------------------

    async def _make_key(self, step: Step, report: DeployReport) -> None:
        action = step.actions[GATEWAY][0]
        self._emit(GATEWAY, step.id, "", HostState.RUNNING)
        started = time.monotonic()
        try:
            self._key = await asyncio.to_thread(ensure_gateway_key, self.options.ssh_paths.key_dir,
                                                key_type=action.key_type, sink=self.sink, step=step.id.value)
        except Exception as error:  # unreadable or encrypted key, unwritable ~/.ssh: the operator must act
            report.set(step.id, GATEWAY, HostState.FAILED, str(error))
            self.sink(ProgressEvent(GATEWAY, step.id.value, Stream.STDERR, str(error), state=HostState.FAILED,
                                    duration=time.monotonic() - started))
            return
        state = HostState.OK if self._key.created else HostState.ALREADY_DONE
        verb = "made" if self._key.created else "reusing"
        report.set(step.id, GATEWAY, state)
        self.sink(ProgressEvent(GATEWAY, step.id.value, Stream.INFO, f"{verb} {self._key.path} ({self._key.fingerprint})",
                                state=state, duration=time.monotonic() - started))

    def _targets(self, names: list[str]):
        wanted = set(names)
        return [target for target in targets_for(self.cluster) if target.name in wanted]

    def _common(self) -> dict:
        return dict(paths=self.options.ssh_paths, limits=self.options.limits,
                    on_unknown_host_key=self.options.on_unknown_host_key, on_command=self.options.on_command)

    async def _copy_key(self, step: Step, targets: list[str]) -> RunResult:
        key = self._require_key()
        # Hosts that already take the key need no password: ask for it only if one does not.
        probe = await verify_key_login(self._targets(targets), key, **self._common(), step=step.id.value)
        self._key_proven.update(probe.succeeded)
        results = {host: HostResult(host, step.id.value, HostState.ALREADY_DONE, stdout="the key already works\n")
                   for host in probe.succeeded}
        for host in results:
            self._emit(host, step.id, "the gateway key already logs in here", HostState.ALREADY_DONE)
        remaining = probe.failed
        if remaining:
            password = await self._ask_password()
            if password is None:
                for host in remaining:
                    results[host] = HostResult(host, step.id.value, HostState.FAILED, error="no password was given")
                    self._emit(host, step.id, "no password was given", HostState.FAILED)
            else:
                copied = await copy_id(self._targets(remaining), key, password, **self._common(),
                                       sink=self.sink, step=step.id.value)
                results.update(copied.items())
        return RunResult(step.id.value, {host: results[host] for host in targets})

    async def _verify(self, step: Step, targets: list[str]) -> RunResult:
        """Key-only login on every host, except where copy-key's probe just proved it (one login less)."""
        results = {}
        for host in (t for t in targets if t in self._key_proven):
            results[host] = HostResult(host, step.id.value, HostState.ALREADY_DONE)
            self._emit(host, step.id, "key-only login already proven by copy-key", HostState.ALREADY_DONE)
        rest = [t for t in targets if t not in self._key_proven]
        if rest:
            verified = await verify_key_login(self._targets(rest), self._require_key(), **self._common(),
                                              sink=self.sink, step=step.id.value)
            results.update(verified.items())
        return RunResult(step.id.value, {host: results[host] for host in targets})

    def _require_key(self) -> GatewayKey:
        if self._key is None:
            self._key = ensure_gateway_key(self.options.ssh_paths.key_dir)
        return self._key

    async def _ask_password(self) -> Optional[Password]:
        if not self._asked_password and self.options.ask_password is not None:
            self._asked_password = True
            self._password = await self.options.ask_password()
        return self._password

    async def _session(self) -> SshSession:
        """The one SSH session of this run; after the key bootstrap it logs in with that key."""
        if self._ssh is None:
            credentials = Credentials(identity_files=(self._key.path,)) if self._key else Credentials()
            self._ssh = SshSession(targets_for(self.cluster), credentials=credentials, sink=self.sink,
                                   paths=self.options.ssh_paths, limits=self.options.limits,
                                   on_unknown_host_key=self.options.on_unknown_host_key,
                                   on_command=self.options.on_command)
        return self._ssh

    async def _with_real_homes(self, plan: Plan, step: Step) -> Plan:
        """zoo.cfg is read by no shell, so `~` in it must be the real home of each login."""
        session = await self._session()

        async def job(work: HostWork) -> HostResult:
            status, out, _ = await work.capture('printf "%s\\n" "$HOME"')
            if status == 0 and out.strip():
                self._homes[work.name] = out.strip()
            return HostResult(work.name, "home", HostState.OK)

        await session.each_host(job, hosts=list(step.targets), step="home", sink=ignore_events)
        options = replace(plan.options, homes=dict(self._homes))
        written = {s.id: s for s in setup_plan(self.cluster, options).steps}.get(StepId.ZOOKEEPER_CONFIG)
        # only zoo.cfg depends on the homes; every other step (and any narrowing of the plan) stays
        rewritten = written.actions if written else {}
        step = replace(step, actions={target: rewritten.get(target, acts) for target, acts in step.actions.items()})
        return replace(plan, options=options,
                       steps=tuple(step if s.id is StepId.ZOOKEEPER_CONFIG else s for s in plan.steps))

    # -- per-host shell actions ---------------------------------------------------------------------

    async def _host_actions(self, step: Step, targets: list[str]) -> RunResult:
        session = await self._session()

        async def job(work: HostWork) -> HostResult:
            changed = False
            for batch in _batches(step.actions[work.name]):
                outcomes = await asyncio.gather(*(_perform(work, action, self._cache_list) for action in batch))
                changed = changed or any(done for done, _ in outcomes)
                error = "; ".join(error for _, error in outcomes if error)
                if error:
                    return HostResult(work.name, step.id.value, HostState.FAILED, stdout=_lines(work.stdout),
                                      stderr=_lines(work.stderr), error=error)
            state = HostState.OK if changed else HostState.ALREADY_DONE
            return HostResult(work.name, step.id.value, state, exit_status=0)

        return await session.each_host(job, hosts=targets, step=step.id.value, sink=self.sink)


def _batches(host_actions) -> list[list]:
    """A host's actions in order; its memcached nodes start together (each waits for its own
    join, and nodes of one host are independent), everything else one at a time."""
    batches: list[list] = []
    for action in host_actions:
        if isinstance(action, actions.StartNode) and batches and isinstance(batches[-1][0], actions.StartNode):
            batches[-1].append(action)
        else:
            batches.append([action])
    return batches


async def _perform(work: HostWork, action, cache_list: CacheListView) -> tuple[bool, Optional[str]]:
    """Do one action on a host: (changed anything, error message)."""
    if isinstance(action, actions.StartNode):
        return await start_node(work, action, cache_list)
    if isinstance(action, actions.RunCommand):
        if action.unless:
            status, _, _ = await work.capture(action.unless)
            if status == 0:
                work.line(f"already done: {action.already or _short(action.command)}")
                return False, None
        said = len(work.stderr)
        status, signal = await work.exec(action.command)
        if signal is not None:
            return True, f"killed by signal {signal}: {failure_cause(work.stderr[said:], action.command)}"
        if status != 0:
            return True, f"exit status {status}: {failure_cause(work.stderr[said:], action.command)}"
        return True, None
    if isinstance(action, actions.WriteFile):
        return await _write_file(work, action)
    raise TypeError(f"{type(action).__name__} is not a per-host shell action")


async def _write_file(work: HostWork, action: actions.WriteFile) -> tuple[bool, Optional[str]]:
    """Write a file atomically (temp file + rename), unless it already holds exactly this content."""
    path = shell_path(action.path)
    wanted = hashlib.sha256(action.content.encode()).hexdigest()
    status, out, _ = await work.capture(f"sha256sum < {path} 2>/dev/null")
    if status == 0 and out.split()[:1] == [wanted]:
        work.line(f"already in place: {action.path}")
        return False, None
    command = atomic_write_command(action.path, action.mode)
    status, _ = await work.exec(command, input=action.content, echo=False)
    if status != 0:
        return True, f"could not write {action.path} (exit status {status})"
    work.line(f"wrote {action.path}")
    return True, None


def failure_cause(stderr: list[str], command: str) -> str:
    """Why a command failed, in one line: its last stderr line (what the server said), or
    the command itself when it said nothing."""
    return last_said(stderr) or f"`{_short(command)}` printed no error"


def _lines(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def _short(command: str, limit: int = 80) -> str:
    return command if len(command) <= limit else command[: limit - 1] + "…"
