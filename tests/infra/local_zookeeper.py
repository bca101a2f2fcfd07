"""Local ZooKeeper ensembles for the tests and the benchmarks: N members as processes on
loopback addresses (the practice sandbox does not use this: it deploys ZooKeeper over SSH as
on real hosts).

Used by the test suite (tests/infra/zookeeper.py) and the benchmarks (bench/zk_tree.py, the
"floor" of bench/setup_sandbox.py: three members started at once until leader + followers
answer `srvr`). Every member has its own directory::

    <base>/zk<myid>/conf/zoo.cfg       rendered by arcus_tui.deploy.zookeeper_config, as on hosts
    <base>/zk<myid>/conf/log4j.properties
    <base>/zk<myid>/data/myid
    <base>/zk<myid>/log/zookeeper.log  (+ zookeeper.out: the JVM's stdout/stderr)
    <base>/zk<myid>/zookeeper.pid

and is stopped by the PID in its pidfile (never by a process-name match); the PID is checked
to still be a ZooKeeper started with that member's zoo.cfg first.

Members run as ``java ... QuorumPeerMain <zoo.cfg>``, with the ``JAVA`` and ``CLASSPATH`` that
the installation's own ``bin/zkEnv.sh`` defines (so it works for Debian's package and for an
upstream tarball alike), not through ``zkServer.sh``: Debian's ``zkEnv.sh`` hard-sets
``ZOO_LOG_DIR=/var/log/zookeeper``, where all members would share one ``.out`` file and which a
non-root user cannot write. Debian's classpath also has no SLF4J binding, so ZooKeeper logs
nothing; we add ``slf4j-log4j12`` + ``log4j-1.2`` from /usr/share/java (when present and no
binding is on the classpath yet) with a per-member ``log4j.properties`` writing
``<member>/log/zookeeper.log`` (rolling, 10 MB x 3).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Sequence

from arcus_tui.deploy.recipes import ZOOKEEPER_MAIN_CLASS
from arcus_tui.deploy.zookeeper_config import render_zoo_cfg
from arcus_tui.events import EventSink, ignore_events
from arcus_tui.localhost import command_line, port_problem, process_alive
from arcus_tui.model import ZooKeeperSettings

DEFAULT_ZK_HOME = Path("/usr/share/zookeeper")
DEFAULT_JVM_FLAGS = ("-Xms32m", "-Xmx256m", "-XX:+UseSerialGC")
LOCAL_EXTRAS = {"admin.enableServer": "false"}
"""No AdminServer: Jetty on 0.0.0.0:8080 would clash between members sharing a machine."""

SLF4J_BINDINGS = ("slf4j-log4j12", "slf4j-reload4j", "logback-classic", "log4j-slf4j")
DEBIAN_LOG4J_JARS = (Path("/usr/share/java/slf4j-log4j12.jar"), Path("/usr/share/java/log4j-1.2.jar"))


class LocalZooKeeperError(RuntimeError):
    pass


@dataclass(frozen=True)
class LocalMember:
    myid: int
    address: str
    client_port: int

    @property
    def client_address(self) -> str:
        return f"{self.address}:{self.client_port}"


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


class LocalEnsemble:
    """N ZooKeeper members on this machine. Not thread-safe; one owner at a time."""

    def __init__(
        self,
        base_dir: Path | str,
        addresses: Iterable[str],
        *,
        client_port: int = ZooKeeperSettings.client_port,
        zk_home: Path | str = DEFAULT_ZK_HOME,
        jvm_flags: Sequence[str] = DEFAULT_JVM_FLAGS,
    ) -> None:
        self.base_dir = Path(base_dir).resolve()
        self.settings = ZooKeeperSettings(client_port=client_port)  # ARCUS's zoo.cfg defaults
        self.members = tuple(LocalMember(i, str(a), client_port) for i, a in enumerate(addresses, start=1))
        if not self.members:
            raise ValueError("an ensemble needs at least one member")
        self.zk_home = Path(zk_home)
        self.jvm_flags = tuple(jvm_flags)
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

    def zoo_cfg(self, m: LocalMember) -> str:
        # a single member runs standalone: no server.N lines
        servers = [(other.myid, other.address) for other in self.members] if len(self.members) > 1 else []
        return render_zoo_cfg(self.settings, str(self.data_dir(m)), client_address=m.address,
                              servers=servers, extra=LOCAL_EXTRAS)

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
            self.config_path(m).write_text(self.zoo_cfg(m))
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
        if not process_alive(pid):
            return None
        line = command_line(pid)
        for _ in range(50):  # a process in the middle of execve shows an empty cmdline
            if line or not process_alive(pid):
                break
            time.sleep(0.01)
            line = command_line(pid)
        words = f" {line or ''} "
        if f" {self.config_path(m)} " not in words or ZOOKEEPER_MAIN_CLASS not in words:
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
        ports = (self.settings.client_port, self.settings.quorum_port, self.settings.election_port)
        problems = [p for m in to_start for port in ports if (p := port_problem(m.address, port))]
        if problems:
            raise LocalZooKeeperError("cannot start ZooKeeper: " + "; ".join(problems))
        self.prepare(clean=clean)
        for m in to_start:
            self.pidfile(m).unlink(missing_ok=True)
        self._start_java(to_start)
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
                ZOOKEEPER_MAIN_CLASS,
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

    def _last_output(self, m: LocalMember) -> str:
        for name in ("zookeeper.out", "zookeeper.log"):
            f = self.log_dir(m) / name
            if f.exists() and f.stat().st_size:
                lines = f.read_text(errors="replace").strip().splitlines()
                return f"{f}: " + " | ".join(lines[-3:])
        return "no output"

    def stop(self, *, timeout: float = 15.0) -> list[int]:
        """SIGTERM every running member by its pidfile PID, wait up to ``timeout`` s,
        then SIGKILL what is left. Returns the PIDs that were stopped."""
        targets = {m.myid: (m, pid) for m in self.members if (pid := self.running_pid(m))}
        self._signal([pid for _, pid in targets.values()], signal.SIGTERM)
        if not self._wait_gone(targets, timeout):
            self._signal([pid for _, pid in targets.values() if process_alive(pid)], signal.SIGKILL)
            self._wait_gone(targets, 5.0)
        for m, pid in targets.values():
            if not process_alive(pid):
                self.pidfile(m).unlink(missing_ok=True)
        return [pid for _, pid in targets.values()]

    @staticmethod
    def _signal(pids: list[int], sig: signal.Signals) -> None:
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def _wait_gone(self, targets: dict[int, tuple[LocalMember, int]], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / 0.05) + 1):
            self._reap()
            if not any(process_alive(pid) for _, pid in targets.values()):
                return True
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        return False

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
