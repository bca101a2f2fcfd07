"""Tarballs and source trees: which folder holds the thing we look for, and safe unpacking."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

from .errors import PackageBuildError

TARBALL_SUFFIXES = (".tar.gz", ".tgz")


def is_tarball(path: Path) -> bool:
    return path.name.lower().endswith(TARBALL_SUFFIXES)


def tarball_stem(path: Path) -> str:
    """`arcus-memcached-1.15.0.tar.gz` -> `arcus-memcached-1.15.0`."""
    name = path.name
    for suffix in TARBALL_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def tarball_names(path: Path) -> set[str]:
    """Every member's path, without a leading `./`; a tarball we cannot read is a clear error."""
    try:
        with tarfile.open(path, "r:*") as tar:
            return {_normalise(name) for name in tar.getnames()} - {""}
    except (tarfile.TarError, OSError, EOFError) as error:
        raise PackageBuildError(f"{path} is not a readable .tar.gz: {error}") from None


def _normalise(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.rstrip("/")


def top_holding(markers: Sequence[str], entries: Iterable[str], exists: Callable[[str], bool]) -> Optional[str]:
    """Where `markers` are: "" at the top, the single top folder's name when they are in it, else None.

    Source archives put everything under one folder (`arcus-memcached-1.15.0/`); a checkout
    or a hand-made tarball may not. Anything else is not what we were given to look for.
    """
    if all(exists(marker) for marker in markers):
        return ""
    tops = {entry.split("/", 1)[0] for entry in entries}
    if len(tops) == 1:
        (top,) = tops
        if all(exists(f"{top}/{marker}") for marker in markers):
            return top
    return None


def tarball_top(path: Path, markers: Sequence[str]) -> Optional[str]:
    names = tarball_names(path)
    return top_holding(markers, names, names.__contains__)


def directory_top(path: Path, markers: Sequence[str]) -> Optional[str]:
    return top_holding(markers, os.listdir(path), lambda relative: (path / relative).is_file())


def extract_tarball(path: Path, destination: Path) -> None:
    """Unpack refusing members that would land outside `destination` (absolute paths, `..`, links)."""
    destination.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(path, "r:*") as tar:
            if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4 / 3.10.12: the standard guard
                tar.extractall(destination, filter="data")
                return
            for member in tar.getmembers():
                _refuse_escaping(member, destination)
            tar.extractall(destination)
    except (tarfile.TarError, EOFError) as error:  # the data filter's refusals are TarErrors too
        raise PackageBuildError(f"cannot unpack {path.name}: {error}") from None


def _refuse_escaping(member: tarfile.TarInfo, destination: Path) -> None:
    root = destination.resolve()
    target = (root / member.name).resolve()
    link_target = (target.parent / member.linkname).resolve() if member.issym() else None
    for place in (target, link_target):
        if place is not None and root != place and root not in place.parents:
            raise PackageBuildError(f"refusing to unpack {member.name!r}: it points outside the archive")
    if member.isdev():
        raise PackageBuildError(f"refusing to unpack device file {member.name!r}")
