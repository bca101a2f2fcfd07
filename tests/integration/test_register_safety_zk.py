"""Registry safety against the real 3-member ZooKeeper (tests/infra/zookeeper.py):
register's difference and consent, the check before an ensemble is stopped, and a
connection lost while the register transaction is in flight.
"""

from __future__ import annotations

import datetime

import pytest
from kazoo.exceptions import ConnectionLoss

from arcus_tui.deploy.plan import ENSEMBLE, PlanOptions, StepId, setup_plan, teardown_plan
from arcus_tui.deploy.registry_steps import RegistrySteps, services_sharing_ensemble
from arcus_tui.deploy.report import DeployReport
from arcus_tui.events import HostState
from arcus_tui.model.arcus_json import export_arcus
from arcus_tui.zk import paths
from arcus_tui.zk.registry import (
    ANY_NODE,
    RemovalNotConfirmedError,
    init_arcus,
    nodes_from_cluster_json,
    register,
    registration_diff,
)
from arcus_tui.zk.session import CommitOutcomeUnknown

from tests.integration.test_zk_registry import cluster as arcus_json
from tests.integration.test_zk_registry import do_register, tree
from tests.unit.cluster_texts import cluster_from_text, cluster_text, host_table

pytestmark = pytest.mark.zookeeper

T1 = datetime.datetime(2024, 5, 1, 10, 0, 0, 111111)
T2 = datetime.datetime(2024, 5, 2, 11, 30, 0, 222222)

# The suite's ensemble members are 127.0.2.1-3:2181: a cluster whose hosts run them.
CLUSTER_TEXT = cluster_text("safety", [host_table("zk1", "127.0.2.1", zookeeper=True),
                                        host_table("zk2", "127.0.2.2", zookeeper=True),
                                        host_table("zk3", "127.0.2.3", zookeeper=True, memcached=())])


@pytest.fixture
def cluster(zk_hosts):
    cluster = cluster_from_text(CLUSTER_TEXT, "safety.toml")
    assert cluster.connect_string == zk_hosts
    return cluster


def lose_connection_on_commit(session, monkeypatch, *, applied: bool) -> None:
    """The next transaction of `session` loses its connection: after ZooKeeper applied it
    (`applied`, the reply is what got lost) or before it was sent."""
    client = session._client
    real_transaction = client.transaction

    class Lost:
        def get(self, timeout=None):
            raise ConnectionLoss()

    def transaction():
        tx = real_transaction()
        real_commit = tx.commit_async

        def commit_async():
            if applied:
                real_commit().get(timeout=10)
            monkeypatch.setattr(client, "transaction", real_transaction)  # only this once
            return Lost()

        tx.commit_async = commit_async
        return tx

    monkeypatch.setattr(client, "transaction", transaction)


async def run_step(cluster, plan, step_id, sink=lambda event: None):
    step = plan.step(step_id)
    steps = RegistrySteps(cluster, sink)
    try:
        return await steps.execute(step, step.actions[ENSEMBLE], DeployReport(plan))
    finally:
        steps.close()


# --- item 4 ------------------------------------------------------------------------------------


def test_another_teams_file_under_the_same_code_is_shown_and_refused(zk_session, zk_client) -> None:
    init_arcus(zk_session)
    theirs = arcus_json("shared", ("127.0.0.1", "11211"), ("127.0.0.9", "11211"), memlimit="64")
    do_register(zk_session, theirs, T1)
    before = tree(zk_client)

    ours = arcus_json("shared", ("127.0.0.1", "11211"), ("127.0.0.2", "11211"))
    nodes = nodes_from_cluster_json(ours)
    diff = registration_diff(zk_session.read_only_view(), "shared", ours, nodes)
    assert (diff.added, diff.removed) == (("127.0.0.2:11211",), ("127.0.0.9:11211",))
    changes = [(c.key, c.before["memlimit"], c.after["memlimit"]) for c in diff.changed]
    assert changes == [("127.0.0.1:11211", "64", "100")]
    assert diff.created == "2024-05-01 10:00:00.111111"

    with pytest.raises(RemovalNotConfirmedError):
        register(zk_session, "shared", ours, nodes, now=lambda: T2)
    assert tree(zk_client) == before

    register(zk_session, "shared", ours, nodes, now=lambda: T2, allowed_removals=set(diff.removed))
    zk_client.sync("/")
    assert zk_client.exists(paths.mapping("127.0.0.9:11211")) is None
    assert zk_client.get_children(paths.mapping("127.0.0.2:11211")) == ["shared"]


async def test_register_step_asks_then_registers(cluster, zk_session, zk_client) -> None:
    init_arcus(zk_session)
    do_register(zk_session, arcus_json("safety", ("127.0.2.1", "11211"), ("127.0.0.9", "11211")))
    asked = []

    async def yes(diff):
        asked.append(diff.removed)
        return True

    lines = []
    plan = setup_plan(cluster, PlanOptions(ask_removal=yes))
    state, message = await run_step(cluster, plan, StepId.REGISTER, lambda event: lines.append(event.text))
    assert state is HostState.OK, message
    assert asked == [("127.0.0.9:11211",)]
    assert any("remove 127.0.0.9:11211" in line for line in lines)
    zk_client.sync("/")
    assert sorted(zk_client.get_children("/arcus/cache_server_mapping")) == ["127.0.2.1:11211", "127.0.2.2:11211"]


async def test_stopping_a_shared_ensemble_is_refused(cluster, zk_session) -> None:
    init_arcus(zk_session)
    assert await services_sharing_ensemble(cluster) == ()
    do_register(zk_session, arcus_json("team-b", ("127.0.0.5", "11211")))
    do_register(zk_session, arcus_json("safety", ("127.0.2.1", "11211")))
    assert await services_sharing_ensemble(cluster) == ("team-b",)

    state, message = await run_step(cluster, teardown_plan(cluster), StepId.ENSEMBLE_UNSHARED)
    assert state is HostState.FAILED and "team-b" in message and "--force" in message
    state, message = await run_step(cluster, teardown_plan(cluster, PlanOptions(force=True)),
                                    StepId.ENSEMBLE_UNSHARED)
    assert state is HostState.OK and "team-b" in message


# --- item 5 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("applied", [True, False], ids=["reply-lost", "request-lost"])
def test_register_again_after_a_lost_connection_converges(zk_session, zk_client, monkeypatch, applied) -> None:
    first = arcus_json("conv", ("127.0.0.1", "11211"), ("127.0.0.2", "11211"))
    second = arcus_json("conv", ("127.0.0.1", "11211"), ("127.0.0.3", "11211"), memlimit="200")

    def history(lose: bool) -> dict:
        init_arcus(zk_session)
        do_register(zk_session, first, T1)
        if lose:
            lose_connection_on_commit(zk_session, monkeypatch, applied=applied)
            with pytest.raises(CommitOutcomeUnknown, match="may or may not"):
                register(zk_session, "conv", second, nodes_from_cluster_json(second), now=lambda: T2,
                         allowed_removals=ANY_NODE)
        # the operator runs it again
        register(zk_session, "conv", second, nodes_from_cluster_json(second), now=lambda: T2,
                 allowed_removals=ANY_NODE)
        again = register(zk_session, "conv", second, nodes_from_cluster_json(second), now=lambda: T2)
        assert not again.changed
        result = tree(zk_client)
        zk_client.delete("/arcus", recursive=True)
        return result

    clean = history(lose=False)
    assert history(lose=True) == clean


async def test_register_step_reports_a_lost_connection_as_a_failure(cluster, zk_session, zk_client,
                                                                    monkeypatch) -> None:
    init_arcus(zk_session)
    steps = RegistrySteps(cluster, lambda event: None)
    try:
        session = steps._connect()
        lose_connection_on_commit(session, monkeypatch, applied=True)
        plan = setup_plan(cluster)
        step = plan.step(StepId.REGISTER)
        state, message = await steps.execute(step, step.actions[ENSEMBLE], DeployReport(plan))
        assert state is HostState.FAILED
        assert "may or may not" in message and "again" in message
        state, message = await steps.execute(step, step.actions[ENSEMBLE], DeployReport(plan))
        assert state is HostState.ALREADY_DONE, message  # it had been applied: the re-run converges
    finally:
        steps.close()
    zk_client.sync("/")
    assert sorted(zk_client.get_children("/arcus/cache_server_mapping")) == ["127.0.2.1:11211", "127.0.2.2:11211"]
    assert export_arcus(cluster)["serviceCode"] in zk_client.get_children("/arcus/cache_list")
