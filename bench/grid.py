"""The Grid with 200 hosts: time to the first full render, key-to-screen latency moving between
boxes, and tab-switch latency, each against a bare Textual reference measured in the same run.

Reproduce (from the repository root; about 3 minutes; no network, no daemons):

    .venv/bin/python bench/grid.py [--hosts 200] [--presses 40] [--repeats 3]

It writes bench/results/grid.json and bench/results/grid.md (the section for bench/README.md).
All apps run headless through Textual's test harness at 160x50, in one process, one after another:

- first render: from creating the app to the end of the first screen update in which the
  first box has its place (the Grid's layout is done), median of --repeats cold starts.
  Reference: an app with one Static. Measured for the grid alone (what the Grid tab holds) and
  for the whole app (all five tabs composed; the other panes are not the grid's).
- key-to-screen: a key is posted to the app as the terminal driver does, and the time runs to
  the end of the first screen update after which the target box has the focus and is wholly
  in view (scrolled to when the move scrolls). Presses are
  sequential (each waits for its frame) and go down, right, up and left over the fleet, so
  about a third of them scroll. Reference: a bare app whose key moves the focus between two
  bordered Statics (the same :focus restyle, nothing else). p50/p95 over --presses.
- tab switch: "2" (Setup) then "1" (Grid), alternately, to the frame after which the shown
  pane has the focus, --presses times each way; with the real panes, and with the other four
  tabs replaced by one focusable Static each, SteadyFooter and gc.freeze() (the grid's own share).
  Reference: a bare TabbedContent of two Statics switched the same way.
- "before": the same, with the HostGrid of commit 8b8931e (main before this work; --before),
  loaded from git: it built each box by scanning every node and moved by reading the focus back.
- "+ SteadyFooter": the whole app again with `arcus_tui.ui.widgets.steady_footer.SteadyFooter`
  in place of Textual's Footer (which rebuilds itself on every focus change), the change
  proposed for ui/screens/main.py; the same as the row above once main.py uses it.
- "+ gc.freeze()": `gc.freeze()` once the app is composed (proposed for ui/app.py): full
  collections stop walking the screen's objects, which was the 60-ish ms tail of the presses.

The cluster is built in memory (tests/unit/fleet_texts.py: cacheNNN.arcus on 10.0.x.y, two
memcached nodes each, a five-member ensemble); ARCUS_TUI_LOOPBACK_ONLY=1 keeps the panes
that would connect (ZooKeeper, Monitor) from leaving the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Callable

os.environ["ARCUS_TUI_LOOPBACK_ONLY"] = "1"  # before anything that may connect is imported

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "unit"))

from textual import events  # noqa: E402
from textual.app import App  # noqa: E402
from textual.binding import Binding  # noqa: E402
from textual.screen import Screen  # noqa: E402
from textual.widgets import Static, TabbedContent, TabPane  # noqa: E402

from arcus_tui.model import parse_cluster  # noqa: E402
from arcus_tui.ui import panes as panes_module  # noqa: E402
from arcus_tui.ui.screens import main as main_screen  # noqa: E402
from arcus_tui.ui.app import ArcusApp  # noqa: E402
from arcus_tui.ui.widgets.host_grid import HostGrid  # noqa: E402
from arcus_tui.ui.widgets.steady_footer import SteadyFooter  # noqa: E402
from fleet_texts import fleet_text  # noqa: E402

SIZE = (160, 50)
RESULTS = REPO / "bench" / "results"
FRAME_WAIT = 30.0
"""Seconds a single measurement may take before the run is called failed."""

# --- frames -------------------------------------------------------------------------------------

_frame_hooks: list[Callable[[], None]] = []
_original_refresh = Screen._compositor_refresh


def _compositor_refresh(self: Screen) -> None:
    _original_refresh(self)
    for hook in list(_frame_hooks):
        hook()


Screen._compositor_refresh = _compositor_refresh  # a frame = one compositor update of the screen


async def until_frame(condition: Callable[[], bool], since: float) -> float:
    """Seconds from `since` to the end of the first frame after which `condition` holds."""
    return (await until_frame_cpu(condition, since, time.process_time()))[0]


async def until_frame_cpu(condition: Callable[[], bool], since: float, cpu_since: float) -> tuple[float, float]:
    """(wall, CPU) seconds from `since`/`cpu_since` to the end of the first frame after which
    `condition` holds. CPU time is this process's: the work done, whatever else runs."""
    done: asyncio.Future[tuple[float, float]] = asyncio.get_running_loop().create_future()

    def hook() -> None:
        if not done.done() and condition():
            done.set_result((time.perf_counter() - since, time.process_time() - cpu_since))

    _frame_hooks.append(hook)
    try:
        return await asyncio.wait_for(done, FRAME_WAIT)
    finally:
        _frame_hooks.remove(hook)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def percentiles(samples: list[tuple[float, float]]) -> dict:
    """p50/p95/max of the wall times, p50/p95 of the CPU times."""
    wall = [sample[0] for sample in samples]
    cpu = [sample[1] for sample in samples]
    return {"n": len(wall), "p50": statistics.median(wall), "p95": p95(wall), "max": max(wall),
            "cpu_p50": statistics.median(cpu), "cpu_p95": p95(cpu)}


# --- the apps -----------------------------------------------------------------------------------


class FocusBox(Static, can_focus=True):
    DEFAULT_CSS = """
    FocusBox { height: 5; border: round $secondary; }
    FocusBox:focus { border: heavy $accent; }
    """


class ReferenceApp(App[None]):
    """Bare Textual: one Static (first render), two focusable boxes swapped by a key."""

    BINDINGS = [Binding("down,up,left,right", "swap")]

    def compose(self):
        yield FocusBox("one", id="one")
        yield FocusBox("two", id="two")

    def on_mount(self) -> None:
        self.screen.set_focus(self.query_one("#one"))

    def action_swap(self) -> None:
        self.screen.set_focus(self.screen.focus_chain[1 - self.screen.focus_chain.index(self.focused)])

    def first(self):
        return self.query_one("#one")


class ReferenceTabsApp(App[None]):
    BINDINGS = [Binding("1", "tab('a')"), Binding("2", "tab('b')")]

    def compose(self):
        with TabbedContent(initial="a"):
            with TabPane("a", id="a"):
                yield FocusBox("a", id="box-a")
            with TabPane("b", id="b"):
                yield FocusBox("b", id="box-b")

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self.screen.set_focus(self.query_one(f"#box-{tab}"))


class GridApp(App[None]):
    """The grid alone, as the Grid tab holds it."""

    def __init__(self, cluster) -> None:
        super().__init__()
        self.cluster = cluster

    def compose(self):
        yield HostGrid(self.cluster, id="host-grid")

    def on_mount(self) -> None:
        self.query_one(HostGrid).focus_default()


BEFORE = "8b8931e"
"""The commit before issue 9's grid work: its host_grid.py is the "before" row."""


def grid_before(commit: str):
    """The HostGrid class of `commit` (loaded from git), or None when git cannot give it."""
    try:
        source = subprocess.run(["git", "-C", str(REPO), "show", f"{commit}:arcus_tui/ui/widgets/host_grid.py"],
                                capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    module = types.ModuleType("host_grid_before")
    exec(compile(source, f"{commit}:host_grid.py", "exec"), module.__dict__)
    return module.HostGrid


class GridBeforeApp(App[None]):
    """The grid as it was before, alone: it focused boxes through focus() and read the focus back."""

    grid_class = None

    def __init__(self, cluster) -> None:
        super().__init__()
        self.cluster = cluster

    def compose(self):
        yield self.grid_class(self.cluster, id="host-grid")

    def on_mount(self) -> None:
        self.query_one("#host-grid").focus_box()


class PlaceholderPane(Static, can_focus=True):
    def focus_default(self) -> None:
        self.screen.set_focus(self)


def placeholder_panes() -> dict:
    return {tab: (lambda context, tab=tab: [PlaceholderPane(f"{tab} (placeholder)")])
            for tab in panes_module.PANES}


# --- measurements -------------------------------------------------------------------------------


async def first_render(make: Callable[[], App], first: Callable[[App], object]) -> float:
    start = time.perf_counter()
    app = make()

    def laid_out() -> bool:
        try:
            return bool(first(app).region)
        except Exception:  # not composed yet
            return False

    async with app.run_test(size=SIZE):
        return await until_frame(laid_out, start)


def moves(count: int) -> list[str]:
    """Down, right, up, left over the fleet: long runs down and up make it scroll."""
    pattern = ["down"] * 8 + ["right"] + ["up"] * 8 + ["left"]
    return [pattern[index % len(pattern)] for index in range(count)]


async def key_latency(app: App, keys: list[str], target: Callable[[App, str], object]) -> list[tuple[float, float]]:
    """Per key: post it, then time to the frame where `target(app)` (computed before) is focused."""
    latencies = []
    for key in keys:
        await asyncio.sleep(0.02)  # let the previous frame settle: presses do not overlap
        expected = target(app, key)
        start, cpu = time.perf_counter(), time.process_time()
        app.post_message(events.Key(key, None))
        latencies.append(await until_frame_cpu(lambda: shown_focused(app, expected), start, cpu))
    return latencies


def shown_focused(app: App, widget) -> bool:
    """`widget` has the focus and is wholly in view (scrolled to, when the move scrolled)."""
    return app.screen.focused is widget and widget.parent.can_view_entire(widget)


def grid_target(app: App, key: str):
    grid = app.screen.query_one("#host-grid")
    boxes = grid.boxes
    cursor = grid.cursor if isinstance(grid, HostGrid) else boxes.index(app.focused)  # before: the focus
    return boxes[grid.neighbour(cursor, key)]


async def typed_ahead(make: Callable[[], App], keys: int = 5) -> int:
    """Boxes moved by `keys` "down" presses arriving together (faster than the screen updates)."""
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        grid = app.screen.query_one("#host-grid")
        for _ in range(keys):
            app.post_message(events.Key("down", None))
        await pilot.pause()
        await pilot.pause()
        return grid.boxes.index(app.focused) // grid.columns


def reference_target(app: App, key: str):
    chain = app.screen.focus_chain
    return chain[1 - chain.index(app.focused)]


async def grid_moves(make: Callable[[], App], presses: int, freeze: bool = False) -> list[tuple[float, float]]:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        with frozen_gc(freeze):
            return await key_latency(app, moves(presses), grid_target)


async def reference_moves(presses: int) -> list[tuple[float, float]]:
    app = ReferenceApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        return await key_latency(app, moves(presses), reference_target)


def pane_focused(app: App, tab: str) -> bool:
    tabs = app.screen.query_one(TabbedContent)
    focused = app.screen.focused
    return tabs.active == tab and focused is not None and tabs.get_pane(tab) in focused.ancestors


async def tab_switches(app: App, switches: int, tabs: tuple[str, str], keys: tuple[str, str],
                       freeze: bool = False) -> dict[str, list[tuple[float, float]]]:
    """Alternately to tabs[1] and tabs[0]: seconds per switch, by the tab switched to."""
    latencies: dict[str, list[tuple[float, float]]] = {tab: [] for tab in tabs}
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        with frozen_gc(freeze):
            await switch_tabs(app, switches, tabs, keys, latencies)
    return latencies


async def switch_tabs(app: App, switches: int, tabs: tuple[str, str], keys: tuple[str, str],
                      latencies: dict[str, list[tuple[float, float]]]) -> None:
    for index in range(switches):
        await asyncio.sleep(0.05)
        tab, key = tabs[(index + 1) % 2], keys[(index + 1) % 2]
        start, cpu = time.perf_counter(), time.process_time()
        app.post_message(events.Key(key, key))
        latencies[tab].append(await until_frame_cpu(lambda tab=tab: pane_focused(app, tab), start, cpu))


@contextlib.contextmanager
def steady_footer():
    """The main screen composed with `SteadyFooter` instead of Textual's `Footer` (the change
    proposed for ui/screens/main.py); a no-op once main.py uses it."""
    footer = getattr(main_screen, "Footer", None)
    if footer is None:  # main.py composes SteadyFooter itself already
        yield
        return
    main_screen.Footer = SteadyFooter
    try:
        yield
    finally:
        main_screen.Footer = footer


@contextlib.contextmanager
def frozen_gc(freeze: bool):
    """`gc.freeze()` once the app is up (the change proposed for ui/app.py): the objects of the
    composed screen leave the collector's generations, so a full collection no longer walks
    them (60-ish ms each with 200 boxes, the tail of the latencies otherwise)."""
    if freeze:
        gc.collect()
        gc.freeze()
    try:
        yield
    finally:
        if freeze:
            gc.unfreeze()


# --- run ----------------------------------------------------------------------------------------


async def run(hosts: int, presses: int, repeats: int, before: str) -> dict:
    cluster = parse_cluster(fleet_text(hosts)).cluster

    def arcus_app() -> App:
        return ArcusApp(cluster, "fleet.toml")

    def grid_first(app: App):
        return app.screen.query_one("#host-grid").boxes[0]

    GridBeforeApp.grid_class = grid_before(before)
    apps = {"reference (one Static)": (ReferenceApp, ReferenceApp.first),
            "grid alone": (lambda: GridApp(cluster), grid_first)}
    if GridBeforeApp.grid_class is not None:
        apps[f"grid alone, before ({before})"] = (lambda: GridBeforeApp(cluster), grid_first)
    apps["whole app (5 tabs)"] = (arcus_app, grid_first)
    first: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(repeats):  # interleaved, so that a busy moment hits all alike
        for name, (make, first_box) in apps.items():
            first[name].append(await first_render(make, first_box))

    ahead = {"grid": await typed_ahead(lambda: GridApp(cluster))}
    if GridBeforeApp.grid_class is not None:
        ahead[f"grid, before ({before})"] = await typed_ahead(lambda: GridBeforeApp(cluster))

    moves_result = {
        "reference (two Statics)": percentiles(await reference_moves(presses)),
        "grid alone": percentiles(await grid_moves(lambda: GridApp(cluster), presses)),
        "grid alone + gc.freeze()": percentiles(await grid_moves(lambda: GridApp(cluster), presses, freeze=True)),
    }
    if GridBeforeApp.grid_class is not None:
        moves_result[f"grid alone, before ({before})"] = percentiles(
            await grid_moves(lambda: GridBeforeApp(cluster), presses))
    moves_result |= {
        "whole app, Grid tab": percentiles(await grid_moves(arcus_app, presses)),
    }
    with steady_footer():
        moves_result["whole app + SteadyFooter"] = percentiles(await grid_moves(arcus_app, presses))
        moves_result["whole app + SteadyFooter + gc.freeze()"] = percentiles(
            await grid_moves(arcus_app, presses, freeze=True))

    real_panes = dict(panes_module.PANES)
    switches = 2 * presses  # presses per direction
    reference = await tab_switches(ReferenceTabsApp(), switches, ("a", "b"), ("1", "2"))
    tabs_result = {"reference (bare TabbedContent)": percentiles(reference["a"] + reference["b"])}

    def record(name: str, latencies: dict[str, list[tuple[float, float]]]) -> None:
        tabs_result[f"{name}: to Grid"] = percentiles(latencies["grid"])
        tabs_result[f"{name}: to Setup"] = percentiles(latencies["setup"])

    placeholders = placeholder_panes()
    panes_module.PANES.clear()
    panes_module.PANES.update(placeholders)
    try:
        with steady_footer():
            record("grid + placeholder tabs", await tab_switches(arcus_app(), switches, ("grid", "setup"), ("1", "2"),
                                                                 freeze=True))
    finally:
        panes_module.PANES.clear()
        panes_module.PANES.update(real_panes)
    record("whole app", await tab_switches(arcus_app(), switches, ("grid", "setup"), ("1", "2")))
    with steady_footer():
        record("whole app + SteadyFooter + gc.freeze()",
               await tab_switches(arcus_app(), switches, ("grid", "setup"), ("1", "2"), freeze=True))

    return {
        "typed_ahead_rows_moved_by_5_downs": ahead,
        "first_render_s": {name: {"median": statistics.median(values), "runs": values}
                           for name, values in first.items()},
        "move_s": moves_result,
        "tab_switch_s": tabs_result,
    }


def markdown(result: dict) -> str:
    hosts = result["hosts"]
    first = result["first_render_s"]
    reference = first["reference (one Static)"]["median"]
    lines = [
        f"## Grid with {hosts} hosts",
        "",
        "`bench/grid.py`: the Grid tab at fleet size, headless through Textual's test harness at 160x50,",
        "against bare Textual apps measured in the same run (see the script's docstring). "
        f"{result['machine']['nproc']} CPUs, Python {result['machine']['python']}, "
        f"Textual {result['machine']['textual']}; {result['date']}.",
        "",
        "Reproduce: `.venv/bin/python bench/grid.py` (about 3 minutes).",
        "",
        f"Load average before/after the run: {result['machine']['load'][0]:.1f} / "
        f"{result['machine']['load_after'][0]:.1f} (a shared machine: wall-time tails carry other "
        "work; the CPU columns are this process's own time per press).",
        "",
        f"### First full render (median of {len(first['grid alone']['runs'])} cold starts)",
        "",
        "| app | seconds | ratio to the reference |",
        "|---|---|---|",
    ]
    for name, value in first.items():
        lines.append(f"| {name} | {value['median']:.3f} | {value['median'] / reference:.1f} |")
    lines += ["", "Target: under 1 s.", "", "### Keys typed ahead", "",
              "Five `down` presses arriving together (faster than the screen updates) move the cursor by: "
              + ", ".join(f"{name}: {rows} row{'s' if rows != 1 else ''}"
                          for name, rows in result["typed_ahead_rows_moved_by_5_downs"].items()) + ".", ""]
    for title, key, ref in (("Key to screen, moving between boxes", "move_s", "reference (two Statics)"),
                            ("Tab switch to the focus in the pane shown", "tab_switch_s",
                             "reference (bare TabbedContent)")):
        table = result[key]
        lines += [f"### {title} (ms, {table[name_of_last(table)]['n']} presses each)", "",
                  "| app | p50 | p95 | max | p95 / reference p95 | CPU p50 | CPU p95 |",
                  "|---|---|---|---|---|---|---|"]
        for name, value in table.items():
            lines.append(f"| {name} | {value['p50'] * 1000:.1f} | {value['p95'] * 1000:.1f} | "
                         f"{value['max'] * 1000:.1f} | {value['p95'] / table[ref]['p95']:.1f} | "
                         f"{value['cpu_p50'] * 1000:.1f} | {value['cpu_p95'] * 1000:.1f} |")
        lines.append("")
    return "\n".join(lines)


def name_of_last(table: dict) -> str:
    return list(table)[-1]


def machine() -> dict:
    import textual

    return {"nproc": os.cpu_count(), "python": platform.python_version(), "textual": textual.__version__,
            "load": list(os.getloadavg())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--presses", type=int, default=40, help="key presses per latency figure (>= 30)")
    parser.add_argument("--repeats", type=int, default=3, help="cold starts per first-render figure")
    parser.add_argument("--before", default=BEFORE, help="commit whose host_grid.py gives the 'before' rows")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/results alone")
    args = parser.parse_args()
    result = {"hosts": args.hosts, "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "machine": machine(), **asyncio.run(run(args.hosts, max(30, args.presses), args.repeats, args.before))}
    result["machine"]["load_after"] = list(os.getloadavg())
    text = markdown(result)
    print(text)
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "grid.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        (RESULTS / "grid.md").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
