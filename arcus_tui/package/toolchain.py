"""Preflight: the Debian packages that building arcus-memcached needs, checked before any work.

We probe for what the build actually runs (executables, the libevent header) rather than ask
dpkg, so the check also holds on a machine where the tools came from elsewhere; each probe
names the Debian package that brings it, for the one-line message.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from .errors import PackageBuildError


@dataclass(frozen=True)
class Need:
    """An executable name, or an absolute path that must exist, and the Debian package that has it."""

    what: str
    package: str

    @property
    def is_path(self) -> bool:
        return self.what.startswith("/")


BUILD_NEEDS: tuple[Need, ...] = (
    Need("gcc", "build-essential"),
    Need("make", "build-essential"),
    Need("readelf", "build-essential"),  # binutils, which build-essential brings: checks the rpath
    Need("autoconf", "autoconf"),
    Need("automake", "automake"),
    Need("aclocal", "automake"),
    Need("libtoolize", "libtool"),
    Need("pkg-config", "pkg-config"),
    Need("/usr/include/event2/event.h", "libevent-dev"),
)


def missing_build_packages(
    needs: Optional[Sequence[Need]] = None,
    which: Callable[[str], Optional[str]] = shutil.which,
    exists: Callable[[str], bool] = os.path.exists,
) -> list[str]:
    """The Debian packages to install, in the order first needed, each named once."""
    needs = BUILD_NEEDS if needs is None else needs  # looked up now, so tests may replace it
    missing: list[str] = []
    for need in needs:
        found = exists(need.what) if need.is_path else which(need.what) is not None
        if not found and need.package not in missing:
            missing.append(need.package)
    return missing


def preflight(needs: Optional[Sequence[Need]] = None) -> None:
    missing = missing_build_packages(needs)
    if missing:
        names = " ".join(missing)
        raise PackageBuildError(f"missing build packages: {names} (apt-get install {names})")
