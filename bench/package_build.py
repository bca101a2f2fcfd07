"""Package build: `arcus-tui package build` from clean and from its cache, against the plain
upstream recipe run by hand, all in one run.

Reproduce (from the repository root; about 1-2 minutes per run on an idle 2-core machine; needs
build-essential autoconf automake libtool pkg-config libevent-dev and Debian's zookeeper):

    python bench/package_build.py [--source arcus-memcached-1.15.0.tar.gz] [--runs 1]

It writes bench/results/package_build.json and prints the markdown recorded in bench/README.md
("Package build"). Per run, in this order (the order of the first two alternates between runs):

- reference: the upstream recipe as a person types it, in a fresh temp dir, `bash -c`:
      tar xzf SRC; cd arcus-memcached-*; tar xzf deps/arcus-zookeeper-*.tar.gz
      (cd arcus-zookeeper-*; ./configure --prefix=P && make -jN && make install)
      echo 'm4_define([VERSION_NUMBER], [X.Y.Z])' > m4/version.m4
      ./config/autorun.sh && ./configure --prefix=P --enable-zk-integration --with-zookeeper=P
      make -jN && make install
  It yields a binary that only runs where it was built (rpath into P) and no ZooKeeper server.
- ours, clean: `cached_package(SRC, cache_root=<fresh temp dir>)` - the same compile plus the
  relocatable link, the bundle (libraries, Debian's ZooKeeper with its jars, manifest, README) and
  the relocation check. Split by stage from its ProgressEvents.
- ours, cached: the same call again: the reuse check only.

N (make -j) is the CPU count for both. Nothing listens on any port; only temp dirs are written.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from arcus_tui.events import HostState  # noqa: E402
from arcus_tui.package import STAGES, BuildOptions, cached_package, missing_build_packages, resolve_source  # noqa: E402

DEFAULT_SOURCE = REPO.parent / "shared" / "arcus" / "arcus-memcached-1.15.0.tar.gz"
RESULTS = REPO / "bench" / "results" / "package_build.json"
RECIPE_TIMEOUT = 30 * 60


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def reference_recipe(source: Path, version: str, jobs: int) -> float:
    """The upstream recipe by hand in a temp dir; wall seconds."""
    with tempfile.TemporaryDirectory(prefix="bench-recipe-") as temp:
        prefix = shlex.quote(f"{temp}/prefix")
        script = " && ".join([
            f"cd {shlex.quote(temp)}",
            f"tar xzf {shlex.quote(str(source))}",
            "cd arcus-memcached-*/",
            "tar xzf deps/arcus-zookeeper-*.tar.gz",
            f"(cd arcus-zookeeper-*/ && ./configure --prefix={prefix} && make -j{jobs} && make install)",
            f"echo {shlex.quote(f'm4_define([VERSION_NUMBER], [{version}])')} > m4/version.m4",
            "./config/autorun.sh",
            f"./configure --prefix={prefix} --enable-zk-integration --with-zookeeper={prefix}",
            f"make -j{jobs}",
            "make install",
            f"test -x {prefix}/bin/memcached",
        ])
        started = time.monotonic()
        done = subprocess.run(["bash", "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, timeout=RECIPE_TIMEOUT)
        elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"the reference recipe failed: {done.stderr[-2000:]}")
    return elapsed


def ours(source: Path, cache_root: Path, jobs: int) -> tuple[float, dict[str, float]]:
    """cached_package into `cache_root`; wall seconds and each stage's duration."""
    stages: dict[str, float] = {}

    def sink(event):
        if event.step in STAGES and event.state is HostState.OK:
            stages[event.step] = event.duration or 0.0

    started = time.monotonic()
    cached_package(source, cache_root=cache_root, sink=sink, options=BuildOptions(jobs=jobs))
    return time.monotonic() - started, stages


def one_run(index: int, source: Path, version: str, jobs: int) -> dict:
    result: dict = {"run": index + 1, "load_before": [round(x, 2) for x in os.getloadavg()]}
    with tempfile.TemporaryDirectory(prefix="bench-package-cache-") as cache:
        order = ["reference", "ours"] if index % 2 == 0 else ["ours", "reference"]
        result["order"] = order
        for contender in order:
            if contender == "reference":
                log(f"run {index + 1}: reference recipe")
                result["reference"] = reference_recipe(source, version, jobs)
            else:
                log(f"run {index + 1}: ours, clean")
                result["clean"], result["stages"] = ours(source, Path(cache), jobs)
        log(f"run {index + 1}: ours, cached")
        result["cached"], _ = ours(source, Path(cache), jobs)
    result["load_after"] = [round(x, 2) for x in os.getloadavg()]
    return result


def machine_notes(jobs: int) -> dict:
    def first_line(argv: list[str]) -> str:
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=15)
        except (OSError, subprocess.TimeoutExpired):
            return "?"
        text = (done.stdout or done.stderr).strip()
        return text.splitlines()[0] if text else "?"

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?")
    return {"nproc": os.cpu_count(), "jobs": jobs, "cpu": cpu, "kernel": platform.release(),
            "python": platform.python_version(), "gcc": first_line(["gcc", "--version"]),
            "os": platform.freedesktop_os_release().get("PRETTY_NAME", "?")}


def report(runs: list[dict], notes: dict, command: str) -> str:
    def median(key: str) -> float:
        return statistics.median(run[key] for run in runs)

    lines = [
        f"Measured {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC with `{command}` "
        f"({notes['nproc']} cores, {notes['cpu']}; {notes['os']}, {notes['gcc']}; make -j{notes['jobs']}).",
        "",
        "| run | order | reference recipe (s) | ours, clean (s) | ours, cached (s) | clean/reference | cached/clean "
        "| load (1 min) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        lines.append(f"| {run['run']} | {' → '.join(run['order'])} | {run['reference']:.1f} | {run['clean']:.1f} | "
                     f"{run['cached']:.3f} | {run['clean'] / run['reference']:.2f} | "
                     f"{run['cached'] / run['clean']:.4f} | {run['load_before'][0]} |")
    if len(runs) > 1:
        lines.append(f"| **median** | | **{median('reference'):.1f}** | **{median('clean'):.1f}** | "
                     f"**{median('cached'):.3f}** | **{median('clean') / median('reference'):.2f}** | "
                     f"**{median('cached') / median('clean'):.4f}** | |")
    lines += ["", "ours, clean, by stage (seconds; median over runs):", "", "| stage | seconds |", "|---|---|"]
    for stage in STAGES:
        lines.append(f"| {stage} | {statistics.median(run['stages'].get(stage, 0.0) for run in runs):.1f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="arcus-memcached .tar.gz")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    lacking = missing_build_packages()
    if lacking:
        raise SystemExit(f"missing build packages: {' '.join(lacking)}")
    if not shutil.which("bash") or not args.source.is_file():
        raise SystemExit(f"need bash and the source tarball ({args.source})")
    version = resolve_source(args.source).version
    runs = [one_run(index, args.source, version, args.jobs) for index in range(args.runs)]
    notes = machine_notes(args.jobs)
    command = "python bench/package_build.py" + (f" --runs {args.runs}" if args.runs != 1 else "")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"machine": notes, "source": str(args.source), "runs": runs}, indent=2) + "\n")
    print(report(runs, notes, command))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
