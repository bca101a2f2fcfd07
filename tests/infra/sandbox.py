"""The practice sandbox as a test target: four practice hosts on 127.0.1.1-4:2222 (real
OpenSSH, one login each), the real ARCUS package (arcus-memcached built from source by the
`arcus_package` fixture, with Debian's ZooKeeper bundled), and a private gateway ~/.ssh. The
cluster file names the first three, as in the guide's diagram; the fourth is the spare a
live cloud grows onto. Started once per session with `sandbox up --fresh` and stopped with
`sandbox down`, which stops by pidfiles."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from tests.infra.require import missing, require_executable

PASSWORD = secrets.token_hex(12)
"""The practice logins are real accounts that outlive the session: their password is random for
each session (hex, so that the UI test can type it key by key), never one written in the repository."""


@dataclass(frozen=True)
class Sandbox:
    state_dir: Path
    cluster_file: Path
    ssh_dir: Path
    password_file: Path
    fingerprints: tuple[str, ...]
    cluster: "object"  # arcus_tui.model.Cluster: the first three practice hosts, six nodes
    grown_cluster: "object"  # the same plus the spare fourth host (two more nodes), to grow onto

    def cli_access(self, *, trust: bool = True) -> list[str]:
        """The command-line options that point a verb at this sandbox's gateway files."""
        options = ["--ssh-dir", str(self.ssh_dir)]
        for fingerprint in self.fingerprints if trust else ():
            options += ["--trust-host-key", fingerprint]
        return options


@pytest.fixture(scope="session")
def practice_sandbox(tmp_path_factory, arcus_package) -> Iterator[Sandbox]:
    from arcus_tui.localhost import listening
    from arcus_tui.sandbox.practice_hosts import SSH_PORT
    from arcus_tui.sandbox.sandbox import exclusive_use, sandbox_down, sandbox_up

    if os.geteuid() != 0:
        missing("the practice sandbox needs root (a login per practice host)")
    require_executable("sshd", "/usr/sbin/sshd")
    require_executable("java", "/usr/bin/java")  # the bundled ZooKeeper server runs on the host's Java
    state_dir = tmp_path_factory.mktemp("sandbox-state")
    with exclusive_use():  # a benchmark or another test session may hold the practice hosts
        up = sandbox_up(4, PASSWORD, state_dir, fresh=True, package=arcus_package)
        try:
            yield _gateway_for(up, state_dir, tmp_path_factory.mktemp("gateway-ssh"))
        finally:
            report = sandbox_down(state_dir)
            still = [host.address for host in up.hosts if listening(host.address, SSH_PORT)]
            assert not still, f"sandbox down left sshd listening on {still}: {report}"


def _gateway_for(up, state_dir: Path, ssh_dir: Path) -> Sandbox:
    """A private gateway ~/.ssh, the sandbox's password file and the cluster file for the practice hosts."""

    from arcus_tui.model import load_cluster
    from arcus_tui.model.toml_writer import dump_cluster

    ssh_dir.chmod(0o700)
    password_file = up.password_file  # the one `sandbox up` keeps (0600), as `setup --password-file` reads it
    assert password_file.read_text() == PASSWORD + "\n"
    from arcus_tui.sandbox.sandbox import sandbox_cluster

    cluster_file = state_dir / "sandbox.toml"
    cluster_file.write_text(dump_cluster(sandbox_cluster(up.hosts[:3], Path(up.cluster.package))))
    fingerprints = tuple(host.host_key_fingerprint for host in up.hosts)
    return Sandbox(state_dir, cluster_file, ssh_dir, password_file, fingerprints, load_cluster(cluster_file),
                   up.cluster)
