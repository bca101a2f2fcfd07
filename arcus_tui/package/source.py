"""The arcus-memcached source to build: what it is, its identity, and a private copy to build in.

A source is a `.tar.gz` (like `git archive` makes), a directory, or a git checkout. Its
identity (`checksum`) decides whether an existing package can be reused:
- a tarball: sha256 of its bytes;
- a clean git checkout: `git:<commit>`;
- any other directory (or a checkout with changes): sha256 over its files' relative paths and
  contents. In a checkout these are the files git would consider (tracked and untracked, not
  ignored), so build outputs of an earlier in-tree build neither change the identity nor get
  copied into our build.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from arcus_tui.checksums import file_sha256

from .archive import directory_top, extract_tarball, is_tarball, tarball_stem, tarball_top
from .errors import PackageBuildError

ARCUS_MARKERS = ("arcus_zk.c", "configure.ac")  # arcus_zk.c exists only in NAVER's fork
VERSION_IN_NAME = re.compile(r"-(\d+\.\d+\.\d+[0-9A-Za-z.+~-]*)$")
VERSION_IN_CHANGELOG = re.compile(r"\[version (\d+\.\d+\.\d+[^\]\s]*)\]")
GIT_TIMEOUT = 120.0


@dataclass(frozen=True)
class Source:
    origin: Path  # what was given, absolute
    kind: str  # "tarball", "tree" or "git"
    top: str  # the folder inside `origin` that holds the tree ("" when at the top)
    checksum: str  # "sha256:<hex>" or "git:<commit>"
    version: str
    commit: Optional[str] = None
    dirty: bool = False

    @property
    def digest(self) -> str:
        return self.checksum.partition(":")[2]

    @property
    def short_id(self) -> str:
        """Names the cache entry: enough of the digest to never collide in practice."""
        return self.digest[:12]

    def describe(self) -> str:
        kind = "git commit" if self.checksum.startswith("git:") else "sha256"
        return f"{kind} {self.short_id}…"


def resolve_source(path: Path, git: Optional[str] = None) -> Source:
    """Check that `path` is arcus-memcached source and work out its identity; one-line errors."""
    origin = Path(path).expanduser().absolute()
    if not origin.exists():
        raise PackageBuildError(f"source {path} does not exist")
    if origin.is_file():
        if not is_tarball(origin):
            raise PackageBuildError(f"source {path} is neither a directory nor a .tar.gz")
        return _tarball_source(origin)
    if origin.is_dir():
        return _directory_source(origin, git or shutil.which("git"))
    raise PackageBuildError(f"source {path} is neither a directory nor a .tar.gz")


def _not_arcus(path: Path) -> PackageBuildError:
    return PackageBuildError(
        f"source {path} is not arcus-memcached: no {' and '.join(ARCUS_MARKERS)} "
        "at its top or under its single top folder")


def _tarball_source(origin: Path) -> Source:
    top = tarball_top(origin, ARCUS_MARKERS)
    if top is None:
        raise _not_arcus(origin)
    version = _version_from_name(top) or _version_from_name(tarball_stem(origin)) or _unknown_version()
    return Source(origin, "tarball", top, f"sha256:{file_sha256(origin)}", version)


def _directory_source(origin: Path, git: Optional[str]) -> Source:
    top = directory_top(origin, ARCUS_MARKERS)
    if top is None:
        raise _not_arcus(origin)
    tree = origin / top
    version = _version_from_changelog(tree) or _version_from_name(tree.name) or _unknown_version()
    checkout = _git_checkout(tree, git)
    if checkout is None:
        _refuse_built_tree(tree)
        return Source(origin, "tree", top, f"sha256:{tree_sha256(tree, tree_files(tree, None))}", version)
    commit, dirty, described = checkout
    version = described or version
    if dirty:  # the commit alone would not say what is being built
        checksum = f"sha256:{tree_sha256(tree, tree_files(tree, git))}"
    else:
        checksum = f"git:{commit}"
    return Source(origin, "git", top, checksum, version, commit=commit, dirty=dirty)


def _refuse_built_tree(tree: Path) -> None:
    """A plain tree that was configured in place would bring its objects into our copy, and make
    would link them instead of compiling ours (a git checkout is copied without ignored files)."""
    if (tree / "config.status").exists():
        raise PackageBuildError(f"source {tree} holds an earlier in-tree build (config.status): run "
                                "`make distclean` there, or give the .tar.gz or a git checkout")


def _version_from_name(name: str) -> Optional[str]:
    match = VERSION_IN_NAME.search(name)
    return match.group(1) if match else None


def _version_from_changelog(tree: Path) -> Optional[str]:
    """arcus-memcached's ChangeLog starts with `# <date> [version X.Y.Z]` for the newest release."""
    try:
        with open(tree / "ChangeLog", encoding="utf-8", errors="replace") as handle:
            head = handle.read(4096)
    except OSError:
        return None
    match = VERSION_IN_CHANGELOG.search(head)
    return match.group(1) if match else None


def _unknown_version() -> str:
    return "0.0.0-unknown"


# -- git ---------------------------------------------------------------------------------------------


def _git(tree: Path, git: str, *args: str) -> Optional[str]:
    """stdout of a read-only git command, or None. `safe.directory` lets root read a user's clone."""
    try:
        done = subprocess.run([git, "-c", "safe.directory=*", "-C", str(tree), *args],
                              capture_output=True, text=True, timeout=GIT_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _git_checkout(tree: Path, git: Optional[str]) -> Optional[tuple[str, bool, Optional[str]]]:
    """(commit, dirty, version from `git describe`) when `tree` is the top of a git checkout."""
    if git is None or not (tree / ".git").exists():
        return None
    commit = _git(tree, git, "rev-parse", "HEAD")
    status = _git(tree, git, "status", "--porcelain")
    if not commit or status is None:
        return None
    return commit.strip(), bool(status.strip()), _version_from_describe(_git(tree, git, "describe", "--tags"))


def _version_from_describe(described: Optional[str]) -> Optional[str]:
    """What arcus-memcached's config/version.pl makes of `git describe`: `1.15.0-3-gabc` -> `1.15.0-3`."""
    if not described or not re.match(r"^\d+\.\d+\.\d+", described.strip()):
        return None
    tokens = described.strip().split("-")
    return "-".join(tokens[:-1] if len(tokens) > 2 else tokens)


# -- the files of a tree -----------------------------------------------------------------------------


def tree_files(tree: Path, git: Optional[str]) -> list[str]:
    """Relative POSIX paths of the files (and symlinks) that make up the source, sorted."""
    if git is not None and (tree / ".git").exists():
        listed = _git(tree, git, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
        if listed is not None:
            # a tracked file deleted in the work tree, or a submodule folder, is not a file to copy
            return sorted(rel for rel in set(listed.split("\0"))
                          if rel and (os.path.islink(tree / rel) or os.path.isfile(tree / rel)))
    found = []
    for directory, subdirs, files in os.walk(tree):
        subdirs[:] = [name for name in subdirs if name != ".git"]
        base = Path(directory).relative_to(tree)
        # a symlink to a directory is listed among subdirs and not walked: keep it as a link
        links = [name for name in subdirs if os.path.islink(os.path.join(directory, name))]
        found += [(base / name).as_posix() for name in files + links]
    return sorted(found)


def tree_sha256(tree: Path, files: list[str]) -> str:
    """One digest over paths, kinds, executable bits and contents, in sorted path order."""
    digest = hashlib.sha256()
    for rel in files:
        path = tree / rel
        if path.is_symlink():
            entry = f"link\0{os.readlink(path)}"
        else:
            mode = "x" if os.access(path, os.X_OK) else "-"
            entry = f"file\0{mode}\0{file_sha256(path)}"
        digest.update(f"{rel}\0{entry}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


# -- a private copy to build in ----------------------------------------------------------------------


def unpack_source(source: Source, work: Path) -> Path:
    """The source tree, unpacked or copied under `work`: builds never write into the original."""
    destination = work / "src"
    if source.kind == "tarball":
        extract_tarball(source.origin, destination)
        return destination / source.top if source.top else destination
    tree = source.origin / source.top
    copy = destination / (tree.name or "arcus-memcached")
    git = shutil.which("git") if source.kind == "git" else None
    for rel in tree_files(tree, git):
        _copy_entry(tree / rel, copy / rel)
    return copy


def _copy_entry(path: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink():
        os.symlink(os.readlink(path), target)
    else:
        shutil.copy2(path, target)
