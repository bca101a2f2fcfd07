"""`arcus-tui events FILE`: the cloud's joins and leaves; `arcus-tui clients FILE`: its clients.

Both only read ZooKeeper, through a read-only session.

    arcus-tui events FILE [--since-log] [--follow [--for SECONDS]] [--limit N] [--json]
    arcus-tui clients FILE [--json]

`events` prints one line per event, oldest first: the nodes online now (joined at their
entry's creation time), with ``--since-log`` the joins arcus-memcached logged in
``/arcus/cache_server_log`` too, and with ``--follow`` every join, leave and rejoin as
it happens, until Ctrl-C (or ``--for`` seconds).
"""

from __future__ import annotations

import json
import queue
import sys
import time
from typing import Optional, Sequence

from arcus_tui.monitor.cloud_events import DEFAULT_LIMIT, CloudEvent, CloudEventStream
from arcus_tui.zk.client_list import ClientList, read_client_list
from arcus_tui.zk.session import RegistryError, RegistrySession

from . import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from .common import add_cluster_argument, load_or_report, positive_seconds

WAIT_STEP = 0.5
"""Seconds `--follow` waits for an event at a time, so Ctrl-C and `--for` are seen soon."""


def add_parser(subparsers) -> None:
    events = subparsers.add_parser("events", help="nodes that joined, left or rejoined the service (read-only)")
    add_cluster_argument(events)
    events.add_argument("--follow", "-f", action="store_true", help="keep printing events until Ctrl-C")
    events.add_argument("--for", dest="duration", type=positive_seconds, metavar="SECONDS",
                        help="with --follow: stop after this many seconds")
    events.add_argument("--since-log", action="store_true",
                        help="start with the joins logged in /arcus/cache_server_log (newest --limit)")
    events.add_argument("--limit", type=int, default=DEFAULT_LIMIT,
                        help=f"history entries read at most (default {DEFAULT_LIMIT})")
    events.add_argument("--json", action="store_true", help="one JSON object per line")
    events.add_argument("--timeout", type=float, default=10.0, help="seconds to connect to ZooKeeper (default 10)")
    events.set_defaults(run=run_events)

    clients = subparsers.add_parser("clients", help="ARCUS clients connected to the service (client_list)")
    add_cluster_argument(clients)
    clients.add_argument("--json", action="store_true", help="machine-readable output")
    clients.add_argument("--timeout", type=float, default=10.0, help="seconds to connect to ZooKeeper (default 10)")
    clients.set_defaults(run=run_clients)


def event_line(event: CloudEvent) -> str:
    host = f"  {event.hostname}" if event.hostname else ""
    return f"{event.time_text()}  {event.kind.value:8}  {event.endpoint}{host}  ({event.source.value})"


def _print(events: Sequence[CloudEvent], as_json: bool) -> None:
    for event in events:
        print(json.dumps(event.to_json()) if as_json else event_line(event), flush=True)


def _checked(args) -> Optional[str]:
    if args.limit < 0:
        return "--limit must be 0 or more"
    if args.duration is not None and not args.follow:
        return "--for needs --follow"
    return None


def run_events(args) -> int:
    problem = _checked(args)
    if problem:
        print(f"arcus-tui events: {problem}", file=sys.stderr)
        return EXIT_USAGE
    cluster = load_or_report(args.cluster_file, package=False)
    if cluster is None:
        return EXIT_USAGE
    arrived: "queue.Queue[Sequence[CloudEvent]]" = queue.Queue()
    stream = CloudEventStream(cluster.connect_string, cluster.service_code, arrived.put, since_log=args.since_log,
                              limit=max(args.limit, 1), extra_addresses=[n.endpoint for n in cluster.nodes()],
                              timeout=args.timeout)
    try:
        stream.start()
        if stream.note:
            print(f"arcus-tui events: {stream.note}", file=sys.stderr, flush=True)
        _drain(arrived, args.json)
        if args.follow:
            _follow(stream, arrived, args.json, args.duration)
    except RegistryError as error:
        print(f"arcus-tui events: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:  # the way --follow ends
        pass
    finally:
        stream.close()
    return EXIT_OK


def _drain(arrived: queue.Queue, as_json: bool) -> None:
    while True:
        try:
            _print(arrived.get_nowait(), as_json)
        except queue.Empty:
            return


def _follow(stream: CloudEventStream, arrived: queue.Queue, as_json: bool, duration: Optional[float]) -> None:
    """Print batches as kazoo hands them over, in bounded waits, until Ctrl-C or `duration`."""
    deadline = time.monotonic() + duration if duration is not None else None
    warned = False
    while deadline is None or time.monotonic() < deadline:
        wait = WAIT_STEP if deadline is None else max(0.0, min(WAIT_STEP, deadline - time.monotonic()))
        try:
            _print(arrived.get(timeout=wait), as_json)
        except queue.Empty:
            pass
        if not stream.connected and not warned:  # kazoo reconnects by itself; say so once
            print("arcus-tui events: connection to ZooKeeper lost, reconnecting...", file=sys.stderr, flush=True)
        warned = not stream.connected
    _drain(arrived, as_json)


def print_clients(clients: ClientList) -> None:
    if not clients.exists:
        print(f"{clients.service_code} has no client_list znode (not registered, or registered by an old tool)")
        return
    print(f"{len(clients.entries)} client{'s' if len(clients.entries) != 1 else ''} of {clients.service_code} "
          f"({clients.path})")
    if not clients.entries:
        return
    print(f"  {'HOST':24} {'IP':16} {'KIND':5} {'VERSION':10} {'POOL':>4}  {'CONNECTED AT':19}  SESSION")
    for entry in clients.entries:
        if not entry.known:
            print(f"  {entry.name}  (unknown format)")
            continue
        connected = entry.connected_at.strftime("%Y-%m-%d %H:%M:%S") if entry.connected_at else "?"
        print(f"  {entry.hostname:24} {entry.ip:16} {entry.kind:5} {entry.version:10} {entry.pool_size:>4}  "
              f"{connected:19}  {entry.session_hex or entry.session_id}")


def run_clients(args) -> int:
    cluster = load_or_report(args.cluster_file, package=False)
    if cluster is None:
        return EXIT_USAGE
    try:
        with RegistrySession.connect(cluster.connect_string, read_only=True, timeout=args.timeout) as session:
            clients = read_client_list(session, cluster.service_code)
    except RegistryError as error:
        print(f"arcus-tui clients: {error}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(clients.to_json(), indent=2))
    else:
        print_clients(clients)
    return EXIT_OK if clients.exists else EXIT_FAILED
