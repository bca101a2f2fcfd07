"""What the verbs that talk to memcached nodes directly (`mc`, `config`, `capacity`) share:
the file, `--node` to narrow it, `--json` and a per-node timeout."""

from __future__ import annotations

import asyncio
import sys
from typing import Awaitable, Callable, Optional, Sequence, TypeVar

from arcus_tui.model import Cluster
from arcus_tui.text import printable

from .common import add_cluster_argument, load_or_report

T = TypeVar("T")


def add_node_verb_options(parser, timeout: float, timeout_help: str = "seconds per node") -> None:
    add_cluster_argument(parser)
    parser.add_argument("--node", action="append", default=[], metavar="IP:PORT",
                        help="only this node of the file (repeatable; default every node)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--timeout", type=float, default=timeout, help=f"{timeout_help} (default {timeout:g})")


def selected_endpoints(cluster: Cluster, given: Sequence[str]) -> Optional[list[str]]:
    """The file's nodes, or those `given` (each must be one of them); None after saying why not."""
    endpoints = [node.endpoint for node in cluster.nodes()]
    unknown = [printable(value) for value in given if value not in endpoints]
    if unknown:
        print(f"not a node of {cluster.service_code}: {', '.join(unknown)} "
              f"(its nodes: {', '.join(endpoints) or 'none'})", file=sys.stderr)
        return None
    if not endpoints:
        print(f"{cluster.service_code} has no memcached nodes", file=sys.stderr)
        return None
    return [e for e in endpoints if e in given] if given else endpoints


def chosen_nodes(args) -> Optional[tuple[Cluster, list[str]]]:
    """The cluster and the nodes `--node` chose (all by default); None after saying why not."""
    cluster = load_or_report(args.cluster_file, package=False)
    if cluster is None:
        return None
    endpoints = selected_endpoints(cluster, args.node)
    return None if endpoints is None else (cluster, endpoints)


def read_chosen_nodes(args, read: Callable[..., Awaitable[T]]) -> Optional[tuple[Cluster, T]]:
    """The cluster and what `read(cluster, endpoints, timeout=args.timeout)` gave on the nodes
    `--node` chose; None after saying why there are none to read."""
    chosen = chosen_nodes(args)
    if chosen is None:
        return None
    cluster, endpoints = chosen
    return cluster, asyncio.run(read(cluster, endpoints, timeout=args.timeout))
