"""The real ARCUS package, built once from the shared arcus-memcached tarball and kept in the
per-user package cache (`arcus_tui.package.cached_package`): the first session compiles it
(about half a minute on 2 cores), every later one reuses it.

The source is found as the sandbox finds it (`arcus_tui.sandbox.arcus_source`):
`$ARCUS_MEMCACHED_SOURCE`, else `<repo>/../shared/arcus/arcus-memcached-*.tar.gz`. Without it,
or without the Debian build packages, the tests that use the fixture skip on a laptop and fail in CI.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra.require import missing


@pytest.fixture(scope="session")
def arcus_package() -> Path:
    """The package directory (bin/memcached, lib/, zookeeper/, MANIFEST.json), built or reused."""
    from arcus_tui.package import PackageBuildError, cached_package, missing_build_packages
    from arcus_tui.package.zookeeper_server import find_zookeeper_server
    from arcus_tui.sandbox.arcus_source import find_arcus_source, how_to_get_it

    source = find_arcus_source()
    if source is None or not source.exists():
        missing(how_to_get_it())
    lacking = missing_build_packages()
    if lacking:
        missing(f"cannot build arcus-memcached: missing build packages: {' '.join(lacking)}")
    try:
        find_zookeeper_server(None)
    except PackageBuildError as error:
        missing(str(error))
    try:
        return cached_package(source)
    except PackageBuildError as error:
        pytest.fail(f"building the ARCUS package failed: {error}", pytrace=False)
