"""Local stand-ins for servers, on loopback only: the practice sandbox and the tests share them.

`sshd` starts a private OpenSSH daemon; nothing here touches the system's own
daemons or configuration files.
"""

from .sshd import (
    MAX_LISTEN_ADDRESSES,
    RunningSshd,
    SshdError,
    find_sshd,
    start_sshd,
    start_sshd_fleet,
)

__all__ = [
    "MAX_LISTEN_ADDRESSES",
    "RunningSshd",
    "SshdError",
    "find_sshd",
    "start_sshd",
    "start_sshd_fleet",
]
