"""The practice ARCUS package: the layout of an ARCUS build, made from local parts.

    <dir>/bin/memcached                STAND-IN for arcus-memcached (standin_memcached.py)
    <dir>/lib/{default_engine,syslog_logger,ascii_scrub}.so   placeholders the command line names
    <dir>/zookeeper/bin/zkServer.sh    Debian's zookeeper scripts, with a zkEnv.sh of ours
    <dir>/zookeeper/conf/              zoo.cfg is written here by the deploy

The deploy engine uploads and runs it exactly as it would a real ARCUS build; it
never knows it is talking to a stand-in. The stand-in runs on each practice
host with the host's own /usr/bin/python3 and Debian's python3-kazoo, as a real
arcus-memcached runs with the host's own libraries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from arcus_tui.package.zookeeper_server import DEBIAN_CLASSPATH, DEBIAN_ZOOKEEPER_BIN, DEBIAN_ZOOKEEPER_JAR, zk_env

STOCK_MEMCACHED = Path("/usr/bin/memcached")
HOST_PYTHON = Path("/usr/bin/python3")
STANDIN_SOURCE = Path(__file__).with_name("standin_memcached.py")
ARCUS_LIBRARIES = ("default_engine.so", "syslog_logger.so", "ascii_scrub.so")

# Our zkEnv.sh (one home: arcus_tui.package.zookeeper_server), here on Debian's own jars and conf.
ZK_ENV = zk_env(DEBIAN_CLASSPATH, title="arcus-tui practice package")

README = """\
PRACTICE PACKAGE made by `arcus-tui sandbox up`; not an ARCUS build.

bin/memcached is a STAND-IN for arcus-memcached: it accepts the ARCUS command
line, runs the stock memcached ({memcached}) and performs the ZooKeeper join of
arcus-memcached (mapping lookup, ephemeral cache_list node, cache_server_log).
lib/*.so are empty placeholders for the files the ARCUS command line names.
zookeeper/ runs Debian's ZooKeeper ({jar}).
"""


class PackageError(RuntimeError):
    """A part the practice package needs is missing; the message names it and how to get it."""


@dataclass(frozen=True)
class PracticePackage:
    path: Path

    @property
    def memcached(self) -> Path:
        return self.path / "bin" / "memcached"


def missing_parts() -> list[str]:
    """What this machine lacks to build the package, each with the Debian package that brings it."""
    needs = [
        (DEBIAN_ZOOKEEPER_BIN / "zkServer.sh", "zookeeper"),
        (DEBIAN_ZOOKEEPER_JAR, "zookeeper"),
        (STOCK_MEMCACHED, "memcached"),
        (HOST_PYTHON, "python3"),
    ]
    missing = [f"{path} (apt-get install {package})" for path, package in needs if not path.exists()]
    if HOST_PYTHON.exists() and not _host_python_has_kazoo():
        missing.append(f"kazoo for {HOST_PYTHON} (apt-get install python3-kazoo)")
    return missing


def _host_python_has_kazoo() -> bool:
    import subprocess

    probe = subprocess.run([str(HOST_PYTHON), "-c", "import kazoo"], capture_output=True, timeout=30)
    return probe.returncode == 0


def build_standin_package(directory: Path) -> PracticePackage:
    """(Re)build the practice package in `directory`; the same parts give the same files."""
    missing = missing_parts()
    if missing:
        raise PackageError("cannot build the practice package; missing: " + "; ".join(missing))
    directory = Path(directory)
    for sub in ("bin", "lib", "zookeeper/bin", "zookeeper/conf"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    standin = STANDIN_SOURCE.read_text(encoding="utf-8")
    _write(directory / "bin" / "memcached", f"#!{HOST_PYTHON}\n{standin}", 0o755)
    for library in ARCUS_LIBRARIES:
        _write(directory / "lib" / library, "placeholder: the stand-in loads no engine\n", 0o644)
    for script in ("zkServer.sh", "zkCli.sh"):
        _write(directory / "zookeeper" / "bin" / script,
               (DEBIAN_ZOOKEEPER_BIN / script).read_text(encoding="utf-8"), 0o755)
    _write(directory / "zookeeper" / "bin" / "zkEnv.sh", ZK_ENV, 0o755)
    _write(directory / "README.STANDIN",
           README.format(memcached=STOCK_MEMCACHED, jar=DEBIAN_ZOOKEEPER_JAR), 0o644)
    return PracticePackage(directory)


def _write(path: Path, content: str, mode: int) -> None:
    """Write only when the content differs, so a rebuilt package uploads nothing new."""
    if not path.exists() or path.read_text(encoding="utf-8") != content:
        path.write_text(content, encoding="utf-8")
    path.chmod(mode)
