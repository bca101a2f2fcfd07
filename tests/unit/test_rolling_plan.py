"""Rolling restart plans (`deploy/rolling.py`): their order, batches, dependencies and
actions; the ZooKeeper order from the members' modes (leader last); the check that a batch
serves again (`deploy/node_serving.py`) against a real TCP `stats` answer; and the real
runner's dependency logic stopping at the first batch that does not come back."""

from __future__ import annotations

import asyncio
import re
import textwrap

import pytest

from arcus_tui.deploy import actions, recipes, rolling
from arcus_tui.deploy.node_serving import NotServing, wait_until_serving
from arcus_tui.deploy.plan import ENSEMBLE, PlanOptions, RollingStepId, StepId, setup_plan
from arcus_tui.deploy.report import DeployReport
from arcus_tui.deploy.rolling import (
    RollingRefused,
    memcached_rolling_plan,
    order_lines,
    zookeeper_rolling_plan,
)
from arcus_tui.deploy.runner import Runner
from arcus_tui.events import HostState, ignore_events
from arcus_tui.model import parse_cluster
from arcus_tui.zk.fourletter import MemberMode, Mode

CLUSTER = """\
[cluster]
service_code = "roll"
user = "arcus"

[[host]]
name = "a"
address = "127.0.0.1"
zookeeper = true
memcached = [11211, 11212]

[[host]]
name = "b"
address = "127.0.0.2"
zookeeper = true
memcached = [11211, 11212]

[[host]]
name = "c"
address = "127.0.0.3"
zookeeper = true
memcached = [11211, 11212]
"""
NODES = ["127.0.0.1:11211", "127.0.0.1:11212", "127.0.0.2:11211", "127.0.0.2:11212",
         "127.0.0.3:11211", "127.0.0.3:11212"]


def cluster_from(text: str = CLUSTER):
    result = parse_cluster(textwrap.dedent(text), "t.toml")
    assert result.ok, [p.format("t.toml") for p in result.problems]
    return result.cluster


@pytest.fixture
def cluster():
    return cluster_from()


def restarted(step) -> list[str]:
    """ip:port of the nodes a restart step starts, in order."""
    return [a.endpoint for acts in step.actions.values() for a in acts if isinstance(a, actions.StartNode)]


# --- memcached ---------------------------------------------------------------------------------


def test_one_node_at_a_time_in_file_order_each_checked_before_the_next(cluster):
    plan = memcached_rolling_plan(cluster)
    assert len(plan.steps) == 2 * len(NODES)
    restarts, checks = plan.steps[0::2], plan.steps[1::2]
    assert [restarted(step) for step in restarts] == [[node] for node in NODES]
    assert [step.title for step in restarts] == [f"Restart {node}" for node in NODES]
    assert [step.title for step in checks] == [f"{node} serves again" for node in NODES]
    # the chain: restart <- its check <- the next restart
    assert restarts[0].depends_on == ()
    for restart, check in zip(restarts, checks):
        assert check.depends_on == (restart.id,) and not check.per_host and check.targets == (ENSEMBLE,)
        assert restart.per_host
    for check, following in zip(checks, restarts[1:]):
        assert following.depends_on == (check.id,)
    ids = [step.id for step in plan.steps]
    assert len(set(ids)) == len(ids) and all(isinstance(i, RollingStepId) for i in ids)


def test_a_restart_stops_gracefully_then_starts_as_setup_does(cluster):
    plan = memcached_rolling_plan(cluster)
    first = plan.steps[0]
    assert first.targets == ("a",)
    stop, start = first.actions["a"]
    node = next(cluster.nodes())
    assert stop.command == recipes.memcached_stop(node) and "kill -INT" in stop.command
    assert stop.unless and stop.port == 11211
    setup_start = setup_plan(cluster).step(StepId.MEMCACHED_START).actions["a"][0]
    assert start == setup_start  # waits out a previous session and for the join, as setup's start does
    serve = plan.steps[1].actions[ENSEMBLE][0]
    assert isinstance(serve, actions.NodesServe)
    assert serve.endpoints == ("127.0.0.1:11211",) and serve.service_code == "roll"
    assert serve.logs == ("~/arcus/logs/memcached.11211.log",)


def test_batches_cross_hosts_and_stop_every_node_before_starting_them(cluster):
    plan = memcached_rolling_plan(cluster, batch=4)
    assert [restarted(step) for step in plan.steps[0::2]] == [NODES[:4], NODES[4:]]
    first = plan.steps[0]
    assert first.targets == ("a", "b")
    kinds = [type(a) for a in first.actions["a"]]
    assert kinds == [actions.RunCommand, actions.RunCommand, actions.StartNode, actions.StartNode]
    assert plan.steps[1].actions[ENSEMBLE][0].endpoints == tuple(NODES[:4])


def test_by_host_keeps_a_hosts_nodes_together(cluster):
    assert [restarted(s) for s in memcached_rolling_plan(cluster, by_host=True).steps[0::2]] == [
        NODES[0:2], NODES[2:4], NODES[4:6]]
    assert [restarted(s) for s in memcached_rolling_plan(cluster, by_host=True, batch=2).steps[0::2]] == [
        NODES[0:4], NODES[4:6]]
    # without by_host a batch of 3 splits host b's nodes
    assert [restarted(s) for s in memcached_rolling_plan(cluster, batch=3).steps[0::2]] == [NODES[:3], NODES[3:]]


def test_chosen_nodes_keep_the_file_order(cluster):
    plan = memcached_rolling_plan(cluster, nodes=["127.0.0.3:11211", "127.0.0.1:11212"])
    assert [restarted(s) for s in plan.steps[0::2]] == [["127.0.0.1:11212"], ["127.0.0.3:11211"]]


def test_nodes_out_of_cache_list_go_first(cluster):
    plan = memcached_rolling_plan(cluster, down={"127.0.0.3:11211", "127.0.0.2:11212"})
    assert [restarted(s)[0] for s in plan.steps[0::2]] == [
        "127.0.0.2:11212", "127.0.0.3:11211", "127.0.0.1:11211", "127.0.0.1:11212", "127.0.0.2:11211",
        "127.0.0.3:11212"]
    assert plan.steps[2].depends_on == (plan.steps[1].id,)  # still one chain


def down_reader(found):
    async def read(cluster):
        return found
    return read


async def test_the_live_plan_reads_cache_list_and_refuses_when_it_cannot(cluster, monkeypatch):
    monkeypatch.setattr(rolling, "nodes_out_of_cache_list", down_reader(frozenset({"127.0.0.3:11212"})))
    plan, down = await rolling.live_memcached_rolling_plan(cluster)
    assert down == {"127.0.0.3:11212"} and restarted(plan.steps[0]) == ["127.0.0.3:11212"]
    monkeypatch.setattr(rolling, "nodes_out_of_cache_list", down_reader(None))
    with pytest.raises(RollingRefused, match="cannot read /arcus/cache_list/roll"):
        await rolling.live_memcached_rolling_plan(cluster)
    monkeypatch.setattr(rolling, "nodes_out_of_cache_list", down_reader(frozenset(NODES)))
    with pytest.raises(RollingRefused, match="nothing serves"):
        await rolling.live_memcached_rolling_plan(cluster)


async def test_nothing_listening_reads_as_unreadable(cluster):
    from dataclasses import replace

    from arcus_tui.model import ZooKeeperSettings

    nowhere = replace(cluster, zookeeper=ZooKeeperSettings(client_port=1))  # nothing listens on port 1
    assert await rolling.nodes_out_of_cache_list(nowhere) is None


@pytest.mark.parametrize("kwargs, said", [
    ({"nodes": ["127.0.0.9:11211"]}, "no memcached node 127.0.0.9:11211"),
    ({"batch": 0}, "at least one node"),
    ({"nodes": []}, "no memcached node to restart"),
])
def test_bad_requests_are_refused_in_words(cluster, kwargs, said):
    with pytest.raises(RollingRefused, match=said):
        memcached_rolling_plan(cluster, **kwargs)


def test_the_order_lines_number_every_step_with_what_it_does(cluster):
    lines = order_lines(memcached_rolling_plan(cluster, options=PlanOptions(online_timeout=7)))
    assert lines[0] == "1. Restart 127.0.0.1:11211"
    assert lines[1].startswith("    127.0.0.1:11211 on a: stop (SIGINT")
    assert lines[2] == "2. 127.0.0.1:11211 serves again"
    assert "answering `stats` (at most 7s)" in lines[3]


def test_plan_effects_and_describe_work_on_rolling_steps(cluster):
    plan = memcached_rolling_plan(cluster)
    assert plan.effects()[0] == "restart 127.0.0.1:11211 on a"
    described = list(plan.describe())
    assert described[0] == "1. Restart 127.0.0.1:11211 [restart-127.0.0.1-11211]"


# --- ZooKeeper ---------------------------------------------------------------------------------


def reader(modes: dict[str, Mode]):
    async def read(members):
        return [MemberMode(member, modes.get(member, Mode.UNREACHABLE)) for member in members]
    return read


def members_of(plan) -> list[str]:
    return [step.title.split()[2] for step in plan.steps[0::2]]


async def test_followers_first_and_the_leader_last(cluster):
    modes = {"127.0.0.1:2181": Mode.LEADER, "127.0.0.2:2181": Mode.FOLLOWER, "127.0.0.3:2181": Mode.FOLLOWER}
    plan = await zookeeper_rolling_plan(cluster, modes_reader=reader(modes))
    assert members_of(plan) == ["127.0.0.2:2181", "127.0.0.3:2181", "127.0.0.1:2181"]
    assert plan.steps[4].title == "Restart ZooKeeper 127.0.0.1:2181 (leader)"
    restart, quorum = plan.steps[0], plan.steps[1]
    assert restart.targets == ("b",)
    stop, start = restart.actions["b"]
    assert stop.command == recipes.zookeeper_stop(cluster.host("b"))
    assert start.command == recipes.zookeeper_start(cluster.host("b"))
    assert quorum.actions[ENSEMBLE] == (actions.WaitForQuorum(cluster.ensemble, 60.0),)
    assert not quorum.per_host and quorum.depends_on == (restart.id,)
    assert plan.steps[2].depends_on == (quorum.id,)
    lines = order_lines(plan)
    assert lines[:2] == ["1. Restart ZooKeeper 127.0.0.2:2181 (follower)",
                         "    stop ZooKeeper on b (SIGTERM), then start it"]


async def test_a_silent_member_goes_first(cluster):
    modes = {"127.0.0.2:2181": Mode.LEADER, "127.0.0.3:2181": Mode.FOLLOWER}  # 127.0.0.1 does not answer
    plan = await zookeeper_rolling_plan(cluster, modes_reader=reader(modes))
    assert members_of(plan) == ["127.0.0.1:2181", "127.0.0.3:2181", "127.0.0.2:2181"]
    assert "(unreachable)" in plan.steps[0].title


async def test_no_quorum_now_is_refused(cluster):
    with pytest.raises(RollingRefused, match="no quorum now"):
        await zookeeper_rolling_plan(cluster, modes_reader=reader({"127.0.0.1:2181": Mode.FOLLOWER}))
    with pytest.raises(RollingRefused, match="no quorum now"):
        await zookeeper_rolling_plan(cluster, modes_reader=reader({}))


async def test_an_ensemble_we_do_not_run_is_refused():
    external = cluster_from(CLUSTER.replace("zookeeper = true\n", "").replace(
        '[[host]]', '[zookeeper]\nservers = ["127.0.0.9:2181"]\n\n[[host]]', 1))

    async def never(members):
        raise AssertionError("no member to ask")

    with pytest.raises(RollingRefused, match="runs no ZooKeeper member"):
        await zookeeper_rolling_plan(external, modes_reader=never)


# --- the check after a batch -------------------------------------------------------------------


async def stats_server(reply: bytes = b"STAT pid 1\r\nEND\r\n"):
    async def answer(reader, writer):
        await reader.readline()
        writer.write(reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    return server, f"127.0.0.1:{server.sockets[0].getsockname()[1]}"


def live(entries: dict[str, str]):
    async def read(service_code):
        return entries
    return read


def check_of(endpoints, timeout=0.6, logs=()):
    plan_step = memcached_rolling_plan(cluster_from(), nodes=["127.0.0.1:11211"]).steps[1]
    action = actions.NodesServe("roll", tuple(endpoints), timeout, tuple(logs))
    return plan_step, action


async def test_a_node_in_cache_list_that_answers_stats_serves():
    server, endpoint = await stats_server()
    async with server:
        step, action = check_of([endpoint])
        report = DeployReport(memcached_rolling_plan(cluster_from()))
        state, message = await wait_until_serving(live({endpoint: f"{endpoint}-h"}), ignore_events, step, action,
                                                  report)
    assert state is HostState.OK and endpoint in message


async def test_a_node_missing_from_cache_list_is_named_with_its_log():
    server, endpoint = await stats_server()
    async with server:
        step, action = check_of([endpoint], logs=["~/arcus/logs/memcached.1.log"])
        report = DeployReport(memcached_rolling_plan(cluster_from()))
        with pytest.raises(NotServing) as raised:
            await wait_until_serving(live({}), ignore_events, step, action, report)
    said = str(raised.value)
    assert endpoint in said and "not in /arcus/cache_list/roll" in said and "~/arcus/logs/memcached.1.log" in said


async def test_a_registered_node_that_does_not_answer_stats_is_not_serving():
    server, endpoint = await stats_server()
    server.close()
    await server.wait_closed()  # the port is closed now: registered, but nobody answers
    step, action = check_of([endpoint])
    report = DeployReport(memcached_rolling_plan(cluster_from()))
    with pytest.raises(NotServing, match="in cache_list but no answer to `stats`"):
        await wait_until_serving(live({endpoint: f"{endpoint}-h"}), ignore_events, step, action, report)


async def test_a_node_whose_restart_failed_is_reported_at_once():
    plan = memcached_rolling_plan(cluster_from())
    restart, check = plan.steps[0], plan.steps[1]
    report = DeployReport(plan)
    report.set(restart.id, "a", HostState.FAILED, "memcached :11211 did not start (exit status 1)")
    action = check.actions[ENSEMBLE][0]
    with pytest.raises(NotServing, match="127.0.0.1:11211 was not restarted .memcached :11211 did not start"):
        await asyncio.wait_for(wait_until_serving(live({}), ignore_events, check, action, report), 1.0)


# --- the runner stops at the first batch that does not come back --------------------------------


async def test_the_runner_stops_at_the_first_node_that_does_not_come_back(cluster):
    plan = memcached_rolling_plan(cluster)
    failing = plan.steps[3].id  # the second node's check
    executed = []
    runner = Runner(cluster)

    async def execute(step, targets, report):
        executed.append(step.id)
        for target in targets:
            failed = step.id == failing
            report.set(step.id, target, HostState.FAILED if failed else HostState.OK,
                       "127.0.0.1:11212 does not serve" if failed else "")

    runner._execute = execute
    report = await runner.run(plan)
    await runner.close()
    assert executed == [step.id for step in plan.steps[:4]]
    later = [report.get(step.id, target) for step in plan.steps[4:] for target in step.targets]
    assert all(outcome.state is HostState.SKIPPED for outcome in later)
    assert report.get(plan.steps[4].id, "b").message == f"{failing.value} did not succeed"
    assert not report.ok


# --- the verb ----------------------------------------------------------------------------------


@pytest.fixture
def cluster_file(tmp_path):
    path = tmp_path / "roll.toml"
    path.write_text(CLUSTER, encoding="utf-8")
    return str(path)


def test_restart_without_rolling_is_refused_and_says_how(cluster_file, capsys):
    from arcus_tui.cli import main

    assert main(["restart", cluster_file, "memcached"]) == 2
    assert "pass --rolling" in capsys.readouterr().err
    assert main(["restart", cluster_file, "zookeeper", "--rolling", "--node", "127.0.0.1:11211"]) == 2
    assert "ZooKeeper members restart one at a time" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["restart", cluster_file, "memcached", "--rolling", "--batch", "0"])
    assert "is not a number of nodes" in capsys.readouterr().err


def test_restart_prints_the_order_and_asks_first(cluster_file, capsys, monkeypatch):
    from arcus_tui.cli import main

    monkeypatch.setattr(rolling, "nodes_out_of_cache_list", down_reader(frozenset({"127.0.0.2:11211"})))
    monkeypatch.setattr("arcus_tui.verbs.restart.execute", lambda *a: pytest.fail("ran without a yes"))
    code = main(["restart", cluster_file, "memcached", "--rolling", "--by-host"])
    out, err = capsys.readouterr()
    assert code == 2 and "not confirmed (pass --yes)" in err  # no terminal here: the answer is no
    assert "out of cache_list now, so restarted first: 127.0.0.2:11211" in out
    steps = [line.strip() for line in out.splitlines() if re.match(r"\s*\d+\. ", line)]
    assert steps[0] == "1. Restart 127.0.0.2:11211, 127.0.0.2:11212" and steps[2].startswith("3. Restart 127.0.0.1")


def test_restart_refuses_in_words_when_cache_list_cannot_be_read(cluster_file, capsys, monkeypatch):
    from arcus_tui.cli import main

    monkeypatch.setattr(rolling, "nodes_out_of_cache_list", down_reader(None))
    assert main(["restart", cluster_file, "memcached", "--rolling", "--yes"]) == 2
    assert "not restarting: cannot read /arcus/cache_list/roll" in capsys.readouterr().err
