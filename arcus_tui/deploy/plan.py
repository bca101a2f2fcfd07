"""The setup and teardown plans: ordered steps, each a set of actions per host.

A plan is data. `arcus-tui plan` prints it, the deploy runner executes it, and
the UI shows it as rows of steps and columns of hosts. A step runs on all of
its hosts at once; a host that failed a step is skipped by the steps that
depend on it, while the other hosts go on.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Iterator, Optional

from arcus_tui.events import GATEWAY
from arcus_tui.model import Cluster
from arcus_tui.model.arcus_json import export_arcus

from . import actions, recipes
from .layout import InstallLayout, shell_path


class StepId(str, enum.Enum):
    MAKE_KEY = "make-key"
    COPY_KEY = "copy-key"
    VERIFY_LOGIN = "verify-login"
    UPLOAD_PACKAGE = "upload-package"
    ZOOKEEPER_CONFIG = "zookeeper-config"
    ZOOKEEPER_START = "zookeeper-start"
    ZOOKEEPER_QUORUM = "zookeeper-quorum"
    ZOOKEEPER_INIT = "zookeeper-init"
    REGISTER = "register"
    MEMCACHED_START = "memcached-start"
    MEMCACHED_ONLINE = "memcached-online"
    MEMCACHED_STOP = "memcached-stop"
    UNREGISTER = "unregister"
    ZOOKEEPER_STOP = "zookeeper-stop"


REGISTRY = "zookeeper"
"""Target name for steps that talk to the ensemble as a whole rather than to one host."""


@dataclass(frozen=True)
class Step:
    id: StepId
    title: str
    actions: dict[str, tuple[actions.Action, ...]]  # target (host name, GATEWAY or REGISTRY) -> actions
    depends_on: tuple[StepId, ...] = ()
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
    if target in (GATEWAY, REGISTRY):
        return True
    if hosts is not None and target not in hosts:
        return False
    if node is not None:
        port = getattr(action, "port", None)
        return port is None or f"{cluster.host(target).address}:{port}" == node
    return True


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
        pidfile = InstallLayout(host.install_dir).zookeeper_pidfile
        return [actions.RunCommand(recipes.zookeeper_start(host), unless=recipes.process_alive_test(pidfile),
                                   already="ZooKeeper is running")]

    quorum = actions.WaitForQuorum(cluster.ensemble, quorum_timeout)
    return [
        _hosts_step(StepId.ZOOKEEPER_CONFIG, "Write zoo.cfg and myid", config, members,
                    [StepId.VERIFY_LOGIN, StepId.UPLOAD_PACKAGE]),
        _hosts_step(StepId.ZOOKEEPER_START, "Start ZooKeeper", start, members, [StepId.ZOOKEEPER_CONFIG]),
        Step(StepId.ZOOKEEPER_QUORUM, "Wait for a leader", {REGISTRY: (quorum,)}, (StepId.ZOOKEEPER_START,),
             per_host=False),
    ]


def _registry_steps(cluster: Cluster) -> list[Step]:
    document = export_arcus(cluster)
    depends = (StepId.ZOOKEEPER_QUORUM,) if cluster.zookeeper_hosts else (StepId.VERIFY_LOGIN,)
    return [
        Step(StepId.ZOOKEEPER_INIT, "Create the /arcus registry", {REGISTRY: (actions.InitRegistry(),)}, depends,
             per_host=False),
        Step(StepId.REGISTER, f"Register service code {cluster.service_code}",
             {REGISTRY: (actions.RegisterService(cluster.service_code, document),)},
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


def _memcached_steps(cluster: Cluster, online_timeout: float, join_timeout: float) -> list[Optional[Step]]:
    def start_node(node, pidfile):
        return actions.StartNode(
            recipes.memcached_start(cluster, node), unless=recipes.process_alive_test(pidfile),
            port=node.port, already=f"memcached :{node.port} is running", endpoint=node.endpoint,
            service_code=cluster.service_code, session_timeout=cluster.node_session_timeout,
            join_timeout=join_timeout, log=InstallLayout(node.host.install_dir).memcached_log(node.port))

    start = _per_node(cluster, start_node)

    endpoints = tuple(node.endpoint for node in cluster.nodes())
    online = actions.WaitForNodesOnline(cluster.service_code, endpoints, online_timeout)
    return [
        _hosts_step(StepId.MEMCACHED_START, "Start memcached", start, cluster.hosts,
                    [StepId.REGISTER, StepId.UPLOAD_PACKAGE, StepId.VERIFY_LOGIN]),
        Step(StepId.MEMCACHED_ONLINE, "Wait until every node is online", {REGISTRY: (online,)},
             (StepId.MEMCACHED_START,), per_host=False) if endpoints else None,
    ]


def setup_plan(cluster: Cluster, options: Optional[PlanOptions] = None) -> Plan:
    """The guided setup, from the gateway key to every node online."""
    options = options or PlanOptions()
    steps = _access_steps(cluster, options.key_type)
    if cluster.package:
        steps.append(_hosts_step(StepId.UPLOAD_PACKAGE, "Upload the ARCUS package",
                                 lambda h: [actions.Upload(cluster.package, h.install_dir)],
                                 _deploy_hosts(cluster), [StepId.VERIFY_LOGIN]))
    steps += _zookeeper_steps(cluster, options.homes, options.quorum_timeout)
    steps += _registry_steps(cluster)
    steps += _memcached_steps(cluster, options.online_timeout, options.join_timeout)
    return Plan(cluster, tuple(step for step in steps if step is not None), options)


def teardown_plan(cluster: Cluster, options: Optional[PlanOptions] = None) -> Plan:
    """The way back: stop memcached, unregister the service code, stop ZooKeeper."""
    options = options or PlanOptions()
    stop_memcached = _per_node(cluster, lambda node, pidfile: actions.RunCommand(
        recipes.memcached_stop(node), unless=recipes.process_gone_test(pidfile),
        port=node.port, already=f"memcached :{node.port} is not running"))

    def stop_zookeeper_member(host):
        pidfile = InstallLayout(host.install_dir).zookeeper_pidfile
        return [actions.RunCommand(recipes.zookeeper_stop(host),
                                   unless=recipes.process_gone_test(pidfile), already="ZooKeeper is not running")]

    steps = [
        _hosts_step(StepId.MEMCACHED_STOP, "Stop memcached", stop_memcached, cluster.hosts),
        Step(StepId.UNREGISTER, f"Unregister service code {cluster.service_code}",
             {REGISTRY: (actions.UnregisterService(cluster.service_code),)}, (StepId.MEMCACHED_STOP,),
             per_host=False),
    ]
    if options.stop_zookeeper:
        steps.append(_hosts_step(StepId.ZOOKEEPER_STOP, "Stop ZooKeeper", stop_zookeeper_member,
                                 cluster.zookeeper_hosts, [StepId.UNREGISTER]))
    return Plan(cluster, tuple(step for step in steps if step is not None), options)
