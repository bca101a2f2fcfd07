"""The ZooKeeper tab on a znode with 100 000 children, against `zkCli.sh ls` on the same znode.

Reproduce (from the repository root; about 2 minutes; holds the real-daemon lock):

    flock /tmp/arcus-tui-real-daemons.lock .venv/bin/python bench/zk_tree.py

It writes bench/results/zk_tree.json and bench/results/zk_tree.md (the section for
bench/README.md). For each server setting of ``jute.maxbuffer`` (the default, then
raised with ``-Djute.maxbuffer`` on the server's JVM command line, as SERVER_JVMFLAGS
would), it:

- starts its own standalone ZooKeeper (Debian's, /usr/share/zookeeper) on 127.0.4.1:2181,
  in a private directory, and stops it by the PID it started at the end (also on errors,
  Ctrl-C and SIGTERM);
- creates /arcus/cache_server_log/2026-12-02 with 100 000 children (names like a node's
  ``127.0.0.1:11211-hostname-00001``, about 2.9 MB as one ``get_children`` reply) in
  transactions of 1000 creates, 8 in flight;
- references, in the same run: one kazoo ``get_children`` (what the tab reads first), and
  ``zkCli.sh -server ... ls <day>`` with the client's default jute.maxbuffer and with
  CLIENT_JVMFLAGS="-Djute.maxbuffer=8388608" (outcome and wall time; its JVM start is in
  it, so ``zkCli.sh ls /zookeeper`` is timed too);
- the tab (headless ``App.run_test`` with Pilot, 140x45): time from pressing space on the
  day's row to the first frame drawn after the child names went into the tree (the first
  name is then read back from the rendered tree), and to the first frame after the stat
  of every row on screen was read; fresh app and session per repetition;
- the filter: per key typed in ``/`` (a mix of narrowing keys and backspaces, at least 30),
  the time from the key press to the filtered rows drawn; p50 / p95 / max.

Loopback only (ARCUS_TUI_LOOPBACK_ONLY=1 before anything is imported).
"""

from __future__ import annotations

import os

os.environ["ARCUS_TUI_LOOPBACK_ONLY"] = "1"  # before any arcus_tui import: nothing leaves 127.0.0.0/8

import argparse  # noqa: E402
import asyncio  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kazoo.client import KazooClient  # noqa: E402
from textual.app import App  # noqa: E402

import arcus_tui.ui.app  # noqa: E402
from arcus_tui.model import Cluster, Host, ZooKeeperSettings  # noqa: E402
from tests.infra.local_zookeeper import DEFAULT_JVM_FLAGS, DEFAULT_ZK_HOME, LocalEnsemble  # noqa: E402
from arcus_tui.ui.context import AppContext  # noqa: E402
from arcus_tui.ui.panes.zookeeper import ZooKeeperPane  # noqa: E402
from arcus_tui.ui.widgets.zk_tree import ZkTree  # noqa: E402

ADDRESS = "127.0.4.1"
PORT = 2181
HOSTS = f"{ADDRESS}:{PORT}"
LOG = "/arcus/cache_server_log"
DAY = f"{LOG}/2026-12-02"
RAISED = 8 * 1024 * 1024
FILTER_KEYS = [*"host-0012", *["backspace"] * 4, "1", *["backspace"] * 6, *"11213-host-0", *["backspace"] * 12,
               *"00042", *["backspace"] * 5]
"""54 presses; every non-empty prefix matches some children (names in `child_name`)."""
WAIT = 60.0
POLL = 0.005


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def child_name(i: int) -> str:
    return f"127.0.0.1:{11211 + i % 4}-host-{i:05d}"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# -- ZooKeeper -----------------------------------------------------------------------------


def start_zookeeper(base: Path, server_jute: int | None) -> LocalEnsemble:
    flags = list(DEFAULT_JVM_FLAGS) + ([f"-Djute.maxbuffer={server_jute}"] if server_jute else [])
    ensemble = LocalEnsemble(base, [ADDRESS], client_port=PORT, jvm_flags=flags)
    ensemble.stop()  # leftovers of an interrupted run, by their pidfile
    ensemble.start(clean=True)
    return ensemble


def connect() -> KazooClient:
    client = KazooClient(hosts=HOSTS, timeout=10.0)
    client.start(timeout=30)
    return client


def populate(client: KazooClient, count: int) -> float:
    began = time.monotonic()
    client.ensure_path(DAY)
    client.ensure_path("/arcus/cache_list/svc")
    pending = []
    for start in range(0, count, 1000):
        tx = client.transaction()
        for i in range(start, min(count, start + 1000)):
            tx.create(f"{DAY}/{child_name(i)}", b"joined")
        pending.append(tx.commit_async())
        if len(pending) >= 8:
            for result in pending:
                result.get(timeout=120)
            pending = []
    for result in pending:
        result.get(timeout=120)
    return time.monotonic() - began


def time_get_children(client: KazooClient) -> tuple[float, int, int]:
    began = time.monotonic()
    names = client.get_children(DAY)
    took = time.monotonic() - began
    return took, len(names), sum(4 + len(n.encode()) for n in names)


def zkcli_ls(path: str, client_jute: int | None) -> dict:
    env = dict(os.environ)
    if client_jute:
        env["CLIENT_JVMFLAGS"] = f"-Djute.maxbuffer={client_jute}"
    argv = [str(DEFAULT_ZK_HOME / "bin" / "zkCli.sh"), "-server", HOSTS, "ls", path]
    began = time.monotonic()
    done = subprocess.run(argv, env=env, capture_output=True, timeout=180, stdin=subprocess.DEVNULL)
    took = time.monotonic() - began
    out = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
    error = next((line.strip() for line in out.splitlines() if "KeeperErrorCode" in line or "Exception" in line), "")
    listed = next((line for line in reversed(out.splitlines()) if line.startswith("[")), "")
    return {"seconds": round(took, 3), "exit_status": done.returncode, "listed_names": listed.count(",") + 1 if listed
            else 0, "error": error, "client_jute_maxbuffer": client_jute or "default"}


# -- the tab -------------------------------------------------------------------------------


class PaneApp(App[None]):
    CSS_PATH = str(Path(arcus_tui.ui.app.__file__).with_name("app.tcss"))

    def __init__(self) -> None:
        super().__init__()
        cluster = Cluster(service_code="svc", hosts=(Host("h1", "127.0.0.1", memcached=()),),
                          zookeeper=ZooKeeperSettings(servers=(HOSTS,)))
        self.pane = ZooKeeperPane(AppContext(cluster))

        self.displays: list[float] = []

    def compose(self):
        yield self.pane

    def _display(self, screen, renderable) -> None:
        # Every frame written (headless: to no terminal): when something reached the screen.
        self.displays.append(time.monotonic())
        super()._display(screen, renderable)

    def first_display_after(self, moment: float) -> float | None:
        return next((t for t in self.displays if t >= moment), None)


def drawn_text(tree: ZkTree) -> str:
    return "\n".join(tree.render_line(y).text for y in range(tree.scrollable_content_region.height))


async def until(pilot, predicate, what: str) -> float:
    began = time.monotonic()
    while not predicate():
        if time.monotonic() - began > WAIT:
            raise RuntimeError(f"not within {WAIT} s: {what}")
        await pilot.pause(POLL)
    return time.monotonic()


async def open_log(pilot, pane: ZooKeeperPane) -> ZkTree:
    await until(pilot, lambda: pane.state in ("connected", "failed"), "connect")
    if pane.state != "connected":
        raise RuntimeError(pane.error)
    tree = pane.query_one(ZkTree)
    # The registry opens itself on connect: wait for it to settle, or the lines move under the cursor.
    await until(pilot, lambda: "/arcus/cache_list/svc" in tree.by_path, "cache_list opened")
    await until(pilot, lambda: pane.app.focused is tree, "focus on the tree")
    await until(pilot, lambda: LOG in tree.by_path and tree.by_path[LOG].allow_expand, "cache_server_log row")
    tree.move_cursor(tree.by_path[LOG])
    await pilot.press("space")
    await until(pilot, lambda: DAY in tree.by_path and tree.by_path[DAY].allow_expand, "day row")
    tree.move_cursor(tree.by_path[DAY])
    await pilot.pause()
    return tree


def all_visible_have_stats(pane: ZooKeeperPane, tree: ZkTree) -> bool:
    rows = [p for p in tree.visible_paths() if p.startswith(DAY + "/")]
    return bool(rows) and not any(pane.cache.needs_stat(p) for p in rows)


async def first_rows_once() -> dict:
    """From the key press on the day's row to the first frame drawn after its names
    were put in the tree, and after the stats of the rows on screen were (timestamps
    taken in the app; the polling here only waits)."""
    app = PaneApp()
    async with app.run_test(size=(140, 45)) as pilot:
        pane = app.pane
        tree = await open_log(pilot, pane)
        marks: dict[str, float] = {}
        apply_level, apply_stats = pane._apply_level, pane._apply_stats

        def timed_apply_level(level) -> None:
            apply_level(level)
            if level.info.path == DAY:
                marks.setdefault("names", time.monotonic())

        def timed_apply_stats(found) -> None:
            apply_stats(found)
            if all_visible_have_stats(pane, tree):
                marks.setdefault("stats", time.monotonic())

        pane._apply_level, pane._apply_stats = timed_apply_level, timed_apply_stats
        began = time.monotonic()
        await pilot.press("space")
        await until(pilot, lambda: "names" in marks and app.first_display_after(marks["names"]), "names drawn")
        await until(pilot, lambda: "stats" in marks and app.first_display_after(marks["stats"]), "stats drawn")
        if child_name(0) not in drawn_text(tree):
            raise RuntimeError("the first child is not drawn")
        names_at, stats_at = app.first_display_after(marks["names"]), app.first_display_after(marks["stats"])
        error = pane._read_error
    return {"first_names_s": names_at - began, "stats_on_screen_s": stats_at - began, "read_error": error}


async def filter_latencies() -> list[float]:
    """Per key: from the press to the first frame drawn after the filter was applied
    (timestamps taken in the app, so Pilot's own waiting is not counted)."""
    app = PaneApp()
    async with app.run_test(size=(140, 45)) as pilot:
        pane = app.pane
        tree = await open_log(pilot, pane)
        await pilot.press("space")
        await until(pilot, lambda: child_name(0) in drawn_text(tree), "first names drawn")
        await pilot.press("slash")
        box = pane.query_one("#zk-filter")
        applied: dict[str, float] = {}
        set_filter = pane._set_filter

        def timed_set_filter(text: str) -> None:
            set_filter(text)
            applied.setdefault(text.strip().lower(), time.monotonic())

        pane._set_filter = timed_set_filter
        latencies = []
        for key in FILTER_KEYS:
            applied.clear()
            began = time.monotonic()
            await pilot.press(key)
            wanted = box.value.strip().lower()
            await until(pilot, lambda: wanted in applied and app.first_display_after(applied[wanted]),
                        f"filter {wanted!r} drawn")
            if wanted and "2026-12-02" not in drawn_text(tree):
                raise RuntimeError(f"filter {wanted!r}: the day is not drawn")
            latencies.append(app.first_display_after(applied[wanted]) - began)
    return latencies


# -- one server setting ----------------------------------------------------------------------


def run_setting(base: Path, server_jute: int | None, count: int, repeats: int) -> dict:
    label = str(server_jute) if server_jute else "default (1 MB)"
    log(f"== server jute.maxbuffer: {label}")
    ensemble = start_zookeeper(base, server_jute)
    try:
        client = connect()
        try:
            created = populate(client, count)
            log(f"created {count} children in {created:.1f} s")
            kazoo_runs = [time_get_children(client) for _ in range(repeats)]
        finally:
            client.stop()
            client.close()
        reply_bytes = kazoo_runs[0][2]
        zkcli = {
            "ls_day_default_client": zkcli_ls(DAY, None),
            "ls_day_raised_client": zkcli_ls(DAY, RAISED),
            "ls_small_znode": zkcli_ls("/zookeeper", None),
        }
        log(f"zkCli: {json.dumps(zkcli)}")
        opens = [asyncio.run(first_rows_once()) for _ in range(repeats)]
        log(f"tab: {opens}")
        keys = asyncio.run(filter_latencies())
    finally:
        ensemble.stop()
    firsts = [o["first_names_s"] for o in opens]
    stats = [o["stats_on_screen_s"] for o in opens]
    return {
        "server_jute_maxbuffer": server_jute or "default",
        "children": count,
        "reply_bytes_estimate": reply_bytes,
        "create_seconds": round(created, 2),
        "kazoo_get_children_median_s": round(statistics.median(r[0] for r in kazoo_runs), 4),
        "zkcli": zkcli,
        "tab_first_names_median_s": round(statistics.median(firsts), 3),
        "tab_first_names_max_s": round(max(firsts), 3),
        "tab_stats_on_screen_median_s": round(statistics.median(stats), 3),
        "tab_read_errors": [o["read_error"] for o in opens if o["read_error"]],
        "tab_vs_zkcli_ls_raised": round(statistics.median(firsts) / zkcli["ls_day_raised_client"]["seconds"], 3),
        "filter_keys": len(keys),
        "filter_p50_ms": round(pct(keys, 0.5) * 1000, 1),
        "filter_p95_ms": round(pct(keys, 0.95) * 1000, 1),
        "filter_max_ms": round(max(keys) * 1000, 1),
    }


def markdown(record: dict) -> str:
    results, command, machine = record["results"], record["command"], record["machine"]
    lines = [
        "## Big ZooKeeper tree",
        "",
        "`bench/zk_tree.py`: the ZooKeeper tab opening a znode with 100 000 children (a large",
        "`cache_server_log` day), against `zkCli.sh ls` on the same znode in the same run. A standalone",
        "Debian ZooKeeper 3.8 on 127.0.4.1; the tab through Textual's Pilot (140x45, headless). Times run",
        "from the key press to the first frame drawn after the change reached the tree (timestamps taken",
        "in the app); medians of the repetitions, filter latency per key as percentiles.",
        "",
        f"Reproduce: `{command}`",
        "",
        "| server jute.maxbuffer | reply | kazoo get_children | zkCli ls (default client) | zkCli ls (client 8 MB) "
        "| tab: first names | tab: stats on screen | filter p50 / p95 / max per key |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        z = r["zkcli"]

        def cli(entry: dict) -> str:
            if entry["exit_status"] == 0 and not entry["error"]:
                return f"{entry['seconds']:.2f} s, {entry['listed_names']} names"
            return f"fails: {entry['error'] or 'exit ' + str(entry['exit_status'])} ({entry['seconds']:.2f} s)"

        lines.append(
            f"| {r['server_jute_maxbuffer']} | {r['reply_bytes_estimate'] / 1e6:.1f} MB "
            f"| {r['kazoo_get_children_median_s'] * 1000:.0f} ms | {cli(z['ls_day_default_client'])} "
            f"| {cli(z['ls_day_raised_client'])} | {r['tab_first_names_median_s'] * 1000:.0f} ms "
            f"(max {r['tab_first_names_max_s'] * 1000:.0f}) | {r['tab_stats_on_screen_median_s'] * 1000:.0f} ms "
            f"| {r['filter_p50_ms']:.0f} / {r['filter_p95_ms']:.0f} / {r['filter_max_ms']:.0f} ms "
            f"({r['filter_keys']} keys) |")
    first = results[0]
    lines += [
        "",
        f"`zkCli.sh ls /zookeeper` (JVM start + connect, the CLI's fixed cost): "
        f"{first['zkcli']['ls_small_znode']['seconds']:.2f} s. Tab first names / zkCli ls with a raised client "
        f"limit: {first['tab_vs_zkcli_ls_raised']:.2f}.",
        "Before (issue 9, code on main): 19-20 s to the first rows (one `exists()` per child), filter p95 870 ms.",
        "",
        "- The tab reads the child names only (one `get_children`), draws the first 100 with a",
        "  \"… N more, press Enter\" row, and reads the stat of the rows on screen only (pipelined",
        "  `exists`, 64 at a time, one worker). The filter scans the cached lower-case names (in C via",
        "  `map`/`compress`, narrowing the previous key's result), draws at most 100 matches per znode",
        "  with a \"… N more match\" row, and updates the rows that stay in place.",
        "- jute.maxbuffer: the server ran with its default, then with `-Djute.maxbuffer=8388608` on",
        "  its JVM command line (what SERVER_JVMFLAGS carries). ZooKeeper 3.8's server sends the 3 MB",
        "  list either way (its limit guards what it receives); the limit that bites is the Java",
        "  client's: `zkCli.sh ls` fails with ConnectionLoss unless CLIENT_JVMFLAGS raises it. kazoo",
        "  has no such limit, so the tab reads the list in both settings. Should a server or proxy",
        "  drop the connection on such a read, the tab says the znode has too many children for",
        "  jute.maxbuffer and how to raise it (tests/integration/test_ui_zk_big_znode.py injects",
        "  that loss; this server could not be made to refuse).",
        f"- Machine: {machine['cpus']} CPUs shared with other work (load average {machine['load'][0]:.1f} at the "
        f"end), Python {machine['python']}; recorded {record['date']}.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--server-jute", nargs="*", type=int, default=[0, RAISED],
                        help="server jute.maxbuffer settings to run (0: ZooKeeper's default)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--markdown-only", action="store_true", help="rewrite zk_tree.md from zk_tree.json")
    args = parser.parse_args()
    if args.markdown_only:
        text = markdown(json.loads((args.out / "zk_tree.json").read_text()))
        (args.out / "zk_tree.md").write_text(text)
        print(text)
        return 0
    if not (DEFAULT_ZK_HOME / "bin" / "zkCli.sh").exists():
        log(f"no {DEFAULT_ZK_HOME}/bin/zkCli.sh: apt-get install zookeeper")
        return 2
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    command = "flock /tmp/arcus-tui-real-daemons.lock .venv/bin/python bench/zk_tree.py"
    if sys.argv[1:]:
        command += " " + " ".join(sys.argv[1:])
    with tempfile.TemporaryDirectory(prefix="arcus-tui-bench-zk-tree-") as base:
        results = [run_setting(Path(base), jute or None, args.children, args.repeats) for jute in args.server_jute]
    record = {
        "benchmark": "zk_tree",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load": os.getloadavg()},
        "results": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "zk_tree.json").write_text(json.dumps(record, indent=2) + "\n")
    text = markdown(record)
    (args.out / "zk_tree.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
