"""From `make install`'s prefix to a package that runs from any directory on any host.

    bin/memcached          RUNPATH exactly $ORIGIN/../lib (checked), so it finds lib/ wherever it is
    lib/*.so               the engine and extension modules the ARCUS command line loads
    lib/lib*.so.N          every shared library memcached needs beyond glibc, under its soname:
                           the ZooKeeper C client (NAVER's fork, built here) and libevent (from
                           this machine: hosts need not have libevent-2.1-7 installed)
    zookeeper/             the ZooKeeper server (see zookeeper_server.py)
    MANIFEST.json, README.md

Every file is a real file (no symlinks): the deploy's upload copies files one by one.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from .errors import PackageBuildError
from .inspect import ENGINE_MODULES

RPATH = "$ORIGIN/../lib"
TEST_MODULES = ("basic_engine_testsuite.so", "demo_engine.so", "example_protocol.so")  # upstream's tests
# glibc is on every host and must match its kernel and loader: never bundled.
GLIBC_SONAMES = re.compile(r"^(linux-vdso|linux-gate|ld-linux.*|libc|libm|libpthread|libdl|librt|libresolv|"
                           r"libutil|libanl|libmvec|libBrokenLocale|libnss_\w+)\.so")
TOOL_TIMEOUT = 60.0


def copy_memcached(prefix: Path, package: Path) -> None:
    (package / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy2(prefix / "bin" / "memcached", package / "bin" / "memcached")


def copy_modules(prefix: Path, package: Path) -> list[str]:
    """The installed memcached modules (engines, loggers, extensions) except upstream's test ones."""
    installed = sorted(path.name for path in (prefix / "lib").glob("*.so")
                       if not path.name.startswith("lib") and path.name not in TEST_MODULES)
    missing = [name for name in ENGINE_MODULES if name not in installed]
    if missing:
        raise PackageBuildError(f"make install did not produce lib/{', lib/'.join(missing)}")
    (package / "lib").mkdir(parents=True, exist_ok=True)
    for name in installed:
        shutil.copyfile(prefix / "lib" / name, package / "lib" / name)
        (package / "lib" / name).chmod(0o755)
    return installed


def runpath(binary: Path) -> str:
    """The binary's DT_RUNPATH (or old-style DT_RPATH), "" when it has none."""
    dynamic = _tool(["readelf", "-d", str(binary)])
    match = re.search(r"\((?:RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[(.*)\]", dynamic)
    return match.group(1) if match else ""


def check_runpath(binary: Path) -> None:
    found = runpath(binary)
    if found != RPATH:
        raise PackageBuildError(f"{binary.name} was linked with RUNPATH {found!r}, expected {RPATH!r} only: "
                                "it would not find lib/ once copied elsewhere")


def needed_libraries(binary: Path) -> dict[str, Path]:
    """soname -> the file the loader picks, for every library `binary` needs beyond glibc."""
    found: dict[str, Path] = {}
    for line in _tool(["ldd", str(binary)], env=_without_library_path()).splitlines():
        soname, arrow, where = line.strip().partition(" => ")
        if not arrow or GLIBC_SONAMES.match(soname):
            continue
        if where.startswith("not found"):
            raise PackageBuildError(f"{binary.name} needs {soname}, which the loader does not find")
        found[soname] = Path(where.split(" (")[0])
    return found


def copy_libraries(binary: Path, package: Path) -> list[str]:
    """Copy what `binary` needs (symlinks resolved) into lib/ under the names the loader asks for."""
    libraries = needed_libraries(binary)
    for soname, path in libraries.items():
        shutil.copyfile(path, package / "lib" / soname)
        (package / "lib" / soname).chmod(0o755)
    return sorted(libraries)


def verify_relocatable(package: Path, libraries: list[str]) -> None:
    """memcached, from where it is now, loads every bundled library from its own lib/ and runs."""
    memcached = package / "bin" / "memcached"
    check_runpath(memcached)
    resolved = needed_libraries(memcached)
    elsewhere = [f"{soname} from {resolved.get(soname)}" for soname in libraries
                 if resolved.get(soname, Path("/")).parent.resolve() != (package / "lib").resolve()]
    if elsewhere:
        raise PackageBuildError("bin/memcached does not load its bundled libraries: " + ", ".join(elsewhere))
    usage = _tool([str(memcached), "-h"], env=_without_library_path())
    if not re.search(r"^-z\b", usage, re.M):
        raise PackageBuildError("bin/memcached -h shows no -z (ZooKeeper ensemble): "
                                "it was built without ZooKeeper integration")


def _without_library_path() -> dict[str, str]:
    """The environment of a host that never saw the build: no LD_LIBRARY_PATH pointing anywhere."""
    return {key: value for key, value in os.environ.items() if key not in ("LD_LIBRARY_PATH", "LD_PRELOAD")}


def _tool(argv: list[str], env: dict[str, str] | None = None) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TOOL_TIMEOUT, env=env)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PackageBuildError(f"`{' '.join(argv)}` could not run: {error}") from None
    if done.returncode != 0:
        raise PackageBuildError(f"`{' '.join(argv)}` failed: {(done.stderr or done.stdout).strip()[-300:]}")
    return done.stdout


README = """\
# ARCUS package: arcus-memcached {version}

Built by `arcus-tui package build` ({built_at}) from {source_kind} {source_origin}
({source_identity}). MANIFEST.json records what it was built from and with.

| path | what |
| --- | --- |
| `bin/memcached` | arcus-memcached {version}, NAVER's memcached with the ZooKeeper registry (`-z`) and collections |
| `lib/{modules}` | the engine and extension modules the ARCUS command line loads (`-E`, `-X`) |
| `lib/{libraries}` | the shared libraries memcached needs beyond glibc: the ZooKeeper C client (NAVER's fork, {zookeeper_client}) and libevent |
| `zookeeper/` | the ZooKeeper server ({zookeeper_server}), started as `zookeeper/bin/zkServer.sh start <zoo.cfg>` |

## Running it
arcus-tui uploads this directory to every host's install directory and runs it from there: it
writes `zookeeper/conf/zoo.cfg` and `zookeeper/data/`, starts ZooKeeper with `ZOO_LOG_DIR` and
`ZOOPIDFILE` set, registers the service code, and starts each node as
`bin/memcached -E lib/default_engine.so -X lib/syslog_logger.so -X lib/ascii_scrub.so -z <ensemble> ...`.

The package runs from any directory: `bin/memcached` finds its libraries in `../lib` relative to
itself (RUNPATH `$ORIGIN/../lib`), so a host needs nothing installed for memcached beyond glibc.
ZooKeeper needs Java on every host that runs a member: `/usr/bin/java` (Debian:
`apt-get install default-jre-headless`), or set `JAVA`.

## Heartbeat note
{heartbeat_note}
"""

HEARTBEAT_NOTE = (
    "The daemon's heartbeat connects to 127.0.0.1:<port>; when it is bound to another address (`-l`, "
    "as on the practice sandbox where every host is a loopback alias) it logs `mc_hb: cannot connect to "
    "local memcached` every few seconds and keeps running — harmless there; on real servers do not bind "
    "memcached away from 127.0.0.1 unless you accept that.")


def write_readme(package: Path, manifest: dict) -> None:
    source, server = manifest["source"], manifest["zookeeper_server"]
    identity = f"commit {source['commit']}" if not source.get("sha256") else f"sha256 {source['sha256']}"
    if source.get("dirty"):
        identity += f", with uncommitted changes to commit {source['commit']}"
    text = README.format(
        version=source["version"], built_at=manifest["built_at"], source_kind=source["kind"],
        source_origin=source["origin"], source_identity=identity,
        modules="{" + ",".join(manifest["modules"]) + "}",
        libraries="{" + ",".join(manifest["libraries"]) + "}",
        zookeeper_client=manifest["zookeeper_client"], heartbeat_note=HEARTBEAT_NOTE,
        zookeeper_server=" ".join(str(part) for part in (server["kind"], server.get("version") or "", server["origin"])
                                  if part),
    )
    (package / "README.md").write_text(text, encoding="utf-8")
