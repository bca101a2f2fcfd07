"""The SSH engine (asyncssh; no Textual here): every action arcus-tui takes on a server goes through it.

- `SshSession`: one reused connection per host; run commands on all hosts at once with
  each output line streamed as a `ProgressEvent`; per-host results; retry of failed hosts.
- host keys checked against known_hosts (`KnownHosts`, `HostKeyQuestion`, `HostKeyChanged`).
- key bootstrap: `ensure_gateway_key`, `copy_id`, `verify_key_login`.
- `upload`: files, directories or tarballs to every host over SFTP, skipping unchanged content.
- `atomic_write_command`: the shell command writing a small file on a host atomically and durably.
"""

from .connect import Credentials, Password
from .errors import (
    AuthFailed,
    CommandTimeout,
    ConnectFailed,
    ConnectionDropped,
    IdentityError,
    LoginDropped,
    SshHostError,
)
from .hostkeys import HostKeyAsker, HostKeyChanged, HostKeyQuestion, KnownHosts, UnknownHostKey, fingerprint
from .keys import GatewayKey, GatewayKeyError, copy_id, ensure_gateway_key, verify_key_login
from .paths import DEFAULT_SSH_DIR, SshPaths
from .remote_write import atomic_write_command
from .results import HostResult, RunResult
from .session import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_CONNECT_CONCURRENCY,
    DEFAULT_STARTUPS_PER_SSHD,
    MAX_CHANNELS_PER_CONNECTION,
    Command,
    HostWork,
    Limits,
    SshSession,
)
from .target import HostTarget, targets_for
from .upload import upload

__all__ = [
    "AuthFailed",
    "Command",
    "CommandTimeout",
    "ConnectFailed",
    "ConnectionDropped",
    "Credentials",
    "DEFAULT_COMMAND_TIMEOUT",
    "DEFAULT_CONNECT_CONCURRENCY",
    "DEFAULT_SSH_DIR",
    "DEFAULT_STARTUPS_PER_SSHD",
    "GatewayKey",
    "GatewayKeyError",
    "HostKeyAsker",
    "HostKeyChanged",
    "HostKeyQuestion",
    "HostResult",
    "HostTarget",
    "HostWork",
    "IdentityError",
    "KnownHosts",
    "LoginDropped",
    "Limits",
    "MAX_CHANNELS_PER_CONNECTION",
    "Password",
    "RunResult",
    "SshHostError",
    "SshPaths",
    "SshSession",
    "UnknownHostKey",
    "atomic_write_command",
    "copy_id",
    "ensure_gateway_key",
    "fingerprint",
    "targets_for",
    "upload",
    "verify_key_login",
]
