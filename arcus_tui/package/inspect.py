"""Is this directory an ARCUS package the deploy can run? Used by `check` and `setup`."""

from __future__ import annotations

import os
from pathlib import Path

from arcus_tui.model.load import CheckResult
from arcus_tui.model.problems import Problem, Severity

from .archive import tarball_names
from .errors import PackageBuildError
from .manifest import MANIFEST_NAME, is_ours, read_manifest

ENGINE_MODULES = ("default_engine.so", "ascii_scrub.so", "syslog_logger.so")
"""The modules the ARCUS command line loads (`-E lib/default_engine.so -X lib/...`)."""

PackageProblem = tuple[Severity, str]


def package_problems(path: Path, runs_zookeeper: bool = True) -> list[PackageProblem]:
    """What is wrong with the package at `path`, worst first; empty when it looks complete.

    `runs_zookeeper`: the cluster runs its own ZooKeeper members from the package (not an
    ensemble that already exists), so `zookeeper/bin/zkServer.sh` is needed.
    """
    path = Path(path).expanduser()
    if path.is_file():
        return _tarball_problems(path)
    if not path.is_dir():
        return [(Severity.ERROR, f"package {path} does not exist")]
    memcached = path / "bin" / "memcached"
    if not (memcached.is_file() and os.access(memcached, os.X_OK)):
        return [(Severity.ERROR, f"package {path} has no executable bin/memcached")]
    problems: list[PackageProblem] = []
    manifest = read_manifest(path)
    if manifest is None:
        problems.append((Severity.WARNING, f"package {path} has no {MANIFEST_NAME}: "
                                           "not a package built by arcus-tui package build"))
    elif not is_ours(manifest):
        problems.append((Severity.WARNING, f"package {path}: {MANIFEST_NAME} is not from "
                                           "arcus-tui package build"))
    missing = [f"lib/{name}" for name in ENGINE_MODULES if not (path / "lib" / name).is_file()]
    if missing:
        problems.append((Severity.WARNING, f"package {path} lacks {', '.join(missing)} "
                                           "(the ARCUS command line loads them)"))
    if runs_zookeeper and not (path / "zookeeper" / "bin" / "zkServer.sh").is_file():
        problems.append((Severity.WARNING, f"package {path} lacks zookeeper/bin/zkServer.sh, "
                                           "and the cluster runs its own ZooKeeper members"))
    return problems


def _tarball_problems(path: Path) -> list[PackageProblem]:
    """A package given as a tarball is unpacked into install_dir as it is: bin/memcached at its top."""
    try:
        names = tarball_names(path)
    except PackageBuildError as error:
        return [(Severity.ERROR, f"package {error}")]
    if "bin/memcached" not in names:
        return [(Severity.ERROR, f"package {path} has no bin/memcached at its top (it is unpacked into install_dir)")]
    if MANIFEST_NAME not in names:
        return [(Severity.WARNING, f"package {path} has no {MANIFEST_NAME}: not a package built by arcus-tui package build")]
    return []


def add_package_problems(result: CheckResult) -> CheckResult:
    """`result` with what is wrong with its cluster's package on this machine, at the `package` line.
    Checked before anything runs, so a setup never uploads a package that cannot start."""
    cluster = result.cluster
    if cluster is not None and cluster.package:
        line = result.line_of("cluster", "package")
        for severity, message in package_problems(Path(cluster.package), runs_zookeeper=bool(cluster.zookeeper_hosts)):
            result.add(Problem(line, message, severity))
    return result
