"""Issue 8, items 2, 4 and 5: what stop/unregister/teardown touch, register's takeover
of a service code, and a connection lost in the middle of register.

The registry runs against `FakeKazoo`, an in-memory ZooKeeper with just enough of
kazoo's client for `RegistrySession` (reads, multi-op transactions, all or nothing),
whose next commit can lose the connection before or after ZooKeeper applied it.
"""

from __future__ import annotations

import copy
import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from kazoo.exceptions import (
    BadVersionError,
    ConnectionLoss,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
    RolledBackError,
)
from textual.widgets import Input

from arcus_tui.cli import main
from arcus_tui.deploy import registry_steps
from arcus_tui.deploy.plan import (
    ENSEMBLE,
    EnsembleUnshared,
    PlanOptions,
    StepId,
    setup_plan,
    teardown_plan,
)
from arcus_tui.deploy.registry_steps import RegistrySteps
from arcus_tui.deploy.report import DeployReport
from arcus_tui.events import HostState
from arcus_tui.model import load_cluster, parse_cluster
from arcus_tui.model.arcus_json import export_arcus
from arcus_tui.verbs import deploy as deploy_verbs
from arcus_tui.zk import paths
from arcus_tui.zk.registry import (
    ANY_NODE,
    RemovalNotConfirmedError,
    init_arcus,
    nodes_from_cluster_json,
    other_service_codes,
    register,
    registration_diff,
)
from arcus_tui.zk.session import CommitOutcomeUnknown, RegistryConnectionError, RegistrySession, create
from tests.unit.cluster_texts import THREE_HOSTS

SAMPLES = Path(__file__).resolve().parents[2] / "sample_clusters"
SEED = SAMPLES / "colocated.toml"
T1 = datetime.datetime(2024, 5, 1, 10, 0, 0, 111111)
T2 = datetime.datetime(2024, 5, 2, 11, 30, 0, 222222)

CLUSTER_TEXT = THREE_HOSTS


# --- an in-memory ZooKeeper -------------------------------------------------------------------


class Result:
    """kazoo's IAsyncResult, already settled."""

    def __init__(self, value=None, error=None):
        self.value, self.error = value, error

    def get(self, timeout=None):
        if self.error is not None:
            raise self.error
        return self.value


class FakeTransaction:
    def __init__(self, zk: "FakeKazoo"):
        self.zk = zk
        self.ops: list[tuple] = []

    def create(self, path, data=b""):
        self.ops.append(("create", path, data, -1))

    def set_data(self, path, data, version=-1):
        self.ops.append(("set", path, data, version))

    def delete(self, path, version=-1):
        self.ops.append(("delete", path, b"", version))

    def check(self, path, version):
        self.ops.append(("check", path, b"", version))

    def commit_async(self):
        return self.zk.commit(self.ops)


class FakeKazoo:
    """One ZooKeeper session on an in-memory tree. `fault` makes the next commit lose the
    connection: "before" (ZooKeeper never saw it) or "after" (it was applied)."""

    handler = SimpleNamespace(timeout_exception=TimeoutError)

    def __init__(self):
        self.nodes: dict[str, list] = {"/": [b"", 0, 0]}  # path -> [data, version, ephemeral owner]
        self.fault = None
        self.commits = 0
        self.hosts = [("127.0.0.1", 2181)]
        self.connected = True

    # reads
    def _stat(self, path):
        data, version, owner = self.nodes[path]
        return SimpleNamespace(version=version, ephemeralOwner=owner)

    def _children(self, path, nodes=None):
        nodes = self.nodes if nodes is None else nodes
        prefix = path.rstrip("/") + "/"
        return sorted(p[len(prefix):] for p in nodes if p.startswith(prefix) and "/" not in p[len(prefix):])

    def exists_async(self, path, watch=None):
        return Result(self._stat(path) if path in self.nodes else None)

    def get_async(self, path, watch=None):
        if path not in self.nodes:
            return Result(error=NoNodeError())
        return Result((self.nodes[path][0], self._stat(path)))

    def get_children_async(self, path, watch=None):
        if path not in self.nodes:
            return Result(error=NoNodeError())
        return Result(self._children(path))

    def sync_async(self, path):
        return Result(path)

    # writes
    def transaction(self):
        return FakeTransaction(self)

    def commit(self, ops):
        fault, self.fault = self.fault, None
        if fault == "before":
            return Result(error=ConnectionLoss())
        nodes = copy.deepcopy(self.nodes)
        for index, (kind, path, data, version) in enumerate(ops):
            error = self._apply(nodes, kind, path, data, version)
            if error is not None:
                results = [RolledBackError() for _ in ops]
                results[index] = error
                return Result(results)
        self.nodes = nodes
        self.commits += 1
        if fault == "after":
            return Result(error=ConnectionLoss())
        return Result([True for _ in ops])

    def _apply(self, nodes, kind, path, data, version):
        parent = path.rsplit("/", 1)[0] or "/"
        if kind == "create":
            if path in nodes:
                return NodeExistsError()
            if parent not in nodes:
                return NoNodeError()
            nodes[path] = [data, 0, 0]
            return None
        if path not in nodes:
            return NoNodeError()
        if version != -1 and nodes[path][1] != version:
            return BadVersionError()
        if kind == "set":
            nodes[path] = [data, nodes[path][1] + 1, nodes[path][2]]
        elif kind == "delete":
            if self._children(path, nodes):
                return NotEmptyError()
            del nodes[path]
        return None

    def tree(self) -> dict[str, bytes]:
        return {path: node[0] for path, node in self.nodes.items() if path != "/"}

    def go_online(self, service_code: str, name: str) -> None:
        """An ephemeral cache_list child, as a live memcached node makes."""
        self.nodes[f"{paths.service_cache_list(service_code)}/{name}"] = [b"100MB", 0, 42]


def arcus_json(service_code: str, *servers, memlimit: str = "100") -> dict:
    return {
        "serviceCode": service_code,
        "servers": [{"hostname": f"host-{ip}", "ip": ip, "config": {"port": port}} for ip, port in servers],
        "config": {"threads": "6", "memlimit": memlimit, "connections": "1000"},
    }


def do_register(session, document, now=T1, **kwargs):
    return register(session, document["serviceCode"], document, nodes_from_cluster_json(document),
                    now=lambda: now, **kwargs)


@pytest.fixture
def zk():
    return FakeKazoo()


@pytest.fixture
def session(zk):
    session = RegistrySession(zk)
    init_arcus(session)
    return session


@pytest.fixture
def fake_ensemble(monkeypatch, zk):
    """Every registry connection of the engine goes to `zk`, and the ensemble answers."""
    def connect(cls, hosts, *, read_only=False, **_):
        return RegistrySession(zk, read_only=read_only)

    async def answers(members):
        return True

    monkeypatch.setattr(RegistrySession, "connect", classmethod(connect))
    monkeypatch.setattr(registry_steps, "ensemble_answers", answers)
    return zk


@pytest.fixture
def run(capsys):
    def run(*argv):
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err
    return run


@pytest.fixture
def cluster_file(tmp_path):
    path = tmp_path / "cluster.toml"
    path.write_text(CLUSTER_TEXT)
    return path


@pytest.fixture
def cluster():
    result = parse_cluster(CLUSTER_TEXT, "test.toml")
    assert result.ok
    return result.cluster


def other_team(cluster) -> dict:
    """Another team's file under the same service code: one node ours, one not in our file."""
    return arcus_json(cluster.service_code, ("127.0.0.1", "11211"), ("127.0.0.9", "11211"))


@pytest.fixture
def captured(monkeypatch):
    """`execute` of the deploy verbs, recorded instead of run."""
    calls = []

    def execute(cluster, plan, options, kind):
        calls.append(plan)
        return 0

    monkeypatch.setattr(deploy_verbs, "execute", execute)
    return calls


# --- item 2: --node and --host narrow to exactly those processes ---------------------------------


def test_node_narrowing_keeps_only_that_memcached_node():
    cluster = load_cluster(SEED)
    plan = teardown_plan(cluster).subset({StepId.MEMCACHED_STOP, StepId.ZOOKEEPER_STOP}, node="10.0.0.2:11212")
    assert [step.id for step in plan.steps] == [StepId.MEMCACHED_STOP]
    (stop,) = plan.step(StepId.MEMCACHED_STOP).actions["cache002.arcus"]
    assert stop.port == 11212 and list(plan.step(StepId.MEMCACHED_STOP).targets) == ["cache002.arcus"]

    start = setup_plan(cluster).subset(set(StepId), node="10.0.0.2:11212")
    assert [step.id for step in start.steps] == [StepId.MEMCACHED_START, StepId.MEMCACHED_ONLINE]


def test_plan_effects_name_each_process_and_its_host():
    cluster = load_cluster(SEED)
    plan = teardown_plan(cluster).subset({StepId.MEMCACHED_STOP}, node="10.0.0.2:11212")
    assert plan.effects() == ["stop memcached 10.0.0.2:11212 on cache002.arcus"]
    whole = teardown_plan(cluster).effects()
    assert "stop memcached 10.0.0.1:11211 on cache001.arcus" in whole
    assert "unregister service code test-cloud from ZooKeeper 10.0.0.1:2181,10.0.0.2:2181,10.0.0.3:2181" in whole
    assert whole[-1] == "stop ZooKeeper 10.0.0.3:2181 on cache003.arcus"
    assert len([line for line in whole if line.startswith("stop memcached")]) == 6


def test_stop_node_prints_only_that_node_before_asking(run, captured):
    code, out, err = run("stop", SEED, "--node", "10.0.0.2:11212")
    assert code == 2 and captured == []  # no terminal, no --yes: refused, after showing what
    assert "stop memcached 10.0.0.2:11212 on cache002.arcus" in out
    assert "ZooKeeper" not in out and "11211" not in out

    code, out, err = run("stop", SEED, "--node", "10.0.0.2:11212", "--yes")
    assert code == 0
    (plan,) = captured
    assert [step.id for step in plan.steps] == [StepId.MEMCACHED_STOP]
    assert plan.effects() == ["stop memcached 10.0.0.2:11212 on cache002.arcus"]


def test_stop_host_means_that_hosts_processes_only(run, captured, monkeypatch):
    async def nobody(members):
        return False  # the ensemble does not answer: nothing to protect

    monkeypatch.setattr(registry_steps, "ensemble_answers", nobody)
    code, out, err = run("stop", SEED, "--host", "cache002.arcus", "--yes")
    assert code == 0
    (plan,) = captured
    stops = [line for line in plan.effects() if line.startswith("stop ")]
    assert stops == ["stop memcached 10.0.0.2:11211 on cache002.arcus",
                     "stop memcached 10.0.0.2:11212 on cache002.arcus",
                     "stop ZooKeeper 10.0.0.2:2181 on cache002.arcus"]
    assert "\n".join(f"  {line}" for line in stops) in out


def test_unregister_prints_what_it_removes_before_asking(run, captured):
    code, out, err = run("unregister", SEED, "--stop-nodes")
    assert code == 2 and captured == []
    assert "stop memcached 10.0.0.3:11212 on cache003.arcus" in out
    assert "unregister service code test-cloud" in out
    assert out.index("stop memcached") < out.index("unregister service code")


# --- item 4: register shows the difference and asks before removing mappings ---------------------


def test_diff_against_another_teams_registration(session, cluster):
    do_register(session, other_team(cluster) | {"config": {"threads": "6", "memlimit": "64", "connections": "1000"}},
                now=T1)
    ours = export_arcus(cluster)
    diff = registration_diff(session, cluster.service_code, ours, nodes_from_cluster_json(ours))
    assert diff.registered
    assert diff.added == ("127.0.0.2:11211", "127.0.0.3:11211")
    assert diff.removed == ("127.0.0.9:11211",)
    assert [change.key for change in diff.changed] == ["127.0.0.1:11211"]
    assert diff.created == diff.modified == "2024-05-01 10:00:00.111111"
    text = "\n".join(diff.describe())
    assert "created 2024-05-01 10:00:00.111111" in text
    assert "remove 127.0.0.9:11211 (host-127.0.0.9)" in text
    assert "memlimit 64 -> 100" in text


def test_diff_of_a_first_registration_adds_every_node(session, cluster):
    ours = export_arcus(cluster)
    diff = registration_diff(session, cluster.service_code, ours, nodes_from_cluster_json(ours))
    assert not diff.registered and diff.removed == () and len(diff.added) == 3
    assert not diff.removes_mappings


def test_register_refuses_to_remove_a_mapping_nobody_confirmed(session, zk, cluster):
    do_register(session, other_team(cluster))
    before = zk.tree()
    with pytest.raises(RemovalNotConfirmedError, match="127.0.0.9:11211"):
        do_register(session, export_arcus(cluster), T2)
    assert zk.tree() == before

    # confirmed for exactly that node: done
    outcome = do_register(session, export_arcus(cluster), T2, allowed_removals={"127.0.0.9:11211"})
    assert "removed 127.0.0.9:11211" in outcome.message
    assert paths.mapping("127.0.0.9:11211") not in zk.tree()


def test_register_verb_without_a_terminal_refuses_a_takeover(run, fake_ensemble, session, cluster, cluster_file):
    do_register(session, other_team(cluster))
    before = fake_ensemble.tree()
    code, out, err = run("register", cluster_file)
    assert code == 1
    assert fake_ensemble.tree() == before
    assert "remove 127.0.0.9:11211" in out and "add    127.0.0.2:11211" in out
    assert "not confirmed" in out + err and "--yes" in out + err


def test_register_verb_asks_for_the_service_code_on_a_terminal(run, fake_ensemble, session, cluster, cluster_file,
                                                               monkeypatch):
    do_register(session, other_team(cluster))
    answers = iter(["test-clou", "test-cloud"])
    questions = []
    monkeypatch.setattr("arcus_tui.verbs.console.interactive", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt="": questions.append(prompt) or next(answers))

    code, out, err = run("register", cluster_file)  # a wrong answer is a no
    assert code == 1 and paths.mapping("127.0.0.9:11211") in fake_ensemble.tree()
    assert "type the service code" in questions[0].lower()

    code, out, err = run("register", cluster_file)
    assert code == 0, out + err
    assert paths.mapping("127.0.0.9:11211") not in fake_ensemble.tree()
    assert paths.mapping("127.0.0.3:11211") in fake_ensemble.tree()


def test_register_verb_yes_takes_over_for_automation(run, fake_ensemble, session, cluster, cluster_file):
    do_register(session, other_team(cluster))
    code, out, err = run("register", cluster_file, "--yes")
    assert code == 0, out + err
    assert "remove 127.0.0.9:11211" in out  # still shown
    assert paths.mapping("127.0.0.9:11211") not in fake_ensemble.tree()


def test_register_verb_adding_nodes_needs_no_question(run, fake_ensemble, session, cluster, cluster_file):
    code, out, err = run("register", cluster_file)
    assert code == 0, out + err
    assert "test-cloud is not registered yet" in out


def test_setup_passes_the_operators_consent_to_the_register_step(run, captured, cluster_file):
    code, _, _ = run("setup", cluster_file, "--yes")
    assert code == 0 and captured[0].options.allowed_removals is ANY_NODE
    code, _, _ = run("setup", cluster_file)  # no terminal: refused before anything runs
    assert code == 2 and len(captured) == 1


async def test_register_step_asks_and_the_answer_decides(fake_ensemble, session, cluster):
    do_register(session, other_team(cluster))
    asked = []

    async def no(diff):
        asked.append(diff)
        return False

    plan = setup_plan(cluster, PlanOptions(ask_removal=no)).subset({StepId.REGISTER})
    state, message = await RegistrySteps(cluster, lambda event: None).execute(
        plan.steps[0], plan.steps[0].actions[ENSEMBLE], DeployReport(plan))
    assert state is HostState.FAILED and "not confirmed" in message
    assert asked and asked[0].removed == ("127.0.0.9:11211",)
    assert paths.mapping("127.0.0.9:11211") in fake_ensemble.tree()


def test_other_service_codes(session, cluster):
    assert other_service_codes(session, "test-cloud") == ()
    do_register(session, arcus_json("test-cloud", ("127.0.0.1", "11211")))
    do_register(session, arcus_json("team-b", ("127.0.0.5", "11211")))
    do_register(session, arcus_json("team-c", ("127.0.0.6", "11211")))
    assert other_service_codes(session, "test-cloud") == ("team-b", "team-c")


def test_stop_zookeeper_refuses_while_the_ensemble_serves_others(run, captured, fake_ensemble, session, cluster_file):
    do_register(session, arcus_json("team-b", ("127.0.0.5", "11211")))
    code, out, err = run("stop", cluster_file, "zookeeper", "--yes")
    assert code == 1 and captured == []
    assert "team-b" in err and "--force" in err

    code, out, err = run("stop", cluster_file, "all", "--yes")  # all stops ZooKeeper too
    assert code == 1 and captured == []

    code, out, err = run("stop", cluster_file, "memcached", "--yes")  # its own nodes only: fine
    assert code == 0 and len(captured) == 1

    code, out, err = run("stop", cluster_file, "zookeeper", "--yes", "--force")
    assert code == 0
    (guard,) = captured[-1].step(StepId.ENSEMBLE_UNSHARED).actions[ENSEMBLE]
    assert guard.force


async def test_teardown_guard_step_refuses_to_stop_a_shared_ensemble(fake_ensemble, session, cluster):
    plan = teardown_plan(cluster)
    ids = [step.id for step in plan.steps]
    assert ids.index(StepId.ENSEMBLE_UNSHARED) < ids.index(StepId.ZOOKEEPER_STOP)
    assert StepId.ENSEMBLE_UNSHARED in plan.step(StepId.ZOOKEEPER_STOP).depends_on
    guard = plan.step(StepId.ENSEMBLE_UNSHARED)
    steps = RegistrySteps(cluster, lambda event: None)

    state, message = await steps.execute(guard, guard.actions[ENSEMBLE], DeployReport(plan))
    assert state.succeeded, message

    do_register(session, arcus_json("team-b", ("127.0.0.5", "11211")))
    state, message = await steps.execute(guard, guard.actions[ENSEMBLE], DeployReport(plan))
    assert state is HostState.FAILED and "team-b" in message

    forced = teardown_plan(cluster, PlanOptions(force=True)).step(StepId.ENSEMBLE_UNSHARED)
    state, message = await steps.execute(forced, forced.actions[ENSEMBLE], DeployReport(plan))
    assert state.succeeded and "team-b" in message
    assert isinstance(forced.actions[ENSEMBLE][0], EnsembleUnshared)


# --- item 5: a connection lost in the middle of register ----------------------------------------


@pytest.mark.parametrize("when", ["before", "after"])
def test_lost_connection_during_commit_says_the_outcome_is_unknown(session, zk, when):
    zk.fault = when
    with pytest.raises(CommitOutcomeUnknown) as raised:
        session.commit([create("/arcus/x")])
    message = str(raised.value)
    assert "may or may not" in message and "again" in message
    assert isinstance(raised.value, RegistryConnectionError)
    assert ("/arcus/x" in zk.tree()) is (when == "after")


def test_lost_connection_on_a_read_is_a_registry_error(session, zk, monkeypatch):
    monkeypatch.setattr(zk, "get_children_async", lambda path, watch=None: Result(error=ConnectionLoss()))
    with pytest.raises(RegistryConnectionError, match="connection"):
        session.get_children("/arcus")


@pytest.mark.parametrize("when", ["before", "after"])
def test_register_again_after_a_lost_connection_gives_the_clean_tree(when):
    first, second = arcus_json("svc", ("127.0.0.1", "11211"), ("127.0.0.2", "11211")), \
        arcus_json("svc", ("127.0.0.1", "11211"), ("127.0.0.3", "11211"), memlimit="200")

    def history(fault):
        zk = FakeKazoo()
        session = RegistrySession(zk)
        init_arcus(session)
        do_register(session, first, T1)
        zk.fault = fault
        try:
            do_register(session, second, T2, allowed_removals=ANY_NODE)
        except CommitOutcomeUnknown:
            do_register(session, second, T2, allowed_removals=ANY_NODE)  # the operator runs it again
        again = do_register(session, second, T2, allowed_removals=ANY_NODE)
        assert not again.changed
        return zk.tree()

    assert history(when) == history(None)


def test_register_verb_reports_a_lost_connection_without_a_traceback(run, fake_ensemble, cluster_file):
    init_arcus(RegistrySession(fake_ensemble))
    fake_ensemble.fault = "after"  # the register transaction is applied, its answer lost
    code, out, err = run("register", cluster_file)
    assert code == 1
    assert "may or may not" in out + err and "again" in out + err
    code, out, err = run("register", cluster_file)  # converges: nothing left to do
    assert code == 0 and "already registered" in out


# --- the app: the same questions as modals -------------------------------------------------------


async def test_app_teardown_confirmation_names_each_process(cluster):
    from arcus_tui.ui.app import ArcusApp
    from arcus_tui.ui.screens.confirm_teardown import ConfirmTeardownScreen

    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("2", "t")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmTeardownScreen)
        text = app.screen.query_one("#confirm-what").render().plain
        assert "stop memcached 127.0.0.2:11211 on cache002" in text
        assert "stop ZooKeeper 127.0.0.3:2181 on cache003" in text
        assert "other service code" in text
        await pilot.press("escape")


async def test_app_asks_for_the_service_code_before_register_removes_mappings(cluster, session):
    from arcus_tui.ui.app import ArcusApp
    from arcus_tui.ui.screens.confirm_register import ConfirmRegisterScreen

    do_register(session, other_team(cluster))
    ours = export_arcus(cluster)
    diff = registration_diff(session, cluster.service_code, ours, nodes_from_cluster_json(ours))
    answers = []

    class Runner:
        def __init__(self, cluster, options, sink):
            pass

        async def run(self, plan, previous=None):
            answers.append(await plan.options.ask_removal(diff))
            answers.append(await plan.options.ask_removal(diff))
            return DeployReport(plan)

        async def close(self):
            pass

    app = ArcusApp(cluster, "test.toml")
    async with app.run_test(size=(140, 45)) as pilot:
        app.runs.runner_factory = Runner
        await pilot.press("2", "s")
        await pilot.pause()
        await pilot.press("y")  # the setup question comes first
        for answer in ("wrong", "test-cloud"):
            for _ in range(100):
                if isinstance(app.screen, ConfirmRegisterScreen):
                    break
                await pilot.pause(0.02)
            assert isinstance(app.screen, ConfirmRegisterScreen)
            text = app.screen.query_one("#confirm-what").render().plain
            assert "remove 127.0.0.9:11211" in text
            app.screen.query_one(Input).value = answer
            await pilot.press("enter")
            if answer == "wrong":
                await pilot.pause()
                assert "Not confirmed" in app.screen.query_one("#confirm-error").render().plain
                await pilot.press("escape")
            await pilot.pause()
        for _ in range(100):
            if len(answers) == 2:
                break
            await pilot.pause(0.02)
    assert answers == [False, True]
