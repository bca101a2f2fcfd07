"""Shrinking a live cloud with `remove`: the leaving nodes stop, then their mappings go.

The operator has agreed to the removal before anything runs, so the nodes stop first
(SIGINT: arcus-memcached leaves ZooKeeper before it exits and clients rehash its keys onto
the rest); a host that leaves the file entirely can only be reached this way, with the
file as it was. Only when every leaving node has stopped is the smaller file registered:
one transaction deletes their mappings and rewrites the service's cluster JSON, keeping its
`created`. The nodes that stay are not touched. (Setup on a smaller file shrinks too, in
the other order, because it asks during the run: `plan._retire_step`.)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from arcus_tui.model import Cluster

from .plan import Plan, PlanOptions, StepId, nodes_stop_step, setup_plan


@dataclass(frozen=True)
class Shrink:
    """The two plans of a shrink; `register` runs only after `stop` succeeded everywhere."""

    leaving: tuple[str, ...]  # ip:port
    stop: Plan  # on the cluster as it is
    register: Plan  # on the cluster without the leaving nodes

    def effects(self) -> list[str]:
        return self.stop.effects() + [
            f"remove the mapping(s) of {', '.join(self.leaving)} and their entries in the service's cluster "
            f"JSON, in one transaction ({self.register.cluster.service_code}'s `created` kept)"]


def shrink(cluster: Cluster, smaller: Cluster, options: PlanOptions = PlanOptions()) -> Shrink:
    """`smaller` is `cluster` without some of its nodes (the file after the edit)."""
    staying = {node.endpoint for node in smaller.nodes()}
    leaving = tuple(node.endpoint for node in cluster.nodes() if node.endpoint not in staying)
    if not leaving:
        raise ValueError("no node leaves")
    stop = Plan(cluster, (nodes_stop_step(cluster, leaving, StepId.MEMCACHED_STOP, "Stop the leaving nodes"),),
                options)
    register = setup_plan(smaller, replace(options, allowed_removals=frozenset(leaving))).subset({StepId.REGISTER})
    return Shrink(leaving, stop, register)


def retiring_nodes(cluster: Cluster, diff) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Of the registered nodes a setup of `cluster` would unmap (`diff.removed`): those on hosts
    the file still has, which setup stops after unmapping them, and those it cannot reach."""
    if diff is None:
        return (), ()
    addresses = {host.address for host in cluster.hosts}
    reachable = tuple(key for key in diff.removed if key.rpartition(":")[0] in addresses)
    return reachable, tuple(key for key in diff.removed if key not in reachable)


def unreachable_refusal(unreachable: tuple[str, ...]) -> str:
    return (f"{', '.join(unreachable)} would lose their mappings while their host is no longer in the file, so "
            "nothing could stop them and they would keep serving: put the host back and run "
            "`arcus-tui remove FILE --host NAME`, which stops its nodes first")
