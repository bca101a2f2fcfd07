"""Where the sandbox finds arcus-memcached's source when it is not named on the command line.

The real daemon is what the sandbox runs; its source is not packaged anywhere, so it
comes from the operator (`--arcus-source`), the environment, or the shared folder that
sits beside this checkout on the project's own machines.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Optional

SOURCE_VARIABLE = "ARCUS_MEMCACHED_SOURCE"
UPSTREAM = "https://github.com/naver/arcus-memcached"
TARBALLS = "arcus-memcached-*.tar.gz"


def find_arcus_source(explicit: Optional[Path] = None) -> Optional[Path]:
    """The source to build: `explicit`, else $ARCUS_MEMCACHED_SOURCE, else the newest
    arcus-memcached tarball of a shared folder beside the checkout; None if there is none."""
    if explicit is not None:
        return Path(explicit).expanduser()
    if os.environ.get(SOURCE_VARIABLE):
        return Path(os.environ[SOURCE_VARIABLE]).expanduser()
    for folder in _shared_folders():
        found = sorted(folder.glob(TARBALLS))
        if found:
            return found[-1]
    return None


def _shared_folders() -> Iterator[Path]:
    checkout = Path(__file__).resolve().parents[2]  # an editable install runs from the checkout
    for base in (checkout, Path.cwd()):
        yield base.parent / "shared" / "arcus"


def how_to_get_it() -> str:
    return (f"no arcus-memcached source found: clone it (git clone {UPSTREAM}) and pass "
            f"--arcus-source arcus-memcached, or set {SOURCE_VARIABLE}; "
            "--standin practises on a stand-in (stock memcached + the ZooKeeper join) instead")
