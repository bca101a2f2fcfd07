"""A hung host on the fake server: the other hosts finish, the hung one times out
alone with a message naming it, and cancelling the run returns control within a second with every
channel closed, even when the host has stopped answering SSH altogether."""

from __future__ import annotations

import asyncio
import io
import os
import time

import pytest

from arcus_tui.events import HostState
from arcus_tui.ssh import Limits, SshSession, upload
from arcus_tui.ssh.session import DEFAULT_COMMAND_TIMEOUT
from arcus_tui.verbs.console import EventPrinter
from tests.unit.ssh_fakeserver import FakeHost, Lab
from tests.waits import wait_until_async

HANG = "echo started; sleep 3600"
CANCEL_BUDGET = 1.0  # seconds from cancel() until the caller has control back, session closed


@pytest.fixture
async def lab(tmp_path):
    lab = Lab(tmp_path)
    yield lab
    await lab.stop()


def freeze(host: FakeHost) -> None:
    """The host's sshd stops reading: no reply, no channel close, no disconnect, TCP still up."""
    for conn in host._conns:
        conn._transport.pause_reading()


async def until(predicate, what: str, timeout: float = 5.0) -> None:
    """Looks every 10 ms: the cancel budget is measured in fractions of a second."""
    await wait_until_async(predicate, timeout, what, poll=0.01)


def finished(events, host: str):
    return [e for e in events if e.host == host and e.state is not None and e.state.finished]


async def test_a_hung_host_times_out_alone_and_the_message_names_it(lab):
    a, b, hung = await lab.add("a"), await lab.add("b"), await lab.add("hung")
    out = io.StringIO()
    limits = Limits(step_timeouts={"zookeeper-start": 1.0})  # this step's own budget
    async with SshSession(lab.targets(a, b, hung), paths=lab.paths, limits=limits,
                          sink=EventPrinter(out)) as ssh:
        result = await ssh.run({"a": "echo fine", "b": "echo fine", "hung": HANG}, step="zookeeper-start")
        other = await ssh.run("echo later", hosts=["a"], step="other")  # not bound by that budget
    assert result["a"].ok and result["b"].ok
    assert max(result["a"].duration, result["b"].duration) < 0.9  # they did not wait for it
    assert result["hung"].state == HostState.FAILED and 0.9 < result["hung"].duration < 3
    error = result["hung"].error
    assert error.startswith("timed out after 1 s") and "zookeeper-start" in error and "sleep 3600" in error
    assert other.ok
    printed = [line for line in out.getvalue().splitlines() if line.startswith("[hung]")]
    assert printed[-1].split()[:2] == ["[hung]", "failed"] and "timed out after 1 s" in printed[-1]
    await until(lambda: hung.stats.open_channels == 0, "the hung command's channel closed on the host")


def test_no_step_waits_ten_minutes_for_a_hung_host_by_default():
    # The longest deploy command is a stop that waits at most 30 s; uploads have their own stall limit.
    assert Limits().command_timeout == DEFAULT_COMMAND_TIMEOUT <= 120


async def test_cancel_returns_within_a_second_and_closes_every_channel(lab):
    a, hung, frozen = await lab.add("a"), await lab.add("hung"), await lab.add("frozen")
    events = []
    ssh = SshSession(lab.targets(a, hung, frozen), paths=lab.paths, sink=events.append)
    run = asyncio.ensure_future(ssh.run({"a": "echo fine", "hung": HANG, "frozen": HANG}, step="s"))
    await until(lambda: finished(events, "a") and hung.stats.open_channels == 1
                and frozen.stats.open_channels == 1, "a done, the other two running")
    freeze(frozen)
    started = time.monotonic()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    await ssh.close()
    assert time.monotonic() - started < CANCEL_BUDGET
    assert [e.state for e in finished(events, "hung")] == [HostState.CANCELLED]
    assert [e.state for e in finished(events, "frozen")] == [HostState.CANCELLED]
    await until(lambda: hung.stats.open_channels == 0, "the hung command's channel closed on the host")
    assert not any(ssh.connected(name) for name in ssh.targets)


def big_package(tmp_path):
    package = tmp_path / "package"
    package.mkdir()
    (package / "big.bin").write_bytes(os.urandom(16 << 20))
    return package


async def freeze_mid_transfer(host: FakeHost) -> None:
    """Freeze `host` once its temp file exists: the SFTP transfer has begun and gets no more answers."""
    await until(lambda: any(host.home.rglob("*.arcus-tui-part")), "the transfer to begin", timeout=20)
    freeze(host)


async def test_cancel_during_an_upload_to_a_host_that_stopped_answering(lab, tmp_path):
    package = big_package(tmp_path)
    a, frozen = await lab.add("a"), await lab.add("frozen")
    events = []
    ssh = SshSession(lab.targets(a, frozen, install_dir="~/arcus"), paths=lab.paths, sink=events.append)
    task = asyncio.ensure_future(upload(ssh, package))
    await freeze_mid_transfer(frozen)
    await until(lambda: finished(events, "a"), "a's upload done", timeout=20)
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await ssh.close()
    assert time.monotonic() - started < CANCEL_BUDGET
    assert [e.state for e in finished(events, "frozen")] == [HostState.CANCELLED]


async def test_an_upload_that_stops_moving_fails_after_the_stall_limit(lab, tmp_path):
    package = big_package(tmp_path)
    a, frozen = await lab.add("a"), await lab.add("frozen")
    async with SshSession(lab.targets(a, frozen, install_dir="~/arcus"), paths=lab.paths) as ssh:
        started = time.monotonic()
        task = asyncio.ensure_future(upload(ssh, package, stall_timeout=1.0))
        await freeze_mid_transfer(frozen)
        result = await task
        took = time.monotonic() - started
    assert result["a"].ok
    assert result["frozen"].state == HostState.FAILED
    assert result["frozen"].error.startswith("upload stalled: no progress for 1 s")
    assert took < 4


# -- the same through the deploy runner: what the app's cancel key and Ctrl-C go through -------------


def runner_plan(lab: Lab, hosts, first: dict[str, str]):
    from arcus_tui.deploy import actions
    from arcus_tui.deploy.plan import Plan, Step, StepId
    from arcus_tui.model import Cluster, Host

    cluster = Cluster(service_code="unit", user="tester", hosts=tuple(
        Host(name=h.name, address="127.0.0.1", ssh_port=h.port, user="tester", identity_file=str(lab.key.path))
        for h in hosts))
    first_step = Step(StepId.ZOOKEEPER_CONFIG, "first",
                      {name: (actions.RunCommand(command),) for name, command in first.items()})
    second_step = Step(StepId.ZOOKEEPER_START, "second",
                       {h.name: (actions.RunCommand("echo two > two"),) for h in hosts}, (StepId.ZOOKEEPER_CONFIG,))
    return cluster, Plan(cluster, (first_step, second_step))


async def test_a_hung_host_holds_the_later_steps_only_for_its_step_budget(lab):
    from arcus_tui.deploy.plan import StepId
    from arcus_tui.deploy.runner import Runner, RunnerOptions

    a, hung = await lab.add("a"), await lab.add("hung")
    cluster, plan = runner_plan(lab, (a, hung), {"a": "echo one", "hung": HANG})
    options = RunnerOptions(ssh_paths=lab.paths, limits=Limits(step_timeouts={StepId.ZOOKEEPER_CONFIG.value: 1.0}))
    started = time.monotonic()
    async with Runner(cluster, options) as runner:
        report = await runner.run(plan)
    assert time.monotonic() - started < 4
    first = report.get(StepId.ZOOKEEPER_CONFIG, "hung")
    assert first.state is HostState.FAILED and "timed out after 1 s" in first.message
    assert report.get(StepId.ZOOKEEPER_START, "hung").state is HostState.SKIPPED
    assert report.get(StepId.ZOOKEEPER_START, "a").state is HostState.OK and (a.home / "two").exists()


async def test_cancelling_a_run_returns_within_a_second(lab):
    from arcus_tui.deploy.runner import Runner, RunnerOptions

    a, hung = await lab.add("a"), await lab.add("hung")
    cluster, plan = runner_plan(lab, (a, hung), {"a": "echo one", "hung": HANG})
    events = []
    runner = Runner(cluster, RunnerOptions(ssh_paths=lab.paths), events.append)
    run = asyncio.ensure_future(runner.run(plan))  # what the app's worker or asyncio.run holds
    await until(lambda: finished(events, "a") and hung.stats.open_channels == 1, "a done, hung running")
    freeze(hung)
    started = time.monotonic()
    run.cancel()  # worker.cancel() in the app; Ctrl-C cancels asyncio.run's main task headless
    with pytest.raises(asyncio.CancelledError):
        await run
    await runner.close()
    assert time.monotonic() - started < CANCEL_BUDGET
    assert [e.state for e in finished(events, "hung")] == [HostState.CANCELLED]
