"""Monitor benchmark: CPU share and SSH logins per minute at 200 hosts x 2 nodes, 3 s interval.

    .venv/bin/python bench/monitor.py                      # 200 hosts, 30 s per variant
    .venv/bin/python bench/monitor.py --hosts 20 --seconds 15 --no-write

What runs, in one run, each variant in its own headless Textual app (`App.run_test`,
200x50) holding the Monitor pane in a tab, measured over `--seconds` of steady state
(after the first poll has been drawn):
- idle:      the same app with the Monitor tab hidden (the reference: the app's own cost);
- live:      the Monitor shown, fed by the real engine (`LiveMonitor`: one SSH connection per
             host kept open, `kill -0` over it, memcached `stats` and `srvr` over TCP);
- old-pane:  the pane and data path of main before this change (`git show HEAD:...`): a new
             SshSession, so 200 logins, and a new registry read on every poll.
Figures: CPU share of this process (`time.process_time()` over wall time) and logins per
minute (counted by the fake sshds) over the untouched steady state; the time from a
snapshot's publication to the end of its drawing (p50/p95); then key-to-screen latency
(press and the screen's update) for down/up on the node table, twice a second, up to 30
presses within `--key-seconds`.

The fakes run in a separate process (`--serve`), so their CPU is not counted: per host an
asyncssh server on 127.0.6.N:2200 with its own host key (answers the process check, counts
logins), two memcached stand-ins on 127.0.6.N:11211/11212 answering `stats` with growing
counters and `stats settings`, and `srvr` stand-ins on the first three hosts' :2181. The
registry is an in-process stand-in with every node online (the kazoo watch costs nothing
between events; the real session is covered by tests/integration/test_monitor_live.py). The
old path's registry read is the same stand-in, which only favours it. No real daemon, no lock.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ARCUS_TUI_LOOPBACK_ONLY", "1")

SSH_PORT = 2200
PORTS = (11211, 11212)
ZK_PORT = 2181
SERVICE = "bench-monitor"
RESULTS = ROOT / "bench" / "results"


def address(index: int) -> str:
    return f"127.0.6.{index + 1}"


# -- the fakes (run with --serve, in their own process) ------------------------------------------


async def serve(hosts: int, key_dir: Path) -> None:
    import logging

    import asyncssh

    logging.getLogger("asyncio").setLevel(logging.ERROR)  # clients that go away mid-write are expected

    logins = [0]
    commands = [0]

    class Server(asyncssh.SSHServer):
        def begin_auth(self, username):
            return True

        def public_key_auth_supported(self):
            return True

        def validate_public_key(self, username, key):
            return True

        def auth_completed(self):
            logins[0] += 1

    async def process(proc):
        commands[0] += 1
        proc.stdout.write("".join(f"{port} 1\n" for port in PORTS))
        proc.exit(0)

    counters: dict[tuple[int, int], int] = {}

    async def memcached(reader, writer, key):
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                if line.strip() == b"stats settings":
                    writer.write(b"STAT maxconns 1000\r\nEND\r\n")
                else:
                    count = counters[key] = counters.get(key, 0) + 1
                    gets = count * (100 + key[0] % 50)
                    writer.write(("".join(f"STAT {name} {value}\r\n" for name, value in (
                        ("uptime", 1000 + count * 3), ("curr_connections", 10 + key[0] % 7),
                        ("cmd_get", gets), ("cmd_set", count * 10), ("get_hits", gets * 9 // 10),
                        ("get_misses", gets - gets * 9 // 10), ("evictions", count // 5),
                        ("bytes", 1_000_000 * (key[0] % 90 + 1)), ("limit_maxbytes", 100 * 2**20))) + "END\r\n")
                        .encode())
                await writer.drain()
        except ConnectionError:
            pass  # the monitor went away: expected at the end of each variant
        finally:
            writer.close()

    async def srvr(reader, writer, mode):
        await reader.read(4)
        writer.write(f"Zookeeper version: 3.8.0\nMode: {mode}\nNode count: 10\n".encode())
        await writer.drain()
        writer.close()

    servers = []
    known_hosts = []
    for index in range(hosts):
        host_key = asyncssh.generate_private_key("ssh-ed25519")
        servers.append(await asyncssh.create_server(
            Server, address(index), SSH_PORT, server_host_keys=[host_key], process_factory=process,
            encoding="utf-8", keepalive_interval=0))
        known_hosts.append(f"[{address(index)}]:{SSH_PORT} {host_key.export_public_key('openssh').decode().strip()}")
        for port in PORTS:
            servers.append(await asyncio.start_server(
                lambda r, w, key=(index, port): memcached(r, w, key), address(index), port))
        if index < 3:
            servers.append(await asyncio.start_server(
                lambda r, w, mode=("leader" if index == 0 else "follower"): srvr(r, w, mode), address(index), ZK_PORT))
    (key_dir / "known_hosts").write_text("\n".join(known_hosts) + "\n")
    print("ready", flush=True)
    reader = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:  # one line in: one JSON line out with the counts; EOF ends the fakes
        line = await reader.readline()
        if not line:
            break
        print(json.dumps({"logins": logins[0], "commands": commands[0]}), flush=True)


class Fakes:
    """The --serve process, started and stopped by its PID."""

    def __init__(self, hosts: int, key_dir: Path) -> None:
        self.process = subprocess.Popen([sys.executable, __file__, "--serve", str(hosts), "--key-dir", str(key_dir)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if line.strip() != "ready":
            self.stop()
            raise RuntimeError(f"the fakes did not start: {line!r}")

    def counts(self) -> dict:
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.process.stdin.close()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


# -- the app side ------------------------------------------------------------------------------


def bench_cluster(hosts: int, key_path: str):
    from arcus_tui.model import Cluster, Host, MemcachedNode

    return Cluster(service_code=SERVICE, user="bench", hosts=tuple(
        Host(f"h{index + 1:03d}", address(index), zookeeper=index < 3, ssh_port=SSH_PORT, user="bench",
             identity_file=key_path, memcached=tuple(MemcachedNode(port) for port in PORTS))
        for index in range(hosts)))


class StandInRegistry:
    """In-process stand-in for `RegistryWatch`: every node mapped and online, no events."""

    def __init__(self, cluster) -> None:
        from arcus_tui.zk.status import compute_status

        endpoints = [node.endpoint for node in cluster.nodes()]
        self.status = compute_status(SERVICE, endpoints, [f"{e}-host" for e in endpoints])
        self.session = None
        self.connect_string = cluster.connect_string
        self.connected = True

    async def ensure(self) -> str:
        self.session = self.session or object()
        return ""

    def services(self):
        return (self.status,)

    def close(self) -> None:
        self.session = None


def load_old_pane():
    """The Monitor pane and tables of HEAD (before this change), as importable modules."""
    where = Path(tempfile.mkdtemp(prefix="bench-old-monitor-"))
    for name, path in (("old_monitor_tables", "arcus_tui/ui/widgets/monitor_tables.py"),
                       ("old_monitor_pane", "arcus_tui/ui/panes/monitor.py")):
        text = subprocess.run(["git", "-C", str(ROOT), "show", f"HEAD:{path}"], check=True, capture_output=True,
                              text=True).stdout
        text = (text.replace("from ..context import", "from arcus_tui.ui.context import")
                .replace("from ..widgets.monitor_tables import", "from old_monitor_tables import"))
        (where / f"{name}.py").write_text(text)
        spec = importlib.util.spec_from_file_location(name, where / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules["old_monitor_pane"]


def make_app(pane_factory, show: bool):
    from textual.app import App
    from textual.widgets import Static, TabbedContent, TabPane

    import arcus_tui.ui.app

    class BenchApp(App[None]):
        CSS_PATH = str(Path(arcus_tui.ui.app.__file__).with_name("app.tcss"))

        def compose(self):
            with TabbedContent(initial="monitor" if show else "other"):
                with TabPane("Other", id="other"):
                    yield Static("another tab")
                with TabPane("Monitor", id="monitor"):
                    self.pane = pane_factory()
                    yield self.pane

    return BenchApp()


def percentile(values: list[float], share: float) -> Optional[float]:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


async def run_variant(name: str, pane_factory, show: bool, seconds: float, fakes: Fakes,
                      first_draw: callable, key_seconds: float) -> dict:
    """Steady state: `seconds` untouched (CPU share, logins), then up to `key_seconds` of
    down/up presses on the node table (key-to-screen latency)."""
    app = make_app(pane_factory, show)
    keys: list[float] = []
    async with app.run_test(size=(200, 50)) as pilot:
        pane = app.pane
        started = time.monotonic()
        while show and not first_draw(pane):
            if time.monotonic() > started + 120:
                raise RuntimeError(f"{name}: no first draw within 120 s")
            await pilot.pause(0.1)
        first_seconds = time.monotonic() - started
        await pilot.pause(1.0)
        logins_before = fakes.counts()["logins"]
        polls_before = pane.polls
        draws = getattr(pane, "bench_draws", None)
        if draws is not None:
            draws.clear()
        wall0, cpu0 = time.monotonic(), time.process_time()
        await asyncio.sleep(seconds)
        wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
        logins = fakes.counts()["logins"] - logins_before
        polls = pane.polls - polls_before
        draws = list(draws or ())  # those of the untouched window only
        if show:
            pane.query_one("#mon-nodes").focus()
            await pilot.pause()
            end = time.monotonic() + key_seconds
            while time.monotonic() < end and len(keys) < 30:
                began = time.monotonic()
                await pilot.press("down" if len(keys) % 2 == 0 else "up")
                await pilot.pause()
                keys.append(time.monotonic() - began)
                await asyncio.sleep(0.5)
    result = {
        "variant": name, "wall_s": round(wall, 2), "cpu_s": round(cpu, 3), "cpu_share": round(cpu / wall, 4),
        "polls": polls, "logins": logins, "logins_per_minute": round(logins / (wall / 60), 1),
    }
    if show:
        result["first_draw_s"] = round(first_seconds, 2)  # the first poll: every login happens here
    if keys:
        result["key_to_screen_ms"] = {"p50": round(statistics.median(keys) * 1000, 1),
                                      "p95": round(percentile(keys, 0.95) * 1000, 1), "presses": len(keys)}
    if draws:
        result["publish_to_drawn_ms"] = {"p50": round(statistics.median(draws) * 1000, 1),
                                         "p95": round(percentile(draws, 0.95) * 1000, 1), "draws": len(draws)}
    return result


def new_pane_factory(cluster, paths):
    from arcus_tui.monitor.live import LiveMonitor
    from arcus_tui.ui.context import AppContext
    from arcus_tui.ui.panes import monitor as monitor_module

    def make():
        # The app's default path (default_feed from the AppContext), with the registry stood in.
        original = monitor_module.live_monitor
        monitor_module.live_monitor = lambda c, p=None, **o: LiveMonitor(
            c, ssh_paths=p, registry=lambda s, on_change: StandInRegistry(c), **o)
        try:
            pane = monitor_module.MonitorPane(AppContext(cluster, ssh_paths=paths))
        finally:
            monitor_module.live_monitor = original
        instrument(pane)
        return pane

    return make


def instrument(pane) -> None:
    """Record, per drawn snapshot, the time from its publication to the end of its drawing."""
    pane.bench_draws = []
    published: dict[int, float] = {}
    feed = pane.feed
    original_publish, original_draw = feed.publish, pane._draw

    def publish(snapshot):
        published[snapshot.sequence] = time.monotonic()
        original_publish(snapshot)

    def draw(snapshot):
        original_draw(snapshot)
        began = published.pop(snapshot.sequence, None)
        if began is not None:
            pane.bench_draws.append(time.monotonic() - began)

    feed.publish = publish
    pane._draw = draw


def old_pane_factory(cluster, paths):
    from arcus_tui.monitor import cloud_status
    from arcus_tui.ui.context import AppContext

    old = load_old_pane()
    registry = StandInRegistry(cluster)
    cloud_status._read_registry = lambda connect_string, timeout: registry.services()

    def make():
        source = lambda: cloud_status.collect_status(cluster, ssh_paths=paths)  # noqa: E731
        return old.MonitorPane(AppContext(cluster, ssh_paths=paths), source)

    return make


def machine() -> dict:
    import asyncssh
    import textual

    return {"nproc": os.cpu_count(), "python": platform.python_version(), "textual": textual.__version__,
            "asyncssh": asyncssh.__version__, "kernel": platform.release()}


async def measure(args) -> dict:
    from arcus_tui.ssh import SshPaths, ensure_gateway_key

    key_dir = Path(tempfile.mkdtemp(prefix="bench-monitor-ssh-"))
    key_dir.chmod(0o700)
    key = ensure_gateway_key(key_dir)
    paths = SshPaths.under(key_dir)
    cluster = bench_cluster(args.hosts, str(key.path))
    fakes = Fakes(args.hosts, key_dir)
    rows = []
    try:
        load0 = os.getloadavg()
        rows.append(await run_variant("idle (Monitor tab hidden)", new_pane_factory(cluster, paths), False,
                                      args.seconds, fakes, lambda pane: True, 0))
        rows.append(await run_variant("live engine, Monitor shown", new_pane_factory(cluster, paths), True,
                                      args.seconds, fakes, lambda pane: pane.drawn is not None, args.key_seconds))
        if not args.skip_old:
            rows.append(await run_variant("old pane (HEAD), Monitor shown", old_pane_factory(cluster, paths), True,
                                          args.seconds, fakes, lambda pane: pane.last_update is not None,
                                          args.key_seconds))
    finally:
        fakes.stop()
    idle, live = rows[0], rows[1]
    result = {
        "benchmark": "Monitor at N hosts x 2 nodes, 3 s interval",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": " ".join(["python bench/monitor.py", *sys.argv[1:]]),
        "hosts": args.hosts, "nodes": args.hosts * len(PORTS), "interval_s": 3, "seconds_per_variant": args.seconds,
        "machine": machine(), "load_start": [round(x, 2) for x in load0],
        "load_end": [round(x, 2) for x in os.getloadavg()],
        "variants": rows,
        "monitor_cpu_share_over_idle": round(live["cpu_share"] - idle["cpu_share"], 4),
        "target": {"monitor_cpu_share": "< 0.10 of one core", "steady_logins_per_minute": 0},
    }
    if len(rows) > 2:
        result["old_over_live_cpu"] = round(rows[2]["cpu_share"] / live["cpu_share"], 1) if live["cpu_share"] else None
    return result


def markdown(result: dict) -> str:
    lines = [
        f"## Monitor: {result['hosts']} hosts x 2 nodes, every 3 s",
        "",
        f"`{result['command']}` ({result['date']}, {result['machine']['nproc']} cores, Python "
        f"{result['machine']['python']}, Textual {result['machine']['textual']}). Each variant runs "
        f"{result['seconds_per_variant']:g} s at steady state in a headless app (`run_test`, 200x50); fakes "
        "(sshd, memcached, `srvr`) in another process, registry stood in.",
        "",
        "| variant | CPU share of one core | polls | SSH logins / min | first draw | publish to drawn p50 / p95 "
        "| key to screen p50 / p95 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in result["variants"]:
        drawn = row.get("publish_to_drawn_ms")
        keys = row.get("key_to_screen_ms")
        lines.append(
            f"| {row['variant']} | {row['cpu_share'] * 100:.1f} % | {row['polls']} | {row['logins_per_minute']:g} | "
            + (f"{row['first_draw_s']:g} s" if "first_draw_s" in row else "-") + " | "
            + (f"{drawn['p50']:g} / {drawn['p95']:g} ms" if drawn else "-") + " | "
            + (f"{keys['p50']:g} / {keys['p95']:g} ms" if keys else "-") + " |")
    lines += ["", f"The Monitor's own cost (shown minus hidden): **{result['monitor_cpu_share_over_idle'] * 100:.1f} %** "
                  "of one core (target < 10 %); logins at steady state with the live engine: "
                  f"**{result['variants'][1]['logins_per_minute']:g} / min** (target 0)."]
    if "old_over_live_cpu" in result:
        lines.append(f"The old pane path costs {result['old_over_live_cpu']:g}x the CPU of the live one.")
    lines += [
        "",
        "Where the difference comes from: the old pane logged in to every host and read the whole "
        "registry on every poll, and updated each node cell with `update_width=True`, which makes "
        "DataTable re-measure the whole column whenever a value gets narrower (rows x cells per poll: "
        "seconds at 400 nodes, so the loop never caught up). The live engine keeps its SSH, ZooKeeper "
        "and memcached connections, checks processes only where `stats` did not answer plus a tenth of "
        "the fleet per poll in turn, and the table updates only changed cells of the rows in view "
        "(the others when they scroll in), widening a column but never re-measuring it.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--key-seconds", type=float, default=20.0, help="time for the key presses per variant")
    parser.add_argument("--skip-old", action="store_true", help="do not measure the old pane path")
    parser.add_argument("--no-write", action="store_true", help="print, do not write bench/results/monitor.*")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--key-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve, args.key_dir))
        return 0
    if not 1 <= args.hosts <= 250:
        parser.error("--hosts must be between 1 and 250 (127.0.6.1-250)")
    result = asyncio.run(measure(args))
    text = markdown(result)
    print(text)
    if not args.no_write:
        (RESULTS / "monitor.json").write_text(json.dumps(result, indent=2) + "\n")
        (RESULTS / "monitor.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
