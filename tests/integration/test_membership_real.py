"""The real ensemble (tests/infra/zookeeper.py, 127.0.2.1-3) says who its members are, and a
file that adds or drops one is refused before any zoo.cfg is written."""

from __future__ import annotations

import pytest

from arcus_tui.deploy.membership_check import check_membership, membership_action
from arcus_tui.events import HostState
from arcus_tui.zk.session import RegistryError
from tests.unit.cluster_texts import cluster_from_text, cluster_text, host_table

pytestmark = pytest.mark.zookeeper


def cluster_of(addresses):
    hosts = [host_table(f"zk{n}", address, zookeeper=True) for n, address in enumerate(addresses, 1)]
    return cluster_from_text(cluster_text("grow", hosts), "grow.toml")


async def test_the_running_members_agree_with_a_file_naming_them(zk_hosts):
    cluster = cluster_of(["127.0.2.1", "127.0.2.2", "127.0.2.3"])
    assert cluster.connect_string == zk_hosts
    state, why = await check_membership(membership_action(cluster))
    assert state is HostState.ALREADY_DONE and "3 running member(s) agree" in why, why


@pytest.mark.parametrize("addresses, named", [
    (["127.0.2.1", "127.0.2.2", "127.0.2.3", "127.0.2.4"], "server.4=127.0.2.4:2888:3888"),
    (["127.0.2.1", "127.0.2.2"], "server.3=127.0.2.3:2888:3888"),
])
async def test_a_file_that_adds_or_drops_a_member_is_refused(zk_hosts, addresses, named):
    with pytest.raises(RegistryError) as refused:
        await check_membership(membership_action(cluster_of(addresses)))
    assert named in str(refused.value) and "Nothing was written" in str(refused.value)
