"""A per-user cache of built packages, one per source identity: the sandbox and the tests build
arcus-memcached once and reuse it on every later run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from arcus_tui.events import EventSink, ignore_events
from arcus_tui.locks import LockTimeout, held

from .build import BuildOptions, build_from
from .errors import PackageBuildError
from .source import Source, resolve_source

LOCK_TIMEOUT = 2 * 3600.0  # another process may be building this very entry: wait for it, within reason


def default_cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "arcus-tui" / "packages"


def cache_entry(source: Source, cache_root: Optional[Path] = None) -> Path:
    """The cache directory the package of `source` is (or will be) built in."""
    root = Path(cache_root) if cache_root is not None else default_cache_root()
    return root / source.short_id


def cached_package(source: Path, cache_root: Optional[Path] = None, sink: EventSink = ignore_events,
                   options: BuildOptions = BuildOptions()) -> Path:
    """The package for `source` in `<cache_root>/<short checksum>/`, built on first use.

    Concurrent callers for the same source wait for one another (a file lock per entry), and the
    second finds the first's package complete and reuses it."""
    resolved = resolve_source(source)
    entry = cache_entry(resolved, cache_root)
    root = entry.parent
    root.mkdir(parents=True, exist_ok=True)
    try:
        with held(root / f"{resolved.short_id}.lock", LOCK_TIMEOUT, f"package cache entry {entry}"):
            return build_from(resolved, entry, options, sink).path
    except LockTimeout as error:
        raise PackageBuildError(str(error)) from None
