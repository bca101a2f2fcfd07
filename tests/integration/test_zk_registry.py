"""arcus_tui.zk against a real 3-member ZooKeeper ensemble (tests/infra/zookeeper.py).

The registry must leave exactly the tree naver/arcus `scripts/lib/zk.py` leaves
(docs/arcus.md#the-znode-layout), because arcus-memcached and ARCUS clients read it.
Addresses inside znode names are data only; nothing here connects to them.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import threading
import time
from pathlib import Path

import pytest
from kazoo.client import KazooClient

from arcus_tui.events import HostState, ProgressEvent
from arcus_tui.zk import paths
from arcus_tui.zk.fourletter import Mode, QuorumTimeout, mntr, probe_ensemble, ruok, wait_for_quorum
from arcus_tui.zk.registry import (
    LiveNodesError,
    MappingConflictError,
    NodeMapping,
    NotInitializedError,
    RemovalNotConfirmedError,
    init_arcus,
    nodes_from_cluster_json,
    register,
    unregister,
)
from arcus_tui.zk.session import (
    ReadOnlyError,
    RegistryConnectionError,
    RegistrySession,
    TransactionError,
    create,
    delete,
)
from arcus_tui.zk.status import Health, Layout, ServiceNotFoundError, list_all, read_service_status
from arcus_tui.zk.tree import ChangeKind, TreeWatcher, read_znode
from tests.waits import wait_until

pytestmark = pytest.mark.zookeeper

T1 = datetime.datetime(2024, 5, 1, 10, 0, 0, 111111)
T2 = datetime.datetime(2024, 5, 2, 11, 30, 0, 222222)


def cluster(service_code: str, *servers: tuple[str, str], **config: str) -> dict:
    """An ARCUS cluster JSON (scripts/conf/*.json shape)."""
    return {
        "serviceCode": service_code,
        "servers": [{"hostname": f"host-{ip}", "ip": ip, "config": {"port": port}} for ip, port in servers],
        "config": {"threads": "6", "memlimit": "100", "connections": "1000", **config},
    }


def do_register(session, cluster_json: dict, now: datetime.datetime = T1):
    return register(
        session, cluster_json["serviceCode"], cluster_json, nodes_from_cluster_json(cluster_json), now=lambda: now
    )


def tree(client: KazooClient, path: str = "/arcus") -> dict[str, bytes]:
    """Every znode under ``path`` -> its data, after catching up with the leader (the
    raw client may talk to another member than the session that wrote)."""
    client.sync("/")
    out: dict[str, bytes] = {}
    stack = [path]
    while stack:
        p = stack.pop()
        data, _ = client.get(p)
        out[p] = data
        stack.extend(f"{p}/{c}" for c in client.get_children(p))
    return out


def snapshot_of(client: KazooClient, *words: str) -> dict[str, tuple[int, int, bytes]]:
    """(czxid, mzxid, data) of every znode whose path contains one of ``words``."""
    result = {}
    for p, data in tree(client).items():
        if any(w in p for w in words):
            stat = client.exists(p)
            result[p] = (stat.czxid, stat.mzxid, data)
    return result


@pytest.fixture
def second_client(zk_hosts: str):
    """Another ZooKeeper session, standing in for a live memcached node."""
    client = KazooClient(hosts=zk_hosts, timeout=10.0)
    client.start(timeout=15)
    try:
        yield client
    finally:
        client.stop()
        client.close()


def go_online(client: KazooClient, service_code: str, name: str, memlimit: str = "100MB") -> str:
    """What arcus-memcached does when it joins (§4 step 3): an ephemeral cache_list child."""
    return client.create(f"{paths.service_cache_list(service_code)}/{name}", memlimit.encode(), ephemeral=True)


# -- init -------------------------------------------------------------------------------


def test_init_creates_exactly_the_four_znodes_in_one_transaction(zk_session, zk_client) -> None:
    outcome = init_arcus(zk_session)
    assert outcome.changed and outcome.state is HostState.OK
    assert [(op.kind, op.path) for op in outcome.operations] == [("create", p) for p in paths.init_paths()]
    assert tree(zk_client) == {p: b"" for p in paths.init_paths()}
    zk_client.sync("/")
    czxids = {zk_client.exists(p).czxid for p in paths.init_paths()}
    assert len(czxids) == 1, "one transaction gives every znode the same creation zxid"

    pzxid = zk_client.exists("/arcus").pzxid
    again = init_arcus(zk_session)
    assert not again.changed and again.state is HostState.ALREADY_DONE
    assert again.operations == ()
    assert zk_client.exists("/arcus").pzxid == pzxid


def test_init_completes_a_partial_structure(zk_session, zk_client) -> None:
    zk_client.create("/arcus/cache_list", makepath=True)
    outcome = init_arcus(zk_session)
    assert outcome.changed
    assert [op.path for op in outcome.operations] == ["/arcus/client_list", "/arcus/cache_server_mapping",
                                                      "/arcus/cache_server_log"]
    zk_client.sync("/")
    assert set(zk_client.get_children("/arcus")) == {"cache_list", "client_list", "cache_server_mapping",
                                                     "cache_server_log"}


# -- register ---------------------------------------------------------------------------


def test_register_builds_the_arcus_tree(zk_session, zk_client) -> None:
    init_arcus(zk_session)
    conf = cluster("test", ("127.0.0.1", "11211"), ("127.0.0.1", "11212"), ("127.0.0.2", "11211"))
    outcome = do_register(zk_session, conf)
    assert outcome.changed

    stamp = "2024-05-01 10:00:00.111111"
    expected_cluster = {**conf, "created": stamp, "modified": stamp}
    merged = {"threads": "6", "memlimit": "100", "connections": "1000"}
    expected = {
        "/arcus": b"",
        "/arcus/cache_list": b"",
        "/arcus/client_list": b"",
        "/arcus/cache_server_mapping": b"",
        "/arcus/cache_server_log": b"",
        "/arcus/cache_list/test": json.dumps(expected_cluster).encode(),
        "/arcus/client_list/test": b"",
    }
    for ip, port in (("127.0.0.1", "11211"), ("127.0.0.1", "11212"), ("127.0.0.2", "11211")):
        expected[f"/arcus/cache_server_mapping/{ip}:{port}"] = json.dumps({**merged, "port": port}).encode()
        expected[f"/arcus/cache_server_mapping/{ip}:{port}/test"] = b""
    assert tree(zk_client) == expected

    written = [p for p in expected if p not in paths.init_paths()]
    assert len({zk_client.exists(p).czxid for p in written}) == 1, "register is one transaction"


def test_second_identical_register_changes_nothing(zk_session, zk_client) -> None:
    init_arcus(zk_session)
    conf = cluster("test", ("127.0.0.1", "11211"), ("127.0.0.1", "11212"))
    do_register(zk_session, conf, T1)
    before = {p: zk_client.exists(p).mzxid for p in tree(zk_client)}

    again = do_register(zk_session, conf, T2)
    assert not again.changed and again.state is HostState.ALREADY_DONE
    assert again.operations == ()
    assert {p: zk_client.exists(p).mzxid for p in tree(zk_client)} == before
    assert json.loads(zk_client.get("/arcus/cache_list/test")[0])["modified"] == "2024-05-01 10:00:00.111111"


def test_reregister_keeps_created_sets_modified_and_replaces_mappings(zk_session, zk_client) -> None:
    init_arcus(zk_session)
    first = cluster("test", ("127.0.0.1", "11211"), ("127.0.0.1", "11212"), ("127.0.0.2", "11211"))
    do_register(zk_session, first, T1)
    do_register(zk_session, cluster("other", ("127.0.0.3", "11211")), T1)
    other_before = snapshot_of(zk_client, "other", "127.0.0.3")

    # drop 127.0.0.2:11211, add 127.0.0.4:11211, change every node's memlimit
    changed = cluster("test", ("127.0.0.1", "11211"), ("127.0.0.1", "11212"), ("127.0.0.4", "11211"), memlimit="200")
    with pytest.raises(RemovalNotConfirmedError, match="127.0.0.2:11211"):  # not without the operator's consent
        do_register(zk_session, changed, T2)
    outcome = register(zk_session, "test", changed, nodes_from_cluster_json(changed), now=lambda: T2,
                       allowed_removals={"127.0.0.2:11211"})
    assert outcome.changed
    assert "added 127.0.0.4:11211" in outcome.message and "removed 127.0.0.2:11211" in outcome.message

    zk_client.sync("/")
    stored = json.loads(zk_client.get("/arcus/cache_list/test")[0])
    assert stored["created"] == "2024-05-01 10:00:00.111111"
    assert stored["modified"] == "2024-05-02 11:30:00.222222"
    assert {k: v for k, v in stored.items() if k not in ("created", "modified")} == changed

    mapping = "/arcus/cache_server_mapping"
    assert sorted(zk_client.get_children(mapping)) == [
        "127.0.0.1:11211",
        "127.0.0.1:11212",
        "127.0.0.3:11211",
        "127.0.0.4:11211",
    ]
    assert zk_client.exists(f"{mapping}/127.0.0.2:11211") is None
    for key in ("127.0.0.1:11211", "127.0.0.1:11212", "127.0.0.4:11211"):
        assert json.loads(zk_client.get(f"{mapping}/{key}")[0])["memlimit"] == "200"
        assert zk_client.get_children(f"{mapping}/{key}") == ["test"]
    other_after = snapshot_of(zk_client, "other", "127.0.0.3")
    assert other_after == other_before and other_before


def test_register_refuses_a_node_of_another_service(zk_session, zk_client) -> None:
    init_arcus(zk_session)
    do_register(zk_session, cluster("other", ("127.0.0.3", "11211")))
    before = tree(zk_client)
    with pytest.raises(MappingConflictError, match="127.0.0.3:11211 belongs to 'other'"):
        do_register(zk_session, cluster("test", ("127.0.0.1", "11211"), ("127.0.0.3", "11211")))
    assert tree(zk_client) == before


def test_register_needs_init(zk_session) -> None:
    with pytest.raises(NotInitializedError, match="init"):
        do_register(zk_session, cluster("test", ("127.0.0.1", "11211")))


def test_register_with_explicit_node_mappings(zk_session, zk_client) -> None:
    init_arcus(zk_session)
    nodes = [NodeMapping("127.0.0.1", 11211, {"port": "11211", "memlimit": "64"})]
    outcome = register(zk_session, "plain", {"serviceCode": "plain"}, nodes, now=lambda: T1)
    assert outcome.changed
    zk_client.sync("/")
    assert json.loads(zk_client.get("/arcus/cache_server_mapping/127.0.0.1:11211")[0]) == {
        "port": "11211",
        "memlimit": "64",
    }
    with pytest.raises(ValueError, match="differs"):
        register(zk_session, "plain", {"serviceCode": "other"}, nodes)


# -- unregister -------------------------------------------------------------------------


def test_unregister_is_refused_while_a_node_is_live(zk_session, zk_client, zk_hosts) -> None:
    init_arcus(zk_session)
    do_register(zk_session, cluster("test", ("127.0.0.1", "11211"), ("127.0.0.1", "11212")))
    do_register(zk_session, cluster("other", ("127.0.0.3", "11211")))
    node = KazooClient(hosts=zk_hosts, timeout=10.0)
    node.start(timeout=15)
    try:
        go_online(node, "test", "127.0.0.1:11211-cache001")
        before = tree(zk_client)
        with pytest.raises(LiveNodesError) as refused:
            unregister(zk_session, "test")
        assert refused.value.live_nodes == ("127.0.0.1:11211-cache001",)
        assert "127.0.0.1:11211-cache001" in str(refused.value)
        assert tree(zk_client) == before
    finally:
        node.stop()  # closing the session removes its ephemeral node
        node.close()

    wait_until(lambda: not zk_client.get_children("/arcus/cache_list/test"), 5,
               "the ephemeral node to go with the closed session")
    outcome = unregister(zk_session, "test")
    assert outcome.changed
    assert set(tree(zk_client)) == {
        *paths.init_paths(),
        "/arcus/cache_list/other",
        "/arcus/client_list/other",
        "/arcus/cache_server_mapping/127.0.0.3:11211",
        "/arcus/cache_server_mapping/127.0.0.3:11211/other",
    }
    assert [(op.kind, op.path) for op in outcome.operations] == [
        ("delete", "/arcus/cache_list/test"),
        ("delete", "/arcus/client_list/test"),
        ("delete", "/arcus/cache_server_mapping/127.0.0.1:11211/test"),
        ("delete", "/arcus/cache_server_mapping/127.0.0.1:11211"),
        ("delete", "/arcus/cache_server_mapping/127.0.0.1:11212/test"),
        ("delete", "/arcus/cache_server_mapping/127.0.0.1:11212"),
    ]

    again = unregister(zk_session, "test")
    assert not again.changed and "not registered" in again.message


def test_unregister_force_removes_live_entries(zk_session, zk_client, second_client) -> None:
    init_arcus(zk_session)
    do_register(zk_session, cluster("test", ("127.0.0.1", "11211")))
    go_online(second_client, "test", "127.0.0.1:11211-cache001")
    second_client.create("/arcus/client_list/test/app-client-1", ephemeral=True)
    outcome = unregister(zk_session, "test", force=True)
    assert outcome.changed and "forced" in outcome.message
    assert set(tree(zk_client)) == set(paths.init_paths())


# -- status -----------------------------------------------------------------------------


def test_status_on_crafted_trees(zk_session, zk_client, second_client) -> None:
    init_arcus(zk_session)
    do_register(zk_session, cluster("mixed", ("127.0.0.1", "11211"), ("127.0.0.1", "11212"), ("127.0.0.2", "11211")))
    do_register(zk_session, cluster("down", ("127.0.0.5", "11211")))
    do_register(zk_session, cluster("good", ("127.0.0.6", "11211")))
    go_online(second_client, "mixed", "127.0.0.1:11211-cache-001")
    go_online(second_client, "mixed", "127.0.0.1:11212-cache-001")
    go_online(second_client, "mixed", "127.0.0.9:11211-stray")  # undefined: not mapped to "mixed"
    go_online(second_client, "good", "127.0.0.6:11211-h6")

    mixed = read_service_status(zk_session, "mixed")
    assert mixed.status is Health.SOME_DOWN
    assert mixed.online == ("127.0.0.1:11211", "127.0.0.1:11212")
    assert mixed.offline == ("127.0.0.2:11211",)
    assert mixed.undefined == ("127.0.0.9:11211",)
    assert mixed.created == "2024-05-01 10:00:00.111111"

    everything = list_all(zk_session)
    assert [(s.service_code, s.status) for s in everything] == [
        ("down", Health.DOWN),
        ("good", Health.OK),
        ("mixed", Health.SOME_DOWN),
    ]
    assert everything[0].offline == ("127.0.0.5:11211",)

    with pytest.raises(ServiceNotFoundError):
        read_service_status(zk_session, "nope")


def test_status_of_a_registered_service_without_nodes_is_down(zk_session) -> None:
    init_arcus(zk_session)
    register(zk_session, "empty", {"serviceCode": "empty"}, [])
    s = read_service_status(zk_session, "empty")
    assert (s.status, s.total) == (Health.DOWN, 0)


def test_status_recognises_the_repl_layout(zk_session, zk_client, second_client) -> None:
    init_arcus(zk_session)
    zk_client.create("/arcus_repl/cache_list/rsvc", makepath=True)
    zk_client.create("/arcus_repl/group_list/rsvc/g0", makepath=True)
    for port in (11311, 11312):
        zk_client.create(
            f"/arcus_repl/cache_server_mapping/127.0.0.1:{port}/rsvc^g0^127.0.0.1:2{port - 10000}", makepath=True
        )
    second_client.create("/arcus_repl/cache_list/rsvc/g0^M^127.0.0.1:11311-h1", b"100MB", ephemeral=True)

    s = read_service_status(zk_session, "rsvc")
    assert s.layout is Layout.REPL
    assert (s.status, s.online, s.offline) == (Health.SOME_DOWN, ("127.0.0.1:11311",), ("127.0.0.1:11312",))
    assert s.live[0].group == "g0" and s.live[0].role == "M"
    assert [(x.service_code, x.layout) for x in list_all(zk_session)] == [("rsvc", Layout.REPL)]
    assert list_all(zk_session, include_repl=False) == ()


# -- read-only --------------------------------------------------------------------------


def test_read_only_session_refuses_every_write(zk_session, zk_client, zk_hosts) -> None:
    with RegistrySession.connect(zk_hosts, read_only=True) as ro:
        with pytest.raises(ReadOnlyError):
            init_arcus(ro)
        assert zk_client.exists("/arcus") is None

        init_arcus(zk_session)
        conf = cluster("test", ("127.0.0.1", "11211"))
        do_register(zk_session, conf)
        before = tree(zk_client)
        attempts = [
            lambda: init_arcus(ro),
            lambda: do_register(ro, conf),  # would be a no-op: refused all the same
            lambda: do_register(ro, cluster("test2", ("127.0.0.2", "11211"))),
            lambda: unregister(ro, "test"),
            lambda: ro.commit([create("/arcus/x")]),
            lambda: ro.commit([]),
            lambda: ro.create("/arcus/x"),
            lambda: ro.set("/arcus", b"x"),
            lambda: ro.delete("/arcus/cache_list/test"),
            lambda: ro.delete("/arcus", recursive=True),
        ]
        for attempt in attempts:
            with pytest.raises(ReadOnlyError, match="read-only"):
                attempt()
        assert tree(zk_client) == before
        # reading works
        assert read_service_status(ro, "test").offline == ("127.0.0.1:11211",)
        assert read_znode(ro, "/arcus").children == ("cache_list", "cache_server_log", "cache_server_mapping",
                                                    "client_list")
    view = zk_session.read_only_view()
    with pytest.raises(ReadOnlyError):
        unregister(view, "test")
    assert zk_client.exists("/arcus/cache_list/test") is not None


def test_transaction_is_all_or_nothing(zk_session, zk_client) -> None:
    init_arcus(zk_session)
    with pytest.raises(TransactionError, match="operation 2 of 2.*does not exist") as failed:
        zk_session.commit([create("/arcus/new"), delete("/arcus/missing")])
    assert failed.value.failed_index == 1
    assert zk_client.exists("/arcus/new") is None


def test_connect_failure_is_clear_and_bounded() -> None:
    began = time.monotonic()
    with pytest.raises(RegistryConnectionError, match="127.0.2.9:2181"):
        RegistrySession.connect("127.0.2.9:2181", timeout=1.0)
    assert time.monotonic() - began < 10


# -- ensemble health --------------------------------------------------------------------


async def test_wait_for_quorum_sees_one_leader_and_two_followers(zookeeper_ensemble) -> None:
    events: list[ProgressEvent] = []
    result = await wait_for_quorum(zookeeper_ensemble.members, 20, events.append)
    modes = sorted(m.mode.value for m in result.members)
    assert modes == ["follower", "follower", "leader"]
    assert result.leader in zookeeper_ensemble.members
    finals = {e.host: e.state for e in events if e.state is not None and e.state.finished}
    assert finals == {m: HostState.OK for m in zookeeper_ensemble.members}
    assert all(e.step == "zookeeper-quorum" for e in events)
    assert {e.host for e in events if e.text.startswith("mode: ")} == set(zookeeper_ensemble.members)
    # the session fixture waited the same way when it started the ensemble
    assert sorted(m.mode.value for m in zookeeper_ensemble.quorum.members) == ["follower", "follower", "leader"]


async def test_wait_for_quorum_fails_at_the_deadline() -> None:
    events: list[ProgressEvent] = []
    began = time.monotonic()
    with pytest.raises(QuorumTimeout) as timeout:
        await wait_for_quorum(["127.0.2.9:2181", "127.0.2.10:2181"], 1.0, events.append, interval=0.1)
    assert time.monotonic() - began < 5
    assert {m.mode for m in timeout.value.members} == {Mode.UNREACHABLE}
    assert [e.state for e in events if e.state is HostState.FAILED] == [HostState.FAILED] * 2


async def test_four_letter_words_on_a_member(zookeeper_ensemble) -> None:
    host, port = zookeeper_ensemble.members[0].split(":")
    assert await ruok(host, int(port)) is True
    stats = await mntr(host, int(port))
    assert stats["zk_server_state"] in ("leader", "follower")
    probed = await probe_ensemble(zookeeper_ensemble.hosts)
    assert [m.address for m in probed] == list(zookeeper_ensemble.members)
    assert all(m.info and m.info.version and m.info.version.startswith("3.") for m in probed)


def test_each_member_logs_in_its_own_directory(zookeeper_ensemble) -> None:
    ensemble = zookeeper_ensemble.ensemble
    logs = [ensemble.log_dir(m) / "zookeeper.log" for m in ensemble.members]
    assert len(set(logs)) == 3
    for m, log in zip(ensemble.members, logs):
        assert ensemble.running_pid(m)
        text = Path(log).read_text(errors="replace")
        assert f"[myid:{m.myid}]" in text  # its own messages, not a neighbour's


# -- tree browser -----------------------------------------------------------------------


async def test_tree_watch_hands_changes_to_the_loop(zk_session, zk_client) -> None:
    loop = asyncio.get_running_loop()
    loop_thread = threading.get_ident()
    changes: asyncio.Queue = asyncio.Queue()
    threads: list[int] = []

    def on_change(change) -> None:
        threads.append(threading.get_ident())
        changes.put_nowait(change)

    async def next_change():
        change = await asyncio.wait_for(changes.get(), 10)
        # A read on the watcher's own session comes back after the watches it re-armed are set
        # (one connection, in order); without it the other client's next write could come first.
        await asyncio.to_thread(zk_session.get_many, ["/arcus"])
        return change

    watcher = TreeWatcher(zk_session, loop, on_change)
    try:
        watcher.watch("/arcus")  # does not exist yet
        await asyncio.to_thread(zk_session.get_many, ["/arcus"])  # the watch is set (see next_change)
        await asyncio.to_thread(zk_client.create, "/arcus")
        assert (await next_change()).kind is ChangeKind.CREATED

        await asyncio.to_thread(zk_client.create, "/arcus/cache_list")
        change = await next_change()
        assert (change.path, change.kind) == ("/arcus", ChangeKind.CHILDREN)

        await asyncio.to_thread(zk_client.set, "/arcus", b"hello")
        assert (await next_change()).kind is ChangeKind.DATA
        node = await asyncio.to_thread(read_znode, zk_session, "/arcus")
        assert node.text == "hello" and node.children == ("cache_list",) and not node.ephemeral

        watcher.unwatch("/arcus")
        await asyncio.to_thread(zk_client.set, "/arcus", b"ignored")
        await asyncio.sleep(0.3)
        assert changes.empty()
    finally:
        watcher.close()
    assert threads and set(threads) == {loop_thread}


def test_member_config_has_the_arcus_defaults(zookeeper_ensemble) -> None:
    ensemble = zookeeper_ensemble.ensemble
    for m in ensemble.members:
        lines = set(ensemble.config_path(m).read_text().splitlines())
        assert {
            "tickTime=2000",
            "initLimit=10",
            "syncLimit=5",
            "maxClientCnxns=100",
            "4lw.commands.whitelist=*",
            "minSessionTimeout=4000",
            "maxSessionTimeout=200000",
            "clientPort=2181",
            f"clientPortAddress={m.address}",
            f"dataDir={ensemble.data_dir(m)}",
            "server.1=127.0.2.1:2888:3888",
            "server.2=127.0.2.2:2888:3888",
            "server.3=127.0.2.3:2888:3888",
        } <= lines
        assert (ensemble.data_dir(m) / "myid").read_text().strip() == str(m.myid)
