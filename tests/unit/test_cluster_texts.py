"""The shared cluster-file builder of the tests (tests/unit/cluster_texts.py) writes what it is
asked to, and nothing else: the model reads back exactly those hosts, keys and ensemble."""

from __future__ import annotations

from arcus_tui.model import parse_cluster
from tests.unit.cluster_texts import THREE_HOSTS, cluster_from_text, cluster_text, host_table


def test_a_cluster_we_run_the_ensemble_of():
    text = cluster_text("grow", [host_table("zk1", "127.0.2.1", zookeeper=True),
                                 host_table("zk2", "127.0.2.2", zookeeper=True, memcached=(11211, 11212)),
                                 host_table("zk3", "127.0.2.3", zookeeper=True, memcached=())],
                        ssh_port=2022, identity_file="/keys/id ed25519", zookeeper={"client_port": 2991})
    cluster = cluster_from_text(text)
    assert cluster.service_code == "grow"
    assert [(h.name, h.address, h.zookeeper, h.ports) for h in cluster.hosts] == [
        ("zk1", "127.0.2.1", True, (11211,)), ("zk2", "127.0.2.2", True, (11211, 11212)), ("zk3", "127.0.2.3", True, ())]
    assert {(h.user, h.ssh_port, h.identity_file) for h in cluster.hosts} == {("arcus", 2022, "/keys/id ed25519")}
    assert cluster.connect_string == "127.0.2.1:2991,127.0.2.2:2991,127.0.2.3:2991"


def test_an_ensemble_we_do_not_run_and_no_user_key():
    text = cluster_text("events", [host_table("cache001", "127.0.1.1", install_dir="~/c1/arcus")], user=None,
                        servers=["127.0.2.1:2181", "127.0.2.2:2181"])
    assert "user =" not in text
    cluster = cluster_from_text(text)
    assert cluster.connect_string == "127.0.2.1:2181,127.0.2.2:2181"
    assert cluster.hosts[0].install_dir == "~/c1/arcus" and not cluster.hosts[0].zookeeper


def test_the_three_host_text_is_a_valid_cluster():
    assert parse_cluster(THREE_HOSTS, "three.toml").ok
