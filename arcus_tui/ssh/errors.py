"""Per-host failures as one clear sentence each: no tracebacks for an unreachable host or a wrong password.

Every message names the host; none ever contains a password (see `scrub`).
"""

from __future__ import annotations

import asyncio
import errno
import socket
from typing import Optional

import asyncssh


class SshHostError(Exception):
    """A failure confined to one host.

    `message` is the sentence for that host's own pane or result (no host name in it);
    `str(error)` prefixes the host, for logs that mix hosts.
    """

    def __init__(self, host: str, message: str):
        super().__init__(f"{message}")
        self.host = host
        self.message = message

    def __str__(self) -> str:
        return f"{self.host}: {self.message}"


class ConnectFailed(SshHostError):
    """The host could not be reached or did not finish the SSH handshake."""


class LoginDropped(ConnectFailed):
    """sshd closed or reset the connection before login finished (typically MaxStartups): worth a retry."""


class AuthFailed(SshHostError):
    """The host refused every credential offered."""


class CommandTimeout(SshHostError):
    """A command ran longer than its timeout; its channel was closed."""


class ConnectionDropped(SshHostError):
    """The connection broke while a command or transfer was running."""


class IdentityError(SshHostError):
    """A named identity file is missing or unreadable."""


def scrub(text: str, secret: Optional[str]) -> str:
    """`text` with every occurrence of `secret` masked (defence in depth for remote echo)."""
    if secret and secret in text:
        return text.replace(secret, "********")
    return text


def describe_connect_error(host: str, where: str, exc: BaseException, *, timeout: Optional[float],
                           user: str, key_only: bool) -> SshHostError:
    """Turn what asyncssh/asyncio raised while connecting to `where` into a per-host error."""
    if isinstance(exc, SshHostError):
        return exc
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError, asyncssh.TimeoutError)):
        return ConnectFailed(host, f"no answer from {where} within {timeout:g} s")
    if isinstance(exc, asyncssh.PermissionDenied):
        if key_only:
            return AuthFailed(host, f"key login refused for {user}@{where} "
                                    f"(the key is not in that user's ~/.ssh/authorized_keys, "
                                    f"or its permissions are too open)")
        return AuthFailed(host, f"login refused for {user}@{where} (wrong password, or no key authorized)")
    if isinstance(exc, ConnectionRefusedError):
        return ConnectFailed(host, f"connection refused by {where} (is sshd running on that port?)")
    if isinstance(exc, socket.gaierror):
        return ConnectFailed(host, f"cannot resolve host name of {where}")
    if isinstance(exc, asyncssh.ConnectionLost):
        return LoginDropped(host, f"{where} closed the connection during login "
                                   f"(sshd busy or refusing: MaxStartups, AllowUsers, TCP wrappers?)")
    if isinstance(exc, asyncssh.DisconnectError):
        reason = exc.reason or type(exc).__name__
        return ConnectFailed(host, f"{where} disconnected: {reason}")
    if isinstance(exc, ConnectionResetError):
        return LoginDropped(host, f"connection reset by {where} (sshd busy? MaxStartups reached?)")
    if isinstance(exc, OSError):
        text = exc.strerror or errno.errorcode.get(exc.errno or 0, "") or str(exc) or type(exc).__name__
        return ConnectFailed(host, f"cannot connect to {where}: {text}")
    return ConnectFailed(host, f"cannot connect to {where}: {exc or type(exc).__name__}")
