"""What counts as a plain name, address, port or path in a cluster file.

Names end up in shell commands, znode paths and file names on remote hosts, so
they are kept to characters that need no quoting anywhere. Free-text strings
(paths) may hold odd characters but never a control character: each one reaches a
terminal, a command line or a config file, where such a character can end a line,
move the cursor or hide text. Every pattern is matched against the whole value
(`fullmatch`: `$` would let a trailing newline through).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import Optional

from .cluster import NODE_SESSION_TIMEOUT_RANGE
from .node_settings import NODE_SETTING_BOUNDS

_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_HOST_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_ASCII_PORT = re.compile(r"[0-9]{1,5}")  # str.isdigit() and int() also take "²" and "١٢"
_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Unicode categories refused in every string: controls (ESC, NUL, line breaks), formatting
characters such as bidi overrides (they reorder what a terminal shows), surrogates, and
the line/paragraph separators Python itself splits lines at."""

IPV6_REFUSED = ("IPv6 addresses are not supported yet: {value!r}; use an IPv4 address or a host name "
                "(ARCUS names nodes <ip>:<port> and arcus-memcached finds its own address over IPv4 only)")


def shown(value: str) -> str:
    """`value` as it may be printed: itself when harmless, else its escaped repr."""
    return value if value.isprintable() else repr(value)


def control_character_problem(value: str) -> Optional[str]:
    for ch in value:
        if unicodedata.category(ch) in _UNPRINTABLE:
            return f"{value!r} contains a control character ({ch!r}): remove it"
    return None


def free_text_problem(value: str) -> Optional[str]:
    """A string with no alphabet of its own (a gateway path): not empty, no control character."""
    if not value:
        return "must not be empty"
    return control_character_problem(value)


def plain_name_problem(value: str) -> Optional[str]:
    if not value:
        return "must not be empty"
    if not _PLAIN_NAME.fullmatch(value):
        return f"{value!r} is not a plain name (use letters, digits, '-', '_' and '.'; start with a letter or digit)"
    return None


def _host_name_problem(value: str) -> Optional[str]:
    labels = value.split(".")
    if len(value) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        return f"{value!r} is not an IP address or host name"
    if labels[-1].isdigit():  # ASCII by now; no top-level domain is all digits: a mistyped IPv4 address
        return f"{value!r} is not a valid IPv4 address"
    return None


def _is_ipv6(value: str) -> bool:
    try:
        return ipaddress.ip_address(value).version == 6
    except ValueError:
        return False


def address_problem(value: str) -> Optional[str]:
    """An IPv4 address or a host name; IPv6 is refused with its own message."""
    if not value:
        return "must not be empty"
    if _is_ipv6(value):  # ipaddress also takes a scope id with any text after '%', newlines included
        return IPV6_REFUSED.format(value=value)
    try:
        ipaddress.IPv4Address(value)
        return None
    except ValueError:
        return _host_name_problem(value)


def port_problem(value: int) -> Optional[str]:
    if not 1 <= value <= 65535:
        return f"port {value} is outside 1-65535"
    return None


def positive_problem(value: int) -> Optional[str]:
    if value <= 0:
        return f"{value} must be a positive number"
    return None


def node_session_timeout_problem(value: int) -> Optional[str]:
    low, high = NODE_SESSION_TIMEOUT_RANGE
    if not low <= value <= high:
        return (f"{value} is outside {low}-{high}: arcus-memcached takes -o in seconds "
                f"and silently keeps 30 for anything else")
    return None


def setting_problem(key: str):
    """The check of a memcached setting (`threads`, `memlimit`, `connections`): the values
    arcus-memcached refuses or cannot represent (bounds in node_settings.NODE_SETTINGS)."""
    bounds = NODE_SETTING_BOUNDS[key]

    def check(value: int) -> Optional[str]:
        if not bounds.low <= value <= bounds.high:
            return f"{value} is outside {bounds.low}-{bounds.high}: {bounds.why}"
        return None
    return check


def setting_warning(key: str):
    """The warning for a possible but unusual memcached setting."""
    bounds = NODE_SETTING_BOUNDS[key]

    def warn(value: int) -> Optional[str]:
        if value > bounds.usual:
            return f"{value} is above {bounds.usual}: {bounds.unusual}"
        return None
    return warn


def remote_path_problem(value: str) -> Optional[str]:
    if not value.strip():
        return "must not be empty"
    if problem := control_character_problem(value):
        return problem
    if not (value.startswith("/") or value == "~" or value.startswith("~/")):
        return f"{value!r} must be absolute or start with '~/' (it is a path on each host)"
    return None


def split_endpoint(value: str) -> tuple[str, int]:
    """`host:port` -> (host, port); raises ValueError with a readable message.
    `[v6]:port` and bare IPv6 are understood only to be refused by name."""
    host, sep, port_text = value.rpartition(":")
    if not sep or not _ASCII_PORT.fullmatch(port_text):
        if _is_ipv6(value.strip("[]")):  # an IPv6 address without a port
            raise ValueError(IPV6_REFUSED.format(value=value))
        raise ValueError(f"{value!r} is not host:port (a port is 1 to 5 ASCII digits)")
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
