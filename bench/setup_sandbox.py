"""Setup on the 3-host sandbox: arcus-tui's setup against the old tool's order and the floor.

Reproduce (as root, from the repository root; about 3 minutes for 5 runs on an idle 2-core machine):

    python bench/setup_sandbox.py --runs 5

It writes bench/results/setup_sandbox.json and prints the markdown tables recorded in
bench/README.md ("Setup on the 3-host sandbox"). The practice hosts run the REAL
arcus-memcached: the package is `cached_package(find_arcus_source())` (built from source once,
about 25 s on 2 cores, then reused from the package cache; `--arcus-source` names another
source). All in ONE run, R runs of each, interleaved (the order of the three rotates from run
to run, so a slow minute of the machine does not land on one contender only):

- ours:  `setup_plan` + `Runner.run` (what `arcus-tui setup` does, in process) on the practice
         sandbox, 127.0.1.1-3:2222, WITH THE GATEWAY KEY ALREADY DISTRIBUTED: one warm-up setup
         through the real CLI (`arcus-tui setup FILE --yes --password-file F --ssh-dir D
         --trust-host-key FP...`) first; before every measured run every ARCUS process on the
         hosts is stopped (pidfiles) and ~/arcus removed, ~/.ssh kept. Time from setup start to
         every node online, split by step from the ProgressEvents (per step: first RUNNING to last
         finished state), plus what lies between steps. arcus-memcached's `-d` returns once it has
         daemonized and joins ZooKeeper after that; memcached-start succeeds only when each node's own
         cache_list entry is there, so the joins are in the figure (split per node: until ZooKeeper
         created the entry, by the znode's ctime, and until the engine saw it).
- old:   the old tool's sequential order (arcus.sh quicksetup / fabfile) replayed with the plain
         OpenSSH client, one host after another, same gateway key, a known_hosts written here:
         `scp -r` the package to each host in turn; write zoo.cfg + myid and start ZooKeeper on
         each host in turn (one `ssh` each); poll `echo srvr | nc` over ssh on each host in turn,
         every 3 s, until one reports leader; register from the gateway (the same
         `arcus_tui.zk.registry` calls the engine makes); start each memcached node over ssh with a
         fixed 2 s sleep after each (the real daemon returns when it has daemonized and joins during
         the sleep, as it did under the old tool); check the list (polled until all six are
         online). Commands, zoo.cfg and myid come from `arcus_tui.deploy.recipes`, so the work
         done on the hosts is the same.
- floor: three ZooKeeper members started at once as local processes (`LocalEnsemble`, 127.0.4.1-3,
         apart from everything else) until one leader and two followers answer `srvr`.

Login dotfiles are kept out of the figures: the practice logins' shell is /bin/sh (dash, which
reads no start-up file for `sh -c`; checked below, as is the absence of ~/.ssh/rc and
/etc/ssh/sshrc), the gateway side uses a private ssh directory and `ssh -F /dev/null`.
The machine may be shared with test sessions: before each timed contender the script waits (up
to --quiet-wait s) for half a second in which the CPUs are less than 15 % busy; while it runs,
the CPU time of every process that is not the run's own (not this process or its descendants,
not the practice logins') is counted, and a contender during which it kept more than a tenth of
one CPU busy (0.25 CPU s over a 2.5 s setup, 1.9 over the old order's 19 s) is run again (at
most --attempts in all, the last kept; the disturbed ones are listed).
Network: loopback only (ARCUS_TUI_LOOPBACK_ONLY=1 is set before anything is imported).
Before starting, nothing may listen on the sandbox's or the floor's ports and no process of the
practice logins may run (another test run using the sandbox); the script waits up to
--wait-free seconds (default 600) and then gives up; the practice hosts are held with
`exclusive_use()` meanwhile. Everything started is stopped at the end, still holding them, also
on errors, Ctrl-C and SIGTERM (pidfiles via `stop_hosts`, a daemon that never wrote its pidfile
by its pid in /proc, then `sandbox_down`). Needs root (the
practice logins), openssh-server/-client, netcat-openbsd, Debian's zookeeper, and the arcus-memcached
source (or its package already in the cache).
"""

from __future__ import annotations

import os

os.environ["ARCUS_TUI_LOOPBACK_ONLY"] = "1"  # before any arcus_tui import: nothing leaves 127.0.0.0/8

import argparse  # noqa: E402
import asyncio  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import pwd  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import shlex  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Optional  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import asyncssh  # noqa: E402

from arcus_tui.deploy import recipes  # noqa: E402
from arcus_tui.deploy.layout import InstallLayout, shell_path  # noqa: E402
from arcus_tui.deploy.node_join import POLL_SECONDS  # noqa: E402
from arcus_tui.deploy.plan import PlanOptions, StepId, setup_plan  # noqa: E402
from arcus_tui.deploy.runner import Runner, RunnerOptions  # noqa: E402
from arcus_tui.events import HostState, ProgressEvent  # noqa: E402
from arcus_tui.model import load_cluster  # noqa: E402
from arcus_tui.model.arcus_json import export_arcus  # noqa: E402
from arcus_tui.model.toml_writer import dump_cluster  # noqa: E402
from tests.infra.local_zookeeper import LocalEnsemble, zookeeper_installed  # noqa: E402
from arcus_tui.package import PackageBuildError, cache_entry, cached_package, resolve_source  # noqa: E402
from arcus_tui.package.zookeeper_server import find_zookeeper_server  # noqa: E402
from arcus_tui.sandbox.arcus_source import find_arcus_source, how_to_get_it  # noqa: E402
from arcus_tui.localhost import process_alive  # noqa: E402
from arcus_tui.sandbox.practice_hosts import (  # noqa: E402
    PracticeHost,
    SandboxError,
    practice_host,
    stop_hosts,
)
from arcus_tui.sandbox.sandbox import MEMCACHED_PORTS, exclusive_use, sandbox_down, sandbox_up  # noqa: E402
from arcus_tui.ssh.paths import SshPaths  # noqa: E402
from arcus_tui.zk.registry import init_arcus, nodes_from_cluster_json, register  # noqa: E402
from arcus_tui.zk.session import RegistrySession  # noqa: E402
from arcus_tui.zk.status import ServiceNotFoundError, read_service_status  # noqa: E402

PASSWORD = "practice-pw"  # the practice logins' password (the warm-up copies the key with it)
HOSTS = 3
SANDBOX_SUBNET = "127.0.1"
SSH_PORT = 2222
ZK_PORTS = (2181, 2888, 3888)
FLOOR_ADDRESSES = ("127.0.4.1", "127.0.4.2", "127.0.4.3")
OLD_POLL_SECONDS = 3.0  # the old tool's srvr poll interval
OLD_NODE_SLEEP = 2.0  # the fabfile's fixed sleep after each memcached start
QUORUM_DEADLINE = 60.0
ONLINE_DEADLINE = 60.0
RUN_DEADLINE = 240.0  # one measured setup, whatever happens
SSH_COMMAND_TIMEOUT = 60.0
LISTEN_GONE_SECONDS = 30.0
TARGET_RATIO = 1.5
QUIET_BUSY = 0.15  # of both CPUs, over 0.5 s, before each timed contender
DISTURBED_SHARE = 0.1  # other work, in CPUs, during a timed contender beyond which it is run again


def disturbed(outcome: dict) -> bool:
    return outcome["other_cpu_seconds"] > DISTURBED_SHARE * outcome["total"]


STEP_ORDER = [step.value for step in StepId]
OLD_PHASES = [
    ("deploy", "deploy: scp -r the package, one host after another"),
    ("zookeeper-start", "ZooKeeper started one host after another (zoo.cfg + myid + zkServer.sh, one ssh each)"),
    ("quorum-polls", "quorum polls (ssh + `echo srvr \\| nc` per host, every 3 s, until a leader)"),
    ("register", "register from the gateway (init /arcus + register, same calls as ours)"),
    ("node-starts", "node starts (one ssh per node, fixed `sleep 2` after each)"),
    ("list-check", "list check (cache_list from the gateway)"),
]


class BenchError(RuntimeError):
    pass


# -- small helpers ------------------------------------------------------------------------------------


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def summary(values: list[float]) -> dict:
    values = [v for v in values if v is not None]
    if not values:
        return {"median": None, "min": None, "max": None, "runs": []}
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def cpu_busy(seconds: float = 0.5) -> float:
    """Fraction of all CPUs busy over the next `seconds` (from /proc/stat)."""
    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return sum(fields) - idle, sum(fields)

    busy0, total0 = sample()
    time.sleep(seconds)
    busy1, total1 = sample()
    return (busy1 - busy0) / max(1, total1 - total0)


def process_table() -> dict[int, tuple[int, int, int]]:
    """pid -> (parent pid, owner uid, CPU ticks of the process and of its reaped children)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            uid = os.stat(f"/proc/{entry}").st_uid
        except (OSError, IndexError):
            continue
        # after "(comm)": state ppid pgrp ...; utime stime cutime cstime are fields 11-14 here
        table[int(entry)] = (int(fields[1]), uid, sum(int(x) for x in fields[11:15]))
    return table


def other_cpu_seconds(before: dict, after: dict, hosts: list[PracticeHost]) -> float:
    """CPU seconds spent meanwhile by processes that are not this run's: neither this process and
    its descendants (the practice sshd and its sessions, ssh/scp, the floor's java) nor anything of
    the practice logins (ZooKeeper, memcached). Processes that started and ended in between count
    through their parent's reaped-children time. Kernel threads are left out."""
    mine = {os.getpid()}
    practice = set()
    for host in hosts:
        try:
            practice.add(pwd.getpwnam(host.user).pw_uid)
        except KeyError:
            pass

    def ours(pid: int, table: dict) -> bool:
        chain = []
        for _ in range(64):
            if pid in mine:
                mine.update(chain)
                return True
            entry = table.get(pid)
            if entry is None or pid <= 2 or entry[0] == 2:
                return False
            chain.append(pid)
            pid = entry[0]
        return False

    ticks = 0
    for pid, (ppid, uid, used) in after.items():
        if uid in practice or ppid == 2 or pid <= 2 or ours(pid, after) or ours(pid, before):
            continue
        ticks += used - before[pid][2] if pid in before else used
    return max(0, ticks) / os.sysconf("SC_CLK_TCK")


def wait_for_quiet(max_wait: float, threshold: float = QUIET_BUSY) -> float:
    """The machine is shared (test sessions run beside the bench): before a timed contender, wait
    (at most `max_wait` s) for a second in which other work keeps less than `threshold` of the CPUs
    busy. Returns the busy fraction last seen, recorded with the run (the run goes ahead anyway)."""
    deadline = time.monotonic() + max_wait
    busy = cpu_busy()
    for attempt in range(int(max_wait / 0.5) + 2):
        if busy < threshold or time.monotonic() >= deadline:
            break
        if attempt == 0:
            log(f"waiting (up to {max_wait:g}s) for the CPUs to quieten: {busy:.0%} busy")
        busy = cpu_busy()
    return round(busy, 3)


def listeners() -> list[str]:
    """Local addresses of every listening TCP socket, as `address:port` (IPv4-mapped unwrapped)."""
    out = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True, check=True, timeout=15).stdout
    found = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        local = fields[3]
        address, _, port = local.rpartition(":")
        address = address.strip("[]")
        if address.startswith("::ffff:"):
            address = address[len("::ffff:"):]
        found.append(f"{address}:{port}")
    return found


def busy_endpoints(endpoints: set[str], ports: set[int]) -> list[str]:
    """Which of `endpoints` are listened on, or any of `ports` on a wildcard address."""
    busy = []
    for local in listeners():
        address, _, port = local.rpartition(":")
        if local in endpoints or (address in ("0.0.0.0", "*", "::", "") and port.isdigit() and int(port) in ports):
            busy.append(local)
    return sorted(set(busy))


def sandbox_endpoints() -> set[str]:
    ports = (SSH_PORT, *ZK_PORTS, *MEMCACHED_PORTS)
    return {f"{SANDBOX_SUBNET}.{n}:{p}" for n in range(1, HOSTS + 1) for p in ports}


def service_endpoints() -> set[str]:
    """What a deploy listens on (ZooKeeper and memcached), i.e. what must be gone between runs."""
    return {f"{SANDBOX_SUBNET}.{n}:{p}" for n in range(1, HOSTS + 1) for p in (*ZK_PORTS, *MEMCACHED_PORTS)}


def floor_endpoints() -> set[str]:
    return {f"{a}:{p}" for a in FLOOR_ADDRESSES for p in ZK_PORTS}


def practice_processes() -> list[str]:
    users = {practice_host(n, SANDBOX_SUBNET).user for n in range(1, HOSTS + 1)}
    out = subprocess.run(["ps", "-eo", "user:32,pid,args", "--no-headers"], capture_output=True, text=True,
                         timeout=15).stdout
    return [line.strip() for line in out.splitlines() if line.split() and line.split()[0] in users]


def wait_until_free(max_wait: float) -> None:
    """Another run (the test suite, a second bench) may use the sandbox addresses: wait for it."""
    endpoints = sandbox_endpoints() | floor_endpoints()
    ports = {SSH_PORT, *ZK_PORTS, *MEMCACHED_PORTS}
    deadline = time.monotonic() + max_wait
    for attempt in range(int(max_wait / 5) + 2):
        busy = busy_endpoints(endpoints, ports)
        procs = practice_processes()
        if not busy and not procs:
            return
        if time.monotonic() >= deadline:
            raise BenchError(
                f"the sandbox addresses are still in use after {max_wait:g}s (another test run or bench?): "
                + ", ".join(busy + [f"process `{p}`" for p in procs][:10])
                + " - try again when it has finished")
        if attempt == 0:
            log(f"waiting (up to {max_wait:g}s) for the sandbox to be free: {', '.join((busy + procs)[:6])}")
        time.sleep(min(5.0, max(0.1, deadline - time.monotonic())))


def wait_listeners_gone(endpoints: set[str], what: str) -> None:
    deadline = time.monotonic() + LISTEN_GONE_SECONDS
    for _ in range(int(LISTEN_GONE_SECONDS / 0.1) + 2):
        busy = busy_endpoints(endpoints, set())
        if not busy:
            return
        if time.monotonic() >= deadline:
            raise BenchError(f"{what}: still listening after {LISTEN_GONE_SECONDS:g}s: {', '.join(busy)}")
        time.sleep(0.1)


def check_hosts_still_ours(hosts: list[PracticeHost], public_key: Path) -> None:
    """Another run's `sandbox_up(fresh=True)` (the e2e suite's fixture) wipes the practice homes, our
    key included, without looking whether a sandbox is serving them: say so instead of timing it."""
    blob = public_key.read_text().split()[1]
    for host in hosts:
        if not process_alive(host.sshd_pid):
            raise BenchError(f"{host.name}: our practice sshd (pid {host.sshd_pid}) is gone")
        try:
            authorized = Path(host.home, ".ssh", "authorized_keys").read_text()
        except OSError:
            authorized = ""
        if blob not in authorized:
            raise BenchError(f"{host.name}: the gateway key is no longer in {host.home}/.ssh/authorized_keys: another "
                             "run (a test session's `sandbox up --fresh`?) wiped the practice hosts; run the bench "
                             "again when it has finished")


def node_pids(host: PracticeHost) -> dict[int, list[int]]:
    """port -> pids of the arcus-memcached daemons running from one practice host's install dir (/proc)."""
    binary = f"{host.install_dir}/current/bin/memcached"
    found: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            words = [w.decode(errors="replace") for w in Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0") if w]
        except OSError:
            continue
        if words and words[0] == binary and "-p" in words[:-1]:
            port = words[words.index("-p") + 1]
            if port.isdigit():
                found.setdefault(int(port), []).append(int(entry))
    return found


def stop_stray_nodes(hosts: list[PracticeHost]) -> list[str]:
    """arcus-memcached writes its pidfile only after it has joined: a daemon that never joined has
    none, so `stop_hosts` cannot see it. Stop those by the pid /proc shows for the host's binary."""
    report = []
    for host in hosts:
        for port, pids in node_pids(host).items():
            for pid in pids:
                try:
                    if pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name != host.user:
                        continue
                    os.kill(pid, signal.SIGKILL)
                except (OSError, KeyError):
                    continue
                report.append(f"{host.name}: killed memcached :{port} without a pidfile (pid {pid})")
        deadline = time.monotonic() + LISTEN_GONE_SECONDS
        for _ in range(int(LISTEN_GONE_SECONDS / 0.1) + 2):
            if not node_pids(host) or time.monotonic() >= deadline:
                break
            time.sleep(0.1)
    return report


def reset_hosts(hosts: list[PracticeHost]) -> None:
    """Stop every ARCUS process on the practice hosts (pidfiles) and remove ~/arcus; keep ~/.ssh
    and the practice sshd (a fresh deploy with access already in place)."""
    stop_hosts(hosts, sshd=False)  # leave the hosts' sshd running
    for line in stop_stray_nodes(hosts):
        log(line)
    for host in hosts:
        shutil.rmtree(Path(host.install_dir), ignore_errors=True)
        if Path(host.install_dir).exists():
            raise BenchError(f"could not remove {host.install_dir}")
    wait_listeners_gone(service_endpoints(), "resetting the practice hosts")


# -- dotfile check ------------------------------------------------------------------------------------


def check_no_dotfiles(hosts: list[PracticeHost], ssh) -> dict:
    """The practice logins must not run start-up files on `ssh host command`."""
    notes = {}
    if Path("/etc/ssh/sshrc").exists():
        raise BenchError("/etc/ssh/sshrc exists: sshd would run it on every login; the figures would include it")
    for host in hosts:
        shell = pwd.getpwnam(host.user).pw_shell
        real = os.path.realpath(shell)
        if Path(host.home, ".ssh", "rc").exists():
            raise BenchError(f"{host.home}/.ssh/rc exists: sshd would run it on every login")
        if os.path.basename(real) not in ("dash", "sh"):
            raise BenchError(f"{host.user}'s shell is {shell} -> {real}, which may read start-up files "
                             "for `sh -c`; the sandbox makes /bin/sh logins")
        # sshd runs `<shell> -c <command>`, not as a login shell: dash then reads nothing ($ENV only
        # for interactive shells). Prove it: no `i` in $-, and $0 is the plain shell.
        status, out, err = ssh(host, 'printf "%s|%s|%s\\n" "$0" "$-" "${ENV-unset}"')
        if status != 0:
            raise BenchError(f"{host.name}: ssh check failed: {err.strip()}")
        zero, flags, env = out.strip().split("|")
        if "i" in flags or zero.startswith("-"):
            raise BenchError(f"{host.name}: the remote shell is interactive or a login shell ({zero}, $-={flags})")
        notes[host.user] = f"{shell} -> {real}; remote `$0`={zero}, `$-`={flags or '(none)'}, ENV {env}"
    return notes


# -- the old order, replayed with plain OpenSSH ----------------------------------------------------------


class OpenSsh:
    """The plain `ssh`/`scp` client with the gateway key and a known_hosts written for the bench."""

    def __init__(self, directory: Path, key: Path, hosts: list[PracticeHost]):
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.known_hosts = directory / "known_hosts"
        lines = []
        for host in hosts:
            key_type, blob = host.host_key.split()[:2]
            lines.append(f"[{host.address}]:{SSH_PORT} {key_type} {blob}")
        self.known_hosts.write_text("\n".join(lines) + "\n")
        self.options = [
            "-F", "/dev/null",  # no ~/.ssh/config, no /etc/ssh/ssh_config
            "-i", str(key), "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "UpdateHostKeys=no", "-o", "ControlMaster=no", "-o", "ControlPath=none",
            "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
        ]
        self.calls = 0

    def ssh(self, host: PracticeHost, command: str, input: Optional[str] = None) -> tuple[int, str, str]:
        self.calls += 1
        argv = ["ssh", *self.options, "-p", str(SSH_PORT), f"{host.user}@{host.address}", command]
        try:
            done = subprocess.run(argv, input=input if input is not None else "", capture_output=True, text=True,
                                  timeout=SSH_COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise BenchError(f"{host.name}: ssh timed out after {SSH_COMMAND_TIMEOUT:g}s: {command[:80]}") from None
        return done.returncode, done.stdout, done.stderr

    def scp_dir(self, host: PracticeHost, source: Path, destination: str) -> None:
        self.calls += 1
        argv = ["scp", *self.options, "-q", "-r", "-P", str(SSH_PORT), str(source),
                f"{host.user}@{host.address}:{destination}"]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=SSH_COMMAND_TIMEOUT,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise BenchError(f"{host.name}: scp timed out after {SSH_COMMAND_TIMEOUT:g}s") from None
        if done.returncode != 0:
            raise BenchError(f"{host.name}: scp -r {source} failed: {done.stderr.strip()}")

    def must(self, host: PracticeHost, command: str, input: Optional[str] = None) -> str:
        status, out, err = self.ssh(host, command, input)
        if status != 0:
            raise BenchError(f"{host.name}: exit {status}: {command[:100]}: {err.strip()[-300:]}")
        return out


def run_old(cluster, hosts: list[PracticeHost], openssh: OpenSsh) -> dict:
    by_name = {host.name: host for host in hosts}
    phases: dict[str, float] = {}
    details: dict = {}
    calls_before = openssh.calls
    began = time.monotonic()

    # 1. deploy: copy the ARCUS directory to every host, one after another
    mark = time.monotonic()
    for host in cluster.hosts:
        if host.memcached or host.zookeeper:
            # ~/arcus was removed before the run, so `scp -r package host:arcus` creates it as a copy
            openssh.scp_dir(by_name[host.name], Path(cluster.package), "arcus")
    phases["deploy"] = time.monotonic() - mark

    # 2. zoo.cfg + myid, then start, on each ensemble member in turn (one ssh each)
    mark = time.monotonic()
    for host in cluster.zookeeper_hosts:
        practice = by_name[host.name]
        layout = InstallLayout(host.install_dir)
        config_dir = str(Path(layout.zoo_cfg).parent)
        command = (f"mkdir -p {shell_path(layout.zookeeper_data_dir)} {shell_path(config_dir)} && "
                   f"cat > {shell_path(layout.zoo_cfg)} && "
                   f"printf '%s' {shlex.quote(recipes.myid(cluster, host))} > {shell_path(layout.myid_file)} && "
                   f"{recipes.zookeeper_start(host)}")
        openssh.must(practice, command, input=recipes.zoo_cfg(cluster, host, practice.home))
    phases["zookeeper-start"] = time.monotonic() - mark

    # 3. poll srvr over ssh + nc on each member in turn, every 3 s, until one says leader
    mark = time.monotonic()
    deadline = mark + QUORUM_DEADLINE
    leader = None
    rounds = 0
    for rounds in range(1, int(QUORUM_DEADLINE / OLD_POLL_SECONDS) + 2):
        for host in cluster.zookeeper_hosts:
            _, out, _ = openssh.ssh(by_name[host.name],
                                    f"echo srvr | nc -w 2 {host.address} {cluster.zookeeper.client_port}")
            if "Mode: leader" in out or "Mode: standalone" in out:
                leader = host.address
                break
        if leader or time.monotonic() >= deadline:
            break
        time.sleep(OLD_POLL_SECONDS)
    if not leader:
        raise BenchError(f"old order: no leader after {QUORUM_DEADLINE:g}s of srvr polls")
    phases["quorum-polls"] = time.monotonic() - mark
    details["quorum_poll_rounds"] = rounds
    details["leader"] = leader

    # 4. register from the gateway: the same registry calls the engine's steps make
    mark = time.monotonic()
    session = RegistrySession.connect(cluster.connect_string)
    try:
        document = export_arcus(cluster)
        init_arcus(session)
        register(session, cluster.service_code, document, nodes_from_cluster_json(document))
        phases["register"] = time.monotonic() - mark

        # 5. each memcached node in turn, a fixed 2 s after each (the fabfile's sleep)
        mark = time.monotonic()
        for node in cluster.nodes():
            openssh.must(by_name[node.host.name], recipes.memcached_start(cluster, node))
            time.sleep(OLD_NODE_SLEEP)
        phases["node-starts"] = time.monotonic() - mark

        # 6. memcached list: every node online
        mark = time.monotonic()
        expected = {node.endpoint for node in cluster.nodes()}
        online: set[str] = set()
        for _ in range(int(ONLINE_DEADLINE / 0.25) + 2):
            try:
                online = set(read_service_status(session, cluster.service_code).online)
            except ServiceNotFoundError:
                online = set()
            if expected <= online or time.monotonic() - mark > ONLINE_DEADLINE:
                break
            time.sleep(0.25)
        if not expected <= online:
            raise BenchError(f"old order: not online: {', '.join(sorted(expected - online))}")
        phases["list-check"] = time.monotonic() - mark
        total = time.monotonic() - began
    finally:
        session.close()
    details["ssh_and_scp_calls"] = openssh.calls - calls_before
    return {"total": total, "phases": phases, "details": details}


# -- ours -------------------------------------------------------------------------------------------------


def split_by_step(events: list[tuple[float, ProgressEvent]], began: float, ended: float) -> dict:
    """Per step: first RUNNING to last finished state (seconds), and what lies outside every step."""
    spans: dict[str, list[float]] = {}
    per_target: dict[str, dict[str, float]] = {}
    started_at: dict[tuple[str, str], float] = {}
    for at, event in events:
        if event.state is None:
            continue
        if event.state is HostState.RUNNING:
            span = spans.setdefault(event.step, [at, at])
            span[0] = min(span[0], at)
            started_at.setdefault((event.step, event.host), at)
        elif event.state.finished:
            span = spans.setdefault(event.step, [at, at])
            span[1] = max(span[1], at)
            if (event.step, event.host) in started_at:
                per_target.setdefault(event.step, {})[event.host] = at - started_at[(event.step, event.host)]
    steps = {step: end - start for step, (start, end) in spans.items()}
    starts = {step: start - began for step, (start, _) in spans.items()}
    # time covered by no step: runner work between steps (e.g. the $HOME lookup before zoo.cfg)
    covered = 0.0
    cursor = began
    for start, end in sorted(spans.values()):
        start, end = max(start, cursor), min(end, ended)
        if end > start:
            covered += end - start
            cursor = end
    return {"steps": steps, "starts": starts, "per_target": per_target, "between_steps": (ended - began) - covered}


JOINED = re.compile(r"joined as (\S+) after ([0-9.]+)s")


def node_start_split(events: list[tuple[float, float, ProgressEvent]], created: dict[str, float]) -> dict:
    """memcached-start, per node, from its host's RUNNING (the host's nodes start at once):
    - `entry_created`: until ZooKeeper created the node's cache_list entry (the znode's ctime, wall
      clock of this same machine): the pidfile check, `memcached -d` over SSH, the daemon's start and join;
    - `seen`: until the engine reported it ("joined as X after Ns"): the above plus the engine's
      cache_list poll (every node_join.POLL_SECONDS);
    - `join_wait`: the wait the engine reports in that line (0.1 s resolution)."""
    step = StepId.MEMCACHED_START.value
    host_start: dict[str, tuple[float, float]] = {}
    nodes = {}
    for at, wall, event in events:
        if event.step != step:
            continue
        if event.state is HostState.RUNNING:
            host_start[event.host] = (at, wall)
            continue
        match = JOINED.search(event.text or "")
        if match and event.host in host_start:
            began, began_wall = host_start[event.host]
            entry = match.group(1)
            endpoint = entry.split("-", 1)[0]
            nodes[endpoint] = {"host": event.host, "seen": at - began, "join_wait": float(match.group(2)),
                               "entry_created": (created[entry] - began_wall) if entry in created else None}
    return nodes


def entry_ctimes(cluster) -> dict[str, float]:
    """cache_list/<svc> child name -> the wall time (s) ZooKeeper created it."""
    path = f"/arcus/cache_list/{cluster.service_code}"
    with RegistrySession.connect(cluster.connect_string, read_only=True) as session:
        names = session.children_many([path])[path] or []
        return {name: stat.ctime / 1000.0 for name in names
                if (stat := session.exists(f"{path}/{name}")) is not None}


def mode_timeline(events: list[tuple[float, ProgressEvent]], since: float) -> list[str]:
    lines = []
    for at, event in events:
        if event.step == StepId.ZOOKEEPER_QUORUM.value and event.state is None and event.text.startswith("mode:"):
            lines.append(f"+{at - since:.2f}s {event.host} {event.text.split('(')[0].strip()}")
    return lines


async def run_ours(cluster, ssh_dir: Path, fingerprints: tuple[str, ...]) -> dict:
    events: list[tuple[float, ProgressEvent]] = []
    walls: list[float] = []

    def sink(event: ProgressEvent) -> None:
        events.append((time.monotonic(), event))
        walls.append(time.time())

    async def trust(question) -> bool:  # known_hosts already holds the keys after the warm-up
        return question.fingerprint in fingerprints

    began = time.monotonic()
    plan = setup_plan(cluster, PlanOptions(quorum_timeout=QUORUM_DEADLINE, online_timeout=ONLINE_DEADLINE))
    runner = Runner(cluster, RunnerOptions(ssh_paths=SshPaths.under(ssh_dir), on_unknown_host_key=trust), sink)
    try:
        report = await asyncio.wait_for(runner.run(plan), RUN_DEADLINE)
        ended = time.monotonic()
    finally:
        closing = time.monotonic()
        await runner.close()
        close_seconds = time.monotonic() - closing
    if not report.ok:
        failures = "; ".join(f"{step.value} {target}: {outcome.state.value} {outcome.message}"
                             for step, target, outcome in report.failures())
        raise BenchError(f"ours: setup did not finish: {failures}")
    copy = report.plan.step(StepId.COPY_KEY)
    states = {target: report.get(StepId.COPY_KEY, target).state for target in copy.targets}
    if any(state is not HostState.ALREADY_DONE for state in states.values()):
        raise BenchError(f"ours: the key was not already in place: {states}")
    split = split_by_step(events, began, ended)
    zk_start = began + split["starts"].get(StepId.ZOOKEEPER_START.value, 0.0)
    quorum = split["starts"].get(StepId.ZOOKEEPER_QUORUM.value, 0.0) + split["steps"].get(
        StepId.ZOOKEEPER_QUORUM.value, 0.0)
    return {
        "total": ended - began,
        "steps": split["steps"],
        "step_starts": split["starts"],
        "per_target": split["per_target"],
        "between_steps": split["between_steps"],
        "zookeeper_start_to_quorum": began + quorum - zk_start,
        "quorum_modes": mode_timeline(events, zk_start),
        "node_starts": node_start_split([(at, wall, event) for (at, event), wall in zip(events, walls)],
                                        entry_ctimes(cluster)),
        "close_seconds": close_seconds,
        "states": {f"{step.value}/{target}": outcome.state.value for (step, target), outcome in report.outcomes.items()},
    }


# -- floor ------------------------------------------------------------------------------------------------


def run_floor(base: Path) -> dict:
    ensemble = LocalEnsemble(base, FLOOR_ADDRESSES)
    try:
        elapsed, result = asyncio.run(ensemble.start_and_wait(QUORUM_DEADLINE, clean=True))
    finally:
        ensemble.stop()
    wait_listeners_gone(floor_endpoints(), "stopping the floor ensemble")
    modes = sorted(member.mode.value for member in result.members)
    if modes != ["follower", "follower", "leader"]:
        raise BenchError(f"floor: unexpected modes {modes}")
    version = next((m.info.version for m in result.members if m.info and m.info.version), None)
    if version:
        version = version.split("-${", 1)[0]  # Debian's build leaves "-${mvngit.commit.id}" in it
    return {"total": elapsed, "polls": result.polls, "leader": result.leader, "zookeeper_version": version}


# -- machine notes ----------------------------------------------------------------------------------------


def machine_notes() -> dict:
    def first_line(argv: list[str]) -> str:
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=15)
        except (OSError, subprocess.TimeoutExpired):
            return "?"
        return (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr).strip() else "?"

    cpu = "?"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = "?"
    try:
        kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))
        memory = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": memory,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "asyncssh": asyncssh.__version__,
        "openssh": first_line(["ssh", "-V"]),
        "java": first_line(["java", "-version"]),
    }


# -- report -----------------------------------------------------------------------------------------------


def fmt(value: Optional[float], digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def cell(stats: dict) -> str:
    if stats["median"] is None:
        return "-"
    return f"{stats['median']:.2f} ({stats['min']:.2f}-{stats['max']:.2f})"


def markdown(result: dict) -> str:
    runs = result["runs"]
    med = result["medians"]
    lines = [
        f"Measured {result['date']} with `{result['command']}` on the real {result['package']['arcus_memcached']} "
        f"({result['machine']['nproc']} cores, {result['machine']['cpu']}, {result['machine']['memory']}; "
        f"load average {result['load_start'][0]} at start, {result['load_end'][0]} at the end; "
        f"ZooKeeper {result.get('zookeeper_version') or '?'}, {result['machine']['openssh'].split(',')[0]}, "
        f"Python {result['machine']['python']}, asyncssh {result['machine']['asyncssh']}).",
        "",
        "| run | order | ours (s) | old order (s) | floor (s) | ours/floor | ours/old | load (1 min) "
        "| other work during ours/old/floor (CPU s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        lines.append(f"| {run['run']} | {' → '.join(run['order'])} | {fmt(run['ours']['total'])} | "
                     f"{fmt(run['old']['total'])} | {fmt(run['floor']['total'])} | "
                     f"{fmt(run['ours_over_floor'])} | {fmt(run['ours_over_old'])} | {run['load'][0]} | "
                     + "/".join(f"{run[c]['other_cpu_seconds']:.2f}" for c in ("ours", "old", "floor")) + " |")
    lines += [
        f"| **median** (min-max) | | **{cell(med['ours'])}** | **{cell(med['old'])}** | **{cell(med['floor'])}** | "
        f"**{fmt(result['ratio_of_medians']['ours_over_floor'])}** | "
        f"**{fmt(result['ratio_of_medians']['ours_over_old'])}** | | |",
        "",
        f"Other work: CPU seconds used meanwhile by processes that are not this run's (the machine is shared "
        f"with test sessions); a contender during which other work used more than {DISTURBED_SHARE:g} CPU "
        f"was run again "
        f"(at most {result['attempts']} attempts, the last kept whatever it saw); disturbed attempts: "
        + (", ".join(f"run {r['run']} {d['contender']} {d['total']:.2f} s ({d['other_cpu_seconds']:.2f} CPU s)"
                     for r in runs for d in r.get("disturbed", [])) or "none")
        + ".",
        "",
        f"Ratios in the last row are ratios of the medians; per-run ratio medians: ours/floor "
        f"{fmt(med['ours_over_floor']['median'])}, ours/old {fmt(med['ours_over_old']['median'])}. "
        f"Target ours < {TARGET_RATIO}x floor: **{'met' if result['target_met'] else 'MISSED'}**. "
        f"For scale: one `ssh host true` {fmt(result['ssh_true_seconds']['median'])} s; starting the CLI "
        f"(`arcus-tui setup --help`) {fmt(result['cli_start_seconds']['median'])} s, which `arcus-tui setup` adds "
        f"to the in-process figure; the warm-up (`arcus-tui setup` from nothing: key made, copied with the "
        f"password, whole CLI) {fmt(result['warm_up_cli_seconds'])} s.",
        "",
        "ours, by step (first RUNNING to last finished state; seconds, median (min-max)):",
        "",
        "| step | median (min-max) | starts at (median) |",
        "|---|---|---|",
    ]
    for step, stats in med["ours_steps"].items():
        lines.append(f"| {step} | {cell(stats)} | +{fmt(med['ours_step_starts'][step]['median'])} |")
    lines += [
        f"| (between steps: runner work outside any step) | {cell(med['ours_between_steps'])} | |",
        f"| **total** | **{cell(med['ours'])}** | |",
        f"| ZooKeeper start → leader + 2 followers (compare: floor) | {cell(med['ours_zk_start_to_quorum'])} | |",
        "",
        f"memcached-start, per node (six per run, from its host's start of the step; a host starts its nodes "
        f"at once): until ZooKeeper created the node's cache_list entry (pidfile check, `memcached -d` over "
        f"SSH, the daemon's start and join; the znode's ctime) {cell(med['ours_node_entry_created'])} s; until "
        f"the engine saw it (its cache_list poll runs every {POLL_SECONDS:g} s) {cell(med['ours_node_seen'])} s; the wait the "
        f"engine reports (\"joined ... after Ns\") {cell(med['ours_node_join_wait'])} s.",
        "",
        "old order, by phase (seconds, median (min-max)):",
        "",
        "| phase | median (min-max) |",
        "|---|---|",
    ]
    for key, title in OLD_PHASES:
        lines.append(f"| {title} | {cell(med['old_phases'][key])} |")
    lines.append(f"| **total** | **{cell(med['old'])}** |")
    return "\n".join(lines)


def aggregate(runs: list[dict]) -> dict:
    steps_seen = [s for s in STEP_ORDER if any(s in run["ours"]["steps"] for run in runs)]
    return {
        "ours": summary([r["ours"]["total"] for r in runs]),
        "old": summary([r["old"]["total"] for r in runs]),
        "floor": summary([r["floor"]["total"] for r in runs]),
        "ours_over_floor": summary([r["ours_over_floor"] for r in runs]),
        "ours_over_old": summary([r["ours_over_old"] for r in runs]),
        "ours_steps": {s: summary([r["ours"]["steps"].get(s) for r in runs]) for s in steps_seen},
        "ours_step_starts": {s: summary([r["ours"]["step_starts"].get(s) for r in runs]) for s in steps_seen},
        "ours_between_steps": summary([r["ours"]["between_steps"] for r in runs]),
        "ours_zk_start_to_quorum": summary([r["ours"]["zookeeper_start_to_quorum"] for r in runs]),
        "old_phases": {key: summary([r["old"]["phases"].get(key) for r in runs]) for key, _ in OLD_PHASES},
        **{f"ours_node_{key}": summary([n[key] for r in runs for n in r["ours"]["node_starts"].values()])
           for key in ("entry_created", "seen", "join_wait")},
    }


# -- main -------------------------------------------------------------------------------------------------


def warm_up(cluster_file: Path, ssh_dir: Path, password_file: Path, fingerprints: tuple[str, ...],
            log_path: Path) -> float:
    """One real `arcus-tui setup` from nothing: makes the gateway key and copies it (password)."""
    argv = [sys.executable, "-m", "arcus_tui", "setup", str(cluster_file), "--yes",
            "--password-file", str(password_file), "--ssh-dir", str(ssh_dir)]
    for fp in fingerprints:
        argv += ["--trust-host-key", fp]
    began = time.monotonic()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=RUN_DEADLINE, cwd=str(REPO),
                              env=dict(os.environ, PYTHONPATH=str(REPO)), stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise BenchError(f"warm-up setup did not finish within {RUN_DEADLINE:g}s") from None
    elapsed = time.monotonic() - began
    log_path.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise BenchError(f"warm-up `arcus-tui setup` failed (exit {done.returncode}); see {log_path}:\n"
                         + "\n".join((done.stdout + done.stderr).splitlines()[-15:]))
    if PASSWORD in done.stdout + done.stderr:
        raise BenchError("the warm-up printed the password")
    return elapsed


def arcus_package(explicit: Optional[Path]) -> tuple[Path, dict]:
    """The real ARCUS package (built from source once, then from the package cache) and what it is."""
    source = find_arcus_source(explicit)
    if source is None or not source.exists():
        raise BenchError(how_to_get_it() if source is None else f"arcus-memcached source {source} does not exist")
    entry = cache_entry(resolve_source(source))
    log(f"ARCUS package from {source} ({'cached' if entry.exists() else 'building once, about 25 s'}: {entry})")
    began = time.monotonic()
    try:
        package = cached_package(source)
    except PackageBuildError as error:
        raise BenchError(f"building the ARCUS package from {source} failed: {error}") from None
    seconds = time.monotonic() - began
    manifest = {}
    try:
        manifest = json.loads((package / "MANIFEST.json").read_text())
    except (OSError, ValueError):
        pass
    built = manifest.get("source", {})
    return package, {"source": str(source), "path": str(package), "get_seconds": round(seconds, 3),
                     "arcus_memcached": f"{built.get('name', '?')} {built.get('version', '?')}",
                     "zookeeper_client": manifest.get("zookeeper_client"),
                     "zookeeper_server": manifest.get("zookeeper_server")}


def measure(args, state: Path, cleanup: list) -> dict:
    package, package_notes = arcus_package(args.arcus_source)
    wait_until_free(args.wait_free)
    load_start = loadavg()
    log(f"load average {load_start}; starting the sandbox in {state}")
    sandbox_state = state / "sandbox"
    up = sandbox_up(HOSTS, PASSWORD, sandbox_state, subnet=SANDBOX_SUBNET, fresh=True, package=package)
    cleanup.append(("sandbox", sandbox_state, up.hosts))
    if up.standin:
        raise BenchError("the sandbox came up with the stand-in memcached, not arcus-memcached")
    hosts = up.hosts
    ssh_dir = state / "gateway-ssh"
    ssh_dir.mkdir(mode=0o700)
    password_file = state / "password"
    password_file.write_text(PASSWORD + "\n")
    password_file.chmod(0o600)
    cluster_file = state / "sandbox.toml"
    cluster_file.write_text(dump_cluster(up.cluster))
    cluster = load_cluster(cluster_file)
    fingerprints = tuple(host.host_key_fingerprint for host in hosts)

    log("warm-up: `arcus-tui setup` from nothing (key made and copied with the password)")
    warm = warm_up(cluster_file, ssh_dir, password_file, fingerprints, state / "warmup.log")
    log(f"warm-up done in {warm:.2f}s")
    key = ssh_dir / "id_ed25519"
    if not key.exists():
        raise BenchError(f"the warm-up left no gateway key at {key}")
    openssh = OpenSsh(state / "openssh", key, hosts)
    dotfiles = check_no_dotfiles(hosts, openssh.ssh)
    probe = []
    for _ in range(5):
        mark = time.monotonic()
        openssh.must(hosts[0], "true")
        probe.append(time.monotonic() - mark)
    log(f"one `ssh host true`: median {statistics.median(probe):.3f}s")
    cli_start = []
    for _ in range(3):  # what the CLI adds before setup starts: interpreter + imports + argument parsing
        mark = time.monotonic()
        subprocess.run([sys.executable, "-m", "arcus_tui", "setup", "--help"], capture_output=True, timeout=60,
                       cwd=str(REPO), env=dict(os.environ, PYTHONPATH=str(REPO)), check=True)
        cli_start.append(time.monotonic() - mark)
    log(f"`arcus-tui setup --help` (CLI start): median {statistics.median(cli_start):.3f}s")

    orders = [("ours", "old", "floor"), ("old", "floor", "ours"), ("floor", "ours", "old")]
    runs = []
    for index in range(args.runs):
        order = orders[index % len(orders)]
        run = {"run": index + 1, "order": list(order), "load": loadavg()}
        for contender in order:
            for attempt in range(1, args.attempts + 1):
                if contender in ("ours", "old"):
                    reset_hosts(hosts)
                    check_hosts_still_ours(hosts, key.with_name(key.name + ".pub"))
                run.setdefault("cpu_busy_before", {})[contender] = wait_for_quiet(args.quiet_wait)
                log(f"run {index + 1}/{args.runs}: {contender}" + (f" (attempt {attempt})" if attempt > 1 else ""))
                before = process_table()
                if contender == "ours":
                    outcome = asyncio.run(run_ours(cluster, ssh_dir, fingerprints))
                elif contender == "old":
                    outcome = run_old(cluster, hosts, openssh)
                else:
                    outcome = run_floor(state / "floor")
                outcome["other_cpu_seconds"] = other_cpu_seconds(before, process_table(), hosts)
                run[contender] = outcome
                log(f"  {contender}: {outcome['total']:.2f}s (other work meanwhile: "
                    f"{outcome['other_cpu_seconds']:.2f} CPU s)")
                if not disturbed(outcome):
                    break
                run.setdefault("disturbed", []).append({"contender": contender, "total": outcome["total"],
                                                        "other_cpu_seconds": outcome["other_cpu_seconds"]})
        run["ours_over_floor"] = run["ours"]["total"] / run["floor"]["total"]
        run["ours_over_old"] = run["ours"]["total"] / run["old"]["total"]
        runs.append(run)
    reset_hosts(hosts)

    medians = aggregate(runs)
    ratio_floor = medians["ours"]["median"] / medians["floor"]["median"]
    return {
        "benchmark": "setup on the 3-host sandbox",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": f"python bench/setup_sandbox.py --runs {args.runs}",
        "machine": machine_notes(),
        "load_start": load_start,
        "load_end": loadavg(),
        "package": package_notes,
        "zookeeper_version": next((r["floor"].get("zookeeper_version") for r in runs
                                   if r["floor"].get("zookeeper_version")), None),
        "sandbox": {"hosts": [f"{h.user}@{h.address}:{SSH_PORT}" for h in hosts],
                    "zookeeper_members": list(cluster.ensemble),
                    "memcached_nodes": [node.endpoint for node in cluster.nodes()],
                    "floor_members": [f"{a}:2181" for a in FLOOR_ADDRESSES]},
        "login_shells": dotfiles,
        "ssh_true_seconds": summary(probe),
        "cli_start_seconds": summary(cli_start),
        "warm_up_cli_seconds": warm,
        "runs": runs,
        "medians": medians,
        "ratio_of_medians": {"ours_over_floor": ratio_floor,
                             "ours_over_old": medians["ours"]["median"] / medians["old"]["median"]},
        "attempts": args.attempts,
        "disturbed_share_of_one_cpu": DISTURBED_SHARE,
        "target": f"ours < {TARGET_RATIO} x floor",
        "target_met": ratio_floor < TARGET_RATIO,
    }


def clean_up(cleanup: list) -> None:
    for kind, sandbox_state, hosts in reversed(cleanup):
        if kind != "sandbox":
            continue
        try:  # the deploy's processes first, while the sandbox sshd still guards the hosts
            for line in stop_hosts(hosts, sshd=False) + stop_stray_nodes(hosts):
                log(f"cleanup: {line}")
        except Exception as error:  # keep going: the files and the sandbox still get their turn
            log(f"cleanup: {error}")
        for host in hosts:
            shutil.rmtree(Path(host.install_dir), ignore_errors=True)
        try:
            for line in sandbox_down(sandbox_state):
                log(f"cleanup: {line}")
        except Exception as error:
            log(f"cleanup: sandbox down: {error}")


def run_on_practice_hosts(args, measure, prefix: str) -> tuple[int, Optional[dict]]:
    """`measure(args, state, cleanup)` while holding the practice hosts, with a private state
    directory; the clean-up runs still holding them, on errors, Ctrl-C and SIGTERM too.
    (exit code, result); the result is None when the run did not finish."""

    def terminate(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    state = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    state.chmod(0o700)
    cleanup: list = []
    failed = True
    try:
        with exclusive_use(args.wait_free):  # the practice logins are shared with test sessions
            try:
                result = measure(args, state, cleanup)
            finally:  # still holding the practice hosts: nobody else may start on them meanwhile
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # let the clean-up finish
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                clean_up(cleanup)
        failed = False
    except KeyboardInterrupt:
        log("interrupted")
        return 130, None
    except (BenchError, SandboxError) as error:
        log(f"failed: {error}")
        return 1, None
    except Exception:  # noqa: BLE001 - anything else: show it; the clean-up has run
        import traceback

        traceback.print_exc()
        return 1, None
    finally:
        if failed or args.keep_state:
            log(f"state kept in {state}")
        else:
            shutil.rmtree(state, ignore_errors=True)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    return 0, result


def add_sandbox_options(parser, output: str, quiet_default: float) -> None:
    """The options every benchmark on the practice hosts takes."""
    parser.add_argument("--wait-free", type=float, default=600.0,
                        help="seconds to wait for another user of the sandbox (a test session) to finish (default 600)")
    parser.add_argument("--arcus-source", type=Path, default=None, metavar="SRC",
                        help="arcus-memcached source to build the package from (default: $ARCUS_MEMCACHED_SOURCE "
                             "or ../shared/arcus/arcus-memcached-*.tar.gz)")
    parser.add_argument("--quiet-wait", type=float, default=quiet_default,
                        help=f"before each timed case, wait up to this many seconds for the CPUs to be less "
                             f"than {QUIET_BUSY * 100:.0f}%% busy (other work on a shared machine; "
                             f"default {quiet_default:g}, 0 = never)")
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results" / output)
    parser.add_argument("--keep-state", action="store_true", help="keep the private state directory in /tmp")


def run_and_record(args, measure, prefix: str, markdown) -> int:
    """Run `measure` on the practice hosts (root only), write its result to --output and print
    its table and command."""
    if os.geteuid() != 0:
        print("needs root: the practice sandbox makes a login per practice host", file=sys.stderr)
        return 2
    code, result = run_on_practice_hosts(args, measure, prefix)
    if result is None:
        return code
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    log(f"wrote {args.output}")
    print(markdown(result))
    print(f"\ncommand: {result['command']}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each contender (default 5)")
    parser.add_argument("--attempts", type=int, default=3,
                        help=f"run a contender again when other work kept more than {DISTURBED_SHARE:g} of one "
                             "CPU busy while it ran, at most this many times in all (default 3; the last attempt "
                             "is kept)")
    add_sandbox_options(parser, "setup_sandbox.json", quiet_default=120.0)
    args = parser.parse_args()
    if not 1 <= args.runs <= 50:
        parser.error("--runs must be between 1 and 50")
    if not 1 <= args.attempts <= 10:
        parser.error("--attempts must be between 1 and 10")
    problems = []
    if zookeeper_installed():  # the floor runs Debian's ZooKeeper; the package bundles it too
        problems.append(zookeeper_installed())
    try:
        find_zookeeper_server(None)
    except PackageBuildError as error:
        problems.append(str(error))
    for tool in ("ssh", "scp", "nc", "ss"):
        if shutil.which(tool) is None:
            problems.append(f"{tool} is not installed")
    if problems:
        print("cannot run: " + "; ".join(problems), file=sys.stderr)
        return 2
    return run_and_record(args, measure, "arcus-bench-setup-", markdown)

if __name__ == "__main__":
    sys.exit(main())
