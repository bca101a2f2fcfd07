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


# -- symlinks in the package (issue 8, item 7) -----------------------------------------------------


@pytest.fixture
def gateway_secret(tmp_path):
    secret = tmp_path / "gateway-only" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("the gateway's own file\n")
    return secret


async def test_symlink_out_of_the_package_is_refused_and_nothing_is_sent(lab, build, gateway_secret):
    (build / "lib" / "leak.so").symlink_to(gateway_secret)  # absolute, outside
    (build / "bin" / "up").symlink_to("../../gateway-only/secret.txt")  # relative, climbing out
    (build / "dangling").symlink_to(build / "nowhere")
    a, b = await lab.add("a"), await lab.add("b")
    events = []
    async with SshSession(lab.targets(a, b, install_dir="~/arcus"), paths=lab.paths, sink=events.append) as ssh:
        result = await upload(ssh, build)
    for host in (a, b):
        assert result[host.name].state == HostState.FAILED
        error = result[host.name].error
        assert "lib/leak.so" in error and "bin/up" in error and "dangling" in error
        assert "outside" in error and "not uploaded" in error
        assert host.stats.sftp_writes == 0 and not (host.home / "arcus").exists()
    printed = "\n".join(e.text for e in events)
    assert "the gateway's own file" not in printed


async def test_symlink_inside_the_package_is_sent_as_a_copy_of_its_target(lab, build):
    (build / "lib" / "default_engine.so.1").symlink_to("default_engine.so")
    (build / "lib" / "alias").symlink_to(build / "lib")  # a directory: not followed, said so
    a = await lab.add("a")
    events = []
    async with SshSession(lab.targets(a, install_dir="~/arcus"), paths=lab.paths, sink=events.append) as ssh:
        result = await upload(ssh, build)
    assert result.ok, result["a"].error
    copy = a.home / "arcus" / "lib" / "default_engine.so.1"
    assert not copy.is_symlink() and copy.read_bytes() == (build / "lib" / "default_engine.so").read_bytes()
    assert not (a.home / "arcus" / "lib" / "alias").exists()
    lines = [e.text for e in events if e.host == "a" and e.is_line]
    assert any("lib/alias" in line and "not followed" in line for line in lines)


def test_scan_never_reads_a_file_outside_the_package(build, gateway_secret):
    from arcus_tui.ssh.upload import UnsafePackage, scan

    (build / "lib" / "leak.so").symlink_to(gateway_secret)
    with pytest.raises(UnsafePackage) as refused:
        scan(build)
    assert refused.value.links == ["lib/leak.so"]


# -- temp files: unpredictable, fsynced before the rename (issue 8, item 7) -------------------------


async def test_each_file_is_fsynced_under_an_unguessable_name_before_its_rename(lab, build, monkeypatch):
    import asyncssh

    calls = []
    real_fsync, real_rename = asyncssh.SFTPClientFile.fsync, asyncssh.SFTPClient.posix_rename

    async def fsync(self):
        calls.append(("fsync", self._handle))
        return await real_fsync(self)

    async def posix_rename(self, old, new):
        calls.append(("rename", old, new))
        return await real_rename(self, old, new)

    real_open = asyncssh.SFTPClient.open
    handles = {}

    async def open_(self, path, *args, **kwargs):
        file = await real_open(self, path, *args, **kwargs)
        handles[file._handle] = path if isinstance(path, str) else path.decode()
        return file

    monkeypatch.setattr(asyncssh.SFTPClientFile, "fsync", fsync)
    monkeypatch.setattr(asyncssh.SFTPClient, "posix_rename", posix_rename)
    monkeypatch.setattr(asyncssh.SFTPClient, "open", open_)
    a = await lab.add("a")
    async with SshSession(lab.targets(a, install_dir="~/arcus"), paths=lab.paths) as ssh:
        assert (await upload(ssh, build)).ok
    renames = [call for call in calls if call[0] == "rename"]
    assert len(renames) == 3
    for _, temporary, final in renames:
        synced = [i for i, call in enumerate(calls) if call[0] == "fsync" and handles[call[1]] == temporary]
        assert synced and synced[0] < calls.index(("rename", temporary, final)), temporary
        random_part = os.path.basename(temporary).split(".")[-2]
        assert len(random_part) >= 32  # 128 bits: no one guesses it and plants a link there
