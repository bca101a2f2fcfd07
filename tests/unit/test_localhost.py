"""arcus_tui/localhost.py: one answer for "is this process alive", "is this port listening"
and "make this login", on this machine's real processes and sockets."""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
import sys
import time

import pytest

from arcus_tui import localhost


def test_a_running_process_is_alive_and_an_exited_child_is_not_even_before_it_is_reaped():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert localhost.process_alive(child.pid)
        for _ in range(500):  # until the fork has exec'd (before, /proc shows the parent's command line)
            if "time.sleep(30)" in (localhost.command_line(child.pid) or ""):
                break
            time.sleep(0.01)
        assert "time.sleep(30)" in localhost.command_line(child.pid)
    finally:
        child.kill()
    for _ in range(200):  # the zombie: exited, not reaped by anyone yet
        if open(f"/proc/{child.pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z":
            break
        time.sleep(0.01)
    assert not localhost.process_alive(child.pid)
    assert not os.path.exists(f"/proc/{child.pid}")  # our own zombie was reaped on the way
    assert localhost.command_line(child.pid) is None


@pytest.mark.parametrize("pid", [0, -1])
def test_no_pid_that_means_a_group_is_alive(pid):
    assert not localhost.process_alive(pid)


def test_listening_free_and_in_use():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        assert localhost.listening("127.0.0.1", port)
        assert localhost.port_problem("127.0.0.1", port) == f"127.0.0.1:{port} is already in use"
    free = localhost.free_port("127.0.0.1")
    assert not localhost.listening("127.0.0.1", free) and localhost.port_problem("127.0.0.1", free) is None


def test_wait_listening_stops_when_the_process_is_gone():
    port = localhost.free_port("127.0.0.1")
    with pytest.raises(RuntimeError, match="exited with 3 before listening"):
        localhost.wait_listening("127.0.0.1", port, lambda: "exited with 3", deadline=5)
    with pytest.raises(RuntimeError, match="nothing listens"):
        localhost.wait_listening("127.0.0.1", port, lambda: None, deadline=0.2)


def test_a_login_made_by_someone_else_is_left_alone(monkeypatch):
    calls = []
    someone = pwd.struct_passwd(("alice", "x", 1500, 1500, "Alice", "/home/alice", "/bin/sh"))
    monkeypatch.setattr(localhost.pwd, "getpwnam", lambda user: someone)
    monkeypatch.setattr(localhost.subprocess, "run", lambda *a, **k: calls.append(a))
    with pytest.raises(localhost.ForeignLogin, match="alice"):
        localhost.ensure_login("alice", home="/home/alice", comment="arcus-tui test login", password="pw")
    assert calls == []
