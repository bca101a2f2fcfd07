"""`arcus-tui config FILE [--yes] [--node IP:PORT ...]`: bring running nodes to the file's
memlimit and connections without a restart, and the ZooKeeper mappings with them.

Reads every node's `stats settings`, prints what differs from the file (and what registering
the file would change in ZooKeeper), asks, then sends `config memlimit` / `config maxconns`,
re-registers the file's cluster JSON and reads the settings back. `threads` and anything else
the daemon reads only at start is reported as needing a restart. --read-only shows and stops.
"""

from __future__ import annotations

import asyncio
import json
import sys

from arcus_tui.deploy.live_config import DEFAULT_TIMEOUT, LiveConfigPlan, apply_plan, read_plan

from . import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from .console import EventPrinter, confirm, interactive
from .node_choice import add_node_verb_options, read_chosen_nodes


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("config", help="apply the file's memlimit and connections to running nodes (live)",
                                   description=__doc__.split("\n\n")[0])
    add_node_verb_options(parser, DEFAULT_TIMEOUT, "seconds per node and ZooKeeper call")
    parser.add_argument("--yes", action="store_true", help="apply without asking")
    parser.add_argument("--read-only", action="store_true", help="show the differences, change nothing")
    parser.set_defaults(run=run)


def _question(plan: LiveConfigPlan) -> str:
    nodes = len({d.endpoint for d in plan.live})
    parts = [f"{len(plan.live)} live change(s) on {nodes} node(s)"] if plan.live else []
    if plan.mapping_changes:
        parts.append(f"re-register {plan.service_code} in ZooKeeper")
    return f"Apply {' and '.join(parts)}? [y/N]"


def _settled(plan: LiveConfigPlan) -> int:
    """Exit status when nothing is applied: 0 only when every node was read and matches."""
    return EXIT_OK if not (plan.differences or plan.unreadable or plan.registry_blocked) else EXIT_FAILED


def run(args) -> int:
    read = read_chosen_nodes(args, read_plan)
    if read is None:
        return EXIT_USAGE
    cluster, plan = read
    out = sys.stderr if args.json else sys.stdout
    for line in plan.describe(args.cluster_file):
        print(line, file=out)
    if not plan.needs_action or args.read_only:
        if args.read_only and plan.needs_action:
            print("read-only: nothing changed", file=out)
        if args.json:
            print(json.dumps({"plan": plan.to_json(), "result": None}, indent=2))
        return _settled(plan) if not plan.needs_action else EXIT_FAILED
    if not args.yes:
        if not interactive():
            print("not applied: no terminal to ask; pass --yes to apply", file=sys.stderr)
            return EXIT_FAILED
        if not confirm(_question(plan)):
            print("not applied", file=sys.stderr)
            return EXIT_FAILED
    result = asyncio.run(apply_plan(cluster, plan, EventPrinter(out), timeout=args.timeout))
    if args.json:
        print(json.dumps({"plan": plan.to_json(), "result": result.to_json()}, indent=2))
    if plan.restart:
        print(f"still needs a restart: {', '.join(sorted({d.endpoint for d in plan.restart}))}", file=out)
    done = result.ok and not plan.restart and not plan.unreadable
    print("live configuration " + ("applied and verified" if done else "not complete"), file=out)
    return EXIT_OK if done else EXIT_FAILED
