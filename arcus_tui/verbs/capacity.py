"""`arcus-tui capacity FILE [--json]`: memory and connections in use against their limits,
per node, per host and in total (like arcus_cmd.py -i), from each node's `stats`."""

from __future__ import annotations

import json

from arcus_tui.monitor.capacity import CapacityReport, GroupCapacity, NodeCapacity, collect_capacity
from arcus_tui.monitor.memcached_stats import DEFAULT_TIMEOUT, human_bytes
from arcus_tui.text import printable

from . import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from .node_choice import add_node_verb_options, read_chosen_nodes


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("capacity", help="memory and connections used / limit, per node, host and total",
                                   description=__doc__.split("\n\n")[0])
    add_node_verb_options(parser, DEFAULT_TIMEOUT)
    parser.set_defaults(run=run)


def node_line(node: NodeCapacity) -> str:
    if not node.read:
        return f"  {node.endpoint:24} not read: {printable(node.problem)}"
    return f"  {node.endpoint:24} {node.memory.describe(human_bytes):28} {node.connections.describe()}"


def group_line(group: GroupCapacity, label: str) -> str:
    read = f"{group.read}/{group.nodes} read"
    return f"  {label:24} {group.memory.describe(human_bytes):28} {group.connections.describe():22} {read}"


def print_report(report: CapacityReport) -> None:
    print(f"  {'NODE':24} {'MEMORY USED / LIMIT':28} {'CONNECTIONS USED / LIMIT':22}")
    for host in report.hosts:
        print(f"{printable(host.name)}")
        for node in report.nodes:
            if node.host == host.name:
                print(node_line(node))
        print(group_line(host, "host total"))
    print(group_line(report.total, "TOTAL"))


def run(args) -> int:
    read = read_chosen_nodes(args, collect_capacity)
    if read is None:
        return EXIT_USAGE
    _, report = read
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print_report(report)
    return EXIT_OK if report.total.read == report.total.nodes else EXIT_FAILED
