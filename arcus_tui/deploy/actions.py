"""What a plan step does on one host, as data the runner executes and `plan` prints.

Each action can `describe()` itself as the exact lines an operator would read
before saying yes: shell commands verbatim, file contents in full, znode
operations one per line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional, Union

from arcus_tui.zk import paths
from arcus_tui.zk.membership import describe_membership
from arcus_tui.zk.registry import nodes_from_cluster_json


@dataclass(frozen=True)
class MakeKey:
    """Make the gateway's SSH key unless one exists (never overwritten)."""

    key_type: str = "ed25519"

    def describe(self) -> list[str]:
        return [f"make the gateway SSH key ({self.key_type}) unless one exists; ~/.ssh 0700, private key 0600"]


@dataclass(frozen=True)
class CopyKey:
    """Append the gateway's public key to the host's authorized_keys, logging in with a password."""

    def describe(self) -> list[str]:
        return ["log in with the password (asked once, kept in memory only)",
                "append the gateway public key to ~/.ssh/authorized_keys unless present (~/.ssh 0700, file 0600)"]


@dataclass(frozen=True)
class VerifyLogin:
    def describe(self) -> list[str]:
        return ["log in with the key only (password authentication off) and run `true`"]


@dataclass(frozen=True)
class Upload:
    source: str  # on the gateway
    destination: str  # on the host

    def describe(self) -> list[str]:
        return [f"upload {self.source} -> {self.destination} (files whose checksum matches are skipped)"]


@dataclass(frozen=True)
class WriteFile:
    path: str
    content: str
    mode: int = 0o644

    def describe(self) -> list[str]:
        lines = [f"write {self.path} (mode {self.mode:o}) unless it already holds:"]
        return lines + [f"    {line}" for line in self.content.splitlines()]


@dataclass(frozen=True)
class RunCommand:
    """A shell command; `unless` is a shell test that, when true, means the work is already done."""

    command: str
    unless: Optional[str] = None
    port: Optional[int] = None  # the memcached node this command is about, if any
    already: str = ""  # what to tell the operator when `unless` holds, e.g. "memcached :11211 is running"

    def describe(self) -> list[str]:
        if self.unless:
            return [f"unless {self.unless}:", f"    $ {self.command}"]
        return [f"$ {self.command}"]


EXPIRY_GRACE_SECONDS = 5.0
"""ZooKeeper expires sessions on its own tick: an entry may outlive its session timeout a little."""


@dataclass(frozen=True)
class StartNode(RunCommand):
    """Start one memcached node and see it join the registry under its own entry.

    arcus-memcached daemonizes before it joins and gives up silently when an entry of
    its previous session is still there (ZNODEEXISTS), so the start is proven by the
    registry, not by the command's exit status."""

    endpoint: str = ""  # ip:port
    service_code: str = ""
    session_timeout: float = 30.0  # s an entry of a crashed predecessor can outlive it
    join_timeout: float = 30.0
    log: str = ""  # the node's stdout/stderr on its host

    @property
    def expiry_wait(self) -> float:
        """How long an entry of a previous session is waited for to go."""
        return self.session_timeout + EXPIRY_GRACE_SECONDS

    def describe(self) -> list[str]:
        entry = f"{paths.service_cache_list(self.service_code)}/{self.endpoint}-<hostname>"
        return super().describe() + [
            f"    first, while {entry} of a previous session remains, wait for it to expire "
            f"(at most {self.expiry_wait:g}s)",
            f"    then wait until {entry} exists (at most {self.join_timeout:g}s)",
        ]


@dataclass(frozen=True)
class WaitForQuorum:
    members: tuple[str, ...]  # host:client_port
    timeout: float = 60.0

    def describe(self) -> list[str]:
        return [f"poll `srvr` on {', '.join(self.members)} until one leader and the rest followers "
                f"(or one standalone), at most {self.timeout:g}s"]


@dataclass(frozen=True)
class EnsembleMembership:
    """Before zoo.cfg is written: every running member must have been started with the
    file's member list (`deploy/membership_check.py`)."""

    members: tuple[str, ...]  # ip:client port
    expected: tuple[tuple[int, str], ...]  # (myid, ip:quorum:election)

    def describe(self) -> list[str]:
        return [f"ask each running member of {', '.join(self.members)} for its membership (`conf`): "
                f"refuse unless it is {describe_membership(dict(self.expected))}"]


@dataclass(frozen=True)
class InitRegistry:
    def describe(self) -> list[str]:
        return ["unless /arcus exists, in one transaction:"] + [f"    create {path}" for path in paths.init_paths()]


@dataclass(frozen=True)
class RegisterService:
    """ARCUS register: the node mappings are derived from the cluster JSON, as arcus.sh does."""

    service_code: str
    cluster_json: dict  # the ARCUS cluster JSON (serviceCode, servers, config)

    def describe(self) -> list[str]:
        svc = self.service_code
        lines = [
            "in one transaction (ARCUS register; nothing is written if it is already registered as below):",
            f"    create or set {paths.service_cache_list(svc)} = the cluster JSON + created/modified times (created kept)",
            f"    create {paths.service_client_list(svc)} unless present",
            "    delete this service's mappings that are not listed below",
        ]
        for node in nodes_from_cluster_json(self.cluster_json):
            config = json.dumps(dict(node.config), separators=(",", ":"))
            lines.append(f"    create {paths.mapping(node.key)} = {config}")
            lines.append(f"    create {paths.mapping_service(node.key, svc)}")
        return lines


@dataclass(frozen=True)
class WaitForNodesOnline:
    service_code: str
    endpoints: tuple[str, ...]
    timeout: float = 60.0

    def describe(self) -> list[str]:
        return [f"watch {paths.service_cache_list(self.service_code)} until {len(self.endpoints)} node(s) are online: "
                f"{', '.join(self.endpoints)} (at most {self.timeout:g}s)"]


@dataclass(frozen=True)
class NodesServe:
    """A rolling restart's check after a batch: every node of it is back in cache_list/<svc>
    and answers `stats`. ``logs`` (one per endpoint) are named when a node does not come back."""

    service_code: str
    endpoints: tuple[str, ...]
    timeout: float = 60.0
    logs: tuple[str, ...] = ()

    def describe(self) -> list[str]:
        return [f"wait until {', '.join(self.endpoints)} are in {paths.service_cache_list(self.service_code)} "
                f"and answer `stats` (at most {self.timeout:g}s)"]


@dataclass(frozen=True)
class UnregisterService:
    service_code: str

    def describe(self) -> list[str]:
        svc = self.service_code
        return [
            "in one transaction (refused while nodes are still online):",
            f"    delete {paths.service_cache_list(svc)}, {paths.service_client_list(svc)} "
            f"and every {paths.mapping_service('<ip:port>', svc)}",
        ]


Action = Union[MakeKey, CopyKey, VerifyLogin, Upload, WriteFile, RunCommand, StartNode, WaitForQuorum, EnsembleMembership,
               InitRegistry, RegisterService, WaitForNodesOnline, UnregisterService]
