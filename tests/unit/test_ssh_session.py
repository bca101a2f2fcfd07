"""The SSH runner against in-process SSH servers: streaming, limits, timeouts, failures, retry."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from arcus_tui.events import HostState, Stream
from arcus_tui.ssh import Credentials, HostTarget, Limits, Password, SshSession
from tests.unit.ssh_fakeserver import Lab, closed_port


@pytest.fixture
async def lab(tmp_path):
    lab = Lab(tmp_path)
    yield lab
    await lab.stop()


def lines_of(events, host, stream=None):
    return [e.text for e in events if e.host == host and e.is_line and (stream is None or e.stream == stream)]


def states_of(events, host):
    return [e.state for e in events if e.host == host and e.state is not None]


async def test_runs_everywhere_with_per_host_events_and_results(lab):
    a, b, c = [await lab.add(name) for name in ("a", "b", "c")]
    events = []
    async with SshSession(lab.targets(a, b, c), paths=lab.paths, sink=events.append) as ssh:
        result = await ssh.run("echo out-$HOME; echo oops >&2; exit 0", step="hello")
    assert result.ok and list(result) == ["a", "b", "c"]
    for host in (a, b, c):
        assert result[host.name].stdout == f"out-{host.home}\n"
        assert result[host.name].stderr == "oops\n"
        assert result[host.name].exit_status == 0
        assert states_of(events, host.name) == [HostState.RUNNING, HostState.OK]
        assert lines_of(events, host.name, Stream.STDOUT) == [f"out-{host.home}"]
        assert lines_of(events, host.name, Stream.STDERR) == ["oops"]
        final = [e for e in events if e.host == host.name and e.state == HostState.OK][0]
        assert final.step == "hello" and final.exit_status == 0 and final.duration > 0


async def test_one_connection_per_host_is_reused(lab):
    a, b = await lab.add("a"), await lab.add("b")
    async with SshSession(lab.targets(a, b), paths=lab.paths) as ssh:
        for _ in range(3):
            assert (await ssh.run("true")).ok
    assert a.stats.connections == 1 and b.stats.connections == 1
    assert a.stats.commands == ["true"] * 3


async def test_nonzero_exit_fails_only_that_host_and_retry_reruns_only_it(lab):
    a, b = await lab.add("a"), await lab.add("b")
    marker = b.home / "fixed"
    async with SshSession(lab.targets(a, b), paths=lab.paths) as ssh:
        result = await ssh.run("test -e fixed || test $HOME != " + str(b.home))
        assert result["a"].ok
        assert result.failed == ["b"]
        assert result["b"].state == HostState.FAILED and result["b"].exit_status == 1
        assert result["b"].error == "exit status 1"
        marker.touch()
        again = await ssh.retry(result)
    assert list(again) == ["b"] and again.ok
    assert len(a.stats.commands) == 1 and len(b.stats.commands) == 2
    assert result.merged(again).ok


async def test_sequence_stops_a_host_at_its_first_failure(lab):
    a, b = await lab.add("a"), await lab.add("b")
    commands = ["echo one", {"a": "false", "b": "echo two"}, "echo three"]
    async with SshSession(lab.targets(a, b), paths=lab.paths) as ssh:
        result = await ssh.run_sequence(commands)
    assert result["a"].state == HostState.FAILED and result["a"].stdout == "one\n"
    assert result["b"].ok and result["b"].stdout == "one\ntwo\nthree\n"


async def test_slow_host_streams_lines_in_order_as_they_come(lab):
    slow, fast = await lab.add("slow"), await lab.add("fast")
    events = []
    script = {"slow": "for i in 1 2 3 4 5; do echo line-$i; sleep 0.15; done", "fast": "echo quick"}
    async with SshSession(lab.targets(slow, fast), paths=lab.paths, sink=events.append) as ssh:
        result = await ssh.run(script)
    assert result.ok
    assert lines_of(events, "slow") == [f"line-{i}" for i in range(1, 6)]
    slow_lines = [e for e in events if e.host == "slow" and e.is_line]
    done = [e for e in events if e.host == "slow" and e.state == HostState.OK][0]
    # streamed: the first line arrived well before the command ended, not in one batch at the end
    assert done.time - slow_lines[0].time > 0.4
    assert all(later.time > earlier.time for earlier, later in zip(slow_lines, slow_lines[1:]))
    fast_done = [e for e in events if e.host == "fast" and e.state == HostState.OK][0]
    assert fast_done.time < done.time - 0.4  # the fast host did not wait for the slow one


async def test_partial_last_line_and_crlf(lab):
    a = await lab.add("a")
    async with SshSession(lab.targets(a), paths=lab.paths) as ssh:
        result = await ssh.run("printf 'one\\r\\ntwo'")
    assert result["a"].stdout == "one\ntwo\n"


async def test_hanging_host_hits_connect_timeout_without_slowing_others(lab):
    hang = await lab.hanging()
    a, b = await lab.add("a"), await lab.add("b")
    targets = lab.targets(a, b) + [HostTarget("hang", "127.0.0.1", hang.port, "tester")]
    events = []
    limits = Limits(connect_timeout=1.5, connect_concurrency=1, slow_handshake_grace=0.2)
    started = time.monotonic()
    async with SshSession(targets, paths=lab.paths, limits=limits, sink=events.append) as ssh:
        result = await ssh.run("echo hi")
    elapsed = time.monotonic() - started
    assert result["a"].ok and result["b"].ok
    assert result["hang"].state == HostState.FAILED
    assert result["hang"].error == f"no answer from 127.0.0.1:{hang.port} within 1.5 s"
    # with a single connect place, the hung handshake gave it up after the grace period
    assert max(result["a"].duration, result["b"].duration) < 1.2
    assert elapsed < 4
    assert "Traceback" not in " ".join(e.text for e in events)


async def test_command_timeout_closes_the_channel_others_unaffected(lab):
    a, b = await lab.add("a"), await lab.add("b")
    events = []
    async with SshSession(lab.targets(a, b), paths=lab.paths, sink=events.append) as ssh:
        result = await ssh.run({"a": "echo started; sleep 30", "b": "echo fine"}, timeout=1.0)
        assert result["b"].ok and result["b"].duration < 0.9  # b did not wait for a's timeout
        assert result["a"].state == HostState.FAILED
        assert result["a"].error.startswith("timed out after 1 s")
        assert result["a"].stdout == "started\n"
        # the connection survived the closed channel and is reused
        again = await ssh.run("echo after", hosts=["a"])
        assert again.ok and again["a"].stdout == "after\n"
        for _ in range(100):  # the timed-out command's channel is closed on the server too
            if a.stats.open_channels == 0:
                break
            await asyncio.sleep(0.02)
        assert a.stats.open_channels == 0
    assert a.stats.connections == 1


async def test_refusing_host_fails_clearly_others_run(lab):
    a = await lab.add("a")
    port = closed_port()
    targets = [lab.target(a), HostTarget("gone", "127.0.0.1", port, "tester")]
    async with SshSession(targets, paths=lab.paths) as ssh:
        result = await ssh.run("echo hi")
    assert result["a"].ok
    assert result["gone"].state == HostState.FAILED
    assert result["gone"].error == f"connection refused by 127.0.0.1:{port} (is sshd running on that port?)"


async def test_host_dropping_mid_command_fails_and_retry_reconnects(lab):
    a, b = await lab.add("a"), await lab.add("b")
    b.drop_once = True
    events = []
    async with SshSession(lab.targets(a, b), paths=lab.paths, sink=events.append) as ssh:
        result = await ssh.run("echo drop-me")
        assert result["a"].ok
        assert result["b"].state == HostState.FAILED
        assert result["b"].error.startswith("connection lost while the command ran")
        assert lines_of(events, "b", Stream.STDOUT) == ["echo drop-me"]  # what it said before dropping
        again = await ssh.retry(result)
    assert list(again) == ["b"] and again.ok and again["b"].stdout == "drop-me\n"
    assert b.stats.connections == 2 and a.stats.connections == 1


async def test_at_most_eight_channels_at_once_on_one_connection(lab):
    a = await lab.add("a")
    async with SshSession(lab.targets(a), paths=lab.paths) as ssh:
        results = await asyncio.gather(*(ssh.run("sleep 0.2") for _ in range(12)))
    assert all(result.ok for result in results)
    assert a.stats.connections == 1
    assert a.stats.max_open_channels == 8


async def test_connection_opening_is_paced_per_sshd(lab):
    shared = await lab.add("shared", auth_delay=0.1)
    targets = [lab.target(shared, name=f"alias{i}") for i in range(6)]
    limits = Limits(startups_per_sshd=2, connect_concurrency=10)
    async with SshSession(targets, paths=lab.paths, limits=limits) as ssh:
        result = await ssh.connect()
    assert result.ok and shared.stats.connections == 6
    assert shared.stats.max_pending_auth == 2


async def test_cancellation_closes_channels_and_reports_cancelled(lab):
    a = await lab.add("a")
    events = []
    async with SshSession(lab.targets(a), paths=lab.paths, sink=events.append) as ssh:
        task = asyncio.ensure_future(ssh.run("echo begun; sleep 30"))
        for _ in range(100):
            if lines_of(events, "a", Stream.STDOUT):
                break
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert states_of(events, "a")[-1] == HostState.CANCELLED
        for _ in range(100):
            if a.stats.open_channels == 0:
                break
            await asyncio.sleep(0.02)
        assert a.stats.open_channels == 0  # the remote side saw its channel closed
        assert (await ssh.run("echo still-usable")).ok
    assert a.stats.connections == 1


async def test_password_login_when_no_key_is_authorized(lab):
    a = await lab.add("a", authorized=False, password="open-sesame-1")
    cred = Credentials(password=Password("open-sesame-1"), use_agent=False)
    async with SshSession([lab.target(a, identity_files=())], paths=lab.paths, credentials=cred) as ssh:
        assert (await ssh.run("true")).ok
    assert a.stats.auth_methods[-1] == "password"


async def test_wrong_password_is_a_clear_message(lab):
    a = await lab.add("a", authorized=False, password="right-one")
    cred = Credentials(password=Password("wrong-one-77"), use_agent=False)
    async with SshSession([lab.target(a, identity_files=())], paths=lab.paths, credentials=cred) as ssh:
        result = await ssh.run("true")
    assert result["a"].state == HostState.FAILED
    assert result["a"].error == (f"login refused for tester@127.0.0.1:{a.port} "
                                 f"(wrong password, or no key authorized)")


async def test_key_login_without_password(lab):
    a = await lab.add("a", password=None)
    async with SshSession(lab.targets(a), paths=lab.paths, credentials=Credentials(use_agent=False)) as ssh:
        assert (await ssh.run("true")).ok
    assert a.stats.passwords_tried == 0


async def test_missing_identity_file_is_a_per_host_error(lab):
    a, b = await lab.add("a"), await lab.add("b")
    targets = [lab.target(a), lab.target(b, identity_files=(str(lab.tmp / "nope"),))]
    async with SshSession(targets, paths=lab.paths) as ssh:
        result = await ssh.run("true")
    assert result["a"].ok
    assert result["b"].error == f"identity file {lab.tmp / 'nope'} does not exist"


async def test_ssh_config_alias_user_port_and_identity(lab):
    a = await lab.add("a")
    lab.paths.config.write_text(
        f"Host box-a\n  HostName 127.0.0.1\n  Port {a.port}\n  User tester\n  IdentityFile {lab.key.path}\n")
    target = HostTarget("a", "box-a")  # no port, user or identity: all from ~/.ssh/config
    lab.trust(a)
    async with SshSession([target], paths=lab.paths, credentials=Credentials(use_agent=False)) as ssh:
        result = await ssh.run("echo $HOME")
    assert result.ok and result["a"].stdout == f"{a.home}\n"


async def test_proxyjump_from_ssh_config_checks_both_host_keys(lab):
    bastion = await lab.add("bastion", allow_forwarding=True)
    inner = await lab.add("inner")
    lab.paths.config.write_text(
        f"Host inner-box\n  HostName 127.0.0.1\n  Port {inner.port}\n  User tester\n"
        f"  IdentityFile {lab.key.path}\n  ProxyJump tester@127.0.0.1:{bastion.port}\n"
        f"Host 127.0.0.1\n  IdentityFile {lab.key.path}\n")
    async with SshSession([HostTarget("inner", "inner-box")], paths=lab.paths,
                          credentials=Credentials(use_agent=False)) as ssh:
        result = await ssh.run("echo $HOME")
    assert result.ok, result["inner"].error
    assert result["inner"].stdout == f"{inner.home}\n"
    assert bastion.stats.forwards == [("127.0.0.1", inner.port)]


async def test_a_failing_sink_does_not_stop_the_work(lab):
    a = await lab.add("a")

    def broken(event):
        raise RuntimeError("consumer bug")

    async with SshSession(lab.targets(a), paths=lab.paths, sink=broken) as ssh:
        assert (await ssh.run("echo hi")).ok


async def test_a_login_dropped_by_a_busy_sshd_is_tried_again(lab):
    a, b = await lab.add("a"), await lab.add("b")
    a.drop_logins = 1
    b.drop_logins = 10
    events = []
    async with SshSession(lab.targets(a, b), paths=lab.paths, sink=events.append) as ssh:
        result = await ssh.run("echo in")
    assert result["a"].ok and a.stats.connections == 2
    assert any("trying again" in text for text in lines_of(events, "a"))
    assert result["b"].state == HostState.FAILED and b.stats.connections == 3  # bounded: 1 + 2 retries
    assert result["b"].error.startswith(f"127.0.0.1:{b.port} closed the connection during login")


async def test_input_to_a_command_that_does_not_read_it(lab):
    a = await lab.add("a")
    async with SshSession(lab.targets(a), paths=lab.paths) as ssh:
        result = await ssh.run("exit 3", input="x" * 2_000_000)
        fed = await ssh.run("wc -c", input="hello\n")
    assert result["a"].exit_status == 3 and result["a"].error == "exit status 3"
    assert fed["a"].stdout.strip() == "6"


async def test_names_of_one_sshd_are_paced_together_by_host_key(lab):
    shared = await lab.add("shared", auth_delay=0.1)
    lab.trust(shared, name="localhost")  # the same daemon (same key) known under a second name
    targets = [lab.target(shared, name=f"ip{i}") for i in range(2)]
    targets += [lab.target(shared, name=f"named{i}", address="localhost") for i in range(2)]
    limits = Limits(startups_per_sshd=1, connect_concurrency=10)
    async with SshSession(targets, paths=lab.paths, limits=limits) as ssh:
        result = await ssh.connect()
    assert result.ok, {h: r.error for h, r in result.items()}
    assert shared.stats.max_pending_auth == 1


async def test_hosts_with_unknown_keys_are_paced_as_one_sshd(lab):
    """Any of them may be the same machine: while a login to one unknown host is in progress,
    the next unknown one waits (here, for the hung one's grace period); a known host does not."""
    hang = await lab.hanging()
    unknown = await lab.add("unknown", trusted=False)
    known = await lab.add("known")
    targets = [HostTarget("hang", "127.0.0.1", hang.port, "tester"), lab.target(unknown), lab.target(known)]
    started = time.monotonic()
    asked_at = []

    async def yes(question):
        asked_at.append(time.monotonic() - started)
        return True

    limits = Limits(startups_per_sshd=1, connect_concurrency=10, slow_handshake_grace=0.6, connect_timeout=2)
    async with SshSession(targets, paths=lab.paths, limits=limits, on_unknown_host_key=yes) as ssh:
        result = await ssh.connect()
    assert result["unknown"].ok and result["known"].ok and not result["hang"].ok
    assert asked_at and asked_at[0] >= 0.55
    assert result["known"].duration < 0.5


async def test_ssh_agent_keys_are_used(lab, tmp_path, monkeypatch):
    import subprocess

    from tests.infra.require import require_executable

    agent_bin = require_executable("ssh-agent")
    add_bin = require_executable("ssh-add")
    a = await lab.add("a", password=None)  # key in authorized_keys only
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen([agent_bin, "-D", "-a", str(sock)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if sock.exists():
                break
            await asyncio.sleep(0.02)
        env = dict(os.environ, SSH_AUTH_SOCK=str(sock))
        subprocess.run([add_bin, str(lab.key.path)], env=env, check=True, capture_output=True, timeout=10)
        lab.key.path.rename(tmp_path / "moved-away")  # no key file left to use: only the agent has it
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        async with SshSession([lab.target(a, identity_files=())], paths=lab.paths) as ssh:
            result = await ssh.run("echo via-agent")
        assert result.ok and result["a"].stdout == "via-agent\n"
        async with SshSession([lab.target(a, identity_files=())], paths=lab.paths,
                              credentials=Credentials(use_agent=False)) as ssh:
            assert not (await ssh.run("true")).ok  # proves the agent was what let it in
    finally:
        agent.terminate()
        agent.wait(5)


def test_host_work_uses_only_the_sessions_public_surface():
    """HostWork reaches the session through its public methods, never its private members."""
    import ast
    import inspect

    from arcus_tui.ssh.session import HostWork

    tree = ast.parse(inspect.getsource(HostWork))
    private = sorted({node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
                      and isinstance(node.value, ast.Attribute) and node.value.attr == "session"
                      and node.attr.startswith("_")})
    assert private == []
