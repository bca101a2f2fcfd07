"""The Grid at fleet size: 200 boxes, keys typed ahead, the focus after a tab switch,
live state in the boxes, and the `/` filter. Every check reads what is drawn."""

from __future__ import annotations

import pytest
from textual import events
from textual.app import App
from textual.geometry import Region
from textual.widgets import Input, TabbedContent

from arcus_tui.model import Cluster, parse_cluster
from arcus_tui.model.cluster import NodeSettings
from arcus_tui.monitor.host_live import HostLive, MemberState, NodeLiveState
from arcus_tui.ui.app import ArcusApp
from arcus_tui.ui.screens.main import TABS
from arcus_tui.ui.widgets.host_grid import HostBox, HostGrid

from cluster_texts import THREE_HOSTS
from fleet_texts import fleet_text

SIZE = (160, 50)  # three boxes a row


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    monkeypatch.setenv("ARCUS_TUI_LOOPBACK_ONLY", "1")


def cluster_of(text: str):
    result = parse_cluster(text, "test.toml")
    assert result.ok
    return result.cluster


FLEET = cluster_of(fleet_text(200))


class GridApp(App[None]):
    """The grid alone, as the Grid tab holds it."""

    def __init__(self, cluster) -> None:
        super().__init__()
        self.cluster = cluster

    def compose(self):
        yield HostGrid(self.cluster, id="host-grid")

    def on_mount(self) -> None:
        self.query_one(HostGrid).focus_default()


def grid(app: App) -> HostGrid:
    return app.screen.query_one(HostGrid)


def drawn_box(box: HostBox) -> str:
    return "\n".join(strip.text for strip in box.render_lines(Region(0, 0, *box.outer_size)))


def screen_text(app: App) -> str:
    """The whole screen as the terminal shows it now."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def highlighted(app: App) -> list[str]:
    """Hosts whose box is drawn on screen with the heavy (focused) border."""
    text = screen_text(app)
    return [box.host.name for box in grid(app).boxes if f"┏━ {box.host.name} " in text]


async def type_ahead(pilot, *keys: str) -> None:
    """Keys arriving together, faster than the screen updates (a held or fast-typed key)."""
    for key in keys:
        pilot.app.post_message(events.Key(key, key if len(key) == 1 else None))
    await pilot.pause()
    await pilot.pause()


# --- 200 hosts -------------------------------------------------------------------------------


async def test_a_grid_of_200_hosts_composes_and_end_shows_the_last_box():
    app = GridApp(FLEET)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert len(grid(app).boxes) == 200 and grid(app).columns == 3
        text = screen_text(app)
        assert "cache001.arcus  10.0.0.1" in text and "ZooKeeper :2181 (myid 1)" in text
        assert "cache200.arcus" not in text  # far below
        await pilot.press("end")
        await pilot.pause()
        assert highlighted(app) == ["cache200.arcus"]
        assert "cache200.arcus  10.0.0.200" in screen_text(app)
        assert "memcached :11212  1024MB  6 threads" in drawn_box(grid(app).box("cache200.arcus"))


def test_building_the_grid_reads_each_host_and_node_once(monkeypatch):
    """Linear in hosts + nodes: no scan of every node per host, no myid lookup per host."""
    merged = NodeSettings.merged
    calls = []

    def counting(self, node):
        calls.append(node)
        return merged(self, node)

    def per_host_scan(*args):
        raise AssertionError("a scan of the whole cluster per host")

    monkeypatch.setattr(NodeSettings, "merged", counting)
    monkeypatch.setattr(Cluster, "nodes", per_host_scan)
    monkeypatch.setattr(Cluster, "myid", per_host_scan)
    boxes = HostGrid(FLEET).boxes
    assert len(boxes) == 200 and len(calls) == 400
    assert boxes[4].text.splitlines()[0] == "ZooKeeper :2181 (myid 5)"


# --- keys typed ahead ------------------------------------------------------------------------


@pytest.mark.parametrize("keys, expected", [
    (["down"] * 5, "cache016.arcus"),  # five rows of three
    (["right", "right", "down", "down", "left"], "cache008.arcus"),
    (["j", "j", "l", "k"], "cache005.arcus"),
])
async def test_keys_typed_ahead_are_all_applied_in_order(keys, expected):
    app = GridApp(FLEET)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await type_ahead(pilot, *keys)
        assert highlighted(app) == [expected]


async def test_typed_ahead_moves_after_a_tab_switch_land_on_the_grid():
    app = ArcusApp(cluster_of(THREE_HOSTS), "test.toml")
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        await pilot.press("3")
        await type_ahead(pilot, "1", "right", "right")
        assert app.screen.query_one(TabbedContent).active == "grid"
        assert highlighted(app) == ["cache003"]


@pytest.mark.parametrize("number, tab", [(number, tab) for number, (tab, _label) in enumerate(TABS, 1)])
async def test_after_a_tab_key_the_focus_is_in_the_pane_shown(number, tab):
    app = ArcusApp(cluster_of(THREE_HOSTS), "test.toml")
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        await pilot.press("2" if tab == "grid" else "1")  # from another tab
        await pilot.press(str(number))
        pane = app.screen.query_one(TabbedContent).active_pane
        assert pane.id == tab and pane.display
        assert app.focused is not None and pane in app.focused.ancestors, app.focused


async def test_the_first_arrow_after_switching_back_to_the_grid_moves():
    app = ArcusApp(cluster_of(THREE_HOSTS), "test.toml")
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        for number in "2345":
            await pilot.press(number, "1", "right")
            assert highlighted(app) == ["cache002"], number
            await pilot.press("left")


# --- live state ------------------------------------------------------------------------------

LIVE = {
    "cache001": HostLive(MemberState.LEADER, {11211: NodeLiveState.ONLINE}),
    "cache002": HostLive(MemberState.DOWN, {11211: NodeLiveState.STOPPED}),
    "cache003": HostLive(MemberState.FOLLOWER, {11211: NodeLiveState.NOT_JOINED}),
}


def segment_colour(box: HostBox, word: str):
    for strip in box.render_lines(Region(0, 0, *box.outer_size)):
        for segment in strip:
            if word in segment.text:
                return segment.style.color
    raise AssertionError(f"{word!r} not drawn in {box.host.name}")


async def test_boxes_draw_each_live_state_as_symbol_word_and_colour():
    app = GridApp(cluster_of(THREE_HOSTS))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "leader" not in screen_text(app)  # nothing live yet: the layout only
        grid(app).show_live(LIVE)
        await pilot.pause()
        first, second, third = (drawn_box(grid(app).box(name)) for name in ("cache001", "cache002", "cache003"))
        assert "● leader" in first and "✓ online" in first
        assert "○ down" in second and "✗ stopped" in second
        assert "● follower" in third and "! not joined" in third
        assert "ZooKeeper :2181 (myid 1)" in first  # the layout is still there
        box = grid(app).box("cache001")
        assert segment_colour(box, "online") != segment_colour(grid(app).box("cache002"), "stopped")


async def test_each_node_shows_the_release_it_runs_and_the_filter_finds_it():
    app = GridApp(cluster_of(THREE_HOSTS))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        upgrading = dict(LIVE, cache001=HostLive(MemberState.LEADER, {11211: NodeLiveState.ONLINE},
                                                 {11211: "1.15.0-0123456789ab"}),
                         cache003=HostLive(MemberState.FOLLOWER, {11211: NodeLiveState.ONLINE},
                                           {11211: "1.15.0-ba9876543210"}))
        grid(app).show_live(upgrading)
        await pilot.pause()
        first, second, third = (drawn_box(grid(app).box(name)) for name in ("cache001", "cache002", "cache003"))
        assert "✓ online" in first and "1.15.0-0123456789ab" in first
        assert "1.15.0-ba9876543210" in third and "1.15.0" not in second
        await pilot.press("slash", *"ba98", "enter")
        await pilot.pause()
        assert [box.host.name for box in grid(app).boxes if box.display] == ["cache003"]


async def test_a_live_update_redraws_only_the_boxes_that_changed():
    app = GridApp(cluster_of(THREE_HOSTS))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        grid(app).show_live(LIVE)
        await pilot.pause()
        before = {box.host.name: drawn_box(box) for box in grid(app).boxes}
        changed = dict(LIVE, cache002=HostLive(MemberState.FOLLOWER, {11211: NodeLiveState.ONLINE}))
        assert grid(app).show_live(changed) == 1
        await pilot.pause()
        after = {box.host.name: drawn_box(box) for box in grid(app).boxes}
        assert after["cache001"] == before["cache001"] and after["cache003"] == before["cache003"]
        assert "● follower" in after["cache002"] and "✓ online" in after["cache002"]
        assert "down" not in after["cache002"]
        assert grid(app).show_live(changed) == 0  # the same again: nothing to redraw


async def test_live_state_stays_drawn_when_an_edit_rebuilds_the_boxes():
    app = GridApp(cluster_of(THREE_HOSTS))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        grid(app).show_live(LIVE)
        edited = cluster_of(THREE_HOSTS.replace("memcached = [11211]", "memcached = [11211, 11212]", 1))
        await grid(app).show(edited, "cache001")
        await pilot.pause()
        text = drawn_box(grid(app).box("cache001"))
        assert "● leader" in text and "✓ online" in text
        assert "memcached :11212" in text and "? unknown" in text  # a new node: not polled yet


# --- the filter ------------------------------------------------------------------------------


async def type_filter(pilot, text: str) -> None:
    await pilot.press("slash")
    for ch in text:
        await pilot.press(ch)
    await pilot.pause()


async def test_slash_filters_boxes_by_address_and_escape_clears():
    app = GridApp(FLEET)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await type_filter(pilot, "10.0.0.17")  # 10.0.0.17 and 10.0.0.170-179
        shown = [box.host.name for box in grid(app).boxes if box.display]
        assert shown == ["cache017.arcus"] + [f"cache{n}.arcus" for n in range(170, 180)]
        text = screen_text(app)
        assert "cache017.arcus" in text and "cache001.arcus" not in text
        await pilot.press("enter")  # keep the filter; the cursor goes to a box shown
        assert highlighted(app) == ["cache017.arcus"]
        await pilot.press("down")  # moves over the boxes shown only
        assert highlighted(app) == ["cache172.arcus"]
        await pilot.press("escape")
        await pilot.pause()
        assert all(box.display for box in grid(app).boxes)
        assert not app.screen.query_one("#grid-filter", Input).display
        assert highlighted(app) == ["cache172.arcus"]  # the cursor stays where it was


async def test_the_filter_matches_live_state_words():
    app = GridApp(cluster_of(THREE_HOSTS))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        grid(app).show_live(LIVE)
        await type_filter(pilot, "stopped")
        text = screen_text(app)
        assert "cache002" in text and "cache001" not in text and "cache003" not in text
        await pilot.press("enter")
        assert highlighted(app) == ["cache002"]
        # cache002 recovers: it no longer matches and goes; the cursor goes to a box still shown
        grid(app).show_live({"cache002": HostLive(MemberState.FOLLOWER, {11211: NodeLiveState.ONLINE}),
                             "cache003": HostLive(MemberState.FOLLOWER, {11211: NodeLiveState.STOPPED})})
        await pilot.pause()
        text = screen_text(app)
        assert "cache003" in text and "cache002" not in text
        assert highlighted(app) == ["cache003"]


async def test_a_filter_matching_nothing_keeps_the_keys_in_the_field():
    app = GridApp(cluster_of(THREE_HOSTS))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await type_filter(pilot, "zzz")
        assert not any(box.display for box in grid(app).boxes)
        await pilot.press("enter", "down", "x")
        assert app.screen.query_one("#grid-filter", Input).value == "zzzx"


async def test_the_grid_shows_the_live_state_the_apps_monitor_reads():
    """The app's one monitor feed (here over a stand-in source) reaches the boxes while the Grid
    is on screen; the words are drawn."""
    from textual.geometry import Region

    from arcus_tui.model import parse_cluster
    from arcus_tui.monitor.cloud_status import CloudStatus, NodeState, Process, Registry
    from arcus_tui.monitor.feed import CallableFeed
    from arcus_tui.ui.app import ArcusApp
    from arcus_tui.ui.widgets.host_grid import HostBox, HostGrid
    from arcus_tui.zk.fourletter import MemberMode, Mode
    from tests.unit.cluster_texts import THREE_HOSTS

    cluster = parse_cluster(THREE_HOSTS, "test.toml").cluster
    polls = []

    async def status() -> CloudStatus:
        polls.append(1)
        return CloudStatus("test-cloud", zookeeper=(
            MemberMode("127.0.0.1:2181", Mode.LEADER), MemberMode("127.0.0.2:2181", Mode.FOLLOWER),
            MemberMode("127.0.0.3:2181", Mode.UNREACHABLE)), nodes=(
            NodeState("cache001", "127.0.0.1:11211", Registry.ONLINE, Process.RUNNING),
            NodeState("cache002", "127.0.0.2:11211", Registry.OFFLINE, Process.STOPPED),
            NodeState("cache003", "127.0.0.3:11211", Registry.UNREGISTERED, Process.RUNNING)))

    feed = CallableFeed(cluster, status)
    app = ArcusApp(cluster, None, monitor=feed)
    async with app.run_test(size=(140, 40)) as pilot:
        grid = app.screen.query_one(HostGrid)

        def drawn() -> str:
            return "\n".join(strip.text for box in grid.query(HostBox)
                             for strip in box.render_lines(Region(0, 0, *box.outer_size)))

        deadline = 100
        while "leader" not in drawn():
            deadline -= 1
            assert deadline, f"the live state never reached the grid ({len(polls)} polls, {feed.subscribers} listening)"
            await pilot.pause(0.05)
        for word in ("leader", "follower", "down", "online", "stopped", "not joined"):
            assert word in drawn(), word
        await pilot.press("3")  # the grid hidden: it stops listening, and polling stops with it
        await pilot.pause(0.2)
        assert feed.subscribers == 0
