"""`arcus-tui start` shows what it starts and asks, as `stop` does; `--yes` agrees in advance."""

from __future__ import annotations

from pathlib import Path

import pytest

from arcus_tui.cli import main
from arcus_tui.deploy.plan import StepId
from arcus_tui.verbs import console
from arcus_tui.verbs import deploy as deploy_verbs

SEED = Path(__file__).resolve().parents[2] / "sample_clusters" / "colocated.toml"


@pytest.fixture
def captured(monkeypatch):
    """The plans `execute` was given, recorded instead of run."""
    calls = []
    monkeypatch.setattr(deploy_verbs, "execute", lambda cluster, plan, options, kind: calls.append(plan) or 0)
    return calls


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_start_without_a_terminal_or_yes_shows_the_processes_and_runs_nothing(capsys, captured):
    code, out, err = run(capsys, "start", SEED, "--node", "10.0.0.2:11212")
    assert code == 2 and captured == []
    assert "start memcached 10.0.0.2:11212 on cache002.arcus" in out
    assert "11211" not in out and "--yes" in err


def test_start_answered_no_on_a_terminal_runs_nothing(capsys, captured, monkeypatch):
    monkeypatch.setattr(console, "interactive", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt="": "n")
    code, out, err = run(capsys, "start", SEED, "memcached")
    assert code == 2 and captured == []
    assert "start memcached 10.0.0.1:11211 on cache001.arcus" in out


def test_start_answered_yes_runs_the_narrowed_plan(capsys, captured, monkeypatch):
    monkeypatch.setattr(console, "interactive", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt="": "y")
    code, out, err = run(capsys, "start", SEED, "zookeeper", "--host", "cache002.arcus")
    assert code == 0
    (plan,) = captured
    assert "start ZooKeeper 10.0.0.2:2181 on cache002.arcus" in plan.effects()
    assert "start ZooKeeper 10.0.0.2:2181 on cache002.arcus" in out


def test_start_with_yes_does_not_ask(capsys, captured, monkeypatch):
    monkeypatch.setattr("builtins.input", lambda prompt="": pytest.fail("asked despite --yes"))
    code, out, err = run(capsys, "start", SEED, "--node", "10.0.0.2:11212", "--yes")
    assert code == 0
    (plan,) = captured
    assert [step.id for step in plan.steps] == [StepId.MEMCACHED_START, StepId.MEMCACHED_ONLINE]
