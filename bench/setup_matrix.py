"""The Setup matrix under a whole setup run's state events, at 20 and 200 hosts.

Reproduce (from the repository root; about a minute):

    .venv/bin/python bench/setup_matrix.py --repeats 3

It writes bench/results/setup_matrix.json and bench/results/setup_matrix.md (a section for
bench/README.md). No daemon is involved: the events are made here, the way the runner
emits them (every target of a step RUNNING, then every target OK), and fed to a mounted
`SetupMatrix` (Textual Pilot, 160×50) in batches of 20 with one screen update and one
`tick()` after each batch, as the app's message loop would coalesce them.

Two matrices take the same events in the same run, alternately:
- `cell`: the product (`CellTable.set_cell`: an update redraws its own cell);
- `reference`: the same widget with `set_cell` replaced by Textual's `update_cell`
  (every update invalidates every rendered cell: the matrix before this change).
Reported per hosts count: cells drawn (each cell DataTable renders, counted where it renders
it) and the time per batch (p50, p95), with the ratio reference / cell.
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

os.environ.setdefault("ARCUS_TUI_LOOPBACK_ONLY", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual.app import App, ComposeResult  # noqa: E402
from textual.renderables.styled import Styled  # noqa: E402

from arcus_tui.deploy.plan import setup_plan  # noqa: E402
from arcus_tui.events import HostState, ProgressEvent  # noqa: E402
from arcus_tui.model import parse_cluster  # noqa: E402
from arcus_tui.ui.widgets.setup_matrix import SetupMatrix  # noqa: E402

BATCH = 20
SIZE = (160, 50)
RESULTS = Path(__file__).resolve().parent / "results"


class ReferenceMatrix(SetupMatrix):
    """Every cell update through DataTable.update_cell, as before."""

    def set_cell(self, row_key, column_key, value) -> None:
        self.update_cell(row_key, column_key, value)


def fleet(hosts: int):
    lines = ['[cluster]', 'service_code = "bench-cloud"', 'user = "arcus"']
    for index in range(hosts):
        lines += ["", "[[host]]", f'name = "c{index + 1:03d}"', f'address = "127.1.{index // 250}.{index % 250 + 1}"',
                  "memcached = [11211, 11212]"]
        if index < 3:
            lines.append("zookeeper = true")
    return parse_cluster("\n".join(lines) + "\n", "bench.toml").cluster


def run_events(plan) -> list[ProgressEvent]:
    events = []
    for step in plan.steps:
        events += [ProgressEvent(t, step.id.value, state=HostState.RUNNING) for t in step.targets]
        events += [ProgressEvent(t, step.id.value, state=HostState.OK, duration=1.0) for t in step.targets]
    return events


class MatrixApp(App):
    def __init__(self, kind: type[SetupMatrix]):
        super().__init__()
        self.kind = kind

    def compose(self) -> ComposeResult:
        yield self.kind(id="matrix")


async def measure(kind: type[SetupMatrix], hosts: int) -> dict:
    plan = setup_plan(fleet(hosts))
    events = run_events(plan)
    app = MatrixApp(kind)
    async with app.run_test(size=SIZE) as pilot:
        matrix = app.query_one(SetupMatrix)
        matrix.show_plan(plan)
        for _ in range(3):
            await pilot.pause()
        drawn = [0]
        real = app.console.render_lines

        def counted(renderable, *args, **kwargs):
            drawn[0] += isinstance(renderable, Styled)
            return real(renderable, *args, **kwargs)

        app.console.render_lines = counted
        batch_times = []
        began = time.perf_counter()
        for start in range(0, len(events), BATCH):
            t0 = time.perf_counter()
            for event in events[start:start + BATCH]:
                matrix.apply(event)
            matrix.tick()
            await pilot.pause()  # one screen update
            batch_times.append(time.perf_counter() - t0)
        total = time.perf_counter() - began
    batch_times.sort()
    return {"events": len(events), "cells_drawn": drawn[0], "seconds": total,
            "batch_p50_ms": 1000 * statistics.median(batch_times),
            "batch_p95_ms": 1000 * batch_times[int(0.95 * (len(batch_times) - 1))]}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results: dict = {}
    for hosts in (20, 200):
        runs = {"cell": [], "reference": []}
        for repeat in range(args.repeats):
            order = [("cell", SetupMatrix), ("reference", ReferenceMatrix)]
            for name, kind in (order if repeat % 2 == 0 else order[::-1]):
                runs[name].append(await measure(kind, hosts))
        results[hosts] = {name: {key: statistics.median(run[key] for run in found) for key in found[0]}
                          for name, found in runs.items()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "setup_matrix.json").write_text(json.dumps(results, indent=2) + "\n")
    markdown = table(results, args.repeats)
    (RESULTS / "setup_matrix.md").write_text(markdown)
    print(markdown)


def table(results: dict, repeats: int) -> str:
    lines = ["## Setup matrix: one event, one cell", "",
             f"`.venv/bin/python bench/setup_matrix.py --repeats {repeats}` (medians of {repeats} runs; a setup "
             f"run's state events fed in batches of {BATCH}, one screen update and one tick per batch, 160×50). "
             "`reference` is the same widget through DataTable.update_cell (the matrix before).", "",
             "| hosts | events | cells drawn: cell / reference | ratio | batch p50 ms: cell / reference "
             "| batch p95 ms: cell / reference | p95 ratio |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for hosts, found in results.items():
        cell, ref = found["cell"], found["reference"]
        lines.append(
            f"| {hosts} | {cell['events']:.0f} | {cell['cells_drawn']:.0f} / {ref['cells_drawn']:.0f} "
            f"| {ref['cells_drawn'] / max(cell['cells_drawn'], 1):.0f}× "
            f"| {cell['batch_p50_ms']:.1f} / {ref['batch_p50_ms']:.1f} "
            f"| {cell['batch_p95_ms']:.1f} / {ref['batch_p95_ms']:.1f} "
            f"| {ref['batch_p95_ms'] / cell['batch_p95_ms']:.1f}× |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    asyncio.run(main())
