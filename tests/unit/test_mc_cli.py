"""The verbs `mc`, `capacity` and `config` through `arcus_tui.cli.main`, against in-process
fake memcached nodes (tests/unit/fake_memcached.py): refusals (writes, --read-only, control
characters, unknown nodes) send nothing; replies, summaries, JSON; live config's plan, its
question, its apply and a refused change explained. Real daemons: tests/integration/test_live_config_real.py.
"""

from __future__ import annotations

import json

import pytest

from arcus_tui.cli import main
from tests.unit.fake_memcached import FakeMemcached, served_in_thread

NO_ZOOKEEPER = "127.0.3.250:2181"  # nothing listens there: the registry part fails fast and says so


def cluster_text(first: FakeMemcached, second: FakeMemcached, *, memlimit: int = 64, connections: int = 100) -> str:
    return f"""
[cluster]
service_code = "mc-cli"
user = "arcus"

[zookeeper]
servers = ["{NO_ZOOKEEPER}"]

[memcached]
threads = 2
memlimit = {memlimit}
connections = {connections}

[[host]]
name = "h1"
address = "{first.host}"
memcached = [{first.port}]

[[host]]
name = "h2"
address = "{second.host}"
memcached = [{second.port}]
"""


@pytest.fixture
def nodes():
    with served_in_thread(FakeMemcached("127.0.3.1"), FakeMemcached("127.0.3.2")) as fakes:
        yield fakes


@pytest.fixture
def cluster_file(tmp_path, nodes):
    def write(**settings) -> str:
        path = tmp_path / "cluster.toml"
        path.write_text(cluster_text(*nodes, **settings))
        return str(path)
    return write


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_mc_runs_a_reading_command_on_every_node(capsys, nodes, cluster_file):
    code, out, _ = run(capsys, "mc", cluster_file(), "--", "stats")
    assert code == 0
    for fake in nodes:
        assert f"[{fake.endpoint}] ok" in out and fake.commands == ["stats", "version"]
    assert "STAT limit_maxconns 100" in out
    assert out.rstrip().endswith("2 ok, 0 failed, 0 refused (of 2 node(s))")


def test_mc_node_option_narrows_and_json_is_machine_readable(capsys, nodes, cluster_file):
    code, out, _ = run(capsys, "mc", cluster_file(), "--node", nodes[1].endpoint, "--json", "--", "config memlimit")
    assert code == 0
    document = json.loads(out)
    assert [n["node"] for n in document["nodes"]] == [nodes[1].endpoint]
    assert document["nodes"][0]["lines"] == ["memlimit 64", "END"]
    assert document["summary"] == {"ok": 1, "failed": 0, "refused": 0}
    assert nodes[0].commands == []


@pytest.mark.parametrize("argv, says", [
    (["--", "flush_all"], "pass --allow-writes"),
    (["--read-only", "--allow-writes", "--", "flush_all"], "--read-only sends only reads"),
    (["--allow-writes", "--", "stats\r\nflush_all"], "one command line only"),
    (["--", "stats\nflush_all"], "one command line only"),
    (["--allow-writes", "--", "set k 0 0 1"], "data block"),
    (["--node", "127.0.3.9:1", "--", "stats"], "not a node of mc-cli"),
])
def test_mc_refusals_send_nothing_and_exit_2(capsys, nodes, cluster_file, argv, says):
    code, out, err = run(capsys, "mc", cluster_file(), *argv)
    assert code == 2 and says in err and "Traceback" not in err + out
    assert all(fake.commands == [] for fake in nodes)


def test_mc_sends_a_write_only_with_allow_writes(capsys, nodes, cluster_file):
    code, out, _ = run(capsys, "mc", cluster_file(), "--allow-writes", "--", "flush_all")
    assert code == 0 and all(fake.commands == ["flush_all", "version"] for fake in nodes)


def test_mc_counts_refused_and_failed_nodes(capsys, nodes, cluster_file):
    path = cluster_file()
    nodes[1].behaviour = "hang"
    code, out, _ = run(capsys, "mc", path, "--timeout", "0.3", "--", "config bogus")
    assert code == 1
    assert f"[{nodes[0].endpoint}] refused" in out and "CLIENT_ERROR bad command line format" in out
    assert f"[{nodes[1].endpoint}] failed: no answer within 0.3 s" in out
    assert out.rstrip().endswith("0 ok, 1 failed, 1 refused (of 2 node(s))")


def test_capacity_sums_per_host_and_in_total(capsys, nodes, cluster_file):
    nodes[1].used_bytes = 3 * 1024 * 1024
    code, out, _ = run(capsys, "capacity", cluster_file(), "--json")
    assert code == 0
    report = json.loads(out)
    assert [h["name"] for h in report["hosts"]] == ["h1", "h2"]
    assert report["total"]["memory"] == {"used": 1024 + 3 * 1024 * 1024, "limit": 128 * 1024 * 1024,
                                         "ratio": pytest.approx((1024 + 3 * 1024 * 1024) / (128 * 1024 * 1024))}
    assert report["total"]["connections"]["used"] == 6 and report["total"]["connections"]["limit"] == 200
    code, out, _ = run(capsys, "capacity", cluster_file())
    assert "TOTAL" in out and "6 / 200 (3%)" in out and "2/2 read" in out


def test_capacity_of_an_unreadable_node_says_so_and_exits_1(capsys, nodes, cluster_file):
    nodes[0].behaviour = "hang"
    code, out, _ = run(capsys, "capacity", cluster_file(), "--timeout", "0.3")
    assert code == 1 and "not read: no answer within 0.3 s" in out and "1/2 read" in out


def test_config_read_only_shows_the_differences_and_changes_nothing(capsys, nodes, cluster_file):
    code, out, _ = run(capsys, "config", cluster_file(memlimit=128, connections=150), "--read-only",
                       "--timeout", "1")
    assert code == 1
    assert "memlimit     running 64 MB -> file 128 MB  (live: config memlimit 128)" in out
    assert "connections  running 100 -> file 150  (live: config maxconns 150)" in out
    assert "ZooKeeper mappings not updated" in out and "read-only: nothing changed" in out
    assert all(fake.commands == ["stats settings"] and fake.memlimit_mb == 64 for fake in nodes)


def test_config_without_a_terminal_or_yes_applies_nothing(capsys, nodes, cluster_file):
    code, _, err = run(capsys, "config", cluster_file(memlimit=128), "--timeout", "1")
    assert code == 1 and "pass --yes" in err
    assert all(fake.memlimit_mb == 64 for fake in nodes)


def test_config_yes_applies_live_and_verifies(capsys, nodes, cluster_file):
    code, out, _ = run(capsys, "config", cluster_file(memlimit=128, connections=150), "--yes", "--timeout", "1")
    assert all(fake.memlimit_mb == 128 and fake.maxconns == 150 for fake in nodes)
    assert all("config memlimit 128" in fake.commands and "config maxconns 150" in fake.commands for fake in nodes)
    assert out.count("ok: stats settings match the file") == 2
    assert code == 1 and "not complete" in out  # no ZooKeeper here: the mappings could not be checked


def test_config_explains_a_refused_memlimit(capsys, nodes, cluster_file):
    nodes[0].behaviour = "refuse-memlimit"
    code, out, _ = run(capsys, "config", cluster_file(memlimit=32), "--yes", "--timeout", "1")
    assert code == 1
    assert "CLIENT_ERROR bad value: memcached refuses a memlimit below 1.1 x the memory" in out
    assert nodes[0].memlimit_mb == 64 and nodes[1].memlimit_mb == 32


def test_config_reports_threads_as_needing_a_restart(capsys, nodes, cluster_file, tmp_path):
    path = cluster_file()
    text = open(path).read().replace("threads = 2", "threads = 8")
    open(path, "w").write(text)
    code, out, _ = run(capsys, "config", path, "--read-only", "--timeout", "1")
    assert "threads      running 2 -> file 8  (needs a restart)" in out
    assert f"run `arcus-tui restart {path} memcached --rolling`" in out
    assert code == 1
