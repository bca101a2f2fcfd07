"""The ZooKeeper server a package carries in `zookeeper/`, for clusters that run their own members.

The deploy runs it as `ZOO_LOG_DIR=... ZOOPIDFILE=... zookeeper/bin/zkServer.sh start <cfg>` and
writes `zookeeper/conf/zoo.cfg` and `zookeeper/data/`. Two sources:

- this machine's Debian `zookeeper` (the default): its `zkServer.sh` and `zkCli.sh`, our own
  `zkEnv.sh` (below), and `zookeeper.jar` with every jar of its manifest `Class-Path`, copied
  into `zookeeper/lib/` (symlinks resolved), so that hosts need Java and nothing else;
- an Apache ZooKeeper binary distribution (`--zookeeper`), copied as it is.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from .archive import directory_top, extract_tarball, is_tarball, tarball_names, tarball_stem, tarball_top
from .errors import PackageBuildError

DEBIAN_ZOOKEEPER_BIN = Path("/usr/share/zookeeper/bin")
DEBIAN_ZOOKEEPER_JAR = Path("/usr/share/java/zookeeper.jar")
DEBIAN_CLASSPATH = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar"
# Debian's classpath has slf4j-api but no SLF4J binding, so ZooKeeper logs nothing (its
# /etc/zookeeper/conf/log4j.properties is never read). With this binding and log4j 1.2 (both
# dependencies of Debian's libzookeeper-java) and our log4j.properties it logs to ZOO_LOG_DIR.
DEBIAN_LOG_JARS = (Path("/usr/share/java/slf4j-log4j12.jar"), Path("/usr/share/java/log4j-1.2.jar"))
DEBIAN_SCRIPTS = ("zkServer.sh", "zkCli.sh")
PACKAGE_CLASSPATH = "$ZOOBINDIR/../conf:$ZOOBINDIR/../lib/*"  # java expands lib/* itself
DISTRIBUTION_MARKERS = ("bin/zkServer.sh",)
DISTRIBUTION_SKIPPED = ("docs",)  # the HTML manual: megabytes no host needs
VERSION_IN_NAME = re.compile(r"zookeeper-(\d+\.\d+\.\d+)")


def zk_env(classpath: str, title: str = "arcus-tui package") -> str:
    """Our zkEnv.sh. Debian's hard-sets ZOO_LOG_DIR=/var/log/zookeeper and /etc/zookeeper/conf, so
    every member on one machine would share one log (and a non-root user could not start at all);
    this one honours the caller's ZOO_LOG_DIR, ZOOCFGDIR and ZOOCFG."""
    return "\n".join([
        f"# {title}: Debian's ZooKeeper, with ZOO_LOG_DIR and ZOOCFGDIR honoured.",
        "ZOOMAIN=org.apache.zookeeper.server.quorum.QuorumPeerMain",
        'ZOOCFGDIR="${ZOOCFGDIR:-$ZOOBINDIR/../conf}"',
        'ZOOCFG="${ZOOCFG:-$ZOOCFGDIR/zoo.cfg}"',
        'ZOO_LOG_DIR="${ZOO_LOG_DIR:-$ZOOBINDIR/../logs}"',
        'ZOO_LOG4J_PROP="${ZOO_LOG4J_PROP:-INFO,ROLLINGFILE}"',
        "JMXLOCALONLY=true",
        "JMXDISABLE=true",
        'JAVA="${JAVA:-/usr/bin/java}"',
        f'CLASSPATH="{classpath}"',
        "",
    ])


# zkServer.sh passes -Dzookeeper.log.dir=$ZOO_LOG_DIR; 10 MB x 3 keeps a host's disk safe.
LOG4J_PROPERTIES = "\n".join([
    "# arcus-tui package: ZooKeeper's log, in ZOO_LOG_DIR (zkServer.sh passes it as zookeeper.log.dir).",
    "log4j.rootLogger=INFO, ROLLINGFILE",
    "log4j.appender.ROLLINGFILE=org.apache.log4j.RollingFileAppender",
    "log4j.appender.ROLLINGFILE.File=${zookeeper.log.dir}/zookeeper.log",
    "log4j.appender.ROLLINGFILE.MaxFileSize=10MB",
    "log4j.appender.ROLLINGFILE.MaxBackupIndex=3",
    "log4j.appender.ROLLINGFILE.layout=org.apache.log4j.PatternLayout",
    "log4j.appender.ROLLINGFILE.layout.ConversionPattern=%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n",
    "",
])


@dataclass(frozen=True)
class ZooKeeperServer:
    kind: str  # "debian" or "distribution"
    origin: Path  # Debian's zookeeper.jar, or the distribution directory / tarball
    top: str = ""  # the distribution's folder inside `origin`
    version: Optional[str] = None

    def manifest(self) -> dict:
        return {"kind": self.kind, "origin": str(self.origin), "version": self.version}


def requested_origin(distribution: Optional[Path]) -> str:
    """What a package's manifest must name for a build with this `--zookeeper` to reuse it."""
    return str(Path(distribution).expanduser().absolute()) if distribution else str(DEBIAN_ZOOKEEPER_JAR)


def find_zookeeper_server(distribution: Optional[Path] = None) -> ZooKeeperServer:
    """The server to bundle, checked before any build work; one-line errors."""
    if distribution is not None:
        return _distribution(Path(distribution).expanduser().absolute())
    if (DEBIAN_ZOOKEEPER_BIN / "zkServer.sh").is_file() and DEBIAN_ZOOKEEPER_JAR.is_file():
        return ZooKeeperServer("debian", DEBIAN_ZOOKEEPER_JAR, version=_debian_version())
    raise PackageBuildError(
        f"no ZooKeeper server to bundle: {DEBIAN_ZOOKEEPER_BIN}/zkServer.sh is missing; "
        "apt-get install zookeeper, or pass --zookeeper with an Apache ZooKeeper binary distribution")


def _debian_version() -> Optional[str]:
    try:
        done = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "zookeeper"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def _distribution(origin: Path) -> ZooKeeperServer:
    problem = PackageBuildError(
        f"--zookeeper {origin} is not an Apache ZooKeeper binary distribution "
        "(bin/zkServer.sh and lib/*.jar at its top or under its single top folder)")
    if not origin.exists():
        raise PackageBuildError(f"--zookeeper {origin} does not exist")
    if origin.is_file() and is_tarball(origin):
        top = tarball_top(origin, DISTRIBUTION_MARKERS)
        prefix = f"{top}/lib/" if top else "lib/"
        has_jars = top is not None and any(
            name.startswith(prefix) and name.endswith(".jar") for name in tarball_names(origin))
        name = top or tarball_stem(origin)
    elif origin.is_dir():
        top = directory_top(origin, DISTRIBUTION_MARKERS)
        has_jars = top is not None and any((origin / top / "lib").glob("*.jar"))
        name = top or origin.name
    else:
        raise problem
    if top is None or not has_jars:
        raise problem
    match = VERSION_IN_NAME.search(name)
    return ZooKeeperServer("distribution", origin, top, match.group(1) if match else None)


def install_zookeeper_server(server: ZooKeeperServer, destination: Path, work: Path) -> None:
    """Put the server into `destination` (the package's `zookeeper/`)."""
    if server.kind == "debian":
        _install_debian(destination)
    else:
        _install_distribution(server, destination, work)
    (destination / "conf").mkdir(parents=True, exist_ok=True)  # the deploy writes zoo.cfg here


def _install_debian(destination: Path) -> None:
    bin_dir, lib_dir, conf_dir = destination / "bin", destination / "lib", destination / "conf"
    for folder in (bin_dir, lib_dir, conf_dir):
        folder.mkdir(parents=True, exist_ok=True)
    for script in DEBIAN_SCRIPTS:
        shutil.copyfile(DEBIAN_ZOOKEEPER_BIN / script, bin_dir / script)
        (bin_dir / script).chmod(0o755)
    (bin_dir / "zkEnv.sh").write_text(zk_env(PACKAGE_CLASSPATH), encoding="utf-8")
    (bin_dir / "zkEnv.sh").chmod(0o755)
    log_jars = [jar for jar in DEBIAN_LOG_JARS if jar.exists()]
    for jar in jar_closure([DEBIAN_ZOOKEEPER_JAR, *log_jars]):
        shutil.copyfile(jar, lib_dir / jar.name)  # copyfile follows symlinks: a real file
    if len(log_jars) == len(DEBIAN_LOG_JARS):
        (conf_dir / "log4j.properties").write_text(LOG4J_PROPERTIES, encoding="utf-8")


def _install_distribution(server: ZooKeeperServer, destination: Path, work: Path) -> None:
    root = server.origin
    if server.origin.is_file():
        root = work / "zookeeper-distribution"
        extract_tarball(server.origin, root)
    tree = root / server.top if server.top else root
    shutil.copytree(tree, destination, symlinks=False, ignore=shutil.ignore_patterns(*DISTRIBUTION_SKIPPED))


def jar_closure(roots: Iterable[Path]) -> list[Path]:
    """`roots` and every jar their manifests' Class-Path names, recursively; each once, by the name
    it was referenced by. Entries that do not exist (Debian lists jline, which zkCli only wants
    for line editing) are left out, as the JVM itself would."""
    found: dict[str, Path] = {}
    pending = list(roots)
    while pending:
        jar = pending.pop(0)
        if jar.name in found or not jar.is_file():
            continue
        found[jar.name] = jar
        pending += [entry if entry.is_absolute() else jar.parent / entry for entry in _class_path(jar)]
    return list(found.values())


def _class_path(jar: Path) -> list[Path]:
    try:
        with zipfile.ZipFile(jar) as archive:
            text = archive.read("META-INF/MANIFEST.MF").decode("utf-8", "replace")
    except (KeyError, zipfile.BadZipFile, OSError):
        return []
    unfolded = text.replace("\r\n", "\n").replace("\n ", "")  # manifest lines wrap at 72 bytes
    for line in unfolded.splitlines():
        if line.startswith("Class-Path:"):
            return [Path(entry) for entry in line.split(":", 1)[1].split()]
    return []
