"""Where the operator's SSH files live. Every engine call takes these as a parameter
(default: the real `~/.ssh`), so tests and the sandbox never touch the real ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

DEFAULT_SSH_DIR = Path("~/.ssh").expanduser()

DEFAULT_IDENTITY_NAMES = ("id_ed25519", "id_ecdsa", "id_rsa")
"""Identity files tried when neither the cluster file nor ~/.ssh/config names one (OpenSSH's order)."""


@dataclass(frozen=True)
class SshPaths:
    """The gateway's SSH files: key directory, known_hosts and client config."""

    key_dir: Path = DEFAULT_SSH_DIR
    known_hosts: Path = field(default_factory=lambda: DEFAULT_SSH_DIR / "known_hosts")
    config: Path = field(default_factory=lambda: DEFAULT_SSH_DIR / "config")

    @classmethod
    def under(cls, directory: Union[str, Path]) -> "SshPaths":
        """All three inside `directory` (a test's or the sandbox's private ~/.ssh)."""
        directory = Path(directory)
        return cls(key_dir=directory, known_hosts=directory / "known_hosts", config=directory / "config")

    def default_identities(self) -> tuple[Path, ...]:
        """The default identity files that exist in `key_dir`."""
        return tuple(path for name in DEFAULT_IDENTITY_NAMES if (path := self.key_dir / name).is_file())
