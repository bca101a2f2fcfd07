"""Where things live on a host under its install_dir, and how to name them in a shell.

Each package lands in a release directory of its own, `releases/<release id>/` (the
ARCUS build directory's layout: `bin/memcached`, `lib/*.so`, `zookeeper/bin/zkServer.sh`),
and `current` is a symlink to the release that starts; `previous` to the one an upgrade
replaced (see `deploy/releases.py`). What the cloud keeps across releases stays outside
them: `zookeeper/conf/zoo.cfg`, `zookeeper/data/` (myid, snapshots, pidfile),
`zookeeper/logs/`, `pids/` and `logs/`. Paths stay in `~/...` form in the plan so that
they are readable; `shell_path` turns them into a correctly quoted shell word.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass


def shell_path(path: str) -> str:
    """A shell word for `path`, expanding a leading `~` to $HOME and quoting the rest."""
    if path == "~":
        return '"$HOME"'
    if path.startswith("~/"):
        return '"$HOME"/' + shlex.quote(path[2:])
    return shlex.quote(path)


def sftp_path(path: str) -> str:
    """SFTP resolves relative paths against the login directory, so `~/x` is `x` there."""
    if path == "~":
        return "."
    return path[2:] if path.startswith("~/") else path


RELEASES = "releases"
CURRENT = "current"
PREVIOUS = "previous"


@dataclass(frozen=True)
class InstallLayout:
    install_dir: str

    def _join(self, *parts: str) -> str:
        return "/".join((self.install_dir.rstrip("/") or "/",) + parts)

    @property
    def releases_dir(self) -> str:
        return self._join(RELEASES)

    def release_dir(self, release: str) -> str:
        """Where the package of `release` (a release id) is uploaded."""
        return self._join(RELEASES, release)

    @property
    def current(self) -> str:
        """The symlink to the release that starts (`releases/<id>`, relative)."""
        return self._join(CURRENT)

    @property
    def previous(self) -> str:
        """The symlink to the release `current` named before the last upgrade: where rollback goes."""
        return self._join(PREVIOUS)

    @property
    def memcached_binary(self) -> str:
        # through `current`: every release's node has the same argv[0], so its identity holds
        return self._join(CURRENT, "bin", "memcached")

    def library(self, name: str) -> str:
        return self._join(CURRENT, "lib", name)

    @property
    def zk_server_script(self) -> str:
        return self._join(CURRENT, "zookeeper", "bin", "zkServer.sh")

    @property
    def zoo_cfg(self) -> str:
        return self._join("zookeeper", "conf", "zoo.cfg")

    @property
    def zookeeper_data_dir(self) -> str:
        return self._join("zookeeper", "data")

    @property
    def myid_file(self) -> str:
        return self._join("zookeeper", "data", "myid")

    @property
    def zookeeper_pidfile(self) -> str:
        return self._join("zookeeper", "data", "zookeeper_server.pid")

    @property
    def zookeeper_log_dir(self) -> str:
        return self._join("zookeeper", "logs")

    @property
    def pid_dir(self) -> str:
        return self._join("pids")

    def memcached_pidfile(self, port: int) -> str:
        return self._join("pids", f"memcached.{port}.pid")

    @property
    def log_dir(self) -> str:
        return self._join("logs")

    def memcached_log(self, port: int) -> str:
        return self._join("logs", f"memcached.{port}.log")
