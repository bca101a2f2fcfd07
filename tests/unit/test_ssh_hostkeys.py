"""Host keys: unknown ones become questions (saved only on yes), changed ones are refused."""

from __future__ import annotations

import asyncssh
import pytest

from arcus_tui.events import HostState
from arcus_tui.ssh import HostKeyChanged, HostTarget, KnownHosts, SshSession
from tests.unit.ssh_fakeserver import Lab


@pytest.fixture
async def lab(tmp_path):
    lab = Lab(tmp_path)
    yield lab
    await lab.stop()


async def test_unknown_host_yields_a_question_and_saves_nothing(lab):
    a = await lab.add("a", trusted=False)
    before = lab.paths.known_hosts.read_text() if lab.paths.known_hosts.exists() else ""
    async with SshSession(lab.targets(a), paths=lab.paths) as ssh:
        result = await ssh.run("echo hi")
    host = result["a"]
    assert host.state == HostState.FAILED
    question = host.question
    assert question is not None and result.questions == [question]
    assert question.key_type == "ssh-ed25519"
    assert question.fingerprint == a.fingerprint and question.fingerprint.startswith("SHA256:")
    assert question.port == a.port and question.hostname == "127.0.0.1"
    assert f"[127.0.0.1]:{a.port}" in question.text and a.fingerprint in question.text
    assert host.error == (f"host key of [127.0.0.1]:{a.port} is not known "
                          f"(ssh-ed25519 {a.fingerprint}); not trusted")
    after = lab.paths.known_hosts.read_text() if lab.paths.known_hosts.exists() else ""
    assert after == before
    assert a.stats.commands == []


async def test_accepting_the_question_saves_the_key_and_retry_connects(lab):
    a, b = await lab.add("a", trusted=False), await lab.add("b")
    async with SshSession(lab.targets(a, b), paths=lab.paths) as ssh:
        result = await ssh.run("echo hi")
        assert result.failed == ["a"]
        ssh.accept_host_key(result["a"].question)
        again = await ssh.retry(result)
    assert again.ok and list(again) == ["a"]
    assert a.known_hosts_line() in lab.paths.known_hosts.read_text().splitlines()
    # the saved line is plain OpenSSH format, readable by asyncssh (and ssh)
    assert asyncssh.read_known_hosts(str(lab.paths.known_hosts)).match("127.0.0.1", "127.0.0.1", a.port)[0]


async def test_asker_is_consulted_and_a_no_is_respected(lab):
    a = await lab.add("a", trusted=False)
    asked = []

    async def say_no(question):
        asked.append(question)
        return False

    async with SshSession(lab.targets(a), paths=lab.paths, on_unknown_host_key=say_no) as ssh:
        result = await ssh.run("true")
    assert [q.fingerprint for q in asked] == [a.fingerprint]
    assert result["a"].state == HostState.FAILED and result["a"].question is not None
    assert not lab.paths.known_hosts.exists() or a.public_key not in lab.paths.known_hosts.read_text()


async def test_asker_yes_saves_and_connects_in_the_same_run(lab):
    a = await lab.add("a", trusted=False)

    async def say_yes(question):
        return True

    async with SshSession(lab.targets(a), paths=lab.paths, on_unknown_host_key=say_yes) as ssh:
        result = await ssh.run("echo in")
    assert result.ok and result["a"].stdout == "in\n"
    assert a.known_hosts_line() in lab.paths.known_hosts.read_text()


async def test_changed_key_is_refused_naming_host_and_both_fingerprints(lab):
    a, b = await lab.add("a", trusted=False), await lab.add("b")
    impostor = asyncssh.generate_private_key("ssh-ed25519")
    old_public = " ".join(impostor.export_public_key("openssh").decode().split()[:2])
    with open(lab.paths.known_hosts, "a") as handle:
        handle.write(f"[127.0.0.1]:{a.port} {old_public}\n")
    before = lab.paths.known_hosts.read_text()
    asked = []

    async def would_say_yes(question):
        asked.append(question)
        return True

    async with SshSession(lab.targets(a, b), paths=lab.paths, on_unknown_host_key=would_say_yes) as ssh:
        result = await ssh.run("echo hi")
    assert result["b"].ok
    error = result["a"].error
    assert result["a"].state == HostState.FAILED and result["a"].question is None
    assert "CHANGED" in error and f"[127.0.0.1]:{a.port}" in error
    assert impostor.get_fingerprint("sha256") in error and a.fingerprint in error
    assert "ssh-keygen -R" in error
    assert asked == []  # a changed key is never put to the operator as a yes/no
    assert lab.paths.known_hosts.read_text() == before
    assert a.stats.commands == []


def test_known_hosts_judge_and_accept_keep_existing_lines(tmp_path):
    path = tmp_path / "known_hosts"
    path.write_text("# my hosts\nother.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl")  # no newline
    known = KnownHosts(path)
    key = asyncssh.generate_private_key("ssh-ed25519")
    verdict = known.judge("web1", "web1.example", "10.0.0.1", 2022, key)
    question = verdict.question
    known.accept(question)
    known.accept(question)  # twice: still one line
    lines = path.read_text().splitlines()
    assert lines[0] == "# my hosts" and lines[1].startswith("other.example ")
    assert lines[2] == question.entry and lines[2].startswith("[web1.example]:2022 ssh-ed25519 ")
    assert len(lines) == 3
    other = asyncssh.generate_private_key("ssh-ed25519")
    changed = known.judge("web1", "web1.example", "10.0.0.1", 2022, other)
    assert isinstance(changed, HostKeyChanged)
    assert changed.known == [("ssh-ed25519", key.get_fingerprint("sha256"))]


async def test_hashed_known_hosts_entries_are_honoured(lab, tmp_path):
    import subprocess

    from tests.infra.require import require_executable

    keygen = require_executable("ssh-keygen")
    a = await lab.add("a", trusted=False)
    lab.trust(a)
    subprocess.run([keygen, "-H", "-f", str(lab.paths.known_hosts)], check=True, capture_output=True)
    assert "|1|" in lab.paths.known_hosts.read_text()
    async with SshSession([lab.target(a)], paths=lab.paths) as ssh:
        assert (await ssh.run("true")).ok


def test_targets_do_not_touch_the_real_ssh_dir(tmp_path):
    from arcus_tui.ssh import SshPaths

    paths = SshPaths.under(tmp_path)
    assert paths.known_hosts == tmp_path / "known_hosts" and paths.config == tmp_path / "config"
    assert paths.key_dir == tmp_path and paths.default_identities() == ()
    assert HostTarget("x", "h").port is None


# -- a malformed known_hosts line (issue 8, item 5) ------------------------------------------------

MALFORMED = [
    "garbage",  # one word: no key at all
    "@bogus-marker host ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
    "|1|abc|def ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",  # bad hash
]


async def test_malformed_known_hosts_lines_are_skipped_with_one_warning_each(lab):
    a, b = await lab.add("a", trusted=False), await lab.add("b", trusted=False)
    impostor = asyncssh.generate_private_key("ssh-ed25519")
    impostor_public = " ".join(impostor.export_public_key("openssh").decode().split()[:2])
    lab.paths.known_hosts.write_text("\n".join([MALFORMED[0], "# comment", MALFORMED[1]]) + "\n")
    lab.trust(a)  # line 4: a's real key
    with open(lab.paths.known_hosts, "a") as handle:
        handle.write(MALFORMED[2] + "\n")  # line 5
        handle.write(f"[127.0.0.1]:{b.port} {impostor_public}\n")  # line 6: b's key "changed"
    events = []
    async with SshSession(lab.targets(a, b), paths=lab.paths, sink=events.append) as ssh:
        result = await ssh.run("echo in")
    assert result["a"].ok and result["a"].stdout == "in\n"  # verified with the valid line
    assert "CHANGED" in result["b"].error  # and the valid lines still refuse a changed key
    warnings = [e.text for e in events if e.host == "gateway" and e.is_line]
    path = lab.paths.known_hosts
    assert [w.split(": ")[0] for w in warnings] == [f"{path}:1", f"{path}:3", f"{path}:5"]
    assert all("\n" not in w and "skipped" in w for w in warnings)
    # a second session of the same run (same listener) on the same file does not say it again
    async with SshSession(lab.targets(a), paths=lab.paths, sink=events.append) as ssh:
        assert (await ssh.run("true")).ok
    assert len([e for e in events if e.host == "gateway"]) == 3


def test_known_hosts_with_malformed_lines_still_judges_and_accepts(tmp_path):
    path = tmp_path / "known_hosts"
    valid = "other.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    path.write_text("\n".join(MALFORMED + [valid]) + "\n")
    heard = []
    known = KnownHosts(path, warn=heard.append)
    assert [p.split(": ")[0] for p in known.problems] == [f"{path}:1", f"{path}:2", f"{path}:3"]
    assert heard == known.problems
    assert known.trusted("other.example", 22)[0]
    key = asyncssh.generate_private_key("ssh-ed25519")
    question = known.judge("web1", "web1.example", "10.0.0.1", 2022, key).question
    known.accept(question)  # reloads the file: the malformed lines are still skipped
    assert known.trusted_keys("web1.example", "10.0.0.1", 2022)
    assert path.read_text().splitlines()[:4] == MALFORMED + [valid]
