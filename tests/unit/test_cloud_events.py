"""The cloud's events and its client list, without ZooKeeper: the znode-name parsers
(cache_server_log entries as arcus_zk.c names them, client_list entries as the Java and C
clients name them), the joined/left/rejoined diff and the bounded ring."""

from __future__ import annotations

import datetime

from arcus_tui.monitor.cloud_events import (CloudEvent, EventKind, EventRing, MembershipDiff, Source,
                                            history_events, online_events, parse_log_entry)
from arcus_tui.verbs.events import event_line
from arcus_tui.zk.client_list import parse_client_entry, parse_client_list

A, B, C = "10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11212"


# -- the diff -----------------------------------------------------------------------------


def test_diff_sees_a_join_a_leave_and_a_rejoin_in_successive_child_lists():
    diff = MembershipDiff()
    diff.baseline([f"{A}-cache001"])
    assert diff.update([f"{A}-cache001"], 1.0) == []  # the watch's first call: nothing changed
    assert diff.update([f"{A}-cache001", f"{B}-cache002"], 2.0) == [
        CloudEvent(2.0, EventKind.JOINED, B, "cache002")]
    assert diff.update([f"{B}-cache002"], 3.0) == [CloudEvent(3.0, EventKind.LEFT, A, "cache001")]
    assert diff.update([f"{A}-cache001", f"{B}-cache002"], 4.0) == [
        CloudEvent(4.0, EventKind.REJOINED, A, "cache001")]  # left and came back
    assert diff.current == {A: "cache001", B: "cache002"}


def test_diff_of_a_burst_gives_one_event_per_node_leaves_first():
    diff = MembershipDiff()
    diff.baseline([f"{A}-a"])
    events = diff.update([f"{B}-b", f"{C}-c-with-dash"], 5.0)
    assert [(e.kind, e.endpoint, e.hostname) for e in events] == [
        (EventKind.LEFT, A, "a"), (EventKind.JOINED, B, "b"), (EventKind.JOINED, C, "c-with-dash")]


def test_a_node_known_from_the_history_rejoins_when_it_comes_back():
    diff = MembershipDiff(known={A})
    diff.baseline([])
    assert diff.update([f"{A}-a"], 1.0)[0].kind is EventKind.REJOINED


# -- cache_server_log -----------------------------------------------------------------------


def test_log_entry_names_are_ip_port_hostname_and_zookeepers_sequence():
    entry = parse_log_entry("2026-12-03", "127.0.1.1:11211-cache-001.arcus-0000000042")
    assert (entry.endpoint, entry.hostname, entry.sequence) == ("127.0.1.1:11211", "cache-001.arcus", 42)
    assert entry.path == "/arcus/cache_server_log/2026-12-03/127.0.1.1:11211-cache-001.arcus-0000000042"
    for bad in ("no-sequence-here", "127.0.1.1:11211-host-", "just-0000000001", "0000000001"):
        assert parse_log_entry("2026-12-03", bad) is None, bad


def test_history_orders_by_time_and_calls_a_second_join_or_a_logged_rejoin_a_rejoin():
    first = parse_log_entry("2026-12-02", f"{A}-a-0000000001")
    second = parse_log_entry("2026-12-03", f"{A}-a-0000000000")
    other = parse_log_entry("2026-12-03", f"{B}-b-0000000001")
    events = history_events([(second, "join", 300.0), (other, "rejoin", 200.0), (first, "join", 100.0)])
    assert [(e.at, e.kind, e.endpoint, e.source, e.detail) for e in events] == [
        (100.0, EventKind.JOINED, A, Source.LOG, "join"),
        (200.0, EventKind.REJOINED, B, Source.LOG, "rejoin"),
        (300.0, EventKind.REJOINED, A, Source.LOG, "join"),
    ]


def test_online_nodes_join_at_their_ctime_unless_the_log_already_says_so():
    logged = history_events([(parse_log_entry("2026-12-03", f"{A}-a-0000000001"), "join", 100.0)])
    events = online_events({f"{A}-a": 101.5, f"{B}-b": 50.0}, logged)
    assert [(e.at, e.kind, e.endpoint, e.source) for e in events] == [(50.0, EventKind.JOINED, B, Source.ONLINE)]
    # A restarted since its last logged join: it came back
    later = online_events({f"{A}-a": 900.0}, logged)
    assert [(e.kind, e.endpoint) for e in later] == [(EventKind.REJOINED, A)]


# -- the ring -------------------------------------------------------------------------------


def test_ring_keeps_the_newest_events_and_counts_the_dropped_ones():
    ring = EventRing(3)
    ring.extend(CloudEvent(float(i), EventKind.JOINED, f"127.0.0.1:{i}") for i in range(10))
    assert [e.at for e in ring.newest_first()] == [9.0, 8.0, 7.0]
    assert [e.at for e in ring.newest_first(2)] == [9.0, 8.0]
    assert (len(ring), ring.total, ring.dropped) == (3, 10, 7)


def test_event_line_has_time_event_node_hostname_and_source():
    at = datetime.datetime(2026, 12, 3, 1, 2, 3).timestamp()
    line = event_line(CloudEvent(at, EventKind.REJOINED, A, "cache001", Source.WATCH))
    assert line == f"2026-12-03 01:02:03  rejoined  {A}  cache001  (watch)"


# -- client_list ----------------------------------------------------------------------------


def test_java_client_entry():
    entry = parse_client_entry("app-01.example_10.1.2.3_4_java_1.13.4_20261203010203_72057594037927937")
    assert entry.known
    assert (entry.hostname, entry.ip, entry.pool_size, entry.kind, entry.version) == (
        "app-01.example", "10.1.2.3", 4, "java", "1.13.4")
    assert entry.connected_at == datetime.datetime(2026, 12, 3, 1, 2, 3)
    assert entry.session_id == "72057594037927937" and entry.session_hex == "0x100000000000001"  # decimal in Java


def test_c_client_entry_with_hex_session_and_unresolved_ip():
    entry = parse_client_entry("batch_NULL_1_c_1.10.2_20261203235959_100000abc0001")
    assert entry.known and entry.ip == "NULL" and entry.kind == "c" and entry.version == "1.10.2"
    assert entry.session_hex == "0x100000abc0001"  # hex in C


def test_underscores_in_the_hostname_or_the_version():
    in_host = parse_client_entry("my_app_host_10.1.2.3_2_java_1.9.0_20261203010203_5")
    assert (in_host.hostname, in_host.ip, in_host.version) == ("my_app_host", "10.1.2.3", "1.9.0")
    in_version = parse_client_entry("host_10.1.2.3_2_java_1.9.0_SNAPSHOT_20261203010203_5")
    assert (in_version.hostname, in_version.version) == ("host", "1.9.0_SNAPSHOT")


def test_unknown_formats_are_kept_raw():
    for name in ("python-client-1", "a_b_c_d_e_f_g", "host_10.1.2.3_x_java_1.0_20261203010203_5",
                 "host_10.1.2.3_2_java_1.0_20261399010203_5", "host_not-an-ip_2_java_1.0_20261203010203_5", ""):
        entry = parse_client_entry(name)
        assert not entry.known and entry.name == name, name
        assert entry.to_json() == {"name": name, "known": False}


def test_client_list_sorted_by_connection_time_unknown_last():
    entries = parse_client_list(["zzz", "b_10.0.0.2_1_c_1.0_20261203020000_1", "a_10.0.0.1_1_java_1.0_20261203010000_2"])
    assert [e.hostname or e.name for e in entries] == ["a", "b", "zzz"]
