"""Real ZooKeeper for the suite: one 3-member ensemble per session, on loopback.

Members on 127.0.2.1-3 (client 2181, quorum 2888, election 3888; 127.0.1.x and
ports 2022/2222 belong to other fixtures), started by
`tests.infra.local_zookeeper.LocalEnsemble` from Debian's `zookeeper`
package, waited for until one leader and two followers answer `srvr`, and
stopped by their pidfiles at the end. The state lives in a fixed directory so a
run that was killed leaves pidfiles the next run uses to stop its leftovers.

Per test: `zk_session` (a writable `RegistrySession`) and `zk_client` (a raw
kazoo client) start with no /arcus and no /arcus_repl, so tests are independent.
Missing ZooKeeper or Java: skip on a laptop, fail when CI is set.
``ARCUS_TUI_ZK_HOME`` points at another installation (default /usr/share/zookeeper).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from tests.infra.require import missing

ZK_ADDRESSES = ("127.0.2.1", "127.0.2.2", "127.0.2.3")
ZK_CLIENT_PORT = 2181
QUORUM_DEADLINE = 60.0
BASE_DIR = Path(os.environ.get("ARCUS_TUI_TEST_ZK_DIR", Path(tempfile.gettempdir()) / "arcus-tui-tests" / "zookeeper"))


@dataclass(frozen=True)
class ZooKeeperEnsemble:
    ensemble: "object"  # tests.infra.local_zookeeper.LocalEnsemble
    hosts: str  # "127.0.2.1:2181,127.0.2.2:2181,127.0.2.3:2181"
    members: tuple[str, ...]
    quorum: "object"  # arcus_tui.zk.fourletter.QuorumResult of the start
    start_to_quorum: float  # seconds from launching the members to leader + followers


def _run_async(coro):
    """Run a coroutine to completion on a fresh loop in another thread, so this works
    whether or not the caller's thread already runs a loop."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _clean(client) -> None:
    for root in ("/arcus", "/arcus_repl"):
        if client.exists(root):
            client.delete(root, recursive=True)


@pytest.fixture(scope="session")
def zookeeper_ensemble() -> Iterator[ZooKeeperEnsemble]:
    from tests.infra.local_zookeeper import DEFAULT_ZK_HOME, LocalEnsemble, zookeeper_installed

    zk_home = Path(os.environ.get("ARCUS_TUI_ZK_HOME", DEFAULT_ZK_HOME))  # e.g. an upstream tarball
    problem = zookeeper_installed(zk_home)
    if problem:
        missing(problem)
    ensemble = LocalEnsemble(BASE_DIR, ZK_ADDRESSES, client_port=ZK_CLIENT_PORT, zk_home=zk_home)
    ensemble.stop()  # leftovers of an interrupted earlier run, found by their pidfiles
    began = time.monotonic()
    try:
        ensemble.start(clean=True)
        quorum = _run_async(ensemble.wait_ready(QUORUM_DEADLINE))
    except BaseException:
        ensemble.stop()
        raise
    elapsed = time.monotonic() - began
    try:
        yield ZooKeeperEnsemble(
            ensemble=ensemble,
            hosts=ensemble.connection_string,
            members=tuple(ensemble.client_addresses),
            quorum=quorum,
            start_to_quorum=elapsed,
        )
    finally:
        ensemble.stop()


@pytest.fixture
def zk_hosts(zookeeper_ensemble: ZooKeeperEnsemble) -> str:
    return zookeeper_ensemble.hosts


@pytest.fixture
def zk_client(zk_hosts: str):
    """A started kazoo client on a clean tree (no /arcus, no /arcus_repl)."""
    from kazoo.client import KazooClient

    client = KazooClient(hosts=zk_hosts, timeout=10.0)
    client.start(timeout=15)
    try:
        _clean(client)
        yield client
    finally:
        client.stop()
        client.close()


@pytest.fixture
def zk_session(zk_hosts: str, zk_client):
    """A writable `RegistrySession` on the same clean tree as `zk_client`."""
    from arcus_tui.zk.session import RegistrySession

    session = RegistrySession.connect(zk_hosts, timeout=15)
    try:
        yield session
    finally:
        session.close()
