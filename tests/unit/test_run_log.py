"""The run log: bounded rings with an honest drop count, state lines, the merged view, filters."""

from __future__ import annotations

from arcus_tui.deploy.run_log import LineFilter, LineRing, LogLine, RunLog, compile_problem
from arcus_tui.events import HostState, ProgressEvent, Stream


def line(text: str, target: str = "h") -> LogLine:
    return LogLine(target, "exec", text)


def test_a_ring_keeps_the_newest_lines_and_counts_the_dropped():
    ring = LineRing(3)
    for number in range(5):
        ring.append(line(f"l{number}"))
    assert len(ring) == 3 and ring.dropped == 2 and ring.first == 2 and ring.total == 5
    assert [kept.text for kept in ring.lines()] == ["l2", "l3", "l4"]
    assert ring.line(4).text == "l4"
    for gone in (1, 5):
        try:
            ring.line(gone)
        except IndexError:
            continue
        raise AssertionError(f"line {gone} is not kept")


def test_a_run_log_is_bounded_per_target_and_merged():
    log = RunLog(["a", "b"], per_target=10, merged=15)
    for number in range(100):
        log.add(ProgressEvent("a" if number % 2 else "b", "exec", Stream.STDOUT, f"line {number}"), run=1)
    a, merged = log.ring("a"), log.ring(None)
    assert len(a) == 10 and a.dropped == 50 + 1 - 10  # 50 lines and the run marker
    assert len(merged) == 15 and merged.dropped == 100 + 2 - 15
    assert [kept.text for kept in merged.lines()][-2:] == ["line 98", "line 99"]


def test_state_changes_read_once_and_failures_are_tracked():
    log = RunLog(["cache001"])
    log.add(ProgressEvent("cache001", "copy-key", state=HostState.RUNNING), run=1, kind="setup")
    log.add(ProgressEvent("cache001", "copy-key", state=HostState.RUNNING), run=1)  # said already
    log.add(ProgressEvent("cache001", "copy-key", Stream.STDERR, "Permission denied"), run=1)
    log.add(ProgressEvent("cache001", "copy-key", text="Permission denied", state=HostState.FAILED,
                          duration=2.0), run=1)
    text = log.text_of("cache001").splitlines()
    assert text[0].startswith("── setup 1 · ")
    assert text[1:] == ["copy-key         ▶ running", "copy-key         Permission denied",
                        "copy-key         ✗ failed 2.0s"]  # the cause is not said twice
    assert log.failed == ["cache001"]
    log.add(ProgressEvent("cache001", "verify-login", text="copy-key did not succeed", state=HostState.SKIPPED),
            run=1)
    assert log.text_of("cache001").splitlines()[-1] == "verify-login     – skipped: copy-key did not succeed"
    log.add(ProgressEvent("cache001", "copy-key", state=HostState.OK), run=2, kind="retry")
    assert log.failed == [] and log.text_of("cache001").splitlines()[-2].startswith("── retry 2 · ")


def test_the_merged_log_prefixes_each_line_with_its_target(tmp_path):
    log = RunLog(["gateway", "cache001"])
    log.add(ProgressEvent("gateway", "make-key", text="made a key"), run=1)
    log.add(ProgressEvent("cache001", "upload", Stream.STDOUT, "3 files"), run=1)
    merged = [text for text in log.text_of(None).splitlines() if "──" not in text]
    assert merged == ["gateway  make-key         made a key", "cache001 upload           3 files"]
    saved = tmp_path / "merged.log"
    assert log.save(None, saved) == 4 and saved.read_text().splitlines()[-1] == merged[-1]


def test_a_saved_log_says_how_many_lines_were_dropped(tmp_path):
    log = RunLog(["a"], per_target=2)
    for number in range(5):
        log.add(ProgressEvent("a", "exec", Stream.STDOUT, f"l{number}"), run=1)
    path = tmp_path / "a.log"
    log.save("a", path)
    assert path.read_text().splitlines() == ["# 4 earlier lines were dropped from memory",
                                             "exec             l3", "exec             l4"]


def test_a_filter_follows_new_lines_and_forgets_dropped_ones():
    ring = LineRing(4)
    search = LineFilter("err")
    for text in ("ok", "error 1", "fine", "ERR 2"):
        ring.append(line(text))
    search.update(ring)
    assert search.matches == [1, 3]  # a lower-case pattern matches any case (smartcase, as in less)
    for text in ("x", "y", "error 3"):
        ring.append(line(text))
    search.update(ring)
    assert search.matches == [3, 6]  # line 1 was dropped, line 6 is new
    assert search.next_match(3) == 6 and search.next_match(6) == 3 and search.next_match(6, -1) == 3
    exact = LineFilter("ERR")
    exact.update(ring)
    assert exact.matches == [3]


def test_a_regex_filter_and_a_bad_one():
    ring = LineRing(10)
    for text in ("exit status 1", "exit status 0", "exit status 12"):
        ring.append(line(text))
    search = LineFilter(r"status [1-9]", regex=True)
    search.update(ring)
    assert search.matches == [0, 2]
    assert compile_problem("(", regex=True).startswith("not a regular expression")
    assert compile_problem("(", regex=False) is None
