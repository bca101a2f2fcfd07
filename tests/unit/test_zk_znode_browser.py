"""The ZooKeeper tab's model, without a screen: one read of a znode at a time, a failure and its
mending, the filter, and what each watched change asks for."""

from __future__ import annotations

from kazoo.exceptions import ConnectionLoss

from arcus_tui.zk.tree import ChangeKind, TreeChange
from arcus_tui.zk.znode_browser import ChangeWork, ZnodeBrowser
from arcus_tui.zk.znode_cache import ChildStat

from tests.unit.test_zk_znode_cache import level


def browser_with(*levels) -> ZnodeBrowser:
    browser = ZnodeBrowser()
    for info in levels:
        browser.cache.set_level(info)
    browser.refilter()
    return browser


def test_a_znode_changed_while_read_is_read_once_more_after():
    browser = ZnodeBrowser()
    assert browser.begin_load("/arcus") is True
    assert browser.begin_load("/arcus") is False  # running: once more after it
    assert browser.begin_load("/arcus") is False  # ... and only once more
    assert browser.end_load("/arcus") is True
    assert browser.begin_load("/arcus") is True
    assert browser.end_load("/arcus") is False


def test_a_failed_read_is_said_until_a_read_succeeds():
    browser = browser_with(level("/", ["arcus"]))
    browser.read_failed("/arcus", ConnectionLoss())
    assert browser.read_error == "could not read the children of /arcus (see its details)"
    assert "/arcus" in browser.failures
    assert browser.read_succeeded("/arcus") is True
    assert browser.read_error == "" and not browser.failures
    assert browser.read_succeeded("/arcus") is False  # nothing left to mend


def test_the_filter_changes_only_on_new_text():
    browser = browser_with(level("/", ["arcus", "zookeeper"]))
    assert browser.set_filter("  ARC ") is True and browser.filter_text == "arc"
    assert browser.set_filter("arc") is False
    assert browser.filter.matches("/arcus") and not browser.filter.matches("/zookeeper")


def test_each_watched_change_asks_for_its_work():
    browser = browser_with(level("/", ["arcus"]), level("/arcus", ["cache_list"]))
    deleted = browser.work_for(TreeChange("/arcus/cache_list", ChangeKind.DELETED), "/arcus/cache_list")
    assert deleted == ChangeWork(forget="/arcus/cache_list", reload="/arcus", detail=True)
    assert browser.work_for(TreeChange("/arcus", ChangeKind.CHILDREN), None) == ChangeWork(reload="/arcus")
    browser.apply_stats({"/arcus/cache_list": ChildStat.from_info(level("/arcus/cache_list", ["svc"]))})
    assert browser.work_for(TreeChange("/arcus/cache_list", ChangeKind.CHILDREN), None) == ChangeWork(
        restat="/arcus/cache_list")  # shown, not open: its count
    assert browser.work_for(TreeChange("/arcus", ChangeKind.DATA), "/arcus") == ChangeWork(detail=True)


def test_reading_everything_again_starts_at_the_root_when_nothing_is_open():
    assert ZnodeBrowser().to_read_again() == ["/"]
    assert browser_with(level("/", ["arcus"]), level("/arcus", [])).to_read_again() == ["/", "/arcus"]
