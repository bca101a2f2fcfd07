"""Refuse to change the membership of a running ZooKeeper ensemble.

Growing a live cloud rewrites nothing that runs: zoo.cfg on a running member is left
alone when it says the same thing. A new, removed or renumbered member would make the
file's zoo.cfg differ from what the running members were started with; a member
restarted with the new list counts another majority than the rest, and two majorities
are two registries. So before any zoo.cfg is written the running members are asked who
their ensemble is (`conf`), and a difference stops the ZooKeeper steps with the manual
procedure instead.
"""

from __future__ import annotations

from typing import Sequence

from arcus_tui.events import HostState
from arcus_tui.model import Cluster
from arcus_tui.zk.membership import MemberView, Membership, describe_membership, read_ensemble_views
from arcus_tui.zk.session import RegistryError

from .actions import EnsembleMembership
from .zookeeper_config import server_address

MANUAL_PROCEDURE = (
    "arcus-tui does not change the membership of a running ensemble. By hand, one member at a time: "
    "(1) write the new server.N lines into zoo.cfg of every member (the new member gets its myid file); "
    "(2) start a new member, or stop a leaving one; (3) restart the old members one by one, followers "
    "first and the leader last, each only once `srvr` shows it serving again "
    "(`arcus-tui restart FILE zookeeper --rolling` does this order); (4) restart memcached nodes rolling "
    "so that their -z names the new ensemble. ZooKeeper 3.5+ can do it live with `reconfig` instead "
    "(reconfigEnabled=true). Or keep the file's ZooKeeper hosts as they run now"
)


def expected_membership(cluster: Cluster) -> dict[int, str]:
    """myid -> ip:quorum:election of the members the file runs, as its zoo.cfg lists them."""
    return {cluster.myid(host): server_address(cluster.zookeeper, host.address) for host in cluster.zookeeper_hosts}


def membership_action(cluster: Cluster) -> EnsembleMembership:
    return EnsembleMembership(cluster.ensemble, tuple(sorted(expected_membership(cluster).items())))


def _agrees(view: MemberView, expected: Membership) -> bool:
    if view.standalone:
        return len(expected) == 1
    return dict(view.membership or {}) == dict(expected)


async def check_membership(action: EnsembleMembership) -> tuple[HostState, str]:
    """(ALREADY_DONE, why) when nothing runs or every running member agrees with the file;
    raises RegistryError with the difference and the manual procedure otherwise."""
    expected = dict(action.expected)
    views = await read_ensemble_views(action.members)
    # A member without quorum serves no client: nothing live depends on its list yet, and it
    # reads zoo.cfg again when it next starts.
    running = [view for view in views if view.running and view.serving]
    if not running:
        return HostState.ALREADY_DONE, "no member is serving: the ensemble starts from the file's zoo.cfg"
    unreadable = [view for view in running if not view.answered]
    if unreadable:
        raise RegistryError("cannot tell the running ensemble's membership: "
                            + "; ".join(f"{view.address}: {view.error}" for view in unreadable)
                            + ". Not writing zoo.cfg over a running member")
    differing = [view for view in running if not _agrees(view, expected)]
    if differing:
        raise RegistryError(_refusal(differing, expected))
    return HostState.ALREADY_DONE, (f"{len(running)} running member(s) agree with the file: "
                                    f"{describe_membership(expected)}")


def _refusal(differing: Sequence[MemberView], expected: Membership) -> str:
    said = "; ".join(f"{view.address} runs with "
                     + ("itself alone (standalone)" if view.standalone else describe_membership(view.membership or {}))
                     for view in differing)
    return (f"the file changes the membership of the running ZooKeeper ensemble: {said}; the file says "
            f"{describe_membership(expected)}. Nothing was written. {MANUAL_PROCEDURE}")
