"""ARCUS cluster JSON (docs/arcus.md#the-cluster-json) both ways, and the TOML writer.

The format facts: `serviceCode`, one `servers` entry per memcached node with
`hostname`, `ip` and `config.port`; a top-level `config` (threads, memlimit,
connections) that each node's `config` overrides key by key; values are strings.
The ensemble comes separately (arcus.sh -z).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arcus_tui.model import Cluster, Host, MemcachedNode, NodeSettings, ZooKeeperSettings, load_cluster, parse_cluster
from arcus_tui.model.arcus_json import ArcusJsonError, dump_arcus, ensemble_order_note, export_arcus, import_arcus
from arcus_tui.model.toml_writer import dump_cluster

SAMPLES = Path(__file__).resolve().parents[2] / "sample_clusters"
SAMPLE_PATHS = sorted(SAMPLES.glob("*.toml"))
SETTING_KEYS = ("threads", "memlimit", "connections")

# naver/arcus scripts/conf/test.json, in its own comma-first layout
TEST_JSON = """{
    "serviceCode": "test-cloud"
  , "servers": [
        { "hostname": "cache001.arcus", "ip": "10.0.0.1", "config": { "port"   : "11211" } }
      , { "hostname": "cache001.arcus", "ip": "10.0.0.1", "config": { "port"   : "11212" } }
      , { "hostname": "cache002.arcus", "ip": "10.0.0.2", "config": { "port"   : "11211", "threads": "4" } }
      , { "hostname": "cache002.arcus", "ip": "10.0.0.2", "config": { "port"   : "11212", "threads": "4" } }
      , { "hostname": "cache003.arcus", "ip": "10.0.0.3", "config": { "port"   : "11211" } }
      , { "hostname": "cache003.arcus", "ip": "10.0.0.3", "config": { "port"   : "11212" } }
    ]
  , "config": {
        "threads"    : "6"
      , "memlimit"   : "100"
      , "connections": "1000"
    }
}
"""
SEED_ENSEMBLE = ["10.0.0.1:2181", "10.0.0.2:2181", "10.0.0.3:2181"]


def merged_nodes_of_json(document: dict) -> list[tuple[str, str, dict]]:
    """(hostname, ip, merged config as ints) per servers entry, computed from the JSON alone."""
    defaults = {"threads": 6, "memlimit": 100, "connections": 1000}
    defaults |= {key: int(value) for key, value in document.get("config", {}).items()}
    return [(entry["hostname"], entry["ip"], defaults | {k: int(v) for k, v in entry["config"].items()})
            for entry in document["servers"]]


def merged_nodes_of_cluster(cluster: Cluster) -> list[tuple[str, str, dict]]:
    return [(n.host.name, n.host.address, {"port": n.port} | {k: getattr(n.settings, k) for k in SETTING_KEYS})
            for n in cluster.nodes()]


def all_leaves(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from all_leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from all_leaves(item)
    else:
        yield value


# --- export -------------------------------------------------------------------

def test_export_of_the_seed_layout_is_arcus_json():
    document = export_arcus(load_cluster(SAMPLES / "colocated.toml"))
    servers = [{"hostname": f"cache00{h}.arcus", "ip": f"10.0.0.{h}", "config": {"port": str(port)}}
               for h in (1, 2, 3) for port in (11211, 11212)]
    assert document == {
        "serviceCode": "test-cloud",
        "servers": servers,
        "config": {"threads": "6", "memlimit": "100", "connections": "1000"},
    }
    assert list(document) == ["serviceCode", "servers", "config"]
    assert all(list(entry) == ["hostname", "ip", "config"] for entry in document["servers"])


@pytest.mark.parametrize("sample", SAMPLE_PATHS, ids=lambda p: p.name)
def test_export_of_every_sample_has_string_values_and_one_entry_per_node(sample):
    cluster = load_cluster(sample)
    text = dump_arcus(cluster)
    document = json.loads(text)
    assert document == export_arcus(cluster)
    assert all(isinstance(leaf, str) for leaf in all_leaves(document))
    assert len(document["servers"]) == len(list(cluster.nodes()))
    assert set(document["config"]) == set(SETTING_KEYS)
    for entry in document["servers"]:
        assert "port" in entry["config"]
        assert set(entry["config"]) <= {"port", *SETTING_KEYS}
    # the JSON, read the ARCUS way, gives each node exactly its merged config
    assert [(h, ip, c) for h, ip, c in merged_nodes_of_json(document)] == merged_nodes_of_cluster(cluster)


# --- import -------------------------------------------------------------------

def test_import_of_arcus_test_json_with_the_seed_ensemble():
    cluster = import_arcus(TEST_JSON, SEED_ENSEMBLE, user="arcus")
    assert cluster.service_code == "test-cloud"
    assert [(h.name, h.address, h.ports, h.zookeeper) for h in cluster.hosts] == [
        ("cache001.arcus", "10.0.0.1", (11211, 11212), True),
        ("cache002.arcus", "10.0.0.2", (11211, 11212), True),
        ("cache003.arcus", "10.0.0.3", (11211, 11212), True),
    ]
    assert not cluster.zookeeper.external
    assert cluster.zookeeper.client_port == 2181
    assert list(cluster.ensemble) == SEED_ENSEMBLE
    assert cluster.user == "arcus" and all(h.user == "arcus" for h in cluster.hosts)
    assert merged_nodes_of_cluster(cluster) == merged_nodes_of_json(json.loads(TEST_JSON))
    assert {n.settings.threads for n in cluster.nodes() if n.host.name == "cache002.arcus"} == {4}


def test_import_then_export_then_import_is_lossless():
    first = import_arcus(TEST_JSON, SEED_ENSEMBLE, user="arcus")
    exported = export_arcus(first)
    assert merged_nodes_of_json(exported) == merged_nodes_of_json(json.loads(TEST_JSON))
    assert exported["serviceCode"] == "test-cloud"
    second = import_arcus(json.dumps(exported), SEED_ENSEMBLE, user="arcus")
    assert second == first


def test_a_json_without_top_config_keeps_each_nodes_values():
    """local.sample.json style: no top-level config, every node carries all its keys."""
    text = json.dumps({"serviceCode": "test", "servers": [
        {"hostname": "localhost", "ip": "127.0.0.1",
         "config": {"threads": "6", "memlimit": "100", "port": "11211", "connections": "1000"}},
        {"hostname": "localhost", "ip": "127.0.0.1",
         "config": {"threads": "3", "memlimit": "50", "port": "11212", "connections": "10"}},
    ]})
    cluster = import_arcus(text, ["127.0.0.1:2181"], user="u")
    assert merged_nodes_of_cluster(cluster) == merged_nodes_of_json(json.loads(text))
    assert merged_nodes_of_json(export_arcus(cluster)) == merged_nodes_of_json(json.loads(text))


def test_numbers_written_as_numbers_are_accepted():
    text = json.dumps({"serviceCode": "svc", "servers": [
        {"hostname": "h1", "ip": "10.0.0.1", "config": {"port": 11211, "memlimit": 64}}],
        "config": {"threads": 2, "memlimit": "32", "connections": 10}})
    cluster = import_arcus(text, ["10.0.0.1:2181"], user="u")
    node = next(cluster.nodes())
    assert (node.port, node.settings.threads, node.settings.memlimit, node.settings.connections) == (11211, 2, 64, 10)


def _two_hundred_node_document() -> dict:
    """Like naver/arcus local.200node.json: one host, ports 17000+, shared defaults, plus per-node overrides."""
    servers = []
    for i in range(200):
        config = {"port": str(17000 + i)}
        if i % 7 == 0:
            config["memlimit"] = str(64 + i)
        if i % 11 == 0:
            config["threads"] = str(1 + i % 4)
        if i % 13 == 0:
            config["connections"] = str(100 + i)
        if i % 50 == 1:
            config["threads"] = "1"  # the same as the default, written anyway
        servers.append({"hostname": "localhost", "ip": "127.0.0.1", "config": config})
    return {"serviceCode": "200node", "servers": servers,
            "config": {"threads": "1", "memlimit": "10", "connections": "10"}}


def test_200_node_json_round_trips_with_identical_merged_config():
    original = _two_hundred_node_document()
    expected = merged_nodes_of_json(original)
    assert len(expected) == 200 and len({repr(c) for _, _, c in expected}) > 10  # the overrides are really there

    cluster = import_arcus(json.dumps(original), ["127.0.0.1:2181"], user="arcus")
    assert len(cluster.hosts) == 1  # one host, 200 ports
    host = cluster.hosts[0]
    assert (host.name, host.address, host.zookeeper) == ("localhost", "127.0.0.1", True)
    assert host.ports == tuple(range(17000, 17200))
    assert merged_nodes_of_cluster(cluster) == expected

    exported = export_arcus(cluster)
    assert len(exported["servers"]) == 200
    assert merged_nodes_of_json(exported) == expected
    assert all(isinstance(leaf, str) for leaf in all_leaves(exported))

    # through the cluster file too: TOML text -> cluster -> JSON gives the same nodes
    result = parse_cluster(dump_cluster(cluster), "200.toml")
    assert result.errors == [], [p.format("200.toml") for p in result.errors]
    assert result.cluster == cluster
    assert merged_nodes_of_json(export_arcus(result.cluster)) == expected
    assert import_arcus(json.dumps(exported), ["127.0.0.1:2181"], user="arcus") == cluster


def test_a_host_listed_several_times_becomes_one_host_with_its_ports_in_json_order():
    text = json.dumps({"serviceCode": "svc", "servers": [
        {"hostname": "b", "ip": "10.0.0.2", "config": {"port": "11212"}},
        {"hostname": "a", "ip": "10.0.0.1", "config": {"port": "11211"}},
        {"hostname": "b", "ip": "10.0.0.2", "config": {"port": "11211", "memlimit": "64"}},
        {"hostname": "a", "ip": "10.0.0.1", "config": {"port": "11213"}},
        {"hostname": "b", "ip": "10.0.0.2", "config": {"port": "11213"}},
    ], "config": {"threads": "6", "memlimit": "100", "connections": "1000"}})
    cluster = import_arcus(text, ["10.0.0.9:2181"], user="u")
    assert [(h.name, h.ports) for h in cluster.hosts] == [("b", (11212, 11211, 11213)), ("a", (11211, 11213))]
    # nothing is lost, whatever the order of entries
    def canonical(nodes):
        return sorted((host, ip, sorted(config.items())) for host, ip, config in nodes)

    assert canonical(merged_nodes_of_cluster(cluster)) == canonical(merged_nodes_of_json(json.loads(text)))
    assert canonical(merged_nodes_of_json(export_arcus(cluster))) == canonical(
        merged_nodes_of_json(json.loads(text)))


# --- where the ensemble goes --------------------------------------------------

def test_ensemble_given_by_host_names_marks_those_hosts():
    cluster = import_arcus(TEST_JSON, ["cache001.arcus:2181", "cache002.arcus:2181", "cache003.arcus:2181"],
                           user="arcus")
    assert all(h.zookeeper for h in cluster.hosts)
    assert not cluster.zookeeper.external


def test_ensemble_on_some_hosts_marks_only_those():
    cluster = import_arcus(TEST_JSON, ["10.0.0.1:2182", "10.0.0.3:2182", "10.0.0.2:2182"], user="arcus")
    assert [h.zookeeper for h in cluster.hosts] == [True, True, True]
    assert cluster.zookeeper.client_port == 2182
    cluster = import_arcus(TEST_JSON, ["10.0.0.2:2181"], user="arcus")
    assert [h.name for h in cluster.hosts if h.zookeeper] == ["cache002.arcus"]
    assert cluster.ensemble == ("10.0.0.2:2181",)


def test_ensemble_elsewhere_becomes_external_servers():
    ensemble = ["10.0.0.9:2181", "10.0.0.10:2181", "10.0.0.11:2181"]
    cluster = import_arcus(TEST_JSON, ensemble, user="arcus")
    assert cluster.zookeeper.external
    assert list(cluster.zookeeper.servers) == ensemble
    assert not any(h.zookeeper for h in cluster.hosts)
    assert list(cluster.ensemble) == ensemble


def test_ensemble_partly_on_cluster_hosts_stays_external_as_given():
    ensemble = ["10.0.0.1:2181", "10.0.0.2:2181", "10.0.0.99:2181"]
    cluster = import_arcus(TEST_JSON, ensemble, user="arcus")
    assert list(cluster.zookeeper.servers) == ensemble
    assert not any(h.zookeeper for h in cluster.hosts)


def test_ensemble_on_one_host_with_several_ports_is_external():
    """local test setups run several ZooKeeper members on 127.0.0.1: not expressible as zookeeper = true."""
    text = json.dumps({"serviceCode": "svc", "servers": [
        {"hostname": "localhost", "ip": "127.0.0.1", "config": {"port": "11211"}}]})
    ensemble = ["127.0.0.1:2181", "127.0.0.1:2182", "127.0.0.1:2183"]
    cluster = import_arcus(text, ensemble, user="u")
    assert list(cluster.zookeeper.servers) == ensemble


def test_external_flag_keeps_a_matching_ensemble_external():
    cluster = import_arcus(TEST_JSON, SEED_ENSEMBLE, user="arcus", external=True)
    assert cluster.zookeeper.external
    assert list(cluster.zookeeper.servers) == SEED_ENSEMBLE
    assert not any(h.zookeeper for h in cluster.hosts)


# --- bad JSON -----------------------------------------------------------------

def _server(**config):
    return {"hostname": "h1", "ip": "10.0.0.1", "config": config}


@pytest.mark.parametrize("text, words", [
    ('{"serviceCode": "x", "servers": [', ("not valid JSON", "line 1")),
    ('{\n  "serviceCode": "x",\n  "servers": [,]\n}', ("not valid JSON", "line 3")),
    ("", ("not valid JSON",)),
    ("[]", ("object",)),
    ('"test-cloud"', ("object",)),
    (json.dumps({"servers": [_server(port="1")]}), ("serviceCode",)),
    (json.dumps({"serviceCode": 5, "servers": [_server(port="1")]}), ("serviceCode",)),
    (json.dumps({"serviceCode": "x"}), ("servers",)),
    (json.dumps({"serviceCode": "x", "servers": []}), ("servers",)),
    (json.dumps({"serviceCode": "x", "servers": {"a": 1}}), ("servers",)),
    (json.dumps({"serviceCode": "x", "servers": ["10.0.0.1:11211"]}), ("servers[0]",)),
    (json.dumps({"serviceCode": "x", "servers": [{"ip": "10.0.0.1", "config": {"port": "1"}}]}), ("hostname",)),
    (json.dumps({"serviceCode": "x", "servers": [{"hostname": "h", "config": {"port": "1"}}]}), ("ip",)),
    (json.dumps({"serviceCode": "x", "servers": [_server(port="1"), _server(threads="4")]}),
     ("servers[1]", "port")),
    (json.dumps({"serviceCode": "x", "servers": [{"hostname": "h", "ip": "10.0.0.1"}]}), ("servers[0]", "port")),
    (json.dumps({"serviceCode": "x", "servers": [_server(port="abc")]}), ("servers[0]", "port", "abc")),
    (json.dumps({"serviceCode": "x", "servers": [_server(port=True)]}), ("port",)),
    (json.dumps({"serviceCode": "x", "servers": [_server(port=11211.5)]}), ("port",)),
    (json.dumps({"serviceCode": "x", "servers": [_server(port="-1")]}), ("port",)),
    (json.dumps({"serviceCode": "x", "servers": [_server(port="70000")]}), ("servers[0]", "port", "70000")),
    (json.dumps({"serviceCode": "x", "servers": [_server(port="0")]}), ("servers[0]", "port")),
    (json.dumps({"serviceCode": "x", "servers": [_server(port="1", threads="0")]}), ("threads",)),
    (json.dumps({"serviceCode": "x", "servers": [_server(port="1", memlimt="5")]}), ("memlimt",)),
    (json.dumps({"serviceCode": "x", "servers": [{"hostname": "h", "ip": "1.1.1.1", "config": "11211"}]}),
     ("config",)),
    (json.dumps({"serviceCode": "x", "servers": [_server(port="1")], "config": {"threads": "many"}}),
     ("threads", "many")),
    (json.dumps({"serviceCode": "x", "servers": [_server(port="1")], "config": {"port": "11211"}}), ("port",)),
    (json.dumps({"serviceCode": "x", "servers": [_server(port="1")], "config": []}), ("config",)),
    (json.dumps({"serviceCode": "x", "servers": [_server(port="1")], "zookeeper": "h:1"}), ("zookeeper",)),
    ("[" * 100000, ()),
], ids=lambda v: v[:60] if isinstance(v, str) else None)
def test_malformed_json_raises_a_clear_error(text, words):
    with pytest.raises(ArcusJsonError) as caught:
        import_arcus(text, ["10.0.0.9:2181"], user="u")
    message = str(caught.value)
    assert message and "Traceback" not in message
    for word in words:
        assert word in message, message


@pytest.mark.parametrize("server", ["10.0.0.9", "10.0.0.9:x", "10.0.0.9:0", "zk host:2181", ""])
def test_bad_ensemble_entry_raises(server):
    with pytest.raises(ArcusJsonError) as caught:
        import_arcus(TEST_JSON, ["10.0.0.1:2181", server], user="u")
    assert "zookeeper" in str(caught.value).lower()


# --- the TOML writer ----------------------------------------------------------

@pytest.mark.parametrize("sample", SAMPLE_PATHS, ids=lambda p: p.name)
def test_writer_round_trips_every_sample(sample):
    cluster = load_cluster(sample)
    text = dump_cluster(cluster)
    result = parse_cluster(text, "dumped.toml")
    assert result.errors == [], "\n".join(p.format("dumped.toml") for p in result.problems)
    assert result.cluster == cluster


def test_writer_round_trips_every_kind_of_setting():
    cluster = Cluster(
        service_code="all-kinds",
        user="arcus",
        ssh_port=2222,
        install_dir="~/my arcus/$HOME \"q\" 'q' \\ é",
        identity_file="~/.ssh/id with space",
        package="/srv/arcus build/arcus-1.13.tar.gz",
        bind_address=True,
        zookeeper=ZooKeeperSettings(client_port=2191, quorum_port=2889, election_port=3889, tick_time=3000,
                                    init_limit=20, sync_limit=7, max_client_cnxns=60, min_session_timeout=6000,
                                    max_session_timeout=120000),
        memcached=NodeSettings(threads=3, memlimit=2048, connections=4096),
        hosts=(
            Host(name="z1", address="127.0.1.1", zookeeper=True, user="arcus", ssh_port=2222,
                 install_dir="~/my arcus/$HOME \"q\" 'q' \\ é", identity_file="~/.ssh/id with space",
                 memcached=(MemcachedNode(11211), MemcachedNode(11212, threads=1, memlimit=64, connections=10))),
            Host(name="z2", address="127.0.1.2", zookeeper=True, user="root", ssh_port=22, install_dir="/opt/arcus",
                 identity_file="/keys/root"),
            Host(name="z3", address="z3.example", zookeeper=True, user="arcus", ssh_port=2222,
                 install_dir="~/my arcus/$HOME \"q\" 'q' \\ é", identity_file="~/.ssh/id with space",
                 memcached=(MemcachedNode(11213, memlimit=100),)),
        ),
    )
    result = parse_cluster(dump_cluster(cluster), "kinds.toml")
    assert result.errors == [], [p.format("kinds.toml") for p in result.errors]
    assert result.cluster == cluster


def test_writer_round_trips_an_external_ensemble():
    cluster = import_arcus(TEST_JSON, ["10.0.0.9:2181", "zk.example:2182", "10.0.0.11:2183"], user="arcus")
    result = parse_cluster(dump_cluster(cluster), "ext.toml")
    assert result.errors == []
    assert result.cluster == cluster
    assert result.cluster.zookeeper.servers == ("10.0.0.9:2181", "zk.example:2182", "10.0.0.11:2183")


def test_a_different_z_order_is_pointed_out_because_myid_follows_host_order():
    """arcus.sh numbers members in -z order; the cluster file numbers them in [[host]] order."""
    same = import_arcus(TEST_JSON, SEED_ENSEMBLE, user="arcus")
    assert ensemble_order_note(same, SEED_ENSEMBLE) is None
    reordered = ["10.0.0.3:2181", "10.0.0.1:2181", "10.0.0.2:2181"]
    cluster = import_arcus(TEST_JSON, reordered, user="arcus")
    note = ensemble_order_note(cluster, reordered)
    assert note and "myid" in note and "cache001.arcus=1" in note
