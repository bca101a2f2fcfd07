"""Host key verification against an OpenSSH known_hosts file (shared with the `ssh` command).

- A host with no known key yields a `HostKeyQuestion` (key type + SHA256 fingerprint);
  the key is written to known_hosts only by `KnownHosts.accept(question)`.
- A host whose key differs from the known one is refused with `HostKeyChanged`,
  naming the host and both fingerprints. There is deliberately no option to accept it:
  the operator removes the stale line (`ssh-keygen -R`) after checking the host.
- A malformed line is skipped, as OpenSSH does, and named (`FILE:LINE`) in `problems`;
  the other lines still apply. One bad line must not stop every SSH verb.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable, Optional

import asyncssh

from .errors import SshHostError


def fingerprint(key: asyncssh.SSHKey) -> str:
    """`SHA256:...`, as `ssh` and `ssh-keygen -l` print it."""
    return key.get_fingerprint("sha256")


def public_key_fingerprint(public_line: str) -> str:
    """The fingerprint of an OpenSSH public key line ("ssh-ed25519 AAAA... comment")."""
    return fingerprint(asyncssh.import_public_key(public_line))


def known_hosts_name(hostname: str, port: Optional[int]) -> str:
    """The host field of a known_hosts line: `host`, or `[host]:port` off port 22."""
    return hostname if port in (None, 22) else f"[{hostname}]:{port}"


@dataclass(frozen=True)
class HostKeyQuestion:
    """An unknown host key: ask the operator; save it with `KnownHosts.accept(question)`."""

    host: str  # the target's name (a box of the grid)
    hostname: str  # the name recorded in known_hosts (HostKeyAlias, HostName, or address)
    address: str  # the peer IP actually connected to
    port: int
    key_type: str
    fingerprint: str
    public_key: str  # "ssh-ed25519 AAAA..."
    known_hosts: Path

    @property
    def entry(self) -> str:
        """The known_hosts line that accepting writes."""
        return f"{known_hosts_name(self.hostname, self.port)} {self.public_key}"

    @property
    def text(self) -> str:
        where = known_hosts_name(self.hostname, self.port)
        peer = f" ({self.address})" if self.address and self.address != self.hostname else ""
        return (f"{self.host}: the authenticity of host {where}{peer} can't be established. "
                f"{self.key_type} key fingerprint is {self.fingerprint}. "
                f"Trust it and add it to {self.known_hosts}?")


HostKeyAsker = Callable[[HostKeyQuestion], Awaitable[bool]]
"""Asks the operator about an unknown host key; True saves it and connects."""


class UnknownHostKey(SshHostError):
    """Refused because the host key is not known (the operator did not accept it, or was not asked)."""

    def __init__(self, question: HostKeyQuestion):
        super().__init__(
            question.host,
            f"host key of {known_hosts_name(question.hostname, question.port)} is not known "
            f"({question.key_type} {question.fingerprint}); not trusted",
        )
        self.question = question


class HostKeyChanged(SshHostError):
    """Refused because the host presented a key other than the one in known_hosts."""

    def __init__(self, host: str, hostname: str, port: int, known: list[tuple[str, str]],
                 presented_type: str, presented_fingerprint: str, known_hosts: Path):
        where = known_hosts_name(hostname, port)
        known_text = ", ".join(f"{kind} {fp}" for kind, fp in known)
        remove = f"ssh-keygen -R {shlex.quote(where)} -f {shlex.quote(str(known_hosts))}"
        super().__init__(
            host,
            f"REFUSED: the host key of {where} has CHANGED. known_hosts ({known_hosts}) has "
            f"{known_text}; the host presented {presented_type} {presented_fingerprint}. "
            f"Someone may be intercepting the connection, or the host was reinstalled. "
            f"Check with the host's administrator; if the new key is right, remove the old one "
            f"with `{remove}` and connect again.",
        )
        self.hostname = hostname
        self.port = port
        self.known = known
        self.presented_type = presented_type
        self.presented_fingerprint = presented_fingerprint


def parse_known_hosts(text: str, path: Path) -> tuple[asyncssh.SSHKnownHosts, list[str]]:
    """The entries of a known_hosts text, and one `FILE:LINE: ...` sentence per line skipped.

    Line by line, because asyncssh rejects the whole file for one line it cannot parse."""
    db = asyncssh.SSHKnownHosts()
    problems = []
    for number, line in enumerate(text.split("\n"), 1):
        try:
            db.load(line)  # a line that fails adds nothing: asyncssh parses before it adds
        except Exception as exc:  # ValueError today; whatever a future asyncssh raises, still one line
            reason = str(exc).split(":")[0].strip() or type(exc).__name__
            problems.append(f"{path}:{number}: malformed line skipped ({reason[:1].lower()}{reason[1:]}); "
                            f"the other lines still apply")
    return db, problems


class KnownHosts:
    """An OpenSSH known_hosts file, read once and appended to on `accept`.

    `problems` names each malformed line skipped; `warn` (if given) hears each of them once.
    """

    def __init__(self, path: Path, *, warn: Optional[Callable[[str], None]] = None):
        self.path = Path(path)
        self._warn = warn
        self.problems: list[str] = []
        self._db = asyncssh.SSHKnownHosts()
        self.reload()

    def reload(self) -> None:
        try:
            text = self.path.read_text(errors="replace")
        except FileNotFoundError:
            text = ""
        self._db, problems = parse_known_hosts(text, self.path)
        if self._warn is not None:
            for problem in problems:
                if problem not in self.problems:
                    self._warn(problem)
        self.problems = problems

    def match(self, host: str, addr: str, port: Optional[int]):
        """asyncssh's `known_hosts` callable: the trusted, CA and revoked keys for a host."""
        return self._db.match(host, addr, port)

    def trusted_keys(self, host: str, addr: str, port: Optional[int]) -> list[asyncssh.SSHKey]:
        return list(self._db.match(host, addr, None if port == 22 else port)[0])

    def trusted(self, host: str, port: Optional[int]) -> tuple[list[asyncssh.SSHKey], list[asyncssh.SSHKey]]:
        """The host keys and the CA keys known_hosts trusts for `host` (name or address) and port."""
        match = self._db.match(host, "", None if port == 22 else port)
        return list(match[0]), list(match[1])

    def judge(self, target_name: str, hostname: str, addr: str, port: int,
              key: asyncssh.SSHKey) -> SshHostError:
        """The refusal for a key that asyncssh found untrusted: changed if any key is known, else unknown."""
        known = self.trusted_keys(hostname, addr, port)
        presented_type = key.get_algorithm()
        if known:
            return HostKeyChanged(target_name, hostname, port,
                                  [(k.get_algorithm(), fingerprint(k)) for k in known],
                                  presented_type, fingerprint(key), self.path)
        public = key.export_public_key("openssh").decode().split()
        return UnknownHostKey(HostKeyQuestion(
            host=target_name, hostname=hostname, address=addr, port=port, key_type=presented_type,
            fingerprint=fingerprint(key), public_key=" ".join(public[:2]), known_hosts=self.path))

    def accept(self, question: HostKeyQuestion) -> None:
        """Append the question's key to known_hosts (creating the file 0600 and its directory 0700)."""
        self.reload()
        already = [k for k in self.trusted_keys(question.hostname, question.address, question.port)
                   if " ".join(k.export_public_key("openssh").decode().split()[:2]) == question.public_key]
        if already:
            return
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            size = os.fstat(fd).st_size
            prefix = b""
            if size:
                last = os.pread(fd, 1, size - 1)
                prefix = b"" if last == b"\n" else b"\n"
            os.write(fd, prefix + question.entry.encode() + b"\n")
        finally:
            os.close(fd)
        self._db.load(question.entry)
