"""`arcus-tui upgrade|rollback|releases FILE`: versioned releases on every host (`deploy/releases.py`).

    upgrade FILE [--batch N]   the file's package as a new release, made current, nodes rolled onto it
    rollback FILE [--batch N]  current back to previous on every host, nodes rolled onto it
    releases FILE [--json]     per host the releases present, current and previous; per node what it runs
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from arcus_tui.deploy.plan import PlanOptions
from arcus_tui.deploy.releases import CloudReleases, HostReleases, read_releases, release_id
from arcus_tui.deploy.rolling import RollingRefused
from arcus_tui.deploy.upgrade import ReleaseRefused, rollback_plan, rollback_targets, summary, upgrade_plan
from arcus_tui.model import Cluster
from arcus_tui.ssh.paths import SshPaths

from . import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from .common import add_batch_option, add_cluster_argument, load_or_report
from .console import add_host_key_options, confirm, host_key_asker_for, print_effects
from .deploy import common_options, execute, runner_options

READ_TIMEOUT = 10.0  # s per host for reading its releases


def add_parser(subparsers) -> None:
    for verb, run, text in (
            ("upgrade", run_upgrade, "upload the file's package as a new release on every host, make it current"),
            ("rollback", run_rollback, "make the previous release current again on every host")):
        parser = subparsers.add_parser(verb, help=f"{text}, and restart the nodes onto it a batch at a time")
        common_options(parser)
        add_batch_option(parser)
        parser.set_defaults(run=run)

    releases = subparsers.add_parser("releases", help="per host the releases present (current, previous) "
                                                      "and per node the release it runs")
    add_cluster_argument(releases)
    releases.add_argument("--json", action="store_true", help="machine-readable output")
    releases.add_argument("--ssh-dir", type=Path, default=None, help="gateway SSH directory (default ~/.ssh)")
    add_host_key_options(releases)
    releases.add_argument("--timeout", type=float, default=READ_TIMEOUT,
                          help=f"seconds per host (default {READ_TIMEOUT:g})")
    releases.set_defaults(run=run_releases)


def _read(cluster: Cluster, args, timeout: float = READ_TIMEOUT) -> CloudReleases:
    paths = SshPaths.under(args.ssh_dir) if args.ssh_dir else SshPaths()
    return asyncio.run(read_releases(cluster, ssh_paths=paths, timeout=timeout,
                                     on_unknown_host_key=host_key_asker_for(args)))


def _run_change(args, kind: str) -> int:
    cluster = load_or_report(args.cluster_file)
    if cluster is None:
        return EXIT_USAGE
    if kind == "upgrade" and not cluster.package:
        print(f"not upgrading: {args.cluster_file} names no package (set `package` to the build to upgrade to)",
              file=sys.stderr)
        return EXIT_USAGE
    cloud = _read(cluster, args)
    options = PlanOptions(quorum_timeout=args.timeout, online_timeout=args.timeout)
    try:
        if kind == "upgrade":
            plan = upgrade_plan(cluster, cloud, batch=args.batch, options=options)
            release = release_id(cluster.package)
            targets = {name: release for name in cloud.hosts}
        else:
            plan = rollback_plan(cluster, cloud, batch=args.batch, options=options)
            targets = rollback_targets(cluster, cloud)
    except (ReleaseRefused, RollingRefused) as error:
        print(f"not {'upgrading' if kind == 'upgrade' else 'rolling back'}: {error}", file=sys.stderr)
        return EXIT_FAILED if cloud.errors else EXIT_USAGE
    print_effects(f"{kind.capitalize()} of service code {cluster.service_code}:", summary(plan, cloud, targets))
    if not args.yes and not confirm(f"{kind.capitalize()}? [y/N]"):
        print("not confirmed (pass --yes)", file=sys.stderr)
        return EXIT_USAGE
    return execute(cluster, plan, runner_options(args), kind)


def run_upgrade(args) -> int:
    return _run_change(args, "upgrade")


def run_rollback(args) -> int:
    return _run_change(args, "rollback")


def run_releases(args) -> int:
    cluster = load_or_report(args.cluster_file, package=False)
    if cluster is None:
        return EXIT_USAGE
    cloud = _read(cluster, args, args.timeout)
    if args.json:
        print(json.dumps({"hosts": [found.to_json() for found in cloud.hosts.values()],
                          "errors": dict(cloud.errors)}, indent=2))
    else:
        for host in cluster.hosts:
            if host.name in cloud.hosts:
                print_host(cluster, cloud.hosts[host.name])
        for name, why in cloud.errors.items():
            print(f"error: {name}: {why}", file=sys.stderr)
    return EXIT_FAILED if cloud.errors else EXIT_OK


def print_host(cluster: Cluster, found: HostReleases) -> None:
    host = cluster.host(found.host)
    print(f"{found.host} ({host.address}, {found.install_dir})")
    marks = {found.current: "current", found.previous: "previous"}
    if found.current == found.previous and found.current:
        marks[found.current] = "current, previous"
    names = list(found.installed) + [name for name in (found.current, found.previous)
                                     if name and name not in found.installed]
    if not names:
        print("  no release installed")
    for name in names:
        mark = f" ({marks[name]})" if name in marks else ""
        gone = "" if name in found.installed else " (its directory is missing)"
        print(f"  release {name}{mark}{gone}")
    for node in found.nodes:
        print(f"  node {host.address}:{node.port} {node.describe()}")
    if found.zookeeper_running:
        print(f"  ZooKeeper runs {found.zookeeper or 'a server outside the releases'}")
