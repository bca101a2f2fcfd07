"""Log flood: N hosts × R lines/s through the real event path, with keys pressed meanwhile.

A stand-in runner (the only fake: no SSH) feeds `ProgressEvent`s into the app's
`RunController` sink exactly as a setup run does, every 10 ms a burst of
N × R / 100 lines, for the given seconds. Meanwhile, headless through Textual's Pilot on
the Logs tab:

- a key (`n`, next host) is pressed every 0.5 s, posted to the app as the terminal driver
  posts it (Pilot's `press` waits for the process to go idle, which a flood never does);
  key-to-screen is the time from the key to the first frame the app renders after the
  newly focused log took the focus (p50/p95 over every press);
- the event loop's longest stall is measured by a task that asks to wake every 10 ms;
- halfway, the theme is switched and the terminal resized (their stall is in the figure);
- the process's RSS is sampled every second (flat once the rings are full);
- after the flood, the time until the newest line is on screen.

The reference, in the same run: the same app and the same key presses with no flood.
Ratios are flood / reference.

    python bench/log_flood.py                      # 200 and 20 hosts, 100 lines/s, 30 s
    python bench/log_flood.py --hosts 200 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual import events  # noqa: E402

from arcus_tui.deploy.report import DeployReport  # noqa: E402
from arcus_tui.events import HostState, ProgressEvent, Stream  # noqa: E402
from arcus_tui.model import parse_cluster  # noqa: E402
from arcus_tui.ui.app import ArcusApp  # noqa: E402
from arcus_tui.ui.panes.logs import LogsPane  # noqa: E402
from arcus_tui.ui.screens.confirm_setup import ConfirmSetupScreen  # noqa: E402
from arcus_tui.ui.widgets.log_view import LogView  # noqa: E402
from tests.unit.cluster_texts import fleet  # noqa: E402

BURST_SECONDS = 0.01
KEY_EVERY = 0.5
RESULTS = Path(__file__).resolve().parent / "results" / "log_flood.json"


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class FloodRunner:
    """Prints `rate` lines/s on every host for `seconds` (0: none), then finishes ok."""

    rate = 100
    seconds = 30.0
    finished_flood = 0.0

    def __init__(self, cluster, options, sink):
        self.cluster, self.sink = cluster, sink

    async def run(self, plan, *, previous=None) -> DeployReport:
        hosts = [host.name for host in self.cluster.hosts]
        per_burst = max(1, round(self.rate * BURST_SECONDS))
        started = time.monotonic()
        number = 0
        while time.monotonic() - started < self.seconds:
            for _ in range(per_burst):
                for host in hosts:
                    self.sink(ProgressEvent(host, "upload-package", Stream.STDOUT,
                                            f"{host} line {number} of the flood, some words to make it longer"))
                number += 1
            await asyncio.sleep(BURST_SECONDS)
        FloodRunner.last_number = number - 1
        FloodRunner.finished_flood = time.monotonic()
        for host in hosts:
            self.sink(ProgressEvent(host, "upload-package", state=HostState.OK, duration=self.seconds))
        return DeployReport(plan)

    async def close(self) -> None:
        pass


async def stall_watch(stop: asyncio.Event, stalls: list[float]) -> None:
    while not stop.is_set():
        asked = time.monotonic()
        await asyncio.sleep(0.01)
        stalls.append(time.monotonic() - asked - 0.01)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


async def measure(hosts: int, seconds: float, rate: int) -> dict:
    text = fleet(hosts)
    path = Path("/tmp/arcus-tui-bench-fleet.toml")
    path.write_text(text)
    cluster = parse_cluster(text, str(path)).cluster
    app = ArcusApp(cluster, str(path))
    FloodRunner.rate, FloodRunner.seconds = rate, seconds
    latencies: list[float] = []
    stalls: list[float] = []
    memory: list[tuple[float, float]] = []
    async with app.run_test(size=(160, 50)) as pilot:
        app.runs.runner_factory = FloodRunner
        frames: list[float] = []
        display = app._display

        def record_frame(screen, renderable) -> None:  # the headless app renders each frame, then drops it
            if renderable is not None:
                frames.append(time.monotonic())
            display(screen, renderable)

        app._display = record_frame
        await pilot.press("2", "s")
        while not isinstance(app.screen, ConfirmSetupScreen):
            await pilot.pause(0.01)
        await pilot.press("y")
        await pilot.press("3")
        while not isinstance(app.focused, LogView):
            await pilot.pause(0.01)
        logs = app.screen.query_one(LogsPane)
        stop = asyncio.Event()
        watcher = asyncio.ensure_future(stall_watch(stop, stalls))
        started = time.monotonic()
        switched = False
        while app.runs.running and time.monotonic() - started < seconds + 60:
            elapsed = time.monotonic() - started
            if not switched and elapsed > seconds / 2:
                switched = True
                app.theme = "textual-light" if app.theme != "textual-light" else "textual-dark"
                await pilot.resize_terminal(140, 45)
            expected = logs.targets[(logs.current + 1) % len(logs.targets)]
            pressed = time.monotonic()
            app.post_message(events.Key("n", "n"))
            while getattr(app.focused, "target", None) != expected and time.monotonic() - pressed < 30:
                await asyncio.sleep(0.001)
            seen = len(frames)
            while len(frames) == seen and time.monotonic() - pressed < 30:
                await asyncio.sleep(0.001)
            latencies.append(frames[-1] - pressed)
            memory.append((elapsed, rss_mb()))
            await asyncio.sleep(max(0.0, KEY_EVERY - (time.monotonic() - pressed)))
        merged = logs.query_one("#logs-merged", LogView)
        await pilot.press("m")
        ring = app.runs.log.merged
        last = ring.line(ring.total - 1).text  # the run's last word (the last host's state)
        shown_after = float("nan")
        for _ in range(2000):
            if any(last in merged.render_line(y).text for y in range(merged.size.height)):
                shown_after = time.monotonic() - FloodRunner.finished_flood
                break
            await pilot.pause(0.01)
        stop.set()
        await watcher
    return {
        "hosts": hosts, "rate": rate, "seconds": seconds, "presses": len(latencies),
        "key_p50_ms": round(1000 * statistics.median(latencies), 1) if latencies else None,
        "key_p95_ms": round(1000 * percentile(latencies, 0.95), 1) if latencies else None,
        "longest_stall_ms": round(1000 * max(stalls, default=0.0), 1),
        "rss_mb": [(round(at, 1), round(mb, 1)) for at, mb in memory[:: max(1, len(memory) // 8)]],
        "rss_last_third_spread_mb": round(_spread(memory), 1),
        "newest_line_shown_after_s": round(shown_after, 3),
    }


def _spread(memory: list[tuple[float, float]]) -> float:
    tail = [mb for _, mb in memory[len(memory) * 2 // 3:]]
    return max(tail) - min(tail) if tail else 0.0


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, nargs="+", default=[200, 20])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=int, default=100, help="lines per second per host")
    args = parser.parse_args()
    results = []
    for hosts in args.hosts:
        reference = await measure(hosts, min(args.seconds, 10.0), 0)
        flood = await measure(hosts, args.seconds, args.rate)
        ratio = (flood["key_p95_ms"] / reference["key_p95_ms"]) if reference["key_p95_ms"] else None
        results.append({"reference": reference, "flood": flood, "key_p95_ratio": ratio and round(ratio, 2)})
        print(json.dumps(results[-1], indent=1), flush=True)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"command": "python bench/log_flood.py " + " ".join(sys.argv[1:]),
                                   "date": time.strftime("%Y-%m-%d %H:%M"), "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
