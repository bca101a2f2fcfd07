"""The ZooKeeper tab on a znode with 20 000 children, on the suite's real ensemble.

A busy day of /arcus/cache_server_log is the ARCUS case. The tab must draw the first
page of child names, read the stat of the rows on screen only, page on with Enter,
filter the names, and explain a read the ensemble refuses for its size.
"""

from __future__ import annotations

from functools import partial

import json

import pytest

import arcus_tui.ui.panes.zookeeper as zookeeper_pane
from arcus_tui.model import Cluster, Host, ZooKeeperSettings
from arcus_tui.ui.app import ArcusApp
from arcus_tui.ui.panes.zookeeper import ZooKeeperPane
from arcus_tui.ui.widgets.zk_tree import ZkDetail, ZkTree, more_marker
from arcus_tui.zk.session import RegistryConnectionError
from arcus_tui.zk.znode_cache import PAGE
from tests.unit.ui_waits import until

LOG = "/arcus/cache_server_log"
DAY = f"{LOG}/2026-12-02"
CHILDREN = 20_000
WITH_GRANDCHILD = 300
"""The first children have one child each, so their rows show "(1)" once their stat is read."""
WAIT = 20.0
# this file's waits are longer than the shared default
until = partial(until, timeout=WAIT)


def name(i: int) -> str:
    return f"127.0.0.1:11211-node{i:05d}"


def commit_in_batches(client, ops, per_tx: int = 1000, in_flight: int = 4) -> None:
    """Transactions of ``per_tx`` operations, ``in_flight`` outstanding at once."""
    pending = []
    for start in range(0, len(ops), per_tx):
        tx = client.transaction()
        for op in ops[start:start + per_tx]:
            op(tx)
        pending.append(tx.commit_async())
        if len(pending) >= in_flight:
            for result in pending:
                assert all(r is True or isinstance(r, str) for r in result.get(timeout=60))
            pending = []
    for result in pending:
        assert all(r is True or isinstance(r, str) for r in result.get(timeout=60))


@pytest.fixture
def big_day(zk_client):
    zk_client.create("/arcus/cache_list/svc", json.dumps({"serviceCode": "svc"}).encode(), makepath=True)
    zk_client.create(DAY, b"", makepath=True)
    children = [f"{DAY}/{name(i)}" for i in range(CHILDREN)]
    grand = [f"{path}/g" for path in children[:WITH_GRANDCHILD]]
    commit_in_batches(zk_client, [lambda tx, p=p: tx.create(p, b"joined") for p in children + grand])
    yield DAY
    # Faster than the next test's recursive delete (one round trip per znode).
    commit_in_batches(zk_client, [lambda tx, p=p: tx.delete(p) for p in grand + children])


def cluster_for(hosts: str) -> Cluster:
    return Cluster(service_code="svc", hosts=(Host("h1", "127.0.0.1", memcached=()),),
                   zookeeper=ZooKeeperSettings(servers=tuple(hosts.split(","))))


def drawn(tree: ZkTree) -> list[str]:
    """The tree's rows as drawn on screen."""
    return [tree.render_line(y).text.rstrip() for y in range(tree.scrollable_content_region.height)]


def drawn_text(tree: ZkTree) -> str:
    return "\n".join(drawn(tree))


def row(tree: ZkTree, text: str) -> str:
    return next((line for line in drawn(tree) if text in line), "")


async def open_day(app: ArcusApp, pilot) -> tuple[ZooKeeperPane, ZkTree]:
    """Tab 4, then open cache_server_log and its day with the keyboard."""
    await pilot.press("4")
    pane = app.screen.query_one(ZooKeeperPane)
    await until(pilot, lambda: pane.state == "connected", "connect")
    tree = pane.query_one(ZkTree)
    # The registry opens itself on connect: wait for it to settle, or the lines move under the cursor.
    await until(pilot, lambda: "/arcus/cache_list/svc" in tree.by_path, "cache_list opened")
    await until(pilot, lambda: app.focused is tree, "focus on the tree")
    for path in (LOG, DAY):
        await until(pilot, lambda: path in tree.by_path and tree.by_path[path].allow_expand, f"{path} drawn")
        tree.move_cursor(tree.by_path[path])
        await pilot.press("space")
    return pane, tree


@pytest.mark.zookeeper
async def test_the_first_page_of_a_huge_znode_is_drawn_with_stats_for_the_rows_on_screen(zk_hosts, big_day):
    app = ArcusApp(cluster_for(zk_hosts), "test.toml")
    async with app.run_test(size=(140, 45)) as pilot:
        pane, tree = await open_day(app, pilot)
        more = f"… {CHILDREN - PAGE} more, press Enter to show {PAGE} more"
        await until(pilot, lambda: name(0) in drawn_text(tree), "first children drawn")
        # The day's own line has its count; the rows on screen get theirs lazily.
        assert f"2026-12-02 ({CHILDREN})" in row(tree, "2026-12-02")
        await until(pilot, lambda: "(1)" in row(tree, name(0)), "stat of a row on screen")
        on_screen = [line for line in drawn(tree) if "node0" in line]
        assert len(on_screen) >= 20 and all(line.endswith("(1)") for line in on_screen)
        # Only the rows on screen were asked for a stat (never one exists() per child).
        with_stat = [i for i in range(CHILDREN) if not pane.cache.needs_stat(f"{DAY}/{name(i)}")]
        assert len(with_stat) <= tree.scrollable_content_region.height
        # The page ends with the "more" row, one page down.
        tree.move_cursor(tree.by_path[DAY].children[-1])
        await until(pilot, lambda: more in drawn_text(tree), "more row")
        assert name(PAGE - 1) in drawn_text(tree) and name(PAGE) not in drawn_text(tree)
        assert tree.cursor_node.data == more_marker(DAY)
        await pilot.press("enter")
        await until(pilot, lambda: f"… {CHILDREN - 2 * PAGE} more" in drawn_text(tree) or
                         name(PAGE) in drawn_text(tree), "next page")
        assert tree.cursor_node.data == f"{DAY}/{name(PAGE)}"  # the cursor stays on its line
        await until(pilot, lambda: row(tree, name(PAGE)).endswith("(1)"), "stat of the new rows")
        tree.move_cursor(tree.by_path[DAY].children[-1])
        await until(pilot, lambda: f"… {CHILDREN - 2 * PAGE} more" in drawn_text(tree), "second more row")
        assert name(2 * PAGE - 1) in drawn_text(tree)
        # Past the children with a grandchild: those rows are plain names.
        assert row(tree, name(2 * PAGE - 1)).endswith(name(2 * PAGE - 1))


@pytest.mark.zookeeper
async def test_the_filter_narrows_the_huge_znode_and_says_how_many_more_match(zk_hosts, big_day):
    app = ArcusApp(cluster_for(zk_hosts), "test.toml")
    async with app.run_test(size=(140, 45)) as pilot:
        pane, tree = await open_day(app, pilot)
        await until(pilot, lambda: name(0) in drawn_text(tree), "first children drawn")
        await pilot.press("slash", *"NODE0012")
        await until(pilot, lambda: pane.filter_text == "node0012", "filter applied")
        text = drawn_text(tree)
        shown = [i for i in range(CHILDREN) if name(i) in text]
        assert shown == list(range(120, 130))
        assert "2026-12-02" in text and "cache_list" not in text and "more" not in text
        status = pane.query_one("#zk-status").render().plain
        assert "filter node0012: 10 of 200" in status and "read so far match" in status
        await pilot.press("escape", "escape")
        await until(pilot, lambda: pane.filter_text == "", "filter cleared")
        await pilot.press("slash", *"node1")
        await until(pilot, lambda: pane.filter_text == "node1", "wide filter applied")
        await pilot.press("enter", "end")  # back in the tree, to its last row
        await until(pilot, lambda: f"… {10_000 - PAGE} more match" in drawn_text(tree), "cap row")
        assert name(10_000 + PAGE - 1) in drawn_text(tree)


@pytest.mark.zookeeper
async def test_a_reply_too_big_for_the_ensemble_says_to_raise_jute_maxbuffer(zk_hosts, big_day, monkeypatch):
    # ZooKeeper's Java client drops the connection on a reply over its jute.maxbuffer
    # (zkCli.sh ls: ConnectionLoss). kazoo has no such limit and the server sends the
    # list whatever its own setting (bench/zk_tree.py), so the loss is injected here,
    # on the read of the day's children only, as RegistrySession reports a ConnectionLoss.
    real_read_level = zookeeper_pane.read_level

    def refusing_read_level(session, path):
        if path == DAY:
            raise RegistryConnectionError(f"lost the connection to ZooKeeper (ConnectionLoss) during children of {DAY}")
        return real_read_level(session, path)

    monkeypatch.setattr(zookeeper_pane, "read_level", refusing_read_level)
    app = ArcusApp(cluster_for(zk_hosts), "test.toml")
    async with app.run_test(size=(140, 45)) as pilot:
        pane, tree = await open_day(app, pilot)
        await until(pilot, lambda: "could not read its children" in drawn_text(tree), "failure row")
        detail = pane.query_one(ZkDetail)
        await until(pilot, lambda: "jute.maxbuffer" in detail.render().plain, "explained in the detail")
        text = " ".join(detail.render().plain.split())
        assert f"{DAY} has {CHILDREN} children" in text
        assert "-Djute.maxbuffer=" in text and "SERVER_JVMFLAGS" in text
        status = pane.query_one("#zk-status").render().plain
        assert f"could not read the children of {DAY}" in status
        assert "Traceback" not in text + status + drawn_text(tree)


@pytest.mark.zookeeper
async def test_a_node_joining_the_huge_znode_is_drawn_live(zk_hosts, zk_client, big_day):
    app = ArcusApp(cluster_for(zk_hosts), "test.toml")
    async with app.run_test(size=(140, 45)) as pilot:
        pane, tree = await open_day(app, pilot)
        await until(pilot, lambda: name(1) in drawn_text(tree), "first children drawn")
        joined = name(0) + "-rejoined"  # sorts right after the first child
        zk_client.create(f"{DAY}/{joined}", b"joined")
        await until(pilot, lambda: joined in drawn_text(tree), "the new child drawn")
        lines = drawn(tree)
        at = next(i for i, line in enumerate(lines) if joined in line)
        assert name(0) in lines[at - 1] and name(1) in lines[at + 1]
        assert f"2026-12-02 ({CHILDREN + 1})" in row(tree, "2026-12-02")
        tree.move_cursor(tree.by_path[DAY].children[-1])
        await until(pilot, lambda: f"… {CHILDREN + 1 - PAGE} more" in drawn_text(tree), "one more behind")
        zk_client.delete(f"{DAY}/{joined}")
        await until(pilot, lambda: f"… {CHILDREN - PAGE} more" in drawn_text(tree), "it left")
