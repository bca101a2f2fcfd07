"""Reading a cluster file into the model: defaults, per-host overrides, merged
node settings, ZooKeeper membership and the ensemble string memcached's -z gets.

Expectations come from docs/arcus.md (#the-cluster-json: the ARCUS config keys, the
test.json defaults 6/100/1000 and "ensemble order gives myid"; #zookeeper-configuration:
the zoo.cfg defaults) and docs/cluster-file.md, not from the implementation.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from arcus_tui.model import ClusterFileError, check_cluster_file, load_cluster, parse_cluster

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SAMPLES = Path(__file__).resolve().parents[2] / "sample_clusters"


def load_text(text: str):
    result = parse_cluster(textwrap.dedent(text), "test.toml")
    assert result.errors == [], [p.format("test.toml") for p in result.errors]
    return result.cluster


MINIMAL = """
    [cluster]
    service_code = "svc"

    [[host]]
    name = "only"
    address = "10.0.0.1"
    zookeeper = true
    memcached = [11211]
"""


# --- the seed's diagram -------------------------------------------------------

def test_colocated_sample_is_the_seed_diagram():
    cluster = load_cluster(SAMPLES / "colocated.toml")
    assert cluster.service_code == "test-cloud"
    assert [(h.name, h.address, h.zookeeper, h.ports) for h in cluster.hosts] == [
        ("cache001.arcus", "10.0.0.1", True, (11211, 11212)),
        ("cache002.arcus", "10.0.0.2", True, (11211, 11212)),
        ("cache003.arcus", "10.0.0.3", True, (11211, 11212)),
    ]
    assert [node.endpoint for node in cluster.nodes()] == [
        "10.0.0.1:11211", "10.0.0.1:11212",
        "10.0.0.2:11211", "10.0.0.2:11212",
        "10.0.0.3:11211", "10.0.0.3:11212",
    ]
    assert cluster.ensemble == ("10.0.0.1:2181", "10.0.0.2:2181", "10.0.0.3:2181")
    assert cluster.connect_string == "10.0.0.1:2181,10.0.0.2:2181,10.0.0.3:2181"
    assert [cluster.myid(h) for h in cluster.hosts] == [1, 2, 3]


def test_existing_zookeeper_sample_runs_no_member_and_points_at_the_servers():
    cluster = load_cluster(SAMPLES / "existing-zookeeper.toml")
    assert cluster.zookeeper.external
    assert cluster.zookeeper_hosts == ()
    assert not any(host.zookeeper for host in cluster.hosts)
    raw = tomllib.loads((SAMPLES / "existing-zookeeper.toml").read_text())
    assert cluster.ensemble == tuple(raw["zookeeper"]["servers"])
    assert cluster.connect_string == ",".join(raw["zookeeper"]["servers"])


@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_merged_node_settings_of_every_sample_match_an_independent_merge(sample):
    """ARCUS: the top config is every node's default, a node's config overrides key by key."""
    raw = tomllib.loads(sample.read_text())
    defaults = {"threads": 6, "memlimit": 100, "connections": 1000} | raw.get("memcached", {})
    expected = []
    for host in raw["host"]:
        for entry in host.get("memcached", []):
            entry = {"port": entry} if isinstance(entry, int) else dict(entry)
            port = entry.pop("port")
            expected.append((host["name"], host["address"], port, defaults | entry))
    cluster = load_cluster(sample)
    got = [(n.host.name, n.host.address, n.port,
            {"threads": n.settings.threads, "memlimit": n.settings.memlimit, "connections": n.settings.connections})
           for n in cluster.nodes()]
    assert got == expected


def test_large_sample_has_200_nodes_and_a_five_member_ensemble():
    cluster = load_cluster(SAMPLES / "large-200-nodes.toml")
    nodes = list(cluster.nodes())
    assert len(nodes) == 200
    assert len({node.endpoint for node in nodes}) == 200
    assert len(cluster.zookeeper_hosts) == 5
    # the sample says it has a few per-node overrides: they must survive loading
    assert any(node.settings != cluster.memcached for node in nodes)


# --- defaults -----------------------------------------------------------------

def test_defaults_when_only_the_required_keys_are_written(monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "operator7")
    cluster = load_text(MINIMAL)
    host = cluster.hosts[0]
    assert cluster.user == host.user == "operator7"  # "default: the current user"
    assert cluster.ssh_port == host.ssh_port == 22
    assert cluster.install_dir == host.install_dir == "~/arcus"
    assert cluster.identity_file is None and host.identity_file is None
    assert cluster.package is None
    assert cluster.bind_address is False
    # ARCUS test.json defaults
    assert (cluster.memcached.threads, cluster.memcached.memlimit, cluster.memcached.connections) == (6, 100, 1000)
    zk = cluster.zookeeper
    assert (zk.client_port, zk.quorum_port, zk.election_port) == (2181, 2888, 3888)
    # naver/arcus scripts/conf/zoo.cfg values (docs/arcus.md#zookeeper-configuration)
    assert (zk.tick_time, zk.init_limit, zk.sync_limit) == (2000, 10, 5)
    assert (zk.max_client_cnxns, zk.min_session_timeout, zk.max_session_timeout) == (100, 4000, 200000)
    assert zk.servers == () and not zk.external


def test_a_host_without_memcached_key_has_no_nodes():
    cluster = load_text("""
        [cluster]
        service_code = "svc"
        [[host]]
        name = "zk-only"
        address = "10.0.0.1"
        zookeeper = true
        [[host]]
        name = "mc"
        address = "10.0.0.2"
        memcached = [11211]
    """)
    assert cluster.host("zk-only").memcached == ()
    assert [n.host.name for n in cluster.nodes()] == ["mc"]


# --- per-host overrides -------------------------------------------------------

def test_per_host_overrides_of_user_ssh_port_install_dir_identity_file():
    cluster = load_text("""
        [cluster]
        service_code = "svc"
        user = "arcus"
        ssh_port = 2222
        install_dir = "/opt/arcus"
        identity_file = "~/.ssh/cluster_key"

        [[host]]
        name = "inherits"
        address = "10.0.0.1"
        zookeeper = true
        memcached = [11211]

        [[host]]
        name = "overrides"
        address = "10.0.0.2"
        memcached = [11211]
        user = "admin"
        ssh_port = 22022
        install_dir = "~/arcus-1.13"
        identity_file = "/keys/other"

        [[host]]
        name = "partly"
        address = "10.0.0.3"
        memcached = [11211]
        ssh_port = 2200
    """)
    inherits, overrides, partly = cluster.hosts
    assert (inherits.user, inherits.ssh_port, inherits.install_dir, inherits.identity_file) == (
        "arcus", 2222, "/opt/arcus", "~/.ssh/cluster_key")
    assert (overrides.user, overrides.ssh_port, overrides.install_dir, overrides.identity_file) == (
        "admin", 22022, "~/arcus-1.13", "/keys/other")
    assert (partly.user, partly.ssh_port, partly.install_dir, partly.identity_file) == (
        "arcus", 2200, "/opt/arcus", "~/.ssh/cluster_key")
    # the cluster-wide values are not changed by a host's override
    assert (cluster.user, cluster.ssh_port, cluster.install_dir) == ("arcus", 2222, "/opt/arcus")


def test_per_host_user_override_without_a_cluster_user(monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "operator7")
    cluster = load_text(MINIMAL + """
    [[host]]
    name = "other"
    address = "10.0.0.2"
    memcached = [11211]
    user = "root"
    """)
    assert [h.user for h in cluster.hosts] == ["operator7", "root"]


# --- memcached nodes and merged settings --------------------------------------

def test_node_overrides_merge_key_by_key_over_the_memcached_defaults():
    cluster = load_text("""
        [cluster]
        service_code = "svc"
        [memcached]
        threads = 8
        memlimit = 1024
        connections = 4096
        [[host]]
        name = "a"
        address = "10.0.0.1"
        zookeeper = true
        memcached = [
            11211,
            { port = 11212, memlimit = 512 },
            { port = 11213, threads = 2, connections = 50 },
            { port = 11214, threads = 1, memlimit = 64, connections = 10 },
        ]
    """)
    merged = {n.port: (n.settings.threads, n.settings.memlimit, n.settings.connections) for n in cluster.nodes()}
    assert merged == {
        11211: (8, 1024, 4096),
        11212: (8, 512, 4096),
        11213: (2, 1024, 50),
        11214: (1, 64, 10),
    }
    # the host keeps only what each node overrides, so changing a default changes every other node
    host = cluster.hosts[0]
    assert [node.overrides for node in host.memcached] == [
        {}, {"memlimit": 512}, {"threads": 2, "connections": 50},
        {"threads": 1, "memlimit": 64, "connections": 10},
    ]
    assert host.ports == (11211, 11212, 11213, 11214)


def test_partial_memcached_defaults_keep_the_arcus_defaults_for_the_rest():
    cluster = load_text(MINIMAL + """
    [memcached]
    memlimit = 2048
    """)
    settings = next(cluster.nodes()).settings
    assert (settings.threads, settings.memlimit, settings.connections) == (6, 2048, 1000)


def test_node_endpoint_is_ip_colon_port_even_when_the_name_differs():
    cluster = load_text(MINIMAL)
    node = next(cluster.nodes())
    assert node.endpoint == "10.0.0.1:11211"
    assert node.host.name == "only"


# --- ZooKeeper membership, myid and the ensemble string -----------------------

def test_myid_counts_zookeeper_hosts_in_file_order_skipping_other_hosts():
    cluster = load_text("""
        [cluster]
        service_code = "svc"
        [zookeeper]
        client_port = 2191
        [[host]]
        name = "m1"
        address = "10.0.0.5"
        zookeeper = true
        memcached = [11211]
        [[host]]
        name = "plain"
        address = "10.0.0.1"
        memcached = [11211]
        [[host]]
        name = "m2"
        address = "10.0.0.3"
        zookeeper = true
        [[host]]
        name = "m3"
        address = "10.0.0.2"
        zookeeper = true
        memcached = [11211]
    """)
    assert [h.name for h in cluster.zookeeper_hosts] == ["m1", "m2", "m3"]
    assert [cluster.myid(cluster.host(name)) for name in ("m1", "m2", "m3")] == [1, 2, 3]
    assert cluster.ensemble == ("10.0.0.5:2191", "10.0.0.3:2191", "10.0.0.2:2191")
    assert cluster.connect_string == "10.0.0.5:2191,10.0.0.3:2191,10.0.0.2:2191"
    with pytest.raises(ValueError):
        cluster.myid(cluster.host("plain"))


def test_external_servers_are_the_ensemble_in_the_given_order():
    cluster = load_text("""
        [cluster]
        service_code = "svc"
        [zookeeper]
        servers = ["zk3.example:2181", "10.0.0.9:2182", "zk1.example:2183"]
        [[host]]
        name = "mc"
        address = "10.0.0.1"
        memcached = [11211]
    """)
    assert cluster.zookeeper.external
    assert cluster.ensemble == ("zk3.example:2181", "10.0.0.9:2182", "zk1.example:2183")
    assert cluster.connect_string == "zk3.example:2181,10.0.0.9:2182,zk1.example:2183"
    assert cluster.zookeeper_hosts == ()


def test_host_lookup_by_name():
    cluster = load_cluster(SAMPLES / "colocated.toml")
    assert cluster.host("cache002.arcus").address == "10.0.0.2"
    with pytest.raises(KeyError):
        cluster.host("cache009.arcus")


# --- files --------------------------------------------------------------------

def test_load_cluster_raises_with_every_problem_and_check_does_not(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[cluster]\nservice_code = "svc"\nsssh_port = 22\n\n[memcached]\nmemlimt = 5\n')
    result = check_cluster_file(path)
    assert not result.ok and result.cluster is None
    with pytest.raises(ClusterFileError) as caught:
        load_cluster(path)
    text = str(caught.value)
    assert f"{path}:3:" in text and f"{path}:6:" in text
    assert caught.value.source == str(path)


def test_check_of_a_good_file_gives_the_cluster(tmp_path):
    path = tmp_path / "good.toml"
    path.write_text(textwrap.dedent(MINIMAL))
    result = check_cluster_file(path)
    assert result.ok
    assert result.cluster == load_cluster(path)
    assert result.source == str(path)
