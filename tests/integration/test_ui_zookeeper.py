"""The ZooKeeper tab against the suite's real 3-member ensemble (tests/infra/zookeeper.py).

The pane is driven through the whole app (key 4), as an operator would; znodes are
created and deleted behind its back with the fixture's own kazoo client, the way a
memcached node joins and leaves.
"""

from __future__ import annotations

from functools import partial

import json
from pathlib import Path
import socket

import pytest
from textual.app import App

import arcus_tui.ui.app
from arcus_tui.model import Cluster, Host, ZooKeeperSettings
from arcus_tui.ui.app import ArcusApp
from arcus_tui.ui.context import AppContext
from arcus_tui.ui.panes.zookeeper import ZooKeeperPane
from arcus_tui.ui.widgets.zk_tree import ZkDetail, ZkTree
from arcus_tui.zk.session import ReadOnlyError, create
from tests.unit.ui_waits import colour_of, drawn, until

SERVICE = "test-svc"
SERVICE_JSON = {"serviceCode": SERVICE, "servers": [{"hostname": "h1", "ip": "127.0.0.1", "config": {"port": "11211"}}],
                "config": {"threads": "6", "memlimit": "100"}, "created": "2024-05-01 10:00:00"}
LIVE = "127.0.0.1:11211-h1"
WAIT = 15.0
# this file's waits are longer than the shared default
until = partial(until, timeout=WAIT)


def cluster_for(hosts: str) -> Cluster:
    return Cluster(
        service_code=SERVICE,
        hosts=(Host("h1", "127.0.0.1", memcached=()),),
        zookeeper=ZooKeeperSettings(servers=tuple(hosts.split(","))),
    )


def make_registry(client) -> None:
    client.create("/arcus/cache_list/" + SERVICE, json.dumps(SERVICE_JSON).encode(), makepath=True)
    client.create("/arcus/client_list/" + SERVICE, b"", makepath=True)
    client.create("/arcus/cache_server_mapping/127.0.0.1:11211/" + SERVICE, b"", makepath=True)


def children_of(tree: ZkTree, path: str) -> list[str]:
    node = next(n for n in walk(tree.root) if n.data == path)
    return [child.data for child in node.children]


def walk(node):
    yield node
    for child in node.children:
        yield from walk(child)


def tree_paths(tree: ZkTree) -> set[str]:
    return {n.data for n in walk(tree.root) if n.data}


def node_at(tree: ZkTree, path: str):
    return next((n for n in walk(tree.root) if n.data == path), None)


async def open_tab(app: ArcusApp, pilot) -> ZooKeeperPane:
    await pilot.press("4")
    pane = app.screen.query_one(ZooKeeperPane)
    await until(pilot, lambda: pane.state in ("connected", "failed"), "connect")
    assert pane.state == "connected", pane.error
    return pane


@pytest.mark.zookeeper
async def test_tree_shows_arcus_children_and_the_selected_znode(zk_hosts, zk_client):
    make_registry(zk_client)
    app = ArcusApp(cluster_for(zk_hosts), "test.toml")
    async with app.run_test(size=(140, 45)) as pilot:
        pane = await open_tab(app, pilot)
        tree = pane.query_one(ZkTree)
        assert app.focused is tree
        # /arcus and /arcus/cache_list are opened on connect: that is the registry.
        await until(pilot, lambda: "/arcus/cache_list/" + SERVICE in tree_paths(tree), "cache_list opened")
        assert "/arcus" in children_of(tree, "/") and "/zookeeper" in children_of(tree, "/")
        assert children_of(tree, "/arcus") == [
            "/arcus/cache_list", "/arcus/cache_server_mapping", "/arcus/client_list"]
        label = node_at(tree, "/arcus").label.plain
        assert "ARCUS registry" in label and "(3)" in label
        assert "services" in node_at(tree, "/arcus/cache_list").label.plain

        tree.move_cursor(node_at(tree, "/arcus/cache_list/" + SERVICE))
        detail = pane.query_one(ZkDetail)
        await until(pilot, lambda: detail.info is not None and detail.info.path.endswith(SERVICE), "detail")
        text = detail.render().plain
        assert text.splitlines()[0] == "/arcus/cache_list/" + SERVICE
        assert "version   0" in text and "persistent" in text and "children  0" in text
        assert "JSON" in text
        assert '  "serviceCode": "test-svc",' in text  # pretty-printed, two-space indent
        assert "created" in text and "modified" in text


@pytest.mark.zookeeper
async def test_a_theme_change_recolours_the_tree(zk_hosts, zk_client):
    make_registry(zk_client)
    app = ArcusApp(cluster_for(zk_hosts), "test.toml", theme_name="arcus-dark")
    async with app.run_test(size=(140, 45)) as pilot:
        pane = await open_tab(app, pilot)
        tree = pane.query_one(ZkTree)
        await until(pilot, lambda: node_at(tree, "/zookeeper") is not None, "the tree")
        tree.move_cursor(node_at(tree, "/zookeeper"))  # the cursor row is drawn in its own colours
        await pilot.pause()
        dark = app.theme_variables["primary"].lower()
        assert colour_of(tree, "arcus") == dark
        app.theme = "arcus-light"
        await pilot.pause()
        light = app.theme_variables["primary"].lower()
        assert light != dark
        await until(pilot, lambda: colour_of(tree, "arcus") == light, "the light theme's primary colour", timeout=2)


@pytest.mark.zookeeper
async def test_memcached_nodes_appear_and_disappear_live(zk_hosts, zk_client):
    make_registry(zk_client)
    service_path = "/arcus/cache_list/" + SERVICE
    app = ArcusApp(cluster_for(zk_hosts), "test.toml")
    async with app.run_test(size=(140, 45)) as pilot:
        pane = await open_tab(app, pilot)
        tree = pane.query_one(ZkTree)
        await until(pilot, lambda: node_at(tree, service_path) is not None, "service node")
        assert children_of(tree, service_path) == []
        # The service has no children yet, so it is a leaf: the node joins first.
        zk_client.create(f"{service_path}/{LIVE}", b"100MB", ephemeral=True)
        # Its parent's count changes live (cache_list is watched), and then it can be opened.
        await until(pilot, lambda: node_at(tree, service_path).allow_expand, "service gets a child")
        tree.move_cursor(node_at(tree, service_path))
        await pilot.press("enter")
        took = await until(pilot, lambda: f"{service_path}/{LIVE}" in tree_paths(tree), "live node shown")
        assert took < WAIT
        live_label = node_at(tree, f"{service_path}/{LIVE}").label.plain
        assert LIVE in live_label and "●" in live_label and "memcached node (live)" in live_label

        second = "127.0.0.1:11212-h1"
        zk_client.create(f"{service_path}/{second}", b"100MB", ephemeral=True)
        await until(pilot, lambda: f"{service_path}/{second}" in tree_paths(tree), "second node joins")
        assert children_of(tree, service_path) == [f"{service_path}/{LIVE}", f"{service_path}/{second}"]

        zk_client.delete(f"{service_path}/{LIVE}")
        await until(pilot, lambda: f"{service_path}/{LIVE}" not in tree_paths(tree), "node leaves")
        assert children_of(tree, service_path) == [f"{service_path}/{second}"]
        assert "(1)" in node_at(tree, service_path).label.plain


@pytest.mark.zookeeper
async def test_detail_follows_data_changes_and_deletion(zk_hosts, zk_client):
    make_registry(zk_client)
    path = "/arcus/cache_server_mapping/127.0.0.1:11211"
    zk_client.set(path, b'{"port": "11211", "threads": "6"}')
    app = ArcusApp(cluster_for(zk_hosts), "test.toml")
    async with app.run_test(size=(140, 45)) as pilot:
        pane = await open_tab(app, pilot)
        tree = pane.query_one(ZkTree)
        mapping = "/arcus/cache_server_mapping"
        await until(pilot, lambda: node_at(tree, mapping) is not None, "mapping node")
        node_at(tree, mapping).expand()
        await until(pilot, lambda: node_at(tree, path) is not None, "mapping children")
        tree.move_cursor(node_at(tree, path))
        detail = pane.query_one(ZkDetail)
        await until(pilot, lambda: detail.info is not None and detail.info.path == path, "detail")
        assert '"threads": "6"' in detail.render().plain
        zk_client.set(path, b'{"port": "11211", "threads": "8"}')  # the browser watches open nodes
        await until(pilot, lambda: '"threads": "8"' in detail.render().plain, "data change shown")
        assert "version   2" in detail.render().plain  # makepath create, then two sets


@pytest.mark.zookeeper
async def test_the_pane_holds_a_read_only_session(zk_hosts, zk_client):
    make_registry(zk_client)
    app = ArcusApp(cluster_for(zk_hosts), "test.toml")  # NOT --read-only: the browser is read-only anyway
    async with app.run_test(size=(140, 45)) as pilot:
        pane = await open_tab(app, pilot)
        session = pane.session
        assert session is not None and session.read_only
        for write in (lambda: session.create("/arcus/intruder", b"x"),
                      lambda: session.set("/arcus", b"x"),
                      lambda: session.delete("/arcus", recursive=True),
                      lambda: session.commit([create("/arcus/intruder")])):
            with pytest.raises(ReadOnlyError):
                write()
        assert zk_client.exists("/arcus/intruder") is None
        assert zk_client.get("/arcus")[0] == b""


@pytest.mark.zookeeper
async def test_slash_filters_the_tree_by_name_and_escape_clears(zk_hosts, zk_client):
    make_registry(zk_client)
    app = ArcusApp(cluster_for(zk_hosts), "test.toml")
    async with app.run_test(size=(140, 45)) as pilot:
        pane = await open_tab(app, pilot)
        tree = pane.query_one(ZkTree)
        await until(pilot, lambda: node_at(tree, "/arcus/cache_list/" + SERVICE) is not None, "registry open")
        await pilot.press("slash")
        await pilot.press(*"mapping")
        await until(pilot, lambda: pane.filter_text == "mapping", "filter applied")
        assert tree_paths(tree) == {"/", "/arcus", "/arcus/cache_server_mapping"}
        await pilot.press("enter")  # keep the filter, back to the tree
        assert app.focused is tree and pane.filter_text == "mapping"
        await pilot.press("escape")
        assert pane.filter_text == ""
        assert {"/zookeeper", "/arcus/client_list", "/arcus/cache_list/" + SERVICE} <= tree_paths(tree)


@pytest.mark.zookeeper
async def test_r_rereads_after_the_tree_was_cleared_behind_its_back(zk_hosts, zk_client):
    make_registry(zk_client)
    app = ArcusApp(cluster_for(zk_hosts), "test.toml")
    async with app.run_test(size=(140, 45)) as pilot:
        pane = await open_tab(app, pilot)
        tree = pane.query_one(ZkTree)
        await until(pilot, lambda: node_at(tree, "/arcus/client_list") is not None, "registry open")
        zk_client.delete("/arcus", recursive=True)
        await until(pilot, lambda: node_at(tree, "/arcus") is None, "/arcus removed live")
        make_registry(zk_client)
        await until(pilot, lambda: node_at(tree, "/arcus") is not None, "/arcus back live")
        await pilot.press("r")
        await until(pilot, lambda: node_at(tree, "/arcus") is not None
                    and "could not read" not in drawn(pane.query_one("#zk-status")), "reload")


# -- connection failures: no ensemble needed ------------------------------------------------


class PaneApp(App[None]):
    CSS_PATH = str(Path(arcus_tui.ui.app.__file__).with_name("app.tcss"))

    def __init__(self, context: AppContext, **options) -> None:
        super().__init__()
        self.pane = ZooKeeperPane(context, **options)

    def compose(self):
        yield self.pane


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.6.250", 0))
        return probe.getsockname()[1]


async def test_unreachable_ensemble_shows_a_message_and_r_retries():
    hosts = f"127.0.6.250:{closed_port()}"
    app = PaneApp(AppContext(cluster_for(hosts)), connect_timeout=1.0)
    async with app.run_test(size=(120, 30)) as pilot:
        pane = app.pane
        assert pane.state == "connecting"
        await pilot.press("x")  # the UI answers while the worker connects
        await until(pilot, lambda: pane.state == "failed", "connect fails")
        message = pane.query_one("#zk-message").render().plain
        assert "Cannot connect to ZooKeeper" in message
        assert hosts in message
        assert "Press r to try again" in message
        assert "Traceback" not in message
        assert app.focused is pane.query_one("#zk-message")
        assert not pane.query_one("#zk-body").display
        await pilot.press("r")
        assert pane.state == "connecting"
        await until(pilot, lambda: pane.state == "failed", "second attempt fails")


async def test_loopback_guard_turns_a_remote_ensemble_into_a_message():
    app = PaneApp(AppContext(cluster_for("10.0.0.1:2181,10.0.0.2:2181")))
    async with app.run_test(size=(120, 30)) as pilot:
        pane = app.pane
        await until(pilot, lambda: pane.state == "failed", "refused", timeout=5)
        message = pane.query_one("#zk-message").render().plain
        assert "10.0.0.1:2181,10.0.0.2:2181" in message and "not a loopback address" in message


async def test_no_cluster_file_and_no_ensemble_say_so():
    app = PaneApp(AppContext(None))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert app.pane.state == "unavailable"
        assert "No cluster file" in app.pane.query_one("#zk-message").render().plain
    app = PaneApp(AppContext(Cluster(service_code="x", hosts=(Host("a", "127.0.0.1"),))))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert app.pane.state == "unavailable"
        assert "names no ZooKeeper member" in app.pane.query_one("#zk-message").render().plain
        assert app.pane.session is None  # nothing was opened


# -- rendering helpers (no ensemble) ----------------------------------------------------------


def test_data_is_decoded_and_json_pretty_printed():
    from arcus_tui.ui.widgets.zk_tree import MAX_DATA_SHOWN, format_data

    assert format_data(b"") == ("empty", "")
    assert format_data(b"100MB") == ("5 bytes, UTF-8", "100MB")
    assert format_data(b"42") == ("2 bytes, UTF-8", "42")  # JSON, but not an object: shown as is
    kind, text = format_data('{"a": {"b": [1, 2]}, "name": "캐시"}'.encode())
    assert kind.endswith("JSON")
    assert text.splitlines() == ["{", '  "a": {', '    "b": [', "      1,", "      2", "    ]", "  },",
                                 '  "name": "캐시"', "}"]
    kind, text = format_data(b"\xff\xfeok")
    assert kind == "4 bytes, not UTF-8" and text.endswith("ok")
    kind, text = format_data(b"x" * (MAX_DATA_SHOWN + 10))
    assert "first" in kind and len(text) == MAX_DATA_SHOWN


def test_arcus_paths_are_recognised_and_names_are_never_markup():
    from arcus_tui.ui.widgets.zk_tree import ChildStat, describe_path, znode_label

    assert describe_path("/arcus") == "ARCUS registry"
    assert describe_path("/arcus_repl") == "ARCUS replication registry"
    assert describe_path("/arcus/cache_list/svc") == "service"
    assert describe_path("/arcus/cache_list/svc/127.0.0.1:11211-h") == "memcached node (live)"
    assert describe_path("/arcus_repl/cache_list/svc/g1^M^127.0.0.1:11211-h") == "memcached node (live)"
    assert describe_path("/arcus_repl/group_list") == "replication groups"
    assert describe_path("/arcus_repl/cache_server_mapping/127.0.0.1:11211/svc^g1^127.0.0.1:20125") == (
        "its service code ^ group ^ address")
    assert describe_path("/arcus/cache_server_log/2024-05-01") == "day"
    assert describe_path("/other/thing") is None
    label = znode_label("/x/[b]not markup[red]", ChildStat(2, False), {})
    assert label.plain == "[b]not markup[red] (2)"
    live = znode_label("/arcus/cache_list/svc/127.0.0.1:11211-h", ChildStat(0, True), {"success": "#00ff00"})
    assert "●" in live.plain and "#00ff00" in str(live.style)
