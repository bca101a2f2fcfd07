"""Local ZooKeeper ensembles: N members as processes on loopback addresses.

Used by the practice sandbox, the test suite (tests/infra/zookeeper.py) and the
benchmark "floor" (three members started at once until leader + followers answer
`srvr`). Every member has its own directory::

    <base>/zk<myid>/conf/zoo.cfg       clientPortAddress=<its ip>, server.N lines, ARCUS defaults (§5)
    <base>/zk<myid>/conf/log4j.properties
    <base>/zk<myid>/data/myid
    <base>/zk<myid>/log/zookeeper.log  (+ zookeeper.out: the JVM's stdout/stderr)
    <base>/zk<myid>/zookeeper.pid

and is stopped by the PID in its pidfile (never by a process-name match); the PID
is checked to still be a ZooKeeper started with that member's zoo.cfg first.

Two launchers:

``java`` (default)
    Runs ``java ... QuorumPeerMain <zoo.cfg>`` directly, with the ``JAVA`` and
    ``CLASSPATH`` that the installation's own ``bin/zkEnv.sh`` defines (so it works
    for Debian's package and for an upstream tarball alike). Chosen because Debian's
    ``zkEnv.sh`` hard-sets ``ZOO_LOG_DIR=/var/log/zookeeper``: through
    ``zkServer.sh`` all members share one ``.out`` file there, a non-root user cannot
    start at all (that directory belongs to the ``zookeeper`` user), and the script
    sleeps a fixed second. Debian's classpath also has no SLF4J binding, so ZooKeeper
    logs nothing; we add ``slf4j-log4j12`` + ``log4j-1.2`` from /usr/share/java (when
    present and no binding is on the classpath yet) with a per-member
    ``log4j.properties`` writing ``<member>/log/zookeeper.log`` (rolling, 10 MB x 3).

``zkserver``
    ``ZOOPIDFILE=<pidfile> zkServer.sh start <zoo.cfg>``, exactly as the deploy
    engine does on a host. ``SERVER_JVMFLAGS`` carries ``-Dzookeeper.log.dir=<member
    log>`` (a later ``-D`` wins over the script's), and ``HOSTNAME=zk<myid>`` makes
    the script's ``.out`` file distinct per member, but on Debian that file still
    lands in /var/log/zookeeper (root only).
"""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal, Mapping, Optional, Sequence

from arcus_tui.events import EventSink, ignore_events

DEFAULT_ZK_HOME = Path("/usr/share/zookeeper")
DEFAULT_JVM_FLAGS = ("-Xms32m", "-Xmx256m", "-XX:+UseSerialGC")
QUORUM_MAIN = "org.apache.zookeeper.server.quorum.QuorumPeerMain"

# naver/arcus scripts/conf/zoo.cfg, arcus-reference.md §5
ARCUS_ZOO_DEFAULTS: Mapping[str, str] = {
    "tickTime": "2000",
    "initLimit": "10",
    "syncLimit": "5",
    "maxClientCnxns": "100",
    "4lw.commands.whitelist": "*",
    "minSessionTimeout": "4000",
    "maxSessionTimeout": "200000",
}
# Local additions: no AdminServer (Jetty on 0.0.0.0:8080 would clash between members
# sharing a machine and with anything else there).
LOCAL_EXTRAS: Mapping[str, str] = {"admin.enableServer": "false"}

SLF4J_BINDINGS = ("slf4j-log4j12", "slf4j-reload4j", "logback-classic", "log4j-slf4j")
DEBIAN_LOG4J_JARS = (Path("/usr/share/java/slf4j-log4j12.jar"), Path("/usr/share/java/log4j-1.2.jar"))

Launcher = Literal["java", "zkserver"]


class LocalZooKeeperError(RuntimeError):
    pass


@dataclass(frozen=True)
class LocalMember:
    myid: int
    address: str
    client_port: int = 2181
    quorum_port: int = 2888
    election_port: int = 3888

    @property
    def client_address(self) -> str:
        return f"{self.address}:{self.client_port}"

    @property
    def server_line(self) -> str:
        return f"server.{self.myid}={self.address}:{self.quorum_port}:{self.election_port}"


def render_zoo_cfg(
    member: LocalMember,
    members: Sequence[LocalMember],
    data_dir: Path,
    extra: Optional[Mapping[str, str]] = None,
) -> str:
    settings = {**ARCUS_ZOO_DEFAULTS, **LOCAL_EXTRAS, **(extra or {})}
    lines = ["# written by arcus-tui (local ensemble); ARCUS defaults from naver/arcus scripts/conf/zoo.cfg"]
    lines += [f"{k}={v}" for k, v in settings.items()]
    lines += [
        f"dataDir={data_dir}",
        f"clientPort={member.client_port}",
        f"clientPortAddress={member.address}",
    ]
    if len(members) > 1:  # a single member runs standalone
        lines += [m.server_line for m in members]
    return "\n".join(lines) + "\n"


def _log4j_properties(log_file: Path) -> str:
    return "\n".join(
        [
            "log4j.rootLogger=INFO, ROLLINGFILE",
            "log4j.appender.ROLLINGFILE=org.apache.log4j.RollingFileAppender",
            f"log4j.appender.ROLLINGFILE.File={log_file}",
            "log4j.appender.ROLLINGFILE.MaxFileSize=10MB",
            "log4j.appender.ROLLINGFILE.MaxBackupIndex=3",
            "log4j.appender.ROLLINGFILE.layout=org.apache.log4j.PatternLayout",
            "log4j.appender.ROLLINGFILE.layout.ConversionPattern=%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n",
            "",
        ]
    )


def zookeeper_installed(zk_home: Path = DEFAULT_ZK_HOME) -> Optional[str]:
    """None when usable, else what is missing (for skip/fail messages)."""
    script = Path(zk_home) / "bin" / "zkServer.sh"
    if not script.exists():
        return f"ZooKeeper is not installed ({script} missing; Debian: apt-get install zookeeper)"
    if not (Path(zk_home) / "bin" / "zkEnv.sh").exists():
        return f"{zk_home}/bin/zkEnv.sh missing"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no java on PATH (ZooKeeper needs a JRE)"
    return None


def java_and_classpath(zk_home: Path = DEFAULT_ZK_HOME) -> tuple[str, str]:
    """``JAVA`` and ``CLASSPATH`` as the installation's zkEnv.sh defines them."""
    bindir = Path(zk_home) / "bin"
    script = 'ZOOBINDIR="$1"; . "$1/zkEnv.sh" >/dev/null 2>&1; printf "%s\\0%s\\0" "${JAVA:-java}" "$CLASSPATH"'
    out = subprocess.run(
        ["bash", "-c", script, "zkenv", str(bindir)],
        capture_output=True,
        timeout=15,
        cwd=str(bindir),
        check=False,
    )
    parts = out.stdout.decode().split("\0")
    if out.returncode != 0 or len(parts) < 2 or not parts[1]:
        raise LocalZooKeeperError(f"could not read JAVA/CLASSPATH from {bindir}/zkEnv.sh: {out.stderr.decode()[-300:]}")
    java = parts[0]
    if os.sep not in java:
        java = shutil.which(java) or java
    return java, parts[1]


def _has_binding(classpath: str) -> bool:
    return any(b in entry for entry in classpath.split(":") for b in SLF4J_BINDINGS)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        return state != b"Z"
    except (OSError, IndexError):
        return True


def _cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def _port_problem(address: str, port: int) -> Optional[str]:
    """Why ``address:port`` cannot be listened on, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"{address}:{port} is already in use"
            if exc.errno == errno.EADDRNOTAVAIL:
                return f"{address} is not an address of this machine"
            return f"{address}:{port}: {exc.strerror}"
    return None


class LocalEnsemble:
    """N ZooKeeper members on this machine. Not thread-safe; one owner at a time."""

    def __init__(
        self,
        base_dir: Path | str,
        addresses: Iterable[str] | Sequence[LocalMember],
        *,
        client_port: int = 2181,
        quorum_port: int = 2888,
        election_port: int = 3888,
        zk_home: Path | str = DEFAULT_ZK_HOME,
        launcher: Launcher = "java",
        jvm_flags: Sequence[str] = DEFAULT_JVM_FLAGS,
        extra_config: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.base_dir = Path(base_dir).resolve()
        items = list(addresses)
        if items and isinstance(items[0], LocalMember):
            self.members: tuple[LocalMember, ...] = tuple(items)  # type: ignore[arg-type]
        else:
            self.members = tuple(
                LocalMember(i, str(a), client_port, quorum_port, election_port) for i, a in enumerate(items, start=1)
            )
        if not self.members:
            raise ValueError("an ensemble needs at least one member")
        if len({m.myid for m in self.members}) != len(self.members):
            raise ValueError("member ids must be unique")
        self.zk_home = Path(zk_home)
        if launcher not in ("java", "zkserver"):
            raise ValueError(f"unknown launcher {launcher!r}")
        self.launcher: Launcher = launcher
        self.jvm_flags = tuple(jvm_flags)
        self.extra_config = dict(extra_config or {})
        self._procs: dict[int, subprocess.Popen] = {}

    # -- where things are -------------------------------------------------------------

    @property
    def connection_string(self) -> str:
        return ",".join(m.client_address for m in self.members)

    @property
    def client_addresses(self) -> list[str]:
        return [m.client_address for m in self.members]

    def member_dir(self, m: LocalMember) -> Path:
        return self.base_dir / f"zk{m.myid}"

    def config_path(self, m: LocalMember) -> Path:
        return self.member_dir(m) / "conf" / "zoo.cfg"

    def data_dir(self, m: LocalMember) -> Path:
        return self.member_dir(m) / "data"

    def log_dir(self, m: LocalMember) -> Path:
        return self.member_dir(m) / "log"

    def pidfile(self, m: LocalMember) -> Path:
        return self.member_dir(m) / "zookeeper.pid"

    # -- set up -----------------------------------------------------------------------

    def prepare(self, *, clean: bool = False) -> None:
        """Write every member's zoo.cfg, myid and log config. ``clean`` wipes data and
        logs first (refused while a member runs)."""
        for m in self.members:
            if clean:
                if self.running_pid(m):
                    raise LocalZooKeeperError(f"zk{m.myid} is running; stop it before cleaning")
                shutil.rmtree(self.data_dir(m), ignore_errors=True)
                shutil.rmtree(self.log_dir(m), ignore_errors=True)
            for d in (self.config_path(m).parent, self.data_dir(m), self.log_dir(m)):
                d.mkdir(parents=True, exist_ok=True)
            self.config_path(m).write_text(render_zoo_cfg(m, self.members, self.data_dir(m), self.extra_config))
            (self.data_dir(m) / "myid").write_text(f"{m.myid}\n")
            (self.config_path(m).parent / "log4j.properties").write_text(
                _log4j_properties(self.log_dir(m) / "zookeeper.log")
            )

    # -- state ------------------------------------------------------------------------

    def running_pid(self, m: LocalMember) -> Optional[int]:
        """The PID in the member's pidfile if that process is alive AND is a ZooKeeper
        started with this member's zoo.cfg (so a recycled PID is never ours)."""
        try:
            pid = int(self.pidfile(m).read_text().strip())
        except (OSError, ValueError):
            return None
        proc = self._procs.get(m.myid)
        if proc is not None and proc.pid == pid:  # our own child: no need to guess
            return pid if proc.poll() is None else None
        if not _pid_alive(pid):
            return None
        cmd = _cmdline(pid)
        for _ in range(50):  # a process in the middle of execve shows an empty cmdline
            if cmd or not _pid_alive(pid):
                break
            time.sleep(0.01)
            cmd = _cmdline(pid)
        if str(self.config_path(m)) not in cmd or not any(QUORUM_MAIN in a for a in cmd):
            return None
        return pid

    def running(self) -> dict[int, int]:
        return {m.myid: pid for m in self.members if (pid := self.running_pid(m))}

    # -- start / stop -----------------------------------------------------------------

    def start(self, *, clean: bool = False) -> dict[int, int]:
        """Start every member that is not running (all at once); returns myid -> pid.

        Members already running are left alone (idempotent). Checks first that every
        port is free, so a clash is reported by name instead of as a silent JVM exit."""
        missing = zookeeper_installed(self.zk_home)
        if missing:
            raise LocalZooKeeperError(missing)
        running = self.running()
        to_start = [m for m in self.members if m.myid not in running]
        if not to_start:
            return running
        if clean and running:
            raise LocalZooKeeperError("cannot clean while members run: " + ", ".join(f"zk{i}" for i in running))
        problems = [
            p
            for m in to_start
            for port in (m.client_port, m.quorum_port, m.election_port)
            if (p := _port_problem(m.address, port))
        ]
        if problems:
            raise LocalZooKeeperError("cannot start ZooKeeper: " + "; ".join(problems))
        self.prepare(clean=clean)
        for m in to_start:
            self.pidfile(m).unlink(missing_ok=True)
        if self.launcher == "java":
            self._start_java(to_start)
        else:
            self._start_zkserver(to_start)
        started = self.running()
        failed = [m for m in to_start if m.myid not in started]
        if failed:
            self.stop()
            details = "; ".join(f"zk{m.myid}: {self._last_output(m)}" for m in failed)
            raise LocalZooKeeperError(f"ZooKeeper member(s) did not start: {details}")
        return started

    def _start_java(self, members: Sequence[LocalMember]) -> None:
        java, classpath = java_and_classpath(self.zk_home)
        if not _has_binding(classpath) and all(j.exists() for j in DEBIAN_LOG4J_JARS):
            classpath = ":".join([classpath, *map(str, DEBIAN_LOG4J_JARS)])
        for m in members:
            log_dir = self.log_dir(m)
            argv = [
                java,
                f"-Dzookeeper.log.dir={log_dir}",
                "-Dzookeeper.log.file=zookeeper.log",
                f"-Dlog4j.configuration=file:{self.config_path(m).parent / 'log4j.properties'}",
                *self.jvm_flags,
                "-cp",
                classpath,
                QUORUM_MAIN,
                str(self.config_path(m)),
            ]
            with open(log_dir / "zookeeper.out", "ab") as out:
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=str(self.member_dir(m)),
                    start_new_session=True,  # a Ctrl-C in the terminal does not reach it
                    close_fds=True,
                )
            self._procs[m.myid] = proc
            tmp = self.pidfile(m).with_suffix(".pid.tmp")
            tmp.write_text(f"{proc.pid}\n")
            tmp.replace(self.pidfile(m))

    def _start_zkserver(self, members: Sequence[LocalMember]) -> None:
        script = self.zk_home / "bin" / "zkServer.sh"
        procs = []
        for m in members:
            env = dict(os.environ)
            env.update(
                ZOOPIDFILE=str(self.pidfile(m)),
                SERVER_JVMFLAGS=" ".join(
                    [
                        f"-Dzookeeper.log.dir={self.log_dir(m)}",
                        f"-Dlog4j.configuration=file:{self.config_path(m).parent / 'log4j.properties'}",
                        *self.jvm_flags,
                    ]
                ),
                HOSTNAME=f"zk{m.myid}",
            )
            procs.append(
                (
                    m,
                    subprocess.Popen(
                        [str(script), "start", str(self.config_path(m))],
                        env=env,
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT,
                        cwd=str(self.member_dir(m)),
                        start_new_session=True,
                    ),
                )
            )
        for m, p in procs:  # the scripts run concurrently; each sleeps ~1 s
            try:
                output, _ = p.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                output, _ = p.communicate()
            (self.log_dir(m) / "zkServer-start.txt").write_bytes(output or b"")

    def _last_output(self, m: LocalMember) -> str:
        for name in ("zookeeper.out", "zkServer-start.txt", "zookeeper.log"):
            f = self.log_dir(m) / name
            if f.exists() and f.stat().st_size:
                lines = f.read_text(errors="replace").strip().splitlines()
                return f"{f}: " + " | ".join(lines[-3:])
        return "no output"

    def stop(self, *, timeout: float = 15.0) -> list[int]:
        """SIGTERM every running member by its pidfile PID, wait up to ``timeout`` s,
        then SIGKILL what is left. Returns the PIDs that were stopped."""
        targets = {m.myid: (m, pid) for m in self.members if (pid := self.running_pid(m))}
        for _, pid in targets.values():
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / 0.05) + 1):
            self._reap()
            if not any(_pid_alive(pid) for _, pid in targets.values()) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        for _, pid in targets.values():
            if _pid_alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for _ in range(100):
            self._reap()
            if not any(_pid_alive(pid) for _, pid in targets.values()):
                break
            time.sleep(0.05)
        for m, pid in targets.values():
            if not _pid_alive(pid):
                self.pidfile(m).unlink(missing_ok=True)
        return [pid for _, pid in targets.values()]

    def stop_member(self, myid: int, *, timeout: float = 15.0) -> Optional[int]:
        """Stop one member (e.g. to show a follower going away)."""
        member = next(m for m in self.members if m.myid == myid)
        solo = LocalEnsemble(self.base_dir, [member], zk_home=self.zk_home)
        solo._procs = {myid: self._procs[myid]} if myid in self._procs else {}
        stopped = solo.stop(timeout=timeout)
        self._reap()
        return stopped[0] if stopped else None

    def _reap(self) -> None:
        for myid, proc in list(self._procs.items()):
            if proc.poll() is not None:
                del self._procs[myid]

    # -- readiness --------------------------------------------------------------------

    async def wait_ready(self, deadline: float = 60.0, on_event: EventSink = ignore_events, **kwargs):
        """Wait until one leader and the rest followers answer `srvr` (or, for one
        member, standalone). Returns the `QuorumResult`. Fails at once, with the
        member's last output, if one of our member processes exits meanwhile."""
        from arcus_tui.zk.fourletter import wait_for_quorum

        waiting = asyncio.ensure_future(wait_for_quorum(self.client_addresses, deadline, on_event, **kwargs))
        try:
            for _ in range(int(deadline / 0.5) + 10):  # bounded; wait_for_quorum ends by the deadline anyway
                done, _ = await asyncio.wait({waiting}, timeout=0.5)
                if done:
                    return waiting.result()
                gone = [m for m in self.members if m.myid in self._procs and self._procs[m.myid].poll() is not None]
                if gone:
                    details = "; ".join(f"zk{m.myid} exited: {self._last_output(m)}" for m in gone)
                    raise LocalZooKeeperError(f"ZooKeeper member(s) died while waiting for quorum: {details}")
            return await waiting
        finally:
            if not waiting.done():
                waiting.cancel()
                try:
                    await waiting
                except (asyncio.CancelledError, Exception):
                    pass

    async def start_and_wait(self, deadline: float = 60.0, on_event: EventSink = ignore_events, *, clean: bool = False):
        """`start` then `wait_ready`: the benchmark floor in one call. Returns
        ``(seconds from start to quorum, QuorumResult)``."""
        began = time.monotonic()
        await asyncio.to_thread(self.start, clean=clean)
        result = await self.wait_ready(deadline, on_event)
        return time.monotonic() - began, result


__all__ = [
    "ARCUS_ZOO_DEFAULTS",
    "DEFAULT_ZK_HOME",
    "LocalEnsemble",
    "LocalMember",
    "LocalZooKeeperError",
    "java_and_classpath",
    "render_zoo_cfg",
    "zookeeper_installed",
]
