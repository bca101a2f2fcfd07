"""The setup and teardown plans: step order, zoo.cfg and myid (docs/arcus.md#zookeeper-configuration),
the ARCUS memcached command line (docs/arcus.md#the-memcached-command-line) with -P, and shell quoting proven by
running the generated commands with bash against fake binaries.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from arcus_tui.deploy import actions, recipes
from arcus_tui.deploy.plan import ENSEMBLE, PlanOptions, StepId, setup_plan, teardown_plan
from arcus_tui.deploy.releases import release_id, switch_action
from arcus_tui.events import GATEWAY
from arcus_tui.model import load_cluster, parse_cluster
from arcus_tui.model.arcus_json import export_arcus

SAMPLES = Path(__file__).resolve().parents[2] / "sample_clusters"
SAMPLE_PATHS = sorted(SAMPLES.glob("*.toml"))
SEED = SAMPLES / "colocated.toml"

ARCUS_SH_ORDER = [  # docs/arcus.md#setup-order, with the SSH key and package steps in front
    StepId.MAKE_KEY, StepId.COPY_KEY, StepId.VERIFY_LOGIN, StepId.UPLOAD_PACKAGE, StepId.SWITCH_RELEASE,
    StepId.ZOOKEEPER_MEMBERSHIP, StepId.ZOOKEEPER_CONFIG, StepId.ZOOKEEPER_START, StepId.ZOOKEEPER_QUORUM, StepId.ZOOKEEPER_INIT,
    StepId.REGISTER, StepId.MEMCACHED_START, StepId.MEMCACHED_ONLINE,
]
ZOOKEEPER_MEMBER_STEPS = {StepId.ZOOKEEPER_MEMBERSHIP, StepId.ZOOKEEPER_CONFIG, StepId.ZOOKEEPER_START, StepId.ZOOKEEPER_QUORUM}


def cluster_from(text: str):
    result = parse_cluster(textwrap.dedent(text), "t.toml")
    assert result.errors == [], [p.format("t.toml") for p in result.errors]
    return result.cluster


def run_commands(plan):
    """(step id, target, RunCommand) for every shell command of a plan."""
    for step in plan.steps:
        for target, target_actions in step.actions.items():
            for action in target_actions:
                if isinstance(action, actions.RunCommand):
                    yield step.id, target, action


def bash(command: str, home: Path, timeout: float = 20, **env: str) -> subprocess.CompletedProcess:
    environment = {"HOME": str(home), "PATH": os.environ["PATH"], "USER": "intruder", "LANG": "C"} | env
    return subprocess.run(["bash", "-c", command], env=environment, capture_output=True, text=True, timeout=timeout)


def expand(path: str, home: Path) -> str:
    """What a remote login shell makes of a plan's `~/...` path."""
    return str(home) + path[1:] if path.startswith("~/") else path


def zoo_cfg_entries(content: str) -> dict[str, str]:
    entries = {}
    for line in content.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            assert key not in entries, f"{key} written twice"
            entries[key] = value
    return entries


def write_file_actions(plan, step_id, host_name):
    return [a for a in plan.step(step_id).actions[host_name] if isinstance(a, actions.WriteFile)]


# --- steps --------------------------------------------------------------------

@pytest.mark.parametrize("sample", SAMPLE_PATHS, ids=lambda p: p.name)
def test_setup_steps_follow_arcus_sh_order_and_depend_only_on_earlier_steps(sample):
    plan = setup_plan(load_cluster(sample))
    ids = [step.id for step in plan.steps]
    assert len(ids) == len(set(ids))
    assert ids == [step for step in ARCUS_SH_ORDER if step in ids]
    for position, step in enumerate(plan.steps):
        for dependency in step.depends_on:
            if dependency in ids:
                assert ids.index(dependency) < position, f"{step.id} depends on a later {dependency}"


def test_colocated_setup_has_every_step():
    ids = [step.id for step in setup_plan(load_cluster(SEED)).steps]
    assert ids == [step for step in ARCUS_SH_ORDER if step not in (StepId.UPLOAD_PACKAGE, StepId.SWITCH_RELEASE)]


def test_teardown_is_the_way_back():
    plan = teardown_plan(load_cluster(SEED))
    # first the check that the ensemble serves no other service code, which the ZooKeeper stop waits for
    assert [step.id for step in plan.steps] == [StepId.ENSEMBLE_UNSHARED, StepId.MEMCACHED_STOP, StepId.UNREGISTER,
                                                StepId.ZOOKEEPER_STOP]
    assert set(plan.step(StepId.ZOOKEEPER_STOP).depends_on) == {StepId.ENSEMBLE_UNSHARED, StepId.UNREGISTER}
    assert [step.id for step in teardown_plan(load_cluster(SEED), PlanOptions(stop_zookeeper=False)).steps] == [
        StepId.MEMCACHED_STOP, StepId.UNREGISTER]
    external = teardown_plan(load_cluster(SAMPLES / "existing-zookeeper.toml"))
    assert [step.id for step in external.steps] == [StepId.MEMCACHED_STOP, StepId.UNREGISTER]  # no member of ours


def test_step_targets():
    cluster = load_cluster(SAMPLES / "large-200-nodes.toml")
    plan = setup_plan(cluster)
    every_host = [host.name for host in cluster.hosts]
    members = [host.name for host in cluster.hosts if host.zookeeper]
    assert list(plan.step(StepId.MAKE_KEY).targets) == [GATEWAY]
    assert list(plan.step(StepId.COPY_KEY).targets) == every_host
    assert list(plan.step(StepId.VERIFY_LOGIN).targets) == every_host
    assert list(plan.step(StepId.ZOOKEEPER_CONFIG).targets) == members == every_host[:5]
    assert list(plan.step(StepId.ZOOKEEPER_START).targets) == members
    for step_id in (StepId.ZOOKEEPER_QUORUM, StepId.ZOOKEEPER_INIT, StepId.REGISTER, StepId.MEMCACHED_ONLINE):
        assert list(plan.step(step_id).targets) == [ENSEMBLE]
    start = plan.step(StepId.MEMCACHED_START)
    assert list(start.targets) == every_host
    assert sum(len(acts) for acts in start.actions.values()) == 200


def test_hosts_without_memcached_get_no_memcached_start():
    cluster = cluster_from("""
        [cluster]
        service_code = "svc"
        [[host]]
        name = "zk"
        address = "10.0.0.1"
        zookeeper = true
        [[host]]
        name = "mc"
        address = "10.0.0.2"
        memcached = [11211]
    """)
    plan = setup_plan(cluster)
    assert list(plan.step(StepId.MEMCACHED_START).targets) == ["mc"]
    assert list(plan.step(StepId.ZOOKEEPER_START).targets) == ["zk"]
    assert list(teardown_plan(cluster).step(StepId.MEMCACHED_STOP).targets) == ["mc"]
    assert list(teardown_plan(cluster).step(StepId.ZOOKEEPER_STOP).targets) == ["zk"]


def test_package_upload_goes_to_hosts_with_a_role_before_anything_runs_there():
    cluster = cluster_from("""
        [cluster]
        service_code = "svc"
        install_dir = "/opt/arcus"
        package = "/srv/builds/arcus.tar.gz"
        [[host]]
        name = "zk"
        address = "10.0.0.1"
        zookeeper = true
        [[host]]
        name = "idle"
        address = "10.0.0.2"
        [[host]]
        name = "mc"
        address = "10.0.0.3"
        memcached = [11211]
        install_dir = "~/arcus"
    """)
    plan = setup_plan(cluster)
    ids = [step.id for step in plan.steps]
    assert ids.index(StepId.VERIFY_LOGIN) < ids.index(StepId.UPLOAD_PACKAGE) < ids.index(StepId.ZOOKEEPER_CONFIG)
    upload = plan.step(StepId.UPLOAD_PACKAGE)
    release = release_id("/srv/builds/arcus.tar.gz")  # each package into a release directory of its own
    assert upload.actions == {
        "zk": (actions.Upload("/srv/builds/arcus.tar.gz", f"/opt/arcus/releases/{release}"),),
        "mc": (actions.Upload("/srv/builds/arcus.tar.gz", f"~/arcus/releases/{release}"),),
    }
    switch = plan.step(StepId.SWITCH_RELEASE)  # then `current` points at it, on the same hosts
    assert ids.index(StepId.UPLOAD_PACKAGE) + 1 == ids.index(StepId.SWITCH_RELEASE)
    assert switch.targets == ("zk", "mc") and switch.depends_on == (StepId.UPLOAD_PACKAGE,)
    assert switch.actions["zk"] == (switch_action("/opt/arcus", release),)
    for started in (StepId.MEMCACHED_START, StepId.ZOOKEEPER_START):  # both run what `current` names
        assert StepId.SWITCH_RELEASE in plan.step(started).depends_on


# --- zoo.cfg and myid (§5) ----------------------------------------------------

def test_zoo_cfg_of_the_seed_layout():
    cluster = load_cluster(SEED)
    plan = setup_plan(cluster)
    for number, host in enumerate(cluster.hosts, start=1):
        zoo_cfg, myid = write_file_actions(plan, StepId.ZOOKEEPER_CONFIG, host.name)
        assert zoo_cfg_entries(zoo_cfg.content) == {
            "maxClientCnxns": "100",
            "tickTime": "2000",
            "initLimit": "10",
            "syncLimit": "5",
            "dataDir": "/home/arcus/arcus/zookeeper/data",  # user arcus, install_dir ~/arcus
            "clientPort": "2181",
            "4lw.commands.whitelist": "*",
            "minSessionTimeout": "4000",
            "maxSessionTimeout": "200000",
            "server.1": "10.0.0.1:2888:3888",
            "server.2": "10.0.0.2:2888:3888",
            "server.3": "10.0.0.3:2888:3888",
        }
        server_lines = [line for line in zoo_cfg.content.splitlines() if line.startswith("server.")]
        assert server_lines == ["server.1=10.0.0.1:2888:3888", "server.2=10.0.0.2:2888:3888",
                                "server.3=10.0.0.3:2888:3888"]
        assert myid.content.strip() == str(number)
        # this host's myid names the server line with its own address
        assert zoo_cfg_entries(zoo_cfg.content)[f"server.{number}"].startswith(host.address + ":")
        # ZooKeeper reads myid from dataDir
        assert expand(myid.path, Path("/home/arcus")) == zoo_cfg_entries(zoo_cfg.content)["dataDir"] + "/myid"
        assert zoo_cfg.path.endswith("/zoo.cfg")


def test_zoo_cfg_of_the_large_sample_lists_five_members_in_host_order():
    cluster = load_cluster(SAMPLES / "large-200-nodes.toml")
    plan = setup_plan(cluster)
    members = [host for host in cluster.hosts if host.zookeeper]
    expected = {f"server.{i}": f"{host.address}:2888:3888" for i, host in enumerate(members, start=1)}
    for i, host in enumerate(members, start=1):
        zoo_cfg, myid = write_file_actions(plan, StepId.ZOOKEEPER_CONFIG, host.name)
        entries = zoo_cfg_entries(zoo_cfg.content)
        assert {k: v for k, v in entries.items() if k.startswith("server.")} == expected
        assert entries["dataDir"] == "/opt/arcus/zookeeper/data"  # absolute install_dir stays as written
        assert myid.content == f"{i}\n"
        assert myid.path == "/opt/arcus/zookeeper/data/myid"


def test_zoo_cfg_takes_every_setting_from_the_cluster_file():
    cluster = cluster_from("""
        [cluster]
        service_code = "svc"
        user = "root"
        bind_address = true
        [zookeeper]
        client_port = 2191
        quorum_port = 2889
        election_port = 3889
        tick_time = 3000
        init_limit = 20
        sync_limit = 7
        max_client_cnxns = 60
        min_session_timeout = 6000
        max_session_timeout = 120000
        [[host]]
        name = "z1"
        address = "127.0.1.1"
        zookeeper = true
        [[host]]
        name = "z2"
        address = "127.0.1.2"
        zookeeper = true
        install_dir = "/srv/arcus"
        [[host]]
        name = "z3"
        address = "127.0.1.3"
        zookeeper = true
        user = "arcus"
    """)
    plan = setup_plan(cluster, PlanOptions(homes={"z3": "/var/lib/arcus"}))
    data_dirs = {"z1": "/root/arcus/zookeeper/data", "z2": "/srv/arcus/zookeeper/data",
                 "z3": "/var/lib/arcus/arcus/zookeeper/data"}
    for host in cluster.hosts:
        zoo_cfg, _ = write_file_actions(plan, StepId.ZOOKEEPER_CONFIG, host.name)
        assert zoo_cfg_entries(zoo_cfg.content) == {
            "maxClientCnxns": "60", "tickTime": "3000", "initLimit": "20", "syncLimit": "7",
            "dataDir": data_dirs[host.name], "clientPort": "2191", "clientPortAddress": host.address,
            "4lw.commands.whitelist": "*", "minSessionTimeout": "6000", "maxSessionTimeout": "120000",
            "server.1": "127.0.1.1:2889:3889", "server.2": "127.0.1.2:2889:3889", "server.3": "127.0.1.3:2889:3889",
        }
    quorum = plan.step(StepId.ZOOKEEPER_QUORUM).actions[ENSEMBLE][0]
    assert quorum.members == ("127.0.1.1:2191", "127.0.1.2:2191", "127.0.1.3:2191")


# --- the existing-ensemble layout ---------------------------------------------

def test_existing_zookeeper_layout_runs_no_zookeeper_and_points_memcached_at_the_servers():
    cluster = load_cluster(SAMPLES / "existing-zookeeper.toml")
    setup = setup_plan(cluster)
    ids = {step.id for step in setup.steps}
    assert not ids & ZOOKEEPER_MEMBER_STEPS
    assert {StepId.ZOOKEEPER_INIT, StepId.REGISTER, StepId.MEMCACHED_START} <= ids
    assert StepId.ZOOKEEPER_STOP not in {step.id for step in teardown_plan(cluster).steps}
    for _, _, command in run_commands(setup):
        assert "zkServer.sh" not in command.command
    zk = "10.0.0.9:2181,10.0.0.10:2181,10.0.0.11:2181"
    for _, _, command in run_commands(setup):
        words = shlex.split(command.command.split("&&", 1)[1])
        assert words[words.index("-z") + 1] == zk


# --- the memcached command line (§7) ------------------------------------------

TAKES_VALUE = {"-E", "-X", "-U", "-b", "-m", "-p", "-c", "-t", "-z", "-o", "-P", "-l", "-u"}


def options(argv: list[str]) -> list[tuple[str, str]]:
    pairs, i = [], 0
    while i < len(argv):
        if argv[i] in TAKES_VALUE:
            pairs.append((argv[i], argv[i + 1]))
            i += 2
        else:
            pairs.append((argv[i], ""))
            i += 1
    return sorted(pairs)


def arcus_options(root: str, *, port, memlimit, connections, threads, zk) -> list[tuple[str, str]]:
    """docs/arcus.md#the-memcached-command-line, word for word."""
    return sorted([
        ("-E", f"{root}/current/lib/default_engine.so"), ("-X", f"{root}/current/lib/syslog_logger.so"),
        ("-X", f"{root}/current/lib/ascii_scrub.so"), ("-d", ""), ("-v", ""), ("-r", ""), ("-R5", ""), ("-U", "0"),
        ("-D:", ""), ("-b", "8192"), ("-m", str(memlimit)), ("-p", str(port)), ("-c", str(connections)),
        ("-t", str(threads)), ("-z", zk),
    ])


FAKE_MEMCACHED = r"""#!/bin/bash
# stand-in for arcus-memcached: records how it was called, writes the pid it is given
# ($FAKE_PID_<port>, else $FAKE_PID) to -P's file
printf '%s\0' "$0" "$@" > "$FAKE_ARGV"
printf '%s' "${ARCUS_CACHE_PUBLIC_IP-unset}" > "$FAKE_ARGV.ip"
port=; pidfile=
while [ $# -gt 0 ]; do
    case "$1" in -P) pidfile=$2;; -p) port=$2;; esac
    shift
done
if [ -n "$pidfile" ]; then var="FAKE_PID_$port"; printf '%s\n' "${!var:-${FAKE_PID:-999999}}" > "$pidfile"; fi
"""

FAKE_ZKSERVER = r"""#!/bin/bash
printf '%s\0' "$0" "$@" > "$FAKE_ARGV"
printf '%s\0' "${ZOO_LOG_DIR-unset}" "${ZOOPIDFILE-unset}" > "$FAKE_ARGV.env"
mkdir -p "$(dirname "$ZOOPIDFILE")"  # as zkServer.sh start does, which also refuses a pidfile with a live pid:
if [ -f "$ZOOPIDFILE" ] && kill -0 "$(cat "$ZOOPIDFILE")" 2>/dev/null; then
    echo "already running as process $(cat "$ZOOPIDFILE")."; exit 1
fi
printf '%s\n' "${FAKE_PID:-999999}" > "$ZOOPIDFILE"
"""

ZOOKEEPER_MAIN = "org.apache.zookeeper.server.quorum.QuorumPeerMain"


def daemon_argv(*words: str, ignore_signals: bool = False) -> list[str]:
    """A long-running stand-in for a daemon whose command line carries `words`, as the real
    one's does (memcached: its binary and `-p PORT`; ZooKeeper: `...QuorumPeerMain <zoo.cfg>`).
    It dies of SIGINT and SIGTERM like the real ones, or ignores both; it ignores SIGUSR2 last,
    to say that it is ready (`wait_until_ready`)."""
    action = "signal.SIG_IGN" if ignore_signals else "signal.SIG_DFL"
    code = (f"import signal, time; signal.signal(signal.SIGINT, {action}); "
            f"signal.signal(signal.SIGTERM, {action}); signal.signal(signal.SIGUSR2, signal.SIG_IGN); time.sleep(60)")
    return [sys.executable, "-c", code, *words]


def memcached_like(install_dir: Path, port: int, **options) -> list[str]:
    return daemon_argv(str(install_dir / "current" / "bin" / "memcached"), "-d", "-p", str(port), **options)


def zookeeper_like(install_dir: Path) -> list[str]:
    return daemon_argv("-cp", "x.jar", ZOOKEEPER_MAIN, str(install_dir / "zookeeper" / "conf" / "zoo.cfg"))


def wait_until_ready(process) -> None:
    """Until a `daemon_argv` stand-in has set up its signals (it then ignores SIGUSR2)."""
    ready = 1 << (signal.SIGUSR2 - 1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = Path(f"/proc/{process.pid}/status").read_text()
        if int(next(line for line in status.splitlines() if line.startswith("SigIgn:")).split()[1], 16) & ready:
            return
        time.sleep(0.01)
    raise AssertionError("the stand-in daemon never got ready")


FAKE_RELEASE = "1.0-fake"


def install_fake(path: Path, script: str) -> None:
    """An executable stand-in at `path`; one under `<install>/current/` goes into a release
    directory that `current` links to, as the switch step leaves a host."""
    if "current" in path.parts:
        at = path.parts.index("current")
        install = Path(*path.parts[:at])
        install.mkdir(parents=True, exist_ok=True)
        if not (install / "current").is_symlink():
            (install / "current").symlink_to(f"releases/{FAKE_RELEASE}")
        path = install.joinpath("releases", FAKE_RELEASE, *path.parts[at + 1:])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(script)
    path.chmod(0o755)


def read_argv(path: Path) -> list[str]:
    return path.read_bytes().decode().split("\0")[:-1]


def start_memcached(plan, home: Path, tmp: Path, **env) -> dict[int, tuple[list[str], str, actions.RunCommand]]:
    """Run every memcached-start command with bash; {port: (argv, ARCUS_CACHE_PUBLIC_IP, action)}."""
    started = {}
    for number, (_, _, action) in enumerate(
            (c for c in run_commands(plan) if c[0] is StepId.MEMCACHED_START)):
        record = tmp / f"argv{number}"
        result = bash(action.command, home, FAKE_ARGV=str(record), **env)
        assert result.returncode == 0, result.stderr
        argv = read_argv(record)
        port = int(argv[argv.index("-p") + 1])
        started[port] = (argv, (tmp / f"argv{number}.ip").read_text(), action)
    return started


def test_memcached_command_line_of_the_seed_layout(tmp_path):
    home = tmp_path / "home"
    root = f"{home}/arcus"
    install_fake(Path(root) / "current" / "bin" / "memcached", FAKE_MEMCACHED)
    cluster = load_cluster(SEED)
    started = start_memcached(setup_plan(cluster), home, tmp_path)
    assert len(started) == 2  # three hosts, same install dir: the last run per port wins here
    zk = "10.0.0.1:2181,10.0.0.2:2181,10.0.0.3:2181"
    pidfiles = set()
    for port, (argv, public_ip, _) in started.items():
        assert argv[0] == f"{root}/current/bin/memcached"
        pairs = options(argv[1:])
        pidfile = dict(pairs)["-P"]
        pidfiles.add(pidfile)
        assert pidfile.startswith(root + "/") and Path(pidfile).is_file()
        assert [p for p in pairs if p[0] not in ("-P", "-o")] == arcus_options(
            root, port=port, memlimit=100, connections=1000, threads=6, zk=zk)
        assert dict(pairs)["-o"] == "30"  # the session timeout, in seconds, always said out loud
        assert public_ip == "unset"  # only with bind_address
    assert len(pidfiles) == 2  # one pidfile per port


def test_memcached_command_line_uses_each_nodes_merged_settings(tmp_path):
    home = tmp_path / "home"
    install_fake(home / "arcus" / "current" / "bin" / "memcached", FAKE_MEMCACHED)
    cluster = cluster_from("""
        [cluster]
        service_code = "svc"
        user = "arcus"
        [zookeeper]
        servers = ["10.0.0.9:2181", "10.0.0.10:2181", "10.0.0.11:2181"]
        [memcached]
        threads = 6
        memlimit = 1024
        connections = 4000
        [[host]]
        name = "mc"
        address = "10.0.1.1"
        memcached = [11211, { port = 11212, memlimit = 2048 }, { port = 11213, threads = 2, connections = 10 }]
    """)
    started = start_memcached(setup_plan(cluster), home, tmp_path)
    zk = "10.0.0.9:2181,10.0.0.10:2181,10.0.0.11:2181"
    root = f"{home}/arcus"
    expected = {11211: (1024, 4000, 6), 11212: (2048, 4000, 6), 11213: (1024, 10, 2)}
    for port, (memlimit, connections, threads) in expected.items():
        argv = started[port][0]
        assert [p for p in options(argv[1:]) if p[0] not in ("-P", "-o")] == arcus_options(
            root, port=port, memlimit=memlimit, connections=connections, threads=threads, zk=zk)


@pytest.mark.parametrize("sample", SAMPLE_PATHS, ids=lambda p: p.name)
def test_memcached_start_of_every_sample_matches_the_merged_node(sample):
    """Read back with shlex (no execution): one start per node, with that node's -p -m -c -t and the ensemble."""
    cluster = load_cluster(sample)
    plan = setup_plan(cluster)
    start = plan.step(StepId.MEMCACHED_START)
    for host in cluster.hosts:
        nodes = [n for n in cluster.nodes() if n.host == host]
        commands = start.actions.get(host.name, ())
        assert len(commands) == len(nodes)
        for node, action in zip(nodes, commands):
            words = shlex.split(action.command.split("&&", 1)[1])
            pairs = dict(p for p in options(words[1:]) if p[0] != "-X")
            assert (pairs["-p"], pairs["-m"], pairs["-c"], pairs["-t"], pairs["-z"]) == (
                str(node.port), str(node.settings.memlimit), str(node.settings.connections),
                str(node.settings.threads), cluster.connect_string)
            assert "-P" in pairs


@pytest.mark.parametrize("user, expect_u", [("root", True), ("arcus", False)])
def test_u_root_only_when_logging_in_as_root(tmp_path, user, expect_u):
    home = tmp_path / "home"
    install_fake(home / "arcus" / "current" / "bin" / "memcached", FAKE_MEMCACHED)
    cluster = cluster_from(f"""
        [cluster]
        service_code = "svc"
        user = "{user}"
        [[host]]
        name = "solo"
        address = "10.0.0.1"
        zookeeper = true
        memcached = [11211]
    """)
    (argv, _, _), = start_memcached(setup_plan(cluster), home, tmp_path).values()
    pairs = options(argv[1:])
    assert (("-u", "root") in pairs) is expect_u
    assert not any(flag == "-u" and value != "root" for flag, value in pairs)


def test_bind_address_adds_l_and_arcus_cache_public_ip(tmp_path):
    home = tmp_path / "home"
    install_fake(home / "arcus" / "current" / "bin" / "memcached", FAKE_MEMCACHED)
    text = """
        [cluster]
        service_code = "svc"
        user = "arcus"
        {bind}
        [[host]]
        name = "h1"
        address = "127.0.1.1"
        zookeeper = true
        memcached = [11211]
    """
    bound = cluster_from(text.format(bind="bind_address = true"))
    (argv, public_ip, _), = start_memcached(setup_plan(bound), home, tmp_path).values()
    assert ("-l", "127.0.1.1") in options(argv[1:])
    assert public_ip == "127.0.1.1"

    unbound = cluster_from(text.format(bind=""))
    (argv, public_ip, _), = start_memcached(setup_plan(unbound), home, tmp_path).values()
    assert "-l" not in argv
    assert public_ip == "unset"


# --- quoting ------------------------------------------------------------------

WEIRD_DIR = "~/my arcus/$USER;x 'q' `id`"


def weird_cluster(install_dir: str = WEIRD_DIR):
    return cluster_from(f"""
        [cluster]
        service_code = "svc"
        user = "arcus"
        install_dir = {json.dumps(install_dir)}
        [[host]]
        name = "h1"
        address = "127.0.1.1"
        zookeeper = true
        memcached = [11211, {{ port = 11212, memlimit = 64 }}]
    """)


@pytest.mark.parametrize("cluster", [load_cluster(p) for p in SAMPLE_PATHS] + [weird_cluster(), weird_cluster(
    "/opt/ar cus/$(reboot)/\"x\"")], ids=[p.name for p in SAMPLE_PATHS] + ["weird-home", "weird-absolute"])
def test_every_command_is_valid_bash(cluster):
    scripts = {}
    for plan in (setup_plan(cluster), teardown_plan(cluster)):
        for step_id, target, action in run_commands(plan):
            for script in filter(None, (action.command, action.unless)):
                scripts.setdefault(script, f"{step_id.value} on {target}")
    assert scripts

    def syntax(script):
        return subprocess.run(["bash", "-n", "-c", script], capture_output=True, text=True, timeout=30)

    with ThreadPoolExecutor(max_workers=8) as pool:
        for (script, where), result in zip(scripts.items(), pool.map(syntax, scripts)):
            assert result.returncode == 0, f"{where}: {script}\n{result.stderr}"


@pytest.fixture
def live_process():
    """A `sleep 60` child whose exit is reaped at once (so `kill -0` sees it gone), killed at the end."""
    started = []

    def start(*argv):
        process = subprocess.Popen(list(argv) or ["sleep", "60"])
        if argv and argv[0] == sys.executable:
            wait_until_ready(process)  # a daemon_argv stand-in
        reaper = threading.Thread(target=process.wait, daemon=True)
        reaper.start()
        started.append(process)
        return process, reaper

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_weird_install_dir_is_used_literally_from_start_to_stop(tmp_path, live_process):
    home = tmp_path / "home"
    root = home / "my arcus" / "$USER;x 'q' `id`"
    install_fake(root / "current" / "bin" / "memcached", FAKE_MEMCACHED)
    install_fake(root / "current" / "zookeeper" / "bin" / "zkServer.sh", FAKE_ZKSERVER)
    cluster = weird_cluster()
    setup, teardown = setup_plan(cluster, PlanOptions(homes={"h1": str(home)})), teardown_plan(cluster)

    # zookeeper-config: the data directory is created where zoo.cfg says it is
    mkdir, zoo_cfg, myid = setup.step(StepId.ZOOKEEPER_CONFIG).actions["h1"]
    assert bash(mkdir.command, home).returncode == 0
    data_dir = zoo_cfg_entries(zoo_cfg.content)["dataDir"]
    assert data_dir == f"{root}/zookeeper/data"
    assert Path(data_dir).is_dir()
    assert expand(myid.path, home) == f"{data_dir}/myid"

    # zookeeper-start: zkServer.sh gets the zoo.cfg that is written, and the pidfile the checks look at
    zk_process, _ = live_process(*zookeeper_like(root))
    (zk_start,) = setup.step(StepId.ZOOKEEPER_START).actions["h1"]
    assert bash(zk_start.unless, home).returncode != 0  # not running yet
    result = bash(zk_start.command, home, FAKE_ARGV=str(tmp_path / "zk"), FAKE_PID=str(zk_process.pid))
    assert result.returncode == 0, result.stderr
    argv = read_argv(tmp_path / "zk")
    # run by its real path, so that its classpath stays the release's whatever `current` becomes
    assert argv == [f"{root}/releases/{FAKE_RELEASE}/zookeeper/bin/zkServer.sh", "start", expand(zoo_cfg.path, home)]
    log_dir, zk_pidfile = read_argv(tmp_path / "zk.env")
    assert Path(log_dir).is_dir() and log_dir.startswith(f"{root}/")
    assert zk_pidfile.startswith(f"{root}/")
    assert bash(zk_start.unless, home).returncode == 0  # now "already running"

    # memcached-start: argv, -P pidfile and the already-running check all use the literal directory
    mc_processes = {port: live_process(*memcached_like(root, port))[0] for port in (11211, 11212)}
    started = start_memcached(setup, home, tmp_path,
                              **{f"FAKE_PID_{port}": str(process.pid) for port, process in mc_processes.items()})
    assert set(started) == {11211, 11212}
    for port, (argv, _, action) in started.items():
        assert argv[0] == f"{root}/current/bin/memcached"
        pairs = options(argv[1:])
        assert [p for p in pairs if p[0] not in ("-P", "-o")] == arcus_options(
            str(root), port=port, memlimit=64 if port == 11212 else 100, connections=1000, threads=6,
            zk="127.0.1.1:2181")
        pidfile = Path(dict(pairs)["-P"])
        assert pidfile.parent.is_dir() and str(pidfile).startswith(f"{root}/")
        assert pidfile.read_text().strip() == str(mc_processes[port].pid)
        assert bash(action.unless, home).returncode == 0  # alive: the start would be skipped
    # nothing was created under an expanded $USER, a split word or a command substitution
    assert sorted(p.name for p in (home / "my arcus").iterdir()) == ["$USER;x 'q' `id`"]
    assert not (home / "my").exists() and not (Path.cwd() / "arcus").exists()

    # teardown: stopping node 11211 stops the process named by its pidfile and removes that file
    stop_11211 = next(a for a in teardown.step(StepId.MEMCACHED_STOP).actions["h1"] if a.port == 11211)
    assert bash(stop_11211.unless, home).returncode != 0  # not gone yet
    result = bash(stop_11211.command, home)
    assert result.returncode == 0, result.stderr
    mc_processes[11211].wait(timeout=5)
    assert mc_processes[11212].poll() is None  # the other node is not touched
    assert not Path(dict(options(started[11211][0][1:]))["-P"]).exists()
    assert Path(dict(options(started[11212][0][1:]))["-P"]).exists()  # the other node's file is left alone
    assert bash(stop_11211.unless, home).returncode == 0  # gone: the stop would be skipped
    assert bash(started[11211][2].unless, home).returncode != 0  # and a start would run again

    (zk_stop,) = teardown.step(StepId.ZOOKEEPER_STOP).actions["h1"]
    result = bash(zk_stop.command, home)
    assert result.returncode == 0, result.stderr
    zk_process.wait(timeout=5)
    assert not Path(zk_pidfile).exists()


# --- stopping -----------------------------------------------------------------

def _stop_action(cluster, step_id, host_name, index=0):
    return teardown_plan(cluster).step(step_id).actions[host_name][index]


def _pidfile_of(cluster, home: Path, tmp_path: Path) -> Path:
    """The -P file of the first node, as memcached would get it."""
    install_fake(home / "arcus" / "current" / "bin" / "memcached", FAKE_MEMCACHED)
    (argv, _, _) = start_memcached(setup_plan(cluster), home, tmp_path)[11211]
    return Path(argv[argv.index("-P") + 1])


def _solo():
    return cluster_from("""
        [cluster]
        service_code = "svc"
        user = "arcus"
        [[host]]
        name = "solo"
        address = "10.0.0.1"
        zookeeper = true
        memcached = [11211]
    """)


def test_memcached_stop_really_stops_the_process_and_removes_the_pidfile(tmp_path, live_process):
    home = tmp_path / "home"
    cluster = _solo()
    pidfile = _pidfile_of(cluster, home, tmp_path)
    process, reaper = live_process(*memcached_like(home / "arcus", 11211))
    pidfile.write_text(f"{process.pid}\n")
    stop = _stop_action(cluster, StepId.MEMCACHED_STOP, "solo")
    began = time.monotonic()
    result = bash(stop.command, home)
    assert result.returncode == 0, result.stderr
    reaper.join(timeout=5)
    assert process.returncode is not None
    assert process.returncode == -signal.SIGINT  # arcus-memcached leaves ZooKeeper on SIGINT
    assert not pidfile.exists()
    assert time.monotonic() - began < 10


def test_zookeeper_stop_really_stops_the_process(tmp_path, live_process):
    home = tmp_path / "home"
    cluster = _solo()
    install_fake(home / "arcus" / "current" / "zookeeper" / "bin" / "zkServer.sh", FAKE_ZKSERVER)
    process, reaper = live_process(*zookeeper_like(home / "arcus"))
    (start,) = setup_plan(cluster).step(StepId.ZOOKEEPER_START).actions["solo"]
    assert bash(start.command, home, FAKE_ARGV=str(tmp_path / "zk"), FAKE_PID=str(process.pid)).returncode == 0
    zk_pidfile = Path(read_argv(tmp_path / "zk.env")[1])
    stop = _stop_action(cluster, StepId.ZOOKEEPER_STOP, "solo")
    result = bash(stop.command, home)
    assert result.returncode == 0, result.stderr
    reaper.join(timeout=5)
    assert process.returncode is not None
    assert not zk_pidfile.exists()


def test_stop_gives_up_after_a_bounded_wait(tmp_path, live_process, monkeypatch):
    monkeypatch.setattr(recipes, "STOP_WAIT_SECONDS", 1)
    home = tmp_path / "home"
    cluster = _solo()
    pidfile = _pidfile_of(cluster, home, tmp_path)
    stubborn, _ = live_process(*memcached_like(home / "arcus", 11211, ignore_signals=True))
    pidfile.write_text(f"{stubborn.pid}\n")
    stop = _stop_action(cluster, StepId.MEMCACHED_STOP, "solo")
    began = time.monotonic()
    result = bash(stop.command, home)
    elapsed = time.monotonic() - began
    assert result.returncode != 0
    assert "still running" in result.stderr
    assert 0.8 < elapsed < 8
    assert stubborn.poll() is None  # it is still there, and so is its pidfile: nothing pretends it stopped
    assert pidfile.exists()


def test_stop_fails_without_a_pidfile(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    stop = _stop_action(_solo(), StepId.MEMCACHED_STOP, "solo")
    assert bash(stop.command, home, timeout=10).returncode != 0


# --- the liveness tests -------------------------------------------------------

@pytest.mark.parametrize("pidfile_name", ["p.pid", "dir with space/$x 'p'.pid"])
def test_process_alive_and_gone_tests(tmp_path, live_process, pidfile_name):
    home = tmp_path
    pidfile = tmp_path / pidfile_name
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    plan_path = "~/" + pidfile_name
    identity = recipes.memcached_identity("~/arcus", 11211)
    alive = recipes.process_alive_test(plan_path, identity)
    gone = recipes.process_gone_test(plan_path, identity)

    def truth():
        return bash(alive, home).returncode == 0, bash(gone, home).returncode == 0

    assert truth() == (False, True)  # no pidfile
    pidfile.write_text("")
    assert truth() == (False, True)  # empty pidfile
    pidfile.write_text("not-a-pid\n")
    assert truth() == (False, True)
    process, reaper = live_process(*memcached_like(home / "arcus", 11211))
    pidfile.write_text(f"{process.pid}\n")
    assert truth() == (True, False)  # a live process
    process.kill()
    reaper.join(timeout=5)
    assert truth() == (False, True)  # the process is gone, the pidfile stayed


# --- a pidfile that names somebody else's process ----------------------------
# After a reboot (or a crash and a long wait) the PID in a pidfile can belong to anything.
# The start must not skip the node as "already running", and the stop must not signal it.

SHELLS = ["bash", "sh"]  # the login shell of a host may be dash


def in_shell(shell: str, command: str, home: Path, timeout: float = 20) -> subprocess.CompletedProcess:
    environment = {"HOME": str(home), "PATH": os.environ["PATH"], "LANG": "C"}
    return subprocess.run([shell, "-c", command], env=environment, capture_output=True, text=True, timeout=timeout)


def _start_action(cluster, step_id, host_name, index=0):
    return setup_plan(cluster).step(step_id).actions[host_name][index]


def _solo_with_pidfiles(home: Path):
    """The solo cluster, its memcached and ZooKeeper pidfiles (as the processes would write them)."""
    pids = home / "arcus" / "pids"
    zk_data = home / "arcus" / "zookeeper" / "data"
    pids.mkdir(parents=True)
    zk_data.mkdir(parents=True)
    return _solo(), pids / "memcached.11211.pid", zk_data / "zookeeper_server.pid"


def _strangers(home: Path):
    """Processes a stale pidfile may name: unrelated, another node of the same install, another install's."""
    return {
        "sleep": ["sleep", "30"],
        "another node": memcached_like(home / "arcus", 11212),
        "another install": memcached_like(home / "other", 11211),
    }


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("stranger", ["sleep", "another node", "another install"])
def test_a_memcached_pidfile_naming_another_process_counts_as_not_running(tmp_path, live_process, shell, stranger):
    home = tmp_path / "home"
    cluster, pidfile, _ = _solo_with_pidfiles(home)
    process, _ = live_process(*_strangers(home)[stranger])
    pidfile.write_text(f"{process.pid}\n")
    start = _start_action(cluster, StepId.MEMCACHED_START, "solo")
    stop = _stop_action(cluster, StepId.MEMCACHED_STOP, "solo")
    assert in_shell(shell, start.unless, home).returncode != 0  # the node is started, not skipped as running
    assert in_shell(shell, stop.unless, home).returncode == 0  # and the teardown has nothing to stop


@pytest.mark.parametrize("shell", SHELLS)
def test_a_zookeeper_pidfile_naming_another_process_counts_as_not_running(tmp_path, live_process, shell):
    home = tmp_path / "home"
    cluster, _, pidfile = _solo_with_pidfiles(home)
    process, _ = live_process("sleep", "30")
    pidfile.write_text(f"{process.pid}\n")
    start = _start_action(cluster, StepId.ZOOKEEPER_START, "solo")
    stop = _stop_action(cluster, StepId.ZOOKEEPER_STOP, "solo")
    assert in_shell(shell, start.unless, home).returncode != 0
    assert in_shell(shell, stop.unless, home).returncode == 0


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("stranger", ["sleep", "another node", "another install"])
def test_memcached_stop_never_signals_another_process(tmp_path, live_process, shell, stranger):
    home = tmp_path / "home"
    cluster, pidfile, _ = _solo_with_pidfiles(home)
    process, _ = live_process(*_strangers(home)[stranger])
    pidfile.write_text(f"{process.pid}\n")
    result = in_shell(shell, _stop_action(cluster, StepId.MEMCACHED_STOP, "solo").command, home)
    time.sleep(0.2)  # a signal, had one been sent, has landed by now
    assert process.poll() is None, "a process that is not this node was signalled"
    assert result.returncode == 0, result.stderr  # this node is not running: nothing to stop
    said = result.stdout + result.stderr
    assert f"process {process.pid}" in said and "not signalled" in said
    assert not pidfile.exists()  # the stale pidfile is gone, so nothing trusts it again


@pytest.mark.parametrize("shell", SHELLS)
def test_zookeeper_stop_never_signals_another_process(tmp_path, live_process, shell):
    home = tmp_path / "home"
    cluster, _, pidfile = _solo_with_pidfiles(home)
    process, _ = live_process(*memcached_like(home / "arcus", 11211))  # ours, but not ZooKeeper
    pidfile.write_text(f"{process.pid}\n")
    result = in_shell(shell, _stop_action(cluster, StepId.ZOOKEEPER_STOP, "solo").command, home)
    time.sleep(0.2)
    assert process.poll() is None, "a process that is not ZooKeeper was signalled"
    assert result.returncode == 0, result.stderr
    assert not pidfile.exists()


@pytest.mark.parametrize("shell", SHELLS)
def test_zookeeper_starts_over_a_stale_pidfile_that_names_a_live_process(tmp_path, live_process, shell):
    """zkServer.sh itself refuses to start while its pidfile names any live pid."""
    home = tmp_path / "home"
    cluster, _, pidfile = _solo_with_pidfiles(home)
    install_fake(home / "arcus" / "current" / "zookeeper" / "bin" / "zkServer.sh", FAKE_ZKSERVER)
    stranger, _ = live_process("sleep", "30")
    pidfile.write_text(f"{stranger.pid}\n")
    ours, _ = live_process(*zookeeper_like(home / "arcus"))
    start = _start_action(cluster, StepId.ZOOKEEPER_START, "solo")
    environment = {"HOME": str(home), "PATH": os.environ["PATH"], "LANG": "C",
                   "FAKE_ARGV": str(tmp_path / "zk"), "FAKE_PID": str(ours.pid)}
    result = subprocess.run([shell, "-c", start.command], env=environment, capture_output=True, text=True,
                            timeout=20)
    assert result.returncode == 0, result.stdout + result.stderr
    assert pidfile.read_text().strip() == str(ours.pid)
    assert stranger.poll() is None
    assert in_shell(shell, start.unless, home).returncode == 0  # and now it is running


@pytest.mark.parametrize("content", ["-1", "0", "1 2", "$(touch pwned)", "../../1"])
def test_a_pidfile_with_something_else_than_one_pid_names_no_process(tmp_path, content):
    """`kill -0 -1` succeeds (it "signals" every process we may signal): never trust it."""
    home = tmp_path / "home"
    cluster, pidfile, _ = _solo_with_pidfiles(home)
    pidfile.write_text(content + "\n")
    start = _start_action(cluster, StepId.MEMCACHED_START, "solo")
    assert in_shell("bash", start.unless, home).returncode != 0
    assert not (home / "pwned").exists() and not Path("pwned").exists()


def test_the_identity_of_a_pidfile_follows_the_install_layout():
    memcached = recipes.identity_of_pidfile("~/my arcus/pids/memcached.11212.pid")
    assert memcached == recipes.memcached_identity("~/my arcus", 11212)
    assert recipes.identity_of_pidfile("/opt/arcus/zookeeper/data/zookeeper_server.pid") == \
        recipes.zookeeper_identity("/opt/arcus")
    with pytest.raises(ValueError):
        recipes.identity_of_pidfile("/var/run/something.pid")


# --- registry steps -----------------------------------------------------------

def test_register_writes_one_mapping_per_node_with_its_merged_config():
    cluster = load_cluster(SAMPLES / "existing-zookeeper.toml")
    plan = setup_plan(cluster)
    (register,) = plan.step(StepId.REGISTER).actions[ENSEMBLE]
    assert register.service_code == "shop-cache"
    assert register.cluster_json == export_arcus(cluster)
    expected = {f"{n.host.address}:{n.port}": {"port": str(n.port), "threads": str(n.settings.threads),
                                               "memlimit": str(n.settings.memlimit),
                                               "connections": str(n.settings.connections)}
                for n in cluster.nodes()}
    assert expected["10.0.1.3:11211"]["memlimit"] == "2048"
    described = [line.strip() for line in register.describe()]
    written = {}
    for line in described:
        if line.startswith("create /arcus/cache_server_mapping/") and " = " in line:
            path, _, config = line.removeprefix("create ").partition(" = ")
            written[path.rsplit("/", 1)[1]] = json.loads(config)
    assert written == expected  # one mapping per node, holding its merged config
    for endpoint in expected:
        assert f"create /arcus/cache_server_mapping/{endpoint}/shop-cache" in described
    text = "\n".join(described)
    assert "/arcus/cache_list/shop-cache" in text and "/arcus/client_list/shop-cache" in text


def test_init_quorum_and_online_steps():
    cluster = load_cluster(SEED)
    plan = setup_plan(cluster)
    (init,) = plan.step(StepId.ZOOKEEPER_INIT).actions[ENSEMBLE]
    described = "\n".join(init.describe())
    for path in ("/arcus", "/arcus/cache_list", "/arcus/client_list", "/arcus/cache_server_mapping"):
        assert f"create {path}\n" in described + "\n"
    (quorum,) = plan.step(StepId.ZOOKEEPER_QUORUM).actions[ENSEMBLE]
    assert quorum.members == cluster.ensemble
    (online,) = plan.step(StepId.MEMCACHED_ONLINE).actions[ENSEMBLE]
    assert online.service_code == "test-cloud"
    assert online.endpoints == tuple(n.endpoint for n in cluster.nodes())
    (unregister,) = teardown_plan(cluster).step(StepId.UNREGISTER).actions[ENSEMBLE]
    assert unregister.service_code == "test-cloud"


def test_describe_prints_every_command_verbatim_and_every_file_in_full():
    cluster = load_cluster(SEED)
    for plan in (setup_plan(cluster), teardown_plan(cluster)):
        text = "\n".join(plan.describe())
        for step in plan.steps:
            assert step.title in text
        for _, _, action in run_commands(plan):
            assert action.command in text
            if action.unless:
                assert action.unless in text
        for step in plan.steps:
            for target_actions in step.actions.values():
                for action in target_actions:
                    if isinstance(action, actions.WriteFile):
                        for line in action.content.splitlines():
                            assert line in text
