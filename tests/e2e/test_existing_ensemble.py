"""The guide's second layout: memcached nodes only, pointed at an ensemble that
already runs (the suite's own three-member ZooKeeper on 127.0.2.1-3)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from arcus_tui.cli import main
from arcus_tui.deploy.plan import StepId, setup_plan
from arcus_tui.model import MemcachedNode, ZooKeeperSettings
from arcus_tui.model.toml_writer import dump_cluster

pytestmark = pytest.mark.timeout(300)

SERVICE = "shop-cache"
PORT = 11311


def test_memcached_only_setup_against_an_existing_ensemble(practice_sandbox, zookeeper_ensemble, zk_client,
                                                          tmp_path, capsys):
    sandbox = practice_sandbox
    cluster = replace(
        sandbox.cluster,
        service_code=SERVICE,
        zookeeper=ZooKeeperSettings(servers=tuple(zookeeper_ensemble.members)),
        hosts=tuple(replace(host, zookeeper=False, memcached=(MemcachedNode(PORT),)) for host in sandbox.cluster.hosts),
    )
    plan = setup_plan(cluster)
    assert not {StepId.ZOOKEEPER_CONFIG, StepId.ZOOKEEPER_START, StepId.ZOOKEEPER_QUORUM} & {s.id for s in plan.steps}
    file = tmp_path / "existing.toml"
    file.write_text(dump_cluster(cluster))
    assert not zk_client.exists("/arcus")  # the ensemble starts without any ARCUS structure

    code = main(["setup", str(file), "--yes", "--password-file", str(sandbox.password_file),
                 *sandbox.cli_access()])
    out, err = capsys.readouterr()
    try:
        assert code == 0, out + err
        live = sorted(name.split("-", 1)[0] for name in zk_client.get_children(f"/arcus/cache_list/{SERVICE}"))
        assert live == sorted(f"{host.address}:{PORT}" for host in cluster.hosts)
        # each node joined through the ensemble it was given, and nothing of ours runs ZooKeeper
        mapping = json.loads(zk_client.get(f"/arcus/cache_server_mapping/{cluster.hosts[0].address}:{PORT}")[0])
        assert mapping["port"] == str(PORT)
        assert "zookeeper-start" not in out
    finally:
        code = main(["unregister", str(file), "--yes", "--stop-nodes", *sandbox.cli_access()])
        out, err = capsys.readouterr()
    assert code == 0, out + err
    assert not zk_client.exists(f"/arcus/cache_list/{SERVICE}")
