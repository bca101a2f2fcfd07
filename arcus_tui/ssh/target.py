"""The hosts the engine talks to, independent of where they came from (cluster file, sandbox, tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # the model is only needed to convert from it
    from arcus_tui.model import Cluster


@dataclass(frozen=True)
class HostTarget:
    """One SSH destination.

    `address` may be a ~/.ssh/config Host alias; `port`/`user` left as None let
    ~/.ssh/config (Port, User) decide, then OpenSSH's defaults (22, the local user).
    `identity_files` are tried before ~/.ssh/config's IdentityFile and the default keys.
    `install_dir` is where uploads go (relative paths and `~/...` are under the login's home).
    """

    name: str
    address: str
    port: Optional[int] = None
    user: Optional[str] = None
    identity_files: tuple[str, ...] = ()
    install_dir: Optional[str] = None

    def __str__(self) -> str:
        where = self.address if self.port in (None, 22) else f"{self.address}:{self.port}"
        return f"{self.user}@{where}" if self.user else where


def targets_for(cluster: "Cluster") -> list[HostTarget]:
    """One target per host of the cluster, in file order.

    The cluster file's default SSH port (22) and empty user leave room for
    ~/.ssh/config: an operator's `Port`/`User` for that host still apply, as with `ssh`.
    """
    targets = []
    for host in cluster.hosts:
        port = getattr(host, "ssh_port", None)
        targets.append(
            HostTarget(
                name=host.name,
                address=host.address,
                port=None if port in (None, 22) else int(port),
                user=getattr(host, "user", None) or None,
                identity_files=(host.identity_file,) if getattr(host, "identity_file", None) else (),
                install_dir=getattr(host, "install_dir", None) or None,
            )
        )
    return targets
