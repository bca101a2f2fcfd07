"""The ARCUS recipes: a host's zoo.cfg and myid, and the commands that start and stop things.

Facts from docs/arcus.md#zookeeper-configuration and docs/arcus.md#the-memcached-command-line
(naver/arcus `scripts/conf/zoo.cfg`, `fabfile.py`). Every command is a plain shell string built
with quoting, so the plan can print exactly what will run.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Optional

from arcus_tui.model import Cluster, Host, Node, NodeSettings
from arcus_tui.model.node_settings import BY_NAME as NODE_SETTING_BY_NAME

from .layout import InstallLayout, shell_path
from .zookeeper_config import render_zoo_cfg

STOP_WAIT_SECONDS = 30
"""How long a stop waits for a process to exit after its signal, before reporting failure."""


def zoo_cfg(cluster: Cluster, host: Host, home: Optional[str] = None) -> str:
    """zoo.cfg for one ensemble member of the cluster, with the keys the old tool writes.

    `home` is the login's home on that host when the caller knows it (the deploy
    runner asks the host); otherwise the Linux convention is assumed."""
    data_dir = expand_home(InstallLayout(host.install_dir).zookeeper_data_dir, host, home)
    return render_zoo_cfg(cluster.zookeeper, data_dir,
                          client_address=host.address if cluster.bind_address else None,
                          servers=[(cluster.myid(member), member.address) for member in cluster.zookeeper_hosts])


def teardown_phrase(service_code: str) -> str:
    """What the operator types before a service code is deleted, as arcus.sh asked it."""
    return f"Delete {service_code}"


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

ZOOKEEPER_MAIN_CLASS = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
"""zkServer.sh runs `java ... <this class> <zoo.cfg>`."""


@dataclass(frozen=True)
class ProcessIdentity:
    """What the command line of a process we started carries: each phrase (consecutive argv
    words, `~/` paths as the login shell expands them) must appear in it. A pidfile can name a
    process that is not ours (a PID reused after a reboot, another node's file copied over):
    only a process that carries its identity is trusted as running, or signalled."""

    what: str  # for messages: "memcached :11211", "ZooKeeper"
    phrases: tuple[tuple[str, ...], ...]

    def shell_test(self, pid: str = PID) -> str:
        """Shell test: the command line of `pid` (NULs read as spaces) has every phrase."""
        command_line = f"cmd=\" $(tr '\\0' ' ' </proc/{pid}/cmdline 2>/dev/null) \""
        cases = [f"case $cmd in *{_pattern(phrase)}*) ;; *) false ;; esac" for phrase in self.phrases]
        return " && ".join([command_line] + cases)

    def matches(self, command_line: str) -> bool:
        """The same test in Python, on /proc/PID/cmdline with NULs read as spaces (sandbox use:
        absolute paths only)."""
        text = f" {command_line} "
        return all(f" {' '.join(phrase)} " in text for phrase in self.phrases)


def _pattern(phrase: tuple[str, ...]) -> str:
    """A case pattern matching ` word word ` literally (quoted, so no word can glob)."""
    words = [shell_path(word) if word.startswith("~") else shlex.quote(word) for word in phrase]
    return "' '" + "' '".join(words) + "' '"


def memcached_identity(install_dir: str, port: int) -> ProcessIdentity:
    """memcached of this install dir on this port: its binary (argv[0], or argv[1] under an
    interpreter for the stand-in) and `-p PORT`, as `memcached_argv` writes them."""
    layout = InstallLayout(install_dir)
    return ProcessIdentity(f"memcached :{port}", ((layout.memcached_binary,), ("-p", str(port))))


def zookeeper_identity(install_dir: str) -> ProcessIdentity:
    """The ZooKeeper server of this install dir: `QuorumPeerMain <its zoo.cfg>`."""
    return ProcessIdentity("ZooKeeper", ((ZOOKEEPER_MAIN_CLASS, InstallLayout(install_dir).zoo_cfg),))


def identity_of_pidfile(pidfile: str) -> ProcessIdentity:
    """The process a pidfile of the install layout belongs to; ValueError for any other path."""
    directory, _, name = pidfile.rpartition("/")
    install_dir, _, sub = directory.rpartition("/")
    if sub == "pids" and name.startswith("memcached.") and name.endswith(".pid"):
        port = name[len("memcached."):-len(".pid")]
        if port.isascii() and port.isdigit() and InstallLayout(install_dir).memcached_pidfile(int(port)) == pidfile:
            return memcached_identity(install_dir, int(port))
    zookeeper_install = pidfile.removesuffix("/zookeeper/data/zookeeper_server.pid")
    if zookeeper_install != pidfile and InstallLayout(zookeeper_install).zookeeper_pidfile == pidfile:
        return zookeeper_identity(zookeeper_install)
    raise ValueError(f"{pidfile} is no pidfile of the install layout; name the process it belongs to")


def _read_pid(pidfile: str) -> str:
    """Shell: read the pidfile into $pid; false unless it holds one positive number. (`kill -0 -1`
    "succeeds" by signalling every process we may signal, and `kill -0 0` our own group.)"""
    return (f'pid=$(cat {shell_path(pidfile)} 2>/dev/null) && '
            'case $pid in ""|0*|*[!0-9]*) false ;; esac')


def _running(pid: str) -> str:
    """Shell test: `pid` is a process that has not exited. A zombie (exited, not yet
    reaped by init) still answers kill -0, so its state letter is checked too."""
    return f'kill -0 {pid} 2>/dev/null && ! ps -o stat= -p {pid} | grep -q "^ *Z"'


def _ours_running(identity: ProcessIdentity, pid: str = PID) -> str:
    """Shell test: `pid` runs and is the process `identity` describes (a zombie's empty
    command line fails the identity too)."""
    return f"{_running(pid)} && {identity.shell_test(pid)}"


def process_alive_test(pidfile: str, identity: Optional[ProcessIdentity] = None) -> str:
    """Shell test: true when the pidfile names a live process that is the one it belongs to
    (`identity`, by default the one the install layout gives the pidfile)."""
    identity = identity or identity_of_pidfile(pidfile)
    return f"{_read_pid(pidfile)} && {_ours_running(identity)}"


def process_gone_test(pidfile: str, identity: Optional[ProcessIdentity] = None) -> str:
    """Shell test: true when there is no live process of ours behind the pidfile (already stopped)."""
    return f"! {{ {process_alive_test(pidfile, identity)}; }}"


def clear_stale_pidfile(pidfile: str, identity: Optional[ProcessIdentity] = None) -> str:
    """Shell: remove the pidfile unless it names our live process (a start runs only once the
    plan found it not running; zkServer.sh would refuse to start over any live pid in it)."""
    return f"{{ {process_alive_test(pidfile, identity)} || rm -f {shell_path(pidfile)}; }}"


def zookeeper_start(host: Host) -> str:
    layout = InstallLayout(host.install_dir)
    # The script is run by its real path (`current` resolved): its classpath then names the
    # release's own jars, which the JVM may open long after start, whatever `current` becomes.
    return (
        f"mkdir -p {shell_path(layout.zookeeper_log_dir)} && {clear_stale_pidfile(layout.zookeeper_pidfile)} && "
        f"{{ zk_server=$(readlink -e {shell_path(layout.zk_server_script)}) || "
        f"{{ echo {shlex.quote(f'no {layout.zk_server_script}: no release with a ZooKeeper server is current')} >&2; "
        f"false; }}; }} && "
        f"ZOO_LOG_DIR={shell_path(layout.zookeeper_log_dir)} "
        f"ZOOPIDFILE={shell_path(layout.zookeeper_pidfile)} "
        f'"$zk_server" start {shell_path(layout.zoo_cfg)}'
    )


def stop_by_pidfile(pidfile: str, signal: str, identity: Optional[ProcessIdentity] = None) -> str:
    """Signal the process named by `pidfile`, wait (bounded) until it is gone, then remove the file.
    A pidfile that names no live process of ours (see `ProcessIdentity`) is stale: nothing is
    signalled, the file is removed, and the stop succeeds (there is nothing of ours to stop)."""
    identity = identity or identity_of_pidfile(pidfile)
    quoted = shell_path(pidfile)
    polls = STOP_WAIT_SECONDS * 10
    stale = (f'if ! {{ {_read_pid(pidfile)} && {_ours_running(identity)}; }}; then '
             f'echo "{identity.what} is not running: the pidfile names process ${{pid:-(none)}}, '
             f'which is not it; not signalled, stale pidfile removed"; rm -f {quoted}; exit 0; fi')
    return (
        f"cat {quoted} >/dev/null || exit 1; {stale}; "
        f'kill -{signal} "$pid" || exit 1; i=0; '
        f"while {_ours_running(identity)}; do i=$((i+1)); "
        f'if [ "$i" -gt {polls} ]; then echo "process $pid still running after {STOP_WAIT_SECONDS}s" >&2; exit 1; fi; '
        f'sleep 0.1; done; rm -f {quoted}; echo "stopped process $pid"'
    )


def zookeeper_stop(host: Host) -> str:
    # zkServer.sh stop sends SIGTERM to the pid in ZOOPIDFILE; doing it ourselves lets us wait for the exit.
    return stop_by_pidfile(InstallLayout(host.install_dir).zookeeper_pidfile, "TERM")


def memcached_argv(cluster: Cluster, node: Node) -> list[str]:
    """The ARCUS memcached command line (docs/arcus.md#the-memcached-command-line) plus `-o`, `-P`
    and, if asked, `-l`."""
    layout = InstallLayout(node.host.install_dir)
    settings = node.settings
    argv = [
        layout.memcached_binary,
        "-E", layout.library("default_engine.so"),
        "-X", layout.library("syslog_logger.so"),
        "-X", layout.library("ascii_scrub.so"),
        "-d", "-v", "-r", "-R5", "-U", "0", "-D:", "-b", "8192",
        *_setting_option(settings, "memlimit"),
        "-p", str(node.port),
        *_setting_option(settings, "connections"),
        *_setting_option(settings, "threads"),
        "-z", cluster.connect_string,
        "-o", str(cluster.zookeeper.session_timeout),
        "-P", layout.memcached_pidfile(node.port),
    ]
    if cluster.bind_address:
        argv += ["-l", node.host.address]
    if node.host.user == "root":
        argv += ["-u", "root"]  # memcached refuses to run as root without naming the user
    return argv


def _setting_option(settings: NodeSettings, name: str) -> list[str]:
    """`-m 100`: a node setting as its memcached option (model/node_settings.py names both)."""
    return [NODE_SETTING_BY_NAME[name].option, str(getattr(settings, name))]


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
