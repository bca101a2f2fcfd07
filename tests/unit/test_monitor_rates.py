"""Rates from two memcached `stats` samples, restarts, the history and its sparkline."""

from __future__ import annotations

import pytest

from arcus_tui.monitor.memcached_stats import MemcachedStats
from arcus_tui.monitor.rates import History, gauges, rates_between, restarted_between, sparkline

ADDRESS = "127.0.1.1:11211"


def stats(**values) -> MemcachedStats:
    return MemcachedStats(ADDRESS, {name: str(value) for name, value in values.items()})


BEFORE = stats(uptime=100, cmd_get=1000, cmd_set=200, get_hits=800, get_misses=200, evictions=5,
               curr_connections=10, bytes=50 * 2**20, limit_maxbytes=100 * 2**20)
AFTER = stats(uptime=103, cmd_get=1600, cmd_set=230, get_hits=1340, get_misses=260, evictions=11,
              curr_connections=12, bytes=60 * 2**20, limit_maxbytes=100 * 2**20)


def test_two_samples_give_per_second_rates_and_the_interval_hit_ratio():
    rates = rates_between(BEFORE, AFTER, 3.0, max_connections=1000)
    assert rates.seconds == 3.0
    assert rates.get_per_s == pytest.approx(200.0)
    assert rates.set_per_s == pytest.approx(10.0)
    assert rates.evictions_per_s == pytest.approx(2.0)
    # over the interval: 540 hits of 600 lookups, not the lifetime 1340 / 1600
    assert rates.hit_ratio == pytest.approx(0.9)
    assert not rates.restarted


def test_gauges_connections_and_memory_against_their_limits():
    rates = rates_between(BEFORE, AFTER, 3.0, max_connections=1000)
    assert (rates.connections, rates.max_connections) == (12, 1000)
    assert rates.connection_ratio == pytest.approx(0.012)
    assert (rates.memory_used, rates.memory_limit) == (60 * 2**20, 100 * 2**20)
    assert rates.memory_ratio == pytest.approx(0.6)


def test_maxconns_from_stats_settings_wins_over_the_cluster_file():
    with_settings = MemcachedStats(ADDRESS, {**AFTER.raw, "maxconns": "4096"})
    assert gauges(with_settings, max_connections=1000).max_connections == 4096
    assert gauges(AFTER, max_connections=1000).max_connections == 1000
    assert gauges(AFTER).connection_ratio is None  # no limit known: no ratio, no division by zero


def test_a_first_sample_has_gauges_but_no_rates():
    rates = rates_between(None, AFTER, 0.0)
    assert rates.get_per_s is None and rates.set_per_s is None and rates.hit_ratio is None
    assert rates.connections == 12 and rates.memory_used == 60 * 2**20


def test_no_gets_in_the_interval_means_no_hit_ratio():
    idle = stats(**{**{k: int(v) for k, v in BEFORE.raw.items()}, "uptime": 103})
    rates = rates_between(BEFORE, idle, 3.0)
    assert rates.get_per_s == 0.0
    assert rates.hit_ratio is None  # 0 / 0: unknown, not 0 % and not 100 %


@pytest.mark.parametrize("after", [
    stats(uptime=2, cmd_get=10, cmd_set=1, get_hits=5, get_misses=5, evictions=0),  # restarted: uptime back
    stats(uptime=104, cmd_get=10, cmd_set=230, get_hits=1340, get_misses=260, evictions=11),  # a counter reset
])
def test_a_restart_between_samples_gives_no_rate_never_a_negative_one(after):
    assert restarted_between(BEFORE, after)
    rates = rates_between(BEFORE, after, 3.0)
    assert rates.restarted
    assert rates.get_per_s is None and rates.set_per_s is None and rates.evictions_per_s is None
    assert rates.hit_ratio is None


def test_after_a_restart_the_next_interval_has_rates_again():
    restarted = stats(uptime=2, cmd_get=10, cmd_set=0, get_hits=5, get_misses=5, evictions=0)
    later = stats(uptime=5, cmd_get=40, cmd_set=3, get_hits=30, get_misses=10, evictions=0)
    assert rates_between(restarted, later, 3.0).get_per_s == pytest.approx(10.0)


def test_missing_counters_give_none_for_that_rate_only():
    old = MemcachedStats(ADDRESS, {"uptime": "1", "cmd_get": "0"})
    new = MemcachedStats(ADDRESS, {"uptime": "4", "cmd_get": "30"})
    rates = rates_between(old, new, 3.0)
    assert rates.get_per_s == pytest.approx(10.0)
    assert rates.set_per_s is None and rates.hit_ratio is None and rates.evictions_per_s is None


def test_a_zero_interval_gives_gauges_only():
    assert rates_between(BEFORE, AFTER, 0.0).get_per_s is None


def test_history_is_bounded_and_keeps_the_newest():
    history = History(3)
    for value in (1.0, 2.0, None, 4.0, 5.0):
        history.add(value)
    assert history.values() == (None, 4.0, 5.0)


def test_sparkline_scales_to_the_top_value_with_gaps():
    assert sparkline([0.0, 50.0, 100.0, None]) == "▁▅█ "
    assert sparkline([0.0, 0.0]) == "▁▁"  # idle reads as idle
    assert sparkline([None, None]) == "  "
    assert sparkline([1.0, 2.0, 3.0, 4.0], width=2) == "▆█"  # the newest that fit
    assert sparkline([]) == ""
