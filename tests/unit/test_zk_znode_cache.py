"""The ZooKeeper browser's model and filter, without a UI or a ZooKeeper:
`arcus_tui.zk.znode_cache` and `arcus_tui.zk.znode_filter`."""

from __future__ import annotations

from kazoo.exceptions import ConnectionLoss
from kazoo.protocol.states import ZnodeStat

from arcus_tui.zk.session import RegistryConnectionError
from arcus_tui.zk.tree import ZnodeInfo
from arcus_tui.zk.znode_cache import PAGE, STAT_BATCH, ChildStat, StatQueue, ZnodeCache, read_failure, read_stats
from arcus_tui.zk.znode_filter import ZnodeFilter

DAY = "/arcus/cache_server_log/2026-12-02"


def stat(num_children: int = 0, ephemeral: int = 0, data_length: int = 0) -> ZnodeStat:
    return ZnodeStat(czxid=1, mzxid=2, ctime=1000, mtime=2000, version=0, cversion=0, aversion=0,
                     ephemeralOwner=ephemeral, dataLength=data_length, numChildren=num_children, pzxid=3)


def level(path: str, names) -> ZnodeInfo:
    names = list(names)
    return ZnodeInfo.from_stat(path, b"", stat(len(names)), names)


def day_names(count: int) -> list[str]:
    return [f"127.0.0.1:11211-Node{i:05d}" for i in range(count)]


def cache_with(*levels: ZnodeInfo) -> ZnodeCache:
    cache = ZnodeCache()
    for info in levels:
        cache.set_level(info)
    return cache


def test_a_level_holds_names_and_its_own_stat_but_no_child_stat():
    cache = cache_with(level(DAY, day_names(1000)))
    assert cache.is_open(DAY)
    assert len(cache.names(DAY)) == 1000 and cache.names(DAY)[0] == "127.0.0.1:11211-Node00000"
    assert cache.lowered(DAY)[0] == "127.0.0.1:11211-node00000"
    assert cache.stat(DAY).num_children == 1000
    assert cache.needs_stat(f"{DAY}/127.0.0.1:11211-Node00000")
    assert cache.has_children(DAY)


def test_the_page_limit_grows_a_page_at_a_time():
    cache = cache_with(level(DAY, day_names(PAGE * 2 + 5)))
    view = ZnodeFilter(cache, "")
    first = view.page(DAY, False)
    assert len(first.paths) == PAGE and first.more == PAGE + 5
    assert first.paths[0] == f"{DAY}/127.0.0.1:11211-Node00000"
    cache.more(DAY)
    second = view.page(DAY, False)
    assert len(second.paths) == 2 * PAGE and second.more == 5
    cache.more(DAY)
    assert view.page(DAY, False).more == 0


def test_children_that_go_are_forgotten_with_everything_below_them():
    names = day_names(5)
    cache = cache_with(level(DAY, names), level(f"{DAY}/{names[1]}", ["x"]))
    cache.set_stat(f"{DAY}/{names[1]}/x", ChildStat(0, False))
    cache.set_stat(f"{DAY}/{names[2]}", ChildStat(0, True))
    cache.set_level(level(DAY, [names[0], names[3], names[4]]))  # 1 and 2 went
    assert not cache.is_open(f"{DAY}/{names[1]}")
    assert cache.needs_stat(f"{DAY}/{names[1]}/x") and cache.needs_stat(f"{DAY}/{names[2]}")
    assert cache.names(DAY) == (names[0], names[3], names[4])
    cache.forget("/arcus")
    assert not cache.is_open(DAY) and cache.stat(DAY) is None


def test_the_filter_matches_names_case_blind_and_caps_what_is_drawn():
    cache = cache_with(level(DAY, day_names(20_000)))
    view = ZnodeFilter(cache, " NODE0012 ")
    assert view.text == "node0012"
    page = view.page(DAY, False)
    assert [p.rsplit("-", 1)[1] for p in page.paths] == [f"Node{i:05d}" for i in range(120, 130)]
    assert page.more == 0
    wide = ZnodeFilter(cache, "node1").page(DAY, False)
    assert len(wide.paths) == PAGE and wide.more == 10_000 - PAGE
    assert ZnodeFilter(cache, "node1").count() == (10_000, 20_000)
    assert ZnodeFilter(cache, "nothing like it").page(DAY, False).paths == ()


def test_a_match_below_keeps_its_ancestors_and_an_ancestor_match_keeps_all_below():
    root = level("/", ["arcus", "zookeeper"])
    arcus = level("/arcus", ["cache_list", "cache_server_log"])
    log = level("/arcus/cache_server_log", ["2026-12-02"])
    cache = cache_with(root, arcus, log, level(DAY, day_names(3)))
    view = ZnodeFilter(cache, "node00001")
    assert view.page("/", False).paths == ("/arcus",)
    arcus_page = view.page("/arcus", False)
    assert arcus_page.paths == ("/arcus/cache_server_log",)
    assert arcus_page.matched_below == {"/arcus/cache_server_log"}  # drawn for what is below
    assert view.page(DAY, False).paths == (f"{DAY}/127.0.0.1:11211-Node00001",)
    by_ancestor = ZnodeFilter(cache, "cache_server")
    assert by_ancestor.ancestor_matches(DAY)
    assert len(by_ancestor.page(DAY, by_ancestor.ancestor_matches(DAY)).paths) == 3


def test_stats_are_read_in_bounded_batches_for_what_was_queued():
    cache = cache_with(level(DAY, day_names(500)))
    queue = StatQueue()
    rows = [f"{DAY}/{name}" for name in cache.names(DAY)[:150]]
    queue.add(["/", *rows, *rows], cache)  # the root and repeats are not queued
    assert len(queue) == 150
    cache.set_stat(rows[0], ChildStat(0, False))
    batches = []
    while len(queue):
        batches.append(queue.take())
    assert [len(b) for b in batches] == [STAT_BATCH, STAT_BATCH, 150 - 2 * STAT_BATCH]
    assert batches[0][0] == rows[0]  # queued before its stat came: taken once, then it is known


class FakeSession:
    def __init__(self, stats):
        self.stats = stats
        self.asked = []

    def exists_many(self, paths):
        paths = list(paths)
        self.asked.append(paths)
        return {p: self.stats.get(p) for p in paths}


def test_read_stats_keeps_children_count_length_and_times_and_none_for_gone():
    session = FakeSession({"/a": stat(3, ephemeral=7, data_length=12)})
    found = read_stats(session, ["/a", "/gone"])
    assert found == {"/a": ChildStat(3, True, 12, 1000, 2000), "/gone": None}
    assert session.asked == [["/a", "/gone"]]


def test_a_lost_connection_on_a_huge_list_names_jute_maxbuffer_and_how_to_raise_it():
    lost = RegistryConnectionError(f"lost the connection to ZooKeeper (ConnectionLoss) during children of {DAY}")
    lost.__cause__ = ConnectionLoss()
    text = read_failure(DAY, lost, 100_000)
    assert f"{DAY} has 100000 children" in text
    assert "jute.maxbuffer" in text and "1024 KB by default" in text
    assert "-Djute.maxbuffer=" in text and "SERVER_JVMFLAGS" in text
    # a few children, or another error: said as it is
    assert "jute" not in read_failure(DAY, lost, 12)
    assert "jute" not in read_failure(DAY, lost, None)
    other = RegistryConnectionError("ZooKeeper did not answer within 10 s: children of /x")
    assert read_failure("/x", other, 100_000) == "reading /x: ZooKeeper did not answer within 10 s: children of /x"


def test_typing_and_backspace_through_the_memo_give_what_a_fresh_scan_gives():
    from arcus_tui.zk.znode_filter import MatchMemo

    cache = cache_with(level(DAY, day_names(3000)))
    memo = MatchMemo(size=8)
    typed = ["n", "no", "node0", "node02", "node021", "node02", "node0", "node1", "e1", ""]
    for text in typed:
        assert ZnodeFilter(cache, text, memo).page(DAY, False) == ZnodeFilter(cache, text).page(DAY, False), text
    # The names change (a read): what was remembered for the old names is not used.
    cache.set_level(level(DAY, day_names(10)))
    assert ZnodeFilter(cache, "node02", memo).page(DAY, False).paths == ()
    assert ZnodeFilter(cache, "node0000", memo).page(DAY, False).more == 0
    assert len(ZnodeFilter(cache, "node0000", memo).page(DAY, False).paths) == 10


def test_the_memo_narrows_from_the_longest_remembered_prefix_and_stays_bounded():
    from arcus_tui.zk.znode_filter import MatchMemo

    memo = MatchMemo(size=2)
    lowered = ("ab", "abc", "b")
    memo.put(DAY, "a", lowered, ["AB", "ABC"], ["ab", "abc"])
    memo.put(DAY, "ab", lowered, ["AB", "ABC"], ["ab", "abc"])
    assert memo.narrowest(DAY, "abc", lowered) == (["AB", "ABC"], ["ab", "abc"])
    assert memo.narrowest(DAY, "abc", ("ab", "abc", "b", "x")) is None  # other names: not valid
    memo.put(DAY, "abc", lowered, ["ABC"], ["abc"])
    assert memo.get(DAY, "a", lowered) is None  # the oldest went
    held = MatchMemo(size=10, max_names=3)
    held.put(DAY, "a", lowered, ["AB", "ABC"], ["ab", "abc"])
    held.put(DAY, "b", lowered, ["AB", "ABC"], ["ab", "abc"])  # 4 names held: the oldest goes
    assert held.get(DAY, "a", lowered) is None and held.get(DAY, "b", lowered) is not None


def test_drain_stats_reads_batch_by_batch_and_stops_when_the_session_changes_or_fails():
    import asyncio

    from arcus_tui.zk.znode_cache import drain_stats

    cache = cache_with(level(DAY, day_names(200)))
    rows = [f"{DAY}/{name}" for name in cache.names(DAY)]
    session = FakeSession({p: stat(1) for p in rows})
    queue = StatQueue()
    queue.add(rows, cache)
    applied = []
    asyncio.run(drain_stats(queue, lambda: session, applied.append))
    assert [len(b) for b in session.asked] == [STAT_BATCH, STAT_BATCH, STAT_BATCH, 200 - 3 * STAT_BATCH]
    assert sum(len(found) for found in applied) == 200 and len(queue) == 0

    queue.add(rows, cache_with(level(DAY, day_names(200))))  # a fresh cache: all need a stat again
    current = []

    class Reconnected(FakeSession):
        def exists_many(self, paths):
            current[0] = FakeSession({})  # a reconnect while this batch was read
            return super().exists_many(paths)

    current.append(Reconnected({p: stat(1) for p in rows}))
    applied.clear()
    asyncio.run(drain_stats(queue, lambda: current[0], applied.append))
    assert applied == []  # the old session's answers are not applied
    assert len(queue) == 200 - STAT_BATCH

    class Broken(FakeSession):
        def exists_many(self, paths):
            raise RegistryConnectionError("lost the connection to ZooKeeper (ConnectionLoss) during exists")

    before = len(queue)
    asyncio.run(drain_stats(queue, lambda: Broken({}), applied.append))  # no traceback; stops
    assert len(queue) == before - STAT_BATCH


def test_the_detail_of_a_znode_with_a_list_over_jute_maxbuffer_says_why_zkcli_fails():
    from arcus_tui.ui.widgets.zk_tree import detail_content
    from arcus_tui.zk.znode_cache import size_note

    assert size_note(20_000) == ""  # about 0.6 MB: zkCli.sh copes
    big = ZnodeInfo.from_stat(DAY, b"", stat(100_000), [])
    text = detail_content(big).plain
    assert "100000 children: a list of about 2.9 MB" in text
    assert "zkCli.sh ls fails with ConnectionLoss" in text and "-Djute.maxbuffer=" in text
    assert "jute" not in detail_content(level(DAY, day_names(5))).plain
