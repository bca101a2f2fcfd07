"""Atomic remote writes (issue 8, item 7): the temp file is made by mktemp in the target's own
directory (no predictable name to plant a link at) and synced to disk before it is renamed over
the target, so a crash leaves the old file or the new one, never an empty one."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from arcus_tui.ssh.remote_write import atomic_write_command

CONTENT = "tickTime=2000\ndataDir=/x y/$(touch /tmp/never)\n'quoted'\n"


def logging_shims(directory: Path, log: Path, names=("mktemp", "sync", "mv")) -> Path:
    """Wrappers that append `name args...` to `log`, then run the real command."""
    directory.mkdir(exist_ok=True)
    for name in names:
        real = shutil.which(name)
        assert real, name
        shim = directory / name
        shim.write_text(f'#!/bin/sh\nprintf "%s\\n" "{name} $*" >> "{log}"\nexec {real} "$@"\n')
        shim.chmod(0o755)
    return directory


def run(command: str, home: Path, stdin: str, path_prefix: str = "") -> subprocess.CompletedProcess:
    env = {"HOME": str(home), "PATH": f"{path_prefix}/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C"}
    return subprocess.run(["/bin/sh", "-c", command], input=stdin, text=True, capture_output=True,
                          cwd=home, env=env, timeout=30)


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return home


def test_writes_the_content_with_its_mode_creating_directories(home):
    result = run(atomic_write_command("~/arcus dir/conf/zoo.cfg", 0o640), home, CONTENT)
    assert result.returncode == 0, result.stderr
    target = home / "arcus dir" / "conf" / "zoo.cfg"
    assert target.read_text() == CONTENT
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in target.parent.iterdir()) == ["zoo.cfg"]  # no temp left behind
    assert not Path("/tmp/never").exists()


def test_absolute_path_and_replacing_an_existing_file(home):
    target = home / "abs" / "myid"
    target.parent.mkdir()
    target.write_text("old\n")
    before = target.stat().st_ino
    result = run(atomic_write_command(str(target), 0o644), home, "2\n")
    assert result.returncode == 0, result.stderr
    assert target.read_text() == "2\n" and target.stat().st_ino != before  # a new file renamed over


def test_temp_is_made_by_mktemp_beside_the_target_and_synced_before_the_rename(home, tmp_path):
    log = tmp_path / "calls.log"
    shims = logging_shims(tmp_path / "shims", log)
    result = run(atomic_write_command("~/conf/zoo.cfg", 0o644), home, CONTENT, f"{shims}:")
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    made = next(c for c in calls if c.startswith("mktemp "))
    template = made.split()[-1]
    assert template.startswith(f"{home}/conf/.zoo.cfg.") and template.endswith("XXXXXXXXXX")
    moved = next(c for c in calls if c.startswith("mv "))
    temporary = moved.split()[-2]
    assert os.path.dirname(temporary) == f"{home}/conf" and "XXXX" not in temporary
    synced = [i for i, c in enumerate(calls) if c.startswith("sync ") and temporary in c]
    assert synced and synced[0] < calls.index(moved)


def test_a_link_planted_at_the_old_predictable_name_is_not_followed(home, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (home / "conf").mkdir()
    (home / "conf" / "zoo.cfg.arcus-tui.tmp").symlink_to(victim)
    result = run(atomic_write_command("~/conf/zoo.cfg", 0o644), home, CONTENT)
    assert result.returncode == 0, result.stderr
    assert victim.read_text() == "precious\n"
    assert (home / "conf" / "zoo.cfg").read_text() == CONTENT


def test_a_failed_write_leaves_the_old_file_whole_and_no_temp(home, tmp_path):
    bad = tmp_path / "bad-bin"
    bad.mkdir()
    (bad / "mv").write_text("#!/bin/sh\nexit 1\n")
    (bad / "mv").chmod(0o755)
    target = home / "conf" / "zoo.cfg"
    target.parent.mkdir()
    target.write_text("old\n")
    result = run(atomic_write_command("~/conf/zoo.cfg", 0o644), home, CONTENT, f"{bad}:")
    assert result.returncode != 0
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["zoo.cfg"]


# -- the runner's write, once it uses atomic_write_command ------------------------------------------


async def test_runner_write_does_not_follow_a_planted_link(tmp_path):
    from arcus_tui.deploy import actions
    from arcus_tui.deploy.runner import _write_file
    from arcus_tui.events import HostState
    from arcus_tui.ssh import SshSession
    from arcus_tui.ssh.results import HostResult
    from tests.unit.ssh_fakeserver import Lab

    lab = Lab(tmp_path)
    try:
        a = await lab.add("a")
        victim = tmp_path / "victim"
        victim.write_text("precious\n")
        (a.home / "conf").mkdir()
        (a.home / "conf" / "zoo.cfg.arcus-tui.tmp").symlink_to(victim)

        async def job(work):
            changed, error = await _write_file(work, actions.WriteFile("~/conf/zoo.cfg", CONTENT))
            return HostResult(work.name, "w", HostState.FAILED if error else HostState.OK, error=error)

        async with SshSession(lab.targets(a), paths=lab.paths) as ssh:
            result = await ssh.each_host(job, step="w")
        assert result.ok, result["a"].error
        assert victim.read_text() == "precious\n"
        assert (a.home / "conf" / "zoo.cfg").read_text() == CONTENT
    finally:
        await lab.stop()
