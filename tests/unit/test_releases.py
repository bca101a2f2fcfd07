"""Versioned releases: the layout through `current`, release ids, the switch (run for real in
bash and dash), what a host reads back, and the upgrade and rollback plans."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from arcus_tui.deploy import recipes
from arcus_tui.deploy.layout import InstallLayout
from arcus_tui.deploy.plan import ENSEMBLE, StepId, setup_plan
from arcus_tui.deploy.read_guard import read_only_refusal
from arcus_tui.deploy.releases import (
    UNREADABLE,
    CloudReleases,
    HostReleases,
    NodeRelease,
    parse_host,
    read_command,
    release_id,
    release_of_exe,
    switch_command,
    switched_test,
)
from arcus_tui.deploy.upgrade import ReleaseRefused, rollback_plan, summary, upgrade_plan
from arcus_tui.model import parse_cluster
from arcus_tui.monitor.cloud_status import CloudStatus, NodeState, Process, Registry
from arcus_tui.verbs.status import print_status
from tests.unit.cluster_texts import cluster_from_text, cluster_text, host_table

SHELLS = ["bash", "sh"]  # a host's login shell may be dash
ODD_DIR = "~/my arcus/it's"


# -- the layout -------------------------------------------------------------------------------------

def test_what_starts_goes_through_current_and_what_the_cloud_keeps_stays_outside():
    layout = InstallLayout("/opt/arcus")
    assert layout.release_dir("1.14.0-abc") == "/opt/arcus/releases/1.14.0-abc"
    assert (layout.current, layout.previous) == ("/opt/arcus/current", "/opt/arcus/previous")
    assert layout.memcached_binary == "/opt/arcus/current/bin/memcached"
    assert layout.library("default_engine.so") == "/opt/arcus/current/lib/default_engine.so"
    assert layout.zk_server_script == "/opt/arcus/current/zookeeper/bin/zkServer.sh"
    kept = [layout.zoo_cfg, layout.myid_file, layout.zookeeper_data_dir, layout.zookeeper_pidfile,
            layout.zookeeper_log_dir, layout.memcached_pidfile(11211), layout.memcached_log(11211)]
    assert not any("/current/" in path or "/releases/" in path for path in kept)
    assert recipes.memcached_identity("/opt/arcus", 11211).phrases[0] == ("/opt/arcus/current/bin/memcached",)


# -- release ids ------------------------------------------------------------------------------------

def manifest(version="1.14.0", **extra) -> dict:
    return {"builder": "arcus-tui package build", "source": {"name": "arcus-memcached", "version": version}, **extra}


def make_package(path: Path, document=None) -> Path:
    (path / "bin").mkdir(parents=True)
    (path / "bin" / "memcached").write_text("#!/bin/sh\n")
    if document is not None:
        (path / "MANIFEST.json").write_text(json.dumps(document))
    return path


def test_a_release_id_is_the_version_and_a_digest_stable_for_the_same_package(tmp_path):
    package = make_package(tmp_path / "a", manifest())
    first = release_id(package)
    assert first.startswith("1.14.0-") and len(first) == len("1.14.0-") + 12
    assert release_id(package) == release_id(str(package)) == first
    copy = tmp_path / "copy"
    shutil.copytree(package, copy)
    assert release_id(copy) == first  # the same bytes are the same release


def test_another_build_is_another_release(tmp_path):
    package = make_package(tmp_path / "a", manifest(built_at="2026-01-01T00:00:00Z"))
    other = make_package(tmp_path / "b", manifest(built_at="2026-01-02T00:00:00Z"))
    assert release_id(package) != release_id(other)
    before = release_id(package)
    time.sleep(0.01)
    (package / "bin" / "memcached").write_text("#!/bin/sh\necho patched\n")  # same manifest, other binary
    assert release_id(package) != before


@pytest.mark.parametrize("version, prefix", [
    ("1.14.0", "1.14.0-"), ("../../etc", "etc-"), ("a b/c;d", "a_b_c_d-"), (None, "unversioned-"), ("", "unversioned-"),
])
def test_a_release_id_is_one_safe_path_component(tmp_path, version, prefix):
    document = manifest(version) if version is not None else {"builder": "x"}
    found = release_id(make_package(tmp_path / "p", document))
    assert found.startswith(prefix) and "/" not in found and " " not in found


def test_release_ids_of_a_tarball_a_package_without_manifest_and_a_missing_one(tmp_path):
    tarball = tmp_path / "arcus.tar.gz"
    data = json.dumps(manifest("1.15.0")).encode()
    with tarfile.open(tarball, "w:gz") as archive:
        info = tarfile.TarInfo("MANIFEST.json")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    assert release_id(tarball).startswith("1.15.0-")
    assert release_id(make_package(tmp_path / "bare")).startswith("unversioned-")
    assert release_id(tmp_path / "nowhere") == UNREADABLE


# -- the switch, for real ---------------------------------------------------------------------------

def run(shell: str, command: str, home: Path) -> subprocess.CompletedProcess:
    environment = {"HOME": str(home), "PATH": os.environ["PATH"], "LANG": "C"}
    return subprocess.run([shell, "-c", command], env=environment, capture_output=True, text=True, timeout=20)


def install_with_releases(home: Path, *names: str) -> Path:
    root = home / "my arcus" / "it's"
    for name in names:
        (root / "releases" / name / "bin").mkdir(parents=True)
    return root


@pytest.mark.parametrize("shell", SHELLS)
def test_switching_records_previous_and_is_idempotent(tmp_path, shell):
    home = tmp_path / "home"
    root = install_with_releases(home, "A", "B")
    assert run(shell, switched_test(ODD_DIR, "A"), home).returncode != 0  # nothing is current yet
    assert run(shell, switch_command(ODD_DIR, "A"), home).returncode == 0
    assert os.readlink(root / "current") == "releases/A" and not (root / "previous").is_symlink()
    assert run(shell, switched_test(ODD_DIR, "A"), home).returncode == 0  # the step would be skipped
    assert run(shell, switch_command(ODD_DIR, "B"), home).returncode == 0
    assert (os.readlink(root / "current"), os.readlink(root / "previous")) == ("releases/B", "releases/A")
    assert run(shell, switch_command(ODD_DIR, "B"), home).returncode == 0  # again: previous is not lost
    assert (os.readlink(root / "current"), os.readlink(root / "previous")) == ("releases/B", "releases/A")
    assert sorted(p.name for p in root.iterdir()) == ["current", "previous", "releases"]  # no .new left


@pytest.mark.parametrize("shell", SHELLS)
def test_rolling_back_keeps_previous_so_a_second_rollback_changes_nothing(tmp_path, shell):
    home = tmp_path / "home"
    root = install_with_releases(home, "A", "B")
    for release in ("A", "B"):
        run(shell, switch_command(ODD_DIR, release), home)
    assert run(shell, switch_command(ODD_DIR, "A", record_previous=False), home).returncode == 0
    assert (os.readlink(root / "current"), os.readlink(root / "previous")) == ("releases/A", "releases/A")


@pytest.mark.parametrize("shell", SHELLS)
def test_a_switch_to_a_release_that_is_not_there_changes_nothing(tmp_path, shell):
    home = tmp_path / "home"
    root = install_with_releases(home, "A")
    run(shell, switch_command(ODD_DIR, "A"), home)
    result = run(shell, switch_command(ODD_DIR, "C"), home)
    assert result.returncode != 0 and "no ~/my arcus/it's/releases/C: nothing switched" in result.stderr
    assert os.readlink(root / "current") == "releases/A" and not (root / "previous").exists()
    assert not (home / "my").exists()  # the odd directory was used literally


def one_host(*ports: int, member: bool = True):
    """Host h (10.0.0.1) with memcached on `ports`: an ensemble member, or (`member` False)
    pointed at an ensemble we do not run."""
    servers = () if member else ["10.0.0.9:2181"]
    text = cluster_text("s", [host_table("h", "10.0.0.1", memcached=ports, zookeeper=member)], user=None,
                        servers=servers)
    return cluster_from_text(text).hosts[0]


def test_the_checks_only_read():
    host = one_host(11211)
    assert read_only_refusal(switched_test(ODD_DIR, "A")) is None
    assert read_only_refusal(read_command(host)) is None
    assert read_only_refusal(switch_command(ODD_DIR, "A")) is not None  # the switch itself writes


# -- what a host has and runs -----------------------------------------------------------------------

def test_the_release_a_process_runs_is_its_real_executable():
    assert release_of_exe("/home/u/arcus/releases/1.14.0-abc/bin/memcached") == "1.14.0-abc"
    assert release_of_exe("/home/u/arcus/releases/1.14.0-abc/bin/memcached (deleted)") == "1.14.0-abc"
    assert release_of_exe("/usr/bin/python3.11") is None
    assert release_of_exe("/home/u/arcus/bin/memcached") is None


HOST_TEXT = """\
current releases/B
previous releases/A
release A
release B
release bad name
node 11211 /h/arcus/releases/A/bin/memcached
node 11212 -
zookeeper /usr/bin/java -cp /h/arcus/releases/B/zookeeper/lib/x.jar org.apache.zookeeper.server.quorum.QuorumPeerMain /h/arcus/zookeeper/conf/zoo.cfg
"""


def test_a_host_reads_back_its_releases_and_what_each_node_runs():
    host = one_host(11211, 11212)
    found = parse_host(host, HOST_TEXT)
    assert (found.installed, found.current, found.previous) == (("A", "B"), "B", "A")
    assert found.node(11211) == NodeRelease(11211, True, "A", "/h/arcus/releases/A/bin/memcached")
    assert found.node(11212) == NodeRelease(11212, False)
    assert (found.zookeeper_running, found.zookeeper) == (True, "B")


def memcached_host(*ports: int):
    return one_host(*ports, member=False)


@pytest.mark.parametrize("shell", SHELLS)
def test_read_command_finds_the_release_a_live_node_was_started_from(tmp_path, shell):
    """A node started through `current` keeps running its release after current moves on."""
    home = tmp_path / "home"
    root = home / "arcus"
    for name in ("A", "B"):
        (root / "releases" / name / "bin").mkdir(parents=True)
        shutil.copy("/bin/sh", root / "releases" / name / "bin" / "memcached")  # an executable that waits
    host = memcached_host(11211, 11212)
    assert run(shell, switch_command(host.install_dir, "A"), home).returncode == 0
    node = subprocess.Popen([f"{root}/current/bin/memcached", "-c", "sleep 30; :", "-p", "11211"])
    try:
        (root / "pids").mkdir()
        (root / "pids" / "memcached.11211.pid").write_text(f"{node.pid}\n")
        assert run(shell, switch_command(host.install_dir, "B"), home).returncode == 0
        result = run(shell, read_command(host), home)
        found = parse_host(host, result.stdout)
        assert (found.current, found.previous, found.installed) == ("B", "A", ("A", "B"))
        assert found.node(11211).release == "A" and not found.node(11212).running
    finally:
        node.kill()
        node.wait()
    assert not parse_host(host, run(shell, read_command(host), home).stdout).node(11211).running


def test_read_command_on_a_host_without_an_install_dir_says_every_node_is_stopped(tmp_path):
    host = memcached_host(11211)
    found = parse_host(host, run("sh", read_command(host), tmp_path).stdout)
    assert found.current is None and found.installed == () and found.node(11211) == NodeRelease(11211, False)


# -- upgrade and rollback plans ---------------------------------------------------------------------

CLUSTER_TEXT = """
[cluster]
service_code = "svc"
package = "{package}"
[[host]]
name = "h1"
address = "10.0.0.1"
zookeeper = true
memcached = [11211, 11212]
[[host]]
name = "h2"
address = "10.0.0.2"
memcached = [11211]
"""


def cluster_with(package: Path):
    return parse_cluster(CLUSTER_TEXT.format(package=package)).cluster


def cloud(current: str, previous, nodes: dict) -> CloudReleases:
    """nodes: (host, port) -> the release it runs, or None when stopped."""
    hosts = {}
    for name in ("h1", "h2"):
        ports = sorted(port for host, port in nodes if host == name)
        hosts[name] = HostReleases(name, "~/arcus", tuple(sorted({current, previous or current})), current, previous,
                                   tuple(NodeRelease(port, nodes[(name, port)] is not None, nodes[(name, port)])
                                         for port in ports))
    return CloudReleases(hosts)


def test_an_upgrade_uploads_switches_and_restarts_only_the_nodes_on_another_release(tmp_path):
    cluster = cluster_with(make_package(tmp_path / "pkg", manifest()))
    new = release_id(cluster.package)
    found = cloud("A", None, {("h1", 11211): "A", ("h1", 11212): new, ("h2", 11211): None})
    plan = upgrade_plan(cluster, found, batch=1)
    ids = [step.id for step in plan.steps]
    assert ids[:2] == [StepId.UPLOAD_PACKAGE, StepId.SWITCH_RELEASE]
    assert [step.title for step in plan.steps[2:]] == ["Restart 10.0.0.1:11211", "10.0.0.1:11211 serves again"]
    restart = plan.steps[2]
    assert StepId.SWITCH_RELEASE in restart.depends_on  # a host whose switch failed restarts nothing
    assert plan.steps[3].actions.keys() == {ENSEMBLE}
    lines = summary(plan, found, {"h1": new, "h2": new})
    assert f"h1: current A -> {new}" in lines and "1. Restart 10.0.0.1:11211" in "\n".join(lines)
    assert any("left stopped" in line and "10.0.0.2:11211" in line for line in lines)


def test_an_upgrade_with_every_node_on_the_release_only_makes_sure_of_the_switch(tmp_path):
    cluster = cluster_with(make_package(tmp_path / "pkg", manifest()))
    new = release_id(cluster.package)
    found = cloud(new, "A", {("h1", 11211): new, ("h1", 11212): new, ("h2", 11211): new})
    plan = upgrade_plan(cluster, found)
    assert [step.id for step in plan.steps] == [StepId.UPLOAD_PACKAGE, StepId.SWITCH_RELEASE]
    assert "no node to restart" in summary(plan, found, {"h1": new, "h2": new})[-1]


def test_an_upgrade_refuses_when_a_host_cannot_be_read(tmp_path):
    cluster = cluster_with(make_package(tmp_path / "pkg", manifest()))
    found = CloudReleases(errors={"h2": "connection refused"})
    with pytest.raises(ReleaseRefused, match="h2 \\(connection refused\\).*nothing was changed"):
        upgrade_plan(cluster, found)


def test_a_rollback_switches_back_to_previous_without_moving_it(tmp_path):
    cluster = cluster_with(make_package(tmp_path / "pkg", manifest()))
    found = cloud("B", "A", {("h1", 11211): "B", ("h1", 11212): "B", ("h2", 11211): "A"})
    plan = rollback_plan(cluster, found, batch=2)
    switch = plan.steps[0]
    assert switch.id is StepId.SWITCH_RELEASE and set(switch.targets) == {"h1", "h2"}
    (action,) = switch.actions["h1"]
    assert action.command == switch_command("~/arcus", "A", record_previous=False)
    assert action.unless == switched_test("~/arcus", "A")
    assert [step.title for step in plan.steps[1:]] == ["Restart 10.0.0.1:11211, 10.0.0.1:11212",
                                                       "10.0.0.1:11211, 10.0.0.1:11212 serve again"]


def test_a_rollback_without_a_previous_release_is_refused_and_names_the_host(tmp_path):
    cluster = cluster_with(make_package(tmp_path / "pkg", manifest()))
    found = cloud("B", None, {("h1", 11211): "B", ("h1", 11212): "B", ("h2", 11211): "B"})
    with pytest.raises(ReleaseRefused, match="h1 has no previous release \\(current: B\\)"):
        rollback_plan(cluster, found)


def test_the_plan_text_names_the_release_directory_and_the_switch(tmp_path):
    cluster = cluster_with(make_package(tmp_path / "pkg", manifest()))
    release = release_id(cluster.package)
    text = "\n".join(setup_plan(cluster).describe())
    assert f"upload {cluster.package} -> ~/arcus/releases/{release} (files whose checksum matches are skipped)" in text
    assert f"Make release {release} current [switch-release]" in text
    assert f"ln -sfn releases/{release} current.new && mv -T current.new current" in text


# -- status -----------------------------------------------------------------------------------------

def test_status_shows_the_release_each_node_runs_and_each_hosts_current(capsys):
    status = CloudStatus("svc", nodes=(NodeState("h1", "10.0.0.1:11211", Registry.ONLINE, Process.RUNNING, "B-1"),
                                       NodeState("h1", "10.0.0.1:11212", Registry.OFFLINE, Process.STOPPED)),
                         releases={"h1": HostReleases("h1", "~/arcus", ("A-1", "B-1"), "B-1", "A-1")})
    print_status(status)
    out = capsys.readouterr().out
    assert "RELEASE" in out and "10.0.0.1:11211         online        running   B-1" in out
    assert "h1                   current B-1, previous A-1" in out
    document = status.to_json()
    assert document["nodes"][0]["release"] == "B-1" and document["nodes"][1]["release"] is None
    assert document["releases"][0]["current"] == "B-1"


def test_upgrade_without_a_package_in_the_file_says_what_to_set(tmp_path, capsys):
    from arcus_tui.cli import main

    file = tmp_path / "cloud.toml"
    file.write_text(CLUSTER_TEXT.replace('package = "{package}"\n', ""))
    assert main(["upgrade", str(file), "--yes"]) == 2
    err = capsys.readouterr().err
    assert "names no package (set `package` to the build to upgrade to)" in err and "Traceback" not in err
