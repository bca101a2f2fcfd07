"""`arcus-tui plan FILE`: print every step and, per host, exactly what setup would do."""

from __future__ import annotations

from arcus_tui.deploy.plan import PlanOptions, setup_plan, teardown_plan

from . import EXIT_OK, EXIT_USAGE
from .common import add_cluster_argument, add_key_type_argument, load_or_report


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("plan", help="print what setup (or teardown) would run on each host")
    add_cluster_argument(parser)
    parser.add_argument("--teardown", action="store_true", help="the way back: stop, unregister, stop ZooKeeper")
    add_key_type_argument(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    cluster = load_or_report(args.cluster_file)
    if cluster is None:
        return EXIT_USAGE
    plan = teardown_plan(cluster) if args.teardown else setup_plan(cluster, PlanOptions(key_type=args.key_type))
    for line in plan.describe():
        print(line)
    return EXIT_OK
