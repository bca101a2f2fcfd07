"""`arcus-tui mc FILE [--node IP:PORT ...] -- "stats detail dump"`: one admin command on
every memcached node of the cluster (or the named ones), each node's reply, and a summary.

Only commands known to read are sent (`monitor.admin.is_read_only_command`); any other
needs --allow-writes, and --read-only refuses it whatever else is given. A command is one
line: a newline or another control character in it is refused.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Optional, Sequence

from arcus_tui.monitor.admin import (DEFAULT_TIMEOUT, AdminReply, command_problem, counts, is_read_only_command,
                                     reply_state, run_on_nodes, summary_line)
from arcus_tui.text import printable, printable_lines

from . import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from .node_choice import add_node_verb_options, chosen_nodes

READ_ONLY_EXAMPLES = ("stats [settings|items|slabs|prefixes|zookeeper|...], stats detail dump, version, help, "
                      "config NAME (without a value), cmdlog stats, lqdetect show|stats, zkensemble get")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("mc", help="run one memcached admin command on every node (stats, config, ...)",
                                   description=__doc__.split("\n\n")[0])
    add_node_verb_options(parser, DEFAULT_TIMEOUT)
    parser.add_argument("--allow-writes", action="store_true",
                        help="also send commands that are not known to only read (flush_all, config NAME VALUE, ...)")
    parser.add_argument("--read-only", action="store_true", help="refuse every command that is not known to only read")
    parser.add_argument("command", nargs="+", metavar="COMMAND", help='the command line, e.g. -- "stats settings"')
    parser.set_defaults(run=run)


def refusal(line: str, *, allow_writes: bool, read_only: bool) -> Optional[str]:
    """Why the verb will not send `line`; None when it will."""
    problem = command_problem(line)
    if problem:
        return problem
    if is_read_only_command(line):
        return None
    if read_only:
        return f"refused: {line.split()[0]!r} ... is not known to only read, and --read-only sends only reads"
    if not allow_writes:
        return (f"refused: {line.split()[0]!r} ... is not known to only read (reads: {READ_ONLY_EXAMPLES}); "
                "pass --allow-writes to send it")
    return None


def print_replies(replies: Sequence[AdminReply]) -> None:
    for reply in replies:
        print(f"[{printable(reply.endpoint)}] {reply_state(reply)}" + (f": {printable(reply.problem)}" if reply.problem else ""))
        for line in reply.lines:
            for shown in printable_lines(line):  # node text never drives the terminal
                print(f"  {shown}")


def run(args) -> int:
    line = " ".join(args.command).strip()
    why = refusal(line, allow_writes=args.allow_writes, read_only=args.read_only)
    if why:
        print(printable(why), file=sys.stderr)
        return EXIT_USAGE
    chosen = chosen_nodes(args)
    if chosen is None:
        return EXIT_USAGE
    _, endpoints = chosen
    replies = list(asyncio.run(run_on_nodes(endpoints, line, timeout=args.timeout)).values())
    if args.json:
        ok, failed, refused = counts(replies)
        print(json.dumps({"command": line, "nodes": [r.to_json() for r in replies],
                          "summary": {"ok": ok, "failed": failed, "refused": refused}}, indent=2))
    else:
        print_replies(replies)
        print(summary_line(replies))
    return EXIT_OK if all(r.ok for r in replies) else EXIT_FAILED
