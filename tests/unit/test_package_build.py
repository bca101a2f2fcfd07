"""`arcus-tui package build` without a real compile: source checks and identity, the preflight,
reuse, a failing stage, an interrupted build, the verb's output, and `package_problems`.

Fake arcus-memcached trees stand in for the source: the markers (arcus_zk.c, configure.ac), a
`config/autorun.sh`, a `configure` that writes a Makefile, and a fake ZooKeeper client tarball
under deps/, so the real stage runner runs real (tiny) scripts and a real `make`.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import signal
import subprocess
import tarfile
import threading
import time
import zipfile
from pathlib import Path

import pytest

from arcus_tui.cli import main
from arcus_tui.events import GATEWAY, HostState
from arcus_tui.model.problems import Severity
from arcus_tui.package import (
    STAGES,
    BuildOptions,
    Need,
    PackageBuildError,
    StageFailed,
    build_package,
    cached_package,
    missing_build_packages,
    package_problems,
    resolve_source,
)
from arcus_tui.package import toolchain, zookeeper_server
from arcus_tui.package.archive import extract_tarball
from arcus_tui.package.build import BUILD_STEP, memcached_ldflags
from arcus_tui.package.manifest import MANIFEST_NAME, new_manifest, write_manifest
from arcus_tui.package.source import unpack_source
from arcus_tui.package.toolchain import preflight
from arcus_tui.package.zookeeper_server import (
    ZooKeeperServer,
    find_zookeeper_server,
    jar_closure,
    requested_origin,
)

needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
NO_NEEDS: tuple[Need, ...] = ()  # the preflight passes: these tests build fakes, not arcus-memcached


# -- fakes ---------------------------------------------------------------------------------------------


def write(path: Path, text: str, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def make_tarball(tarball: Path, tree: Path, arcname: str) -> Path:
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(tree, arcname=arcname)
    return tarball


CONFIGURE_WRITING_MAKEFILE = '#!/bin/sh\necho "configure $*"\ncp Makefile.fake Makefile\n'


def fake_source(root: Path, *, autorun: str = "echo autorun done", make_all: str = "@echo made",
                version: str = "9.9.9") -> Path:
    """A tree that passes for arcus-memcached, whose stages run the given shell snippets."""
    tree = root / f"arcus-memcached-{version}"
    write(tree / "arcus_zk.c", "/* the ZooKeeper join of arcus-memcached */\n")
    write(tree / "configure.ac", "AC_INIT([arcus-memcached], [VERSION_NUMBER])\n")
    write(tree / "ChangeLog", f"# 2099-01-01 [version {version}]\n")
    write(tree / "config" / "autorun.sh", f"#!/bin/bash\n{autorun}\n", 0o755)
    write(tree / "configure", CONFIGURE_WRITING_MAKEFILE, 0o755)
    write(tree / "Makefile.fake", f"all:\n\t{make_all}\ninstall:\n\t@echo installed\n")
    client = root / "client-src" / "arcus-zookeeper-0.0.1"
    write(client / "configure", CONFIGURE_WRITING_MAKEFILE, 0o755)
    write(client / "Makefile.fake", "all:\n\t@echo client made\ninstall:\n\t@echo client installed\n")
    (tree / "deps").mkdir()
    make_tarball(tree / "deps" / "arcus-zookeeper-0.0.1.tar.gz", client, "arcus-zookeeper-0.0.1")
    shutil.rmtree(root / "client-src")
    return tree


def fake_zookeeper_distribution(root: Path) -> Path:
    dist = root / "apache-zookeeper-3.8.4-bin"
    write(dist / "bin" / "zkServer.sh", "#!/bin/sh\n", 0o755)
    write(dist / "lib" / "zookeeper-3.8.4.jar", "not really a jar\n")
    return dist


def fake_package(path: Path, source_path: Path, zookeeper: ZooKeeperServer | None = None) -> Path:
    """A directory that looks like a complete package built from `source_path`."""
    write(path / "bin" / "memcached", "#!/bin/sh\n", 0o755)
    for name in ("default_engine.so", "ascii_scrub.so", "syslog_logger.so"):
        write(path / "lib" / name, "")
    write(path / "zookeeper" / "bin" / "zkServer.sh", "#!/bin/sh\n", 0o755)
    server = zookeeper or ZooKeeperServer("debian", zookeeper_server.DEBIAN_ZOOKEEPER_JAR)
    manifest = new_manifest(resolve_source(source_path), server, "arcus-zookeeper-0.0.1", [],
                            ["default_engine.so"], "$ORIGIN/../lib")
    write_manifest(path, manifest)
    return path


class Recorder:
    def __init__(self):
        self.events = []

    def __call__(self, event):
        self.events.append(event)

    def states(self, step):
        return [event.state for event in self.events if event.step == step and event.state is not None]

    @property
    def stage_events(self):
        return [event for event in self.events if event.step in STAGES]


@pytest.fixture
def work_root(tmp_path) -> Path:
    root = tmp_path / "work-root"
    root.mkdir()
    return root


def leftovers(output: Path) -> list[str]:
    """What a build left beside its output other than the log: a partial or an old package."""
    return sorted(p.name for p in output.parent.iterdir()
                  if p.name.startswith(output.name) and not p.name.endswith(".build.log"))


# -- the source ----------------------------------------------------------------------------------------


def test_a_missing_source_is_one_clear_error(tmp_path):
    with pytest.raises(PackageBuildError, match=r"^source .*nowhere does not exist$"):
        resolve_source(tmp_path / "nowhere")


def test_a_directory_that_is_not_arcus_memcached_is_refused(tmp_path):
    write(tmp_path / "stock-memcached" / "configure.ac", "AC_INIT([memcached])\n")
    write(tmp_path / "stock-memcached" / "memcached.c", "")
    with pytest.raises(PackageBuildError, match="is not arcus-memcached: no arcus_zk.c and configure.ac"):
        resolve_source(tmp_path / "stock-memcached")


def test_a_tarball_that_is_not_arcus_memcached_is_refused(tmp_path):
    write(tmp_path / "random" / "top" / "README", "hello\n")
    tarball = make_tarball(tmp_path / "random.tar.gz", tmp_path / "random" / "top", "top")
    with pytest.raises(PackageBuildError, match="is not arcus-memcached"):
        resolve_source(tarball)


def test_a_file_that_is_no_tarball_is_refused(tmp_path):
    with pytest.raises(PackageBuildError, match="neither a directory nor a .tar.gz"):
        resolve_source(write(tmp_path / "notes.txt", "x"))
    with pytest.raises(PackageBuildError, match="not a readable .tar.gz"):
        resolve_source(write(tmp_path / "broken.tar.gz", "not gzip"))


def test_the_tree_may_sit_at_the_top_or_under_a_single_folder(tmp_path):
    tree = fake_source(tmp_path / "parent")
    at_top = resolve_source(tree)
    under = resolve_source(tmp_path / "parent")
    assert (at_top.top, under.top) == ("", tree.name)
    assert at_top.version == under.version == "9.9.9"  # from the ChangeLog
    assert at_top.checksum == under.checksum and at_top.kind == "tree"


def test_a_tarballs_identity_is_the_sha256_of_its_bytes_and_its_version_the_top_folder(tmp_path):
    tree = fake_source(tmp_path / "src", version="1.15.0")
    tarball = make_tarball(tmp_path / "arcus.tar.gz", tree, "arcus-memcached-1.15.0")
    source = resolve_source(tarball)
    assert source.kind == "tarball" and source.top == "arcus-memcached-1.15.0"
    assert source.checksum == "sha256:" + hashlib.sha256(tarball.read_bytes()).hexdigest()
    assert source.version == "1.15.0"
    assert source.short_id == source.digest[:12] and source.describe().startswith("sha256 ")


def test_a_trees_checksum_is_stable_and_follows_its_files(tmp_path):
    tree = fake_source(tmp_path)
    first = resolve_source(tree).checksum
    assert resolve_source(tree).checksum == first
    write(tree / ".git" / "HEAD", "ref: refs/heads/main\n")  # not source: no git here, not hashed either
    assert resolve_source(tree, git="/nonexistent/git").checksum == first
    (tree / "arcus_zk.c").write_text("/* changed */\n")
    changed = resolve_source(tree).checksum
    assert changed != first
    (tree / "configure").chmod(0o644)  # the executable bit is part of what gets built
    assert resolve_source(tree).checksum != changed


def test_a_copied_tree_leaves_dot_git_behind(tmp_path):
    tree = fake_source(tmp_path / "src")
    write(tree / ".git" / "config", "[core]\n")
    copy = unpack_source(resolve_source(tree, git="/nonexistent/git"), tmp_path / "work")
    assert (copy / "arcus_zk.c").is_file() and not (copy / ".git").exists()
    assert os.access(copy / "config" / "autorun.sh", os.X_OK)


def test_a_plain_tree_with_an_in_tree_build_is_refused(tmp_path):
    tree = fake_source(tmp_path / "src")
    write(tree / "config.status", "#!/bin/sh\n", 0o755)
    with pytest.raises(PackageBuildError, match=r"an earlier in-tree build \(config.status\): run `make distclean`"):
        resolve_source(tree)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_git_checkout_is_its_commit_until_it_has_changes(tmp_path):
    tree = fake_source(tmp_path / "src")
    write(tree / ".gitignore", "*.o\n")
    git = ["git", "-C", str(tree), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(git[:3] + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "one"], check=True)
    subprocess.run(git + ["tag", "1.15.0"], check=True)
    commit = subprocess.run(git + ["rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    write(tree / "stale.o", "an earlier in-tree build\n")  # ignored: neither identity nor copied

    clean = resolve_source(tree)
    assert (clean.kind, clean.checksum, clean.commit, clean.dirty) == ("git", f"git:{commit}", commit, False)
    assert clean.version == "1.15.0"
    assert not (unpack_source(clean, tmp_path / "work") / "stale.o").exists()

    (tree / "arcus_zk.c").write_text("/* work in progress */\n")
    dirty = resolve_source(tree)
    assert dirty.dirty and dirty.commit == commit and dirty.checksum.startswith("sha256:")


def test_unpacking_refuses_members_outside_the_destination(tmp_path):
    tarball = tmp_path / "evil.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        data = b"owned\n"
        member = tarfile.TarInfo("../escaped.txt")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    with pytest.raises(PackageBuildError):
        extract_tarball(tarball, tmp_path / "into")
    assert not (tmp_path / "escaped.txt").exists()


# -- the preflight -------------------------------------------------------------------------------------


def test_the_preflight_names_each_missing_package_once():
    needs = (Need("gcc", "build-essential"), Need("autoconf", "autoconf"), Need("libtoolize", "libtool"),
             Need("aclocal", "automake"), Need("/usr/include/event2/event.h", "libevent-dev"))
    installed = {"gcc", "aclocal"}
    missing = missing_build_packages(needs, which=lambda name: name if name in installed else None,
                                     exists=lambda path: False)
    assert missing == ["autoconf", "libtool", "libevent-dev"]


def test_the_preflight_message_is_one_line_with_the_apt_command():
    needs = (Need("no-such-tool-for-arcus", "autoconf"), Need("/nonexistent/event2/event.h", "libevent-dev"),
             Need("sh", "build-essential"))
    with pytest.raises(PackageBuildError) as raised:
        preflight(needs)
    assert str(raised.value) == ("missing build packages: autoconf libevent-dev "
                                 "(apt-get install autoconf libevent-dev)")


def test_a_missing_build_package_stops_the_build_before_any_work(tmp_path, work_root):
    tree = fake_source(tmp_path / "src")
    output = tmp_path / "out" / "package"
    options = BuildOptions(needs=(Need("no-such-tool-for-arcus", "libtool"),), work_root=work_root)
    recorder = Recorder()
    with pytest.raises(PackageBuildError, match=r"^missing build packages: libtool \(apt-get install libtool\)$"):
        build_package(tree, output, options, sink=recorder)
    assert recorder.events == [] and list(work_root.iterdir()) == [] and not output.parent.exists()


# -- the ZooKeeper server ------------------------------------------------------------------------------


def test_without_debian_zookeeper_or_a_distribution_the_message_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.setattr(zookeeper_server, "DEBIAN_ZOOKEEPER_BIN", tmp_path / "no-zookeeper")
    with pytest.raises(PackageBuildError, match=r"apt-get install zookeeper, or pass --zookeeper"):
        find_zookeeper_server(None)


def test_a_zookeeper_distribution_is_found_as_a_directory_or_a_tarball(tmp_path):
    dist = fake_zookeeper_distribution(tmp_path / "dists")
    as_dir = find_zookeeper_server(dist)
    tarball = make_tarball(tmp_path / "apache-zookeeper-3.8.4-bin.tar.gz", dist, dist.name)
    as_tarball = find_zookeeper_server(tarball)
    assert (as_dir.kind, as_dir.top, as_dir.version) == ("distribution", "", "3.8.4")
    assert (as_tarball.top, as_tarball.version) == (dist.name, "3.8.4")


def test_a_zookeeper_source_release_is_not_a_binary_distribution(tmp_path):
    source_release = tmp_path / "apache-zookeeper-3.8.4"
    write(source_release / "bin" / "zkServer.sh", "#!/bin/sh\n", 0o755)  # no lib/*.jar
    with pytest.raises(PackageBuildError, match="is not an Apache ZooKeeper binary distribution"):
        find_zookeeper_server(source_release)


def make_jar(path: Path, class_path: str | None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    manifest = "Manifest-Version: 1.0\n"
    if class_path is not None:
        line = f"Class-Path: {class_path}"
        manifest += line[:70] + "".join(f"\n {line[i:i + 69]}" for i in range(70, len(line), 69)) + "\n"
    with zipfile.ZipFile(path, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", manifest)
    return path


def test_the_jar_closure_follows_class_path_recursively_once_each(tmp_path):
    java = tmp_path / "java"
    make_jar(java / "real-api-1.0.jar", None)
    os.symlink("real-api-1.0.jar", java / "api.jar")
    make_jar(java / "core.jar", f"{java}/api.jar util.jar {java}/missing-jline.jar")
    make_jar(java / "util.jar", f"{java}/core.jar")  # a cycle
    make_jar(java / "zookeeper.jar", f"{java}/core.jar {java}/a-very-long-name-that-wraps-the-manifest-line.jar")
    make_jar(java / "a-very-long-name-that-wraps-the-manifest-line.jar", None)
    names = [jar.name for jar in jar_closure([java / "zookeeper.jar"])]
    assert names == ["zookeeper.jar", "core.jar", "a-very-long-name-that-wraps-the-manifest-line.jar",
                     "api.jar", "util.jar"]


# -- reuse ---------------------------------------------------------------------------------------------


def test_a_package_from_the_same_source_is_reused_without_any_stage(tmp_path, work_root):
    tree = fake_source(tmp_path / "src")
    output = fake_package(tmp_path / "package", tree)
    before = (output / MANIFEST_NAME).read_text()
    recorder = Recorder()
    # a failing preflight proves that reuse does not even look at the toolchain
    options = BuildOptions(needs=(Need("no-such-tool-for-arcus", "autoconf"),), work_root=work_root)
    result = build_package(tree, output, options, sink=recorder)
    assert result.reused and result.path == output
    assert recorder.stage_events == []
    assert recorder.states(BUILD_STEP) == [HostState.ALREADY_DONE]
    assert "reusing" in recorder.events[0].text and resolve_source(tree).describe() in recorder.events[0].text
    assert (output / MANIFEST_NAME).read_text() == before and list(work_root.iterdir()) == []


def test_an_incomplete_or_different_package_is_not_reused(tmp_path, work_root):
    tree = fake_source(tmp_path / "src")
    output = fake_package(tmp_path / "package", tree)
    options = BuildOptions(needs=(Need("no-such-tool-for-arcus", "autoconf"),), work_root=work_root)
    (output / "lib" / "ascii_scrub.so").unlink()
    with pytest.raises(PackageBuildError, match="missing build packages"):
        build_package(tree, output, options)
    fake_package(output, tree)
    (tree / "arcus_zk.c").write_text("/* another source */\n")
    with pytest.raises(PackageBuildError, match="missing build packages"):
        build_package(tree, output, options)


def test_a_package_with_another_zookeeper_server_is_not_reused(tmp_path, work_root):
    tree = fake_source(tmp_path / "src")
    dist = fake_zookeeper_distribution(tmp_path / "dist")
    output = fake_package(tmp_path / "package", tree)
    options = BuildOptions(zookeeper=dist, needs=(Need("no-such-tool-for-arcus", "autoconf"),),
                           work_root=work_root)
    assert requested_origin(dist) != requested_origin(None)
    with pytest.raises(PackageBuildError, match="missing build packages"):
        build_package(tree, output, options)


def test_the_cache_reuses_its_entry(tmp_path, work_root):
    tree = fake_source(tmp_path / "src")
    cache_root = tmp_path / "cache"
    entry = fake_package(cache_root / resolve_source(tree).short_id, tree)
    recorder = Recorder()
    options = BuildOptions(needs=(Need("no-such-tool-for-arcus", "autoconf"),), work_root=work_root)
    assert cached_package(tree, cache_root, sink=recorder, options=options) == entry
    assert recorder.stage_events == []


def test_the_default_cache_root_follows_xdg(monkeypatch, tmp_path):
    from arcus_tui.package import default_cache_root

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_root() == tmp_path / "arcus-tui" / "packages"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_root() == Path.home() / ".cache" / "arcus-tui" / "packages"


def test_an_output_that_is_not_ours_is_left_alone(tmp_path, work_root):
    tree = fake_source(tmp_path / "src")
    output = tmp_path / "home"
    write(output / "precious.txt", "do not delete\n")
    with pytest.raises(PackageBuildError, match="exists and is not a package built by arcus-tui"):
        build_package(tree, output, BuildOptions(needs=NO_NEEDS, work_root=work_root))
    assert (output / "precious.txt").read_text() == "do not delete\n"


# -- stages that fail or are interrupted ---------------------------------------------------------------


def build_options(tmp_path: Path, work_root: Path) -> BuildOptions:
    return BuildOptions(zookeeper=fake_zookeeper_distribution(tmp_path / "dist"), needs=NO_NEEDS,
                        work_root=work_root, jobs=1)


@needs_make
def test_a_failing_stage_is_named_with_the_end_of_its_log_and_leaves_no_package(tmp_path, work_root):
    tree = fake_source(tmp_path / "src", autorun='for i in $(seq 1 20); do echo "autorun line $i"; done; exit 1')
    output = tmp_path / "out" / "package"
    recorder = Recorder()
    with pytest.raises(StageFailed) as raised:
        build_package(tree, output, build_options(tmp_path, work_root), sink=recorder)
    error = raised.value
    message = str(error)
    assert error.stage == "autorun"
    assert message.startswith("package build failed at stage autorun: `bash config/autorun.sh` exited with status 1")
    assert "autorun line 20" in message and "autorun line 6\n" in message and "autorun line 5\n" not in message
    assert message.endswith(f"build log: {output}.build.log") and error.log_path.is_file()
    assert recorder.states("unpack") == recorder.states("zookeeper-client") == [HostState.RUNNING, HostState.OK]
    assert recorder.states("autorun") == [HostState.RUNNING, HostState.FAILED]
    assert recorder.states("configure") == []
    assert all(event.host == GATEWAY for event in recorder.events)
    assert not output.exists() and leftovers(output) == [] and list(work_root.iterdir()) == []


@needs_make
def test_a_failing_zookeeper_client_build_stops_there(tmp_path, work_root):
    tree = fake_source(tmp_path / "src")
    (tree / "deps" / "arcus-zookeeper-0.0.1.tar.gz").unlink()
    with pytest.raises(StageFailed, match=r"at stage zookeeper-client: the source has no deps/arcus-zookeeper"):
        build_package(tree, tmp_path / "package", build_options(tmp_path, work_root))


@needs_make
def test_an_interrupt_from_the_sink_leaves_no_package_partial_or_work_dir(tmp_path, work_root):
    tree = fake_source(tmp_path / "src")
    output = tmp_path / "out" / "package"

    def interrupt_at_configure(event):
        if event.step == "configure" and event.state is HostState.RUNNING:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_package(tree, output, build_options(tmp_path, work_root), sink=interrupt_at_configure)
    assert not output.exists() and leftovers(output) == [] and list(work_root.iterdir()) == []


def process_gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@needs_make
def test_ctrl_c_during_make_stops_make_and_everything_it_started(tmp_path, work_root):
    pidfile = tmp_path / "make-child.pid"
    tree = fake_source(tmp_path / "src", make_all=f"@echo $$$$ > {pidfile}; exec sleep 120")
    output = tmp_path / "out" / "package"
    stages = Recorder()

    def press_ctrl_c_once_make_runs():
        deadline = time.monotonic() + 30
        while not (pidfile.exists() and pidfile.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    def sink(event):
        stages(event)
        if event.step == "make" and event.state is HostState.RUNNING:
            threading.Thread(target=press_ctrl_c_once_make_runs, daemon=True).start()

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        build_package(tree, output, build_options(tmp_path, work_root), sink=sink)
    assert time.monotonic() - started < 60
    assert stages.states("make") == [HostState.RUNNING, HostState.CANCELLED]
    assert process_gone(int(pidfile.read_text())), "the command make ran outlived the interrupt"
    assert not output.exists() and leftovers(output) == [] and list(work_root.iterdir()) == []


def test_the_make_argument_keeps_upstreams_flags_but_not_its_absolute_rpath(tmp_path):
    makefile = write(tmp_path / "Makefile", "memcached_LDFLAGS = -R '$(libdir)' $(am__append_9)\nother = 1\n")
    assert memcached_ldflags(makefile) == "memcached_LDFLAGS=-Wl,-rpath,'$$ORIGIN/../lib' $(am__append_9)"
    assert memcached_ldflags(tmp_path / "no-Makefile") == "memcached_LDFLAGS=-Wl,-rpath,'$$ORIGIN/../lib'"


# -- the verb ------------------------------------------------------------------------------------------


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["package", "build", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_verb_reports_bad_input_in_one_line_without_a_traceback(tmp_path, capsys, monkeypatch):
    write(tmp_path / "not-arcus" / "README", "x\n")
    tree = fake_source(tmp_path / "src")
    a_file = write(tmp_path / "a-file", "x")
    cases = [
        ["--source", str(tmp_path / "nowhere"), "-o", str(tmp_path / "p1")],
        ["--source", str(tmp_path / "not-arcus"), "-o", str(tmp_path / "p2")],
        ["--source", str(tree), "-o", str(tmp_path / "p3"), "--zookeeper", str(tmp_path / "no-zk")],
        ["--source", str(tree), "-o", str(a_file / "p4"), "--zookeeper", str(fake_zookeeper_distribution(tmp_path))],
    ]
    monkeypatch.setattr(toolchain, "BUILD_NEEDS", NO_NEEDS)
    errors = []
    for args in cases:
        code, out, err = run_cli(capsys, *args)
        assert code == 1, err
        assert out == "" and len(err.strip().splitlines()) == 1 and "Traceback" not in err
        errors.append(err.strip())
    assert "does not exist" in errors[0] and "is not arcus-memcached" in errors[1]
    assert "--zookeeper" in errors[2] and errors[3].startswith("cannot build into")


def test_the_verb_refuses_an_output_that_is_not_ours(tmp_path, capsys):
    tree = fake_source(tmp_path / "src")
    write(tmp_path / "out" / "mine.txt", "x")
    code, out, err = run_cli(capsys, "--source", str(tree), "-o", str(tmp_path / "out"))
    assert code == 1 and "exists and is not a package built by arcus-tui" in err
    assert len(err.strip().splitlines()) == 1


def test_the_verb_says_when_it_reuses(tmp_path, capsys):
    tree = fake_source(tmp_path / "src")
    output = fake_package(tmp_path / "package", tree)
    code, out, err = run_cli(capsys, "--source", str(tree), "-o", str(output))
    assert code == 0, err
    assert out == f"reusing {output} (same source {resolve_source(tree).describe()})\n"


@needs_make
def test_the_verb_prints_a_line_per_stage_and_the_failure(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(toolchain, "BUILD_NEEDS", NO_NEEDS)
    tree = fake_source(tmp_path / "src", autorun="echo cannot find aclocal; exit 1")
    dist = fake_zookeeper_distribution(tmp_path / "dist")
    output = tmp_path / "package"
    code, out, err = run_cli(capsys, "--source", str(tree), "-o", str(output), "--zookeeper", str(dist))
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == f"build log: {output}.build.log"
    assert [line.split()[0] for line in lines[1:]] == ["unpack", "zookeeper-client", "autorun"]
    assert lines[1].split()[1:3] == ["...", "ok"] and lines[3].split()[1:3] == ["...", "failed"]
    assert err.startswith("package build failed at stage autorun:") and "cannot find aclocal" in err
    assert "Traceback" not in err and not output.exists()


# -- package_problems ----------------------------------------------------------------------------------


def complete_package(path: Path) -> Path:
    write(path / "bin" / "memcached", "#!/bin/sh\n", 0o755)
    for name in ("default_engine.so", "ascii_scrub.so", "syslog_logger.so"):
        write(path / "lib" / name, "")
    write(path / "zookeeper" / "bin" / "zkServer.sh", "#!/bin/sh\n", 0o755)
    write(path / MANIFEST_NAME, '{"builder": "arcus-tui package build", "builder_format": 1}\n')
    return path


def test_a_complete_package_has_no_problems(tmp_path):
    assert package_problems(complete_package(tmp_path / "p")) == []


def test_a_missing_directory_or_memcached_is_an_error(tmp_path):
    assert [s for s, _ in package_problems(tmp_path / "nowhere")] == [Severity.ERROR]
    package = complete_package(tmp_path / "p")
    (package / "bin" / "memcached").chmod(0o644)
    problems = package_problems(package)
    assert problems == [(Severity.ERROR, f"package {package} has no executable bin/memcached")]
    (package / "bin" / "memcached").unlink()
    assert [s for s, _ in package_problems(package)] == [Severity.ERROR]


def test_what_a_package_lacks_beyond_memcached_is_a_warning(tmp_path):
    package = complete_package(tmp_path / "p")
    (package / MANIFEST_NAME).unlink()
    (package / "lib" / "ascii_scrub.so").unlink()
    (package / "lib" / "syslog_logger.so").unlink()
    shutil.rmtree(package / "zookeeper")
    problems = package_problems(package, runs_zookeeper=True)
    assert all(severity is Severity.WARNING for severity, _ in problems)
    messages = [message for _, message in problems]
    assert any("no MANIFEST.json: not a package built by arcus-tui package build" in m for m in messages)
    assert any("lacks lib/ascii_scrub.so, lib/syslog_logger.so" in m for m in messages)
    assert any("zookeeper/bin/zkServer.sh" in m for m in messages)
    assert not any("zkServer.sh" in m for _, m in package_problems(package, runs_zookeeper=False))


def test_a_manifest_from_someone_else_is_a_warning(tmp_path):
    package = complete_package(tmp_path / "p")
    write(package / MANIFEST_NAME, '{"builder": "somebody else"}\n')
    assert package_problems(package) == [
        (Severity.WARNING, f"package {package}: MANIFEST.json is not from arcus-tui package build")]
