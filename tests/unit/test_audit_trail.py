"""A run's audit trail: every command run on a server with its host, time and exit status;
never the password. Against in-process SSH servers that run the commands for real."""

from __future__ import annotations

import json
import os
import stat

import pytest

from arcus_tui.deploy.audit import AuditTrail, audit_dir
from arcus_tui.events import HostState, ProgressEvent
from arcus_tui.ssh import Password, SshSession, copy_id
from tests.unit.ssh_fakeserver import Lab

SECRET = "s3cret-Pa55word-for-audit"


@pytest.fixture
async def lab(tmp_path):
    lab = Lab(tmp_path)
    yield lab
    await lab.stop()


def records(trail: AuditTrail) -> list[dict]:
    return [json.loads(line) for line in trail.path.read_text().splitlines()]


def test_trails_go_under_the_xdg_state_home(tmp_path):
    assert audit_dir({"XDG_STATE_HOME": str(tmp_path)}) == tmp_path / "arcus-tui" / "runs"
    assert audit_dir({"XDG_STATE_HOME": "relative/ignored"}).parts[-4:] == (".local", "state", "arcus-tui", "runs")


async def test_every_command_is_recorded_with_host_step_and_exit_status(lab, tmp_path):
    a = await lab.add("a", password=SECRET, authorized=False)
    b = await lab.add("b", password=SECRET)
    trail = AuditTrail.start("setup", "test/svc", ["a", "b"], directory=tmp_path / "runs")
    copied = await copy_id(lab.targets(a), lab.key, Password(SECRET), paths=lab.paths, step="copy-key",
                           on_command=trail.command)
    assert copied.ok
    async with SshSession(lab.targets(b), paths=lab.paths, on_command=trail.command) as ssh:
        result = await ssh.run("echo fine; echo 'no space left on device' >&2; exit 3", step="upload",
                               sink=trail.event)
    trail.event(ProgressEvent("b", "upload", state=HostState.FAILED, text=result["b"].error))
    trail.finish(False)

    assert result["b"].error == "exit status 3: no space left on device"  # the cause, not the command
    kinds = [record["type"] for record in records(trail)]
    assert kinds[0] == "run-start" and kinds[-1] == "run-end" and kinds.count("command") == 2
    copy, failing = [record for record in records(trail) if record["type"] == "command"]
    assert (copy["host"], copy["step"], copy["exit_status"]) == ("a", "copy-key", 0)
    assert (failing["host"], failing["step"], failing["exit_status"]) == ("b", "upload", 3)
    assert failing["command"].startswith("echo fine") and failing["time"][:4].isdigit()
    assert SECRET not in trail.path.read_text()
    assert stat.S_IMODE(os.stat(trail.path).st_mode) == 0o600
    assert trail.path.name.endswith("-setup-test_svc.jsonl")


def test_a_trail_that_cannot_be_written_says_so_and_writes_nothing(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")
    trail = AuditTrail.start("setup", "svc", [], directory=blocked / "runs")
    assert trail.problem and "cannot write" in trail.problem
    trail.event(ProgressEvent("a", "exec", state=HostState.OK))  # no error: the run goes on
    trail.finish(True)
