"""`arcus-tui status FILE`: the `memcached listall` table, ensemble modes and every node's state."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from arcus_tui.monitor.cloud_status import CloudStatus, collect_status
from arcus_tui.ssh.paths import SshPaths
from arcus_tui.zk.status import Health

from . import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from .common import add_cluster_argument, load_or_report
from .console import add_host_key_options, host_key_asker_for


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("status", help="service status (like arcus.sh memcached listall) and node states")
    add_cluster_argument(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--read-only", action="store_true",
                        help="accepted for symmetry with the app: status never writes anything")
    parser.add_argument("--no-ssh", action="store_true", help="do not check node processes over SSH")
    parser.add_argument("--ssh-dir", type=Path, default=None, help="gateway SSH directory (default ~/.ssh)")
    add_host_key_options(parser)
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per ZooKeeper/SSH check (default 5)")
    parser.set_defaults(run=run)


def run(args) -> int:
    cluster = load_or_report(args.cluster_file)
    if cluster is None:
        return EXIT_USAGE
    paths = SshPaths.under(args.ssh_dir) if args.ssh_dir else SshPaths()
    status = asyncio.run(collect_status(cluster, ssh_paths=paths, use_ssh=not args.no_ssh, timeout=args.timeout,
                                        on_unknown_host_key=host_key_asker_for(args)))
    if args.json:
        print(json.dumps(status.to_json(), indent=2))
    else:
        print_status(status)
    service = status.service
    return EXIT_OK if service is not None and service.status is Health.OK else EXIT_FAILED


def print_status(status: CloudStatus) -> None:
    print("ZooKeeper ensemble")
    for member in status.zookeeper:
        print(f"  {member.address:22} {member.describe()}")
    print("\nServices (memcached listall)")
    print(f"  {'SERVICE':24} {'STATUS':10} {'ONLINE':>7} {'OFFLINE':>8} {'UNDEFINED':>10}")
    for service in status.services:
        mark = "*" if service.service_code == status.service_code else " "
        print(f" {mark}{service.service_code:24} {service.status.value:10} "
              f"{len(service.online):>3}/{service.total:<3} {len(service.offline):>8} {len(service.undefined):>10}")
    if status.service is None:
        print(f"  ({status.service_code} is not registered)")
    print(f"\nNodes of {status.service_code}")
    print(f"  {'HOST':20} {'NODE':22} {'ENSEMBLE':13} {'PROCESS':9} {'RELEASE':24} VERDICT")
    for node in status.nodes:
        release = node.release or "-"
        print(f"  {node.host:20} {node.endpoint:22} {node.registry.value:13} {node.process.value:9} {release:24} "
              f"{node.verdict}")
    if status.releases:
        print("\nReleases (current: what a start runs; previous: where rollback goes)")
        for found in status.releases.values():
            print(f"  {found.host:20} current {found.current or '-'}, previous {found.previous or '-'}")
    for error in status.errors:
        print(f"error: {error}", file=sys.stderr)
