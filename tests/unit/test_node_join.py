"""Starting a node is proven by its registry entry: an entry of a previous session is
waited out first (bounded), the start succeeds only once the node's own entry is there,
and memcached-online counts every node of the plan. The real daemon's side of this is
in tests/e2e; here the host and the registry are scripted."""

from __future__ import annotations

import asyncio
import time

import pytest

from arcus_tui.deploy import actions
from arcus_tui.deploy.node_join import CacheListView, start_node
from arcus_tui.deploy.plan import StepId, setup_plan
from arcus_tui.deploy.registry_steps import RegistrySteps
from arcus_tui.deploy.report import DeployReport
from arcus_tui.events import HostState
from arcus_tui.model import Cluster, Host, MemcachedNode

SERVICE = "unit-svc"
ENDPOINT = "127.0.1.1:11211"
ENTRY = f"{ENDPOINT}-cache001"


class ScriptedHost:
    """A HostWork stand-in: `running` answers the alive test; exec runs `on_start`."""

    def __init__(self, running: bool = False, on_start=None, exit_status: int = 0):
        self.running = running
        self.on_start = on_start or (lambda: None)
        self.exit_status = exit_status
        self.commands: list[str] = []
        self.lines: list[str] = []

    async def capture(self, command, **_):
        return (0 if self.running else 1), "", ""

    async def exec(self, command, **_):
        self.commands.append(command)
        self.on_start()
        return self.exit_status, None

    def line(self, text, stream=None):
        self.lines.append(text)


class Registry:
    """cache_list/<svc> as a dict the test changes, read like the runner reads it."""

    def __init__(self, entries=None):
        self.entries = dict(entries or {})
        self.reads = 0

    async def read(self, service_code):
        assert service_code == SERVICE
        self.reads += 1
        return dict(self.entries)


def start_action(**overrides) -> actions.StartNode:
    values = dict(command="start-memcached", unless="alive-test", port=11211, already="memcached :11211 is running",
                  endpoint=ENDPOINT, service_code=SERVICE, session_timeout=0.3, join_timeout=0.5,
                  log="~/arcus/logs/memcached.11211.log")
    return actions.StartNode(**(values | overrides))


@pytest.fixture(autouse=True)
def short_grace(monkeypatch):
    monkeypatch.setattr(actions, "EXPIRY_GRACE_SECONDS", 0.2)


async def test_a_running_node_is_left_alone():
    host, registry = ScriptedHost(running=True), Registry({ENDPOINT: ENTRY})
    changed, error = await start_node(host, start_action(), CacheListView(registry.read, interval=0.01))
    assert (changed, error) == (False, None)
    assert host.commands == [] and "already done: memcached :11211 is running" in host.lines


async def test_success_waits_for_the_nodes_own_entry():
    registry = Registry()
    host = ScriptedHost(on_start=lambda: asyncio.get_running_loop().call_later(
        0.1, registry.entries.__setitem__, ENDPOINT, ENTRY))
    changed, error = await start_node(host, start_action(), CacheListView(registry.read, interval=0.01))
    assert (changed, error) == (True, None)
    assert host.commands == ["start-memcached"]
    assert any(line.startswith(f"joined as {ENTRY}") for line in host.lines)


async def test_a_start_that_never_joins_fails_naming_the_log():
    host, registry = ScriptedHost(), Registry()
    started = time.monotonic()
    changed, error = await start_node(host, start_action(join_timeout=0.3), CacheListView(registry.read, interval=0.01))
    assert changed and error and "did not join /arcus/cache_list/unit-svc within 0.3s" in error
    assert "is not running" in error and "memcached.11211.log" in error
    assert 0.3 <= time.monotonic() - started < 2


async def test_a_failing_start_command_is_reported():
    host, registry = ScriptedHost(exit_status=127), Registry()
    _, error = await start_node(host, start_action(), CacheListView(registry.read, interval=0.01))
    assert "did not start (exit status 127)" in error


async def test_an_entry_of_a_previous_session_is_waited_out_before_the_start():
    registry = Registry({ENDPOINT: ENTRY})
    order = []
    host = ScriptedHost(on_start=lambda: (order.append(("start", dict(registry.entries))),
                                          registry.entries.__setitem__(ENDPOINT, ENTRY)))
    asyncio.get_running_loop().call_later(0.2, registry.entries.clear)  # the old session expires
    changed, error = await start_node(host, start_action(session_timeout=1.0), CacheListView(registry.read, interval=0.01))
    assert (changed, error) == (True, None)
    assert order == [("start", {})]  # started only once the old entry was gone
    assert host.lines[0] == f"previous session still registered ({ENTRY}), waiting up to 1.2s for it to expire"
    assert any(line.startswith("the previous session expired after") for line in host.lines)


async def test_an_entry_that_never_expires_is_someone_elses_node():
    host, registry = ScriptedHost(), Registry({ENDPOINT: ENTRY})
    started = time.monotonic()
    changed, error = await start_node(host, start_action(), CacheListView(registry.read, interval=0.01))
    assert (changed, host.commands) == (False, [])  # nothing was started
    assert "still held after 0.5s" in error and "another memcached" in error
    assert time.monotonic() - started < 2


async def test_one_registry_read_serves_every_waiting_node():
    registry = Registry()
    view = CacheListView(registry.read, interval=0.05)
    waiters = [view.wait(SERVICE, f"127.0.1.{i}:11211", present=True, timeout=0.5) for i in range(200)]
    asyncio.get_running_loop().call_later(
        0.2, registry.entries.update, {f"127.0.1.{i}:11211": f"127.0.1.{i}:11211-h{i}" for i in range(200)})
    entries = await asyncio.gather(*waiters)
    assert len(set(entries)) == 200
    assert registry.reads <= 15  # about one read per interval, not one per waiter and poll


# --- memcached-online counts every node of the plan ---------------------------------------------

def six_node_cluster() -> Cluster:
    return Cluster(service_code=SERVICE, hosts=tuple(
        Host(name=f"cache00{i}", address=f"127.0.1.{i}", zookeeper=True,
             memcached=(MemcachedNode(11211), MemcachedNode(11212))) for i in (1, 2, 3)))


async def run_online(online: set[str], start_failed_on: set[str], timeout: float = 0.3):
    cluster = six_node_cluster()
    plan = setup_plan(cluster)
    report = DeployReport(plan)
    for host in cluster.hosts:
        state = HostState.FAILED if host.name in start_failed_on else HostState.OK
        report.set(StepId.MEMCACHED_START, host.name, state)
    steps = RegistrySteps(cluster, lambda event: None)
    steps._online_now = lambda service_code: frozenset(online)
    online_step = plan.step(StepId.MEMCACHED_ONLINE)
    action = online_step.actions["zookeeper"][0]
    action = actions.WaitForNodesOnline(action.service_code, action.endpoints, timeout)
    return await steps.execute(online_step, (action,), report)


async def test_online_is_ok_only_when_every_node_of_the_plan_is_online():
    every = {f"127.0.1.{i}:{port}" for i in (1, 2, 3) for port in (11211, 11212)}
    assert (await run_online(every, set()))[0] is HostState.OK


async def test_four_of_six_is_not_ok_when_a_host_did_not_start_its_nodes():
    online = {f"127.0.1.{i}:{port}" for i in (1, 2) for port in (11211, 11212)}
    started = time.monotonic()
    state, message = await run_online(online, {"cache003"}, timeout=30)
    assert state is HostState.FAILED
    assert message == "4/6 node(s) online; not started: 127.0.1.3:11211, 127.0.1.3:11212"
    assert time.monotonic() - started < 5  # nothing left to wait for: it does not sit out the timeout


async def test_a_started_node_that_stays_offline_fails_after_the_timeout():
    online = {f"127.0.1.{i}:{port}" for i in (1, 2, 3) for port in (11211, 11212)} - {"127.0.1.2:11212"}
    state, message = await run_online(online, set())
    assert state is HostState.FAILED
    assert message == "5/6 node(s) online; not online after 0.3s: 127.0.1.2:11212"
