"""`arcus-tui package build`: arcus-memcached source in, a relocatable ARCUS package out.

The upstream recipe, in a private work directory (never in the source tree):

    unpack            the source, copied or unpacked
    zookeeper-client  deps/arcus-zookeeper-*.tar.gz: ./configure --prefix=P && make && make install
    autorun           m4/version.m4 (there is no .git in our copy), then config/autorun.sh
    configure         ./configure --prefix=P --enable-zk-integration --with-zookeeper=P
    make, install     with memcached linked to find its libraries at $ORIGIN/../lib
    bundle            bin/, lib/, zookeeper/, MANIFEST.json, README.md; checked relocatable

The package is assembled in `DIR.partial-<pid>` beside DIR and renamed into place only when
complete, so an interrupted or failed build never leaves a DIR that looks finished. The whole
build's output goes to `DIR.build.log`.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, Optional, Sequence, TypeVar

from arcus_tui.events import GATEWAY, EventSink, HostState, ProgressEvent, ignore_events
from arcus_tui.localhost import process_alive

from .archive import directory_top, extract_tarball, tarball_stem
from .bundle import RPATH, check_runpath, copy_libraries, copy_memcached, copy_modules, verify_relocatable, write_readme
from .errors import PackageBuildError, StageFailed
from .inspect import package_problems
from .manifest import is_ours, new_manifest, read_manifest, same_build, write_manifest
from .run import CommandFailed, run_logged
from .source import Source, resolve_source, unpack_source
from .toolchain import Need, preflight
from .zookeeper_server import ZooKeeperServer, find_zookeeper_server, install_zookeeper_server, requested_origin

STAGES = ("unpack", "zookeeper-client", "autorun", "configure", "make", "install", "bundle")
BUILD_STEP = "package-build"  # the step of events about the build as a whole (e.g. reuse)
STAGE_TIMEOUT = 30 * 60.0  # a slow machine compiles for minutes; a hung one should not hold forever
LOG_TAIL_LINES = 15
ZOOKEEPER_CLIENT_SOURCES = "deps/arcus-zookeeper-*.tar.gz"
# `$$` is make's `$`; the quotes keep the recipe's shell off `$ORIGIN`; libtool passes -Wl,... through
# (its own `-R` accepts only absolute paths, which is what made upstream's rpath point at the prefix).
MAKE_RPATH_FLAG = "-Wl,-rpath,'$$ORIGIN/../lib'"
UPSTREAM_RPATH = re.compile(r"-R\s*'?\$\(libdir\)'?")
PARTIAL = re.compile(r"\.partial-(\d+)$")

T = TypeVar("T")


@dataclass(frozen=True)
class BuildOptions:
    zookeeper: Optional[Path] = None  # an Apache ZooKeeper binary distribution; None: Debian's
    jobs: Optional[int] = None  # make -j; None: one per CPU
    stage_timeout: float = STAGE_TIMEOUT
    needs: Optional[Sequence[Need]] = None  # the preflight's probes; None: toolchain.BUILD_NEEDS
    work_root: Optional[Path] = None  # where the temporary work directory goes; None: the system's


@dataclass(frozen=True)
class BuildResult:
    path: Path
    manifest: dict
    source: Source
    reused: bool
    log_path: Optional[Path] = None


def build_log_path(output: Path) -> Path:
    """Where the build of `output` logs: beside it, so that it outlives a failed build."""
    return output.with_name(output.name + ".build.log")


def build_package(source: Path, output: Path, options: BuildOptions = BuildOptions(),
                  sink: EventSink = ignore_events) -> BuildResult:
    """Build (or reuse) the package for `source` in `output`. Raises PackageBuildError (one clear
    message), StageFailed (with the log's tail), or KeyboardInterrupt after cleaning up."""
    return build_from(resolve_source(source), output, options, sink)


def build_from(source: Source, output: Path, options: BuildOptions = BuildOptions(),
               sink: EventSink = ignore_events) -> BuildResult:
    output = Path(output).expanduser().absolute()
    existing = read_manifest(output)
    if same_build(existing, source, requested_origin(options.zookeeper)) and not package_problems(output):
        sink(ProgressEvent(GATEWAY, BUILD_STEP, state=HostState.ALREADY_DONE,
                           text=f"reusing {output} (same source {source.describe()})"))
        return BuildResult(output, existing, source, reused=True)
    _refuse_foreign(output, existing)
    preflight(options.needs)
    server = find_zookeeper_server(options.zookeeper)
    log_path = build_log_path(output)
    partial = output.with_name(f"{output.name}.partial-{os.getpid()}")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_partials(output)
        log = open(log_path, "w", encoding="utf-8")
        work = Path(tempfile.mkdtemp(prefix="arcus-package-", dir=options.work_root))
    except OSError as error:
        raise PackageBuildError(f"cannot build into {output}: {error}") from None
    try:
        with log:
            manifest = _Build(source, server, options, sink, work, partial, log, log_path).run()
        _move_into_place(partial, output)
    except OSError as error:
        raise PackageBuildError(f"cannot put the package in place at {output}: {error}") from None
    finally:
        shutil.rmtree(partial, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    return BuildResult(output, manifest, source, reused=False, log_path=log_path)


def _refuse_foreign(output: Path, manifest: Optional[dict]) -> None:
    """Only a package of ours (or an empty directory) may be replaced: -o must not eat a home dir."""
    if not (output.exists() or output.is_symlink()):
        return
    if output.is_dir() and not output.is_symlink() and (is_ours(manifest) or not any(output.iterdir())):
        return
    raise PackageBuildError(f"output {output} exists and is not a package built by arcus-tui package build; "
                            "choose another -o or remove it")


def _remove_stale_partials(output: Path) -> None:
    """`DIR.partial-<pid>` left by a build that was killed outright (SIGKILL, power loss)."""
    for sibling in output.parent.glob(f"{output.name}.partial-*"):
        match = PARTIAL.search(sibling.name)
        if match and sibling.is_dir() and not process_alive(int(match.group(1))):
            shutil.rmtree(sibling, ignore_errors=True)


def _move_into_place(partial: Path, output: Path) -> None:
    """Rename the finished package to DIR; an older package of ours there is replaced, not merged."""
    if output.is_dir() and not any(output.iterdir()):
        output.rmdir()
    if not output.exists():
        os.rename(partial, output)
        return
    _refuse_foreign(output, read_manifest(output))  # it may have appeared while we built
    old = output.with_name(f"{output.name}.old-{os.getpid()}")
    os.rename(output, old)
    try:
        os.rename(partial, output)
    except OSError:
        os.rename(old, output)
        raise
    shutil.rmtree(old, ignore_errors=True)


def memcached_ldflags(makefile: Path) -> str:
    """The `memcached_LDFLAGS=` make argument: upstream's value with `-R $(libdir)` (an absolute
    rpath into the build prefix) replaced by $ORIGIN/../lib, keeping the rest (-export-dynamic)."""
    try:
        text = makefile.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    match = re.search(r"^memcached_LDFLAGS\s*=(.*)$", text, re.M)
    kept = UPSTREAM_RPATH.sub(" ", match.group(1)).split() if match else []
    return "memcached_LDFLAGS=" + " ".join([MAKE_RPATH_FLAG, *kept])


class _Build:
    """One build: the stages in order, each reported as events and logged."""

    def __init__(self, source: Source, server: ZooKeeperServer, options: BuildOptions, sink: EventSink,
                 work: Path, partial: Path, log: IO[str], log_path: Path):
        self.source, self.server, self.options, self.sink = source, server, options, sink
        self.work, self.partial, self.log, self.log_path = work, partial, log, log_path
        self.prefix = work / "prefix"
        self.jobs = options.jobs or os.cpu_count() or 1
        self.deadline = 0.0

    def run(self) -> dict:
        tree = self._stage("unpack", lambda: unpack_source(self.source, self.work))
        client = self._stage("zookeeper-client", lambda: self._zookeeper_client(tree))
        self._stage("autorun", lambda: self._autorun(tree))
        self._stage("configure", lambda: self._command(
            ["./configure", f"--prefix={self.prefix}", "--enable-zk-integration",
             f"--with-zookeeper={self.prefix}"], tree))
        ldflags = memcached_ldflags(tree / "Makefile")
        self._stage("make", lambda: self._command(["make", f"-j{self.jobs}", ldflags], tree))
        self._stage("install", lambda: self._command(["make", "install", ldflags], tree))
        return self._stage("bundle", lambda: self._bundle(client))

    def _stage(self, name: str, work: Callable[[], T]) -> T:
        self.sink(ProgressEvent(GATEWAY, name, state=HostState.RUNNING))
        started = time.monotonic()
        self.deadline = started + self.options.stage_timeout
        self.log.write(f"\n==== {name} ====\n")
        self.log.flush()
        try:
            result = work()
        except KeyboardInterrupt:
            self._finished(name, HostState.CANCELLED, started)
            raise
        except (CommandFailed, PackageBuildError, OSError) as error:
            tail = self._log_tail()  # the command's own last words, before our note below them
            self.log.write(f"\n{name} failed: {error}\n")
            self._finished(name, HostState.FAILED, started)
            raise StageFailed(name, str(error), self.log_path, tail) from None
        self._finished(name, HostState.OK, started)
        return result

    def _finished(self, name: str, state: HostState, started: float) -> None:
        self.log.flush()
        self.sink(ProgressEvent(GATEWAY, name, state=state, duration=time.monotonic() - started))

    def _log_tail(self) -> str:
        self.log.flush()
        lines = self.log_path.read_text(encoding="utf-8", errors="replace").rstrip().splitlines()
        return "\n".join(lines[-LOG_TAIL_LINES:])

    def _command(self, argv: list[str], cwd: Path) -> None:
        run_logged(argv, cwd, self.log, timeout=max(1.0, self.deadline - time.monotonic()))

    def _zookeeper_client(self, tree: Path) -> str:
        """NAVER's ZooKeeper C client, which arcus_zk.c needs (Debian's lacks four of its functions)."""
        tarballs = sorted(tree.glob(ZOOKEEPER_CLIENT_SOURCES))
        if not tarballs:
            raise PackageBuildError(f"the source has no {ZOOKEEPER_CLIENT_SOURCES} (NAVER's ZooKeeper C client)")
        unpacked = self.work / "zookeeper-client"
        extract_tarball(tarballs[-1], unpacked)
        top = directory_top(unpacked, ("configure",))
        if top is None:
            raise PackageBuildError(f"{tarballs[-1].name} has no configure script")
        client = unpacked / top
        self._command(["./configure", f"--prefix={self.prefix}"], client)
        self._command(["make", f"-j{self.jobs}"], client)
        self._command(["make", "install"], client)
        # libtool finds libzookeeper_mt.la through -L and would add its libdir (the absolute build
        # prefix) to memcached's rpath; without the .la it links the .so like any other library.
        for libtool_archive in (self.prefix / "lib").glob("*.la"):
            libtool_archive.unlink()
        return tarball_stem(tarballs[-1])

    def _autorun(self, tree: Path) -> None:
        # Upstream's autorun.sh writes m4/version.m4 from `git describe` only when there is a .git;
        # our copy never has one, so we write it with the version the source told us.
        (tree / "m4").mkdir(exist_ok=True)
        (tree / "m4" / "version.m4").write_text(f"m4_define([VERSION_NUMBER], [{self.source.version}])\n",
                                                encoding="utf-8")
        self._command(["bash", "config/autorun.sh"], tree)

    def _bundle(self, zookeeper_client: str) -> dict:
        package = self.partial
        package.mkdir()
        copy_memcached(self.prefix, package)
        check_runpath(package / "bin" / "memcached")
        modules = copy_modules(self.prefix, package)
        libraries = copy_libraries(self.prefix / "bin" / "memcached", package)
        install_zookeeper_server(self.server, package / "zookeeper", self.work)
        verify_relocatable(package, libraries)
        manifest = new_manifest(self.source, self.server, zookeeper_client, libraries, modules, RPATH)
        write_manifest(package, manifest)
        write_readme(package, manifest)
        self.log.write(f"bundled: modules {modules}, libraries {libraries}, ZooKeeper {self.server.manifest()}\n")
        return manifest
