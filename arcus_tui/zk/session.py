"""`RegistrySession`: the one door to a ZooKeeper ensemble, and where read-only lives.

Every registry write in arcus-tui goes through `RegistrySession.commit` (or the
small `create`/`set`/`delete` helpers), and a session opened with
``read_only=True`` refuses all of them with `ReadOnlyError` before anything is
sent. That is what `arcus-tui --read-only` relies on: the engine cannot write, it
is not merely that a button is hidden.

kazoo is synchronous and runs its own threads. Call these methods from a worker
thread (``asyncio.to_thread``) when you are on an event loop. Every call waits at
most ``op_timeout`` seconds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Literal, Optional, Sequence

from arcus_tui import netguard
from arcus_tui.read_only import ReadOnlyError
from kazoo.client import KazooClient
from kazoo.exceptions import (
    ConnectionClosedError,
    ConnectionLoss,
    KazooException,
    NoNodeError,
    RolledBackError,
    SessionExpiredError,
    ZookeeperError,
)
from kazoo.protocol.states import ZnodeStat

log = logging.getLogger(__name__)
# kazoo logs connection trouble as warnings; with no handler configured Python would
# print them on stderr (over a TUI). The app decides where logs go; stay silent here.
logging.getLogger("kazoo").addHandler(logging.NullHandler())

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_SESSION_TIMEOUT = 30.0  # arcus-memcached's default; the server clamps it to its min/max
DEFAULT_OP_TIMEOUT = 10.0


class RegistryError(RuntimeError):
    """A registry operation could not be done; the message says why, for an operator."""


class RegistryReadOnlyError(ReadOnlyError, RegistryError):
    """A write was attempted through a read-only registry session."""


class RegistryConnectionError(RegistryError):
    """The ensemble could not be reached (or stopped answering)."""


class CommitOutcomeUnknown(RegistryConnectionError):
    """The connection went away while a transaction was in flight: ZooKeeper applied all of
    it or none of it, and we cannot tell which. Every registry step builds its transaction
    from what is there now, so running the same step again converges either way."""


LOST_CONNECTION = (ConnectionLoss, SessionExpiredError, ConnectionClosedError)
"""What kazoo raises when the session's connection drops under a request."""


class TransactionError(RegistryError):
    """A multi-op transaction was rejected as a whole; nothing was changed."""

    def __init__(self, message: str, ops: Sequence["TxOp"], failed_index: Optional[int], cause: Optional[BaseException]):
        super().__init__(message)
        self.ops = tuple(ops)
        self.failed_index = failed_index
        self.cause = cause


OpKind = Literal["create", "set", "delete", "check"]


@dataclass(frozen=True)
class TxOp:
    """One operation of a ZooKeeper multi-op transaction (kept as data so callers can
    show, log or test exactly what a registry change does)."""

    kind: OpKind
    path: str
    data: bytes = b""
    version: int = -1

    def describe(self) -> str:
        if self.kind in ("create", "set") and self.data:
            text = self.data.decode("utf-8", "replace")
            if len(text) > 60:
                text = text[:57] + "..."
            return f"{self.kind} {self.path} = {text}"
        if self.kind == "check":
            return f"check {self.path} version {self.version}"
        return f"{self.kind} {self.path}"


def create(path: str, data: bytes = b"") -> TxOp:
    return TxOp("create", path, data)


def set_data(path: str, data: bytes, version: int = -1) -> TxOp:
    return TxOp("set", path, data, version)


def delete(path: str, version: int = -1) -> TxOp:
    return TxOp("delete", path, b"", version)


def check(path: str, version: int) -> TxOp:
    return TxOp("check", path, b"", version)


class RegistrySession:
    """A kazoo client plus the read-only switch.

    Construct with `RegistrySession.connect(...)` (the session owns and closes the
    client) or wrap an already started `KazooClient` (the caller keeps ownership).
    """

    def __init__(
        self,
        client: KazooClient,
        *,
        read_only: bool = False,
        op_timeout: float = DEFAULT_OP_TIMEOUT,
        owns_client: bool = False,
    ) -> None:
        self._client = client
        self._read_only = bool(read_only)
        self.op_timeout = float(op_timeout)
        self._owns_client = owns_client
        self._closed = False

    # -- life cycle -----------------------------------------------------------------

    @classmethod
    def connect(
        cls,
        connect_string: str,
        *,
        read_only: bool = False,
        timeout: float = DEFAULT_CONNECT_TIMEOUT,
        session_timeout: float = DEFAULT_SESSION_TIMEOUT,
        op_timeout: float = DEFAULT_OP_TIMEOUT,
    ) -> "RegistrySession":
        """Connect to an ensemble string ``host:port,host:port`` within ``timeout`` s."""
        if not connect_string or not connect_string.strip():
            raise RegistryConnectionError("no ZooKeeper ensemble given")
        for member in connect_string.split("/", 1)[0].split(","):
            try:
                netguard.check(member.strip().rsplit(":", 1)[0])
            except netguard.NonLoopbackTarget as error:
                raise RegistryConnectionError(str(error)) from None
        client = KazooClient(hosts=connect_string, timeout=session_timeout)
        try:
            client.start(timeout=timeout)
        except Exception as exc:  # kazoo raises its handler's timeout exception
            try:
                client.stop()
                client.close()
            except Exception:  # pragma: no cover - best effort cleanup
                pass
            raise RegistryConnectionError(
                f"could not connect to ZooKeeper {connect_string} within {timeout:g} s: {exc}"
            ) from exc
        return cls(client, read_only=read_only, op_timeout=op_timeout, owns_client=True)

    def close(self) -> None:
        """Close the connection if this session owns it (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._owns_client:
            try:
                self._client.stop()
            finally:
                self._client.close()

    def __enter__(self) -> "RegistrySession":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def read_only(self) -> bool:
        return self._read_only

    @property
    def hosts(self) -> str:
        return ",".join(f"{h}:{p}" for h, p in self._client.hosts)

    @property
    def connected(self) -> bool:
        return bool(self._client.connected)

    def read_only_view(self) -> "RegistrySession":
        """A second, read-only session over the same connection (never closes it)."""
        return RegistrySession(self._client, read_only=True, op_timeout=self.op_timeout, owns_client=False)

    # -- reads ----------------------------------------------------------------------

    def _wait(self, async_result: Any, what: str) -> Any:
        try:
            return async_result.get(timeout=self.op_timeout)
        except self._client.handler.timeout_exception as exc:
            raise RegistryConnectionError(f"ZooKeeper did not answer within {self.op_timeout:g} s: {what}") from exc
        except LOST_CONNECTION as exc:
            raise RegistryConnectionError(
                f"lost the connection to ZooKeeper ({type(exc).__name__}) during {what}") from exc

    def exists(self, path: str, watch: Optional[Callable] = None) -> Optional[ZnodeStat]:
        return self._wait(self._client.exists_async(path, watch=watch), f"exists {path}")

    def get(self, path: str, watch: Optional[Callable] = None) -> tuple[bytes, ZnodeStat]:
        return self._wait(self._client.get_async(path, watch=watch), f"get {path}")

    def get_children(self, path: str, watch: Optional[Callable] = None) -> list[str]:
        return self._wait(self._client.get_children_async(path, watch=watch), f"children of {path}")

    def sync(self, path: str) -> None:
        """Make the server we talk to catch up with the leader before we read ``path``."""
        self._wait(self._client.sync_async(path), f"sync {path}")

    def children_many(self, paths: Iterable[str]) -> dict[str, Optional[list[str]]]:
        """Children of many paths, requested at once; ``None`` for a path that is gone."""
        pending = [(p, self._client.get_children_async(p)) for p in paths]
        return {p: self._absent_as_none(r, f"children of {p}") for p, r in pending}

    def get_many(self, paths: Iterable[str]) -> dict[str, Optional[tuple[bytes, ZnodeStat]]]:
        """Data and stat of many paths, requested at once; ``None`` for a path that is gone."""
        pending = [(p, self._client.get_async(p)) for p in paths]
        return {p: self._absent_as_none(r, f"get {p}") for p, r in pending}

    def exists_many(self, paths: Iterable[str]) -> dict[str, Optional[ZnodeStat]]:
        pending = [(p, self._client.exists_async(p)) for p in paths]
        return {p: self._wait(r, f"exists {p}") for p, r in pending}

    def _absent_as_none(self, async_result: Any, what: str) -> Any:
        try:
            return self._wait(async_result, what)
        except NoNodeError:
            return None

    # Non-blocking variants for watchers (tree.py): they return kazoo IAsyncResults.
    def exists_async(self, path: str, watch: Optional[Callable] = None) -> Any:
        return self._client.exists_async(path, watch=watch)

    def get_async(self, path: str, watch: Optional[Callable] = None) -> Any:
        return self._client.get_async(path, watch=watch)

    def get_children_async(self, path: str, watch: Optional[Callable] = None) -> Any:
        return self._client.get_children_async(path, watch=watch)

    # -- writes (all refused in read-only mode) -------------------------------------

    def require_writable(self, what: str) -> None:
        """Raise `ReadOnlyError` now if this session may not write (engine steps call
        this first, so a read-only run refuses even a write that would be a no-op)."""
        if self._read_only:
            raise RegistryReadOnlyError(f"read-only session: refusing to {what}")
        if self._closed:
            raise RegistryError(f"session is closed: cannot {what}")

    def commit(self, ops: Sequence[TxOp]) -> list[Any]:
        """Run ``ops`` as ONE ZooKeeper multi-op transaction: all or nothing."""
        ops = tuple(ops)
        self.require_writable(
            "commit a transaction: " + "; ".join(op.describe() for op in ops[:3]) + ("; ..." if len(ops) > 3 else "")
        )
        if not ops:
            return []
        tx = self._client.transaction()
        for op in ops:
            if op.kind == "create":
                tx.create(op.path, op.data)
            elif op.kind == "set":
                tx.set_data(op.path, op.data, op.version)
            elif op.kind == "delete":
                tx.delete(op.path, op.version)
            elif op.kind == "check":
                tx.check(op.path, op.version)
            else:  # pragma: no cover - TxOp.kind is a Literal
                raise ValueError(f"unknown transaction op {op.kind!r}")
        results = self._commit_wait(tx.commit_async(), len(ops))
        failures = [(i, r) for i, r in enumerate(results) if isinstance(r, BaseException)]
        if failures:
            index, cause = next(((i, r) for i, r in failures if not isinstance(r, RolledBackError)), failures[0])
            raise TransactionError(
                f"ZooKeeper rejected the transaction (nothing changed): operation {index + 1} of {len(ops)}, "
                f"{ops[index].describe()}: {_explain(cause)}",
                ops,
                index,
                cause,
            ) from cause
        return list(results)

    def _commit_wait(self, async_result: Any, count: int) -> list[Any]:
        """The transaction's results; a connection lost (or a reply not received) after the
        request was handed to kazoo leaves its outcome unknown, and we say so."""
        try:
            return async_result.get(timeout=self.op_timeout)
        except self._client.handler.timeout_exception as exc:
            raise self._outcome_unknown(f"no answer within {self.op_timeout:g} s", count) from exc
        except LOST_CONNECTION as exc:
            raise self._outcome_unknown(f"lost the connection ({type(exc).__name__})", count) from exc

    @staticmethod
    def _outcome_unknown(cause: str, count: int) -> CommitOutcomeUnknown:
        return CommitOutcomeUnknown(
            f"{cause} while a transaction of {count} operations was in flight: ZooKeeper may or may "
            "not have applied it (all of it or none). Run the same command again: registry steps "
            "read what is there and converge to the same tree either way."
        )

    def create(self, path: str, data: bytes = b"", *, ephemeral: bool = False, makepath: bool = False) -> str:
        self.require_writable(f"create {path}")
        return self._wait(
            self._client.create_async(path, data, ephemeral=ephemeral, makepath=makepath), f"create {path}"
        )

    def set(self, path: str, data: bytes, version: int = -1) -> ZnodeStat:
        self.require_writable(f"set {path}")
        return self._wait(self._client.set_async(path, data, version), f"set {path}")

    def delete(self, path: str, *, recursive: bool = False) -> None:
        """Delete ``path`` (recursively: children first; not atomic, as in kazoo)."""
        self.require_writable(f"delete {path}")
        if recursive:
            try:
                self._client.delete(path, recursive=True)
            except NoNodeError:
                pass
            except LOST_CONNECTION as exc:
                raise RegistryConnectionError(
                    f"lost the connection to ZooKeeper ({type(exc).__name__}) while deleting {path} "
                    "(recursively: part of it may be gone; delete it again)") from exc
            return
        self._wait(self._client.delete_async(path), f"delete {path}")


def _explain(exc: BaseException) -> str:
    names = {
        "NodeExistsError": "the znode already exists",
        "NoNodeError": "the znode does not exist",
        "NotEmptyError": "the znode still has children",
        "BadVersionError": "the znode changed since it was read (someone else wrote it)",
        "NoAuthError": "not authorised",
    }
    return names.get(type(exc).__name__, f"{type(exc).__name__} {exc}".strip())


def as_session(client: "RegistrySession | KazooClient") -> RegistrySession:
    """Accept either a `RegistrySession` or a started `KazooClient` (wrapped, writable)."""
    if isinstance(client, RegistrySession):
        return client
    if isinstance(client, KazooClient):
        return RegistrySession(client)
    raise TypeError(f"expected a RegistrySession or KazooClient, got {type(client).__name__}")


__all__ = [
    "CommitOutcomeUnknown",
    "KazooException",
    "ReadOnlyError",
    "RegistryReadOnlyError",
    "RegistryConnectionError",
    "RegistryError",
    "RegistrySession",
    "TransactionError",
    "TxOp",
    "ZookeeperError",
    "as_session",
    "check",
    "create",
    "delete",
    "set_data",
]
