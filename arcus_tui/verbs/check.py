"""`arcus-tui check FILE`: validate a cluster file, one `FILE:LINE: message` per problem."""

from __future__ import annotations

from . import EXIT_OK, EXIT_USAGE
from .common import add_cluster_argument, check_with_package, report_problems


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("check", help="validate a cluster file")
    add_cluster_argument(parser)
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing when the file is fine")
    parser.set_defaults(run=run)


def run(args) -> int:
    result = check_with_package(args.cluster_file)
    report_problems(result)
    if not result.ok:
        return EXIT_USAGE
    if not args.quiet:
        cluster = result.cluster
        nodes = sum(len(host.memcached) for host in cluster.hosts)
        members = len(cluster.ensemble)
        kind = "existing ensemble" if cluster.zookeeper.external else "ensemble"
        print(f"{args.cluster_file}: ok: service code {cluster.service_code}, {len(cluster.hosts)} host(s), "
              f"{nodes} memcached node(s), {kind} of {members}")
    return EXIT_OK
