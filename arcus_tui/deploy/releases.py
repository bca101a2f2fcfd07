"""Versioned releases on a host: upgrade and rollback without touching what the cloud keeps.

Each package is uploaded into `<install_dir>/releases/<release id>/` and never changed after:
another build is another release id, so it gets a directory of its own. `current` is a
relative symlink to `releases/<id>`, switched atomically (a new link renamed over the old
one: a start sees the old release or the new one, never none); `previous` names the release
an upgrade replaced, which is where `rollback` goes. A rollback does not move `previous`, so
running it twice is the same as once (current = previous), and re-running an interrupted
one only finishes it.

Which release a node RUNS is what its process was started from: `/proc/<pid>/exe` names
the real file (`current` resolved when it started), `<install_dir>/releases/<id>/bin/memcached`.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import re
import shlex
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

from arcus_tui.events import HostState, ignore_events
from arcus_tui.model import Cluster, Host
from arcus_tui.package.manifest import MANIFEST_NAME
from arcus_tui.ssh.hostkeys import HostKeyAsker
from arcus_tui.ssh.paths import SshPaths
from arcus_tui.ssh.results import HostResult
from arcus_tui.ssh.session import HostWork, Limits, SshSession
from arcus_tui.ssh.target import targets_for
from arcus_tui.ssh.upload import UnsafePackage, is_tarball, scan_package

from . import actions
from .layout import CURRENT, PREVIOUS, RELEASES, InstallLayout, shell_path
from .recipes import process_alive_test

SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,79}$")
"""A release id is one path component any shell, SFTP and `ls` show as it is."""
UNREADABLE = "unreadable-package"
"""The id of a package that cannot be read on the gateway: its upload is refused anyway."""
UNVERSIONED = "unversioned"
DIGEST_CHARS = 12
MANIFEST_LIMIT = 1 << 20  # bytes of MANIFEST.json read from a tarball, at most


# -- the release id of a package ---------------------------------------------------------------


def release_id(package: Union[str, Path]) -> str:
    """`<source version>-<12 hex of sha256 over the package's files>`: stable for the same
    package, different for any other build (MANIFEST.json records the build time, so even a
    rebuild of the same source differs) and a safe file name. The version is MANIFEST.json's
    `source.version`, `unversioned` without one."""
    path = Path(package).expanduser()
    try:
        if path.is_file():
            return _id(_tarball_version(path), _file_digest(path, path.stat().st_size, path.stat().st_mtime_ns))
        if path.is_dir():
            return _id(_manifest_version(path), _directory_digest(path, _signature(path)))
    except (OSError, ValueError, tarfile.TarError):
        pass
    return UNREADABLE


def _id(version: str, digest: str) -> str:
    return f"{version}-{digest[:DIGEST_CHARS]}"


def _safe_version(manifest: Optional[dict]) -> str:
    source = manifest.get("source") if isinstance(manifest, dict) else None
    version = source.get("version") if isinstance(source, dict) else None
    text = re.sub(r"[^A-Za-z0-9._+]+", "_", str(version or "")).strip("._")[:40]
    return text or UNVERSIONED


def _manifest_version(directory: Path) -> str:
    try:
        return _safe_version(json.loads((directory / MANIFEST_NAME).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return UNVERSIONED


def _tarball_version(tarball: Path) -> str:
    if not is_tarball(tarball):
        return UNVERSIONED
    with tarfile.open(tarball) as archive:
        for member in archive:
            if member.name.lstrip("./") == MANIFEST_NAME and member.isfile() and member.size <= MANIFEST_LIMIT:
                data = archive.extractfile(member)
                try:
                    return _safe_version(json.load(io.TextIOWrapper(data, encoding="utf-8")))
                except ValueError:
                    return UNVERSIONED
    return UNVERSIONED


def _signature(directory: Path) -> tuple:
    """Names, sizes and times of every file: when none changed, neither did the digest."""
    entries = []
    for top, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(top, name)
            try:
                stat = os.stat(path)  # a link: what it leads to, as the upload reads it
                entries.append((path, stat.st_size, stat.st_mtime_ns))
            except OSError:
                entries.append((path, None, None))
    return tuple(entries)


@functools.lru_cache(maxsize=16)
def _directory_digest(directory: Path, signature: tuple) -> str:
    """sha256 over `name sha256` of every file the upload sends (plans are made often: cached)."""
    try:
        files, _ = scan_package(directory)
    except UnsafePackage as refused:
        raise ValueError(str(refused)) from None
    listing = "".join(f"{f.rel}\0{f.sha256}\n" for f in sorted(files, key=lambda f: f.rel))
    return hashlib.sha256(listing.encode()).hexdigest()


@functools.lru_cache(maxsize=16)
def _file_digest(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- switching current ---------------------------------------------------------------------------


def _link(release: str) -> str:
    return f"{RELEASES}/{release}"


def switched_test(install_dir: str, release: str) -> str:
    """Shell test: `current` already points at `release` (the switch has nothing to do)."""
    current = shell_path(InstallLayout(install_dir).current)
    return f'[ "$(readlink {current} 2>/dev/null)" = {shlex.quote(_link(release))} ]'


def switch_command(install_dir: str, release: str, *, record_previous: bool = True) -> str:
    """Make `current` point at `release` in one rename (`ln -sfn` + `mv -T`); with
    `record_previous`, `previous` first names what current pointed at (if anything else)."""
    target = shlex.quote(_link(release))
    missing = shlex.quote(f"no {InstallLayout(install_dir).release_dir(release)}: nothing switched")
    parts = [f"cd {shell_path(install_dir)} || exit 1",
             f"test -d {target} || {{ echo {missing} >&2; exit 1; }}"]
    if record_previous:
        parts += [f"old=$(readlink {CURRENT} 2>/dev/null)",
                  f'if [ -n "$old" ] && [ "$old" != {target} ]; then '
                  f'ln -sfn "$old" {PREVIOUS}.new && mv -T {PREVIOUS}.new {PREVIOUS} || exit 1; fi']
    parts.append(f"ln -sfn {target} {CURRENT}.new && mv -T {CURRENT}.new {CURRENT}")
    return "; ".join(parts)


def switch_action(install_dir: str, release: str, *, record_previous: bool = True) -> actions.RunCommand:
    return actions.RunCommand(switch_command(install_dir, release, record_previous=record_previous),
                              unless=switched_test(install_dir, release), already=f"release {release} is current")


# -- what a host has and runs --------------------------------------------------------------------


@dataclass(frozen=True)
class NodeRelease:
    port: int
    running: bool
    release: Optional[str] = None  # None: not running, or started from no release (see `exe`)
    exe: str = ""  # what /proc/<pid>/exe names

    def describe(self) -> str:
        if not self.running:
            return "not running"
        if self.release:
            return f"runs {self.release}" + (" (its files were replaced since)" if self.exe.endswith(" (deleted)") else "")
        return f"runs {self.exe or 'an unknown executable'} (no release)"


@dataclass(frozen=True)
class HostReleases:
    host: str
    install_dir: str
    installed: tuple[str, ...] = ()
    current: Optional[str] = None  # the release id, or the link's text when it names no release
    previous: Optional[str] = None
    nodes: tuple[NodeRelease, ...] = ()
    zookeeper: Optional[str] = None  # the release the ZooKeeper member runs, when it shows
    zookeeper_running: bool = False

    def node(self, port: int) -> Optional[NodeRelease]:
        return next((node for node in self.nodes if node.port == port), None)

    def to_json(self) -> dict:
        return {"host": self.host, "install_dir": self.install_dir, "installed": list(self.installed),
                "current": self.current, "previous": self.previous,
                "nodes": [{"port": n.port, "running": n.running, "release": n.release, "exe": n.exe}
                          for n in self.nodes],
                "zookeeper": {"running": self.zookeeper_running, "release": self.zookeeper}}


ZOOKEEPER_RELEASE = re.compile(r"/releases/([^/\s]+)/zookeeper/")


def read_command(host: Host) -> str:
    """Shell that prints what `parse_host` reads; it only reads (it passes the probe's read guard)."""
    layout = InstallLayout(host.install_dir)
    lines = [  # no install dir yet: no releases, and every node stopped
        f"if cd {shell_path(host.install_dir)} 2>/dev/null; then",
        f"printf 'current %s\\n' \"$(readlink {CURRENT} 2>/dev/null)\"",
        f"printf 'previous %s\\n' \"$(readlink {PREVIOUS} 2>/dev/null)\"",
        f"for r in {RELEASES}/*; do if [ -d \"$r\" ]; then printf 'release %s\\n' \"${{r#{RELEASES}/}}\"; fi; done",
        "fi",
    ]
    for port in host.ports:
        alive = process_alive_test(layout.memcached_pidfile(port))
        lines.append(f"if {alive}; then printf 'node {port} %s\\n' \"$(readlink /proc/\"$pid\"/exe 2>/dev/null)\"; "
                     f"else printf 'node {port} -\\n'; fi")
    if host.zookeeper:
        alive = process_alive_test(layout.zookeeper_pidfile)
        lines.append(f"if {alive}; then printf 'zookeeper %s\\n' \"$(tr '\\0' ' ' </proc/\"$pid\"/cmdline)\"; fi")
    lines.append("exit 0")
    return "\n".join(lines)


def release_of_link(text: str) -> Optional[str]:
    text = text.strip()
    if not text:
        return None
    name = text.removeprefix(f"{RELEASES}/")
    return name if name != text and SAFE_ID.match(name) else text


def release_of_exe(exe: str) -> Optional[str]:
    """The release id in `<install_dir>/releases/<id>/bin/memcached` (its real path), or None."""
    match = re.search(r"/releases/([^/]+)/bin/memcached(?: \(deleted\))?$", exe.strip())
    return match.group(1) if match and SAFE_ID.match(match.group(1)) else None


def parse_host(host: Host, text: str) -> HostReleases:
    found: dict = {"installed": [], "nodes": [], "current": None, "previous": None}
    zookeeper, zookeeper_running = None, False
    for line in text.splitlines():
        word, _, rest = line.partition(" ")
        if word in ("current", "previous"):
            found[word] = release_of_link(rest)
        elif word == "release" and SAFE_ID.match(rest):
            found["installed"].append(rest)
        elif word == "node":
            port, _, exe = rest.partition(" ")
            if port.isdigit():
                running = exe != "-"
                found["nodes"].append(NodeRelease(int(port), running, release_of_exe(exe) if running else None,
                                                  exe if running else ""))
        elif word == "zookeeper":
            zookeeper_running = True
            match = ZOOKEEPER_RELEASE.search(rest)
            zookeeper = match.group(1) if match else None
    return HostReleases(host.name, host.install_dir, tuple(sorted(found["installed"])), found["current"],
                        found["previous"], tuple(found["nodes"]), zookeeper, zookeeper_running)


@dataclass
class CloudReleases:
    hosts: dict[str, HostReleases] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # host -> why it could not be read


async def read_host(work: HostWork, host: Host) -> HostReleases:
    status, out, err = await work.capture(read_command(host))
    if status != 0:
        raise RuntimeError(err.strip() or f"reading the releases failed (exit status {status})")
    return parse_host(host, out)


async def read_releases(cluster: Cluster, *, ssh_paths: Optional[SshPaths] = None, timeout: float = 10.0,
                        on_unknown_host_key: Optional[HostKeyAsker] = None,
                        hosts: Optional[list[str]] = None) -> CloudReleases:
    """Every host's releases, current, previous and what its nodes run; reads only."""
    wanted = hosts if hosts is not None else [h.name for h in cluster.hosts if h.memcached or h.zookeeper]
    found = CloudReleases()

    async def job(work: HostWork) -> HostResult:
        found.hosts[work.name] = await read_host(work, cluster.host(work.name))
        return HostResult(work.name, "releases", HostState.OK)

    limits = Limits(connect_timeout=timeout, command_timeout=timeout)
    async with SshSession(targets_for(cluster), paths=ssh_paths or SshPaths(), limits=limits,
                          on_unknown_host_key=on_unknown_host_key, sink=ignore_events) as ssh:
        result = await ssh.each_host(job, hosts=wanted, step="releases", sink=ignore_events)
    for name in result.failed:
        found.errors[name] = result[name].error or "could not be read"
    return found
