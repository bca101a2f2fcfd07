"""The SSH engine against real OpenSSH (sshd on 127.0.1.1-3:2022, the suite's test user).

ARCUS's manual SSH bootstrap (docs/arcus.md#terms) done by the engine: make the gateway key, copy it with the
password, prove key-only login, then run commands and upload files.
"""

from __future__ import annotations

import os
import stat

import pytest

from arcus_tui.events import HostState
from arcus_tui.ssh import (
    Credentials,
    HostTarget,
    Password,
    SshSession,
    copy_id,
    ensure_gateway_key,
    upload,
    verify_key_login,
)
from tests.unit.cluster_texts import cluster_text, host_table

pytestmark = pytest.mark.sshd


async def test_bootstrap_verify_exec_upload(sshd_hosts, tmp_path):
    real = sshd_hosts
    paths = real.gateway_paths(tmp_path / "gateway", trust=False)
    targets = real.targets()
    questions = []

    async def operator_says_yes(question):
        questions.append(question)
        return True

    key = ensure_gateway_key(paths.key_dir)
    events = []

    # before copy-id the key does not open the door
    before = await verify_key_login(targets, key, paths=paths, on_unknown_host_key=operator_says_yes)
    assert before.failed == real.names
    assert all(r.error.startswith("key login refused for arcustest@127.0.1.") for r in before.values())
    assert sorted(q.hostname for q in questions) == list(real.addresses)
    assert {q.fingerprint for q in questions} == {real.daemon.host_key_fingerprint}

    copied = await copy_id(targets, key, Password(real.password), paths=paths, sink=events.append)
    assert copied.ok, {h: r.error for h, r in copied.items()}
    # the three "hosts" share one home here, as NFS homes would: added once, found by the others
    assert sorted(r.state.value for r in copied.values()) == ["already-done", "already-done", "ok"]
    ssh_dir = real.home / ".ssh"
    keys = ssh_dir / "authorized_keys"
    assert keys.read_text() == key.public_line + "\n"
    assert stat.S_IMODE(ssh_dir.stat().st_mode) == 0o700 and stat.S_IMODE(keys.stat().st_mode) == 0o600
    assert keys.stat().st_uid == real.uid

    verified = await verify_key_login(targets, key, paths=paths)
    assert verified.ok, {h: r.error for h, r in verified.items()}

    cred = Credentials(identity_files=(key.path,), use_agent=False)
    per_host = [HostTarget(t.name, t.address, t.port, t.user, install_dir=f"~/{t.name}/arcus") for t in targets]
    async with SshSession(per_host, paths=paths, credentials=cred, sink=events.append) as ssh:
        result = await ssh.run('echo "$USER ${SSH_CONNECTION##* }"; echo to-stderr >&2')
        assert result.ok
        for name in real.names:
            assert result[name].stdout == "arcustest 2022\n"
            assert result[name].stderr == "to-stderr\n"
        where = await ssh.run('echo "$SSH_CONNECTION"')
        assert [r.stdout.split()[2] for r in where.values()] == list(real.addresses)

        build = tmp_path / "build"
        (build / "bin").mkdir(parents=True)
        (build / "bin" / "memcached").write_text("#!/bin/sh\necho stand-in\n")
        os.chmod(build / "bin" / "memcached", 0o755)
        (build / "conf.txt").write_text("x=1\n")
        sent = await upload(ssh, build)
        assert all(r.state == HostState.OK for r in sent.values()), {h: r.error for h, r in sent.items()}
        for name in real.names:
            binary = real.home / name / "arcus" / "bin" / "memcached"
            assert binary.read_text() == "#!/bin/sh\necho stand-in\n"
            assert binary.stat().st_uid == real.uid and os.access(binary, os.X_OK)
        ran = await ssh.run("host1/arcus/bin/memcached", hosts=["host1"])
        assert ran.ok and ran["host1"].stdout == "stand-in\n"  # uploaded executable, mode kept
        again = await upload(ssh, build)
        assert all(r.state == HostState.ALREADY_DONE for r in again.values())

    for event in events:
        assert real.password not in repr(event)


async def test_wrong_password_is_reported_per_host(sshd_hosts, tmp_path):
    real = sshd_hosts
    paths = real.gateway_paths(tmp_path / "gateway")
    key = ensure_gateway_key(paths.key_dir)
    events = []
    result = await copy_id(real.targets(), key, Password("not-the-password"), paths=paths, sink=events.append)
    assert result.failed == real.names
    for name, address in zip(real.names, real.addresses):
        assert result[name].error == (f"login refused for arcustest@{address}:2022 "
                                      f"(wrong password, or no key authorized)")
    assert not (real.home / ".ssh").exists()
    assert all("not-the-password" not in repr(event) for event in events)


async def test_changed_host_key_is_refused_others_proceed(sshd_hosts, tmp_path):
    real = sshd_hosts
    paths = real.gateway_paths(tmp_path / "gateway")
    lines = paths.known_hosts.read_text().splitlines()
    lines[0] = "[127.0.1.1]:2022 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    paths.known_hosts.write_text("\n".join(lines) + "\n")
    key = ensure_gateway_key(paths.key_dir)
    real.authorize(key.public_line)
    result = await verify_key_login(real.targets(), key, paths=paths)
    assert result["host1"].state == HostState.FAILED
    assert "CHANGED" in result["host1"].error and real.daemon.host_key_fingerprint in result["host1"].error
    assert result["host2"].ok and result["host3"].ok


async def test_many_targets_on_one_default_sshd_are_never_dropped(sshd_hosts, tmp_path):
    """60 names for one daemon with OpenSSH's default MaxStartups 10:30:100: the default
    connection pacing keeps every login under its drop threshold."""
    real = sshd_hosts
    paths = real.gateway_paths(tmp_path / "gateway")
    key = ensure_gateway_key(paths.key_dir)
    real.authorize(key.public_line)
    targets = [HostTarget(f"n{i}", real.addresses[i % 3], real.port, real.user) for i in range(60)]
    cred = Credentials(identity_files=(key.path,), use_agent=False)
    events = []
    async with SshSession(targets, paths=paths, credentials=cred, sink=events.append) as ssh:
        result = await ssh.run("true")
    assert result.ok, {h: r.error for h, r in result.items() if not r.ok}
    # pacing alone kept every login under the threshold: none needed the dropped-login retry
    assert not [e.text for e in events if "trying again" in e.text]


def test_exec_verb_prints_per_host_and_fails_if_one_fails(sshd_hosts, tmp_path, capsys):
    from arcus_tui.cli import main

    real = sshd_hosts
    paths = real.gateway_paths(tmp_path / "gateway")
    key = ensure_gateway_key(paths.key_dir)
    real.authorize(key.public_line)
    cluster = tmp_path / "cluster.toml"
    hosts = [host_table(name, address, zookeeper=True) for name, address in zip(real.names, real.addresses)]
    cluster.write_text(cluster_text("exec-test", hosts, user=real.user, ssh_port=real.port,
                                    identity_file=str(key.path)))
    code = main(["exec", str(cluster), "--ssh-dir", str(paths.key_dir), "--", "echo", "hello world"])
    out = capsys.readouterr().out
    assert code == 0, out
    for name in real.names:
        assert f"{name} | hello world" in out
        assert any(line.startswith(f"{name}  ok      exit 0") for line in out.splitlines())

    code = main(["exec", str(cluster), "--ssh-dir", str(paths.key_dir), "--",
                 'test "${SSH_CONNECTION##* }" = 2022 && test "$(echo $SSH_CONNECTION | cut -d" " -f3)" != 127.0.1.2'])
    out = capsys.readouterr().out
    assert code == 1
    assert any(line.startswith("host2  FAILED  exit 1") for line in out.splitlines())
    assert any(line.startswith("host1  ok") for line in out.splitlines())
