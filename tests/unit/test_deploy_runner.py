"""The deploy runner's rules, on in-process SSH hosts that run commands for real:
a failed host blocks only its own later steps, steps are idempotent, a retry
re-runs only what failed, the password is asked once and only when needed, and
read-only refuses before anything runs."""

from __future__ import annotations

import time

import pytest

from arcus_tui.deploy import actions
from arcus_tui.deploy.plan import Plan, Step, StepId, setup_plan
from arcus_tui.deploy.runner import Runner, RunnerOptions
from arcus_tui.events import HostState
from arcus_tui.model import Cluster, Host
from arcus_tui.ssh.connect import Password
from arcus_tui.read_only import ReadOnlyError
from tests.unit.ssh_fakeserver import Lab

STEP_A, STEP_B = StepId.ZOOKEEPER_CONFIG, StepId.ZOOKEEPER_START  # any two per-host steps


@pytest.fixture
async def lab(tmp_path):
    lab = Lab(tmp_path)
    yield lab
    await lab.stop()


def cluster_of(lab: Lab, *hosts) -> Cluster:
    return Cluster(
        service_code="unit",
        user="tester",
        hosts=tuple(Host(name=h.name, address="127.0.0.1", ssh_port=h.port, user="tester",
                         identity_file=str(lab.key.path)) for h in hosts),
    )


def two_step_plan(cluster: Cluster, first: dict[str, str], second: str) -> Plan:
    step_a = Step(STEP_A, "first", {name: (actions.RunCommand(command),) for name, command in first.items()})
    step_b = Step(STEP_B, "second", {h.name: (actions.RunCommand(second),) for h in cluster.hosts}, (STEP_A,))
    return Plan(cluster, (step_a, step_b))


def options(lab: Lab, **more) -> RunnerOptions:
    return RunnerOptions(ssh_paths=lab.paths, **more)


async def test_a_failed_host_skips_only_its_own_later_steps(lab):
    a, b, c = [await lab.add(name) for name in "abc"]
    cluster = cluster_of(lab, a, b, c)
    plan = two_step_plan(cluster, {"a": "echo one > a1", "b": "exit 3", "c": "echo one > a1"}, "echo two > a2")
    events = []
    async with Runner(cluster, options(lab), events.append) as runner:
        report = await runner.run(plan)
    assert report.get(STEP_A, "b").state is HostState.FAILED
    assert report.get(STEP_B, "b").state is HostState.SKIPPED
    for host in (a, c):
        assert report.get(STEP_B, host.name).state is HostState.OK
        assert (host.home / "a2").read_text() == "two\n"
    assert not (b.home / "a2").exists()
    assert any(e.host == "b" and e.state is HostState.SKIPPED for e in events)
    assert not report.ok


async def test_a_retry_reruns_only_what_failed(lab):
    a, b = await lab.add("a"), await lab.add("b")
    cluster = cluster_of(lab, a, b)
    command = "test -f ready || exit 3; echo ran >> runs"
    plan = two_step_plan(cluster, {"a": command, "b": command}, "echo ran >> second")
    (a.home / "ready").write_text("")
    async with Runner(cluster, options(lab)) as runner:
        first = await runner.run(plan)
        assert not first.ok and [(s, t) for s, t, _ in first.failures()] == [(STEP_A, "b"), (STEP_B, "b")]
        (b.home / "ready").write_text("")
        second = await runner.run(plan, previous=first)
    assert second.ok and list(second.failures()) == []
    assert (a.home / "runs").read_text() == "ran\n"  # not run again
    assert (b.home / "runs").read_text() == "ran\n"
    assert (a.home / "second").read_text() == "ran\n"
    assert (b.home / "second").read_text() == "ran\n"


async def test_steps_are_idempotent_and_say_so(lab):
    a = await lab.add("a")
    cluster = cluster_of(lab, a)
    write = actions.WriteFile("~/conf/zoo.cfg", "tickTime=2000\n")
    start = actions.RunCommand("echo started >> starts; touch running", unless="test -f running",
                               already="it is running")
    plan = Plan(cluster, (Step(STEP_A, "write", {"a": (write,)}), Step(STEP_B, "start", {"a": (start,)}, (STEP_A,))))
    async with Runner(cluster, options(lab)) as runner:
        first = await runner.run(plan)
        events = []
        runner.sink = events.append
        second = await runner.run(plan)
    assert [first.get(s, "a").state for s in (STEP_A, STEP_B)] == [HostState.OK, HostState.OK]
    assert [second.get(s, "a").state for s in (STEP_A, STEP_B)] == [HostState.ALREADY_DONE] * 2
    assert (a.home / "conf" / "zoo.cfg").read_text() == "tickTime=2000\n"
    assert (a.home / "starts").read_text() == "started\n"
    assert any("it is running" in e.text for e in events)


async def test_a_changed_file_is_rewritten(lab):
    a = await lab.add("a")
    cluster = cluster_of(lab, a)
    (a.home / "conf").mkdir()
    (a.home / "conf" / "zoo.cfg").write_text("tickTime=1\n")
    plan = Plan(cluster, (Step(STEP_A, "write", {"a": (actions.WriteFile("~/conf/zoo.cfg", "tickTime=2000\n"),)}),))
    async with Runner(cluster, options(lab)) as runner:
        report = await runner.run(plan)
    assert report.get(STEP_A, "a").state is HostState.OK
    assert (a.home / "conf" / "zoo.cfg").read_text() == "tickTime=2000\n"
    assert not list((a.home / "conf").glob("*.tmp"))


async def test_password_is_asked_once_and_only_for_hosts_without_the_key(lab):
    with_key = await lab.add("with-key")
    without = [await lab.add(name, authorized=False) for name in ("new1", "new2")]
    cluster = cluster_of(lab, with_key, *without)
    plan = setup_plan(cluster).subset({StepId.MAKE_KEY, StepId.COPY_KEY, StepId.VERIFY_LOGIN})
    asked = []

    async def ask():
        asked.append(1)
        return Password("host-password")

    events = []
    async with Runner(cluster, options(lab, ask_password=ask), events.append) as runner:
        report = await runner.run(plan)
    assert report.ok, list(report.failures())
    assert len(asked) == 1
    assert report.get(StepId.COPY_KEY, "with-key").state is HostState.ALREADY_DONE
    assert all(report.get(StepId.COPY_KEY, h.name).state is HostState.OK for h in without)
    assert all(lab.key.public_line in (h.home / ".ssh" / "authorized_keys").read_text() for h in without)
    assert not any("host-password" in e.text for e in events)


async def test_no_password_needed_means_none_is_asked(lab):
    hosts = [await lab.add(name) for name in ("a", "b")]
    cluster = cluster_of(lab, *hosts)
    plan = setup_plan(cluster).subset({StepId.MAKE_KEY, StepId.COPY_KEY, StepId.VERIFY_LOGIN})

    async def ask():
        raise AssertionError("the password was asked although every host takes the key")

    async with Runner(cluster, options(lab, ask_password=ask)) as runner:
        report = await runner.run(plan)
    assert report.ok


async def test_read_only_refuses_before_anything_runs(lab):
    a = await lab.add("a")
    cluster = cluster_of(lab, a)
    plan = two_step_plan(cluster, {"a": "touch touched"}, "touch touched2")
    async with Runner(cluster, options(lab, read_only=True)) as runner:
        with pytest.raises(ReadOnlyError):
            await runner.run(plan)
    assert a.stats.commands == [] and not (a.home / "touched").exists()


async def test_the_nodes_of_one_host_start_together_and_each_waits_for_its_own_entry(lab, monkeypatch):
    from arcus_tui.deploy.registry_steps import RegistrySteps

    host = await lab.add("a")
    ports = (11211, 11212, 11213, 11214)
    cluster = cluster_of(lab, host)
    start = Step(StepId.MEMCACHED_START, "start", {"a": tuple(
        actions.StartNode(f"sleep 0.5; touch joined.{port}", unless="false", port=port,
                          endpoint=f"127.0.0.1:{port}", service_code="unit", session_timeout=1, join_timeout=5)
        for port in ports)})

    async def registry(self, service_code):  # a node is "in cache_list" once its start has finished
        return {f"127.0.0.1:{p}": f"127.0.0.1:{p}-a" for p in ports if (host.home / f"joined.{p}").exists()}

    monkeypatch.setattr(RegistrySteps, "live_entries", registry)
    started = time.monotonic()
    async with Runner(cluster, options(lab)) as runner:
        report = await runner.run(Plan(cluster, (start,)))
    assert report.get(StepId.MEMCACHED_START, "a").state is HostState.OK
    assert time.monotonic() - started < 1.8  # one after another would take at least 2 s
