"""Prove a running ARCUS cloud serves, through NAVER's own Python client.

The client (arcus-python-client: ``arcus.py``, ``arcus_mc_node.py``) is used
unmodified from its checkout, found by :func:`client_dir` and imported by putting
that directory on ``sys.path``. It finds the cache nodes the way every ARCUS
client does: it reads ``/arcus/cache_list/<service code>`` in ZooKeeper and
spreads keys over the live nodes with its ketama consistent hash.

Why the extra care around it: the upstream client blocks without bound (its
``get_result(timeout)`` does not wait, a disconnect does not wake blocked
callers, and a node that closes its socket makes the reader spin), and its two
worker threads are not daemons. So all client work runs in one daemon thread
that the caller joins with a deadline, and shutdown is done here step by step,
each step bounded.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Optional

REPO_ROOT = Path(__file__).resolve().parents[2]
CLIENT_DIR_ENV = "ARCUS_PYTHON_CLIENT"
DEFAULT_CLIENT_DIR = REPO_ROOT.parent / "shared" / "arcus" / "arcus-python-client"

# Everything written expires on its own, so a cloud that outlives the test is
# not left holding the test's data for long.
EXPTIME = 600

LIST_ITEMS = ["list item 1", "list item 2", "list item 3", "list item 4"]
SET_ITEMS = {"set item a", "set item b", "set item c"}
BTREE_ITEMS = {10: "btree item 10", 20: "btree item 20", 30: "btree item 30", 40: "btree item 40"}

SHUTDOWN_TIMEOUT = 10.0


@dataclass
class ClientReport:
    """What :func:`exercise` did and saw, for the test to assert on or show."""

    connect_string: str
    service_code: str
    key_prefix: str                       # every key written starts with this
    cloud_nodes: list[str]                # ip:port of the nodes the client learned from ZooKeeper
    keys_set: int
    keys_got: int
    nodes_used: dict[str, int]            # ip:port -> keys the consistent hash sent there
    list_items: list[str]                 # lop read back
    set_items: set[str]                   # sop read back
    btree_items: dict[int, str]           # bop read back, bkey -> value
    collection_nodes: dict[str, str] = field(default_factory=dict)  # "list"/"set"/"btree" -> ip:port
    elapsed: float = 0.0                  # seconds, connect to last read-back
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage


def client_dir() -> Optional[Path]:
    """The arcus-python-client checkout: ``$ARCUS_PYTHON_CLIENT`` if set, else
    ``<repo root>/../shared/arcus/arcus-python-client``; None if it is not there.

    An explicit environment setting that points at nothing usable gives None
    rather than falling back, so a typo is not silently ignored.
    """
    configured = os.environ.get(CLIENT_DIR_ENV)
    candidate = Path(configured).expanduser() if configured else DEFAULT_CLIENT_DIR
    if (candidate / "arcus.py").is_file() and (candidate / "arcus_mc_node.py").is_file():
        return candidate.resolve()
    return None


def _import_client() -> tuple[ModuleType, ModuleType]:
    """Import ``arcus`` and ``arcus_mc_node`` from :func:`client_dir`."""
    directory = client_dir()
    if directory is None:
        raise ImportError(f"arcus-python-client not found (set {CLIENT_DIR_ENV} or check out "
                          f"{DEFAULT_CLIENT_DIR})")
    # Appended, not prepended: the checkout also holds a demo script named test.py,
    # which must not shadow the standard library's `test` package.
    if str(directory) not in sys.path:
        sys.path.append(str(directory))
    import arcus
    import arcus_mc_node

    for module in (arcus, arcus_mc_node):
        if Path(module.__file__).resolve().parent != directory:
            raise ImportError(f"module {module.__name__} came from {module.__file__}, not from {directory}")
    return arcus, arcus_mc_node


class _Run:
    """State shared between the caller and the daemon thread doing the client work."""

    def __init__(self) -> None:
        self.client: Any = None
        self.stage = "starting"
        self.report: Optional[ClientReport] = None
        self.error: Optional[BaseException] = None


def exercise(connect_string: str, service_code: str, keys: int = 1000, timeout: float = 60) -> ClientReport:
    """Set ``keys`` distinct keys through the ARCUS client, get each back, and
    create and read back one list, one set and one b+tree.

    Raises AssertionError on any mismatch, TimeoutError if the whole run does
    not finish within ``timeout`` seconds, or the client's own exception (for
    example kazoo's NoNodeError for an unknown service code). The client is shut
    down before returning or raising.
    """
    if keys < 1:
        raise ValueError("keys must be at least 1")
    arcus, arcus_mc_node = _import_client()
    run = _Run()
    # The client's worker threads inherit daemon status from the thread that
    # creates them, so building the client in a daemon thread means a client
    # that hangs can never keep the test process alive.
    worker = threading.Thread(target=_run_guarded, args=(run, arcus, arcus_mc_node, connect_string, service_code, keys),
                              name="arcus-client-exercise", daemon=True)
    worker.start()
    worker.join(timeout)
    try:
        if worker.is_alive():
            raise TimeoutError(f"ARCUS client run against {connect_string} ({service_code}) did not finish "
                               f"within {timeout:g}s; stuck while {run.stage}")
        if run.error is not None:
            raise run.error
        assert run.report is not None
        return run.report
    finally:
        _shutdown(run.client)


def _run_guarded(run: _Run, arcus: ModuleType, arcus_mc_node: ModuleType,
                 connect_string: str, service_code: str, keys: int) -> None:
    try:
        run.report = _exercise(run, arcus, arcus_mc_node, connect_string, service_code, keys)
    except BaseException as error:  # handed to the caller's thread to raise there
        run.error = error


def _exercise(run: _Run, arcus: ModuleType, arcus_mc_node: ModuleType,
              connect_string: str, service_code: str, keys: int) -> ClientReport:
    started = time.monotonic()
    timings: dict[str, float] = {}
    mark = started

    def lap(name: str) -> None:
        nonlocal mark
        now = time.monotonic()
        timings[name] = now - mark
        mark = now

    run.stage = "building the client"
    # Same construction as the client's own test.py.
    transcoder = arcus.ArcusTranscoder()
    locator = arcus.ArcusLocator(arcus_mc_node.ArcusMCNodeAllocator(transcoder))
    client = arcus.Arcus(locator)
    run.client = client

    run.stage = f"connecting to ZooKeeper {connect_string} and reading /arcus/cache_list/{service_code}"
    client.connect(connect_string, service_code)
    cloud_nodes = sorted(locator.addr_node_map)
    # With no live node the locator's lookup would fail with an IndexError; say why instead.
    assert cloud_nodes, f"no cache node is registered under /arcus/cache_list/{service_code}"
    lap("connect")

    prefix = f"arcus-tui-e2e-{uuid.uuid4().hex[:8]}"
    expected = {f"{prefix}:key-{i}": f"value {i} of {prefix}" for i in range(keys)}

    # Record where each key goes with the locator's own lookup: Arcus.set/get do
    # exactly `locator.get_node(key)` and send to that node.
    nodes_used: Counter[str] = Counter(locator.get_node(key).addr for key in expected)

    # The client is asynchronous: queue every request, then collect the results,
    # so 1000 keys cost one pipelined pass per node rather than 1000 round trips.
    run.stage = f"setting {keys} keys"
    set_ops = [(key, client.set(key, value, EXPTIME)) for key, value in expected.items()]
    failed_sets = [key for key, op in set_ops if op.get_result() is not True]
    assert not failed_sets, f"{len(failed_sets)} of {keys} sets were not STORED, e.g. {failed_sets[:5]}"
    keys_set = len(set_ops)
    lap("set")

    run.stage = f"getting {keys} keys back"
    get_ops = [(key, client.get(key)) for key in expected]
    read_back = [(key, op.get_result()) for key, op in get_ops]
    wrong = [(key, got) for key, got in read_back if got != expected[key]]
    assert not wrong, (f"{len(wrong)} of {keys} keys read back wrong, e.g. "
                       + ", ".join(f"{key} on {locator.get_node(key).addr}: expected {expected[key]!r}, got {got!r}"
                                   for key, got in wrong[:5]))
    keys_got = len(get_ops)
    lap("get")

    flag = arcus.ArcusTranscoder.FLAG_STRING
    collection_nodes: dict[str, str] = {}

    run.stage = "creating and reading back a list (lop)"
    list_key = f"{prefix}:list"
    collection_nodes["list"] = locator.get_node(list_key).addr
    _expect_true(client.lop_create(list_key, flag, EXPTIME), f"lop create {list_key}")
    for op in [client.lop_insert(list_key, -1, item) for item in LIST_ITEMS]:
        _expect_true(op, f"lop insert {list_key}")
    list_items = client.lop_get(list_key, (0, -1)).get_result()
    assert list_items == LIST_ITEMS, f"list {list_key} read back {list_items!r}, expected {LIST_ITEMS!r}"

    run.stage = "creating and reading back a set (sop)"
    set_key = f"{prefix}:set"
    collection_nodes["set"] = locator.get_node(set_key).addr
    _expect_true(client.sop_create(set_key, flag, EXPTIME), f"sop create {set_key}")
    for op in [client.sop_insert(set_key, item) for item in sorted(SET_ITEMS)]:
        _expect_true(op, f"sop insert {set_key}")
    set_items = client.sop_get(set_key).get_result()
    assert set_items == SET_ITEMS, f"set {set_key} read back {set_items!r}, expected {SET_ITEMS!r}"

    run.stage = "creating and reading back a b+tree (bop)"
    btree_key = f"{prefix}:btree"
    collection_nodes["btree"] = locator.get_node(btree_key).addr
    _expect_true(client.bop_create(btree_key, flag, EXPTIME), f"bop create {btree_key}")
    for op in [client.bop_insert(btree_key, bkey, value) for bkey, value in BTREE_ITEMS.items()]:
        _expect_true(op, f"bop insert {btree_key}")
    # bop get answers {bkey: (eflag, value)}; no eflag was given, so it is None.
    raw = client.bop_get(btree_key, (min(BTREE_ITEMS), max(BTREE_ITEMS))).get_result()
    assert isinstance(raw, dict), f"b+tree {btree_key} read back {raw!r}"
    btree_items = {bkey: value for bkey, (_eflag, value) in raw.items()}
    assert btree_items == BTREE_ITEMS, f"b+tree {btree_key} read back {btree_items!r}, expected {BTREE_ITEMS!r}"
    lap("collections")

    run.stage = "done"
    return ClientReport(
        connect_string=connect_string,
        service_code=service_code,
        key_prefix=prefix,
        cloud_nodes=cloud_nodes,
        keys_set=keys_set,
        keys_got=keys_got,
        nodes_used=dict(sorted(nodes_used.items())),
        list_items=list_items,
        set_items=set_items,
        btree_items=btree_items,
        collection_nodes=collection_nodes,
        elapsed=time.monotonic() - started,
        timings=timings,
    )


def _expect_true(op: Any, what: str) -> None:
    result = op.get_result()
    assert result is True, f"{what} answered {result!r}, expected True"


def _bounded(action: Callable[[], Any], timeout: float) -> bool:
    """Run ``action`` in a daemon thread; False if it has not returned in time.
    Errors are ignored: this is only for best-effort shutdown steps."""

    def guarded() -> None:
        try:
            action()
        except Exception:
            pass

    thread = threading.Thread(target=guarded, name="arcus-client-shutdown", daemon=True)
    thread.start()
    thread.join(timeout)
    return not thread.is_alive()


def _shutdown(client: Any, timeout: float = SHUTDOWN_TIMEOUT) -> None:
    """Stop the client's threads, sockets and ZooKeeper session, each step bounded.

    Not ``client.disconnect()``: it fails when connect did not get as far as
    creating the ZooKeeper client, and joins the worker without a bound (forever
    when no node was ever allocated, since only a node's disconnect_all raises the
    shutdown flag).
    """
    if client is None:
        return
    deadline = time.monotonic() + timeout
    locator = client.locator
    allocator = locator.node_allocator
    worker = allocator.worker
    poll = worker.poll

    # Both threads check this flag: the worker after its next queue item, the
    # poller after its next epoll wait (at most 2 s).
    allocator.shutdown = True
    worker.q.put(None)
    worker.join(max(0.0, deadline - time.monotonic()))
    poll.join(max(0.0, deadline - time.monotonic()))
    if not poll.is_alive():
        poll.epoll.close()

    for node in list(locator.addr_node_map.values()):
        node.handle.disconnect()

    zk = getattr(locator, "zk", None)
    if zk is not None:
        _bounded(lambda: (zk.stop(), zk.close()), max(0.1, deadline - time.monotonic()))
