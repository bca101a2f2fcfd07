"""Who a running ensemble counts as its members, read with the `conf` four-letter word.

A running member knows its ensemble from the zoo.cfg it was started with: ZooKeeper 3.5+
prints it under `membership:` as `server.<myid>=<ip>:<quorum port>:<election port>:<role>;<client>`.
Before arcus-tui writes zoo.cfg on a live cloud it compares that list with the file's: a
member started with another list could count a different majority and split the registry,
so a change of membership is refused, not written (`deploy.membership_check`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Iterable, Mapping, Optional

from .fourletter import DEFAULT_PROBE_TIMEOUT, four_letter, member_address, split_member

Membership = Mapping[int, str]
"""myid -> `ip:quorum port:election port` of every voting member."""

_NOT_ALLOWED = "not in the whitelist"
_NOT_SERVING = "not currently serving requests"


class MemberNotServing(ValueError):
    """The member runs but serves nothing yet (no quorum): it does not say its membership."""


@dataclass(frozen=True)
class MemberView:
    """What one member said about its ensemble: `membership`, or why it said nothing usable."""

    address: str  # ip:client port
    membership: Optional[Membership] = None
    standalone: bool = False  # runs alone (one server line, or none): no membership section
    error: str = ""
    running: bool = True  # something answered on the client port (False: refused or silent)
    serving: bool = True  # False: it runs but has no quorum yet, so it said nothing about its members

    @property
    def answered(self) -> bool:
        return self.membership is not None or self.standalone


def parse_conf_membership(text: str) -> tuple[Optional[dict[int, str]], bool]:
    """(membership, standalone) from a `conf` reply. A member in standalone mode prints no
    `membership:` section; a quorum member lists one `server.N=` line per member."""
    if _NOT_SERVING in text:
        raise MemberNotServing("not serving requests yet (no quorum)")
    if _NOT_ALLOWED in text:
        raise ValueError("`conf` is not in the member's 4lw.commands.whitelist")
    lines = [line.strip() for line in text.splitlines()]
    if "membership:" not in lines:
        if any(line.startswith("clientPort=") for line in lines):
            return None, True
        raise ValueError(f"not a `conf` reply: {text[:60]!r}")
    servers: dict[int, str] = {}
    for line in lines[lines.index("membership:") + 1:]:
        key, sep, value = line.partition("=")
        if not (sep and key.startswith("server.") and key[7:].isdigit()):
            continue
        quorum = value.split(";", 1)[0]
        parts = quorum.split(":")
        if len(parts) >= 4 and parts[-1] in ("participant", "observer"):
            parts = parts[:-1]
        servers[int(key[7:])] = ":".join(parts)
    return servers, False


async def read_member_view(member: str, *, timeout: float = DEFAULT_PROBE_TIMEOUT) -> MemberView:
    """`conf` one member; never raises for network trouble (the view says why)."""
    address = member_address(member)
    host, port = split_member(address)
    try:
        text = await four_letter(host, port, "conf", timeout=timeout)
    except asyncio.TimeoutError:
        return MemberView(address, error=f"no answer within {timeout:g} s", running=False)
    except OSError as error:
        return MemberView(address, error=error.strerror or str(error), running=False)
    try:
        membership, standalone = parse_conf_membership(text)
    except MemberNotServing as error:
        return MemberView(address, error=str(error), serving=False)
    except ValueError as error:
        return MemberView(address, error=str(error))
    return MemberView(address, membership, standalone)


async def read_ensemble_views(members: Iterable[str], *, timeout: float = DEFAULT_PROBE_TIMEOUT) -> tuple[MemberView, ...]:
    return tuple(await asyncio.gather(*(read_member_view(m, timeout=timeout) for m in members)))


def describe_membership(membership: Membership) -> str:
    return ", ".join(f"server.{myid}={address}" for myid, address in sorted(membership.items())) or "(none)"
