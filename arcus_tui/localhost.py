"""This machine's processes, ports and logins: the one place each is asked about.

The practice sandbox, the package builder, the test daemons (tests/infra) and the benchmarks
all start local processes, wait for their ports and make logins; they ask here, so the
answer is the same everywhere:

- a process is alive while /proc has it and it is not a zombie (a zombie has exited: it only
  waits to be reaped, and our own child is reaped here on the way);
- a port is listening when a TCP connection to it is accepted, and free when it can be bound;
- a login is made once, with a comment (GECOS) that marks who made it; one with another
  comment is not ours and is never changed.
"""

from __future__ import annotations

import errno
import os
import pwd
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, Optional

# -- processes ------------------------------------------------------------------------------


def process_alive(pid: int) -> bool:
    """True while `pid` runs. A zombie counts as gone and, when it is our own child, is reaped."""
    if pid <= 0:  # waitpid and kill read 0 and -1 as "every process of the group / of ours"
        return False
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass  # not our child: /proc tells
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def command_line(pid: int) -> Optional[str]:
    """/proc/PID/cmdline with its NULs read as spaces (as the remote pidfile checks read it),
    or None when there is no such process or it has exited (a zombie's is empty)."""
    if pid <= 0:
        return None
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace").strip() or None


# -- ports ----------------------------------------------------------------------------------


def listening(address: str, port: int, timeout: float = 1.0) -> bool:
    """Something accepts TCP connections at address:port."""
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_listening(address: str, port: int, exited: Callable[[], Optional[str]], deadline: float) -> None:
    """Wait (at most `deadline` seconds) until address:port accepts connections. `exited` says
    why the process that should listen there is gone (None while it runs): then waiting stops."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if (why := exited()) is not None:
            raise RuntimeError(f"{why} before listening on {address}:{port}")
        if listening(address, port, timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {address}:{port} after {deadline:g}s")


def port_problem(address: str, port: int) -> Optional[str]:
    """Why a server cannot listen on address:port (in use, not an address here), or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return f"{address}:{port} is already in use"
            if error.errno == errno.EADDRNOTAVAIL:
                return f"{address} is not an address of this machine"
            return f"{address}:{port}: {error.strerror}"
    return None


def free_port(address: str) -> int:
    """A port nothing listens on at `address` now (the kernel's pick)."""
    with socket.socket() as probe:
        probe.bind((address, 0))
        return probe.getsockname()[1]


# -- logins ---------------------------------------------------------------------------------


class ForeignLogin(RuntimeError):
    """A login of that name exists and was made by someone else: it is left alone."""


def login_comment(user: str) -> Optional[str]:
    """The comment (GECOS) of login `user`, None when there is no such login."""
    try:
        return pwd.getpwnam(user).pw_gecos
    except KeyError:
        return None


def ensure_login(user: str, *, home: str, comment: str, password: Optional[str],
                 shell: str = "/bin/sh", create_home: bool = True) -> pwd.struct_passwd:
    """Login `user` marked with `comment`, made once (useradd), with `password` set through
    chpasswd's stdin, or, for None, an unusable one that still lets keys in (sshd refuses a
    locked "!" account even for keys). Raises ForeignLogin for a login with another comment."""
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        subprocess.run(["useradd", "--create-home" if create_home else "--no-create-home", "--home-dir", home,
                        "--shell", shell, "--comment", comment, user], check=True, capture_output=True, timeout=30)
        entry = pwd.getpwnam(user)
    else:
        if entry.pw_gecos != comment:
            raise ForeignLogin(f"a login named {user} already exists and was not made by {comment!r}; "
                               "it is left alone")
    if password is None:
        subprocess.run(["usermod", "-p", "*", user], check=True, capture_output=True, timeout=30)
    else:
        subprocess.run(["chpasswd"], input=f"{user}:{password}\n".encode(), check=True,
                       capture_output=True, timeout=30)
    return entry
