"""Day two on real parts: a running cloud of three hosts grows onto a fourth and shrinks back
while NAVER's client keeps reading and writing, and a change of the ZooKeeper ensemble is
refused before anything is written (practice sandbox, real arcus-memcached)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kazoo.client import KazooClient

from arcus_tui.model.toml_writer import dump_cluster
from tests.e2e import client_load
from tests.e2e.arcus_client import client_dir, exercise
from tests.e2e.sandbox_checks import cli, node_processes
from tests.infra.require import missing
from tests.waits import wait_until

pytestmark = pytest.mark.timeout(420)

SERVICE = "sandbox-cloud"


def live(client: KazooClient) -> set[str]:
    return {name.rsplit("-", 1)[0] for name in client.get_children(f"/arcus/cache_list/{SERVICE}")}


def pids(cluster) -> dict[str, dict[int, list[int]]]:
    return {host.name: node_processes(f"/home/{host.user}") for host in cluster.hosts}


def test_grow_onto_a_fourth_host_and_shrink_back_under_client_load(practice_sandbox, capsys, tmp_path):
    sandbox = practice_sandbox
    cluster, grown = sandbox.cluster, sandbox.grown_cluster
    spare = grown.hosts[3]
    file, access = str(sandbox.cluster_file), sandbox.cli_access()
    password = ("--password-file", str(sandbox.password_file))
    if client_dir() is None:
        missing("NAVER's arcus-python-client is not beside the checkout (../shared/arcus/arcus-python-client)")
    grown_file = tmp_path / "grown.toml"
    grown_file.write_text(dump_cluster(grown))

    code, out, err = cli(capsys, "setup", file, "--yes", *password, *access)
    assert code == 0, out + err
    zk = KazooClient(hosts=cluster.connect_string)
    zk.start(timeout=15)
    try:
        created = json.loads(zk.get(f"/arcus/cache_list/{SERVICE}")[0])["created"]
        before = pids(cluster)
        old_nodes = {node.endpoint for node in cluster.nodes()}
        new_nodes = {node.endpoint for node in grown.nodes()} - old_nodes

        # 1. grow: only the difference runs, said as a diff first; nothing old restarts
        load = client_load.start(cluster.connect_string, SERVICE, keys=300)
        code, out, err = cli(capsys, "setup", str(grown_file), "--yes", *password, *access)
        assert code == 0, out + err
        assert all(f"+ node {endpoint} on {spare.name}" in out for endpoint in new_nodes), out
        assert f"+ host {spare.name}" in out and "= 6 node(s) unchanged: not restarted" in out, out
        wait_until(lambda: live(zk) == old_nodes | new_nodes, 30, "eight nodes online")
        counts = load.stop()
        assert pids(cluster) == before  # the same processes: none restarted
        assert json.loads(zk.get(f"/arcus/cache_list/{SERVICE}")[0])["created"] == created
        assert sum(counts.ok.values()) > 0 and not old_nodes & set(counts.failed_nodes), counts.failures[:5]
        report = exercise(cluster.connect_string, SERVICE, keys=400, timeout=90)
        assert set(report.cloud_nodes) == old_nodes | new_nodes and set(report.nodes_used) == old_nodes | new_nodes

        # 2. a file that also makes the spare an ensemble member is refused; no zoo.cfg changes
        zoo_cfgs = {host.name: Path(f"/home/{host.user}/arcus/zookeeper/conf/zoo.cfg").read_bytes()
                    for host in cluster.zookeeper_hosts}
        member_file = tmp_path / "member.toml"
        member_file.write_text(grown_file.read_text().replace(
            f'name = "{spare.name}"\n', f'name = "{spare.name}"\nzookeeper = true\n', 1))
        code, out, err = cli(capsys, "setup", str(member_file), "--yes", *password, *access)
        assert code != 0 and "changes the membership of the running ZooKeeper ensemble" in out + err, out + err
        assert {host.name: Path(f"/home/{host.user}/arcus/zookeeper/conf/zoo.cfg").read_bytes()
                for host in cluster.zookeeper_hosts} == zoo_cfgs
        assert not Path(f"/home/{spare.user}/arcus/zookeeper/conf/zoo.cfg").exists()
        assert live(zk) == old_nodes | new_nodes

        # 3. shrink back: the spare's nodes stop, their mappings go, the file forgets them
        load = client_load.start(cluster.connect_string, SERVICE, keys=300)
        code, out, err = cli(capsys, "remove", str(grown_file), "--host", spare.name, "--yes", *access)
        counts = load.stop()
        assert code == 0, out + err
        assert live(zk) == old_nodes
        mappings = set(zk.get_children("/arcus/cache_server_mapping"))
        assert not (new_nodes & mappings) and old_nodes <= mappings
        assert node_processes(f"/home/{spare.user}") == {}
        assert pids(cluster) == before
        assert spare.name not in grown_file.read_text()
        assert sum(counts.ok.values()) > 0 and not old_nodes & set(counts.failed_nodes), counts.failures[:5]

        # 4. the app's way to shrink: a node deleted from the file, then setup: unmapped, then stopped
        host = cluster.hosts[0]
        leaving = f"{host.address}:11212"
        smaller = tmp_path / "smaller.toml"
        smaller.write_text(Path(file).read_text().replace("memcached = [11211, 11212]", "memcached = [11211]", 1))
        code, out, err = cli(capsys, "setup", str(smaller), "--yes", *password, *access)
        assert code == 0, out + err
        assert f"- node {leaving}" in out and "its mapping is removed, then it stops" in out, out
        assert live(zk) == old_nodes - {leaving}
        assert leaving not in set(zk.get_children("/arcus/cache_server_mapping"))
        assert sorted(node_processes(f"/home/{host.user}")) == [11211]
        code, out, err = cli(capsys, "setup", file, "--yes", *password, *access)  # and back
        assert code == 0, out + err
        assert live(zk) == old_nodes
    finally:
        zk.stop()
        zk.close()

    code, out, err = cli(capsys, "unregister", file, "--yes", "--stop-nodes", *access)
    assert code == 0, out + err
    code, out, err = cli(capsys, "stop", file, "zookeeper", "--yes", *access)
    assert code == 0, out + err
