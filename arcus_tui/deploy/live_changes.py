"""A setup on a cloud that already serves, said as a diff: `+ node`, `- node`, `~ node`.

Setup is idempotent, so applying a grown file runs only the difference: the new hosts get
the package, the new mappings are registered in one transaction (the service's `created`
kept) and the new nodes start; running nodes are left alone. What an operator confirms is
that difference, read from the registry (`registration_diff`), not the whole plan.
"""

from __future__ import annotations

import asyncio
from typing import Optional

from arcus_tui.model import Cluster
from arcus_tui.model.arcus_json import export_arcus
from arcus_tui.zk.registry import RegistrationDiff, nodes_from_cluster_json, registration_diff
from arcus_tui.zk.session import KazooException, RegistryError, RegistrySession

from .registry_steps import PROBE_SECONDS, ensemble_answers
from .shrink import retiring_nodes


def change_lines(cluster: Cluster, diff: Optional[RegistrationDiff]) -> list[str]:
    """The difference a setup makes to the registered cloud; empty when it is not registered."""
    if diff is None or not diff.registered:
        return []
    hosts = {node.endpoint: node.host.name for node in cluster.nodes()}
    new_hosts = sorted({hosts[key] for key in diff.added} - {hosts[key] for key in diff.unchanged + tuple(
        change.key for change in diff.changed)})
    lines = [f"+ host {name}: the package, then its new node(s)" for name in new_hosts]
    lines += [f"+ node {key} on {hosts[key]}: registered, then started" for key in diff.added]
    lines += [f"~ node {change.key}: {change.describe()} (mapping rewritten; the running node keeps its "
              f"settings until `arcus-tui config` or a restart)" for change in diff.changed]
    retiring, _ = retiring_nodes(cluster, diff)
    lines += [f"- node {key}"
              + (f" ({diff.stored_hostnames[key]})" if key in diff.stored_hostnames else "")
              + (": its mapping is removed, then it stops" if key in retiring
                 else ": its host is not in the file, so nothing could stop it (refused)")
              for key in diff.removed]
    if diff.unchanged:
        lines.append(f"= {len(diff.unchanged)} node(s) unchanged: not restarted")
    return lines


async def registered_diff(cluster: Cluster) -> Optional[RegistrationDiff]:
    """What registering the file would change, or None when no member serves or the
    registry cannot be read (then nothing runs yet that a diff could describe)."""
    if not await ensemble_answers(cluster.ensemble):
        return None
    document = export_arcus(cluster)

    def read() -> RegistrationDiff:
        with RegistrySession.connect(cluster.connect_string, read_only=True, timeout=PROBE_SECONDS * 2) as session:
            return registration_diff(session, cluster.service_code, document, nodes_from_cluster_json(document))

    try:
        return await asyncio.to_thread(read)
    except (RegistryError, KazooException):
        return None
