"""Building ARCUS packages from arcus-memcached source (`arcus-tui package build`), and telling
whether a directory is a package the deploy can run. No UI here: the verb and the sandbox drive it."""

from .build import STAGES, BuildOptions, BuildResult, build_from, build_log_path, build_package
from .cache import cache_entry, cached_package, default_cache_root
from .errors import PackageBuildError, StageFailed
from .inspect import ENGINE_MODULES, add_package_problems, package_problems
from .source import Source, resolve_source
from .toolchain import BUILD_NEEDS, Need, missing_build_packages

__all__ = [
    "BUILD_NEEDS", "ENGINE_MODULES", "add_package_problems", "STAGES", "BuildOptions", "BuildResult", "Need", "PackageBuildError",
    "Source", "StageFailed", "build_from", "build_log_path", "build_package", "cache_entry", "cached_package",
    "default_cache_root", "missing_build_packages", "package_problems", "resolve_source",
]
