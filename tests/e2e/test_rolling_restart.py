"""Rolling restarts of a live cloud under client traffic, on real parts: the practice sandbox
(three hosts, two real arcus-memcached nodes each, a three-member ZooKeeper ensemble), a client
loop routed by NAVER's own locator (`client_load`), and `arcus-tui restart ... --rolling`.

memcached: sampling cache_list every 0.2 s, never more than one node is missing; every node is
back at the end with a new process; the client's failures are all on keys of a node that was
being restarted at that moment. ZooKeeper: sampling every member's `srvr` every 0.2 s, the
ensemble is without a leader only briefly (bounded, and recorded), and no memcached node leaves
cache_list. The cloud is torn down at the end, as test_setup_sandbox leaves it.
"""

from __future__ import annotations

import re

import pytest

from arcus_tui.zk.fourletter import member_address
from tests.e2e import client_load
from tests.e2e.arcus_client import client_dir
from tests.e2e.sandbox_checks import cli, cmdlines, node_processes
from tests.infra.require import missing
from tests.waits import wait_until

pytestmark = pytest.mark.timeout(600)

SAMPLE_SECONDS = 0.2
ATTRIBUTION_MARGIN = 1.0  # s: a failure and its node's absence from cache_list, at most this apart
LEADERLESS_BOUND = 5.0  # s the ensemble may go without a leader while its leader restarts


def pids_by_node(cluster) -> dict[str, int]:
    found = {}
    for host in cluster.hosts:
        for port, pids in node_processes(f"/home/{host.user}").items():
            assert len(pids) == 1, (host.name, port, pids)
            found[f"{host.address}:{port}"] = pids[0]
    return found


def zookeeper_pids(cluster) -> dict[str, int]:
    """host name -> pid of its ZooKeeper server (QuorumPeerMain with its own zoo.cfg), by /proc."""
    found = {}
    for pid, words in cmdlines():
        if "org.apache.zookeeper.server.quorum.QuorumPeerMain" not in words:
            continue
        for host in cluster.hosts:
            if any(word.startswith(f"/home/{host.user}/") and word.endswith("zoo.cfg") for word in words):
                found[host.name] = pid
    return found


def absences(changes, node: str) -> list[tuple[float, float]]:
    """(left, back) of every time `node` was out of cache_list, from the watch's changes."""
    return client_load.windows(changes, lambda seen: node not in seen)


def while_away(changes, node: str, at: float, margin: float) -> bool:
    """Whether `at` falls within one of the node's absences (widened by `margin` s: the client
    may see the node close its connections just before its leave reaches the watch, and learns
    of its return just after)."""
    return any(left - margin <= at <= back + margin for left, back in absences(changes, node))


def record(capsys, line: str) -> None:
    """What the run measured, on the terminal (past capsys) with -s."""
    with capsys.disabled():
        print(f"\n{line}")


def test_rolling_restarts_under_client_traffic(practice_sandbox, capsys):
    sandbox = practice_sandbox
    cluster = sandbox.cluster
    file = str(sandbox.cluster_file)
    access = sandbox.cli_access()
    if client_dir() is None:
        missing("NAVER's arcus-python-client is not beside the checkout (../shared/arcus/arcus-python-client)")
    code, out, err = cli(capsys, "setup", file, "--yes", "--password-file", str(sandbox.password_file), *access)
    assert code == 0, out + err
    try:
        restart_memcached_under_load(cluster, file, access, capsys)
        restart_zookeeper_under_load(cluster, file, access, capsys)
    finally:
        teardown(cluster, file, access, capsys)


def restart_memcached_under_load(cluster, file, access, capsys) -> None:
    expected = frozenset(node.endpoint for node in cluster.nodes())
    before = pids_by_node(cluster)
    assert set(before) == expected
    load = client_load.start(cluster.connect_string, cluster.service_code, keys=300)
    sampler = client_load.sample_cache_list(cluster.connect_string, cluster.service_code, SAMPLE_SECONDS)
    watch = client_load.watch_cache_list(cluster.connect_string, cluster.service_code)
    try:
        code, out, err = cli(capsys, "restart", file, "memcached", "--rolling", "--yes", *access)
    finally:
        changes = watch.stop()
        samples = sampler.stop()
        counts = load.stop()
    assert code == 0, out + err
    # at no moment more than one node missing: every 0.2 s sample, and every change ZooKeeper reported
    read = [seen for _, seen in samples if seen is not None]
    assert len(read) > 20, samples  # sampled all along
    for seen in read + [seen for _, seen in changes]:
        assert len(expected - seen) <= 1, (sorted(expected - seen), out)
    assert changes[0][1] == expected and changes[-1][1] == expected  # (a 0.2 s sample may predate the last join)
    away = [node for node in expected if absences(changes, node)]
    assert sorted(away) == sorted(expected), (changes, out)  # each left (SIGINT: a graceful leave), came back

    order = [m.group(1) for m in (re.match(r"\s*\d+\. Restart (\S+)$", line) for line in out.splitlines()) if m]
    assert order == [node.endpoint for node in cluster.nodes()], out  # printed first, in the file's order
    after = pids_by_node(cluster)
    assert set(after) == expected and all(after[node] != before[node] for node in expected), (before, after)

    # the client: failures only on keys of the node being restarted at that moment
    assert not counts.error, counts.error
    assert counts.ok["set"] > 100 and counts.ok["get"] > 100, counts
    stray = [f for f in counts.failures if not while_away(changes, f.node, f.at, ATTRIBUTION_MARGIN)]
    assert stray == [], stray[:10]
    record(capsys, "memcached rolling restart: absent from cache_list " + ", ".join(
        f"{node} {sum(back - left for left, back in absences(changes, node)):.2f}s" for node in sorted(expected))
        + f"; {counts.total} client operations, {sum(counts.failed.values())} failed "
          f"({100 * counts.error_rate:.2f}%), by node {dict(counts.failed_nodes)}; {counts.misses} misses "
          f"(keys rehashed away), {counts.stale} stale reads")


def restart_zookeeper_under_load(cluster, file, access, capsys) -> None:
    expected = frozenset(node.endpoint for node in cluster.nodes())
    members = [member_address(member) for member in cluster.ensemble]
    before = zookeeper_pids(cluster)
    assert set(before) == {host.name for host in cluster.zookeeper_hosts}
    load = client_load.start(cluster.connect_string, cluster.service_code, keys=300)
    entries = client_load.sample_cache_list(cluster.connect_string, cluster.service_code, SAMPLE_SECONDS)
    watch = client_load.watch_cache_list(cluster.connect_string, cluster.service_code)
    modes = client_load.sample_modes(members, SAMPLE_SECONDS)
    try:
        code, out, err = cli(capsys, "restart", file, "zookeeper", "--rolling", "--yes", *access)
    finally:
        mode_samples = modes.stop()
        changes = watch.stop()
        entry_samples = entries.stop()
        counts = load.stop()
    assert code == 0, out + err
    restarted = [line for line in out.splitlines() if re.match(r"\s*\d+\. Restart ZooKeeper ", line)]
    assert len(restarted) == 3 and "(leader)" in restarted[-1], out  # the leader last

    def leaderless(value) -> bool:
        return value is None or "leader" not in value.values()

    gaps = client_load.windows(mode_samples, leaderless)
    longest = max((end - start for start, end in gaps), default=0.0)
    record(capsys, f"ZooKeeper rolling restart: {len(mode_samples)} srvr samples, {len(gaps)} leader-less "
                   f"window(s) {[round(end - start, 1) for start, end in gaps]}s; client operations "
                   f"{counts.total}, failed {sum(counts.failed.values())}")
    assert longest < LEADERLESS_BOUND, gaps
    assert not leaderless(mode_samples[-1][1])

    # no memcached node left cache_list (their sessions outlive the election)
    read = [seen for _, seen in entry_samples if seen is not None]
    assert len(read) > 10 and all(seen == expected for seen in read), [sorted(expected - s) for s in read]
    assert all(seen == expected for _, seen in changes), changes
    assert not counts.error, counts.error
    assert sum(counts.failed.values()) == 0, counts.failures[:10]  # the cache never depended on the election
    after = zookeeper_pids(cluster)
    assert set(after) == set(before) and all(after[name] != before[name] for name in before), (before, after)


def teardown(cluster, file, access, capsys) -> None:
    """What test_setup_sandbox does at its end: stop the nodes and unregister, then stop ZooKeeper."""
    code, out, err = cli(capsys, "unregister", file, "--yes", "--stop-nodes", *access)
    assert code == 0, out + err
    code, out, err = cli(capsys, "stop", file, "zookeeper", "--yes", *access)
    assert code == 0, out + err
    wait_until(lambda: all(not node_processes(f"/home/{host.user}") for host in cluster.hosts), 15,
               "every node to stop")
