"""The practice logins' password: random for each sandbox, kept 0600 in its state dir.

The logins are real system accounts, so a known password ("arcus", printed in every
summary) would let anyone who reaches an sshd that accepts them log in. The password
is made here once per state dir, reused by later `sandbox up`s of that sandbox (the
gateway and the operator keep working), and shown only when asked for
(`arcus-tui sandbox password`, `sandbox up --show-password`). The file holds the
password on its first line, so `arcus-tui setup --password-file` reads it as it is.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import Optional

FILE_NAME = "password"


def password_file(state_dir: Path) -> Path:
    return Path(state_dir) / FILE_NAME


def new_password() -> str:
    """144 random bits, URL-safe (letters, digits, `-`, `_`): nothing to guess, easy to paste."""
    return secrets.token_urlsafe(18)


def read_password(state_dir: Path) -> Optional[str]:
    """The sandbox's password, or None before its first `sandbox up`. A file left readable
    by others is made private again first."""
    path = password_file(state_dir)
    try:
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(0o600)
        first_line = path.read_text(encoding="utf-8").partition("\n")[0]
    except FileNotFoundError:
        return None
    return first_line or None


def sandbox_password(state_dir: Path, explicit: Optional[str] = None) -> str:
    """The password of this sandbox's logins: `explicit` when given (a test's), else the one
    stored before, else a new random one. Whatever it is, it is what the state dir stores."""
    password = explicit or read_password(state_dir) or new_password()
    if read_password(state_dir) != password:
        _write_private(password_file(state_dir), password + "\n")
    return password


def forget_password(state_dir: Path) -> bool:
    try:
        password_file(state_dir).unlink()
    except FileNotFoundError:
        return False
    return True


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path` with mode 0600 from the first byte on (never readable by others,
    not even between create and chmod), replacing it atomically."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)  # a tmp file left by a crash keeps its old mode through O_CREAT
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
