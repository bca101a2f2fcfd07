"""A private OpenSSH daemon on loopback addresses: practice hosts for the sandbox, real sshd for tests.

    sshd = start_sshd(workdir, listen=[("127.0.1.1", 2022), ("127.0.1.2", 2022)])
    ...                       # log in as any local user allowed by `allow_users`
    sshd.stop()               # by the PID this call started, never by name

The daemon runs `sshd -D -f <workdir>/sshd_config` with its own host key (kept in
`workdir` and reused by the next start, so known_hosts entries stay valid), its
own pidfile and log, and nothing from /etc/ssh. One OpenSSH daemon can listen on
at most `MAX_LISTEN_ADDRESSES` sockets; `start_sshd_fleet` starts as many daemons
as a longer address list needs, sharing one host key.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Optional, Sequence, Union

from arcus_tui.localhost import command_line, process_alive
from arcus_tui.ssh.hostkeys import public_key_fingerprint

MAX_LISTEN_ADDRESSES = 16
"""OpenSSH's MAX_LISTEN_SOCKS: a 17th ListenAddress makes sshd exit."""

SSHD_CANDIDATES = ("sshd", "/usr/sbin/sshd", "/usr/local/sbin/sshd")
_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")

ListenAddress = tuple[str, int]


class SshdError(RuntimeError):
    """The daemon could not be started (its log tail is in the message)."""


def find_sshd() -> Optional[str]:
    """Path of the OpenSSH server binary, or None when openssh-server is not installed."""
    for candidate in SSHD_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
        if os.path.isabs(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def sshd_command_line(pid: int) -> Optional[str]:
    """The command line of `pid` when it is a running OpenSSH sshd (its executable, not just a
    name on its command line, which any process can carry), else None. The listener rewrites
    its title to `sshd: /usr/sbin/sshd -D -f CONFIG ... [listener] ...`, options included."""
    try:
        executable = os.readlink(f"/proc/{pid}/exe") if pid > 0 else ""
    except OSError:
        return None
    if os.path.basename(executable.removesuffix(" (deleted)")) != "sshd":  # still sshd after an upgrade
        return None
    return command_line(pid)


def check_loopback(address: str) -> str:
    """`address` if it is an IPv4 loopback address (127.0.0.0/8); ValueError otherwise."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise ValueError(f"{address!r} is not an IP address; the sandbox sshd listens on 127.0.0.0/8 only") from None
    if ip not in _LOOPBACK:
        raise ValueError(f"{address} is not a loopback address; the sandbox sshd listens on 127.0.0.0/8 only")
    return address


@dataclass
class RunningSshd:
    """A daemon started by `start_sshd`; stop it with `stop()` (or use it as a context manager)."""

    pid: int
    listen: tuple[ListenAddress, ...]
    workdir: Path
    config_path: Path
    host_key_path: Path
    pidfile: Path
    log_path: Path
    host_public_key: str  # "ssh-ed25519 AAAA... comment", the line of the .pub file
    _process: Optional[subprocess.Popen] = field(default=None, repr=False)

    @property
    def host_key_fingerprint(self) -> str:
        """SHA256 fingerprint of the host key, as `ssh` prints it."""
        return public_key_fingerprint(self.host_public_key)

    def known_hosts_lines(self, names: Optional[Iterable[str]] = None) -> list[str]:
        """OpenSSH known_hosts lines trusting this daemon's key at each listen address
        (or at each of `names`, which then use the first listen port)."""
        key_type, blob = self.host_public_key.split()[:2]
        if names is None:
            pairs = list(self.listen)
        else:
            port = self.listen[0][1]
            pairs = [(name, port) for name in names]
        return [
            f"{address if port == 22 else f'[{address}]:{port}'} {key_type} {blob}" for address, port in pairs
        ]

    def is_running(self) -> bool:
        if self._process is not None:
            return self._process.poll() is None
        return process_alive(self.pid)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the daemon by the PID it was started with (SIGTERM, then SIGKILL). Idempotent.

        Sessions already open keep their own sshd child processes until their
        clients disconnect, exactly as with a system sshd."""
        if not self.is_running():
            self._reap()
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        if not self._wait(timeout):
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._wait(timeout)
        self._reap()

    def _wait(self, timeout: float) -> bool:
        if self._process is not None:
            try:
                self._process.wait(timeout)
                return True
            except subprocess.TimeoutExpired:
                return False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.is_running():
                return True
            time.sleep(0.02)
        return False

    def _reap(self) -> None:
        try:
            if self.pidfile.read_text().strip() == str(self.pid):
                self.pidfile.unlink()
        except (FileNotFoundError, ValueError):
            pass

    def __enter__(self) -> "RunningSshd":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _become_subreaper() -> None:
    """In the child before exec: PR_SET_CHILD_SUBREAPER, so orphans of the daemon's sessions are
    re-parented to sshd, whose SIGCHLD handler reaps any child (OpenSSH waits on -1)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass  # not Linux: orphans go to init as usual


def ensure_host_key(path: Path) -> str:
    """Make an ed25519 host key at `path` (mode 0600) unless one is there; return its public line."""
    public_path = path.with_name(path.name + ".pub")
    if path.exists() and public_path.exists():
        return public_path.read_text().strip()
    import asyncssh  # the engine's own SSH library; only needed when a key must be made

    path.parent.mkdir(parents=True, exist_ok=True)
    key = asyncssh.generate_private_key("ssh-ed25519", comment="arcus-tui-sandbox-host")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.export_private_key("openssh"))
    os.replace(tmp, path)
    public_line = key.export_public_key("openssh").decode().strip()
    public_path.write_text(public_line + "\n")
    return public_line


def _config_text(
    listen: Sequence[ListenAddress],
    host_key: Path,
    pidfile: Path,
    *,
    max_startups: str,
    max_sessions: int,
    password_auth: bool,
    allow_users: Sequence[str],
    extra_config: Mapping[str, str],
) -> str:
    options: dict[str, str] = {
        "HostKey": str(host_key),
        "PidFile": str(pidfile),
        "UsePAM": "no",
        "PasswordAuthentication": "yes" if password_auth else "no",
        "KbdInteractiveAuthentication": "no",
        "PubkeyAuthentication": "yes",
        "PermitRootLogin": "no",
        "AuthorizedKeysFile": ".ssh/authorized_keys",
        "StrictModes": "yes",
        "MaxStartups": max_startups,
        "MaxSessions": str(max_sessions),
        "LoginGraceTime": "30",
        "UseDNS": "no",
        "PrintMotd": "no",
        "PrintLastLog": "no",
        "PermitUserEnvironment": "no",
        "X11Forwarding": "no",
        "Subsystem": "sftp internal-sftp",
        "LogLevel": "INFO",
    }
    if allow_users:
        options["AllowUsers"] = " ".join(allow_users)
    options.update(extra_config)
    lines = ["# written by arcus-tui: a private sshd on loopback addresses, not the system's"]
    lines += [f"ListenAddress {address}:{port}" for address, port in listen]
    lines += [f"{key} {value}" for key, value in options.items()]
    return "\n".join(lines) + "\n"


def start_sshd(
    workdir: Union[str, Path],
    listen: Sequence[ListenAddress],
    *,
    sshd_path: Optional[str] = None,
    host_key: Optional[Union[str, Path]] = None,
    max_startups: str = "10:30:100",
    max_sessions: int = 10,
    password_auth: bool = True,
    allow_users: Sequence[str] = (),
    extra_config: Optional[Mapping[str, str]] = None,
    start_timeout: float = 10.0,
    reap_orphans: bool = True,
) -> RunningSshd:
    """Start `sshd -D -f <workdir>/sshd_config` listening on `listen` ((address, port) pairs, all in
    127.0.0.0/8) and return once every address is listening.

    Defaults are OpenSSH's own (MaxStartups 10:30:100, MaxSessions 10); raise them when one
    daemon stands in for many hosts. `host_key` defaults to `<workdir>/ssh_host_ed25519_key`,
    made on first use and reused afterwards. Runs as any user: as root it can log in any
    local user (root itself is refused), otherwise only the user who started it.

    With `reap_orphans` (Linux), the daemon is the "init" of what its sessions leave running
    (servers started in the background, as ZooKeeper and memcached are): it adopts them when
    their shell exits and reaps them when they end, so none lingers as a zombie even where
    PID 1 does not reap (containers, micro-VMs).
    """
    if not listen:
        raise ValueError("start_sshd needs at least one (address, port) to listen on")
    if len(listen) > MAX_LISTEN_ADDRESSES:
        raise ValueError(
            f"one sshd listens on at most {MAX_LISTEN_ADDRESSES} addresses; use start_sshd_fleet for {len(listen)}"
        )
    listen = tuple((check_loopback(address), int(port)) for address, port in listen)
    sshd = sshd_path or find_sshd()
    if not sshd:
        raise SshdError("OpenSSH server (sshd) is not installed; install the openssh-server package")

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    key_path = Path(host_key) if host_key else workdir / "ssh_host_ed25519_key"
    public_line = ensure_host_key(key_path)
    config_path = workdir / "sshd_config"
    pidfile = workdir / "sshd.pid"
    log_path = workdir / "sshd.log"
    config_path.write_text(
        _config_text(
            listen,
            key_path,
            pidfile,
            max_startups=max_startups,
            max_sessions=max_sessions,
            password_auth=password_auth,
            allow_users=allow_users,
            extra_config=extra_config or {},
        )
    )
    if os.geteuid() == 0:
        # sshd's privilege-separation chroot; the Debian service normally creates it.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    log_path.write_text("")

    process = subprocess.Popen(
        [sshd, "-D", "-f", str(config_path), "-E", str(log_path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
        preexec_fn=_become_subreaper if reap_orphans else None,
    )
    running = RunningSshd(
        pid=process.pid,
        listen=listen,
        workdir=workdir,
        config_path=config_path,
        host_key_path=key_path,
        pidfile=pidfile,
        log_path=log_path,
        host_public_key=public_line,
        _process=process,
    )
    wanted = {f"Server listening on {address} port {port}." for address, port in listen}
    deadline = time.monotonic() + start_timeout
    while True:
        log = running.log_text()
        if all(line in log for line in wanted):
            return running
        failed = process.poll() is not None or "failed" in log or time.monotonic() > deadline
        if failed:
            running.stop()
            tail = "\n".join(running.log_text().splitlines()[-8:])
            raise SshdError(f"sshd on {', '.join(f'{a}:{p}' for a, p in listen)} did not start:\n{tail}")
        time.sleep(0.02)


def start_sshd_fleet(
    workdir: Union[str, Path],
    listen: Sequence[ListenAddress],
    *,
    share_host_key: bool = True,
    addresses_per_daemon: int = MAX_LISTEN_ADDRESSES,
    **options,
) -> list[RunningSshd]:
    """As many daemons as `listen` needs (`addresses_per_daemon` each, at most 16), started in
    parallel, sharing one host key in `workdir` (or each with its own when `share_host_key` is
    False, like separate machines). All are stopped again if one fails to start."""
    from concurrent.futures import ThreadPoolExecutor

    if not 1 <= addresses_per_daemon <= MAX_LISTEN_ADDRESSES:
        raise ValueError(f"addresses_per_daemon must be 1..{MAX_LISTEN_ADDRESSES}")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if share_host_key:
        options.setdefault("host_key", workdir / "ssh_host_ed25519_key")
        ensure_host_key(Path(options["host_key"]))
    chunks = [listen[i : i + addresses_per_daemon] for i in range(0, len(listen), addresses_per_daemon)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(start_sshd, workdir / f"sshd-{index}", chunk, **options)
                   for index, chunk in enumerate(chunks)]
    started = [future.result() for future in futures if future.exception() is None]
    failed = [future.exception() for future in futures if future.exception() is not None]
    if failed:
        for daemon in started:
            daemon.stop()
        raise failed[0]
    return started
