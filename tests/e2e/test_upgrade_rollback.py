"""Upgrade and rollback on the practice sandbox with the real arcus-memcached: two packages
of the same build that differ only in MANIFEST.json (so their release ids differ), every
node proven by `/proc/<pid>/exe` to run the release it should, and back in cache_list
after each rolling restart. Ends torn down (nodes stopped and unregistered, ZooKeeper
stopped), as test_setup_sandbox does."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from kazoo.client import KazooClient

from arcus_tui.deploy.releases import release_id, release_of_exe
from arcus_tui.model.toml_writer import dump_cluster
from tests.e2e.sandbox_checks import cli, node_processes

pytestmark = pytest.mark.timeout(600)

SERVICE = "sandbox-cloud"
NODE_PORTS = (11211, 11212)


def package_b(package_a: Path, where: Path) -> Path:
    """The same build as another package: a copy whose MANIFEST.json says so."""
    copy = where / "package-b"
    shutil.copytree(package_a, copy)
    manifest = json.loads((copy / "MANIFEST.json").read_text())
    manifest["built_at"] = "2000-01-01T00:00:00Z"
    manifest["note"] = "test_upgrade_rollback: package B"
    (copy / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return copy


def running_releases(cluster) -> dict[str, str]:
    """ip:port -> the release the node's one process was started from (its real executable)."""
    found = {}
    for host in cluster.hosts:
        for port, pids in node_processes(f"/home/{host.user}").items():
            assert len(pids) == 1, (host.name, port, pids)
            found[f"{host.address}:{port}"] = release_of_exe(os.readlink(f"/proc/{pids[0]}/exe"))
    return found


def links(cluster) -> dict[str, tuple[str, str]]:
    """host -> (current, previous) as the symlinks in its install dir say."""
    def target(path: Path) -> str:
        return os.readlink(path) if path.is_symlink() else ""

    return {host.name: (target(Path(f"/home/{host.user}/arcus/current")),
                        target(Path(f"/home/{host.user}/arcus/previous"))) for host in cluster.hosts}


def online(cluster) -> list[str]:
    client = KazooClient(hosts=cluster.connect_string)
    client.start(timeout=15)
    try:
        return sorted(name.split("-", 1)[0] for name in client.get_children(f"/arcus/cache_list/{SERVICE}"))
    finally:
        client.stop()
        client.close()


def test_upgrade_to_another_release_and_roll_back(practice_sandbox, arcus_package, tmp_path, capsys):
    sandbox = practice_sandbox
    cluster = sandbox.cluster
    file_a, access = str(sandbox.cluster_file), sandbox.cli_access()
    b = package_b(arcus_package, tmp_path)
    file_b = tmp_path / "sandbox-b.toml"
    file_b.write_text(dump_cluster(replace(cluster, package=str(b))))
    a_id, b_id = release_id(arcus_package), release_id(b)
    assert a_id != b_id and a_id.split("-")[0] == b_id.split("-")[0]  # one source version, two builds
    endpoints = sorted(node.endpoint for node in cluster.nodes())
    try:
        # 1. setup: release A everywhere, nothing to roll back to yet
        code, out, err = cli(capsys, "setup", file_a, "--yes", "--password-file", str(sandbox.password_file), *access)
        assert code == 0, out + err
        assert running_releases(cluster) == {endpoint: a_id for endpoint in endpoints}
        assert set(links(cluster).values()) == {(f"releases/{a_id}", "")}
        code, out, err = cli(capsys, "rollback", file_a, "--yes", *access)
        assert code != 0 and "has no previous release" in err and "nothing was changed" in err, out + err

        # 2. upgrade to B, two nodes at a time: every node runs B and is back in cache_list
        code, out, err = cli(capsys, "upgrade", str(file_b), "--yes", "--batch", "2", *access)
        assert code == 0, out + err
        assert f"current {a_id} -> {b_id}" in out, out
        assert running_releases(cluster) == {endpoint: b_id for endpoint in endpoints}
        assert set(links(cluster).values()) == {(f"releases/{b_id}", f"releases/{a_id}")}
        assert online(cluster) == endpoints
        code, out, err = cli(capsys, "status", file_a, "--json", *access)
        status = json.loads(out)
        assert {node["endpoint"]: node["release"] for node in status["nodes"]} == {e: b_id for e in endpoints}
        assert {found["current"] for found in status["releases"]} == {b_id}
        code, out, err = cli(capsys, "releases", file_a, *access)
        assert code == 0 and f"release {a_id} (previous)" in out and f"release {b_id} (current)" in out, out + err

        # 3. the same upgrade again has nothing left to restart
        code, out, err = cli(capsys, "upgrade", str(file_b), "--yes", *access)
        assert code == 0 and "no node to restart" in out, out + err

        # 4. roll back to A: every node runs A again and is back; a second rollback changes nothing
        code, out, err = cli(capsys, "rollback", str(file_b), "--yes", "--batch", "3", *access)
        assert code == 0, out + err
        assert running_releases(cluster) == {endpoint: a_id for endpoint in endpoints}
        assert set(links(cluster).values()) == {(f"releases/{a_id}", f"releases/{a_id}")}
        assert online(cluster) == endpoints
        code, out, err = cli(capsys, "rollback", file_a, "--yes", *access)
        assert code == 0 and "no node to restart" in out, out + err
        assert running_releases(cluster) == {endpoint: a_id for endpoint in endpoints}
    finally:
        # 5. leave the shared sandbox clean: nodes stopped and unregistered, then ZooKeeper stopped
        code, out, err = cli(capsys, "unregister", file_a, "--yes", "--stop-nodes", *access)
        assert code == 0, out + err
        code, out, err = cli(capsys, "stop", file_a, "zookeeper", "--yes", *access)
        assert code == 0, out + err
    assert all(not node_processes(f"/home/{host.user}") for host in cluster.hosts)
