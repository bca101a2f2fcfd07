"""Node failure and repair on the 3-host sandbox with the real arcus-memcached.

Reproduce (as root, from the repository root; about 4 minutes for 5 repetitions):

    python bench/node_recovery.py --repeats 5

It writes bench/results/node_recovery.json and prints the markdown table recorded in
bench/README.md ("Node failure and repair"). One sandbox (127.0.1.1-3:2222, ZooKeeper on each,
two arcus-memcached nodes per host, session timeout 10 s) is set up once through the real CLI
(`arcus-tui setup FILE --yes --password-file F --ssh-dir D --trust-host-key FP...`); then, per
repetition, in an order that rotates from one repetition to the next:

- nothing to do: `setup_plan` + `Runner.run` (what `arcus-tui setup` runs, in process) on the healthy
  cloud, until the status says OK. The reference for the repairs.
- repair after drop-out: `kill -9` one node (pid from its pidfile `<home>/arcus/pids/memcached.<port>.pid`,
  checked against /proc), poll the status until SOME_DOWN with that node offline (detection; its
  reference is the configured session timeout, 10 s), then the same setup until the status says OK.
- repair right after the kill: `kill -9` another node and start the same setup at once, while the
  dead session's entry is still in cache_list; setup must wait it out before it starts the node
  (ZNODEEXISTS otherwise). Until the status says OK; references: nothing to do and the session timeout.

The status is polled the way `arcus-tui status` computes it, without its process start: the service's
status (`arcus_tui.zk.status.read_service_status`, i.e. `memcached list <svc>`: online = mapped ∩ cache_list)
through one read-only `RegistrySession` kept open, every 0.1 s. Once per kill, outside the timing, the
product's own `collect_status` (what `arcus-tui status --json` prints) must agree: SOME_DOWN, the victim
offline and its process stopped.

Before each case the script waits (up to --quiet-wait s) for half a second in which the CPUs are less
than 15 % busy (the machine may be shared with test sessions), and counts the CPU time other work takes
while the case runs (as bench/setup_sandbox.py does); the short nothing-to-do reference is run again
when that kept more than a tenth of one CPU busy (at most --attempts in all).
A case during which any daemon other than its victim was stopped or restarted (another user of the
practice hosts) fails the run instead of being recorded. Loopback only (ARCUS_TUI_LOOPBACK_ONLY=1
before anything is imported). The practice hosts are held
with `exclusive_use()` (a test session may hold them; waited for up to --wait-free seconds). Everything
started is stopped at the end, also on errors, Ctrl-C and SIGTERM (pidfiles, then `sandbox_down`).
"""

from __future__ import annotations

import os

os.environ["ARCUS_TUI_LOOPBACK_ONLY"] = "1"  # before any arcus_tui import: nothing leaves 127.0.0.0/8

import argparse  # noqa: E402
import asyncio  # noqa: E402
import datetime  # noqa: E402
import pwd  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable, Optional  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the shared helpers of setup_sandbox.py

import setup_sandbox as common  # noqa: E402
from setup_sandbox import BenchError, fmt, log, loadavg, machine_notes, summary  # noqa: E402

from arcus_tui.deploy.layout import InstallLayout  # noqa: E402
from arcus_tui.deploy.plan import PlanOptions, StepId, setup_plan  # noqa: E402
from arcus_tui.deploy.recipes import expand_home  # noqa: E402
from arcus_tui.deploy.runner import Runner, RunnerOptions  # noqa: E402
from arcus_tui.events import HostState, ProgressEvent  # noqa: E402
from arcus_tui.model import load_cluster  # noqa: E402
from arcus_tui.model.toml_writer import dump_cluster  # noqa: E402
from arcus_tui.monitor.cloud_status import Process, Registry, collect_status  # noqa: E402
from arcus_tui.localhost import process_alive  # noqa: E402
from arcus_tui.sandbox.practice_hosts import (  # noqa: E402
    PracticeHost,
    zookeeper_pidfiles,
)
from arcus_tui.sandbox.sandbox import sandbox_up  # noqa: E402
from arcus_tui.ssh.paths import SshPaths  # noqa: E402
from arcus_tui.zk.session import RegistryError, RegistrySession  # noqa: E402
from arcus_tui.zk.status import Health, ServiceNotFoundError, ServiceStatus, read_service_status  # noqa: E402

POLL_SECONDS = 0.1
SETUP_DEADLINE = 120.0  # one engine setup, whatever happens
PROCESS_GONE_SECONDS = 5.0
HEALTHY_DEADLINE = 60.0
CASES = ("nothing-to-do", "repair-after-drop-out", "repair-right-after-kill")
WAITS = {StepId.ZOOKEEPER_QUORUM, StepId.MEMCACHED_ONLINE}  # checks, not changes
EXPIRED = re.compile(r"the previous session expired after ([0-9.]+)s")
STILL_REGISTERED = "previous session still registered"


# -- the sandbox ------------------------------------------------------------------------------------------


class Sandbox:
    """The practice hosts, the cluster on them and the gateway files that reach them."""

    def __init__(self, state: Path, up, hosts: list[PracticeHost]):
        self.hosts = {host.name: host for host in hosts}
        self.ssh_dir = state / "gateway-ssh"
        self.ssh_dir.mkdir(mode=0o700)
        self.password_file = state / "password"
        self.password_file.write_text(common.PASSWORD + "\n")
        self.password_file.chmod(0o600)
        self.cluster_file = state / "sandbox.toml"
        self.cluster_file.write_text(dump_cluster(up.cluster))
        self.cluster = load_cluster(self.cluster_file)
        self.fingerprints = tuple(host.host_key_fingerprint for host in hosts)
        self.service = self.cluster.service_code

    def pidfile(self, node) -> Path:
        practice = self.hosts[node.host.name]
        return Path(expand_home(InstallLayout(node.host.install_dir).memcached_pidfile(node.port), node.host,
                                practice.home))

    def node_pid(self, node) -> int:
        """The running daemon of `node`: its pidfile's pid, checked against /proc (binary, port, owner)."""
        practice = self.hosts[node.host.name]
        try:
            pid = int(self.pidfile(node).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            raise BenchError(f"{node.endpoint}: no readable pidfile at {self.pidfile(node)}") from None
        running = common.node_pids(practice).get(node.port, [])
        if pid not in running:
            raise BenchError(f"{node.endpoint}: pidfile says {pid}, /proc shows {running or 'no daemon'}")
        if pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name != practice.user:
            raise BenchError(f"{node.endpoint}: pid {pid} is not {practice.user}'s")
        return pid

    def processes(self) -> dict[str, Optional[int]]:
        """Every daemon of the cloud -> its pid (ZooKeeper members by pidfile, nodes as node_pid)."""
        found: dict[str, Optional[int]] = {}
        for name, host in self.hosts.items():
            for pidfile in zookeeper_pidfiles(host):
                try:
                    found[f"zookeeper@{name}"] = int(pidfile.read_text().split()[0])
                except (OSError, ValueError, IndexError):
                    found[f"zookeeper@{name}"] = None
        for node in self.cluster.nodes():
            found[node.endpoint] = max(common.node_pids(self.hosts[node.host.name]).get(node.port, [0]))
        return found


def check_only_victim_restarted(before: dict, after: dict, victim: Optional[str]) -> None:
    """Another user of the practice hosts (a test stopping host 1 by its pidfiles, say) would make a
    repair restart more than the victim: refuse to record such a case."""
    changed = sorted(name for name in before if name != victim and before[name] != after.get(name))
    if changed:
        raise BenchError(f"something else stopped or restarted {', '.join(changed)} during the case "
                         "(another user of the practice hosts?); its figures are not recorded")


# -- status -----------------------------------------------------------------------------------------------


class StatusPoller:
    """The service's status through one read-only registry session, polled every POLL_SECONDS."""

    def __init__(self, sandbox: Sandbox):
        self.service = sandbox.service
        self.session = RegistrySession.connect(sandbox.cluster.connect_string, read_only=True)

    def close(self) -> None:
        self.session.close()

    def read(self) -> Optional[ServiceStatus]:
        try:
            return read_service_status(self.session, self.service)
        except (ServiceNotFoundError, RegistryError):
            return None

    def wait_for(self, wanted: Callable[[ServiceStatus], bool], timeout: float,
                 what: str) -> tuple[float, ServiceStatus]:
        """Poll until `wanted(status)`; the monotonic time it first held, and that status."""
        deadline = time.monotonic() + timeout
        last = None
        for _ in range(int(timeout / POLL_SECONDS) + 2):
            status = self.read()
            seen = time.monotonic()
            if status is not None and wanted(status):
                return seen, status
            last = status
            if seen >= deadline:
                break
            time.sleep(POLL_SECONDS)
        shown = f"{last.status.value}, offline {list(last.offline)}" if last else "unreadable"
        raise BenchError(f"{what}: not seen within {timeout:g}s (last status: {shown})")


def is_ok(status: ServiceStatus) -> bool:
    return status.status is Health.OK


def victim_offline(endpoint: str) -> Callable[[ServiceStatus], bool]:
    def wanted(status: ServiceStatus) -> bool:
        return status.status is Health.SOME_DOWN and endpoint in status.offline
    return wanted


def product_status_agrees(sandbox: Sandbox, endpoint: str) -> None:
    """What `arcus-tui status --json` computes (registry + process check over SSH) must agree."""
    async def trust(question) -> bool:
        return question.fingerprint in sandbox.fingerprints

    cloud = asyncio.run(collect_status(sandbox.cluster, ssh_paths=SshPaths.under(sandbox.ssh_dir),
                                       on_unknown_host_key=trust))
    node = next(n for n in cloud.nodes if n.endpoint == endpoint)
    if cloud.service is None or cloud.service.status is not Health.SOME_DOWN \
            or node.registry is not Registry.OFFLINE or node.process is not Process.STOPPED:
        raise BenchError(f"`arcus-tui status` disagrees: service {cloud.service and cloud.service.status.value}, "
                         f"{endpoint} registry {node.registry.value}, process {node.process.value}; {cloud.errors}")


# -- the engine's setup -----------------------------------------------------------------------------------


async def engine_setup(sandbox: Sandbox) -> tuple[object, list[ProgressEvent]]:
    events: list[ProgressEvent] = []

    async def trust(question) -> bool:
        return question.fingerprint in sandbox.fingerprints

    options = RunnerOptions(ssh_paths=SshPaths.under(sandbox.ssh_dir), on_unknown_host_key=trust)
    plan = setup_plan(sandbox.cluster, PlanOptions(quorum_timeout=60.0, online_timeout=60.0))
    async with Runner(sandbox.cluster, options, events.append) as runner:
        report = await asyncio.wait_for(runner.run(plan), SETUP_DEADLINE)
    return report, events


def run_setup(sandbox: Sandbox) -> tuple[float, dict]:
    """One engine setup: its seconds and what it did (which nodes it started, how long it waited)."""
    began = time.monotonic()
    report, events = asyncio.run(engine_setup(sandbox))
    seconds = time.monotonic() - began
    if not report.ok:
        failures = "; ".join(f"{step.value} {target}: {outcome.message}" for step, target, outcome in report.failures())
        raise BenchError(f"setup failed: {failures}")
    changed = sorted(f"{step.value}/{target}" for (step, target), outcome in report.outcomes.items()
                     if outcome.state is not HostState.ALREADY_DONE and step not in WAITS)
    waited = [float(m.group(1)) for m in (EXPIRED.search(e.text or "") for e in events) if m]
    return seconds, {"changed": changed,
                     "waited_out_previous_session": any(STILL_REGISTERED in (e.text or "") for e in events),
                     "previous_session_expired_after": waited[0] if waited else None}


# -- the cases --------------------------------------------------------------------------------------------


def kill_node(sandbox: Sandbox, node) -> float:
    """kill -9 the node's daemon; the monotonic time of the kill. Waits (bounded) until it is gone."""
    pid = sandbox.node_pid(node)
    killed = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    for _ in range(int(PROCESS_GONE_SECONDS / 0.02) + 2):
        if not process_alive(pid):
            return killed
        if time.monotonic() - killed > PROCESS_GONE_SECONDS:
            break
        time.sleep(0.02)
    raise BenchError(f"{node.endpoint}: pid {pid} still alive {PROCESS_GONE_SECONDS:g}s after SIGKILL")


def nothing_to_do(sandbox: Sandbox, poller: StatusPoller) -> dict:
    began = time.monotonic()
    setup_seconds, did = run_setup(sandbox)
    ok_at, _ = poller.wait_for(is_ok, HEALTHY_DEADLINE, "status OK after a setup with nothing to do")
    if did["changed"]:
        raise BenchError(f"nothing to do, yet setup changed {did['changed']}")
    return {"to_ok": ok_at - began, "setup": setup_seconds, **did}


def repair_after_drop_out(sandbox: Sandbox, poller: StatusPoller, node, timeout: float) -> dict:
    killed = kill_node(sandbox, node)
    seen, _ = poller.wait_for(victim_offline(node.endpoint), 3 * timeout,
                              f"SOME_DOWN with {node.endpoint} offline after its kill")
    detect = seen - killed
    product_status_agrees(sandbox, node.endpoint)
    began = time.monotonic()
    setup_seconds, did = run_setup(sandbox)
    ok_at, _ = poller.wait_for(is_ok, HEALTHY_DEADLINE, f"status OK after repairing {node.endpoint}")
    if did["waited_out_previous_session"]:
        raise BenchError(f"{node.endpoint} had dropped out, yet setup waited for its previous session")
    return {"victim": node.endpoint, "detect": detect, "detect_over_timeout": detect / timeout,
            "to_ok": ok_at - began, "setup": setup_seconds, **did}


def repair_right_after_kill(sandbox: Sandbox, poller: StatusPoller, node, timeout: float) -> dict:
    killed = kill_node(sandbox, node)
    began = time.monotonic()
    entry_still_there = node.endpoint in (poller.read() or ServiceStatus("", Health.DOWN, (), (), ())).online
    setup_seconds, did = run_setup(sandbox)
    ok_at, _ = poller.wait_for(is_ok, HEALTHY_DEADLINE, f"status OK after repairing {node.endpoint}")
    if not did["waited_out_previous_session"]:
        raise BenchError(f"{node.endpoint} was repaired right after its kill, yet setup did not wait for "
                         "its previous session (entry already gone?)")
    return {"victim": node.endpoint, "entry_still_there_at_start": entry_still_there,
            "to_ok": ok_at - began, "from_kill_to_ok": ok_at - killed, "setup": setup_seconds, **did}


def check_healthy(sandbox: Sandbox, poller: StatusPoller) -> None:
    """Before each case: status OK and one daemon per node."""
    poller.wait_for(is_ok, HEALTHY_DEADLINE, "status OK before a case")
    for node in sandbox.cluster.nodes():
        sandbox.node_pid(node)


def one_repetition(index: int, sandbox: Sandbox, poller: StatusPoller, timeout: float, quiet_wait: float,
                   attempts: int) -> dict:
    nodes = list(sandbox.cluster.nodes())
    order = CASES[index % 3:] + CASES[:index % 3]
    row = {"repetition": index + 1, "order": list(order), "load": loadavg()}
    practice = list(sandbox.hosts.values())
    for case in order:
        # the reference (nothing to do) is short: run it again when other work disturbed it
        for attempt in range(1, (attempts if case == "nothing-to-do" else 1) + 1):
            check_healthy(sandbox, poller)
            row.setdefault("cpu_busy_before", {})[case] = common.wait_for_quiet(quiet_wait)
            log(f"repetition {index + 1}: {case}" + (f" (attempt {attempt})" if attempt > 1 else ""))
            before, daemons = common.process_table(), sandbox.processes()
            if case == "nothing-to-do":
                outcome = nothing_to_do(sandbox, poller)
            elif case == "repair-after-drop-out":
                outcome = repair_after_drop_out(sandbox, poller, nodes[(2 * index) % len(nodes)], timeout)
            else:
                outcome = repair_right_after_kill(sandbox, poller, nodes[(2 * index + 1) % len(nodes)], timeout)
            outcome["other_cpu_seconds"] = common.other_cpu_seconds(before, common.process_table(), practice)
            check_only_victim_restarted(daemons, sandbox.processes(), outcome.get("victim"))
            row[case] = outcome
            log(f"  {case}: " + ", ".join(f"{k} {v:.2f}s" for k, v in outcome.items() if k in ("detect", "to_ok"))
                + f" (other work meanwhile: {outcome['other_cpu_seconds']:.2f} CPU s)")
            if case != "nothing-to-do" or outcome["other_cpu_seconds"] <= common.DISTURBED_SHARE * outcome["to_ok"]:
                break
            row.setdefault("disturbed", []).append({"case": case, "to_ok": outcome["to_ok"],
                                                    "other_cpu_seconds": outcome["other_cpu_seconds"]})
    nothing = row["nothing-to-do"]["to_ok"]
    row["ratios"] = {
        "detect_over_timeout": row["repair-after-drop-out"]["detect_over_timeout"],
        "drop_out_repair_over_nothing": row["repair-after-drop-out"]["to_ok"] / nothing,
        "right_after_kill_over_nothing": row["repair-right-after-kill"]["to_ok"] / nothing,
        "right_after_kill_over_timeout": row["repair-right-after-kill"]["to_ok"] / timeout,
    }
    return row


# -- the run ----------------------------------------------------------------------------------------------


def start_sandbox(args, state: Path, cleanup: list) -> tuple[Sandbox, dict, float]:
    package, package_notes = common.arcus_package(args.arcus_source)
    common.wait_until_free(args.wait_free)
    sandbox_state = state / "sandbox"
    up = sandbox_up(common.HOSTS, common.PASSWORD, sandbox_state, subnet=common.SANDBOX_SUBNET, fresh=True,
                    package=package)
    cleanup.append(("sandbox", sandbox_state, up.hosts))
    if up.standin:
        raise BenchError("the sandbox came up with the stand-in memcached, not arcus-memcached")
    sandbox = Sandbox(state, up, up.hosts)
    log("setup from nothing through the CLI (key made and copied with the password)")
    first = common.warm_up(sandbox.cluster_file, sandbox.ssh_dir, sandbox.password_file, sandbox.fingerprints,
                           state / "first-setup.log")
    log(f"first setup done in {first:.2f}s")
    return sandbox, package_notes, first


def aggregate(rows: list[dict]) -> dict:
    def values(case: str, key: str) -> list[float]:
        return [row[case][key] for row in rows if row[case].get(key) is not None]

    return {
        "detect": summary(values("repair-after-drop-out", "detect")),
        "nothing_to_do": summary(values("nothing-to-do", "to_ok")),
        "repair_after_drop_out": summary(values("repair-after-drop-out", "to_ok")),
        "repair_right_after_kill": summary(values("repair-right-after-kill", "to_ok")),
        "repair_right_after_kill_from_kill": summary(values("repair-right-after-kill", "from_kill_to_ok")),
        "previous_session_expired_after": summary(values("repair-right-after-kill", "previous_session_expired_after")),
        **{key: summary([row["ratios"][key] for row in rows]) for key in rows[0]["ratios"]},
    }


def measure(args, state: Path, cleanup: list) -> dict:
    load_start = loadavg()
    sandbox, package_notes, first = start_sandbox(args, state, cleanup)
    timeout = sandbox.cluster.node_session_timeout
    poller = StatusPoller(sandbox)
    try:
        rows = []
        for index in range(args.repeats):
            common.check_hosts_still_ours(list(sandbox.hosts.values()),
                                          sandbox.ssh_dir / "id_ed25519.pub")
            rows.append(one_repetition(index, sandbox, poller, timeout, args.quiet_wait, args.attempts))
    finally:
        poller.close()
    return {
        "benchmark": "node failure and repair on the 3-host sandbox",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": f"python bench/node_recovery.py --repeats {args.repeats}",
        "machine": machine_notes(),
        "load_start": load_start,
        "load_end": loadavg(),
        "package": package_notes,
        "session_timeout_seconds": timeout,
        "tick_time_ms": sandbox.cluster.zookeeper.tick_time,
        "status_poll": f"read_service_status via one read-only RegistrySession, every {POLL_SECONDS:g}s",
        "first_setup_cli_seconds": first,
        "nodes": [node.endpoint for node in sandbox.cluster.nodes()],
        "repetitions": rows,
        "medians": aggregate(rows),
    }


# -- report -----------------------------------------------------------------------------------------------


def markdown(result: dict) -> str:
    med = result["medians"]
    timeout = result["session_timeout_seconds"]
    lines = [
        f"Measured {result['date']} with `{result['command']}` on the real {result['package']['arcus_memcached']} "
        f"({result['machine']['nproc']} cores, {result['machine']['cpu']}; load average {result['load_start'][0]} "
        f"at start, {result['load_end'][0]} at the end; session timeout {timeout:g} s, tickTime "
        f"{result['tick_time_ms']} ms). Seconds.",
        "",
        "| rep | order | kill → SOME_DOWN | ÷ session timeout | nothing to do → OK | repair after drop-out → OK "
        "| ÷ nothing to do | repair right after kill → OK | ÷ nothing to do | ÷ session timeout "
        "| of which waiting out the old entry | load (1 min) | other work during the three (CPU s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in result["repetitions"]:
        drop, now, nothing, ratios = (row["repair-after-drop-out"], row["repair-right-after-kill"],
                                      row["nothing-to-do"], row["ratios"])
        lines.append(
            f"| {row['repetition']} | {' → '.join(row['order'])} | {fmt(drop['detect'])} | "
            f"{fmt(ratios['detect_over_timeout'])} | {fmt(nothing['to_ok'])} | {fmt(drop['to_ok'])} | "
            f"{fmt(ratios['drop_out_repair_over_nothing'])} | {fmt(now['to_ok'])} | "
            f"{fmt(ratios['right_after_kill_over_nothing'])} | {fmt(ratios['right_after_kill_over_timeout'])} | "
            f"{fmt(now['previous_session_expired_after'], 1)} | {row['load'][0]} | "
            f"{fmt(drop['other_cpu_seconds'])}/{fmt(nothing['other_cpu_seconds'])}/{fmt(now['other_cpu_seconds'])} |")

    busy = summary([v for row in result["repetitions"] for v in row["cpu_busy_before"].values()])

    def m(key: str, digits: int = 2) -> str:
        return f"**{fmt(med[key]['median'], digits)}**"

    lines += [
        f"| **median** | | {m('detect')} | {m('detect_over_timeout')} | {m('nothing_to_do')} | "
        f"{m('repair_after_drop_out')} | {m('drop_out_repair_over_nothing')} | {m('repair_right_after_kill')} | "
        f"{m('right_after_kill_over_nothing')} | {m('right_after_kill_over_timeout')} | "
        f"{m('previous_session_expired_after', 1)} | | |",
        "",
        f"Ratios in the last row are medians of the per-repetition ratios. Repair right after the kill, from the "
        f"kill itself: {fmt(med['repair_right_after_kill_from_kill']['median'])} s (median). The first setup "
        f"(through the CLI, from nothing) took {fmt(result['first_setup_cli_seconds'])} s. CPUs busy in the half "
        f"second before each case: median {busy['median']:.0%}, at most {busy['max']:.0%}. Other work: CPU seconds "
        f"used meanwhile by processes that are not the run's (drop-out/nothing/right-after-kill); a nothing-to-do "
        f"run during which other work used more than {common.DISTURBED_SHARE:g} CPU was run again (the last "
        f"attempt kept whatever it saw); disturbed attempts: "
        + (", ".join(f"rep {r['repetition']} {d['to_ok']:.2f} s ({d['other_cpu_seconds']:.2f} CPU s)"
                     for r in result["repetitions"] for d in r.get("disturbed", [])) or "none") + ".",
    ]
    return "\n".join(lines)


# -- main -------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="repetitions of the three cases (default 5)")
    parser.add_argument("--attempts", type=int, default=3,
                        help=f"run the nothing-to-do reference again when other work kept more than "
                             f"{common.DISTURBED_SHARE:g} of one CPU busy while it ran, at most this many times "
                             "(default 3)")
    common.add_sandbox_options(parser, "node_recovery.json", quiet_default=120.0)
    args = parser.parse_args()
    if not 1 <= args.repeats <= 30:
        parser.error("--repeats must be between 1 and 30")
    if not 1 <= args.attempts <= 10:
        parser.error("--attempts must be between 1 and 10")
    return common.run_and_record(args, measure, "arcus-bench-recovery-", markdown)

if __name__ == "__main__":
    sys.exit(main())
