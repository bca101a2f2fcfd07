"""Where things live on a host under its install_dir, and how to name them in a shell.

The layout is the ARCUS build directory's own: `bin/memcached`, `lib/*.so`,
`zookeeper/` (with `bin/zkServer.sh`), plus `conf/`, `data/`, `pids/` and `logs/`
that arcus-tui writes. Paths stay in `~/...` form in the plan so that they are
readable; `shell_path` turns them into a correctly quoted shell word.
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


@dataclass(frozen=True)
class InstallLayout:
    install_dir: str

    def _join(self, *parts: str) -> str:
        return "/".join((self.install_dir.rstrip("/") or "/",) + parts)

    @property
    def memcached_binary(self) -> str:
        return self._join("bin", "memcached")

    def library(self, name: str) -> str:
        return self._join("lib", name)

    @property
    def zookeeper_home(self) -> str:
        return self._join("zookeeper")

    @property
    def zk_server_script(self) -> str:
        return self._join("zookeeper", "bin", "zkServer.sh")

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
