"""`arcus-tui package build`: build a self-contained ARCUS package from arcus-memcached source."""

from __future__ import annotations

import sys
from pathlib import Path

from arcus_tui.events import HostState, ProgressEvent
from arcus_tui.package import STAGES, BuildOptions, PackageBuildError, build_log_path, build_package

from . import EXIT_FAILED, EXIT_OK

FINISHED_WORDS = {HostState.OK: "ok", HostState.FAILED: "failed", HostState.CANCELLED: "interrupted"}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("package", help="build an ARCUS package from arcus-memcached source")
    actions = parser.add_subparsers(dest="package_action", required=True, metavar="build")
    build = actions.add_parser(
        "build", help="compile arcus-memcached and bundle it with its libraries and a ZooKeeper server",
        description="Build a package that runs from any install_dir: bin/memcached, lib/ (modules, the "
                    "ZooKeeper C client, libevent), zookeeper/, MANIFEST.json, README.md. An output "
                    "already built from the same source is reused.")
    build.add_argument("--source", required=True, type=Path, metavar="SRC",
                       help="arcus-memcached source: a directory, a git checkout or a .tar.gz")
    build.add_argument("-o", "--output", required=True, type=Path, metavar="DIR", help="the package directory")
    build.add_argument("--zookeeper", type=Path, metavar="ZKDIST",
                       help="bundle this Apache ZooKeeper binary distribution (directory or .tar.gz) "
                            "instead of this machine's Debian zookeeper")
    build.add_argument("-j", "--jobs", type=positive_int, default=None,
                       help="parallel make jobs (default: one per CPU)")
    parser.set_defaults(run=run)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def run(args) -> int:
    output = Path(args.output).expanduser().absolute()
    progress = StageLines(build_log_path(output))
    options = BuildOptions(zookeeper=args.zookeeper, jobs=args.jobs)
    try:
        result = build_package(args.source, args.output, options, sink=progress)
    except (PackageBuildError, OSError) as error:  # OSError: e.g. a source file we may not read
        progress.end_line()
        print(error, file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        progress.end_line()
        raise  # cli.main says "interrupted" and exits 130; the build has cleaned up after itself
    if result.reused:
        print(f"reusing {result.path} (same source {result.source.describe()})")
    else:
        print(f"package: {result.path} (arcus-memcached {result.source.version}, {result.source.describe()})")
    return EXIT_OK


class StageLines:
    """One line per stage: `configure ... ok (4.1s)`, the name shown as soon as the stage starts;
    the build log's path comes first, once there is a build (bad input gets its one line only)."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.started = False
        self.open = False
        self.width = max(len(stage) for stage in STAGES)

    def __call__(self, event: ProgressEvent) -> None:
        if event.step not in STAGES or event.state is None:
            return
        if event.state is HostState.RUNNING:
            if not self.started:
                print(f"build log: {self.log_path}")
                self.started = True
            print(f"{event.step:{self.width}} ... ", end="", flush=True)
            self.open = True
        elif event.state.finished:
            word = FINISHED_WORDS.get(event.state, event.state.value)
            print(f"{word} ({event.duration or 0.0:.1f}s)", flush=True)
            self.open = False

    def end_line(self) -> None:
        if self.open:
            print(flush=True)
            self.open = False
