"""What counts as a plain name, address or port in a cluster file.

Names end up in shell commands, znode paths and file names on remote hosts, so
they are kept to characters that need no quoting anywhere.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Optional

_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")


def plain_name_problem(value: str) -> Optional[str]:
    if not value:
        return "must not be empty"
    if not _PLAIN_NAME.match(value):
        return f"{value!r} is not a plain name (use letters, digits, '-', '_' and '.'; start with a letter or digit)"
    return None


def address_problem(value: str) -> Optional[str]:
    if not value:
        return "must not be empty"
    try:
        ipaddress.ip_address(value)
        return None
    except ValueError:
        pass
    if _HOSTNAME.match(value) and len(value) <= 253:
        return None
    return f"{value!r} is not an IP address or host name"


def port_problem(value: int) -> Optional[str]:
    if not 1 <= value <= 65535:
        return f"port {value} is outside 1-65535"
    return None


def positive_problem(value: int) -> Optional[str]:
    if value <= 0:
        return f"{value} must be a positive number"
    return None


def node_session_timeout_problem(value: int) -> Optional[str]:
    from .cluster import NODE_SESSION_TIMEOUT_RANGE  # late: cluster.py needs nothing from here

    low, high = NODE_SESSION_TIMEOUT_RANGE
    if not low <= value <= high:
        return (f"{value} is outside {low}-{high}: arcus-memcached takes -o in seconds "
                f"and silently keeps 30 for anything else")
    return None


def remote_path_problem(value: str) -> Optional[str]:
    if not value.strip():
        return "must not be empty"
    if any(ch in value for ch in "\n\r\0"):
        return "must not contain line breaks or NUL"
    if not (value.startswith("/") or value == "~" or value.startswith("~/")):
        return f"{value!r} must be absolute or start with '~/' (it is a path on each host)"
    return None


def split_endpoint(value: str) -> tuple[str, int]:
    """`host:port` (or `[v6]:port`) -> (host, port); raises ValueError with a readable message."""
    host, sep, port_text = value.rpartition(":")
    if not sep or not port_text.isdigit():
        raise ValueError(f"{value!r} is not host:port")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    problem = address_problem(host) or port_problem(int(port_text))
    if problem:
        raise ValueError(f"{value!r}: {problem}")
    return host, int(port_text)


def endpoint_problem(value: str) -> Optional[str]:
    try:
        split_endpoint(value)
    except ValueError as error:
        return str(error)
    return None
