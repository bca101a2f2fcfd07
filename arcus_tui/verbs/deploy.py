"""Verbs that change servers or znodes: setup, start, stop, register, unregister.

All of them build a plan, narrow it to what was asked, and hand it to the one
deploy runner the UI uses too.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import replace
from pathlib import Path
from typing import Optional

from arcus_tui.deploy.audit import AuditTrail
from arcus_tui.deploy.live_changes import change_lines, registered_diff
from arcus_tui.deploy.plan import Plan, PlanOptions, StepId, setup_plan, teardown_plan
from arcus_tui.deploy.recipes import teardown_phrase
from arcus_tui.deploy.registry_steps import services_sharing_ensemble, shared_ensemble_refusal
from arcus_tui.deploy.runner import Runner, RunnerOptions
from arcus_tui.deploy.shrink import retiring_nodes, unreachable_refusal
from arcus_tui.model import Cluster
from arcus_tui.ssh.paths import SshPaths
from arcus_tui.ssh.session import DEFAULT_COMMAND_TIMEOUT, Limits
from arcus_tui.zk.registry import ANY_NODE
from arcus_tui.zk.session import RegistryError

from . import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from .common import add_cluster_argument, add_key_type_argument, load_or_report, positive_seconds
from .console import (
    EventPrinter,
    confirm,
    add_host_key_options,
    host_key_asker_for,
    interactive,
    print_effects,
    print_failures,
    prompt_password,
    read_password_file,
    removal_asker,
)

ROLES = ("zookeeper", "memcached", "all")
START_STEPS = {
    "zookeeper": {StepId.ZOOKEEPER_START, StepId.ZOOKEEPER_QUORUM},
    "memcached": {StepId.MEMCACHED_START, StepId.MEMCACHED_ONLINE},
}
STOP_STEPS = {
    "zookeeper": {StepId.ENSEMBLE_UNSHARED, StepId.ZOOKEEPER_STOP},  # the check goes with the stop
    "memcached": {StepId.MEMCACHED_STOP},
}


def common_options(parser, *, confirm_flag: bool = True) -> None:
    add_cluster_argument(parser)
    parser.add_argument("--ssh-dir", type=Path, default=None,
                        help="gateway key, known_hosts and ssh config directory (default ~/.ssh)")
    add_host_key_options(parser)
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds to wait for a leader / for nodes to come online (default 60)")
    parser.add_argument("--command-timeout", type=positive_seconds, default=DEFAULT_COMMAND_TIMEOUT,
                        metavar="SECONDS",
                        help=f"how long one command may run on a host before that host fails the step "
                             f"(default {DEFAULT_COMMAND_TIMEOUT:g}); a hung host holds nothing longer")
    if confirm_flag:
        parser.add_argument("-y", "--yes", action="store_true", help="do not ask before changing servers")


def add_parser(subparsers) -> None:
    setup = subparsers.add_parser("setup", help="the whole guided setup, from the SSH key to every node online")
    common_options(setup)
    setup.add_argument("--password-file", metavar="F", help="SSH password for copying the key (first line of F)")
    add_key_type_argument(setup)
    setup.set_defaults(run=run_setup)

    for verb, steps, text in (("start", START_STEPS, "start"), ("stop", STOP_STEPS, "stop")):
        parser = subparsers.add_parser(verb, help=f"{text} ZooKeeper and/or memcached (all hosts, one host or one node)")
        common_options(parser)
        parser.add_argument("role", nargs="?", choices=ROLES, default="all")
        parser.add_argument("--host", action="append", metavar="NAME", help="only this host (repeatable)")
        parser.add_argument("--node", metavar="IP:PORT", help="only this memcached node (nothing else)")
        if verb == "stop":
            parser.add_argument("--force", action="store_true",
                                help="stop ZooKeeper even while it holds other service codes")
        parser.set_defaults(run=run_start if verb == "start" else run_stop)

    register = subparsers.add_parser(
        "register", help="create /arcus if needed and register the service code (shows what changes; "
                         "asks you to type the service code before removing a registered node)")
    common_options(register)
    register.set_defaults(run=run_register)

    unregister = subparsers.add_parser("unregister", help="remove the service code from ZooKeeper")
    common_options(unregister)
    unregister.add_argument("--stop-nodes", action="store_true", help="stop the service's memcached nodes first")
    unregister.set_defaults(run=run_unregister)


def runner_options(args, ask_password=None) -> RunnerOptions:
    paths = SshPaths.under(args.ssh_dir) if args.ssh_dir else SshPaths()
    return RunnerOptions(ssh_paths=paths, on_unknown_host_key=host_key_asker_for(args),
                         ask_password=ask_password, limits=Limits(command_timeout=args.command_timeout))



MAX_RETRIES = 3


def execute(cluster: Cluster, plan: Plan, options: RunnerOptions, kind: str) -> int:
    """Run the plan; on a terminal, offer to retry only what failed (at most MAX_RETRIES times).
    The run's commands and state changes also go to its audit trail (`deploy/audit.py`)."""
    trail = AuditTrail.start(kind, cluster.service_code, [host.name for host in cluster.hosts])
    options = replace(options, on_command=trail.command)
    printer = EventPrinter()

    def sink(event) -> None:
        printer(event)
        trail.event(event)

    async def go():
        async with Runner(cluster, options, sink) as runner:
            report = await runner.run(plan)
            for _ in range(MAX_RETRIES):
                if report.ok or not interactive():
                    break
                print_failures(report)
                if not await asyncio.to_thread(confirm, "Retry what did not succeed? [y/N]"):
                    break
                report = await runner.run(report.plan, previous=report)
            return report

    try:
        report = asyncio.run(go())
    except KeyboardInterrupt:
        trail.finish(False, "interrupted")
        print("interrupted: steps already started were cancelled; run the same command again to resume",
              file=sys.stderr)
        return 130
    except BaseException as error:
        trail.finish(False, f"{type(error).__name__}: {error}")
        raise
    trail.finish(report.ok)
    print_failures(report)
    print(trail.problem or f"audit trail: {trail.path}", file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_FAILED


def _agreed(args, cluster: Cluster, what: str) -> bool:
    if args.yes:
        return True
    print(f"{what} on {len(cluster.hosts)} host(s) of service code {cluster.service_code}:")
    for host in cluster.hosts:
        roles = (["zookeeper"] if host.zookeeper else []) + [f"memcached:{p}" for p in host.ports]
        print(f"  {host.name:20} {host.user}@{host.address}:{host.ssh_port}  {' '.join(roles)}")
    if not interactive():
        print("no terminal to confirm on: pass --yes", file=sys.stderr)
        return False
    return confirm("Proceed? [y/N]")


def run_setup(args) -> int:
    cluster = load_or_report(args.cluster_file)
    if cluster is None:
        return EXIT_USAGE
    diff = asyncio.run(registered_diff(cluster))
    changes = change_lines(cluster, diff)
    if changes:
        print_effects(f"{cluster.service_code} is registered and running; this setup changes only:", changes)
    retiring, unreachable = retiring_nodes(cluster, diff)
    if unreachable:
        print(unreachable_refusal(unreachable), file=sys.stderr)
        return EXIT_USAGE
    if not _agreed(args, cluster, "Set up ARCUS"):
        return EXIT_USAGE
    if args.password_file:
        try:
            password = read_password_file(args.password_file)
        except (OSError, UnicodeDecodeError) as error:
            print(f"{args.password_file}: cannot read: {getattr(error, 'strerror', None) or error}", file=sys.stderr)
            return EXIT_USAGE

        async def ask():
            return password
    else:
        ask = prompt_password
    plan = setup_plan(cluster, PlanOptions(key_type=args.key_type, quorum_timeout=args.timeout,
                                           online_timeout=args.timeout, retiring=retiring,
                                           **_register_consent(args)))
    return execute(cluster, plan, runner_options(args, ask), "setup")


def _register_consent(args) -> dict:
    """PlanOptions for the register step: --yes agrees to any removal in advance, otherwise
    the step asks (on a terminal; without one the answer is no)."""
    return {"allowed_removals": ANY_NODE} if args.yes else {"ask_removal": removal_asker()}


def _narrowed(plan: Plan, steps: set, args, cluster: Cluster) -> Optional[Plan]:
    hosts = set(args.host) if args.host else None
    unknown = sorted((hosts or set()) - {host.name for host in cluster.hosts})
    if unknown:
        print(f"no host named {', '.join(unknown)} in {args.cluster_file}", file=sys.stderr)
        return None
    if args.node and args.node not in {node.endpoint for node in cluster.nodes()}:
        print(f"no memcached node {args.node} in {args.cluster_file}", file=sys.stderr)
        return None
    return plan.subset(steps, hosts=hosts, node=args.node)


def _role_plan(args, make_plan, table) -> tuple[Optional[Cluster], Optional[Plan]]:
    """The cluster and the plan narrowed to the role, hosts and node asked for (None: refused)."""
    cluster = load_or_report(args.cluster_file)
    if cluster is None:
        return None, None
    roles = ("zookeeper", "memcached") if args.role == "all" else (args.role,)
    steps = set().union(*(table[role] for role in roles))
    options = PlanOptions(quorum_timeout=args.timeout, online_timeout=args.timeout,
                          force=getattr(args, "force", False))
    return cluster, _narrowed(make_plan(cluster, options), steps, args, cluster)


def run_start(args) -> int:
    cluster, plan = _role_plan(args, setup_plan, START_STEPS)
    if plan is None:
        return EXIT_USAGE
    if not plan.steps:
        print("nothing to do: no such role on the chosen hosts")
        return EXIT_OK
    print_effects(f"This will, for service code {cluster.service_code}:", plan.effects())
    if not args.yes and not confirm("Start these processes? [y/N]"):
        print("not confirmed (pass --yes)", file=sys.stderr)
        return EXIT_USAGE
    return execute(cluster, plan, runner_options(args), "start")


def run_stop(args) -> int:
    cluster, plan = _role_plan(args, teardown_plan, STOP_STEPS)
    if plan is None:
        return EXIT_USAGE
    if not any(step.id in (StepId.MEMCACHED_STOP, StepId.ZOOKEEPER_STOP) for step in plan.steps):
        print("nothing to do: no such role on the chosen hosts")
        return EXIT_OK
    print_effects(f"This will, for service code {cluster.service_code}:", plan.effects())
    if not args.force and any(step.id is StepId.ZOOKEEPER_STOP for step in plan.steps):
        refusal = _shared_ensemble(cluster)
        if refusal:
            print(refusal, file=sys.stderr)
            return EXIT_FAILED
    if not args.yes and not confirm("Stop these processes? [y/N]"):
        print("not confirmed (pass --yes)", file=sys.stderr)
        return EXIT_USAGE
    return execute(cluster, plan, runner_options(args), "stop")


def _shared_ensemble(cluster: Cluster) -> Optional[str]:
    """Why ZooKeeper must not be stopped now (it holds other service codes), or None.
    Asked before anything stops; the plan's own check step asks again when it runs."""
    try:
        others = asyncio.run(services_sharing_ensemble(cluster))
    except RegistryError as error:
        return f"not stopping ZooKeeper: cannot tell whether it holds other service codes ({error}); pass --force"
    return shared_ensemble_refusal(others) if others else None


def run_register(args) -> int:
    cluster = load_or_report(args.cluster_file)
    if cluster is None:
        return EXIT_USAGE
    plan = setup_plan(cluster, PlanOptions(**_register_consent(args))).subset(
        {StepId.ZOOKEEPER_INIT, StepId.REGISTER})
    return execute(cluster, plan, runner_options(args), "register")


def run_unregister(args) -> int:
    cluster = load_or_report(args.cluster_file)
    if cluster is None:
        return EXIT_USAGE
    steps = {StepId.UNREGISTER} | ({StepId.MEMCACHED_STOP} if args.stop_nodes else set())
    plan = teardown_plan(cluster).subset(steps)
    print_effects("This will:", plan.effects())
    expected = teardown_phrase(cluster.service_code)
    if not args.yes and not confirm(f"This removes service code {cluster.service_code} from ZooKeeper. "
                                    f"Type '{expected}' to go on:", expected=expected):
        print(f"not confirmed: type '{expected}' or pass --yes", file=sys.stderr)
        return EXIT_USAGE
    return execute(cluster, plan, runner_options(args), "unregister")
