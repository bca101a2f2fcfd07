"""The plan's ensemble-wide steps: quorum, /arcus init, register, online wait, unregister,
and the check that an ensemble about to be stopped serves nobody else.

They talk to ZooKeeper through `arcus_tui.zk` (kazoo is synchronous, so calls go
to a worker thread) and report under the target name `ENSEMBLE`.

Register shows what it would change (nodes added, removed, changed; when the code was
registered before) and removes a registered node's mapping only with the operator's
consent: given up front in `PlanOptions.allowed_removals` (--yes), or asked through
`PlanOptions.ask_removal` when the step finds such nodes. The engine decides what needs
consent; the verbs and the app only ask.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Optional

from arcus_tui.events import EventSink, HostState, ProgressEvent, Stream
from arcus_tui.model import Cluster
from arcus_tui.zk.fourletter import Mode, QuorumTimeout, member_address, probe_ensemble, wait_for_quorum
from arcus_tui.zk.registry import (
    RegistrationDiff,
    init_arcus,
    nodes_from_cluster_json,
    other_service_codes,
    register,
    registration_diff,
    unregister,
)
from arcus_tui.zk.session import (
    CommitOutcomeUnknown,
    KazooException,
    RegistryConnectionError,
    RegistryError,
    RegistrySession,
)
from arcus_tui.zk.status import ServiceNotFoundError, live_nodes, read_service_status

from . import actions
from .membership_check import check_membership
from .node_serving import wait_until_serving
from .plan import ENSEMBLE, EnsembleUnshared, PlanOptions, Step, StepId
from .report import DeployReport

ONLINE_POLL_SECONDS = 0.25
QUORUM_POLL_SECONDS = 0.1  # srvr on loopback/LAN costs well under a millisecond; a leader is noticed sooner
PROBE_SECONDS = 2.0
QUIET_MODES = (Mode.UNREACHABLE, Mode.NOT_SERVING)  # a member in these serves no client


async def ensemble_answers(members) -> bool:
    """Whether any member may be serving clients (`srvr`; a member that will not say, e.g.
    without the four-letter whitelist, counts as serving). Spares a 10 s connect timeout
    when the ensemble is simply not running."""
    modes = await probe_ensemble(members, timeout=PROBE_SECONDS)
    return any(member.mode not in QUIET_MODES for member in modes)


async def services_sharing_ensemble(cluster: Cluster) -> Optional[tuple[str, ...]]:
    """The service codes the cluster's ensemble holds besides its own; None when no member
    serves (then nobody can lose it). Raises `RegistryError` when members answer but the
    registry cannot be read (no quorum, say)."""
    if not await ensemble_answers(cluster.ensemble):
        return None

    def read() -> tuple[str, ...]:
        with RegistrySession.connect(cluster.connect_string, read_only=True, timeout=PROBE_SECONDS * 2) as session:
            return other_service_codes(session, cluster.service_code)

    return await asyncio.to_thread(read)


def shared_ensemble_refusal(others: tuple[str, ...]) -> str:
    return (f"not stopping ZooKeeper: the ensemble also holds service code(s) {', '.join(others)} "
            "(children of /arcus/cache_list); stopping it would take their registry down too. "
            "Stop only memcached, or pass --force")


class RegistrySteps:
    def __init__(self, cluster: Cluster, sink: EventSink, *, read_only: bool = False):
        self.cluster = cluster
        self.sink = sink
        self.read_only = read_only
        self._session: Optional[RegistrySession] = None
        self._connecting = threading.Lock()  # hosts' node starts ask from several threads at once

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def _connect(self) -> RegistrySession:
        with self._connecting:
            if self._session is None or not self._session.connected:
                if self._session is not None:
                    self._session.close()  # kazoo would retry the old client forever on its own threads
                    self._session = None
                self._session = RegistrySession.connect(self.cluster.connect_string, read_only=self.read_only)
            return self._session

    async def live_entries(self, service_code: str) -> dict[str, str]:
        """{ip:port: entry name} under cache_list/<svc> now (empty while it is not registered)."""
        def read() -> dict[str, str]:
            return {node.endpoint: node.name for node in live_nodes(self._connect(), service_code)}

        return await asyncio.to_thread(read)

    def _line(self, step: StepId, text: str, stream: Stream = Stream.INFO) -> None:
        self.sink(ProgressEvent(ENSEMBLE, step.value, stream, text))

    async def execute(self, step: Step, step_actions, report: DeployReport) -> tuple[HostState, str]:
        """Run a registry step's actions; (final state, message). Emits RUNNING and the final state."""
        self.sink(ProgressEvent(ENSEMBLE, step.id.value, state=HostState.RUNNING))
        started = time.monotonic()
        state, message = HostState.ALREADY_DONE, ""
        try:
            for action in step_actions:
                action_state, message = await self._perform(step, action, report)
                if action_state is HostState.OK:
                    state = HostState.OK
        except RegistryConnectionError as error:
            state, message = HostState.FAILED, str(error)
            if not isinstance(error, CommitOutcomeUnknown):  # that one already says what to do
                message += ("; ZooKeeper answers only while a majority of the ensemble's members is up "
                            "and reachable: run the same command again once it is (registry steps start "
                            "from what is there, so a re-run converges)")
        except (RegistryError, QuorumTimeout, TimeoutError) as error:
            state, message = HostState.FAILED, str(error)
        except KazooException as error:  # whatever the session did not put into words: no traceback
            state, message = HostState.FAILED, f"ZooKeeper: {type(error).__name__} {error}".strip()
        stream = Stream.STDERR if state is HostState.FAILED else Stream.INFO
        self.sink(ProgressEvent(ENSEMBLE, step.id.value, stream, message, state=state,
                                duration=time.monotonic() - started))
        return state, message

    async def _perform(self, step: Step, action, report: DeployReport) -> tuple[HostState, str]:
        if isinstance(action, actions.WaitForQuorum):
            return await self._quorum(step, action)
        if isinstance(action, actions.WaitForNodesOnline):
            return await self._online(step, action, report)
        if isinstance(action, actions.NodesServe):
            return await wait_until_serving(self.live_entries, self.sink, step, action, report)
        if isinstance(action, EnsembleUnshared):
            return await self._unshared(action)
        if isinstance(action, actions.EnsembleMembership):
            return await check_membership(action)
        if isinstance(action, actions.RegisterService):
            return await self._register(step, action, report.plan.options)
        outcome = await asyncio.to_thread(self._write, action)
        for operation in outcome.operations:
            self._line(step.id, f"  {operation.describe()}")
        return outcome.state, outcome.message

    async def _register(self, step: Step, action: actions.RegisterService,
                        options: PlanOptions) -> tuple[HostState, str]:
        """Show the difference against what is registered, get consent for every removal,
        then register; `register` itself refuses a removal nobody consented to."""
        nodes = nodes_from_cluster_json(action.cluster_json)
        diff = await asyncio.to_thread(lambda: registration_diff(self._connect(), action.service_code,
                                                                 action.cluster_json, nodes))
        for line in diff.describe():
            self._line(step.id, line)
        allowed = await self._consent(diff, options)
        if allowed is None:
            raise RegistryError(f"not confirmed: nothing changed; {action.service_code} keeps the mapping(s) "
                                f"of {', '.join(diff.removed)} (type the service code when asked, or pass --yes)")
        outcome = await asyncio.to_thread(lambda: register(self._connect(), action.service_code, action.cluster_json,
                                                           nodes, allowed_removals=allowed))
        for operation in outcome.operations:
            self._line(step.id, f"  {operation.describe()}")
        return outcome.state, outcome.message

    @staticmethod
    async def _consent(diff: RegistrationDiff, options: PlanOptions):
        """The removals the operator agreed to (what `register` may delete), or None for a no."""
        if all(key in options.allowed_removals for key in diff.removed):
            return options.allowed_removals
        if options.ask_removal is None or not await options.ask_removal(diff):
            return None
        return frozenset(diff.removed)  # exactly what was shown: a node that appears later is not covered

    async def _unshared(self, action: EnsembleUnshared) -> tuple[HostState, str]:
        if not await ensemble_answers(action.members):
            return HostState.ALREADY_DONE, "no ZooKeeper member is serving: nobody else can depend on it"
        try:
            others = await asyncio.to_thread(lambda: other_service_codes(self._connect(), action.service_code))
        except RegistryError as error:
            if not action.force:
                raise RegistryError(f"not stopping ZooKeeper: cannot tell whether it holds other service codes "
                                    f"({error}); pass --force") from error
            return HostState.OK, f"forced: stopping ZooKeeper without knowing what else it holds ({error})"
        if not others:
            return HostState.OK, f"ZooKeeper holds no service code but {action.service_code}"
        if action.force:
            return HostState.OK, f"forced: stopping ZooKeeper although it also holds {', '.join(others)}"
        raise RegistryError(shared_ensemble_refusal(others))

    def _write(self, action):
        session = self._connect()
        if isinstance(action, actions.InitRegistry):
            return init_arcus(session)
        if isinstance(action, actions.UnregisterService):
            return unregister(session, action.service_code)
        raise TypeError(f"{type(action).__name__} is not a registry action")

    def member_host(self, member: str) -> str:
        """The event target of an ensemble member: the host running it, or the ensemble as a
        whole for a member this file does not run (an existing ensemble)."""
        port = self.cluster.zookeeper.client_port
        hosts = {member_address(f"{host.address}:{port}"): host.name for host in self.cluster.zookeeper_hosts}
        return hosts.get(member_address(member), ENSEMBLE)

    async def _quorum(self, step: Step, action: actions.WaitForQuorum) -> tuple[HostState, str]:
        result = await wait_for_quorum(action.members, action.timeout, self.sink, interval=QUORUM_POLL_SECONDS,
                                       step=step.id.value, target_of=self.member_host)
        return HostState.OK, f"leader {result.leader} after {result.elapsed:.1f}s"

    async def _online(self, step: Step, action: actions.WaitForNodesOnline,
                      report: DeployReport) -> tuple[HostState, str]:
        """Watch cache_list until every node of the plan is online. Only nodes whose start
        succeeded are waited for; any other node makes the step fail (4 of 6 is not ok)."""
        expected = self._plan_endpoints(action, report)
        started = set(self._started_endpoints(expected, report))
        deadline = time.monotonic() + action.timeout
        seen: Optional[frozenset[str]] = None
        while True:
            online = await asyncio.to_thread(self._online_now, action.service_code)
            if online != seen:
                seen = online
                waiting = sorted(started - online)
                self._line(step.id, f"online {len(set(expected) & online)}/{len(expected)}"
                           + (f"; waiting for {', '.join(waiting)}" if waiting else ""))
            if started <= online or time.monotonic() >= deadline:
                break
            await asyncio.sleep(ONLINE_POLL_SECONDS)
        missing = [endpoint for endpoint in expected if endpoint not in online]
        if not missing:
            return HostState.OK, f"{len(expected)} node(s) online"
        count = f"{len(expected) - len(missing)}/{len(expected)} node(s) online"
        not_started = [endpoint for endpoint in missing if endpoint not in started]
        late = [endpoint for endpoint in missing if endpoint in started]
        reasons = ([f"not started: {', '.join(not_started)}"] if not_started else []) + (
            [f"not online after {action.timeout:g}s: {', '.join(late)}"] if late else [])
        raise TimeoutError(f"{count}; " + "; ".join(reasons))

    def _online_now(self, service_code: str) -> frozenset[str]:
        try:
            return frozenset(read_service_status(self._connect(), service_code).online)
        except ServiceNotFoundError:
            return frozenset()

    def _plan_endpoints(self, action: actions.WaitForNodesOnline, report: DeployReport) -> list[str]:
        """The nodes this plan starts (all of the action's when the plan starts none)."""
        start = next((s for s in report.plan.steps if s.id is StepId.MEMCACHED_START), None)
        if start is None:
            return list(action.endpoints)
        planned = {f"{self.cluster.host(host_name).address}:{a.port}"
                   for host_name, host_actions in start.actions.items() for a in host_actions
                   if getattr(a, "port", None)}
        return [endpoint for endpoint in action.endpoints if endpoint in planned]

    def _started_endpoints(self, expected: list[str], report: DeployReport) -> list[str]:
        """Of `expected`, the nodes whose host succeeded in the start step (all without one)."""
        start = next((s for s in report.plan.steps if s.id is StepId.MEMCACHED_START), None)
        if start is None:
            return expected
        hosts_ok = {self.cluster.host(name).address for name in start.actions if report.succeeded(start.id, name)}
        return [endpoint for endpoint in expected if endpoint.rsplit(":", 1)[0] in hosts_ok]
