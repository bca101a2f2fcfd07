"""Rolling restarts of a live cloud, as plans the deploy runner executes.

memcached: the nodes go down and come back a batch at a time (one node by default), so
the cloud never loses more than a batch of its cache. Each batch is two steps: on its
hosts, stop the nodes gracefully (SIGINT: the node leaves cache_list before it exits, so
clients rehash at once) and start them again (the setup's StartNode, which waits out a
previous session and for the join); then, ensemble-wide, wait until every node of the
batch is in cache_list/<svc> and answers `stats`. The next batch depends on that check,
so a node that does not come back stops the run before another one goes down.

ZooKeeper: one member at a time, followers first and the leader last (one election, not
one per member), each time waiting until the whole ensemble has a leader and the rest
followers again. A member that does not answer now goes first: restarting it can only
give the ensemble a member back.
"""

from __future__ import annotations

import asyncio
import re
from typing import Awaitable, Callable, Iterable, Optional, Sequence

from arcus_tui.model import Cluster, Host, Node
from arcus_tui.zk import paths
from arcus_tui.zk.fourletter import Mode, MemberMode, member_address, probe_ensemble, quorum_reached
from arcus_tui.zk.session import KazooException, RegistryError, RegistrySession
from arcus_tui.zk.status import live_nodes

from . import actions, recipes
from .layout import InstallLayout
from .plan import (ENSEMBLE, Plan, PlanOptions, RollingStepId, Step, start_node_action, stop_node_action,
                   zookeeper_start_action, zookeeper_stop_action)
from .registry_steps import ensemble_answers

READ_TIMEOUT = 5.0  # s to connect for the one read of cache_list before a restart

ModesReader = Callable[[Sequence[str]], Awaitable[Sequence[MemberMode]]]
"""ensemble members (host:port) -> what each said to `srvr` (default: `probe_ensemble`)."""


class RollingRefused(ValueError):
    """The rolling restart cannot be planned (no such node, no quorum now, nothing to restart)."""


# -- memcached --------------------------------------------------------------------------------------


def memcached_rolling_plan(cluster: Cluster, *, batch: int = 1, by_host: bool = False,
                           nodes: Optional[Iterable[str]] = None, options: Optional[PlanOptions] = None,
                           down: Iterable[str] = ()) -> Plan:
    """Restart the memcached nodes (all, or the `nodes` ip:port given) `batch` at a time, or
    one host's nodes together with `by_host`, in the cluster file's order; except that the
    nodes `down` (out of cache_list now, see `nodes_out_of_cache_list`) go first: restarting
    them can only give the cloud a node back, and one that does not come back stops the run
    before a serving node goes down."""
    options = options or PlanOptions()
    if batch < 1:
        raise RollingRefused(f"a batch is at least one node (got {batch})")
    down = set(down)
    chosen = sorted(_chosen_nodes(cluster, nodes), key=lambda node: node.endpoint not in down)  # stable
    steps: list[Step] = []
    previous: Optional[RollingStepId] = None
    for group in node_batches(chosen, batch=batch, by_host=by_host):
        restart, check = _batch_steps(cluster, group, previous, options)
        steps += [restart, check]
        previous = check.id
    return Plan(cluster, tuple(steps), options)


async def nodes_out_of_cache_list(cluster: Cluster) -> Optional[frozenset[str]]:
    """The cluster's nodes that have no entry under cache_list/<svc> now; None when the registry
    cannot be read (then the rolling restart's checks cannot pass either: the caller says so)."""
    def read() -> frozenset[str]:
        with RegistrySession.connect(cluster.connect_string, read_only=True, timeout=READ_TIMEOUT) as session:
            return frozenset(node.endpoint for node in live_nodes(session, cluster.service_code))

    if not await ensemble_answers(cluster.ensemble):
        return None  # at once, rather than after a connect timeout
    try:
        live = await asyncio.to_thread(read)
    except (RegistryError, KazooException):
        return None
    return frozenset(node.endpoint for node in cluster.nodes() if node.endpoint not in live)


async def live_memcached_rolling_plan(cluster: Cluster, **kwargs) -> tuple[Plan, frozenset[str]]:
    """`memcached_rolling_plan` for the cloud as it is now: the nodes out of cache_list first;
    (the plan, those nodes). Refused when cache_list cannot be read (no node's return could be
    seen) or when no node is in it (nothing serves: that is a `start`, not a restart)."""
    down = await nodes_out_of_cache_list(cluster)
    if down is None:
        raise RollingRefused(f"cannot read {paths.service_cache_list(cluster.service_code)} from "
                             f"{cluster.connect_string}: a rolling restart needs it to see each node come back "
                             "(is ZooKeeper running?)")
    if down == {node.endpoint for node in cluster.nodes()}:
        raise RollingRefused(f"no node of {cluster.service_code} is in "
                             f"{paths.service_cache_list(cluster.service_code)}: nothing serves, so there is "
                             "nothing to keep serving; start memcached instead")
    return memcached_rolling_plan(cluster, down=down, **kwargs), down


def node_batches(nodes: Sequence[Node], *, batch: int = 1, by_host: bool = False) -> list[tuple[Node, ...]]:
    """The order of a rolling restart: `batch` nodes at a time, or with `by_host` the nodes of
    `batch` hosts at a time (a host's nodes never split across batches then)."""
    if by_host:
        hosts: dict[str, list[Node]] = {}
        for node in nodes:
            hosts.setdefault(node.host.name, []).append(node)
        groups = list(hosts.values())
        return [tuple(n for group in groups[i:i + batch] for n in group) for i in range(0, len(groups), batch)]
    return [tuple(nodes[i:i + batch]) for i in range(0, len(nodes), batch)]


def _chosen_nodes(cluster: Cluster, wanted: Optional[Iterable[str]]) -> list[Node]:
    every = list(cluster.nodes())
    if wanted is None:
        chosen = every
    else:
        wanted = list(dict.fromkeys(wanted))
        known = {node.endpoint for node in every}
        unknown = [endpoint for endpoint in wanted if endpoint not in known]
        if unknown:
            raise RollingRefused(f"no memcached node {', '.join(unknown)} in service code {cluster.service_code}")
        chosen = [node for node in every if node.endpoint in set(wanted)]
    if not chosen:
        raise RollingRefused(f"service code {cluster.service_code} has no memcached node to restart")
    return chosen


def _batch_steps(cluster: Cluster, group: tuple[Node, ...], previous: Optional[RollingStepId],
                 options: PlanOptions) -> tuple[Step, Step]:
    names = _names(group)
    key = _id_part(group)
    per_host: dict[str, list] = {}
    for node in group:  # every stop of a host first, then its starts (which the runner runs together)
        per_host.setdefault(node.host.name, []).append(stop_node_action(node))
    for node in group:
        per_host[node.host.name].append(start_node_action(cluster, node, options.join_timeout))
    restart = Step(RollingStepId(f"restart-{key}"), f"Restart {names}",
                   {host: tuple(acts) for host, acts in per_host.items()},
                   depends_on=(previous,) if previous else ())
    serve = actions.NodesServe(cluster.service_code, tuple(node.endpoint for node in group), options.online_timeout,
                               tuple(InstallLayout(node.host.install_dir).memcached_log(node.port) for node in group))
    check = Step(RollingStepId(f"serves-{key}"), f"{names} serve{'s' if len(group) == 1 else ''} again",
                 {ENSEMBLE: (serve,)}, depends_on=(restart.id,), per_host=False)
    return restart, check


def _names(group: Sequence[Node]) -> str:
    endpoints = [node.endpoint for node in group]
    return ", ".join(endpoints) if len(endpoints) <= 3 else f"{', '.join(endpoints[:2])} and {len(endpoints) - 2} more"


def _id_part(group: Sequence[Node]) -> str:
    return "+".join(re.sub(r"[^0-9A-Za-z.]+", "-", node.endpoint) for node in group)


# -- ZooKeeper --------------------------------------------------------------------------------------


async def zookeeper_rolling_plan(cluster: Cluster, options: Optional[PlanOptions] = None,
                                 modes_reader: Optional[ModesReader] = None) -> Plan:
    """Restart the ensemble members we run, one at a time: silent ones first, then the
    followers, the leader last. Raises `RollingRefused` without a quorum now."""
    options = options or PlanOptions()
    members = cluster.zookeeper_hosts
    if not members:
        raise RollingRefused(f"service code {cluster.service_code} runs no ZooKeeper member of its own "
                             "(the ensemble is external or absent): nothing to restart")
    modes = await (modes_reader or _probe)(cluster.ensemble)
    if not quorum_reached(modes, require_all=False):
        said = ", ".join(f"{m.address} {m.describe()}" for m in modes)
        raise RollingRefused(f"the ensemble has no quorum now ({said}): a rolling restart keeps a working "
                             "ensemble working, it does not repair one; start the missing members first")
    by_address = {m.address: m.mode for m in modes}
    order = member_order(cluster, by_address)
    steps: list[Step] = []
    previous: Optional[RollingStepId] = None
    for host in order:
        restart, quorum = _member_steps(cluster, host, by_address, previous, options)
        steps += [restart, quorum]
        previous = quorum.id
    return Plan(cluster, tuple(steps), options)


async def _probe(members: Sequence[str]) -> Sequence[MemberMode]:
    """The default `ModesReader` (the app's tests put theirs here: the app passes none)."""
    return await probe_ensemble(members)


def _member(cluster: Cluster, host: Host) -> str:
    return member_address(f"{host.address}:{cluster.zookeeper.client_port}")


def member_order(cluster: Cluster, modes: dict[str, Mode]) -> list[Host]:
    """Members that do not serve first, then followers (and observers), the leader last;
    the cluster file's order within each."""
    def rank(host: Host) -> int:
        mode = modes.get(_member(cluster, host), Mode.UNREACHABLE)
        if mode in (Mode.LEADER, Mode.STANDALONE):
            return 2
        return 1 if mode.serving else 0

    return sorted(cluster.zookeeper_hosts, key=rank)  # sorted is stable: file order within a rank


def _member_steps(cluster: Cluster, host: Host, modes: dict[str, Mode], previous: Optional[RollingStepId],
                  options: PlanOptions) -> tuple[Step, Step]:
    member = _member(cluster, host)
    restart_actions = (zookeeper_stop_action(host), zookeeper_start_action(host))
    mode = modes.get(member, Mode.UNREACHABLE).value
    key = re.sub(r"[^0-9A-Za-z.]+", "-", member)
    restart = Step(RollingStepId(f"restart-zk-{key}"), f"Restart ZooKeeper {member} ({mode})",
                   {host.name: restart_actions}, depends_on=(previous,) if previous else ())
    quorum = Step(RollingStepId(f"quorum-zk-{key}"), f"Ensemble serves again after {member}",
                  {ENSEMBLE: (actions.WaitForQuorum(cluster.ensemble, options.quorum_timeout),)},
                  depends_on=(restart.id,), per_host=False)
    return restart, quorum


def order_lines(plan: Plan) -> list[str]:
    """The order of a rolling plan as the operator confirms it: each step numbered, and
    indented under it what it does where."""
    lines = []
    for number, step in enumerate(plan.steps, start=1):
        lines.append(f"{number}. {step.title}")
        lines += [f"    {line}" for line in _step_details(plan.cluster, step)]
    return lines


def _step_details(cluster: Cluster, step: Step) -> list[str]:
    details = []
    for target, target_actions in step.actions.items():
        for action in target_actions:
            if isinstance(action, actions.StartNode):
                details.append(f"{action.endpoint} on {target}: stop (SIGINT: it leaves cache_list first), "
                               f"start, wait for its entry (at most {action.join_timeout:g}s)")
            elif isinstance(action, actions.NodesServe):
                details.append(f"wait until in {paths.service_cache_list(action.service_code)} and answering "
                               f"`stats` (at most {action.timeout:g}s); if not, the run stops here")
            elif isinstance(action, actions.WaitForQuorum):
                details.append(f"wait for one leader and the rest followers (at most {action.timeout:g}s); "
                               "if not, the run stops here")
            elif isinstance(action, actions.RunCommand) and action.command == recipes.zookeeper_start(
                    cluster.host(target)):
                details.append(f"stop ZooKeeper on {target} (SIGTERM), then start it")
    return details
