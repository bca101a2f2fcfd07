"""Upgrade and rollback of a live cloud, as plans the deploy runner executes.

upgrade: the cluster file's package into its release directory on every host, `current`
switched to it (`previous` then names the release it replaced), and a rolling restart of
the nodes that run another release (`rolling.memcached_rolling_plan`). rollback: `current`
switched back to `previous` on every host, and the same rolling restart. Both restart only
the nodes not yet on the release their host's `current` names, so running either again
after an interruption finishes it rather than starting over; a stopped node is left
stopped (it starts on `current` whenever it is started).

ZooKeeper members are not restarted: they keep running the release they started from
(its directory stays) until `restart zookeeper --rolling`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Optional

from arcus_tui.model import Cluster

from .layout import InstallLayout
from .plan import Plan, PlanOptions, Step, StepId, setup_plan
from .releases import CloudReleases, release_id, switch_action
from .rolling import memcached_rolling_plan, order_lines


class ReleaseRefused(ValueError):
    """The upgrade or rollback cannot be planned; nothing was changed (the message says why)."""


def _readable(cloud: CloudReleases) -> None:
    if cloud.errors:
        raise ReleaseRefused("cannot read the releases of " + "; ".join(
            f"{host} ({why})" for host, why in cloud.errors.items()) + ": nothing was changed")


def nodes_to_restart(cluster: Cluster, cloud: CloudReleases, targets: dict[str, str]) -> list[str]:
    """The running nodes (ip:port) whose process runs another release than `targets[host]`,
    or one that cannot be told (an executable outside the releases)."""
    endpoints = []
    for node in cluster.nodes():
        found = cloud.hosts.get(node.host.name)
        running = found.node(node.port) if found else None
        if running is not None and running.running and running.release != targets.get(node.host.name):
            endpoints.append(node.endpoint)
    return endpoints


def stopped_nodes(cluster: Cluster, cloud: CloudReleases) -> list[str]:
    return [node.endpoint for node in cluster.nodes()
            if (found := cloud.hosts.get(node.host.name)) and (running := found.node(node.port))
            and not running.running]


def _with_restart(cluster: Cluster, switch: list[Step], endpoints: list[str], batch: int,
                  options: PlanOptions) -> Plan:
    """The switch steps, then the rolling restart of `endpoints`: a host whose switch failed
    has none of its nodes restarted (its batch is skipped, which stops the roll there)."""
    steps = list(switch)
    if endpoints:
        rolling = memcached_rolling_plan(cluster, batch=batch, nodes=endpoints, options=options)
        steps += [replace(step, depends_on=step.depends_on + (StepId.SWITCH_RELEASE,)) if step.per_host else step
                  for step in rolling.steps]
    return Plan(cluster, tuple(steps), options)


def upgrade_plan(cluster: Cluster, cloud: CloudReleases, *, batch: int = 1,
                 options: Optional[PlanOptions] = None) -> Plan:
    """Upload the cluster file's package as its release, make it current, roll the nodes onto it."""
    options = options or PlanOptions()
    if not cluster.package:
        raise ReleaseRefused(f"service code {cluster.service_code} names no package: set `package` in the "
                             "cluster file to the build to upgrade to")
    _readable(cloud)
    release = release_id(cluster.package)
    switch = setup_plan(cluster, options).subset({StepId.UPLOAD_PACKAGE, StepId.SWITCH_RELEASE}).steps
    targets = {host.name: release for host in cluster.hosts}
    return _with_restart(cluster, list(switch), nodes_to_restart(cluster, cloud, targets), batch, options)


def rollback_targets(cluster: Cluster, cloud: CloudReleases) -> dict[str, str]:
    """host -> the release its `previous` names; refused when any host has none to go back to."""
    _readable(cloud)
    targets, problems = {}, []
    for name, found in cloud.hosts.items():
        if not found.previous:
            problems.append(f"{name} has no previous release (current: {found.current or 'none'})")
        elif found.previous not in found.installed:
            releases = InstallLayout(found.install_dir).releases_dir
            problems.append(f"{name}: its previous release {found.previous} is no longer in {releases}")
        else:
            targets[name] = found.previous
    if problems:
        raise ReleaseRefused("nothing to roll back to: " + "; ".join(problems) + "; nothing was changed")
    if not targets:
        raise ReleaseRefused(f"service code {cluster.service_code} has no host with ARCUS installed")
    return targets


def rollback_plan(cluster: Cluster, cloud: CloudReleases, *, batch: int = 1,
                  options: Optional[PlanOptions] = None) -> Plan:
    """`current` back to `previous` on every host (previous is kept), then the nodes rolled onto it."""
    options = options or PlanOptions()
    targets = rollback_targets(cluster, cloud)
    table = {name: (switch_action(cluster.host(name).install_dir, release, record_previous=False),)
             for name, release in targets.items()}
    switch = [Step(StepId.SWITCH_RELEASE, "Switch current back to the previous release", table)]
    return _with_restart(cluster, switch, nodes_to_restart(cluster, cloud, targets), batch, options)


def summary(plan: Plan, cloud: CloudReleases, targets: dict[str, str]) -> list[str]:
    """What the operator confirms: per host the switch, then the restart order."""
    cluster = plan.cluster
    lines = []
    for step in plan.steps:
        if step.id is StepId.UPLOAD_PACKAGE:
            lines.append(f"upload {cluster.package} as release {targets[step.targets[0]]} to "
                         f"{', '.join(step.targets)} (files already there are skipped)")
    for name, release in targets.items():
        found = cloud.hosts.get(name)
        current = found.current if found else None
        lines.append(f"{name}: current is {release} already" if current == release
                     else f"{name}: current {current or 'none'} -> {release}")
    rolling = [step for step in plan.steps if step.id not in (StepId.UPLOAD_PACKAGE, StepId.SWITCH_RELEASE)]
    if rolling:
        lines.append("then restart, in this order (the first batch that does not come back stops the run):")
        lines += [f"  {line}" for line in order_lines(replace(plan, steps=tuple(rolling)))]
    else:
        lines.append("no node to restart: every running node runs its host's new current release")
    stopped = stopped_nodes(cluster, cloud)
    if stopped:
        lines.append(f"not running, left stopped (they start on current when started): {', '.join(stopped)}")
    return lines
