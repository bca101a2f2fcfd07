"""`arcus-tui sandbox up|down`: practice hosts on loopback, to try the whole setup safely."""

from __future__ import annotations

import sys
from pathlib import Path

from arcus_tui.model.toml_writer import dump_cluster
from arcus_tui.sandbox.package import PackageError
from arcus_tui.sandbox.practice_hosts import SandboxError
from arcus_tui.sandbox.sandbox import default_state_dir, sandbox_down, sandbox_up
from arcus_tui.sandbox.sshd import SshdError

from . import EXIT_FAILED, EXIT_OK

DEFAULT_PASSWORD = "arcus"
GATEWAY_DIR = "gateway-ssh"  # the sandbox's own ~/.ssh for --setup: the operator's is not touched


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("sandbox", help="practice hosts on this machine (loopback only)")
    actions = parser.add_subparsers(dest="sandbox_action", required=True, metavar="up|down")
    up = actions.add_parser("up", help="start practice hosts and write a cluster file for them")
    up.add_argument("--hosts", type=int, default=3, help="how many practice hosts (default 3, like the guide)")
    up.add_argument("--password", default=DEFAULT_PASSWORD,
                    help=f"password of the practice logins (default {DEFAULT_PASSWORD!r}; loopback only)")
    up.add_argument("--fresh", action="store_true",
                    help="stop everything and remove what earlier setups left on the practice hosts first")
    up.add_argument("--setup", action="store_true",
                    help="then run the whole setup on the practice hosts, with the sandbox's own gateway key")
    up.add_argument("-o", "--output", default="sandbox.toml", help="cluster file to write (default sandbox.toml)")
    down = actions.add_parser("down", help="stop every process the sandbox or a deploy on it started")
    for sub in (up, down):
        sub.add_argument("--state-dir", type=Path, default=None, help="where the sandbox keeps its state")
    parser.set_defaults(run=run)


def run(args) -> int:
    state_dir = args.state_dir or default_state_dir()
    try:
        if args.sandbox_action == "down":
            for line in sandbox_down(state_dir) or ["nothing was running"]:
                print(line)
            return EXIT_OK
        return _up(args, state_dir)
    except (SandboxError, PackageError, SshdError) as error:
        print(f"sandbox: {error}", file=sys.stderr)
        return EXIT_FAILED


def _up(args, state_dir: Path) -> int:
    result = sandbox_up(args.hosts, args.password, state_dir, fresh=args.fresh)
    output = Path(args.output)
    output.write_text(
        "# Practice hosts made by `arcus-tui sandbox up`: loopback addresses of this machine.\n"
        "# bin/memcached in the practice package is a STAND-IN for arcus-memcached.\n\n"
        + dump_cluster(result.cluster),
        encoding="utf-8",
    )
    print(f"{len(result.hosts)} practice host(s) are up:")
    for host in result.hosts:
        print(f"  {host.name:16} {host.address}:2222  login {host.user}  "
              f"host key {host.host_key_fingerprint}")
    print(f"practice package (with a stand-in memcached): {result.cluster.package}")
    if args.setup:
        code = _setup(result, args.password, state_dir)
        if code != EXIT_OK:
            return code
    print(f"cluster file: {output}")
    gateway = f" --ssh-dir {state_dir / GATEWAY_DIR}" if args.setup else ""
    steps = [
        (f"arcus-tui {output}{gateway}", "the host grid, the guided setup, the registry, the monitor"),
        (f"arcus-tui setup {output}{gateway}", f"the whole setup headless (password: {args.password!r})"),
        ("arcus-tui sandbox down", "stop everything the sandbox and its deploys started"),
    ]
    width = max(len(command) for command, _ in steps)
    print("next:")
    for command, what in steps:
        print(f"  {command:{width}}  # {what}")
    return EXIT_OK


def _setup(result, password: str, state_dir: Path) -> int:
    """The whole setup on the practice hosts. Their host keys were made by this sandbox,
    so it trusts exactly those fingerprints, in its own gateway directory."""
    from arcus_tui.deploy.plan import setup_plan
    from arcus_tui.deploy.runner import RunnerOptions
    from arcus_tui.ssh.connect import Password
    from arcus_tui.ssh.paths import SshPaths

    from .console import host_key_asker
    from .deploy import execute

    gateway = state_dir / GATEWAY_DIR
    gateway.mkdir(mode=0o700, exist_ok=True)
    fingerprints = tuple(host.host_key_fingerprint for host in result.hosts)

    async def ask_password():
        return Password(password)

    options = RunnerOptions(ssh_paths=SshPaths.under(gateway), on_unknown_host_key=host_key_asker(fingerprints),
                            ask_password=ask_password)
    print(f"setting up {result.cluster.service_code} on the practice hosts (gateway key in {gateway})")
    return execute(result.cluster, setup_plan(result.cluster), options)
