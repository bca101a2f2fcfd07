"""Rolling restart of the 3-host sandbox's six real arcus-memcached nodes, under client traffic.

Reproduce (as root, from the repository root; about a minute for 5 repetitions):

    python bench/rolling_restart.py --repeats 5

It writes bench/results/rolling_restart.json and prints the markdown table recorded in
bench/README.md ("Rolling restart"). One sandbox (127.0.1.1-3:2222, ZooKeeper on each, two
arcus-memcached nodes per host) is set up once through the real CLI; then, per repetition, in
an order that alternates from one repetition to the next:

- rolling: `memcached_rolling_plan(cluster)` + `Runner.run` (what `arcus-tui restart FILE memcached
  --rolling --yes` runs, in process): the six nodes one at a time, each stopped (SIGINT), started,
  back in cache_list and answering `stats` before the next. A client loop runs meanwhile
  (`tests/e2e/client_load.py`: NAVER's locator routes each key, set then get, 1 ms apart); its
  error rate is recorded, and each failure's node.
- one at a time: the same restart of each node alone, `memcached_rolling_plan(cluster, nodes=[n])`
  with a runner of its own (as six separate `restart --node n` commands would), timed one after
  the other; their sum is the reference. The same client loop runs meanwhile (so that neither
  case has the two CPUs to itself), its error rate recorded too.

Each repetition checks that every node came back with a new process. The ratio rolling / sum says
what running the six in one plan costs (or saves: one SSH session and registry session instead of
six) against restarting them by hand one by one. Loopback only (ARCUS_TUI_LOOPBACK_ONLY=1 before
anything is imported). The practice hosts are held with `exclusive_use()`; everything started is
stopped at the end, also on errors, Ctrl-C and SIGTERM (`bench/setup_sandbox.py`'s clean-up).
"""

from __future__ import annotations

import os

os.environ["ARCUS_TUI_LOOPBACK_ONLY"] = "1"  # before any arcus_tui import: nothing leaves 127.0.0.0/8

import argparse  # noqa: E402
import asyncio  # noqa: E402
import datetime  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the shared helpers of setup_sandbox.py

import setup_sandbox as common  # noqa: E402
from node_recovery import start_sandbox  # noqa: E402
from setup_sandbox import BenchError, fmt, log, loadavg, machine_notes, summary  # noqa: E402

from arcus_tui.deploy.plan import PlanOptions  # noqa: E402
from arcus_tui.deploy.rolling import memcached_rolling_plan  # noqa: E402
from arcus_tui.deploy.runner import Runner, RunnerOptions  # noqa: E402
from arcus_tui.ssh.paths import SshPaths  # noqa: E402
from tests.e2e import client_load  # noqa: E402

RUN_DEADLINE = 180.0  # one rolling restart, whatever happens
CASES = ("rolling", "one-at-a-time")


async def restart(sandbox, nodes=None) -> float:
    """One rolling plan through the engine (its own runner); its seconds."""
    async def trust(question) -> bool:
        return question.fingerprint in sandbox.fingerprints

    options = RunnerOptions(ssh_paths=SshPaths.under(sandbox.ssh_dir), on_unknown_host_key=trust)
    plan = memcached_rolling_plan(sandbox.cluster, nodes=nodes, options=PlanOptions(online_timeout=60.0))
    began = time.monotonic()
    async with Runner(sandbox.cluster, options) as runner:
        report = await asyncio.wait_for(runner.run(plan), RUN_DEADLINE)
    seconds = time.monotonic() - began
    if not report.ok:
        failures = "; ".join(f"{step.value} {target}: {outcome.message}" for step, target, outcome in report.failures())
        raise BenchError(f"the rolling restart failed: {failures}")
    return seconds


def pids(sandbox) -> dict[str, int]:
    return {node.endpoint: sandbox.node_pid(node) for node in sandbox.cluster.nodes()}


def under_load(sandbox, work) -> dict:
    """`work()` (its seconds, and what else it says) while the client loop runs; both cases run under
    the same load, so that neither gets the CPUs to itself."""
    load = client_load.start(sandbox.cluster.connect_string, sandbox.service, keys=300)
    try:
        seconds, extra = work()
    finally:
        counts = load.stop()
    if counts.error:
        raise BenchError(f"the client load stopped: {counts.error}")
    return {"seconds": seconds, "client_operations": counts.total, "client_failed": sum(counts.failed.values()),
            "client_error_rate": counts.error_rate, "failed_by_node": dict(counts.failed_nodes),
            "client_misses": counts.misses, **extra}


def rolling(sandbox) -> dict:
    return under_load(sandbox, lambda: (asyncio.run(restart(sandbox)), {}))


def one_at_a_time(sandbox) -> dict:
    def each_alone():
        each = {node.endpoint: asyncio.run(restart(sandbox, [node.endpoint])) for node in sandbox.cluster.nodes()}
        return sum(each.values()), {"each": each}

    return under_load(sandbox, each_alone)


def one_repetition(index: int, sandbox, quiet_wait: float) -> dict:
    order = CASES if index % 2 == 0 else CASES[::-1]
    row = {"repetition": index + 1, "order": list(order), "load": loadavg()}
    for case in order:
        row.setdefault("cpu_busy_before", {})[case] = common.wait_for_quiet(quiet_wait)
        before = pids(sandbox)
        log(f"repetition {index + 1}: {case}")
        row[case] = rolling(sandbox) if case == "rolling" else one_at_a_time(sandbox)
        after = pids(sandbox)
        same = sorted(node for node in before if after[node] == before[node])
        if same:
            raise BenchError(f"{case}: {', '.join(same)} kept its process: not restarted")
        log(f"  {case}: {row[case]['seconds']:.2f}s")
    row["rolling_over_sum"] = row["rolling"]["seconds"] / row["one-at-a-time"]["seconds"]
    return row


def measure(args, state: Path, cleanup: list) -> dict:
    load_start = loadavg()
    sandbox, package_notes, first = start_sandbox(args, state, cleanup)
    rows = [one_repetition(index, sandbox, args.quiet_wait) for index in range(args.repeats)]

    def values(case: str, key: str) -> list[float]:
        return [row[case][key] for row in rows]

    return {
        "benchmark": "rolling restart of six arcus-memcached nodes on the 3-host sandbox",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": f"python bench/rolling_restart.py --repeats {args.repeats}",
        "machine": machine_notes(),
        "load_start": load_start,
        "load_end": loadavg(),
        "package": package_notes,
        "first_setup_cli_seconds": first,
        "nodes": [node.endpoint for node in sandbox.cluster.nodes()],
        "repetitions": rows,
        "medians": {
            "rolling": summary(values("rolling", "seconds")),
            "one_at_a_time_sum": summary(values("one-at-a-time", "seconds")),
            "rolling_over_sum": summary([row["rolling_over_sum"] for row in rows]),
            "client_error_rate": summary(values("rolling", "client_error_rate")),
            "client_error_rate_alone": summary(values("one-at-a-time", "client_error_rate")),
            "per_node_alone": summary([s for row in rows for s in row["one-at-a-time"]["each"].values()]),
        },
    }


def markdown(result: dict) -> str:
    med = result["medians"]
    lines = [
        f"Measured {result['date']} with `{result['command']}` on the real {result['package']['arcus_memcached']} "
        f"({result['machine']['nproc']} cores, {result['machine']['cpu']}; load average {result['load_start'][0]} "
        f"at start, {result['load_end'][0]} at the end). Seconds.",
        "",
        "| rep | order | rolling (6 nodes) | sum of 6 alone | rolling ÷ sum | client ops during rolling "
        "| failed | error rate | failures by node |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in result["repetitions"]:
        roll, alone = row["rolling"], row["one-at-a-time"]
        lines.append(
            f"| {row['repetition']} | {' → '.join(row['order'])} | {fmt(roll['seconds'])} | {fmt(alone['seconds'])} "
            f"| {fmt(row['rolling_over_sum'])} | {roll['client_operations']} | {roll['client_failed']} "
            f"| {roll['client_error_rate']:.3%} | "
            + ", ".join(f"{node.split(':', 1)[0][-1]}:{node.rsplit(':', 1)[1]}×{count}"
                        for node, count in sorted(roll["failed_by_node"].items())) + " |")
    lines += [
        f"| **median** | | **{fmt(med['rolling']['median'])}** | **{fmt(med['one_at_a_time_sum']['median'])}** "
        f"| **{fmt(med['rolling_over_sum']['median'])}** | | | **{med['client_error_rate']['median']:.3%}** | |",
        "",
        f"Client error rate while the six were restarted alone, one after the other (same loop): median "
        f"{med['client_error_rate_alone']['median']:.3%}.",
        f"One node restarted alone (stop, start, back in cache_list and answering stats, with its own runner): "
        f"median {fmt(med['per_node_alone']['median'])} s ({fmt(med['per_node_alone']['min'])}-"
        f"{fmt(med['per_node_alone']['max'])}). Failures by node: 127.0.1.<n>:<port>×count.",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="repetitions of the two cases (default 5)")
    common.add_sandbox_options(parser, "rolling_restart.json", quiet_default=60.0)
    args = parser.parse_args()
    if not 1 <= args.repeats <= 30:
        parser.error("--repeats must be between 1 and 30")
    return common.run_and_record(args, measure, "arcus-bench-rolling-", markdown)

if __name__ == "__main__":
    sys.exit(main())
