"""The package a cluster file names is checked on the gateway before anything runs: `check`
and `setup` refuse one without bin/memcached (at the `package` line), warn about one that
is not an arcus-tui package, and the runner itself refuses to upload it."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from arcus_tui.cli import main
from arcus_tui.deploy.plan import StepId, setup_plan
from arcus_tui.deploy.runner import Runner
from arcus_tui.events import HostState
from arcus_tui.model import load_cluster

CLUSTER = """\
[cluster]
service_code = "pkg-check"
user = "arcus"
package = "{package}"

[[host]]
name = "cache001"
address = "127.0.1.1"
zookeeper = true
memcached = [11211]
"""
PACKAGE_LINE = 4


def cluster_file(tmp_path: Path, package: Path) -> Path:
    path = tmp_path / "cluster.toml"
    path.write_text(CLUSTER.format(package=package))
    return path


def make_package(root: Path, *, memcached: bool = True, manifest: bool = True) -> Path:
    for sub in ("bin", "lib", "zookeeper/bin"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    if memcached:
        (root / "bin" / "memcached").write_text("#!/bin/sh\n")
        (root / "bin" / "memcached").chmod(0o755)
    for name in ("default_engine.so", "ascii_scrub.so", "syslog_logger.so"):
        (root / "lib" / name).write_text("")
    (root / "zookeeper" / "bin" / "zkServer.sh").write_text("#!/bin/sh\n")
    if manifest:
        (root / "MANIFEST.json").write_text('{"builder": "arcus-tui package build", "format": 1}\n')
    return root


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(word) for word in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_check_refuses_a_package_without_bin_memcached_at_its_line(tmp_path, capsys):
    file = cluster_file(tmp_path, make_package(tmp_path / "pkg", memcached=False))
    code, out, err = run(capsys, "check", file)
    assert code == 2
    assert f"{file}:{PACKAGE_LINE}: package {tmp_path / 'pkg'} has no executable bin/memcached" in err
    assert "Traceback" not in out + err


def test_check_refuses_a_package_that_does_not_exist(tmp_path, capsys):
    file = cluster_file(tmp_path, tmp_path / "nowhere")
    code, _, err = run(capsys, "check", file)
    assert code == 2 and f"{file}:{PACKAGE_LINE}: package {tmp_path / 'nowhere'} does not exist" in err


def test_check_warns_about_a_directory_that_is_not_an_arcus_tui_package(tmp_path, capsys):
    file = cluster_file(tmp_path, make_package(tmp_path / "pkg", manifest=False))
    code, out, err = run(capsys, "check", file)
    assert code == 0 and "ok: service code pkg-check" in out
    assert f"{file}:{PACKAGE_LINE}: warning:" in err and "not a package built by arcus-tui package build" in err


def test_a_complete_package_passes_quietly(tmp_path, capsys):
    file = cluster_file(tmp_path, make_package(tmp_path / "pkg"))
    code, out, err = run(capsys, "check", "-q", file)
    assert (code, out) == (0, "") and f":{PACKAGE_LINE}:" not in err  # only the one-member warning


@pytest.mark.parametrize("members,expected", [
    (("bin/memcached", "MANIFEST.json"), None),
    (("memcached",), "has no bin/memcached at its top"),
])
def test_a_tarball_package_needs_bin_memcached_at_its_top(tmp_path, capsys, members, expected):
    source = tmp_path / "files"
    for member in members:
        (source / member).parent.mkdir(parents=True, exist_ok=True)
        (source / member).write_text("x")
    tarball = tmp_path / "package.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        for member in members:
            tar.add(source / member, arcname=member)
    code, _, err = run(capsys, "check", cluster_file(tmp_path, tarball))
    if expected is None:
        assert code == 0 and f":{PACKAGE_LINE}:" not in err
    else:
        assert code == 2 and expected in err


def test_setup_refuses_before_any_ssh(tmp_path, capsys):
    file = cluster_file(tmp_path, make_package(tmp_path / "pkg", memcached=False))
    code, out, err = run(capsys, "setup", file, "--yes", "--ssh-dir", tmp_path / "ssh")
    assert code == 2 and "has no executable bin/memcached" in err
    assert "==>" not in out  # no step started
    assert not (tmp_path / "ssh").exists()  # not even the gateway key was made


async def test_the_runner_itself_refuses_to_upload_a_package_that_cannot_start(tmp_path):
    cluster = load_cluster(cluster_file(tmp_path, make_package(tmp_path / "pkg")))
    (tmp_path / "pkg" / "bin" / "memcached").unlink()  # broken after the file was checked
    plan = setup_plan(cluster).subset({StepId.UPLOAD_PACKAGE})
    events = []
    async with Runner(cluster, sink=events.append) as runner:
        report = await runner.run(plan)
    outcome = report.get(StepId.UPLOAD_PACKAGE, "cache001")
    assert outcome.state is HostState.FAILED and "has no executable bin/memcached" in outcome.message
    assert [e.state for e in events if e.state] == [HostState.FAILED]  # nothing else happened
