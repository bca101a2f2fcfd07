"""The step × target matrix of the Setup tab.

Rows are the plan's steps in order (with their titles), columns its targets:
the gateway, every host, and `zookeeper` for the ensemble-wide steps. A cell is
a target's state in a step, as the engine's events say:

    · pending   ⠋ running   ✓ ok   = already-done   ✗ failed   – skipped   ⊘ cancelled

and the last column is the step's time (its slowest target, or the time so far).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator, Optional

from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from arcus_tui.deploy.plan import REGISTRY, Plan
from arcus_tui.deploy.report import DeployReport
from arcus_tui.events import GATEWAY, HostState, ProgressEvent
from arcus_tui.text import printable_lines

STEP_COLUMN = "#step"
TIME_COLUMN = "#time"

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

GLYPHS: dict[HostState, str] = {
    HostState.PENDING: "·",
    HostState.RUNNING: SPINNER[0],
    HostState.OK: "✓",
    HostState.ALREADY_DONE: "=",
    HostState.FAILED: "✗",
    HostState.SKIPPED: "–",
    HostState.CANCELLED: "⊘",
}

COLOURS: dict[HostState, str] = {
    HostState.PENDING: "foreground-muted",
    HostState.RUNNING: "accent",
    HostState.OK: "success",
    HostState.ALREADY_DONE: "success",
    HostState.FAILED: "error",
    HostState.SKIPPED: "warning",
    HostState.CANCELLED: "warning",
}
"""Theme variable of each state's colour."""

CELL_WIDTH = len("= already-done")


@dataclass
class Cell:
    """What the matrix knows about one target in one step."""

    state: HostState = HostState.PENDING
    message: str = ""  # the final state's text (an error, why it was skipped, ...)
    last_line: str = ""  # the last line of output, shown when there is no message
    duration: Optional[float] = None
    started: Optional[float] = None  # monotonic, while running


def cell_label(state: HostState, frame: int = 0) -> str:
    glyph = SPINNER[frame % len(SPINNER)] if state is HostState.RUNNING else GLYPHS[state]
    return f"{glyph} {state.value}"


def format_duration(seconds: Optional[float]) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def plan_targets(plan: Plan) -> list[str]:
    """The matrix's columns: the gateway, the hosts in file order, the ensemble, then any other."""
    present: list[str] = []
    for step in plan.steps:
        for target in step.targets:
            if target not in present:
                present.append(target)
    order = [GATEWAY, *(host.name for host in plan.cluster.hosts), REGISTRY]
    return [t for t in order if t in present] + [t for t in present if t not in order]


class SetupMatrix(DataTable):
    """A plan's steps × targets, each cell the state the engine's events give it."""

    DEFAULT_CSS = """
    SetupMatrix {
        height: auto;
        max-height: 1fr;
    }
    """

    def __init__(self, *, id: Optional[str] = None) -> None:
        super().__init__(id=id, cursor_type="cell", zebra_stripes=True)
        self.fixed_columns = 1  # the step titles stay in view when many hosts scroll sideways
        self.plan: Optional[Plan] = None
        self.targets: list[str] = []
        self.cells: dict[tuple[str, str], Cell] = {}
        self.frame = 0

    # --- the model ------------------------------------------------------------------------

    def show_plan(self, plan: Plan, previous: Optional[DeployReport] = None) -> None:
        """Rows and columns of `plan`, every cell pending; with `previous` (a retry) the
        targets that succeeded last time keep that state, as the runner keeps them."""
        self.plan = plan
        self.targets = plan_targets(plan)
        self.cells = {}
        for step in plan.steps:
            for target in step.targets:
                cell = Cell()
                kept = previous.get(step.id, target) if previous is not None else None
                if kept is not None and kept.state.succeeded:
                    cell.state, cell.message = kept.state, kept.message
                self.cells[(step.id.value, target)] = cell
        self.clear(columns=True)
        width = max([len(f"{n}. {s.title}") for n, s in enumerate(plan.steps, 1)] + [10])
        self.add_column("Step", key=STEP_COLUMN, width=width)
        for target in self.targets:
            self.add_column(target, key=target, width=max(len(target), CELL_WIDTH))
        self.add_column("Time", key=TIME_COLUMN, width=7)
        for number, step in enumerate(plan.steps, 1):
            row = [Text(f"{number}. {step.title}")]
            row += [self._cell_visual(step.id.value, target) for target in self.targets]
            row.append(self._time_visual(step.id.value))
            self.add_row(*row, key=step.id.value)
        if self.targets:
            self.cursor_coordinate = Coordinate(0, 1)  # the first target's cell, not the title

    def apply(self, event: ProgressEvent) -> bool:
        """Take one engine event; True if a cell of this plan changed."""
        cell = self.cells.get((event.step, event.host))
        if cell is None:
            return False
        if event.state is None:
            if event.text:
                cell.last_line = " / ".join(printable_lines(event.text))  # remote text never drives the terminal
            return False
        cell.state = event.state
        if event.state is HostState.RUNNING:
            cell.started = time.monotonic()
            cell.duration = None
            cell.message = ""
        else:
            cell.duration = event.duration
            cell.message = " / ".join(printable_lines(event.text)) if event.text else ""
            cell.started = None
        self._refresh_cell(event.step, event.host)
        self._refresh_time(event.step)
        return True

    def state(self, step: str, target: str) -> Optional[HostState]:
        cell = self.cells.get((step, target))
        return cell.state if cell is not None else None

    def cell(self, step: str, target: str) -> Optional[Cell]:
        return self.cells.get((step, target))

    def cell_text(self, step: str, target: str) -> str:
        """The cell as the screen shows it (empty where the step has no such target)."""
        return self._cell_visual(step, target).plain

    def step_time(self, step: str) -> Optional[float]:
        cells = [cell for (s, _), cell in self.cells.items() if s == step]
        finished = [c.duration for c in cells if c.state.finished and c.duration is not None]
        running = [time.monotonic() - c.started for c in cells if c.state is HostState.RUNNING and c.started]
        return max(finished + running) if finished or running else None

    def states(self) -> Iterator[tuple[str, str, HostState]]:
        for (step, target), cell in self.cells.items():
            yield step, target, cell.state

    @property
    def running(self) -> bool:
        return any(cell.state is HostState.RUNNING for cell in self.cells.values())

    def counts(self) -> dict[HostState, int]:
        counts: dict[HostState, int] = {}
        for cell in self.cells.values():
            counts[cell.state] = counts.get(cell.state, 0) + 1
        return counts

    # --- drawing --------------------------------------------------------------------------

    def _colour(self, name: str) -> str:
        return self.app.theme_variables.get(name, "") if self.is_attached else ""

    def _cell_visual(self, step: str, target: str) -> Text:
        cell = self.cells.get((step, target))
        if cell is None:
            return Text("")
        colour = self._colour(COLOURS[cell.state])
        style = f"bold {colour}" if cell.state is HostState.FAILED and colour else colour
        return Text(cell_label(cell.state, self.frame), style=style or "")

    def _time_visual(self, step: str) -> Text:
        return Text(format_duration(self.step_time(step)), style=self._colour("foreground-muted") or "",
                    justify="right")

    def _refresh_cell(self, step: str, target: str) -> None:
        if self.is_mounted and self.row_count:
            self.update_cell(step, target, self._cell_visual(step, target))

    def _refresh_time(self, step: str) -> None:
        if self.is_mounted and self.row_count:
            self.update_cell(step, TIME_COLUMN, self._time_visual(step))

    def tick(self) -> None:
        """Advance the spinner of running cells and their steps' clocks."""
        self.frame += 1
        steps = set()
        for (step, target), cell in self.cells.items():
            if cell.state is HostState.RUNNING:
                self._refresh_cell(step, target)
                steps.add(step)
        for step in steps:
            self._refresh_time(step)

    def repaint(self) -> None:
        """Draw every cell again (the theme changed)."""
        if self.plan is None:
            return
        for step in self.plan.steps:
            for target in step.targets:
                self._refresh_cell(step.id.value, target)
            self._refresh_time(step.id.value)
