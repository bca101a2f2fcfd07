"""Pure parts of arcus_tui.zk: the status math of `memcached list`, the /arcus_repl
name formats, the `srvr` parser and quorum rule, and register's input checks."""

from __future__ import annotations

import datetime
import re

import pytest

from arcus_tui.zk import paths
from arcus_tui.zk.fourletter import MemberMode, Mode, parse_mntr, parse_srvr, quorum_reached, split_member
from arcus_tui.zk.registry import NodeMapping, arcus_timestamp, nodes_from_cluster_json
from arcus_tui.zk.status import (
    Health,
    Layout,
    compute_status,
    health_of,
    parse_cache_list_child,
    parse_repl_mapping_child,
    static_by_service,
)

# -- status math -------------------------------------------------------------------------


def test_all_online_is_ok() -> None:
    s = compute_status(
        "test",
        {"10.0.0.1:11211", "10.0.0.1:11212"},
        ["10.0.0.1:11211-cache001.arcus", "10.0.0.1:11212-cache001.arcus"],
    )
    assert s.status is Health.OK
    assert s.online == ("10.0.0.1:11211", "10.0.0.1:11212")
    assert s.offline == () and s.undefined == ()
    assert s.total == 2


def test_some_down_lists_offline_nodes() -> None:
    s = compute_status("test", {"10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211"}, ["10.0.0.2:11211-h2"])
    assert s.status is Health.SOME_DOWN
    assert s.online == ("10.0.0.2:11211",)
    assert s.offline == ("10.0.0.1:11211", "10.0.0.3:11211")


def test_none_online_is_down() -> None:
    s = compute_status("test", {"10.0.0.1:11211"}, [])
    assert s.status is Health.DOWN
    assert s.offline == ("10.0.0.1:11211",)


def test_undefined_is_current_minus_static_and_does_not_change_status() -> None:
    s = compute_status("test", {"10.0.0.1:11211"}, ["10.0.0.1:11211-a", "10.0.0.9:11211-stray"])
    assert s.undefined == ("10.0.0.9:11211",)
    assert s.online == ("10.0.0.1:11211",)
    assert s.status is Health.OK


def test_only_undefined_nodes_is_down() -> None:
    s = compute_status("test", {"10.0.0.1:11211"}, ["10.0.0.2:11211-x"])
    assert (s.status, s.online, s.offline, s.undefined) == (
        Health.DOWN,
        (),
        ("10.0.0.1:11211",),
        ("10.0.0.2:11211",),
    )


def test_service_without_static_nodes_is_down() -> None:
    assert compute_status("empty", set(), []).status is Health.DOWN
    assert compute_status("empty", set(), ["10.0.0.1:11211-h"]).status is Health.DOWN


def test_health_of_edges() -> None:
    assert health_of(0, 0) is Health.DOWN
    assert health_of(1, 0) is Health.OK
    assert health_of(1, 1) is Health.SOME_DOWN
    assert health_of(0, 3) is Health.DOWN


def test_hostname_with_dashes_is_cut_at_first_dash() -> None:
    node = parse_cache_list_child("10.0.0.1:11211-cache-001-arcus")
    assert node.endpoint == "10.0.0.1:11211"
    assert node.hostname == "cache-001-arcus"


def test_addresses_sort_numerically() -> None:
    s = compute_status("t", {"127.0.0.10:11211", "127.0.0.2:11211", "127.0.0.2:9999"}, [])
    assert s.offline == ("127.0.0.2:9999", "127.0.0.2:11211", "127.0.0.10:11211")


def test_to_json_shape() -> None:
    data = compute_status("svc", {"1.2.3.4:1", "1.2.3.4:2"}, ["1.2.3.4:1-h", "5.6.7.8:1-z"], created="c").to_json()
    assert {"service_code", "status", "online", "offline", "undefined"} <= set(data)
    assert data["service_code"] == "svc"
    assert data["status"] == "SOME_DOWN"
    assert data["online"] == ["1.2.3.4:1"]
    assert data["offline"] == ["1.2.3.4:2"]
    assert data["undefined"] == ["5.6.7.8:1"]
    assert data["layout"] == "arcus"
    assert data["created"] == "c"


# -- /arcus_repl names ------------------------------------------------------------------


def test_repl_cache_list_child() -> None:
    node = parse_cache_list_child("g0^M^127.0.0.1:11311-my-host", Layout.REPL)
    assert (node.group, node.role, node.endpoint, node.hostname) == ("g0", "M", "127.0.0.1:11311", "my-host")


def test_repl_mapping_child() -> None:
    m = parse_repl_mapping_child("test^gav^127.0.0.1:21311^127.0.0.1:31311")
    assert (m.service_code, m.group, m.repl_address, m.migration_address) == (
        "test",
        "gav",
        "127.0.0.1:21311",
        "127.0.0.1:31311",
    )
    m3 = parse_repl_mapping_child("test^g1^10.0.0.1:20125")
    assert (m3.service_code, m3.group, m3.repl_address, m3.migration_address) == ("test", "g1", "10.0.0.1:20125", None)


def test_repl_status_math() -> None:
    static = static_by_service(
        {
            "10.0.0.1:11211": ["svc^g0^10.0.0.1:20211"],
            "10.0.0.2:11211": ["svc^g0^10.0.0.2:20211"],
            "10.0.0.3:11211": ["other^g0^10.0.0.3:20211"],
        },
        Layout.REPL,
    )
    assert static == {"svc": {"10.0.0.1:11211", "10.0.0.2:11211"}, "other": {"10.0.0.3:11211"}}
    s = compute_status("svc", static["svc"], ["g0^M^10.0.0.1:11211-h1"], layout=Layout.REPL)
    assert s.status is Health.SOME_DOWN
    assert s.online == ("10.0.0.1:11211",) and s.offline == ("10.0.0.2:11211",)
    assert s.live[0].role == "M"
    assert s.to_json()["layout"] == "arcus_repl"


def test_base_static_by_service_uses_the_child_name() -> None:
    assert static_by_service({"1.1.1.1:1": ["a"], "1.1.1.1:2": ["b"], "1.1.1.1:3": []}) == {
        "a": {"1.1.1.1:1"},
        "b": {"1.1.1.1:2"},
    }


# -- paths ------------------------------------------------------------------------------


def test_paths_follow_the_arcus_layout() -> None:
    assert paths.init_paths() == ("/arcus", "/arcus/cache_list", "/arcus/client_list", "/arcus/cache_server_mapping",
                                  "/arcus/cache_server_log")
    assert paths.service_cache_list("svc") == "/arcus/cache_list/svc"
    assert paths.service_client_list("svc") == "/arcus/client_list/svc"
    assert paths.mapping_service("10.0.0.1:11211", "svc") == "/arcus/cache_server_mapping/10.0.0.1:11211/svc"
    assert paths.cache_server_log() == "/arcus/cache_server_log"
    assert paths.cache_list(paths.ARCUS_REPL) == "/arcus_repl/cache_list"
    for bad in ("", "a/b", "a^b", " a"):
        with pytest.raises(ValueError):
            paths.check_service_code(bad)


# -- register inputs --------------------------------------------------------------------


def test_nodes_from_cluster_json_merges_like_arcus() -> None:
    cluster = {
        "serviceCode": "test",
        "servers": [
            {"hostname": "a", "ip": "10.0.0.1", "config": {"port": "11211"}},
            {"hostname": "a", "ip": "10.0.0.1", "config": {"port": "11212", "memlimit": "200"}},
        ],
        "config": {"threads": "6", "memlimit": "100", "connections": "1000"},
    }
    nodes = nodes_from_cluster_json(cluster)
    assert [n.key for n in nodes] == ["10.0.0.1:11211", "10.0.0.1:11212"]
    assert nodes[0].config == {"threads": "6", "memlimit": "100", "connections": "1000", "port": "11211"}
    assert nodes[1].config["memlimit"] == "200"


def test_nodes_from_cluster_json_rejects_a_server_without_port() -> None:
    with pytest.raises(ValueError, match="servers\\[0\\]"):
        nodes_from_cluster_json({"servers": [{"ip": "10.0.0.1"}]})


def test_node_mapping_checks_port_agreement() -> None:
    with pytest.raises(ValueError):
        NodeMapping("10.0.0.1", 11211, {"port": "11212"})
    with pytest.raises(ValueError):
        NodeMapping("10.0.0.1:11211", 11211, {})
    assert NodeMapping("10.0.0.1", "11211", {"port": "11211"}).port == 11211


def test_timestamp_has_the_zk_py_format() -> None:
    stamp = arcus_timestamp(datetime.datetime(2024, 5, 1, 12, 0, 0))
    assert stamp == "2024-05-01 12:00:00.000000"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", arcus_timestamp())
    # the same format str(datetime.now()) gives, which zk.py writes
    now = datetime.datetime(2024, 5, 1, 12, 0, 0, 123456)
    assert arcus_timestamp(now) == str(now)


# -- four-letter words ------------------------------------------------------------------

SRVR_LEADER = """Zookeeper version: 3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC
Latency min/avg/max: 0/0.0/0
Received: 3
Sent: 2
Connections: 1
Outstanding: 0
Zxid: 0x100000004
Mode: leader
Node count: 9
Proposal sizes last/min/max: -1/-1/-1
"""


def test_parse_srvr() -> None:
    info = parse_srvr(SRVR_LEADER)
    assert info.mode is Mode.LEADER
    assert info.zxid == 0x100000004
    assert info.node_count == 9
    assert info.version == "3.8.0-${mvngit.commit.id}"
    assert parse_srvr("This ZooKeeper instance is not currently serving requests\n").mode is Mode.NOT_SERVING
    assert parse_srvr("srvr is not executed because it is not in the whitelist.\n").mode is Mode.NOT_ALLOWED
    assert parse_srvr("garbage").mode is Mode.UNKNOWN
    assert parse_srvr(SRVR_LEADER.replace("leader", "standalone")).mode is Mode.STANDALONE


def test_parse_mntr() -> None:
    assert parse_mntr("zk_version\t3.8.0\nzk_server_state\tfollower\n") == {
        "zk_version": "3.8.0",
        "zk_server_state": "follower",
    }


def _modes(*modes: Mode) -> list[MemberMode]:
    return [MemberMode(f"127.0.2.{i}:2181", m) for i, m in enumerate(modes, start=1)]


def test_quorum_rule() -> None:
    assert quorum_reached(_modes(Mode.LEADER, Mode.FOLLOWER, Mode.FOLLOWER))
    assert not quorum_reached(_modes(Mode.LEADER, Mode.FOLLOWER, Mode.UNREACHABLE))
    assert quorum_reached(_modes(Mode.LEADER, Mode.FOLLOWER, Mode.UNREACHABLE), require_all=False)
    assert not quorum_reached(_modes(Mode.LEADER, Mode.UNREACHABLE, Mode.UNREACHABLE), require_all=False)
    assert not quorum_reached(_modes(Mode.NOT_SERVING, Mode.NOT_SERVING, Mode.NOT_SERVING))
    assert not quorum_reached(_modes(Mode.LEADER, Mode.LEADER, Mode.FOLLOWER))
    assert quorum_reached(_modes(Mode.STANDALONE))
    assert not quorum_reached(_modes(Mode.STANDALONE, Mode.STANDALONE))


def test_split_member() -> None:
    assert split_member("127.0.2.1:2181") == ("127.0.2.1", 2181)
    assert split_member("zk1") == ("zk1", 2181)
    assert split_member("[::1]:2182") == ("::1", 2182)
