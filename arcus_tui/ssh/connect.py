"""Opening one verified, authenticated SSH connection to one target.

What the operator already has is used as `ssh` would: ~/.ssh/config (Host aliases,
HostName, User, Port, IdentityFile, ProxyJump, ...), ssh-agent, and the identity
files of the cluster file. Host keys are checked against `KnownHosts` on every
connection, the jump hosts of a ProxyJump included.
"""

from __future__ import annotations

import asyncio
import getpass
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import asyncssh
from asyncssh.config import SSHClientConfig

from arcus_tui import netguard

from .errors import ConnectFailed, IdentityError, SshHostError, describe_connect_error
from .hostkeys import HostKeyChanged, KnownHosts, UnknownHostKey
from .paths import SshPaths
from .target import HostTarget


class Password:
    """A password held in memory only: it never shows in a repr, a log line or a traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        if not isinstance(value, str):
            raise TypeError("password must be a str")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Password(********)"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("a Password is never pickled or copied out of memory")


@dataclass(frozen=True)
class Credentials:
    """How to log in.

    Default: the host's own identity files, then ~/.ssh/config's, then the default
    keys in the key directory, plus ssh-agent. `identity_files` set means exactly
    those keys (the key-only check of the bootstrap). A `password` is offered after keys.
    """

    password: Optional[Password] = None
    identity_files: Optional[tuple[Path, ...]] = None
    use_agent: bool = True

    @property
    def key_only(self) -> bool:
        return self.password is None


@dataclass(frozen=True)
class Resolved:
    """A target after ~/.ssh/config: where the connection really goes."""

    hostname: str
    port: int
    user: str
    identity_files: tuple[str, ...]
    proxy_jump: Optional[str]

    @property
    def where(self) -> str:
        return f"{self.hostname}:{self.port}"


def _local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "root" if os.geteuid() == 0 else str(os.geteuid())


def config_paths(paths: SshPaths) -> list[str]:
    return [str(paths.config)] if paths.config.is_file() else []


def resolve(target: HostTarget, paths: SshPaths) -> Resolved:
    """Apply ~/.ssh/config (at `paths.config`) to `target`; the target's own values win."""
    files = config_paths(paths)
    config = SSHClientConfig.load(None, files, False, False, False, _local_user(),
                                  target.user or (), target.address, target.port or ())
    jump = config.get("ProxyJump")
    if isinstance(jump, str) and jump.lower() == "none":
        jump = None
    identity = config.get("IdentityFile") or ()
    return Resolved(
        hostname=str(config.get("Hostname", target.address)),
        port=int(target.port or config.get("Port", 22) or 22),
        user=str(target.user or config.get("User") or _local_user()),
        identity_files=tuple(str(path) for path in identity),
        proxy_jump=jump or None,
    )


def parse_jump(spec: str) -> list[HostTarget]:
    """`[user@]host[:port][,...]` (ProxyJump syntax) as targets, first hop first."""
    hops = []
    for index, hop in enumerate(part.strip() for part in spec.split(",") if part.strip()):
        user, _, rest = hop.rpartition("@")
        host, port = rest, None
        if rest.startswith("["):  # [v6]:port
            host, _, tail = rest[1:].partition("]")
            port = int(tail[1:]) if tail.startswith(":") else None
        elif rest.count(":") == 1:
            host, port_text = rest.split(":")
            port = int(port_text)
        hops.append(HostTarget(name=f"jump {hop}", address=host, port=port, user=user or None))
    return hops


class _Client(asyncssh.SSHClient):
    """Records why a host key was refused, and tells the session when the connection ends."""

    def __init__(self, judge: Callable[[str, str, int, asyncssh.SSHKey], SshHostError]):
        self._judge = judge
        self.refusal: Optional[SshHostError] = None
        self.on_lost: Optional[Callable[[Optional[Exception]], None]] = None

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        self.refusal = self._judge(host, addr, port, key)
        return False

    def connection_lost(self, exc: Optional[Exception]) -> None:
        if self.on_lost is not None:
            self.on_lost(exc)


class Connector:
    """Opens connections for one session: keys and jump-host connections are loaded/opened once."""

    def __init__(self, paths: SshPaths, credentials: Credentials, known_hosts: KnownHosts, *,
                 connect_timeout: float = 15.0, keepalive_interval: float = 30.0,
                 warn: Callable[[str], None] = lambda text: None):
        self.paths = paths
        self.credentials = credentials
        self.known_hosts = known_hosts
        self.connect_timeout = connect_timeout
        self.keepalive_interval = keepalive_interval
        self._warn = warn
        self._file_keys: dict[str, list[asyncssh.SSHKeyPair]] = {}
        self._agent: Optional[asyncssh.SSHAgentClient] = None
        self._agent_keys: Optional[list[asyncssh.SSHKeyPair]] = None
        self._agent_lock = asyncio.Lock()
        self._jumps: dict[str, asyncio.Task] = {}
        self._resolved: dict[HostTarget, Resolved] = {}

    def resolve(self, target: HostTarget) -> Resolved:
        resolved = self._resolved.get(target)
        if resolved is None:
            resolved = self._resolved[target] = resolve(target, self.paths)
        return resolved

    # -- keys ---------------------------------------------------------------------------------

    def _load_file(self, path: str, host: str, required: bool) -> list[asyncssh.SSHKeyPair]:
        path = os.path.expanduser(path)
        if path in self._file_keys:
            return self._file_keys[path]
        keys: list[asyncssh.SSHKeyPair] = []
        if not os.path.isfile(path):
            if required:
                raise IdentityError(host, f"identity file {path} does not exist")
        else:
            try:
                keys = list(asyncssh.load_keypairs([path]))
            except asyncssh.KeyImportError as exc:
                if "assphrase" in str(exc):
                    self._warn(f"identity {path} is encrypted; add it to ssh-agent to use it")
                elif required:
                    raise IdentityError(host, f"cannot read identity file {path}: {exc}") from None
                else:
                    self._warn(f"identity {path} is unreadable: {exc}")
            except OSError as exc:
                if required:
                    raise IdentityError(host, f"cannot read identity file {path}: {exc.strerror}") from None
        self._file_keys[path] = keys
        return keys

    async def _load_agent(self) -> list[asyncssh.SSHKeyPair]:
        async with self._agent_lock:
            if self._agent_keys is None:
                self._agent_keys = []
                socket_path = os.environ.get("SSH_AUTH_SOCK")
                if socket_path:
                    try:
                        self._agent = await asyncio.wait_for(asyncssh.connect_agent(socket_path), 5)
                        self._agent_keys = list(await asyncio.wait_for(self._agent.get_keys(), 5))
                    except (OSError, asyncio.TimeoutError, asyncssh.Error) as exc:
                        self._warn(f"ssh-agent at {socket_path} not usable: {exc}")
                        self._agent_keys = []
            return self._agent_keys

    async def client_keys(self, target: HostTarget, resolved: Resolved) -> list[asyncssh.SSHKeyPair]:
        cred = self.credentials
        keys: list[asyncssh.SSHKeyPair] = []
        if cred.identity_files is not None:
            for path in cred.identity_files:
                keys += self._load_file(str(path), target.name, required=True)
        else:
            for path in target.identity_files:
                keys += self._load_file(path, target.name, required=True)
            for path in resolved.identity_files or [str(p) for p in self.paths.default_identities()]:
                keys += self._load_file(path, target.name, required=False)
        if cred.use_agent:
            seen = {key.public_data for key in keys}
            keys += [key for key in await self._load_agent() if key.public_data not in seen]
        return keys

    # -- connections --------------------------------------------------------------------------

    async def open(self, target: HostTarget, *,
                   on_lost: Optional[Callable[[Optional[Exception]], None]] = None) -> asyncssh.SSHClientConnection:
        """A connection to `target`, host key verified and logged in; raises `SshHostError`."""
        resolved = self.resolve(target)
        tunnel = await self._jump_for(target, resolved) if resolved.proxy_jump else None
        return await self._connect(target, resolved, tunnel, on_lost)

    async def _connect(self, target: HostTarget, resolved: Resolved, tunnel,
                       on_lost) -> asyncssh.SSHClientConnection:
        try:
            netguard.check(resolved.hostname)  # tests and benchmarks: loopback only
        except netguard.NonLoopbackTarget as exc:
            raise ConnectFailed(target.name, str(exc)) from None
        keys = await self.client_keys(target, resolved)
        client = _Client(lambda host, addr, port, key:
                         self.known_hosts.judge(target.name, host, addr, port, key))
        client.on_lost = on_lost
        password = self.credentials.password.reveal() if self.credentials.password else None
        try:
            return await asyncssh.connect(
                target.address,
                port=target.port or (),
                username=target.user or (),
                config=config_paths(self.paths),
                tunnel=tunnel,
                known_hosts=self.known_hosts.match,
                client_factory=lambda: client,
                client_keys=keys or None,
                agent_path=None,
                password=password,
                password_auth=password is not None,
                kbdint_auth=password is not None,
                gss_auth=False,
                gss_kex=False,
                host_based_auth=False,
                x509_trusted_certs=None,
                x509_trusted_cert_paths=[],
                connect_timeout=self.connect_timeout,
                keepalive_interval=self.keepalive_interval,
                keepalive_count_max=3,
                request_pty=False,
            )
        except asyncssh.HostKeyNotVerifiable:
            if client.refusal is not None:
                raise client.refusal from None
            raise SshHostError(target.name, f"host key of {resolved.where} "
                                            f"not trusted (revoked or unusable)") from None
        except (asyncio.CancelledError, SshHostError):
            raise
        except (OSError, asyncio.TimeoutError, asyncssh.Error, ValueError) as exc:
            raise describe_connect_error(target.name, resolved.where, exc, timeout=self.connect_timeout,
                                         user=resolved.user, key_only=self.credentials.key_only) from None

    async def _jump_for(self, target: HostTarget, resolved: Resolved):
        spec = resolved.proxy_jump or ""
        task = self._jumps.get(spec)
        if task is None or (task.done() and (task.cancelled() or task.exception() is not None
                                             or task.result().is_closed())):
            task = self._jumps[spec] = asyncio.ensure_future(self._open_jump(spec))
        try:
            return await asyncio.shield(task)
        except (UnknownHostKey, HostKeyChanged):
            raise  # the jump host's own key question/refusal, asked/reported like any host's
        except SshHostError as exc:
            raise SshHostError(target.name, f"via ProxyJump {spec}: {exc.message}") from None

    async def _open_jump(self, spec: str):
        tunnel = None
        for hop in parse_jump(spec):
            resolved = self.resolve(hop)
            tunnel = await self._connect(hop, resolved, tunnel, None)
        return tunnel

    async def close(self) -> None:
        for task in self._jumps.values():
            if not task.done():
                task.cancel()
            elif not task.cancelled() and task.exception() is None:
                task.result().close()
        self._jumps.clear()
        if self._agent is not None:
            self._agent.close()
            self._agent = None
