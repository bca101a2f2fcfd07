"""The ARCUS recipes: zoo.cfg, myid, and the commands that start and stop things.

Facts from arcus-reference.md §5 and §7 (naver/arcus `scripts/conf/zoo.cfg`,
`fabfile.py`). Every command is a plain shell string built with quoting, so the
plan can print exactly what will run.
"""

from __future__ import annotations

import shlex
from typing import Optional

from arcus_tui.model import Cluster, Host, Node

from .layout import InstallLayout, shell_path

STOP_WAIT_SECONDS = 30
"""How long a stop waits for a process to exit after its signal, before reporting failure."""


def zoo_cfg(cluster: Cluster, host: Host, home: Optional[str] = None) -> str:
    """zoo.cfg for one ensemble member, with the keys the old tool writes.

    `home` is the login's home on that host when the caller knows it (the deploy
    runner asks the host); otherwise the Linux convention is assumed."""
    settings = cluster.zookeeper
    layout = InstallLayout(host.install_dir)
    lines = [
        "# written by arcus-tui; ARCUS defaults (naver/arcus scripts/conf/zoo.cfg)",
        f"maxClientCnxns={settings.max_client_cnxns}",
        f"tickTime={settings.tick_time}",
        f"initLimit={settings.init_limit}",
        f"syncLimit={settings.sync_limit}",
        f"dataDir={expand_home(layout.zookeeper_data_dir, host, home)}",
        f"clientPort={settings.client_port}",
    ]
    if cluster.bind_address:
        lines.append(f"clientPortAddress={host.address}")
    lines += [
        "4lw.commands.whitelist=*",
        f"minSessionTimeout={settings.min_session_timeout}",
        f"maxSessionTimeout={settings.max_session_timeout}",
    ]
    for member in cluster.zookeeper_hosts:
        myid = cluster.myid(member)
        lines.append(f"server.{myid}={member.address}:{settings.quorum_port}:{settings.election_port}")
    return "\n".join(lines) + "\n"


def expand_home(path: str, host: Host, home: Optional[str] = None) -> str:
    """Files that no shell reads (zoo.cfg) need `~` spelled out."""
    if not path.startswith("~/"):
        return path
    if home is None:
        home = "/root" if host.user == "root" else f"/home/{host.user}"
    return f"{home.rstrip('/')}/{path[2:]}"


def myid(cluster: Cluster, host: Host) -> str:
    return f"{cluster.myid(host)}\n"


PID = '"$pid"'  # the shell variable the pidfile snippets read the pid into


def _running(pid: str) -> str:
    """Shell test: `pid` is a process that has not exited. A zombie (exited, not yet
    reaped by init) still answers kill -0, so its state letter is checked too."""
    return f'kill -0 {pid} 2>/dev/null && ! ps -o stat= -p {pid} | grep -q "^ *Z"'


def process_alive_test(pidfile: str) -> str:
    """Shell test: true when the pidfile names a live process."""
    return f"pid=$(cat {shell_path(pidfile)} 2>/dev/null) && {_running(PID)}"


def process_gone_test(pidfile: str) -> str:
    """Shell test: true when there is no live process behind the pidfile (already stopped)."""
    return f"! {{ {process_alive_test(pidfile)}; }}"


def zookeeper_start(host: Host) -> str:
    layout = InstallLayout(host.install_dir)
    return (
        f"mkdir -p {shell_path(layout.zookeeper_log_dir)} && "
        f"ZOO_LOG_DIR={shell_path(layout.zookeeper_log_dir)} "
        f"ZOOPIDFILE={shell_path(layout.zookeeper_pidfile)} "
        f"{shell_path(layout.zk_server_script)} start {shell_path(layout.zoo_cfg)}"
    )


def stop_by_pidfile(pidfile: str, signal: str) -> str:
    """Signal the process named by `pidfile`, wait (bounded) until it is gone, then remove the file."""
    quoted = shell_path(pidfile)
    polls = STOP_WAIT_SECONDS * 10
    return (
        f'pid=$(cat {quoted}) || exit 1; kill -{signal} "$pid" || exit 1; i=0; '
        f"while {_running(PID)}; do i=$((i+1)); "
        f'if [ "$i" -gt {polls} ]; then echo "process $pid still running after {STOP_WAIT_SECONDS}s" >&2; exit 1; fi; '
        f'sleep 0.1; done; rm -f {quoted}; echo "stopped process $pid"'
    )


def zookeeper_stop(host: Host) -> str:
    # zkServer.sh stop sends SIGTERM to the pid in ZOOPIDFILE; doing it ourselves lets us wait for the exit.
    return stop_by_pidfile(InstallLayout(host.install_dir).zookeeper_pidfile, "TERM")


def memcached_argv(cluster: Cluster, node: Node) -> list[str]:
    """The ARCUS memcached command line (arcus-reference.md §7) plus `-o`, `-P` and, if asked, `-l`."""
    layout = InstallLayout(node.host.install_dir)
    settings = node.settings
    argv = [
        layout.memcached_binary,
        "-E", layout.library("default_engine.so"),
        "-X", layout.library("syslog_logger.so"),
        "-X", layout.library("ascii_scrub.so"),
        "-d", "-v", "-r", "-R5", "-U", "0", "-D:", "-b", "8192",
        "-m", str(settings.memlimit),
        "-p", str(node.port),
        "-c", str(settings.connections),
        "-t", str(settings.threads),
        "-z", cluster.connect_string,
        "-o", str(cluster.zookeeper.session_timeout),
        "-P", layout.memcached_pidfile(node.port),
    ]
    if cluster.bind_address:
        argv += ["-l", node.host.address]
    if node.host.user == "root":
        argv += ["-u", "root"]  # memcached refuses to run as root without naming the user
    return argv


def memcached_start(cluster: Cluster, node: Node) -> str:
    layout = InstallLayout(node.host.install_dir)
    words = " ".join(shell_path(word) if word.startswith("~") else shlex.quote(word) for word in memcached_argv(cluster, node))
    # arcus-memcached finds its own IP to look up its mapping; on shared machines
    # (the loopback sandbox) the bound address must win, which ARCUS allows via this variable.
    environment = f"ARCUS_CACHE_PUBLIC_IP={shlex.quote(node.host.address)} " if cluster.bind_address else ""
    # With -v the daemon keeps the stdout and stderr it was started with: on an SSH channel
    # that would hold the channel open for the daemon's lifetime, so they go to its own log.
    log = shell_path(layout.memcached_log(node.port))
    return (f"mkdir -p {shell_path(layout.pid_dir)} {shell_path(layout.log_dir)} && "
            f"{environment}{words} </dev/null >>{log} 2>&1")


def memcached_stop(node: Node) -> str:
    # SIGINT is arcus-memcached's graceful shutdown: it leaves ZooKeeper before exiting.
    return stop_by_pidfile(InstallLayout(node.host.install_dir).memcached_pidfile(node.port), "INT")
