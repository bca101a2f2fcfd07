"""Run commands on many hosts at once over one reused SSH connection per host.

(Over 400 lines on purpose: the login pacing, the channel places and the command streaming
share one per-host state, the connection; split apart, each would reach into the others.)

    async with SshSession(targets, sink=print) as ssh:
        result = await ssh.run("uptime", step="uptime")
        if not result.ok:
            result = result.merged(await ssh.retry(result))   # only the failed hosts again

Limits, all per session (`Limits`):
- logins run at most `startups_per_sshd` (6) at a time towards any one sshd
  (recognised by its known host key; hosts whose key is not known yet count as one
  daemon), so that a daemon with OpenSSH's default `MaxStartups 10:30:100` does not
  drop logins even when many targets are names of one machine; a login it drops
  anyway is tried again (twice at most). Overall at most `connect_concurrency` (32)
  logins are in progress, bounding the gateway's own load. A handshake
  that takes longer than `slow_handshake_grace` gives its place up (it goes on), so a
  host that hangs never holds the others back;
- at most `channels_per_connection` (8) channels at once on one connection,
  below OpenSSH's default `MaxSessions 10`;
- `connect_timeout` per connection, `command_timeout` per command (120 s unless the
  step has its own budget in `step_timeouts`): a hung host holds a step that long at
  most, never the other hosts. A command that times out or is cancelled has its
  channel signalled and closed; cancelling a run returns at once, and `close()` takes
  well under a second even when a host no longer answers at all.

Every line of stdout/stderr reaches the `EventSink` as a `ProgressEvent` as soon
as it arrives; each host also reports RUNNING and its final state with exit
status and duration. One host failing, hanging, refusing or lying about its key
only ever ends that host's part.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Optional, Sequence, Union

import asyncssh

from arcus_tui.events import GATEWAY, EventSink, HostState, ProgressEvent, Stream, ignore_events

from .audit import CommandObserver, CommandRecord
from .connect import Connector, Credentials
from .errors import CommandTimeout, ConnectionDropped, LoginDropped, SshHostError, scrub
from .hostkeys import HostKeyAsker, HostKeyQuestion, KnownHosts, UnknownHostKey
from .paths import SshPaths
from .results import HostResult, RunResult, last_said
from .target import HostTarget

log = logging.getLogger(__name__)

MAX_CHANNELS_PER_CONNECTION = 8
"""OpenSSH refuses the 11th session channel on one connection (MaxSessions 10); stay under it."""

DEFAULT_CONNECT_CONCURRENCY = 32
"""Logins in progress at once, overall: bounds the gateway's own load. Per sshd the pacing
below applies. Measured (bench/README.md, "SSH fan-out"): at 200 hosts 16 and more are within
noise of no limit, 8 is about 10 % slower and 4 about 50 %."""

DEFAULT_STARTUPS_PER_SSHD = 6
"""Logins in progress at once towards one sshd, below OpenSSH's default MaxStartups 10:30:100
(drops start at 10 pending). A daemon is recognised by its known host key, so several names or
addresses of one machine are paced together, and hosts whose key is not known yet are paced as
if they were all one daemon. Measured with one default sshd standing in for 100-200 hosts: 9
and 10 at once lost logins (sshd counts a login as pending a moment after the client sees it
done), 8 now and then on a loaded machine, 6 none."""

LOGIN_DROP_RETRIES = 2
"""A login that sshd drops before it completes (MaxStartups) is tried again this many times."""

DEFAULT_COMMAND_TIMEOUT = 120.0
"""How long one command may run unless its step says otherwise (`Limits.step_timeouts`). The
longest deploy command is a stop that waits at most 30 s for the process to go; anything far
beyond that is a hung host, and every later step waits for it. Uploads have their own limits."""

CLOSE_GRACE = 0.3
"""`close()` waits this long for the connections to end; one that has not is cut off (a host that
no longer answers must not hold the caller: cancelling a run returns within a second)."""

KNOWN_HOSTS_STEP = "known-hosts"
"""The step name under which malformed known_hosts lines are reported (target `gateway`)."""

_known_hosts_reported: set[tuple[int, str]] = set()
"""(listener, problem) pairs already told: once per run's listener, not once per session."""

Command = Union[str, Mapping[str, Optional[str]], Callable[[HostTarget], Optional[str]]]
"""The same command for every host, or one per host (by name, or computed); None skips a host."""

Outcome = Callable[[HostResult], HostState]
"""Decides the final state of a host whose commands all exited 0 (e.g. OK vs ALREADY_DONE)."""

_UNSET = object()


@dataclass(frozen=True)
class Limits:
    connect_concurrency: int = DEFAULT_CONNECT_CONCURRENCY
    startups_per_sshd: int = DEFAULT_STARTUPS_PER_SSHD
    channels_per_connection: int = MAX_CHANNELS_PER_CONNECTION
    connect_timeout: float = 15.0
    command_timeout: Optional[float] = DEFAULT_COMMAND_TIMEOUT
    slow_handshake_grace: float = 2.0
    keepalive_interval: float = 30.0
    step_timeouts: Mapping[str, Optional[float]] = field(default_factory=dict)
    """A step's own command timeout (step name -> seconds, None for none), over `command_timeout`."""

    def timeout_for(self, step: str) -> Optional[float]:
        """The timeout of one command of `step`, unless the call gives its own."""
        return self.step_timeouts.get(step, self.command_timeout)


@dataclass
class HostWork:
    """What a per-host job (`SshSession.each_host`) gets: its target and ways to report."""

    session: "SshSession"
    target: HostTarget
    step: str
    sink: EventSink
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.target.name

    def line(self, text: str, stream: Stream = Stream.INFO) -> None:
        self.session.host_line(self, text, stream)

    async def connection(self) -> asyncssh.SSHClientConnection:
        return await self.session.host_connection(self)

    def channel(self):
        """Async context manager holding one of this connection's channel places."""
        return self.session.channel_slot(self.name)

    async def exec(self, command: str, *, timeout=_UNSET, input: Optional[str] = None,
                   echo: bool = True) -> tuple[Optional[int], Optional[str]]:
        """Run `command`, streaming its lines as events (unless `echo` is False) and keeping them
        in this host's stdout/stderr; returns (exit status, exit signal)."""
        conn = await self.connection()
        return await self.session.exec_command(self, conn, command, timeout, input, echo, self.stdout, self.stderr)

    async def capture(self, command: str, *, timeout=_UNSET,
                      input: Optional[str] = None) -> tuple[Optional[int], str, str]:
        """Run `command` quietly (no events, not in the host's result); returns (status, stdout, stderr)."""
        conn = await self.connection()
        out: list[str] = []
        err: list[str] = []
        status, signal = await self.session.exec_command(self, conn, command, timeout, input, False, out, err)
        if signal is not None:
            raise SshHostError(self.name, f"{command.split()[0]} was killed by signal {signal}")
        return status, _joined(out), _joined(err)


@dataclass
class _Host:
    target: HostTarget
    channels: asyncio.Semaphore
    conn: Optional[asyncssh.SSHClientConnection] = None
    connecting: Optional[asyncio.Task] = None


class _LineSession(asyncssh.SSHClientSession):
    """Splits a channel's stdout/stderr into lines and hands each over as soon as it is complete."""

    def __init__(self, on_line: Callable[[Stream, str], None], done: asyncio.Future):
        self._on_line = on_line
        self._done = done
        self._partial: dict = {None: "", asyncssh.EXTENDED_DATA_STDERR: ""}
        self.exit_status: Optional[int] = None
        self.exit_signal: Optional[str] = None

    def data_received(self, data: str, datatype) -> None:
        text = self._partial.get(datatype, "") + data
        if "\n" not in text:
            self._partial[datatype] = text
            return
        lines = text.split("\n")
        self._partial[datatype] = lines.pop()
        stream = Stream.STDERR if datatype == asyncssh.EXTENDED_DATA_STDERR else Stream.STDOUT
        for line in lines:
            self._on_line(stream, line[:-1] if line.endswith("\r") else line)

    def exit_status_received(self, status: int) -> None:
        self.exit_status = status

    def exit_signal_received(self, signal: str, core_dumped: bool, msg: str, lang: str) -> None:
        self.exit_signal = signal

    def connection_lost(self, exc: Optional[Exception]) -> None:
        for datatype, rest in list(self._partial.items()):
            if rest:
                stream = Stream.STDERR if datatype == asyncssh.EXTENDED_DATA_STDERR else Stream.STDOUT
                self._on_line(stream, rest)
        self._partial = {}
        if not self._done.done():
            self._done.set_result(exc)


class SshSession:
    """Connections to a set of hosts, reused by every command of the session."""

    def __init__(self, targets: Iterable[HostTarget], *, paths: Optional[SshPaths] = None,
                 credentials: Optional[Credentials] = None, limits: Optional[Limits] = None,
                 on_unknown_host_key: Optional[HostKeyAsker] = None,
                 known_hosts: Optional[KnownHosts] = None, sink: EventSink = ignore_events,
                 on_command: Optional[CommandObserver] = None):
        self.paths = paths or SshPaths()
        self.credentials = credentials or Credentials()
        self.limits = limits or Limits()
        self.known_hosts = known_hosts or KnownHosts(self.paths.known_hosts)
        self.on_unknown_host_key = on_unknown_host_key
        self.sink = sink
        self.on_command = on_command  # the run's audit trail: every command and its exit status
        self._report_known_hosts_problems()
        self.targets: dict[str, HostTarget] = {}
        for target in targets:
            if target.name in self.targets:
                raise ValueError(f"two targets are named {target.name!r}")
            self.targets[target.name] = target
        channels = max(1, min(self.limits.channels_per_connection, MAX_CHANNELS_PER_CONNECTION))
        self._hosts = {name: _Host(target, asyncio.Semaphore(channels)) for name, target in self.targets.items()}
        self._connect_slots = asyncio.Semaphore(max(1, self.limits.connect_concurrency))
        self._sshd_slots: dict[tuple, asyncio.Semaphore] = {}
        self._questions: dict[tuple[str, int, str], asyncio.Future] = {}
        self._background: set[asyncio.Task] = set()
        self._warned: set[str] = set()
        self._connector = Connector(self.paths, self.credentials, self.known_hosts,
                                    connect_timeout=self.limits.connect_timeout,
                                    keepalive_interval=self.limits.keepalive_interval, warn=self._warn)
        self._closed = False

    # -- public API ------------------------------------------------------------------------------

    async def __aenter__(self) -> "SshSession":
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    def connected(self, host: str) -> bool:
        conn = self._hosts[host].conn
        return conn is not None and not conn.is_closed()

    async def connect(self, hosts: Optional[Iterable[str]] = None, *, step: str = "connect",
                      sink: Optional[EventSink] = None) -> RunResult:
        """Open (or check) the connection of every host; per-host results."""

        async def job(work: HostWork) -> HostResult:
            await work.connection()
            return HostResult(work.name, step, HostState.OK)

        return await self.each_host(job, hosts=hosts, step=step, sink=sink)

    async def run(self, command: Command, *, hosts: Optional[Iterable[str]] = None, step: str = "exec",
                  sink: Optional[EventSink] = None, timeout=_UNSET, input: Optional[str] = None,
                  outcome: Optional[Outcome] = None) -> RunResult:
        """Run `command` on every host (or `hosts`) at once; a host whose command exits non-zero FAILs."""
        return await self.run_sequence([command], hosts=hosts, step=step, sink=sink, timeout=timeout,
                                       input=input, outcome=outcome)

    async def run_sequence(self, commands: Sequence[Command], *, hosts: Optional[Iterable[str]] = None,
                           step: str = "exec", sink: Optional[EventSink] = None, timeout=_UNSET,
                           input: Optional[str] = None, outcome: Optional[Outcome] = None) -> RunResult:
        """Run `commands` in order on each host, all hosts at once; a host stops at its first failure."""

        async def job(work: HostWork) -> HostResult:
            status: Optional[int] = None
            signal: Optional[str] = None
            for command in commands:
                text = _command_for(command, work.target)
                if text is None:
                    continue
                status, signal = await work.exec(text, timeout=timeout, input=input)
                if status != 0:
                    break
            result = HostResult(work.name, step, HostState.OK, exit_status=status,
                                stdout=_joined(work.stdout), stderr=_joined(work.stderr))
            if signal is not None:
                return replace(result, state=HostState.FAILED, error=f"killed by signal {signal}")
            if status is None and any(_command_for(c, work.target) is not None for c in commands):
                return replace(result, state=HostState.FAILED, error="the host sent no exit status")
            if status not in (0, None):
                said = last_said(work.stderr)
                return replace(result, state=HostState.FAILED,
                               error=f"exit status {status}: {said}" if said else f"exit status {status}")
            if status is None:
                return replace(result, state=HostState.SKIPPED)
            return replace(result, state=outcome(result)) if outcome else result

        return await self.each_host(job, hosts=hosts, step=step, sink=sink)

    async def retry(self, result: RunResult) -> RunResult:
        """Run the step of `result` again on its failed hosts only (reconnecting those whose connection broke)."""
        if result._again is None:
            raise ValueError("this result cannot be retried")
        return await result._again(result.failed)

    async def each_host(self, job: Callable[[HostWork], Awaitable[HostResult]], *,
                        hosts: Optional[Iterable[str]] = None, step: str,
                        sink: Optional[EventSink] = None) -> RunResult:
        """Run `job` for every host at once, with RUNNING/final state events, errors turned
        into FAILED results and cancellation into CANCELLED ones. The building block of
        `run`, uploads and the key bootstrap."""
        if self._closed:
            raise RuntimeError("this SSH session is closed")
        names = list(self.targets) if hosts is None else list(hosts)
        for name in names:
            if name not in self.targets:
                raise KeyError(f"no host named {name!r} in this session")
        sink = sink or self.sink

        async def again(failed: Sequence[str]) -> RunResult:
            return await self.each_host(job, hosts=failed, step=step, sink=sink)

        tasks = [asyncio.ensure_future(self._one_host(job, name, step, sink)) for name in names]
        try:
            done = await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return RunResult(step, dict(zip(names, done)), again)

    def accept_host_key(self, question: HostKeyQuestion) -> None:
        """Save the key of an unknown host (the operator said yes); the next connect uses it."""
        self.known_hosts.accept(question)

    async def close(self) -> None:
        """Close every connection; running commands end with their channels."""
        self._closed = True
        for task in list(self._background):
            task.cancel()
        for host in self._hosts.values():
            if host.connecting is not None and not host.connecting.done():
                host.connecting.cancel()
        conns = [host.conn for host in self._hosts.values() if host.conn is not None]
        for conn in conns:
            conn.close()
        if conns:
            waits = [asyncio.ensure_future(conn.wait_closed()) for conn in conns]
            _, late = await asyncio.wait(waits, timeout=CLOSE_GRACE)
            if late:  # a host that does not even acknowledge: cut it off, do not hold the caller
                for conn in conns:
                    conn.abort()
                await asyncio.wait(late, timeout=CLOSE_GRACE)
                for wait in late:
                    wait.cancel()
        await self._connector.close()
        for host in self._hosts.values():
            host.conn = None

    # -- per host --------------------------------------------------------------------------------

    async def _one_host(self, job, name: str, step: str, sink: EventSink) -> HostResult:
        work = HostWork(self, self.targets[name], step, sink)
        started = time.monotonic()
        self._emit(sink, ProgressEvent(name, step, state=HostState.RUNNING))
        try:
            result = await job(work)
        except asyncio.CancelledError:
            duration = time.monotonic() - started
            self._emit(sink, ProgressEvent(name, step, Stream.INFO, "cancelled", state=HostState.CANCELLED,
                                           duration=duration))
            raise
        except SshHostError as exc:
            message = self._scrub(exc.message)
            question = exc.question if isinstance(exc, UnknownHostKey) else None
            result = HostResult(name, step, HostState.FAILED, stdout=_joined(work.stdout),
                                stderr=_joined(work.stderr), error=message, question=question)
        except Exception as exc:  # a bug or an unexpected library error: still only this host's failure
            log.warning("unexpected error on %s during %s", name, step, exc_info=True)
            result = HostResult(name, step, HostState.FAILED, stdout=_joined(work.stdout),
                                stderr=_joined(work.stderr),
                                error=self._scrub(f"unexpected error: {type(exc).__name__}: {exc}"))
        duration = time.monotonic() - started
        result = replace(result, duration=duration)
        # the final state carries the error: said once, not also as a line before it
        self._emit(sink, ProgressEvent(name, step, Stream.INFO, result.error or "", state=result.state,
                                       exit_status=result.exit_status, duration=duration))
        return result

    # -- what a per-host job (HostWork) works through ---------------------------------------

    def host_line(self, work: HostWork, text: str, stream: Stream = Stream.INFO) -> None:
        """Report one line of `work`'s host as an event, the password scrubbed out."""
        self._emit(work.sink, ProgressEvent(work.name, work.step, stream, self._scrub(text)))

    async def host_connection(self, work: HostWork) -> asyncssh.SSHClientConnection:
        """The connection to `work`'s host, opened once and shared by its commands."""
        host = self._hosts[work.name]
        if host.conn is not None and not host.conn.is_closed():
            return host.conn
        host.conn = None
        if host.connecting is None or host.connecting.done():
            host.connecting = asyncio.ensure_future(self._open(host, work))
        host.conn = await asyncio.shield(host.connecting)
        return host.conn

    async def _open(self, host: _Host, work: HostWork) -> asyncssh.SSHClientConnection:
        try:
            return await self._paced_open(host.target, work)
        except UnknownHostKey as exc:
            if self.on_unknown_host_key is None or not await self._ask(exc.question):
                raise
            work.line(f"trusting {exc.question.key_type} key {exc.question.fingerprint}")
            return await self._paced_open(host.target, work)

    async def _ask(self, question: HostKeyQuestion) -> bool:
        """Ask once per distinct key even when many hosts (behind one jump host) wait for it."""
        key = (question.hostname, question.port, question.fingerprint)
        pending = self._questions.get(key)
        if pending is None:
            pending = self._questions[key] = asyncio.ensure_future(self._ask_and_save(question))
        return await asyncio.shield(pending)

    async def _ask_and_save(self, question: HostKeyQuestion) -> bool:
        try:
            accepted = bool(await self.on_unknown_host_key(question))
        finally:
            self._questions.pop((question.hostname, question.port, question.fingerprint), None)
        if accepted:
            self.known_hosts.accept(question)
        return accepted

    async def _paced_open(self, target: HostTarget,
                          work: Optional[HostWork] = None) -> asyncssh.SSHClientConnection:
        try:
            resolved = self._connector.resolve(target)
        except (asyncssh.ConfigParseError, ValueError, OSError) as exc:
            raise SshHostError(target.name, f"cannot use {self.paths.config}: {exc}") from None
        group = self._sshd_identity(resolved.hostname, resolved.port)
        per_sshd = self._sshd_slots.get(group)
        if per_sshd is None:
            per_sshd = self._sshd_slots[group] = asyncio.Semaphore(max(1, self.limits.startups_per_sshd))
        for attempt in range(1 + LOGIN_DROP_RETRIES):
            task: Optional[asyncio.Task] = None
            try:
                async with per_sshd:
                    async with self._connect_slots:
                        task = asyncio.ensure_future(self._connector.open(target))
                        # Hold the places only while the handshake is quick: one that hangs goes on
                        # (until connect_timeout) without holding the other hosts back.
                        await asyncio.wait({task}, timeout=self.limits.slow_handshake_grace)
                return await task
            except LoginDropped as exc:
                if attempt == LOGIN_DROP_RETRIES:
                    raise
                if work is not None:
                    work.line(f"{exc.message}; trying again")
                await asyncio.sleep(0.2 * (attempt + 1) + random.random() * 0.2)
            except asyncio.CancelledError:
                if task is not None:
                    task.cancel()
                raise
        raise AssertionError("unreachable")

    def _sshd_identity(self, hostname: str, port: int) -> tuple:
        """Which sshd a login goes to, for pacing: its known host key (several names or addresses
        of one machine share it); for a host known through a CA, its name and port; for a host
        with no known key, one shared group (any of them may be the same machine)."""
        keys, ca_keys = self.known_hosts.trusted(hostname, port)
        if keys:
            return ("key", frozenset(key.public_data for key in keys))
        if ca_keys:
            return ("address", hostname, port)
        return ("unidentified",)

    @asynccontextmanager
    async def channel_slot(self, name: str) -> AsyncIterator[None]:
        """Holds one of the channel places of host `name`'s connection."""
        async with self._hosts[name].channels:
            yield

    async def exec_command(self, work: HostWork, conn: asyncssh.SSHClientConnection, command: str, timeout,
                           input: Optional[str], echo: bool, out: list[str],
                           err: list[str]) -> tuple[Optional[int], Optional[str]]:
        """Run `command` for `work`: lines into `out`/`err` (and events when `echo`); (status, signal)."""
        if timeout is _UNSET:
            timeout = self.limits.timeout_for(work.step)
        loop = asyncio.get_running_loop()
        done: asyncio.Future = loop.create_future()
        name, step, sink = work.name, work.step, work.sink
        secret = self.credentials.password.reveal() if self.credentials.password else None

        def on_line(stream: Stream, text: str) -> None:
            if secret and secret in text:
                text = text.replace(secret, "********")
            (err if stream is Stream.STDERR else out).append(text)
            if echo:
                self._emit(sink, ProgressEvent(name, step, stream, text))

        started, wall = time.monotonic(), time.time()
        status: tuple[Optional[int], Optional[str]] = (None, None)
        error: Optional[str] = "cancelled"
        try:
            status = await self._exec_channel(work, conn, command, timeout, input, on_line, done)
            error = None
            return status
        except SshHostError as exc:
            error = exc.message
            raise
        finally:
            if self.on_command is not None:
                self._audit(CommandRecord(name, step, self._scrub(command), wall, time.monotonic() - started,
                                          status[0], status[1], error and self._scrub(error)))

    def _audit(self, record: CommandRecord) -> None:
        try:
            self.on_command(record)
        except Exception:  # an audit trail that cannot be written must not stop the work
            log.exception("the command observer failed on %r", record)

    async def _exec_channel(self, work: HostWork, conn: asyncssh.SSHClientConnection, command: str, timeout,
                            input: Optional[str], on_line, done: asyncio.Future) -> tuple[Optional[int], Optional[str]]:
        name, step = work.name, work.step
        async with self.channel_slot(name):
            try:
                chan, session = await conn.create_session(lambda: _LineSession(on_line, done), command,
                                                          encoding="utf-8", errors="replace")
            except asyncssh.ChannelOpenError as exc:
                raise SshHostError(name, f"the host refused a new channel: {exc.reason}") from None
            except (asyncssh.Error, OSError) as exc:
                raise ConnectionDropped(name, f"connection lost: {exc}") from None
            try:
                try:
                    if input is not None:
                        chan.write(input)
                    chan.write_eof()
                except (BrokenPipeError, ConnectionError, asyncssh.Error, OSError):
                    pass  # the command ended without reading its input: its exit status tells
                lost = await asyncio.wait_for(done, timeout)
            except asyncio.TimeoutError:
                self._abandon(conn, chan)
                raise CommandTimeout(name, f"timed out after {timeout:g} s in step {step}: "
                                           f"`{_short(command)}` was signalled and its channel closed") from None
            except asyncio.CancelledError:
                self._abandon(conn, chan)
                raise
            except (asyncssh.Error, OSError) as exc:  # writing to a channel that just broke
                self._abandon(conn, chan)
                raise ConnectionDropped(name, f"connection lost: {exc}") from None
        if lost is not None and session.exit_status is None and session.exit_signal is None:
            reason = getattr(lost, "reason", None) or str(lost) or type(lost).__name__
            raise ConnectionDropped(name, f"connection lost while the command ran: {reason}")
        return session.exit_status, session.exit_signal

    def _abandon(self, conn: asyncssh.SSHClientConnection, chan) -> None:
        """Signal and close a channel whose command we no longer wait for; if the host does not even
        acknowledge the close, drop the whole connection (it is hung) so the next use reconnects."""
        try:
            chan.terminate()
        except Exception:  # the server may not support signals, or the channel is gone
            pass
        chan.close()

        async def reap() -> None:
            try:
                await asyncio.wait_for(chan.wait_closed(), 5)
            except asyncio.TimeoutError:
                conn.abort()

        task = asyncio.ensure_future(reap())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- helpers ---------------------------------------------------------------------------------

    def _report_known_hosts_problems(self) -> None:
        """Each malformed known_hosts line, once to this listener (the sessions of one run share it)."""
        listener = id(getattr(self.sink, "__self__", self.sink))
        for problem in self.known_hosts.problems:
            if (listener, problem) in _known_hosts_reported:
                continue
            _known_hosts_reported.add((listener, problem))
            if self.sink is ignore_events:  # nobody listens to events: the log is the only trace
                log.warning("%s", problem)
            self._emit(self.sink, ProgressEvent(GATEWAY, KNOWN_HOSTS_STEP, Stream.STDERR, problem))

    def _scrub(self, text: str) -> str:
        return scrub(text, self.credentials.password.reveal() if self.credentials.password else None)

    def _warn(self, text: str) -> None:
        if text not in self._warned:
            self._warned.add(text)
            log.warning("%s", text)

    @staticmethod
    def _emit(sink: EventSink, event: ProgressEvent) -> None:
        try:
            sink(event)
        except Exception:  # a consumer's bug must not end a host's work half-way
            log.exception("event sink failed on %r", event)


def _command_for(command: Command, target: HostTarget) -> Optional[str]:
    if isinstance(command, str):
        return command
    if callable(command):
        return command(target)
    return command.get(target.name)


def _joined(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def _short(command: str, limit: int = 60) -> str:
    """The start of a command, on one line, for a message."""
    text = " ".join(command.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
