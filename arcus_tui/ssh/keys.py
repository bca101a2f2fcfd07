"""ARCUS's three manual SSH steps (docs/arcus.md#terms) as functions: make the gateway key, copy it to
every host, prove key login.

    key = ensure_gateway_key()                                  # ssh-keygen, never overwriting
    await copy_id(targets, key, Password(typed_once))           # ssh-copy-id, all hosts at once
    await verify_key_login(targets, key)                        # ssh user@host true, keys only

The password lives only in the `Password` object in memory: it is sent to each
host's sshd during login and nowhere else (no event, log line, file or error text).
"""

from __future__ import annotations

import os
import shlex
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Union

import asyncssh

from arcus_tui.events import GATEWAY, EventSink, HostState, ProgressEvent, Stream, ignore_events

from .audit import CommandObserver
from .connect import Credentials, Password
from .hostkeys import HostKeyAsker, KnownHosts, fingerprint
from .paths import DEFAULT_SSH_DIR, SshPaths
from .results import HostResult, RunResult
from .session import Limits, SshSession
from .target import HostTarget

KEY_TYPES = {"ed25519": ("ssh-ed25519", "id_ed25519"), "rsa": ("ssh-rsa", "id_rsa")}
DEFAULT_KEY_TYPE = "ed25519"
RSA_BITS = 4096


class GatewayKeyError(RuntimeError):
    """The gateway key exists but cannot be used (unreadable, encrypted, not a key)."""


@dataclass(frozen=True)
class GatewayKey:
    path: Path  # private key, mode 0600
    public_path: Path
    public_line: str  # "ssh-ed25519 AAAA... comment", what goes into authorized_keys
    key_type: str  # "ssh-ed25519" / "ssh-rsa"
    fingerprint: str  # "SHA256:..."
    created: bool  # False when an existing key was reused

    @property
    def blob(self) -> str:
        return self.public_line.split()[1]


def _write_new(path: Path, data: bytes, mode: int) -> bool:
    """Create `path` with `data` and `mode` atomically, never replacing an existing file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        try:
            os.link(tmp, path)  # fails if path exists: a key is never overwritten
        except FileExistsError:
            return False
        return True
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def ensure_gateway_key(key_dir: Union[str, Path] = DEFAULT_SSH_DIR, *, key_type: str = DEFAULT_KEY_TYPE,
                       comment: Optional[str] = None, sink: EventSink = ignore_events,
                       step: str = "gateway-key") -> GatewayKey:
    """The gateway's key in `key_dir` (`id_ed25519`, or `id_rsa` with RSA 4096 when `key_type="rsa"`).

    An existing key is reused, never overwritten; a missing `.pub` is rewritten from it.
    `key_dir` is created 0700; a new private key is written 0600 (an existing one readable by
    others is tightened to 0600, as ssh would refuse it otherwise).
    """
    if key_type not in KEY_TYPES:
        raise ValueError(f"key type must be one of {', '.join(KEY_TYPES)}, not {key_type!r}")
    algorithm, filename = KEY_TYPES[key_type]
    key_dir = Path(key_dir)
    path = key_dir / filename
    public_path = key_dir / (filename + ".pub")
    sink(ProgressEvent(GATEWAY, step, state=HostState.RUNNING))
    if not key_dir.exists():
        key_dir.mkdir(mode=0o700, parents=True)
        os.chmod(key_dir, 0o700)
        sink(ProgressEvent(GATEWAY, step, Stream.INFO, f"created {key_dir} (mode 0700)"))
    created = False
    if not path.exists():
        user = os.environ.get("USER") or os.environ.get("LOGNAME") or "arcus"
        comment = comment or f"{user}@{socket.gethostname()} (arcus-tui)"
        if key_type == "rsa":
            private = asyncssh.generate_private_key(algorithm, comment=comment, key_size=RSA_BITS)
        else:
            private = asyncssh.generate_private_key(algorithm, comment=comment)
        created = _write_new(path, private.export_private_key("openssh"), 0o600)
        if created:
            sink(ProgressEvent(GATEWAY, step, Stream.INFO, f"made a new {key_type} key {path}"))
    try:
        private = asyncssh.read_private_key(str(path))
    except asyncssh.KeyImportError as exc:
        message = (f"{path} is protected by a passphrase; add it to ssh-agent or choose another key"
                   if "assphrase" in str(exc) else f"{path} is not a usable private key: {exc}")
        sink(ProgressEvent(GATEWAY, step, Stream.INFO, message, state=HostState.FAILED))
        raise GatewayKeyError(message) from None
    if not created:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            os.chmod(path, 0o600)
            sink(ProgressEvent(GATEWAY, step, Stream.INFO, f"tightened {path} from {mode:04o} to 0600"))
        sink(ProgressEvent(GATEWAY, step, Stream.INFO, f"reusing the existing key {path}"))
    public_line = private.export_public_key("openssh").decode().strip()
    if private.get_comment():
        public_line = " ".join(public_line.split()[:2] + [private.get_comment()])
    if public_path.exists():
        existing = public_path.read_text().strip()
        if existing.split()[:2] == public_line.split()[:2]:
            public_line = existing
        else:
            sink(ProgressEvent(GATEWAY, step, Stream.INFO,
                               f"{public_path} does not match {path}; using the private key's public half"))
    else:
        _write_new(public_path, (public_line + "\n").encode(), 0o644)
    key = GatewayKey(path, public_path, public_line, private.get_algorithm(), fingerprint(private), created)
    sink(ProgressEvent(GATEWAY, step, Stream.INFO, f"{key.key_type} {key.fingerprint}",
                       state=HostState.OK if created else HostState.ALREADY_DONE))
    return key


# Installs the public key given on stdin, the way ssh-copy-id does but atomically:
# ~/.ssh (0700) and authorized_keys (0600) are created when missing; every existing line
# is kept (a missing final newline is added before our line); the key is appended only if
# its "type base64" is not there yet; the new file is written beside the old one under a name
# mktemp makes (random, created exclusively: nothing planted under a guessable name is followed),
# synced to disk and renamed over it, so an interrupted run or a crash leaves the old file or the
# new one, never a truncated one. Runs under flock(1) on ~/.ssh where available (homes shared by
# several hosts, e.g. NFS; there two hosts may also create ~/.ssh at once: either may win).
INSTALL_KEY_SCRIPT = r"""
umask 077
key=$(head -n 1) || exit 1
set -f; set -- $key; set +f
[ $# -ge 2 ] || { echo "no public key given" >&2; exit 2; }
kt=$1; blob=$2
d="$HOME/.ssh"; f="$d/authorized_keys"
if [ ! -d "$d" ]; then mkdir -m 700 -- "$d" 2>/dev/null && echo "created ~/.ssh (0700)"; [ -d "$d" ] || exit 1; fi
if command -v flock >/dev/null 2>&1; then exec 9<"$d" && flock -w 30 9; fi
if [ -f "$f" ] && grep -qF -- "$kt $blob" "$f"; then echo "key-present"; exit 0; fi
if [ -L "$f" ]; then f=$(readlink -f -- "$f") || exit 1; fi
t=$(mktemp "$(dirname -- "$f")/.authorized_keys.XXXXXXXXXX") || exit 1
trap 'rm -f -- "$t"' EXIT
trap 'exit 1' HUP INT TERM
{
  if [ -f "$f" ]; then
    cat -- "$f" || exit 1
    if [ -s "$f" ] && [ -n "$(tail -c 1 -- "$f")" ]; then echo; fi
  fi
  printf '%s\n' "$key"
} > "$t" || exit 1
chmod 600 -- "$t" || exit 1
sync -- "$t" 2>/dev/null || sync
mv -f -- "$t" "$f" || exit 1
trap - EXIT
sync -- "$(dirname -- "$f")" 2>/dev/null || :
command -v restorecon >/dev/null 2>&1 && restorecon -F -- "$d" "$f" >/dev/null 2>&1
echo "key-added"
"""

INSTALL_KEY_COMMAND = "sh -c " + shlex.quote(INSTALL_KEY_SCRIPT)
"""Run through sh whatever the login shell is (csh, fish, ...)."""


def _copy_outcome(result: HostResult) -> HostState:
    return HostState.ALREADY_DONE if "key-present" in result.stdout else HostState.OK


async def copy_id(targets: Iterable[HostTarget], key: GatewayKey, password: Union[Password, str, None], *,
                  paths: Optional[SshPaths] = None, limits: Optional[Limits] = None,
                  on_unknown_host_key: Optional[HostKeyAsker] = None,
                  known_hosts: Optional[KnownHosts] = None, sink: EventSink = ignore_events,
                  step: str = "copy-id", hosts: Optional[Iterable[str]] = None,
                  on_command: Optional[CommandObserver] = None) -> RunResult:
    """Install `key` in `~/.ssh/authorized_keys` of every target's login user, all hosts at once.

    Logs in with the gateway key when it already works, else with `password` (the same one
    for every host). Hosts that already have the key report ALREADY_DONE.
    """
    if isinstance(password, str):
        password = Password(password)
    credentials = Credentials(password=password, identity_files=(key.path,), use_agent=False)
    async with SshSession(targets, paths=paths, credentials=credentials, limits=limits,
                          on_unknown_host_key=on_unknown_host_key, known_hosts=known_hosts, sink=sink,
                          on_command=on_command) as ssh:
        return await ssh.run(INSTALL_KEY_COMMAND, hosts=hosts, step=step, input=key.public_line + "\n",
                             outcome=_copy_outcome, timeout=60)


async def verify_key_login(targets: Iterable[HostTarget], key: Union[GatewayKey, Path, str], *,
                           paths: Optional[SshPaths] = None, limits: Optional[Limits] = None,
                           on_unknown_host_key: Optional[HostKeyAsker] = None,
                           known_hosts: Optional[KnownHosts] = None, sink: EventSink = ignore_events,
                           step: str = "verify-login", hosts: Optional[Iterable[str]] = None,
                           on_command: Optional[CommandObserver] = None) -> RunResult:
    """Log in to every host with `key` alone (no password, no agent, no other key) and run `true`."""
    key_path = key.path if isinstance(key, GatewayKey) else Path(key)
    credentials = Credentials(password=None, identity_files=(key_path,), use_agent=False)
    async with SshSession(targets, paths=paths, credentials=credentials, limits=limits,
                          on_unknown_host_key=on_unknown_host_key, known_hosts=known_hosts, sink=sink,
                          on_command=on_command) as ssh:
        return await ssh.run("true", hosts=hosts, step=step, timeout=30)
