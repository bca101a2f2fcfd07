"""Reconnecting to ZooKeeper must stop and close the client it replaces (issue 8, item 7).

The leak is in the deploy's registry steps: `RegistrySteps._connect` opens a new session when the
old one is not connected and drops the old one unclosed; kazoo keeps retrying that dropped client
forever on its own threads. (The ZooKeeper tab always tears its session down before connecting
again, and the monitor opens one session per poll in a `with`.)
"""

from __future__ import annotations

import pytest

from arcus_tui.deploy import registry_steps
from arcus_tui.deploy.registry_steps import RegistrySteps
from arcus_tui.events import ignore_events
from arcus_tui.model import Cluster, Host, ZooKeeperSettings


class CountedSession:
    """Stands in for `RegistrySession`: counts the clients that are open (started, not closed)."""

    live: set["CountedSession"] = set()

    def __init__(self) -> None:
        self.connected = True
        CountedSession.live.add(self)

    @classmethod
    def connect(cls, hosts: str, **options) -> "CountedSession":
        return cls()

    def close(self) -> None:
        CountedSession.live.discard(self)


@pytest.fixture
def counted(monkeypatch):
    CountedSession.live = set()
    monkeypatch.setattr(registry_steps, "RegistrySession", CountedSession)
    return CountedSession


def test_registry_steps_close_the_client_they_replace(counted):
    cluster = Cluster(service_code="unit", hosts=(Host("h1", "127.0.0.1", memcached=()),),
                      zookeeper=ZooKeeperSettings(servers=("127.0.0.1:2181",)))
    steps = RegistrySteps(cluster, ignore_events)
    first = steps._connect()
    assert steps._connect() is first  # connected: reused
    first.connected = False  # the ensemble went away; kazoo is retrying in the background
    second = steps._connect()
    assert second is not first
    assert counted.live == {second}  # the old client was stopped and closed
    steps.close()
    assert counted.live == set()
