"""Key bootstrap: the gateway key, copy-id's authorized_keys handling, key-only verification,
and that the password never leaves memory."""

from __future__ import annotations

import logging
import os
import stat

import asyncssh
import pytest

from arcus_tui.events import HostState
from arcus_tui.ssh import GatewayKeyError, Password, copy_id, ensure_gateway_key, verify_key_login
from tests.unit.ssh_fakeserver import Lab

OTHER_KEY = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7 someone@laptop"
OPTIONS_KEY = 'from="10.0.0.0/8" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ci'


@pytest.fixture
async def lab(tmp_path):
    lab = Lab(tmp_path)
    yield lab
    await lab.stop()


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# -- the gateway key -----------------------------------------------------------------------------

def test_gateway_key_is_made_ed25519_with_safe_modes(tmp_path):
    key_dir = tmp_path / "dot-ssh"
    events = []
    key = ensure_gateway_key(key_dir, sink=events.append)
    assert key.created and key.key_type == "ssh-ed25519"
    assert key.path == key_dir / "id_ed25519" and key.public_path == key_dir / "id_ed25519.pub"
    assert mode(key_dir) == 0o700 and mode(key.path) == 0o600
    assert key.public_path.read_text().strip() == key.public_line
    assert asyncssh.read_private_key(str(key.path)).get_fingerprint("sha256") == key.fingerprint
    assert events[-1].state == HostState.OK and events[-1].host == "gateway"


def test_existing_key_is_reused_never_overwritten(tmp_path):
    first = ensure_gateway_key(tmp_path)
    content = first.path.read_bytes()
    mtime = first.path.stat().st_mtime_ns
    again = ensure_gateway_key(tmp_path)
    assert not again.created and again.fingerprint == first.fingerprint
    assert first.path.read_bytes() == content and first.path.stat().st_mtime_ns == mtime


def test_missing_pub_is_rewritten_from_the_private_key(tmp_path):
    first = ensure_gateway_key(tmp_path)
    first.public_path.unlink()
    again = ensure_gateway_key(tmp_path)
    assert again.public_path.read_text().split()[:2] == first.public_line.split()[:2]


def test_unusable_existing_key_is_an_error_and_left_alone(tmp_path):
    (tmp_path / "id_ed25519").write_text("not a key\n")
    with pytest.raises(GatewayKeyError, match="not a usable private key"):
        ensure_gateway_key(tmp_path)
    assert (tmp_path / "id_ed25519").read_text() == "not a key\n"


def test_loose_permissions_on_an_existing_key_are_tightened(tmp_path):
    key = ensure_gateway_key(tmp_path)
    os.chmod(key.path, 0o644)
    ensure_gateway_key(tmp_path)
    assert mode(key.path) == 0o600


def test_rsa_4096_on_request(tmp_path):
    key = ensure_gateway_key(tmp_path, key_type="rsa")
    assert key.path.name == "id_rsa" and key.key_type == "ssh-rsa"
    private = asyncssh.read_private_key(str(key.path))
    assert private.pyca_key.key_size == 4096
    with pytest.raises(ValueError):
        ensure_gateway_key(tmp_path, key_type="dsa")


# -- copy-id: authorized_keys cases --------------------------------------------------------------

async def copy(lab, *hosts, password="host-password", **kw):
    return await copy_id(lab.targets(*hosts), lab.key, Password(password), paths=lab.paths, **kw)


async def test_copy_id_creates_ssh_dir_and_authorized_keys(lab):
    a = await lab.add("a", authorized=False)
    result = await copy(lab, a)
    assert result["a"].state == HostState.OK
    keys = a.home / ".ssh" / "authorized_keys"
    assert keys.read_text() == lab.key.public_line + "\n"
    assert mode(a.home / ".ssh") == 0o700 and mode(keys) == 0o600
    assert a.stats.auth_methods[-1] == "password"


async def test_copy_id_keeps_other_keys_and_appends(lab):
    a = await lab.add("a", authorized=False)
    (a.home / ".ssh").mkdir(mode=0o700)
    keys = a.home / ".ssh" / "authorized_keys"
    keys.write_text(f"# managed by hand\n{OTHER_KEY}\n\n{OPTIONS_KEY}\n")
    result = await copy(lab, a)
    assert result.ok
    assert keys.read_text() == f"# managed by hand\n{OTHER_KEY}\n\n{OPTIONS_KEY}\n{lab.key.public_line}\n"


async def test_copy_id_handles_a_file_without_trailing_newline(lab):
    a = await lab.add("a", authorized=False)
    (a.home / ".ssh").mkdir(mode=0o700)
    keys = a.home / ".ssh" / "authorized_keys"
    keys.write_text(OTHER_KEY)  # no final newline
    assert (await copy(lab, a)).ok
    assert keys.read_text().splitlines() == [OTHER_KEY, lab.key.public_line]


async def test_copy_id_twice_adds_no_duplicate(lab):
    a = await lab.add("a", authorized=False)
    first = await copy(lab, a)
    second = await copy(lab, a)
    assert first["a"].state == HostState.OK
    assert second["a"].state == HostState.ALREADY_DONE
    text = (a.home / ".ssh" / "authorized_keys").read_text()
    assert text.count(lab.key.blob) == 1
    # the second run logged in with the key itself: no password needed any more
    assert a.stats.passwords_tried == 1


async def test_key_present_with_other_comment_or_options_counts_as_present(lab):
    a = await lab.add("a", authorized=False)
    (a.home / ".ssh").mkdir(mode=0o700)
    keys = a.home / ".ssh" / "authorized_keys"
    kind, blob = lab.key.public_line.split()[:2]
    keys.write_text(f'no-pty,from="127.0.0.1" {kind} {blob} renamed@elsewhere\n')
    result = await copy(lab, a)
    assert result["a"].state == HostState.ALREADY_DONE
    assert keys.read_text().count(blob) == 1


async def test_interrupted_install_leaves_the_old_file_whole(lab, tmp_path):
    bad_bin = tmp_path / "bad-bin"
    bad_bin.mkdir()
    (bad_bin / "mv").write_text("#!/bin/sh\nexit 1\n")  # the run dies just before the rename
    os.chmod(bad_bin / "mv", 0o755)
    a = await lab.add("a", authorized=False, extra_path=bad_bin)
    (a.home / ".ssh").mkdir(mode=0o700)
    keys = a.home / ".ssh" / "authorized_keys"
    keys.write_text(f"{OTHER_KEY}\n")
    result = await copy(lab, a)
    assert result["a"].state == HostState.FAILED
    assert keys.read_text() == f"{OTHER_KEY}\n"
    assert sorted(p.name for p in (a.home / ".ssh").iterdir()) == ["authorized_keys"]  # no temp left


async def test_copy_id_wrong_password_fails_that_host_only(lab):
    a = await lab.add("a", authorized=False, password="pw-a")
    b = await lab.add("b", authorized=False, password="pw-b")
    result = await copy_id(lab.targets(a, b), lab.key, Password("pw-a"), paths=lab.paths)
    assert result["a"].ok
    assert result["b"].state == HostState.FAILED
    assert result["b"].error.startswith("login refused for tester@127.0.0.1")
    assert not (b.home / ".ssh").exists()


# -- verify --------------------------------------------------------------------------------------

async def test_verify_uses_the_key_only(lab):
    a = await lab.add("a", authorized=True)
    b = await lab.add("b", authorized=False)
    result = await verify_key_login(lab.targets(a, b), lab.key, paths=lab.paths)
    assert result["a"].ok
    assert result["b"].state == HostState.FAILED
    assert result["b"].error.startswith("key login refused for tester@127.0.0.1")
    assert a.stats.passwords_tried == 0 and b.stats.passwords_tried == 0


async def test_bootstrap_copy_then_verify(lab):
    hosts = [await lab.add(name, authorized=False) for name in ("a", "b", "c")]
    assert (await verify_key_login(lab.targets(*hosts), lab.key, paths=lab.paths)).failed == ["a", "b", "c"]
    assert (await copy(lab, *hosts)).ok
    assert (await verify_key_login(lab.targets(*hosts), lab.key, paths=lab.paths)).ok


# -- the password stays in memory ----------------------------------------------------------------

async def test_password_never_appears_in_events_logs_results_or_files(lab, tmp_path, caplog):
    secret = "Zq8-very-secret-pw-4417"
    good = await lab.add("good", authorized=False, password=secret)
    wrong = await lab.add("wrong", authorized=False, password="something-else")
    echo = await lab.add("echo", authorized=False, password=secret)
    events = []
    caplog.set_level(logging.DEBUG)
    logging.getLogger("asyncssh").setLevel(logging.DEBUG)
    password = Password(secret)
    result = await copy_id(lab.targets(good, wrong, echo), lab.key, password, paths=lab.paths,
                           sink=events.append)
    assert result["good"].ok and result["echo"].ok and not result["wrong"].ok
    # even a host that echoes the password back gets it masked in events and results
    from arcus_tui.ssh import Credentials, SshSession

    async with SshSession(lab.targets(echo), paths=lab.paths, sink=events.append,
                          credentials=Credentials(password=password)) as ssh:
        split = f"{secret[:5]}''{secret[5:]}"  # the shell joins it: the command text does not hold it
        echoed = await ssh.run(f"echo {split}; echo {split} >&2; exit 3")
    assert echoed["echo"].stdout == "********\n"

    texts = [repr(event) for event in events]
    texts += [repr(r) for r in list(result.values()) + list(echoed.values())]
    texts += [record.getMessage() for record in caplog.records]
    texts += [repr(password), str(password)]
    assert events and caplog.records
    for text in texts:
        assert secret not in text
    for root, _, files in os.walk(tmp_path):
        for name in files:
            path = os.path.join(root, name)
            if os.path.isfile(path):
                with open(path, "rb") as handle:
                    assert secret.encode() not in handle.read(), path
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(password)


# -- authorized_keys: mktemp beside it, synced before the rename (issue 8, item 7) -----------------


async def test_authorized_keys_temp_is_unguessable_and_synced_before_the_rename(lab, tmp_path):
    from tests.unit.test_ssh_remote_write import logging_shims

    log = tmp_path / "calls.log"
    shims = logging_shims(tmp_path / "shims", log)
    a = await lab.add("a", authorized=False, extra_path=shims)
    (a.home / ".ssh").mkdir(mode=0o700)
    keys = a.home / ".ssh" / "authorized_keys"
    keys.write_text(f"{OTHER_KEY}\n")
    result = await copy(lab, a)
    assert result["a"].state == HostState.OK, result["a"].error
    assert keys.read_text() == f"{OTHER_KEY}\n{lab.key.public_line}\n"
    calls = log.read_text().splitlines()
    made = next(c for c in calls if c.startswith("mktemp "))
    assert made.split()[-1] == f"{a.home}/.ssh/.authorized_keys.XXXXXXXXXX"
    moved = next(c for c in calls if c.startswith("mv "))
    temporary = moved.split()[-2]
    assert os.path.dirname(temporary) == f"{a.home}/.ssh" and "XXXX" not in temporary
    synced = [i for i, c in enumerate(calls) if c.startswith("sync ") and temporary in c]
    assert synced and synced[0] < calls.index(moved)
    assert sorted(p.name for p in (a.home / ".ssh").iterdir()) == ["authorized_keys"]


def test_hosts_sharing_one_home_install_the_key_at_once_and_all_succeed(tmp_path):
    """Several hosts with one (NFS) home: their key installs race to create ~/.ssh; every one
    must succeed, and the key is there once. The installs are held at a start line (a busy wait
    on a file) and let go together, so that they do race."""
    import subprocess
    import time

    from arcus_tui.ssh.keys import INSTALL_KEY_SCRIPT

    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOnlyATestKeyForTheRace gateway\n"
    held = 'while [ ! -e "$1" ]; do :; done; exec sh -c "$2"'
    for attempt in range(20):
        home, go = tmp_path / f"home{attempt}", tmp_path / f"go{attempt}"
        home.mkdir()
        runs = [subprocess.Popen(["sh", "-c", held, "held", str(go), INSTALL_KEY_SCRIPT],
                                 env={"HOME": str(home), "PATH": "/usr/bin:/bin"}, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(6)]
        for run in runs:  # each has its key before any starts
            run.stdin.write(key)
            run.stdin.close()
        time.sleep(0.05)
        go.touch()
        results = [(run.wait(timeout=30), run.stdout.read(), run.stderr.read()) for run in runs]
        assert [run.returncode for run in runs] == [0] * 6, results
        assert (home / ".ssh" / "authorized_keys").read_text().count("OnlyATestKeyForTheRace") == 1
