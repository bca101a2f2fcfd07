"""`arcus-tui restart FILE memcached|zookeeper --rolling`: restart a live cloud without
taking it down, as a plan the deploy runner executes (`deploy/rolling.py`).

Only rolling restarts exist: a restart of every node at once drops the whole cache (and
of every ZooKeeper member, every node's session), which `stop` then `start` already
spell out. So `--rolling` is required, to keep that choice explicit on the command line.
"""

from __future__ import annotations

import asyncio
import sys

from arcus_tui.deploy.plan import PlanOptions
from arcus_tui.deploy.rolling import RollingRefused, live_memcached_rolling_plan, order_lines, zookeeper_rolling_plan

from . import EXIT_USAGE
from .common import add_batch_option, load_or_report
from .console import confirm, print_effects
from .deploy import common_options, execute, runner_options

ROLES = ("memcached", "zookeeper")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "restart", help="rolling restart of memcached (a node at a time, each back in cache_list and "
                        "answering stats before the next) or of ZooKeeper (followers first, leader last)")
    common_options(parser)
    parser.add_argument("role", choices=ROLES)
    parser.add_argument("--rolling", action="store_true",
                        help="required: restart one batch at a time and stop at the first that does not come back")
    add_batch_option(parser, "memcached: nodes restarted together (default 1); with --by-host, hosts")
    parser.add_argument("--by-host", action="store_true", help="memcached: a host's nodes go down together")
    parser.add_argument("--node", action="append", metavar="IP:PORT",
                        help="memcached: only this node (repeatable); the order stays the cluster file's")
    parser.set_defaults(run=run_restart)



def _refusal(args) -> str:
    """Why the arguments do not make a rolling restart, or ''."""
    if not args.rolling:
        return (f"restart restarts one batch at a time only: pass --rolling (a restart of every "
                f"{'node' if args.role == 'memcached' else 'member'} at once is `stop` then `start`, "
                "and drops the whole cloud)")
    if args.role == "zookeeper" and (args.node or args.by_host or args.batch != 1):
        return "--node, --batch and --by-host are for memcached: ZooKeeper members restart one at a time"
    return ""


def run_restart(args) -> int:
    refusal = _refusal(args)
    if refusal:
        print(refusal, file=sys.stderr)
        return EXIT_USAGE
    cluster = load_or_report(args.cluster_file)
    if cluster is None:
        return EXIT_USAGE
    options = PlanOptions(quorum_timeout=args.timeout, online_timeout=args.timeout)
    try:
        if args.role == "memcached":
            plan, down = asyncio.run(live_memcached_rolling_plan(
                cluster, batch=args.batch, by_host=args.by_host, nodes=args.node, options=options))
            if down:
                print(f"out of cache_list now, so restarted first: {', '.join(sorted(down))}")
        else:
            plan = asyncio.run(zookeeper_rolling_plan(cluster, options))
    except RollingRefused as error:
        print(f"not restarting: {error}", file=sys.stderr)
        return EXIT_USAGE
    print_effects(f"Rolling restart of {args.role} for service code {cluster.service_code}, in this order "
                  "(each step waits for the one before; the first that fails stops the run):", order_lines(plan))
    if not args.yes and not confirm("Restart in this order? [y/N]"):
        print("not confirmed (pass --yes)", file=sys.stderr)
        return EXIT_USAGE
    return execute(cluster, plan, runner_options(args), f"restart-{args.role}")
