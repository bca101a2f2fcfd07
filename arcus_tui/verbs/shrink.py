"""`arcus-tui remove FILE --node IP:PORT | --host NAME`: shrink a live cloud.

The leaving nodes stop, their mappings go in one transaction, and the file is written
without them (`deploy/shrink.py`). The nodes that stay keep serving, untouched.
"""

from __future__ import annotations

import sys

from arcus_tui.deploy.plan import PlanOptions
from arcus_tui.deploy.shrink import shrink
from arcus_tui.model.edit import ClusterDocument, EditError, remove_host, remove_port

from . import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from .console import confirm, print_effects
from .deploy import common_options, runner_options, execute


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "remove", help="shrink a live cloud: stop nodes (or a host's nodes), remove their mappings in one "
                       "transaction and write the file without them (asks you to type the service code)")
    common_options(parser)
    parser.add_argument("--node", action="append", default=[], metavar="IP:PORT", help="a leaving node (repeatable)")
    parser.add_argument("--host", action="append", default=[], metavar="NAME",
                        help="a leaving host: all its memcached nodes (repeatable)")
    parser.add_argument("--keep-file", action="store_true", help="do not rewrite FILE without the nodes")
    parser.set_defaults(run=run_remove)


def _smaller(document: ClusterDocument, args) -> str:
    """Apply the removals to the document; the refusal as text, or '' when they hold."""
    cluster = document.cluster
    nodes = {node.endpoint: node for node in cluster.nodes()}
    unknown = [endpoint for endpoint in args.node if endpoint not in nodes]
    unknown += [f"host {name}" for name in args.host if name not in {host.name for host in cluster.hosts}]
    if unknown:
        return f"not in {args.cluster_file}: {', '.join(unknown)}"
    members = [name for name in args.host if cluster.host(name).zookeeper]
    if members:
        return (f"{', '.join(members)} run(s) a ZooKeeper member: removing it changes the ensemble, which "
                "arcus-tui does not do on a running cloud. Remove its memcached nodes with --node instead")
    try:
        for name in args.host:
            document.apply(remove_host, name)
        for endpoint in args.node:
            node = nodes[endpoint]
            if any(host.name == node.host.name for host in document.cluster.hosts):
                document.apply(remove_port, node.host.name, node.port)
    except EditError as error:
        return str(error)
    if not any(True for _ in document.cluster.nodes()):
        return "that removes every node: use `arcus-tui unregister --stop-nodes` to take the service down"
    return ""


def run_remove(args) -> int:
    if not (args.node or args.host):
        print("name what leaves: --node IP:PORT or --host NAME", file=sys.stderr)
        return EXIT_USAGE
    try:
        document = ClusterDocument.load(args.cluster_file)
    except (OSError, UnicodeDecodeError) as error:
        print(f"{args.cluster_file}: cannot read: {getattr(error, 'strerror', None) or error}", file=sys.stderr)
        return EXIT_USAGE
    except EditError as error:
        print("\n".join(error.problems or [str(error)]), file=sys.stderr)
        return EXIT_USAGE
    cluster = document.cluster
    refusal = _smaller(document, args)
    if refusal:
        print(refusal, file=sys.stderr)
        return EXIT_USAGE
    plans = shrink(cluster, document.cluster, PlanOptions(online_timeout=args.timeout))
    print_effects(f"This will, for service code {cluster.service_code}:", plans.effects()
                  + ([] if args.keep_file else [f"write {args.cluster_file} without them"]))
    expected = cluster.service_code
    if not args.yes and not confirm(f"The other nodes keep serving. Type the service code ({expected}) to go on:",
                                    expected=expected):
        print(f"not confirmed: type '{expected}' or pass --yes", file=sys.stderr)
        return EXIT_USAGE
    options = runner_options(args)
    if execute(cluster, plans.stop, options, "remove") != EXIT_OK:
        print("not every leaving node stopped: no mapping was removed; run the same command again", file=sys.stderr)
        return EXIT_FAILED
    if execute(document.cluster, plans.register, options, "remove") != EXIT_OK:
        return EXIT_FAILED
    if not args.keep_file:
        document.save()
        print(f"wrote {args.cluster_file} without {', '.join(plans.leaving)}")
    return EXIT_OK
