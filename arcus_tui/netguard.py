"""A guard for test runs and benchmarks: with ARCUS_TUI_LOOPBACK_ONLY set, the engine
refuses to open any connection to an address outside 127.0.0.0/8 (or ::1).

The suite sets it for every test (tests/conftest.py), so that a test that by
mistake points at a sample cluster's 10.0.0.x hosts fails at once instead of
sending traffic off this machine.
"""

from __future__ import annotations

import ipaddress
import os
import socket

ENVIRONMENT_VARIABLE = "ARCUS_TUI_LOOPBACK_ONLY"


class NonLoopbackTarget(ConnectionRefusedError):
    """Refused by the loopback guard; the message names the address."""


def active() -> bool:
    return bool(os.environ.get(ENVIRONMENT_VARIABLE))


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:  # a name: every address it resolves to must be loopback
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


def check(host: str) -> None:
    """Raise `NonLoopbackTarget` when the guard is on and `host` is not on this machine."""
    if active() and not is_loopback(host):
        raise NonLoopbackTarget(f"{host} is not a loopback address and {ENVIRONMENT_VARIABLE} is set")
