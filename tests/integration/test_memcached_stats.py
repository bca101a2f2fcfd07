"""arcus_tui.monitor.memcached_stats against a real stock memcached on 127.0.5.1.

The daemon is started here (foreground, by its PID) and stopped by that PID at the
end. Missing memcached: skip on a laptop, fail when CI is set.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time

import pytest

from arcus_tui import netguard
from arcus_tui.localhost import free_port, wait_listening
from arcus_tui.monitor.memcached_stats import (
    MemcachedStats,
    StatsClient,
    StatsError,
    StatsUnavailable,
    fetch_many,
    fetch_stats,
    human_bytes,
    human_duration,
    parse_stats,
)
from arcus_tui.monitor.rates import rates_between
from tests.infra.require import require_executable

pytestmark = pytest.mark.memcached

ADDRESS = "127.0.5.1"
MEMLIMIT_MB = 64


def _exited(process: subprocess.Popen):
    if process.poll() is None:
        return None
    return f"memcached exited with {process.returncode}: {process.stderr.read()!r}"


@pytest.fixture(scope="module")
def memcached():
    """A stock memcached on 127.0.5.1:<free port>, yielded as 'ip:port'."""
    binary = require_executable("memcached", "/usr/bin/memcached")
    port = free_port(ADDRESS)
    command = [binary, "-l", ADDRESS, "-p", str(port), "-U", "0", "-m", str(MEMLIMIT_MB), "-t", "2", "-c", "64"]
    if os.geteuid() == 0:
        command += ["-u", "root"]  # memcached refuses to run as root without it
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_listening(ADDRESS, port, lambda: _exited(process), deadline=10.0)
        yield f"{ADDRESS}:{port}"
    finally:
        if process.poll() is None:
            os.kill(process.pid, 15)  # by the PID we started, never by name
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, 9)
                process.wait(timeout=10)
        process.stderr.close()


def send(address: str, payload: bytes, until: bytes) -> bytes:
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(payload)
        reply = b""
        while not reply.endswith(until):
            chunk = conn.recv(4096)
            if not chunk:
                break
            reply += chunk
        return reply


async def test_stats_of_a_real_memcached(memcached):
    stats = await fetch_stats(memcached, timeout=3)
    assert isinstance(stats, MemcachedStats)
    assert stats.endpoint == memcached
    assert stats.version and stats.version[0].isdigit()
    assert stats.uptime is not None and stats.uptime >= 0
    assert stats.curr_connections is not None and stats.curr_connections >= 1  # us
    assert stats.limit_maxbytes == MEMLIMIT_MB * 1024 * 1024
    assert stats.evictions == 0
    assert "pid" in stats.raw and "threads" in stats.raw


async def test_hit_ratio_and_bytes_follow_real_traffic(memcached):
    before = await fetch_stats(memcached)
    assert send(memcached, b"set arcus-tui-key 0 0 5\r\nhello\r\n", b"\r\n") == b"STORED\r\n"
    send(memcached, b"get arcus-tui-key\r\n", b"END\r\n")  # a hit
    send(memcached, b"get arcus-tui-missing\r\n", b"END\r\n")  # a miss
    after = await fetch_stats(memcached)
    assert after.get_hits - before.get_hits == 1
    assert after.get_misses - before.get_misses == 1
    assert after.cmd_get - before.cmd_get == 2
    assert after.curr_items >= 1
    assert after.bytes > 0
    assert 0 < after.memory_ratio < 1
    assert after.hit_ratio == pytest.approx(after.get_hits / (after.get_hits + after.get_misses))


async def test_fetch_many_reads_live_nodes_and_names_the_dead_ones(memcached):
    closed = f"{ADDRESS}:{free_port(ADDRESS)}"  # nothing listens there
    readings = await fetch_many([memcached, closed, memcached], timeout=3)
    assert list(readings) == [memcached, closed]  # asked once each, in order
    assert isinstance(readings[memcached], MemcachedStats)
    dead = readings[closed]
    assert isinstance(dead, StatsUnavailable)
    assert dead.endpoint == closed and dead.reason == "connection refused"


async def test_a_silent_server_is_cut_off_by_the_timeout():
    server_socket = socket.socket()
    server_socket.bind((ADDRESS, 0))
    server_socket.listen(1)  # accepts (kernel backlog), never answers
    address = f"{ADDRESS}:{server_socket.getsockname()[1]}"
    try:
        began = time.monotonic()
        with pytest.raises(asyncio.TimeoutError):
            await fetch_stats(address, timeout=0.5)
        assert time.monotonic() - began < 3
        readings = await fetch_many([address], timeout=0.5)
        assert readings[address] == StatsUnavailable(address, "no answer within 0.5 s")
    finally:
        server_socket.close()


async def test_loopback_guard_refuses_before_connecting(monkeypatch):
    monkeypatch.setenv(netguard.ENVIRONMENT_VARIABLE, "1")
    with pytest.raises(netguard.NonLoopbackTarget, match="10.0.0.1"):
        await fetch_stats("10.0.0.1:11211", timeout=0.5)
    readings = await fetch_many(["10.0.0.1:11211"], timeout=0.5)
    assert isinstance(readings["10.0.0.1:11211"], StatsUnavailable)
    assert "not a loopback address" in readings["10.0.0.1:11211"].reason


def test_parse_stats_and_formatting():
    assert parse_stats("STAT pid 1\r\nSTAT version 1.6.21\r\nEND\r\n") == {"pid": "1", "version": "1.6.21"}
    with pytest.raises(StatsError, match="ERROR"):
        parse_stats("ERROR\r\n")
    with pytest.raises(StatsError, match="before END"):
        parse_stats("STAT pid 1\r\n")
    empty = MemcachedStats("x:1", {"get_hits": "0", "get_misses": "0", "bytes": "5", "limit_maxbytes": "0"})
    assert empty.hit_ratio is None and empty.memory_ratio is None
    assert human_bytes(None) == "-" and human_bytes(512) == "512B"
    assert human_bytes(1536) == "1.5K" and human_bytes(100 * 1024 * 1024) == "100M"
    assert human_duration(45) == "45s" and human_duration(725) == "12m 5s"
    assert human_duration(3 * 3600 + 240) == "3h 4m" and human_duration(2 * 86400 + 3 * 3600) == "2d 3h"


async def test_stats_client_keeps_one_connection_per_node_and_rates_follow_traffic(memcached):
    """The monitor's client: every poll over the same connection (memcached's own
    `total_connections` does not move), `stats settings` on it too, and real traffic
    gives the rate the monitor shows."""
    client = StatsClient(timeout=3)
    try:
        first = await client.fetch(memcached)
        settings = await client.fetch(memcached, group="settings")
        assert settings.raw["maxconns"] == "64"  # memcached -c 64
        send(memcached, b"get arcus-tui-a\r\nget arcus-tui-b\r\nget arcus-tui-c\r\n", b"END\r\nEND\r\nEND\r\n")
        readings = await client.fetch_many([memcached])
        second = readings[memcached]
        assert isinstance(second, MemcachedStats)
        # one connection of ours in three asks; `send` opened one more of its own
        assert int(second.raw["total_connections"]) - int(first.raw["total_connections"]) == 1
        assert client.connects == 1
        rates = rates_between(first, second, 2.0, max_connections=int(settings.raw["maxconns"]))
        assert rates.get_per_s == pytest.approx(1.5)  # 3 gets in the 2 s we say passed
        assert rates.hit_ratio == 0.0 and rates.max_connections == 64
    finally:
        await client.close()


async def test_stats_client_keeps_no_connection_to_a_refusing_node():
    server_socket = socket.socket()
    server_socket.bind((ADDRESS, 0))
    address = f"{ADDRESS}:{server_socket.getsockname()[1]}"
    server_socket.close()  # nothing listens: refused
    client = StatsClient(timeout=0.5)
    try:
        for _ in range(3):
            readings = await client.fetch_many([address])
            assert readings[address] == StatsUnavailable(address, "connection refused")
        assert client.connects == 0  # tried once per ask, never kept a broken connection
    finally:
        await client.close()
