"""`arcus-tui sandbox up|down|password|destroy`: practice hosts on loopback, to try the whole setup safely."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

from arcus_tui.model.toml_writer import dump_cluster
from arcus_tui.package import PackageBuildError, build_log_path, cache_entry, cached_package, resolve_source
from arcus_tui.sandbox.arcus_source import find_arcus_source, how_to_get_it
from arcus_tui.sandbox.package import PackageError
from arcus_tui.sandbox.password import read_password
from arcus_tui.sandbox.practice_hosts import SandboxError
from arcus_tui.sandbox.sandbox import GATEWAY_DIR, default_state_dir, sandbox_destroy, sandbox_down, sandbox_up
from arcus_tui.sandbox.sshd import SshdError

from . import EXIT_FAILED, EXIT_OK, EXIT_USAGE

HEADER = "# Practice hosts made by `arcus-tui sandbox up`: loopback addresses of this machine.\n"
"""The first line of every cluster file `sandbox up` writes: it may rewrite such a file, no other."""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("sandbox", help="practice hosts on this machine (loopback only)")
    actions = parser.add_subparsers(dest="sandbox_action", required=True, metavar="up|down|password|destroy")
    up = actions.add_parser("up", help="start practice hosts and write a cluster file for them")
    up.add_argument("--hosts", type=int, default=3, help="how many practice hosts (default 3, the co-located layout of ARCUS's deployment guide)")
    up.add_argument("--show-password", action="store_true",
                    help="also print the practice logins' password (random for each sandbox; "
                         "`arcus-tui sandbox password` prints it any time)")
    up.add_argument("--fresh", action="store_true",
                    help="stop everything and remove what earlier setups left on the practice hosts first")
    up.add_argument("--arcus-source", type=Path, metavar="SRC",
                    help="arcus-memcached source (a clone of naver/arcus-memcached or its .tar.gz) to build, once, "
                         "into the package the practice hosts run (default: $ARCUS_MEMCACHED_SOURCE or the shared folder)")
    up.add_argument("--standin", action="store_true",
                    help="no source to be had: run a STAND-IN (stock memcached + the ZooKeeper join), not ARCUS")
    up.add_argument("--setup", action="store_true",
                    help="then run the whole setup on the practice hosts, with the sandbox's own gateway key")
    up.add_argument("-o", "--output", default="sandbox.toml",
                    help="cluster file to write (default sandbox.toml); only one `sandbox up` wrote is replaced")
    up.add_argument("--force", action="store_true", help="replace --output even if `sandbox up` did not write it")
    down = actions.add_parser("down", help="stop every process the sandbox or a deploy on it started")
    password = actions.add_parser("password", help="print the practice logins' password (random, one per sandbox)")
    destroy = actions.add_parser("destroy", help="stop everything, then remove the practice logins, their homes, "
                                                 "the system sshd drop-in and the sandbox's files")
    for sub in (up, down, password, destroy):
        sub.add_argument("--state-dir", type=Path, default=None, help="where the sandbox keeps its state")
    parser.set_defaults(run=run)


def run(args) -> int:
    state_dir = args.state_dir or default_state_dir()
    try:
        if args.sandbox_action == "down":
            return _report(sandbox_down(state_dir), "nothing was running")
        if args.sandbox_action == "destroy":
            return _report(sandbox_destroy(state_dir), "nothing to remove: no practice login, no sandbox state")
        if args.sandbox_action == "password":
            return _print_password(state_dir)
        return _up(args, state_dir)
    except (SandboxError, PackageError, PackageBuildError, SshdError) as error:
        print(f"sandbox: {error}", file=sys.stderr)
        return EXIT_FAILED


def _report(lines: list[str], otherwise: str) -> int:
    for line in lines or [otherwise]:
        print(line)
    return EXIT_OK


def _print_password(state_dir: Path) -> int:
    password = read_password(state_dir)
    if password is None:
        print(f"sandbox: no practice password in {state_dir}: run `arcus-tui sandbox up` first", file=sys.stderr)
        return EXIT_FAILED
    print(password)
    return EXIT_OK


def _output_refusal(output: Path, force: bool) -> Optional[str]:
    """Why `output` must not be written: a directory, or (without --force) a file, or a link,
    that `sandbox up` did not write (its first line is HEADER). None when it may be."""
    if output.is_dir():
        return f"{output} is a directory; name a file with -o"
    if force or not (output.exists() or output.is_symlink()):
        return None
    try:
        with output.open(encoding="utf-8") as handle:
            first_line = handle.readline()
    except (OSError, UnicodeDecodeError):
        first_line = ""
    if first_line == HEADER:
        return None
    return (f"{output} exists and was not written by `arcus-tui sandbox up`; name another file with -o, "
            "or add --force to replace it")


def _up(args, state_dir: Path) -> int:
    output = Path(args.output)
    refusal = _output_refusal(output, args.force)  # before anything is built or started
    if refusal:
        print(f"sandbox: {refusal}", file=sys.stderr)
        return EXIT_USAGE
    package = None if args.standin else _arcus_package(args.arcus_source)
    result = sandbox_up(args.hosts, None, state_dir, fresh=args.fresh, package=package)
    for note in result.notes:
        print(f"note: {note}")
    output.write_text(
        HEADER + (STANDIN_NOTE if result.standin else HEARTBEAT_NOTE) + "\n" + dump_cluster(result.cluster),
        encoding="utf-8",
    )
    print(f"{len(result.hosts)} practice host(s) are up:")
    for host in result.hosts:
        print(f"  {host.name:16} {host.address}:2222  login {host.user}  "
              f"host key {host.host_key_fingerprint}")
    if result.standin:
        print(f"practice package with a STAND-IN memcached (not ARCUS): {result.cluster.package}")
    else:
        print(f"ARCUS package (arcus-memcached built from source): {result.cluster.package}")
    password = read_password(state_dir)
    if args.show_password:
        print(f"password of the practice logins: {password}")
    else:
        print(f"password of the practice logins: random, kept in {result.password_file} "
              "(`arcus-tui sandbox password` prints it)")
    if args.setup:
        code = _setup(result, password, state_dir)
        if code != EXIT_OK:
            return code
    print(f"cluster file: {output}")
    gateway = f" --ssh-dir {state_dir / GATEWAY_DIR}" if args.setup else ""
    where = f" --state-dir {args.state_dir}" if args.state_dir else ""
    steps = [  # never the password itself: these lines end up in scrollback, notes and tickets
        (f"arcus-tui {output}{gateway}", "the host grid, the guided setup, the registry, the monitor"),
        (f"arcus-tui setup {output}{gateway} --password-file {result.password_file}", "the whole setup headless"),
        (f"arcus-tui sandbox password{where}", "the practice logins' password, when the app asks for it"),
        (f"arcus-tui sandbox down{where}", "stop everything the sandbox and its deploys started"),
        (f"arcus-tui sandbox destroy{where}", "...and remove the practice logins and their homes"),
    ]
    width = max(len(command) for command, _ in steps)
    print("next:")
    for command, what in steps:
        print(f"  {command:{width}}  # {what}")
    return EXIT_OK


STANDIN_NOTE = ("# bin/memcached in the practice package is a STAND-IN for arcus-memcached "
                "(stock memcached + the ZooKeeper join): not ARCUS.\n")
HEARTBEAT_NOTE = (
    "# The package runs the real arcus-memcached. Its heartbeat always connects to 127.0.0.1, so with\n"
    "# each node bound to its practice host's address it logs `mc_hb: cannot connect to local memcached`\n"
    "# every few seconds and keeps running: expected here. Never bind nodes away from 127.0.0.1 on real servers.\n")


def _arcus_package(explicit: Optional[Path]) -> Path:
    """The real ARCUS package: built from the source once, then reused from the package cache."""
    from .package import StageLines

    source = find_arcus_source(explicit)
    if source is None:
        raise SandboxError(how_to_get_it())
    entry = cache_entry(resolve_source(source))
    print(f"ARCUS package from {source} (built once into {entry}, then reused)")
    return cached_package(source, sink=StageLines(build_log_path(entry)))


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
    return execute(result.cluster, setup_plan(result.cluster), options, "setup")
