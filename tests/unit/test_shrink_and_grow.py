"""Growing and shrinking a live cloud, as plans and words (the real runs are in
tests/e2e/test_grow_shrink.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

from arcus_tui.cli import main
from arcus_tui.deploy.live_changes import change_lines
from arcus_tui.deploy.plan import ENSEMBLE, StepId
from arcus_tui.deploy.plan import PlanOptions, setup_plan
from arcus_tui.deploy.shrink import retiring_nodes, shrink
from arcus_tui.model import load_cluster
from arcus_tui.model.edit import ClusterDocument, remove_port
from arcus_tui.zk.registry import NodeChange, RegistrationDiff

SAMPLE = Path(__file__).resolve().parents[2] / "sample_clusters" / "colocated.toml"


def copy_of_sample(tmp_path):
    path = tmp_path / "cloud.toml"
    shutil.copy(SAMPLE, path)
    return path


def test_shrinking_stops_only_the_leaving_node_then_registers_the_rest(tmp_path):
    document = ClusterDocument.load(copy_of_sample(tmp_path))
    cluster = document.cluster
    smaller = document.apply(remove_port, "cache002.arcus", 11212)
    plans = shrink(cluster, smaller)

    assert plans.leaving == ("10.0.0.2:11212",)
    (stop,) = plans.stop.steps
    assert stop.id is StepId.MEMCACHED_STOP and list(stop.actions) == ["cache002.arcus"]
    assert [action.port for action in stop.actions["cache002.arcus"]] == [11212]
    (register,) = plans.register.steps
    action = register.actions[ENSEMBLE][0]
    registered = {server["address"] if "address" in server else f"{server['ip']}:{server['config']['port']}"
                  for server in action.cluster_json["servers"]}
    assert len(registered) == 5 and "10.0.0.2:11212" not in registered
    assert "10.0.0.2:11212" in plans.register.options.allowed_removals
    assert "10.0.0.1:11211" not in plans.register.options.allowed_removals
    assert any("stop memcached 10.0.0.2:11212 on cache002.arcus" == line for line in plans.effects())


def run(capsys, *args):
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_remove_refuses_unknown_nodes_ensemble_members_and_the_whole_cloud_and_keeps_the_file(tmp_path, capsys):
    path = copy_of_sample(tmp_path)
    text = path.read_text()
    code, said = run(capsys, "remove", str(path), "--node", "10.0.0.9:11211", "--yes")
    assert code == 2 and "not in" in said and "10.0.0.9:11211" in said
    code, said = run(capsys, "remove", str(path), "--host", "cache001.arcus", "--yes")
    assert code == 2 and "ZooKeeper member" in said and "--node" in said
    every = [arg for node in load_cluster(path).nodes() for arg in ("--node", node.endpoint)]
    code, said = run(capsys, "remove", str(path), *every, "--yes")
    assert code == 2 and "unregister" in said
    code, said = run(capsys, "remove", str(path))
    assert code == 2 and "--node IP:PORT or --host NAME" in said
    assert path.read_text() == text


def test_without_a_terminal_remove_asks_and_stops_nothing(tmp_path, capsys):
    path = copy_of_sample(tmp_path)
    code, said = run(capsys, "remove", str(path), "--node", "10.0.0.3:11212")
    assert code == 2 and "not confirmed: type 'test-cloud'" in said
    assert "stop memcached 10.0.0.3:11212 on cache003.arcus" in said
    assert "10.0.0.3" in path.read_text() and "11212" in path.read_text()


def test_a_grown_file_is_said_as_plus_minus_and_tilde_lines():
    cluster = load_cluster(SAMPLE)
    endpoints = [node.endpoint for node in cluster.nodes()]
    diff = RegistrationDiff("test-cloud", True, added=tuple(endpoints[4:]), removed=("10.0.0.9:11211", "10.0.0.1:11213"),
                            changed=(NodeChange(endpoints[0], {"memlimit": "100"}, {"memlimit": "200"}),),
                            unchanged=tuple(endpoints[1:4]), stored_hostnames={"10.0.0.9:11211": "old009"})
    lines = change_lines(cluster, diff)
    assert lines == [
        "+ host cache003.arcus: the package, then its new node(s)",
        "+ node 10.0.0.3:11211 on cache003.arcus: registered, then started",
        "+ node 10.0.0.3:11212 on cache003.arcus: registered, then started",
        f"~ node {endpoints[0]}: memlimit 100 -> 200 (mapping rewritten; the running node keeps its settings "
        "until `arcus-tui config` or a restart)",
        "- node 10.0.0.9:11211 (old009): its host is not in the file, so nothing could stop it (refused)",
        "- node 10.0.0.1:11213: its mapping is removed, then it stops",
        "= 3 node(s) unchanged: not restarted",
    ]
    assert change_lines(cluster, RegistrationDiff("test-cloud", False, added=tuple(endpoints))) == []
    assert change_lines(cluster, None) == []


def test_a_setup_that_unmaps_nodes_of_its_hosts_stops_them_after_register_and_refuses_the_rest():
    cluster = load_cluster(SAMPLE)
    diff = RegistrationDiff("test-cloud", True, removed=("10.0.0.2:11213", "10.0.0.9:11211"))
    retiring, unreachable = retiring_nodes(cluster, diff)
    assert retiring == ("10.0.0.2:11213",) and unreachable == ("10.0.0.9:11211",)

    plan = setup_plan(cluster, PlanOptions(retiring=retiring))
    ids = [step.id for step in plan.steps]
    assert ids.index(StepId.REGISTER) < ids.index(StepId.MEMCACHED_RETIRE) < ids.index(StepId.MEMCACHED_START)
    retire = plan.step(StepId.MEMCACHED_RETIRE)
    assert retire.depends_on == (StepId.REGISTER,)
    (stop,) = retire.actions["cache002.arcus"]
    assert list(retire.actions) == ["cache002.arcus"] and stop.port == 11213 and "kill -INT" in stop.command
    assert plan.subset({StepId.MEMCACHED_RETIRE}).effects() == ["stop memcached 10.0.0.2:11213 on cache002.arcus"]
    assert StepId.MEMCACHED_RETIRE not in [step.id for step in setup_plan(cluster).steps]
