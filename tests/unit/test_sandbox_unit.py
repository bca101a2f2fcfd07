"""Sandbox rules that need no daemon: what it refuses, and the cluster it writes."""

from __future__ import annotations

import pytest

from arcus_tui.model import parse_cluster
from arcus_tui.model.toml_writer import dump_cluster
from arcus_tui.sandbox import practice_hosts
from arcus_tui.sandbox.practice_hosts import SandboxError, practice_host
from arcus_tui.sandbox.sandbox import sandbox_cluster, sandbox_up


def test_without_root_the_sandbox_says_what_is_missing_and_starts_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(practice_hosts.os, "geteuid", lambda: 1000)
    monkeypatch.setattr("arcus_tui.sandbox.sandbox.build_standin_package", lambda path: type("P", (), {"path": path})())
    started = []
    monkeypatch.setattr("arcus_tui.sandbox.sandbox.start_host", lambda *a: started.append(a))
    with pytest.raises(SandboxError, match="root"):
        sandbox_up(3, "pw", tmp_path)
    assert started == []


@pytest.mark.parametrize("count", [0, 17])
def test_host_count_is_bounded(tmp_path, count):
    with pytest.raises(SandboxError, match="--hosts"):
        sandbox_up(count, "pw", tmp_path)


def test_a_login_not_made_by_the_sandbox_is_left_alone(monkeypatch):
    monkeypatch.setattr(practice_hosts.os, "geteuid", lambda: 0)
    monkeypatch.setattr(practice_hosts.pwd, "getpwnam",
                        lambda name: type("E", (), {"pw_gecos": "Somebody Else"})())
    calls = []
    monkeypatch.setattr(practice_hosts.subprocess, "run", lambda *a, **k: calls.append(a))
    with pytest.raises(SandboxError, match="left alone"):
        practice_hosts.ensure_login(practice_host(1), "pw")
    assert calls == []  # no chpasswd on somebody else's login


@pytest.mark.parametrize("count, members", [(1, 1), (3, 3), (5, 3)])
def test_the_sandbox_cluster_mirrors_the_guide_and_passes_check(tmp_path, count, members):
    hosts = [practice_host(n) for n in range(1, count + 1)]
    cluster = sandbox_cluster(hosts, tmp_path / "package")
    result = parse_cluster(dump_cluster(cluster), "sandbox.toml")
    assert result.ok, [p.format("sandbox.toml") for p in result.problems]
    assert len(result.cluster.zookeeper_hosts) == members
    assert all(host.ports == (11211, 11212) for host in result.cluster.hosts)
    assert result.cluster.bind_address  # practice hosts share one machine
    assert [h.address for h in result.cluster.hosts] == [f"127.0.1.{n}" for n in range(1, count + 1)]
    assert len({h.user for h in result.cluster.hosts}) == count  # one login, one home per host


# --- which arcus-memcached source the sandbox builds -------------------------------------------

def test_the_source_named_on_the_command_line_wins(tmp_path, monkeypatch):
    from arcus_tui.sandbox.arcus_source import find_arcus_source

    monkeypatch.setenv("ARCUS_MEMCACHED_SOURCE", str(tmp_path / "from-env"))
    assert find_arcus_source(tmp_path / "named") == tmp_path / "named"
    assert find_arcus_source() == tmp_path / "from-env"


def test_without_any_source_sandbox_up_says_how_to_get_one_and_starts_nothing(tmp_path, monkeypatch, capsys):
    from arcus_tui.cli import main
    from arcus_tui.sandbox import arcus_source

    monkeypatch.delenv("ARCUS_MEMCACHED_SOURCE", raising=False)
    monkeypatch.setattr(arcus_source, "_shared_folders", lambda: iter([tmp_path / "no-shared-folder"]))
    started = []
    monkeypatch.setattr("arcus_tui.sandbox.sandbox.start_host", lambda *a: started.append(a))
    code = main(["sandbox", "up", "--state-dir", str(tmp_path / "state"), "-o", str(tmp_path / "s.toml")])
    err = capsys.readouterr().err
    assert code == 1 and started == [] and not (tmp_path / "s.toml").exists()
    assert "git clone https://github.com/naver/arcus-memcached" in err and "--standin" in err
    assert "Traceback" not in err
