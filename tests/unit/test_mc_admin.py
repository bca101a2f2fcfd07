"""`arcus_tui.monitor.admin`: the reply reader against an in-process memcached that answers,
lies, hangs, floods and closes; bounded concurrency; the loopback guard; the allowlist."""

from __future__ import annotations

import time

import pytest

from arcus_tui.monitor.admin import (AdminReply, command_problem, config_value, counts, is_read_only_command,
                                     run_on_nodes, send_command, summary_line)
from tests.unit.fake_memcached import FakeMemcached


@pytest.fixture
async def node():
    fake = await FakeMemcached().start()
    yield fake
    await fake.stop()


async def test_a_stats_reply_is_read_to_its_end_and_the_sentinel_is_not_part_of_it(node):
    reply = await send_command(node.endpoint, "stats")
    assert reply.ok and reply.lines[0] == "STAT pid 4242" and reply.lines[-1] == "END"
    assert not any(line.startswith("VERSION") for line in reply.lines)
    assert node.commands == ["stats", "version"]  # the command, then the end marker's request


async def test_a_free_text_reply_without_end_marker_is_read_whole(node):
    reply = await send_command(node.endpoint, "help")
    assert reply.lines == ("\tUsage: help [kv | list | admin]",)  # the trailing empty line is dropped


async def test_config_get_reply_and_its_value(node):
    reply = await send_command(node.endpoint, "config memlimit")
    assert reply.lines == ("memlimit 64", "END") and config_value(reply, "memlimit") == "64"


async def test_version_is_sent_alone_and_read_as_one_line(node):
    reply = await send_command(node.endpoint, "version")
    assert reply.lines == ("VERSION 1.15.0",) and node.commands == ["version"]


async def test_an_error_reply_is_a_refusal_not_a_failure(node):
    reply = await send_command(node.endpoint, "bogus")
    assert reply.answered and not reply.ok and reply.error == "ERROR unknown command"


async def test_a_node_that_hangs_is_bounded_by_the_timeout():
    fake = await FakeMemcached(behaviour="hang").start()
    try:
        began = time.monotonic()
        reply = await send_command(fake.endpoint, "stats", timeout=0.3)
        assert time.monotonic() - began < 2
        assert not reply.answered and "no answer within 0.3 s" in reply.problem
    finally:
        await fake.stop()


async def test_a_node_that_floods_is_cut_off_at_max_bytes():
    fake = await FakeMemcached(behaviour="flood").start()
    try:
        reply = await send_command(fake.endpoint, "stats", timeout=5, max_bytes=64 * 1024)
        assert not reply.answered and "longer than 65536 bytes" in reply.problem
    finally:
        await fake.stop()


async def test_a_node_that_closes_midway_gives_what_it_sent_and_says_so():
    fake = await FakeMemcached(behaviour="close").start()
    try:
        reply = await send_command(fake.endpoint, "stats")
        assert reply.closed and reply.lines == ("STAT half",)
        assert not reply.answered and "closed the connection before its reply ended" in reply.problem
        quit_reply = await send_command(fake.endpoint, "quit")  # closing is what quit is for
        assert quit_reply.answered and quit_reply.closed and quit_reply.lines == ()
    finally:
        await fake.stop()


async def test_a_refused_connection_is_a_failed_node():
    fake = await FakeMemcached().start()
    endpoint = fake.endpoint
    await fake.stop()
    reply = await send_command(endpoint, "stats", timeout=2)
    assert not reply.answered and reply.problem == "connection refused"


async def test_the_loopback_guard_is_asked_before_connecting():
    reply = await send_command("10.0.0.1:11211", "stats", timeout=2)
    assert not reply.answered and "not a loopback address" in reply.problem


async def test_run_on_nodes_asks_each_node_once_at_most_n_at_a_time():
    fakes = [await FakeMemcached(delay=0.05).start() for _ in range(12)]
    shared = {"open": 0, "most": 0}
    originals = [fake._serve for fake in fakes]

    def counting(serve):
        async def wrapped(reader, writer):
            shared["open"] += 1
            shared["most"] = max(shared["most"], shared["open"])
            try:
                await serve(reader, writer)
            finally:
                shared["open"] -= 1
        return wrapped

    for fake, serve in zip(fakes, originals):
        fake._serve = counting(serve)
        await fake.stop()
        await fake.start()
    try:
        endpoints = [fake.endpoint for fake in fakes]
        replies = await run_on_nodes(endpoints + endpoints[:2], "stats", concurrency=3)
        assert list(replies) == endpoints and all(r.ok for r in replies.values())
        assert shared["most"] <= 3
        assert all(fake.commands == ["stats", "version"] for fake in fakes)
    finally:
        for fake in fakes:
            await fake.stop()


def test_counts_and_summary():
    replies = [AdminReply("a:1", ("END",)), AdminReply("b:1", problem="connection refused"),
               AdminReply("c:1", ("CLIENT_ERROR bad value",))]
    assert counts(replies) == (1, 1, 1)
    assert summary_line(replies) == "1 ok, 1 failed, 1 refused (of 3 node(s))"


@pytest.mark.parametrize("line", ["stats", "stats settings", "stats slabs", "stats items", "stats prefixes",
                                  "stats detail dump", "stats zookeeper", "stats cachedump 1 10", "version", "help",
                                  "help kv", "config memlimit", "config maxconns", "cmdlog stats", "lqdetect show",
                                  "lqdetect stats", "zkensemble get", "  stats   settings  "])
def test_reading_commands_are_allowed(line):
    assert is_read_only_command(line)


@pytest.mark.parametrize("line", ["flush_all", "flush_prefix a", "stats reset", "stats detail on", "stats detail off",
                                  "config memlimit 100", "config maxconns 10", "config verbosity 2", "shutdown",
                                  "zkensemble set 1.2.3.4:2181", "zkensemble rejoin", "cmdlog start", "lqdetect start",
                                  "scrub", "scrub stale", "dump start key /tmp/x", "delete k", "get k", "incr k 1",
                                  "STATS", "stats bogus", "version extra", "help a b", "config", "quit", "verbosity 1",
                                  "set k 0 0 1", "unknown-command", "config memlimit 100 200"])
def test_everything_else_counts_as_writing(line):
    assert not is_read_only_command(line)


@pytest.mark.parametrize("line, says", [
    ("stats\r\nflush_all", "one command line only"),
    ("stats\nflush_all", "one command line only"),
    ("stats\x00", "one command line only"),
    ("stats\x1b[2J", "one command line only"),
    ("", "empty"),
    ("   ", "empty"),
    ("stats é", "ASCII"),
    ("set k 0 0 5", "data block"),
    ("lop insert k 0 5", "data block"),
    ("bop mget 10 2", "data block"),
    ("x" * 3000, "longer than"),
])
def test_commands_that_cannot_be_one_admin_line_are_refused(line, says):
    assert says in command_problem(line)
    assert not is_read_only_command(line)


async def test_send_command_refuses_what_command_problem_refuses(node):
    with pytest.raises(ValueError, match="one command line only"):
        await send_command(node.endpoint, "stats\r\nflush_all")
    with pytest.raises(ValueError):
        await run_on_nodes([node.endpoint], "set k 0 0 1")
    assert node.commands == []
