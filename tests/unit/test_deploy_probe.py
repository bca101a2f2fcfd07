"""The setup probe: what of the plan is already true, read without writing anything.

Hosts are a fake SSH session answering the exact read commands; ZooKeeper is the in-memory
kazoo of test_register_safety behind a read-only `RegistrySession`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from arcus_tui.deploy import actions, recipes
from arcus_tui.deploy.layout import shell_path
from arcus_tui.deploy.plan import ENSEMBLE, PlanOptions, StepId, setup_plan, teardown_plan
from arcus_tui.deploy.probe import Finding, ProbeOptions, _check_upload, probe_setup
from arcus_tui.deploy.read_guard import ReadOnlyCommandError, ReadOnlyHost, read_only_refusal
from arcus_tui.events import GATEWAY, HostState
from arcus_tui.model import parse_cluster
from arcus_tui.model.arcus_json import export_arcus
from arcus_tui.ssh.errors import AuthFailed
from arcus_tui.ssh.keys import ensure_gateway_key
from arcus_tui.ssh.paths import SshPaths
from arcus_tui.ssh.upload import _checksum_command, remote_dir
from arcus_tui.zk.fourletter import MemberMode, Mode
from arcus_tui.zk.registry import ANY_NODE, init_arcus, nodes_from_cluster_json, register
from arcus_tui.zk.session import RegistrySession
from tests.unit.cluster_texts import THREE_HOSTS
from tests.unit.test_register_safety import FakeKazoo

HOME = "/home/arcus"
HOME_READ = 'printf "%s\\n" "$HOME"'


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def cluster():
    result = parse_cluster(THREE_HOSTS, "test.toml")
    assert result.ok
    return result.cluster


class FakeWork:
    def __init__(self, ssh: "FakeSsh", name: str):
        self.ssh, self.name = ssh, name

    async def capture(self, command, *, input=None, timeout=None):
        self.ssh.sent.append((self.name, command))
        if self.name in self.ssh.refuse:
            raise AuthFailed(self.name, f"key login refused for arcus@{self.name}")
        if (self.name, command) not in self.ssh.answers:
            self.ssh.unexpected.append((self.name, command))
            return 127, "", "unexpected"
        return self.ssh.answers[(self.name, command)]


class FakeSsh:
    """Hosts answering read commands from `answers` ((host, command) -> (status, out, err))."""

    def __init__(self, answers, refuse=()):
        self.answers, self.refuse = dict(answers), set(refuse)
        self.sent: list[tuple[str, str]] = []
        self.unexpected: list[tuple[str, str]] = []
        self.credentials = None

    async def each_host(self, job, *, hosts, step, sink):
        return {name: await job(FakeWork(self, name)) for name in hosts}

    async def close(self):
        pass


def running_answers(cluster, *, stopped_nodes=(), foreign_zoo_cfg=()):
    """What the hosts of a cloud set up by this plan answer (with the given differences)."""
    full = setup_plan(cluster, PlanOptions(homes={host.name: HOME for host in cluster.hosts}))
    answers = {(host.name, HOME_READ): (0, HOME + "\n", "") for host in cluster.hosts}
    for step in full.steps:
        for target, step_actions in step.actions.items():
            for action in step_actions:
                if isinstance(action, actions.WriteFile):
                    content = "tickTime=1\n" if target in foreign_zoo_cfg and action.path.endswith("zoo.cfg") \
                        else action.content
                    answers[(target, f"sha256sum < {shell_path(action.path)} 2>/dev/null")] = (0, sha(content) + "  -\n", "")
                elif isinstance(action, actions.RunCommand) and action.unless:
                    down = isinstance(action, actions.StartNode) and target in stopped_nodes
                    answers[(target, action.unless)] = (1 if down else 0, "", "")
    return answers


def quorum(cluster, mode=Mode.LEADER):
    async def read(members):
        return tuple(MemberMode(m, mode if i == 0 else Mode.FOLLOWER) for i, m in enumerate(members))
    return read


def quiet(cluster):
    async def read(members):
        return tuple(MemberMode(m, Mode.UNREACHABLE, error="refused") for m in members)
    return read


def registered_zk(cluster, *, online=True) -> FakeKazoo:
    zk = FakeKazoo()
    writer = RegistrySession(zk)
    init_arcus(writer)
    document = export_arcus(cluster)
    register(writer, cluster.service_code, document, nodes_from_cluster_json(document), allowed_removals=ANY_NODE)
    if online:
        for node in cluster.nodes():
            zk.go_online(cluster.service_code, f"{node.endpoint}-{node.host.name}")
    zk.commits = 0
    return zk


def options(tmp_path: Path, with_key: bool = True) -> ProbeOptions:
    paths = SshPaths.under(tmp_path / "ssh")
    if with_key:
        ensure_gateway_key(paths.key_dir)
    return ProbeOptions(ssh_paths=paths)


async def probe(plan, opts, ssh, zk, modes):
    def make_session(cluster, credentials, _options):
        ssh.credentials = credentials
        return ssh

    return await probe_setup(plan, opts, open_registry=lambda: RegistrySession(zk, read_only=True),
                             read_modes=modes(plan.cluster), make_session=make_session)


def findings(result) -> dict[tuple[str, str], str]:
    return {(step.value, target): verdict.finding.value for (step, target), verdict in result.verdicts.items()}


async def test_a_running_cloud_is_done_everywhere_and_leaves_nothing_to_do(cluster, tmp_path):
    plan = setup_plan(cluster)
    ssh, zk = FakeSsh(running_answers(cluster)), registered_zk(cluster)
    result = await probe(plan, options(tmp_path), ssh, zk, quorum)

    every = {(step.id.value, target) for step in plan.steps for target in step.targets}
    assert findings(result) == {key: "done" for key in every}
    assert ssh.unexpected == [] and zk.commits == 0
    assert ssh.credentials.identity_files == (tmp_path / "ssh" / "id_ed25519",)  # key-only, as verify-login
    assert ssh.credentials.password is None and not ssh.credentials.use_agent
    assert plan.remaining(result).steps == ()
    report = result.as_report(plan)
    assert report.ok and report.get(StepId.MEMCACHED_START, "cache002").state is HostState.ALREADY_DONE


async def test_an_empty_gateway_and_a_silent_ensemble_leave_everything_to_do(cluster, tmp_path):
    plan = setup_plan(cluster)
    ssh = FakeSsh({})
    result = await probe(plan, options(tmp_path, with_key=False), ssh, FakeKazoo(), quiet)

    found = findings(result)
    assert found[(StepId.MAKE_KEY.value, GATEWAY)] == "to do"
    assert {found[(StepId.COPY_KEY.value, h)] for h in ("cache001", "cache002", "cache003")} == {"to do"}
    assert found[(StepId.ZOOKEEPER_START.value, "cache001")] == "unknown"  # no way in to look yet
    for step in (StepId.ZOOKEEPER_QUORUM, StepId.ZOOKEEPER_INIT, StepId.REGISTER, StepId.MEMCACHED_ONLINE):
        assert found[(step.value, ENSEMBLE)] == "to do"
    assert ssh.sent == []  # without a key there is no login to try
    assert found[(StepId.ZOOKEEPER_MEMBERSHIP.value, ENSEMBLE)] == "done"  # no running member to disagree
    assert [step.id for step in plan.remaining(result).steps] == [
        step.id for step in plan.steps if step.id is not StepId.ZOOKEEPER_MEMBERSHIP]


async def test_only_what_differs_is_left_to_do(cluster, tmp_path):
    plan = setup_plan(cluster)
    ssh = FakeSsh(running_answers(cluster, stopped_nodes={"cache003"}, foreign_zoo_cfg={"cache002"}))
    zk = registered_zk(cluster, online=False)
    result = await probe(plan, options(tmp_path), ssh, zk, quorum)

    not_done = {key: value for key, value in findings(result).items() if value != "done"}
    assert not_done == {
        (StepId.ZOOKEEPER_CONFIG.value, "cache002"): "to do",
        (StepId.MEMCACHED_START.value, "cache003"): "to do",
        (StepId.MEMCACHED_ONLINE.value, ENSEMBLE): "to do",
    }
    assert "zoo.cfg differs" in result.get(StepId.ZOOKEEPER_CONFIG, "cache002").reason
    assert "not online" in result.get(StepId.MEMCACHED_ONLINE, ENSEMBLE).reason
    left = plan.remaining(result)
    assert [(step.id, step.targets) for step in left.steps] == [
        (StepId.ZOOKEEPER_CONFIG, ("cache002",)),
        (StepId.MEMCACHED_START, ("cache003",)),
        (StepId.MEMCACHED_ONLINE, (ENSEMBLE,)),
    ]
    assert left.step(StepId.MEMCACHED_START).actions == {"cache003": plan.step(StepId.MEMCACHED_START).actions["cache003"]}


async def test_an_initialised_but_unregistered_ensemble_needs_register(cluster, tmp_path):
    zk = FakeKazoo()
    init_arcus(RegistrySession(zk))
    result = await probe(setup_plan(cluster), options(tmp_path), FakeSsh(running_answers(cluster)), zk, quorum)
    assert result.get(StepId.ZOOKEEPER_INIT, ENSEMBLE).finding is Finding.DONE
    assert result.get(StepId.REGISTER, ENSEMBLE).finding is Finding.TO_DO
    assert "not registered yet" in result.get(StepId.REGISTER, ENSEMBLE).reason
    assert result.get(StepId.MEMCACHED_ONLINE, ENSEMBLE).finding is Finding.TO_DO


async def test_zoo_cfg_is_compared_with_the_real_home_of_the_login(cluster, tmp_path):
    answers = running_answers(cluster)
    answers[("cache001", HOME_READ)] = (0, "/srv/arcus-home\n", "")  # not what the recipe guesses
    result = await probe(setup_plan(cluster), options(tmp_path), FakeSsh(answers), registered_zk(cluster), quorum)
    assert result.get(StepId.ZOOKEEPER_CONFIG, "cache001").finding is Finding.TO_DO
    assert result.get(StepId.ZOOKEEPER_CONFIG, "cache002").finding is Finding.DONE


async def test_a_host_that_refuses_the_key_needs_copy_key_and_is_unknown_beyond(cluster, tmp_path):
    ssh = FakeSsh(running_answers(cluster), refuse={"cache002"})
    result = await probe(setup_plan(cluster), options(tmp_path), ssh, registered_zk(cluster), quorum)
    assert result.get(StepId.COPY_KEY, "cache002").finding is Finding.TO_DO
    assert result.get(StepId.VERIFY_LOGIN, "cache002").finding is Finding.TO_DO
    assert result.get(StepId.MEMCACHED_START, "cache002").finding is Finding.UNKNOWN
    assert result.get(StepId.MEMCACHED_START, "cache001").finding is Finding.DONE


# --- never a write ------------------------------------------------------------------------------


async def test_the_registry_is_read_through_a_read_only_session_only(cluster, tmp_path, monkeypatch):
    zk = registered_zk(cluster)
    opened = []

    def connect(cls, hosts, *, read_only=False, **_):
        opened.append(read_only)
        return RegistrySession(zk, read_only=read_only)

    monkeypatch.setattr(RegistrySession, "connect", classmethod(connect))
    plan = setup_plan(cluster)
    result = await probe_setup(plan, options(tmp_path), read_modes=quorum(cluster),
                               make_session=lambda *_: FakeSsh(running_answers(cluster)))
    assert opened == [True] and zk.commits == 0
    assert result.get(StepId.REGISTER, ENSEMBLE).finding is Finding.DONE

    # handed a session that could write, the probe reads nothing through it
    writable = await probe_setup(plan, options(tmp_path), open_registry=lambda: RegistrySession(zk),
                                 read_modes=quorum(cluster), make_session=lambda *_: FakeSsh({}))
    verdict = writable.get(StepId.REGISTER, ENSEMBLE)
    assert verdict.finding is Finding.UNKNOWN and "read-only sessions only" in verdict.reason


def test_every_command_of_every_plan_is_refused_and_every_check_passes(cluster):
    plans = [setup_plan(cluster), teardown_plan(cluster)]
    commands, checks = [], []
    for plan in plans:
        for step in plan.steps:
            for step_actions in step.actions.values():
                for action in step_actions:
                    if isinstance(action, actions.RunCommand):
                        commands.append(action.command)
                        checks.append(action.unless)
    assert len(commands) >= 12
    assert [c for c in commands if read_only_refusal(c) is None] == []
    assert [c for c in checks if read_only_refusal(c) is not None] == []


@pytest.mark.parametrize("command", [
    "echo x > ~/arcus/conf/zoo.cfg", "cat a >> b", "rm -f ~/arcus/pids/memcached.11211.pid",
    "kill -TERM 42", "kill 42", "~/arcus/bin/memcached -d", "x=$(/bin/sh -c true)", "sh -c 'touch x'",
    "find . | xargs rm", "sed -i s/a/b/ zoo.cfg", recipes.stop_by_pidfile("~/arcus/pids/memcached.1.pid", "INT"),
])
def test_write_commands_are_refused(command):
    assert read_only_refusal(command) is not None


@pytest.mark.parametrize("command", [
    HOME_READ, "sha256sum < ~/arcus/conf/zoo.cfg 2>/dev/null", "test -d ~/arcus/zookeeper/data",
    _checksum_command("arcus", ".arcus-tui/arcus.tar.gz.unpacked"), "kill -0 42 2>/dev/null >&2",
])
def test_read_commands_pass(command):
    assert read_only_refusal(command) is None


async def test_a_refused_command_is_never_sent():
    ssh = FakeSsh({("h", "rm -rf ~"): (0, "", "")})
    host = ReadOnlyHost(FakeWork(ssh, "h"))
    with pytest.raises(ReadOnlyCommandError):
        await host.capture("rm -rf ~")
    assert ssh.sent == []
    assert not hasattr(host, "exec")


# --- the package ----------------------------------------------------------------------------------


async def test_upload_is_done_when_every_file_matches_its_checksum(tmp_path):
    package = tmp_path / "arcus"
    (package / "bin").mkdir(parents=True)
    (package / "bin" / "memcached").write_text("#!/bin/sh\n")
    (package / "conf.txt").write_text("x=1\n")
    action = actions.Upload(str(package), "~/arcus")
    command = _checksum_command(remote_dir(action.destination), None)
    listing = "".join(f"{sha(p.read_text())}  {p.relative_to(package).as_posix()}\n"
                      for p in sorted(package.rglob("*")) if p.is_file())

    same = await _check_upload(ReadOnlyHost(FakeWork(FakeSsh({("h", command): (0, listing, "")}), "h")), action)
    assert same.finding is Finding.DONE

    one_off = listing.replace(sha("x=1\n"), sha("x=2\n"))
    changed = await _check_upload(ReadOnlyHost(FakeWork(FakeSsh({("h", command): (0, one_off, "")}), "h")), action)
    assert changed.finding is Finding.TO_DO and "1 of 2 file(s)" in changed.reason
