"""`monitor.capacity`: sums per host and in total over the nodes that answered, and where the
connection limit comes from (the running value in `stats` first)."""

from __future__ import annotations

from arcus_tui.monitor.capacity import CapacityReport, NodeCapacity, Usage, connection_limit, node_capacity
from arcus_tui.monitor.memcached_stats import MemcachedStats, StatsUnavailable
from arcus_tui.monitor.rates import gauges

MB = 1024 * 1024


def test_usage_sums_known_parts_and_ratio():
    assert (Usage(1, 10) + Usage(None, None)) == Usage(1, 10)
    assert (Usage(1, 10) + Usage(3, 30)).ratio == 0.1
    assert Usage(5, 0).ratio is None and Usage(None, 10).ratio is None


def test_report_groups_by_host_in_file_order_and_sums_only_read_nodes():
    nodes = [NodeCapacity("b", "b:1", Usage(1 * MB, 4 * MB), Usage(1, 10)),
             NodeCapacity("a", "a:1", Usage(2 * MB, 4 * MB), Usage(2, 10)),
             NodeCapacity("b", "b:2", problem="connection refused")]
    report = CapacityReport.of(nodes)
    assert [(h.name, h.nodes, h.read) for h in report.hosts] == [("b", 2, 1), ("a", 1, 1)]
    assert report.hosts[0].memory == Usage(1 * MB, 4 * MB)  # the unread node adds nothing, not a zero limit
    assert (report.total.nodes, report.total.read) == (3, 2)
    assert report.total.memory == Usage(3 * MB, 8 * MB) and report.total.connections == Usage(3, 20)


def test_connection_limit_prefers_what_stats_says_then_the_fallback():
    arcus = MemcachedStats("n:1", {"curr_connections": "7", "limit_maxconns": "150", "bytes": "0",
                                   "limit_maxbytes": str(64 * MB)})
    stock = MemcachedStats("n:1", {"curr_connections": "7", "max_connections": "1024"})
    bare = MemcachedStats("n:1", {"curr_connections": "7"})
    assert connection_limit(arcus) == 150 and connection_limit(stock) == 1024 and connection_limit(bare) is None
    assert node_capacity("h", "n:1", arcus, max_connections=100).connections == Usage(7, 150)
    assert node_capacity("h", "n:1", bare, max_connections=100).connections == Usage(7, 100)
    assert node_capacity("h", "n:1", StatsUnavailable("n:1", "no answer within 2 s")).problem == "no answer within 2 s"
    assert node_capacity("h", "n:1", None).problem == "not read"


def test_the_monitor_gauge_takes_the_running_limit_over_the_once_read_one():
    live = MemcachedStats("n:1", {"curr_connections": "7", "limit_maxconns": "150"})
    assert gauges(live, max_connections=100).max_connections == 150  # after `config maxconns 150`
    assert gauges(MemcachedStats("n:1", {"curr_connections": "7"}), max_connections=100).max_connections == 100
