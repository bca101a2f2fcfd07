"""Uploads over SFTP: files, directories, tarballs; unchanged content is not sent again."""

from __future__ import annotations

import os
import stat
import tarfile

import pytest

from arcus_tui.events import HostState
from arcus_tui.ssh import SshSession, upload
from arcus_tui.ssh.upload import _parse_checksums, remote_dir
from tests.unit.ssh_fakeserver import Lab


@pytest.fixture
async def lab(tmp_path):
    lab = Lab(tmp_path)
    yield lab
    await lab.stop()


@pytest.fixture
def build(tmp_path):
    root = tmp_path / "build"
    (root / "bin").mkdir(parents=True)
    (root / "lib").mkdir()
    (root / "bin" / "memcached").write_text("#!/bin/sh\necho stand-in\n")
    os.chmod(root / "bin" / "memcached", 0o755)
    (root / "lib" / "default_engine.so").write_bytes(os.urandom(300_000))
    (root / "README with space.txt").write_text("hello\n")
    return root


async def test_directory_upload_then_nothing_the_second_time(lab, build):
    a, b = await lab.add("a"), await lab.add("b")
    events = []
    async with SshSession(lab.targets(a, b, install_dir="~/arcus"), paths=lab.paths, sink=events.append) as ssh:
        first = await upload(ssh, build)
        assert first.ok and all(r.state == HostState.OK for r in first.values())
        for host in (a, b):
            dest = host.home / "arcus"
            assert (dest / "bin" / "memcached").read_text() == "#!/bin/sh\necho stand-in\n"
            assert stat.S_IMODE((dest / "bin" / "memcached").stat().st_mode) == 0o755
            assert (dest / "lib" / "default_engine.so").read_bytes() == (build / "lib" / "default_engine.so").read_bytes()
            assert (dest / "README with space.txt").exists()
            assert not [p for p in dest.rglob("*arcus-tui-part")]
        writes = a.stats.sftp_writes
        assert writes == 3
        second = await upload(ssh, build)
        assert all(r.state == HostState.ALREADY_DONE for r in second.values())
        assert a.stats.sftp_writes == writes and b.stats.sftp_writes == writes  # nothing sent again
        (build / "README with space.txt").write_text("changed\n")
        third = await upload(ssh, build)
        assert third.ok and a.stats.sftp_writes == writes + 1
        assert (a.home / "arcus" / "README with space.txt").read_text() == "changed\n"
    assert a.stats.connections == 1
    texts = [e.text for e in events if e.host == "a" and e.is_line]
    assert any(t.startswith("uploading 3 of 3 file(s)") for t in texts)
    assert any("unchanged" in t for t in texts)


async def test_single_file_goes_into_the_destination(lab, tmp_path):
    a = await lab.add("a")
    source = tmp_path / "zoo.cfg"
    source.write_text("tickTime=2000\n")
    async with SshSession(lab.targets(a), paths=lab.paths) as ssh:
        result = await upload(ssh, source, dest="conf/zk")
    assert result.ok and (a.home / "conf" / "zk" / "zoo.cfg").read_text() == "tickTime=2000\n"


async def test_tarball_is_unpacked_once(lab, build, tmp_path):
    a = await lab.add("a")
    tarball = tmp_path / "arcus-1.0.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(build, arcname=".")
    async with SshSession(lab.targets(a, install_dir="opt/arcus"), paths=lab.paths) as ssh:
        first = await upload(ssh, tarball)
        assert first.ok, first["a"].error
        assert (a.home / "opt" / "arcus" / "bin" / "memcached").exists()
        second = await upload(ssh, tarball)
        assert second["a"].state == HostState.ALREADY_DONE
    assert sum("tar -xf" in c for c in a.stats.commands) == 1


async def test_missing_install_dir_is_a_per_host_failure(lab, build):
    a, b = await lab.add("a"), await lab.add("b")
    targets = [lab.target(a, install_dir="arcus"), lab.target(b)]
    async with SshSession(targets, paths=lab.paths) as ssh:
        result = await upload(ssh, build)
    assert result["a"].ok
    assert result["b"].error == "no destination: the host has no install_dir"


def test_remote_dir_and_checksum_parsing():
    assert remote_dir("~") == "." and remote_dir("~/arcus/") == "arcus" and remote_dir("/opt/x/") == "/opt/x"
    sums, unpacked = _parse_checksums(
        f"{'a' * 64}  bin/memcached\n{'b' * 64} *lib/x.so\n\\{'c' * 64}  odd\\nname\nunpacked {'d' * 64}\n")
    assert sums == {"bin/memcached": "a" * 64, "lib/x.so": "b" * 64}
    assert unpacked == "d" * 64
