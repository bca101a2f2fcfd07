"""`arcus-tui exec FILE -- COMMAND`: run an ad-hoc command on every host of a cluster at once.

Like ARCUS's `arcus_cmd.py -x`, but concurrent and with host keys checked. Each line
of output is printed as it arrives, prefixed by its host (stderr lines go to stderr);
a summary gives every host's exit status. The exit code is non-zero if any host failed.

One argument after `--` is a shell command line as typed (`-- 'ps aux | grep memcached'`);
several are quoted word by word (`-- ls -l '/my dir'` runs `ls -l '/my dir'`).
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
from pathlib import Path
from typing import Optional, TextIO

from arcus_tui.events import HostState, ProgressEvent, Stream

from . import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from .common import add_cluster_argument, load_or_report
from .console import add_host_key_options, host_key_asker_for

EXIT_INTERRUPTED = 130


def _add_options(parser) -> None:
    parser.add_argument("--host", action="append", dest="hosts", metavar="NAME",
                        help="only this host (repeatable)")
    parser.add_argument("--timeout", type=float, default=600.0, metavar="SECONDS",
                        help="per-host command timeout (default 600)")
    parser.add_argument("--connect-timeout", type=float, default=15.0, metavar="SECONDS",
                        help="per-host connection timeout (default 15)")
    add_host_key_options(parser)
    parser.add_argument("--ssh-dir", metavar="DIR",
                        help="use DIR instead of ~/.ssh for keys, known_hosts and config")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "exec",
        help="run a command on every host at once",
        usage="arcus-tui exec FILE [options] -- COMMAND",
        description="Run COMMAND on every host of the cluster at once over SSH; output is prefixed by host.",
    )
    add_cluster_argument(parser)
    _add_options(parser)
    parser.add_argument("rest", nargs=argparse.REMAINDER, metavar="-- COMMAND",
                        help="the command (one word: a shell command line; several: quoted word by word)")
    parser.set_defaults(run=run)


def split_rest(args) -> Optional[list[str]]:
    """Options given after FILE are parsed here (argparse stops at the first positional):
    `exec FILE --host a -- uptime`. Returns the command words, or None when misused."""
    rest = list(args.rest)
    if "--" in rest:
        index = rest.index("--")
        options, words = rest[:index], rest[index + 1:]
    else:
        options, words = [], rest
        if words and words[0].startswith("-"):
            return None
    if options:
        extra = argparse.ArgumentParser(prog="arcus-tui exec", add_help=False)
        _add_options(extra)
        extra.parse_args(options, namespace=args)
    return words


def command_line(words: list[str]) -> Optional[str]:
    """The remote command from the words after `--` (one word: as typed; several: quoted)."""
    if not words:
        return None
    if len(words) == 1:
        return words[0]
    return " ".join(shlex.quote(word) for word in words)


class _Printer:
    """Prints each event's line prefixed by its host, padded so the output lines up."""

    def __init__(self, names: list[str], out: TextIO, err: TextIO):
        self.width = max((len(name) for name in names), default=0)
        self.out = out
        self.err = err

    def __call__(self, event: ProgressEvent) -> None:
        if not event.is_line or not event.text:
            return
        stream = self.err if event.stream is Stream.STDERR else self.out
        prefix = f"{event.host:<{self.width}}"
        if event.stream is Stream.INFO:
            prefix += " *"
        print(f"{prefix} | {event.text}", file=stream, flush=True)


def run(args, out: TextIO = None, err: TextIO = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    words = split_rest(args)
    command = command_line(words) if words is not None else None
    if command is None:
        print("arcus-tui exec: give the command after --, e.g. arcus-tui exec cluster.toml -- uptime", file=err)
        return EXIT_USAGE
    cluster = load_or_report(args.cluster_file, err)
    if cluster is None:
        return EXIT_USAGE
    from arcus_tui.ssh import targets_for  # the SSH engine is loaded only for verbs that use it

    targets = targets_for(cluster)
    if args.hosts:
        known = {target.name for target in targets}
        unknown = [name for name in args.hosts if name not in known]
        if unknown:
            print(f"arcus-tui exec: no host named {', '.join(unknown)} in {args.cluster_file}", file=err)
            return EXIT_USAGE
        targets = [target for target in targets if target.name in args.hosts]
    try:
        return asyncio.run(_exec(args, targets, command, out, err))
    except KeyboardInterrupt:
        print("interrupted", file=err)
        return EXIT_INTERRUPTED


async def _exec(args, targets, command: str, out: TextIO, err: TextIO) -> int:
    from arcus_tui.ssh import Limits, SshPaths, SshSession

    paths = SshPaths.under(Path(args.ssh_dir).expanduser()) if args.ssh_dir else SshPaths()
    printer = _Printer([target.name for target in targets], out, err)
    ask = host_key_asker_for(args)
    limits = Limits(connect_timeout=args.connect_timeout, command_timeout=args.timeout)
    async with SshSession(targets, paths=paths, limits=limits, on_unknown_host_key=ask, sink=printer) as ssh:
        result = await ssh.run(command, step="exec")

    width = printer.width
    print("--", file=out)
    for name, host in result.items():
        if host.state is HostState.OK:
            status = f"ok      exit {host.exit_status}"
        elif host.exit_status is not None:
            status = f"FAILED  exit {host.exit_status}"
        else:
            status = f"FAILED  {host.error}"
        print(f"{name:<{width}}  {status}  ({host.duration:.2f} s)", file=out)
    if result.questions and not args.accept_new_host_keys:
        print("Hosts with unknown keys were not contacted. Check their fingerprints, then run again with "
              "--accept-new-host-keys (or answer yes on a terminal).", file=err)
    return EXIT_OK if result.ok else EXIT_FAILED
