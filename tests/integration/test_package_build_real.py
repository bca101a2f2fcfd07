"""The real package: arcus-memcached 1.15.0 compiled from the shared tarball (`arcus_package`,
built once into the package cache), copied somewhere else, and run from there like a host would."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from arcus_tui.deploy.zookeeper_config import render_zoo_cfg
from arcus_tui.localhost import free_port, process_alive
from arcus_tui.model import ZooKeeperSettings
from arcus_tui.package import STAGES, cached_package
from arcus_tui.package.build import BUILD_STEP
from arcus_tui.package.bundle import HEARTBEAT_NOTE
from arcus_tui.package.manifest import BUILDER_FORMAT, read_manifest
from arcus_tui.sandbox.arcus_source import find_arcus_source
from tests.infra.require import require_executable

pytestmark = pytest.mark.timeout(1800)  # the first session compiles the package (about 30 s on 2 cores)

ENGINE_MODULES = ("default_engine.so", "ascii_scrub.so", "syslog_logger.so")


def host_env() -> dict[str, str]:
    """A host that never saw the build: nothing points the loader at any library directory."""
    return {key: value for key, value in os.environ.items() if key not in ("LD_LIBRARY_PATH", "LD_PRELOAD")}


def ask(port: int, request: bytes, expect: bytes, within: float = 30.0) -> bytes:
    """Send `request` until the answer contains `expect` (the daemon may still be starting)."""
    deadline, answer = time.monotonic() + within, b""
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
                conn.sendall(request)
                answer = b""
                while expect not in answer:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    answer += chunk
                if expect in answer:
                    return answer
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"no {expect!r} from 127.0.0.1:{port} within {within:g}s (last answer {answer!r})")


def stop(pid: int) -> None:
    """Stop a daemon we started, by its PID, and wait until it is gone."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(100):
        if not process_alive(pid):
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


@pytest.fixture
def relocated(arcus_package, tmp_path) -> Path:
    """The package copied to a directory the build never knew, as the deploy's upload would."""
    copy = tmp_path / "elsewhere" / "arcus"
    shutil.copytree(arcus_package, copy)
    return copy


def test_the_package_holds_memcached_its_modules_libraries_and_zookeeper(arcus_package):
    assert os.access(arcus_package / "bin" / "memcached", os.X_OK)
    for name in ENGINE_MODULES:
        assert (arcus_package / "lib" / name).is_file()
    assert list((arcus_package / "lib").glob("libzookeeper_mt*.so*"))
    assert list((arcus_package / "lib").glob("libevent-2.1.so.*"))
    assert os.access(arcus_package / "zookeeper" / "bin" / "zkServer.sh", os.X_OK)
    assert (arcus_package / "zookeeper" / "bin" / "zkEnv.sh").is_file()
    assert (arcus_package / "zookeeper" / "lib" / "zookeeper.jar").is_file()
    assert HEARTBEAT_NOTE in (arcus_package / "README.md").read_text()
    assert not [path for path in arcus_package.rglob("*") if path.is_symlink()], "the upload copies files, not links"


def test_memcached_finds_its_libraries_by_a_relative_runpath_only(arcus_package):
    readelf = require_executable("readelf")
    dynamic = subprocess.run([readelf, "-d", str(arcus_package / "bin" / "memcached")],
                             capture_output=True, text=True, check=True).stdout
    paths = re.findall(r"\((RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[(.*)\]", dynamic)
    assert paths == [("RUNPATH", "$ORIGIN/../lib")]


def test_a_copy_elsewhere_loads_its_own_libraries_and_runs(arcus_package, relocated):
    ldd = subprocess.run(["ldd", str(relocated / "bin" / "memcached")], capture_output=True, text=True,
                         env=host_env(), check=True).stdout
    resolved = dict(re.findall(r"^\s*(\S+) => (\S+)", ldd, re.M))
    for soname in ("libzookeeper_mt", "libevent-2.1"):
        (path,) = [path for name, path in resolved.items() if name.startswith(soname)]
        assert Path(path).resolve().parent == (relocated / "lib").resolve(), ldd
    assert "not found" not in ldd and str(arcus_package) not in ldd and "/prefix/" not in ldd

    usage = subprocess.run([str(relocated / "bin" / "memcached"), "-h"], capture_output=True, text=True,
                           env=host_env(), timeout=30)
    assert usage.returncode == 0, usage.stderr
    assert re.search(r"^-z ip:port list", usage.stdout, re.M), "no -z: not arcus-memcached with ZooKeeper"


def test_the_copy_serves_arcus_collections(relocated, tmp_path):
    port = free_port("127.0.0.1")
    lib = relocated / "lib"
    argv = [str(relocated / "bin" / "memcached"), "-E", str(lib / "default_engine.so"),
            "-X", str(lib / "syslog_logger.so"), "-X", str(lib / "ascii_scrub.so"),
            "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "64"]
    if os.geteuid() == 0:
        argv += ["-u", "root"]  # it refuses to run as root otherwise
    with open(tmp_path / "memcached.log", "wb") as log:
        daemon = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=host_env())
    try:
        answer = ask(port, b"lop create arcus-tui-test 0 0 10\r\nversion\r\n", b"VERSION")
        assert b"CREATED" in answer  # stock memcached would say ERROR: collections are ARCUS's
    finally:
        stop(daemon.pid)
        daemon.wait(timeout=10)


def test_the_bundled_zookeeper_runs_from_the_copy_and_logs_where_told(relocated, tmp_path):
    require_executable("java", "/usr/bin/java")
    port = free_port("127.0.0.1")
    config = relocated / "zookeeper" / "conf" / "zoo.cfg"
    config.write_text(render_zoo_cfg(ZooKeeperSettings(client_port=port), str(relocated / "zookeeper" / "data"),
                                     client_address="127.0.0.1", extra={"admin.enableServer": "false"}))
    logs, pidfile = tmp_path / "zk-logs", tmp_path / "zk.pid"
    env = {**host_env(), "ZOO_LOG_DIR": str(logs), "ZOOPIDFILE": str(pidfile)}
    started = subprocess.run([str(relocated / "zookeeper" / "bin" / "zkServer.sh"), "start", str(config)],
                             capture_output=True, text=True, env=env, timeout=60)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert ask(port, b"ruok", b"imok") == b"imok"
        assert "Reading configuration from" in (logs / "zookeeper.log").read_text()
    finally:
        if pidfile.exists():
            stop(int(pidfile.read_text().strip()))


def test_the_manifest_records_what_was_built(arcus_package):
    source = find_arcus_source()
    manifest = read_manifest(arcus_package)
    assert manifest["builder_format"] == BUILDER_FORMAT and manifest["arcus_tui_version"]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", manifest["built_at"])
    assert manifest["source"]["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    version = re.search(r"arcus-memcached-(\d+\.\d+\.\d+)", source.name).group(1)
    assert manifest["source"]["version"] == version
    assert manifest["rpath"] == "$ORIGIN/../lib"
    assert any(name.startswith("libzookeeper_mt") for name in manifest["libraries"])


def test_a_second_request_reuses_the_cached_package_without_any_stage(arcus_package):
    events = []
    started = time.monotonic()
    again = cached_package(find_arcus_source(), sink=events.append)
    assert again == arcus_package
    assert time.monotonic() - started < 10
    assert not [event for event in events if event.step in STAGES]
    assert [event.step for event in events] == [BUILD_STEP] and "reusing" in events[0].text
