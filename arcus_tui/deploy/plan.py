"""The setup and teardown plans: ordered steps, each a set of actions per host.

A plan is data. `arcus-tui plan` prints it, the deploy runner executes it, and
the UI shows it as rows of steps and columns of hosts. A step runs on all of
its hosts at once; a host that failed a step is skipped by the steps that
depend on it, while the other hosts go on.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any, Awaitable, Callable, Iterator, Optional

from arcus_tui.events import GATEWAY
from arcus_tui.model import Cluster, Node
from arcus_tui.model.arcus_json import export_arcus
from arcus_tui.zk import paths
from arcus_tui.zk.registry import RegistrationDiff

from . import actions, recipes
from .layout import InstallLayout, shell_path
from .membership_check import membership_action
from .releases import release_id, switch_action


class StepId(str, enum.Enum):
    MAKE_KEY = "make-key"
    COPY_KEY = "copy-key"
    VERIFY_LOGIN = "verify-login"
    UPLOAD_PACKAGE = "upload-package"
    SWITCH_RELEASE = "switch-release"
    ZOOKEEPER_MEMBERSHIP = "zookeeper-membership"
    ZOOKEEPER_CONFIG = "zookeeper-config"
    ZOOKEEPER_START = "zookeeper-start"
    ZOOKEEPER_QUORUM = "zookeeper-quorum"
    ZOOKEEPER_INIT = "zookeeper-init"
    REGISTER = "register"
    MEMCACHED_START = "memcached-start"
    MEMCACHED_RETIRE = "memcached-retire"
    MEMCACHED_ONLINE = "memcached-online"
    ENSEMBLE_UNSHARED = "ensemble-unshared"
    MEMCACHED_STOP = "memcached-stop"
    UNREGISTER = "unregister"
    ZOOKEEPER_STOP = "zookeeper-stop"


ENSEMBLE = "zookeeper"
"""The target of steps that talk to the ZooKeeper ensemble as a whole (quorum, registry)
rather than to one host; its value is the column the operator reads: "zookeeper"."""


@dataclass(frozen=True)
class RollingStepId:
    """The id of a step a plan has many of (one per batch of a rolling restart): StepId is a
    fixed set, these are made per plan. Like StepId, `.value` is what reports and the UI show."""

    value: str


RemovalAsker = Callable[[RegistrationDiff], Awaitable[bool]]
"""Asks the operator whether register may remove the mappings `diff.removed` (typed consent)."""


@dataclass(frozen=True)
class EnsembleUnshared:
    """Before ZooKeeper is stopped: the ensemble must hold no service code but ours, because
    stopping it takes every other service's registry down too. ``force`` lets it go on
    (and names the others)."""

    service_code: str
    members: tuple[str, ...]
    force: bool = False

    def describe(self) -> list[str]:
        rule = ("go on even if it holds other service codes (--force), naming them" if self.force
                else "refuse (and stop no member) if it holds any other service code")
        return [f"list {paths.cache_list()} on {', '.join(self.members)}: {rule}"]


@dataclass(frozen=True)
class Step:
    id: "StepId | RollingStepId"
    title: str
    actions: dict[str, tuple[actions.Action, ...]]  # target (host name, GATEWAY or ENSEMBLE) -> actions
    depends_on: tuple["StepId | RollingStepId", ...] = ()
    per_host: bool = True  # a host failing here blocks only that host's later steps

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(self.actions)


@dataclass(frozen=True)
class PlanOptions:
    key_type: str = "ed25519"
    homes: dict[str, str] = field(default_factory=dict)  # host name -> login home, when known
    quorum_timeout: float = 60.0
    online_timeout: float = 60.0
    join_timeout: float = 30.0  # one node, from its start to its own cache_list entry
    stop_zookeeper: bool = True  # teardown: also stop the ensemble members we run
    force: bool = False  # teardown: stop ZooKeeper even while it holds other service codes
    # register: which registered nodes the operator agreed to unmap up front (ANY_NODE for
    # --yes), and who to ask when the step finds others; nobody asked means no removal.
    allowed_removals: Any = ()
    ask_removal: Optional[RemovalAsker] = None
    # setup: registered nodes (ip:port) the file no longer has, on hosts it still has; stopped once
    # register has removed their mappings (`deploy/shrink.py`)
    retiring: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    cluster: Cluster
    steps: tuple[Step, ...] = field(default_factory=tuple)
    options: PlanOptions = field(default_factory=PlanOptions)

    def step(self, step_id: StepId) -> Step:
        return next(step for step in self.steps if step.id is step_id)

    def subset(self, step_ids, hosts: Optional[set[str]] = None, node: Optional[str] = None) -> "Plan":
        """Only the given steps, and within them only `hosts` (or the one node `ip:port`).
        Ensemble-wide targets stay; what they wait for is narrowed the same way."""
        steps = []
        for step in self.steps:
            if step.id not in step_ids:
                continue
            table = {target: tuple(a for a in acts if _keeps(a, target, self.cluster, hosts, node))
                     for target, acts in step.actions.items()}
            table = {target: acts for target, acts in table.items() if acts}
            if table:
                steps.append(replace(step, actions=table))
        return replace(self, steps=tuple(steps))

    def remaining(self, probe) -> "Plan":
        """Only the (step, target)s a probe did not find done (`probe.done(step_id, target)`,
        see `deploy.probe`); a step with nothing left goes. What to offer and confirm; to run
        it, `Runner.run(plan, previous=probe.as_report(plan))` keeps the dependencies whole."""
        steps = []
        for step in self.steps:
            table = {target: acts for target, acts in step.actions.items() if not probe.done(step.id, target)}
            if table:
                steps.append(replace(step, actions=table))
        return replace(self, steps=tuple(steps))

    def effects(self) -> list[str]:
        """One line per process started or stopped (which one, on which host) and per
        registry change: what an operator confirms before a narrowed plan runs."""
        return [line for step in self.steps for line in _step_effects(self.cluster, step)]

    def describe(self) -> Iterator[str]:
        """Every step, and under it every target's exact actions."""
        for number, step in enumerate(self.steps, start=1):
            yield f"{number}. {step.title} [{step.id.value}]"
            for target, target_actions in step.actions.items():
                yield f"   {target}:"
                for action in target_actions:
                    for line in action.describe():
                        yield f"     {line}"
            yield ""


def _keeps(action, target: str, cluster: Cluster, hosts: Optional[set[str]], node: Optional[str]) -> bool:
    if isinstance(action, actions.WaitForNodesOnline):
        return True  # narrowed by the runner to the nodes of the plan's start step
    ensemble_wide = target in (GATEWAY, ENSEMBLE)
    if hosts is not None and not ensemble_wide and target not in hosts:
        return False
    if node is not None:
        # One memcached node means that node only: not its host's ZooKeeper member, not
        # the ensemble-wide steps (quorum, registry).
        port = getattr(action, "port", None)
        return not ensemble_wide and port is not None and f"{cluster.host(target).address}:{port}" == node
    return True


def _node_lines(cluster: Cluster, step: Step, verb: str) -> list[str]:
    return [f"{verb} memcached {cluster.host(target).address}:{action.port} on {target}"
            for target, target_actions in step.actions.items()
            for action in target_actions if getattr(action, "port", None)]


def _member_lines(cluster: Cluster, step: Step, verb: str) -> list[str]:
    return [f"{verb} ZooKeeper {cluster.host(target).address}:{cluster.zookeeper.client_port} on {target}"
            for target in step.targets]


def _step_effects(cluster: Cluster, step: Step) -> list[str]:
    svc, ensemble = cluster.service_code, cluster.connect_string
    if step.id in (StepId.MEMCACHED_START, StepId.MEMCACHED_STOP, StepId.MEMCACHED_RETIRE):
        return _node_lines(cluster, step, "start" if step.id is StepId.MEMCACHED_START else "stop")
    if step.id in (StepId.ZOOKEEPER_START, StepId.ZOOKEEPER_STOP):
        return _member_lines(cluster, step, "start" if step.id is StepId.ZOOKEEPER_START else "stop")
    if step.id is StepId.ENSEMBLE_UNSHARED:
        forced = any(getattr(a, "force", False) for acts in step.actions.values() for a in acts)
        return ["stop ZooKeeper even if it holds other service codes (--force)" if forced
                else "check first: no ZooKeeper member is stopped while the ensemble holds another service code"]
    fixed = {
        StepId.UNREGISTER: f"unregister service code {svc} from ZooKeeper {ensemble}",
        StepId.REGISTER: f"register service code {svc} in ZooKeeper {ensemble} (asks before removing a mapping)",
        StepId.ZOOKEEPER_INIT: f"create the /arcus registry in ZooKeeper {ensemble} unless present",
        StepId.ZOOKEEPER_QUORUM: f"wait for a ZooKeeper leader among {ensemble}",
        StepId.ZOOKEEPER_MEMBERSHIP: "check first: no zoo.cfg is written while the running ensemble has other members",
        StepId.MEMCACHED_ONLINE: f"wait until the started nodes are online in {paths.service_cache_list(svc)}",
    }
    if step.id in fixed:
        return [fixed[step.id]]
    return [f"{step.title[:1].lower()}{step.title[1:]} on {', '.join(step.targets)}"]


def _hosts_step(step_id, title, make, hosts, depends_on=()) -> Optional[Step]:
    table = {host.name: tuple(make(host)) for host in hosts}
    table = {name: acts for name, acts in table.items() if acts}
    return Step(step_id, title, table, tuple(depends_on)) if table else None


def _access_steps(cluster: Cluster, key_type: str) -> list[Optional[Step]]:
    hosts = cluster.hosts
    return [
        Step(StepId.MAKE_KEY, "Make the gateway SSH key", {GATEWAY: (actions.MakeKey(key_type),)}, per_host=False),
        _hosts_step(StepId.COPY_KEY, "Copy the key to every host", lambda h: [actions.CopyKey()], hosts,
                    [StepId.MAKE_KEY]),
        _hosts_step(StepId.VERIFY_LOGIN, "Prove password-less login", lambda h: [actions.VerifyLogin()], hosts,
                    [StepId.COPY_KEY]),
    ]


def _deploy_hosts(cluster: Cluster):
    """Hosts that need the ARCUS package: every memcached host and every ensemble member we run."""
    return [host for host in cluster.hosts if host.memcached or host.zookeeper]


def _zookeeper_steps(cluster: Cluster, homes: dict[str, str], quorum_timeout: float) -> list[Optional[Step]]:
    members = cluster.zookeeper_hosts
    if not members:
        return []

    def config(host):
        layout = InstallLayout(host.install_dir)
        return [
            actions.RunCommand(f"mkdir -p {shell_path(layout.zookeeper_data_dir)}",
                               unless=f"test -d {shell_path(layout.zookeeper_data_dir)}",
                               already="the data directory exists"),
            actions.WriteFile(layout.zoo_cfg, recipes.zoo_cfg(cluster, host, homes.get(host.name))),
            actions.WriteFile(layout.myid_file, recipes.myid(cluster, host)),
        ]

    def start(host):
        return [zookeeper_start_action(host)]

    quorum = actions.WaitForQuorum(cluster.ensemble, quorum_timeout)
    return [
        # A live cloud grows without touching its ensemble: a running member's list is the file's, or nothing is written.
        Step(StepId.ZOOKEEPER_MEMBERSHIP, "Check the running ensemble's members",
             {ENSEMBLE: (membership_action(cluster),)}, per_host=False),
        _hosts_step(StepId.ZOOKEEPER_CONFIG, "Write zoo.cfg and myid", config, members,
                    [StepId.ZOOKEEPER_MEMBERSHIP, StepId.VERIFY_LOGIN, StepId.UPLOAD_PACKAGE]),
        _hosts_step(StepId.ZOOKEEPER_START, "Start ZooKeeper", start, members,
                    [StepId.ZOOKEEPER_CONFIG, StepId.SWITCH_RELEASE]),
        Step(StepId.ZOOKEEPER_QUORUM, "Wait for a leader", {ENSEMBLE: (quorum,)}, (StepId.ZOOKEEPER_START,),
             per_host=False),
    ]


def _registry_steps(cluster: Cluster) -> list[Step]:
    document = export_arcus(cluster)
    depends = (StepId.ZOOKEEPER_QUORUM,) if cluster.zookeeper_hosts else (StepId.VERIFY_LOGIN,)
    return [
        Step(StepId.ZOOKEEPER_INIT, "Create the /arcus registry", {ENSEMBLE: (actions.InitRegistry(),)}, depends,
             per_host=False),
        Step(StepId.REGISTER, f"Register service code {cluster.service_code}",
             {ENSEMBLE: (actions.RegisterService(cluster.service_code, document),)},
             (StepId.ZOOKEEPER_INIT,), per_host=False),
    ]


def _per_node(cluster: Cluster, make):
    """host -> one action per memcached node of that host; `make(node, pidfile)`."""
    nodes_by_host: dict[str, list] = {}
    for node in cluster.nodes():
        nodes_by_host.setdefault(node.host.name, []).append(node)

    def host_actions(host):
        layout = InstallLayout(host.install_dir)
        return [make(node, layout.memcached_pidfile(node.port)) for node in nodes_by_host.get(host.name, [])]

    return host_actions


def start_node_action(cluster: Cluster, node, join_timeout: float) -> actions.StartNode:
    """Start one memcached node unless it runs, and wait for its join (see `node_join`)."""
    layout = InstallLayout(node.host.install_dir)
    return actions.StartNode(
        recipes.memcached_start(cluster, node), unless=recipes.process_alive_test(layout.memcached_pidfile(node.port)),
        port=node.port, already=f"memcached :{node.port} is running", endpoint=node.endpoint,
        service_code=cluster.service_code, session_timeout=cluster.node_session_timeout,
        join_timeout=join_timeout, log=layout.memcached_log(node.port))


def _memcached_steps(cluster: Cluster, online_timeout: float, join_timeout: float) -> list[Optional[Step]]:
    start = _per_node(cluster, lambda node, pidfile: start_node_action(cluster, node, join_timeout))

    endpoints = tuple(node.endpoint for node in cluster.nodes())
    online = actions.WaitForNodesOnline(cluster.service_code, endpoints, online_timeout)
    return [
        _hosts_step(StepId.MEMCACHED_START, "Start memcached", start, cluster.hosts,
                    [StepId.REGISTER, StepId.UPLOAD_PACKAGE, StepId.SWITCH_RELEASE, StepId.VERIFY_LOGIN]),
        Step(StepId.MEMCACHED_ONLINE, "Wait until every node is online", {ENSEMBLE: (online,)},
             (StepId.MEMCACHED_START,), per_host=False) if endpoints else None,
    ]


def _package_steps(cluster: Cluster) -> list[Optional[Step]]:
    """The package into its own release directory, then `current` switched to it (`releases.py`)."""
    release = release_id(cluster.package)
    hosts = _deploy_hosts(cluster)
    return [
        _hosts_step(StepId.UPLOAD_PACKAGE, "Upload the ARCUS package",
                    lambda h: [actions.Upload(cluster.package, InstallLayout(h.install_dir).release_dir(release))],
                    hosts, [StepId.VERIFY_LOGIN]),
        _hosts_step(StepId.SWITCH_RELEASE, f"Make release {release} current",
                    lambda h: [switch_action(h.install_dir, release)], hosts, [StepId.UPLOAD_PACKAGE]),
    ]


def setup_plan(cluster: Cluster, options: Optional[PlanOptions] = None) -> Plan:
    """The guided setup, from the gateway key to every node online."""
    options = options or PlanOptions()
    steps = _access_steps(cluster, options.key_type)
    if cluster.package:
        steps += _package_steps(cluster)
    steps += _zookeeper_steps(cluster, options.homes, options.quorum_timeout)
    steps += _registry_steps(cluster)
    steps.append(_retire_step(cluster, options.retiring))
    steps += _memcached_steps(cluster, options.online_timeout, options.join_timeout)
    return Plan(cluster, tuple(step for step in steps if step is not None), options)


def stop_node_action(node, pidfile: Optional[str] = None) -> actions.RunCommand:
    """Stop one memcached node (SIGINT: it leaves cache_list first), unless it is not running."""
    pidfile = pidfile or InstallLayout(node.host.install_dir).memcached_pidfile(node.port)
    return actions.RunCommand(recipes.memcached_stop(node), unless=recipes.process_gone_test(pidfile),
                              port=node.port, already=f"memcached :{node.port} is not running")


def zookeeper_start_action(host) -> actions.RunCommand:
    pidfile = InstallLayout(host.install_dir).zookeeper_pidfile
    return actions.RunCommand(recipes.zookeeper_start(host), unless=recipes.process_alive_test(pidfile),
                              already="ZooKeeper is running")


def zookeeper_stop_action(host) -> actions.RunCommand:
    pidfile = InstallLayout(host.install_dir).zookeeper_pidfile
    return actions.RunCommand(recipes.zookeeper_stop(host), unless=recipes.process_gone_test(pidfile),
                              already="ZooKeeper is not running")


def nodes_stop_step(cluster: Cluster, endpoints, step_id: StepId, title: str,
                    depends_on: tuple = ()) -> Optional[Step]:
    """One step stopping the memcached nodes `endpoints` (ip:port) on the cluster's hosts that
    run them; None when there is none. (`shrink.retiring_nodes` keeps only nodes of known hosts.)"""
    by_address = {host.address: host for host in cluster.hosts}
    table: dict[str, list] = {}
    for endpoint in endpoints:
        address, _, port = endpoint.rpartition(":")
        host = by_address[address]
        table.setdefault(host.name, []).append(stop_node_action(Node(host, int(port), cluster.memcached)))
    if not table:
        return None
    return Step(step_id, title, {name: tuple(acts) for name, acts in table.items()}, tuple(depends_on))


def _retire_step(cluster: Cluster, retiring: tuple[str, ...]) -> Optional[Step]:
    """Setup's way to shrink: the nodes leaving the cloud stop once register has unmapped them.
    Register asks the removal then, during the run; a node stopped before that answer could not
    be put back on a no. (The `remove` verb asks first, so it stops first: `deploy/shrink.py`.)"""
    return nodes_stop_step(cluster, retiring, StepId.MEMCACHED_RETIRE, "Stop the nodes leaving the cloud",
                           (StepId.REGISTER,))


def teardown_plan(cluster: Cluster, options: Optional[PlanOptions] = None) -> Plan:
    """The way back: stop memcached, unregister the service code, stop ZooKeeper."""
    options = options or PlanOptions()
    stop_memcached = _per_node(cluster, stop_node_action)

    # Checked first, before anything stops: the ensemble may serve other service codes.
    members = cluster.zookeeper_hosts if options.stop_zookeeper else ()
    guard = Step(StepId.ENSEMBLE_UNSHARED, "Check ZooKeeper holds no other service code",
                 {ENSEMBLE: (EnsembleUnshared(cluster.service_code, cluster.ensemble, options.force),)},
                 per_host=False) if members else None
    steps = [
        guard,
        _hosts_step(StepId.MEMCACHED_STOP, "Stop memcached", stop_memcached, cluster.hosts),
        Step(StepId.UNREGISTER, f"Unregister service code {cluster.service_code}",
             {ENSEMBLE: (actions.UnregisterService(cluster.service_code),)}, (StepId.MEMCACHED_STOP,),
             per_host=False),
    ]
    if members:
        steps.append(_hosts_step(StepId.ZOOKEEPER_STOP, "Stop ZooKeeper", lambda host: [zookeeper_stop_action(host)],
                                 members, [StepId.ENSEMBLE_UNSHARED, StepId.UNREGISTER]))
    return Plan(cluster, tuple(step for step in steps if step is not None), options)
