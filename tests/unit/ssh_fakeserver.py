"""In-process SSH servers (asyncssh) for protocol-level tests of the SSH engine.

Each `FakeHost` is a real SSH server on 127.0.0.1 (an ephemeral port) with its own
host key and its own home directory. Commands run for real through `/bin/sh -c` in
that home (so the key-install script and the upload checksums are exercised as they
would be on a server), with stdout/stderr streamed back as the command writes them.
Login: a password and/or the keys in `<home>/.ssh/authorized_keys`, read at each login.

Special behaviours for failure cases:
- `__drop__ TEXT`: write TEXT as a line, then cut the whole connection mid-command.
- `drop_once`: the first command containing "drop-me" drops the connection, later ones run.
- `HangingHost`: accepts TCP connections and never says a word.
- `closed_port()`: a port nobody listens on (connection refused).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import asyncssh


@dataclass
class Stats:
    connections: int = 0
    pending_auth: int = 0
    max_pending_auth: int = 0
    open_channels: int = 0
    max_open_channels: int = 0
    commands: list[str] = field(default_factory=list)
    auth_methods: list[str] = field(default_factory=list)
    passwords_tried: int = 0
    sftp_writes: int = 0
    forwards: list[tuple[str, int]] = field(default_factory=list)
    closed_channels: int = 0
    signals: list[str] = field(default_factory=list)


class FakeHost:
    def __init__(self, name: str, home: Path, *, password: Optional[str], users: tuple[str, ...] = ("tester",),
                 host_key: Optional[asyncssh.SSHKey] = None, auth_delay: float = 0.0,
                 extra_path: Optional[Path] = None, allow_forwarding: bool = False):
        self.name = name
        self.home = home
        self.password = password
        self.users = users
        self.host_key = host_key or asyncssh.generate_private_key("ssh-ed25519")
        self.auth_delay = auth_delay
        self.extra_path = extra_path
        self.allow_forwarding = allow_forwarding
        self.drop_once = False
        self.drop_logins = 0
        self.stats = Stats()
        self.port = 0
        self._acceptor = None
        self._conns: list[asyncssh.SSHServerConnection] = []
        self._procs: set[asyncio.subprocess.Process] = set()
        home.mkdir(parents=True, exist_ok=True)

    @property
    def address(self) -> str:
        return "127.0.0.1"

    @property
    def public_key(self) -> str:
        return " ".join(self.host_key.export_public_key("openssh").decode().split()[:2])

    @property
    def fingerprint(self) -> str:
        return self.host_key.get_fingerprint("sha256")

    def known_hosts_line(self, name: Optional[str] = None) -> str:
        return f"[{name or self.address}]:{self.port} {self.public_key}"

    async def start(self) -> "FakeHost":
        host = self

        class Server(asyncssh.SSHServer):
            def connection_made(self, conn):
                self.conn = conn
                host._conns.append(conn)
                host.stats.connections += 1
                host.stats.pending_auth += 1
                host.stats.max_pending_auth = max(host.stats.max_pending_auth, host.stats.pending_auth)
                self.authed = False

            def connection_lost(self, exc):
                if not self.authed:
                    host.stats.pending_auth -= 1

            async def begin_auth(self, username):
                if host.drop_logins > 0:  # like sshd over MaxStartups: cut before login completes
                    host.drop_logins -= 1
                    self.conn.abort()
                    return True
                if host.auth_delay:
                    await asyncio.sleep(host.auth_delay)
                keys = host.home / ".ssh" / "authorized_keys"
                if keys.exists():
                    try:
                        self.conn.set_authorized_keys(str(keys))
                    except (ValueError, asyncssh.KeyImportError):
                        pass
                return True

            def auth_completed(self):
                self.authed = True
                host.stats.pending_auth -= 1

            def password_auth_supported(self):
                return host.password is not None

            def validate_password(self, username, password):
                host.stats.auth_methods.append("password")
                host.stats.passwords_tried += 1
                return username in host.users and password == host.password

            def public_key_auth_supported(self):
                return True

            def validate_public_key(self, username, key):
                host.stats.auth_methods.append("publickey")
                return False  # only keys from authorized_keys (handled by asyncssh)

            def connection_requested(self, dest_host, dest_port, orig_host, orig_port):
                host.stats.forwards.append((dest_host, dest_port))
                return host.allow_forwarding

        class Sftp(asyncssh.SFTPServer):
            def __init__(self, chan):
                super().__init__(chan, chroot=str(host.home).encode())

            def open(self, path, pflags, attrs):
                if pflags & asyncssh.FXF_WRITE:
                    host.stats.sftp_writes += 1
                return super().open(path, pflags, attrs)

        self._acceptor = await asyncssh.create_server(
            Server, self.address, 0, server_host_keys=[self.host_key], process_factory=self._handle,
            sftp_factory=Sftp, allow_scp=False, encoding="utf-8", errors="replace", keepalive_interval=0)
        self.port = self._acceptor.sockets[0].getsockname()[1]
        return self

    async def _handle(self, process: asyncssh.SSHServerProcess) -> None:
        stats = self.stats
        stats.open_channels += 1
        stats.max_open_channels = max(stats.max_open_channels, stats.open_channels)
        command = process.command or ""
        stats.commands.append(command)
        try:
            if command.startswith("__drop__") or (self.drop_once and "drop-me" in command):
                self.drop_once = False
                process.stdout.write(command.replace("__drop__", "").strip() + "\n")
                await asyncio.sleep(0.05)
                process.channel.get_connection().abort()
                return
            await self._run_shell(process, command)
        finally:
            stats.open_channels -= 1
            stats.closed_channels += 1

    async def _run_shell(self, process: asyncssh.SSHServerProcess, command: str) -> None:
        env = {"HOME": str(self.home), "PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C"}
        if self.extra_path:
            env["PATH"] = f"{self.extra_path}:{env['PATH']}"
        proc = await asyncio.create_subprocess_exec(
            "/bin/sh", "-c", command, cwd=self.home, env=env, start_new_session=True,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        self._procs.add(proc)

        async def feed() -> None:
            try:
                while True:
                    data = await process.stdin.read(65536)
                    if not data:
                        break
                    proc.stdin.write(data.encode())
                    await proc.stdin.drain()
            except asyncssh.SignalReceived as exc:  # the client signalled the command (e.g. on timeout)
                self.stats.signals.append(exc.signal)
                _kill(proc, signal.SIGTERM)
            except (asyncssh.Error, OSError, BrokenPipeError, ConnectionResetError):
                pass
            finally:
                proc.stdin.close()

        async def pump(source, sink) -> None:
            while True:
                chunk = await source.read(65536)
                if not chunk:
                    break
                try:
                    sink.write(chunk.decode(errors="replace"))
                except (asyncssh.Error, OSError, BrokenPipeError):
                    pass

        async def finish() -> int:
            await asyncio.gather(pump(proc.stdout, process.stdout), pump(proc.stderr, process.stderr))
            return await proc.wait()

        feeder = asyncio.ensure_future(feed())
        work = asyncio.ensure_future(finish())
        closed = asyncio.ensure_future(process.channel.wait_closed())
        try:
            await asyncio.wait({work, closed}, return_when=asyncio.FIRST_COMPLETED)
            if work.done():
                process.exit(work.result())
            else:  # the client closed the channel: like sshd, end the command
                _kill(proc)
                work.cancel()
        finally:
            closed.cancel()
            feeder.cancel()
            if proc.returncode is None:
                _kill(proc)
            self._procs.discard(proc)

    def drop_connections(self) -> None:
        for conn in self._conns:
            conn.abort()

    async def stop(self) -> None:
        for proc in list(self._procs):
            _kill(proc)
        for conn in self._conns:
            conn.abort()
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()


def _kill(proc, sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class HangingHost:
    """Accepts TCP connections and never answers (a host whose sshd is wedged)."""

    def __init__(self):
        self.port = 0
        self._server: Optional[asyncio.AbstractServer] = None
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: list[asyncio.Task] = []
        self.accepted = 0

    async def start(self) -> "HangingHost":
        async def handle(reader, writer):
            self.accepted += 1
            self._writers.append(writer)
            self._tasks.append(asyncio.current_task())
            await asyncio.sleep(3600)

        self._server = await asyncio.start_server(handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()


def closed_port() -> int:
    """A loopback port with nothing listening (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Lab:
    """A gateway with a private ~/.ssh (never the real one) and fake hosts to talk to."""

    def __init__(self, tmp: Path):
        from arcus_tui.ssh import SshPaths

        self.tmp = tmp
        self.gateway_dir = tmp / "gateway-ssh"
        self.gateway_dir.mkdir(mode=0o700)
        self.paths = SshPaths.under(self.gateway_dir)
        self.hosts: dict[str, FakeHost] = {}
        self.others: list = []
        self._key = None

    @property
    def key(self):
        """The gateway key (made on first use in the private key dir)."""
        from arcus_tui.ssh import ensure_gateway_key

        if self._key is None:
            self._key = ensure_gateway_key(self.gateway_dir)
        return self._key

    async def add(self, name: str, *, password: Optional[str] = "host-password", trusted: bool = True,
                  authorized: bool = True, **options) -> FakeHost:
        host = await FakeHost(name, self.tmp / "homes" / name, password=password, **options).start()
        self.hosts[name] = host
        if trusted:
            self.trust(host)
        if authorized:
            self.authorize(host)
        return host

    async def hanging(self) -> HangingHost:
        host = await HangingHost().start()
        self.others.append(host)
        return host

    def trust(self, host: FakeHost, name: Optional[str] = None) -> None:
        with open(self.paths.known_hosts, "a") as handle:
            handle.write(host.known_hosts_line(name) + "\n")

    def authorize(self, host: FakeHost, public_line: Optional[str] = None) -> None:
        ssh_dir = host.home / ".ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        with open(ssh_dir / "authorized_keys", "a") as handle:
            handle.write((public_line or self.key.public_line) + "\n")

    def target(self, host, name: Optional[str] = None, **overrides):
        from arcus_tui.ssh import HostTarget

        values = dict(name=name or host.name, address="127.0.0.1", port=host.port, user="tester",
                      identity_files=(str(self.key.path),))
        values.update(overrides)
        return HostTarget(**values)

    def targets(self, *hosts, **overrides):
        return [self.target(host, **overrides) for host in hosts]

    async def stop(self) -> None:
        for host in list(self.hosts.values()) + self.others:
            await host.stop()
