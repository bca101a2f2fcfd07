"""The step × target matrix of the Setup tab.

Rows are the plan's steps in order (with their titles), columns its targets:
the gateway, every host, and `zookeeper` for the ensemble-wide steps. A cell is
a target's state in a step, as the engine's events say:

    · pending   ⠋ running   ✓ ok   = already-done   ✗ failed   – skipped   ⊘ cancelled

and the last column is the step's time (its slowest target, or the time so far).

Steps stay rows and targets columns at any fleet size: a plan has a dozen steps, so
the rows always fit, and 200 host columns scroll sideways with the step titles fixed
on the left (`fixed_columns`). The pane addresses a cell as (step row, target column).
What keeps 200 columns cheap is drawing: an event redraws its own cell and its step's
time only (`CellTable.set_cell`), a tick only the running cells, and every cell is
drawn again only by `repaint()` (a theme change).

`show_probe` marks what a read-only probe found already true (`deploy.probe`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator, Optional

from rich.text import Text
from textual.coordinate import Coordinate

from arcus_tui.deploy.plan import ENSEMBLE, Plan
from arcus_tui.deploy.probe import ProbeResult
from arcus_tui.deploy.report import DeployReport
from arcus_tui.deploy.run_log import format_duration
from arcus_tui.events import GATEWAY, HostState, ProgressEvent
from arcus_tui.text import printable_lines

from .cell_table import CellTable

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


def plan_targets(plan: Plan) -> list[str]:
    """The matrix's columns: the gateway, the hosts in file order, the ensemble, then any other."""
    present: list[str] = []
    for step in plan.steps:
        for target in step.targets:
            if target not in present:
                present.append(target)
    order = [GATEWAY, *(host.name for host in plan.cluster.hosts), ENSEMBLE]
    return [t for t in order if t in present] + [t for t in present if t not in order]


class SetupMatrix(CellTable):
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
        self._step_cells: dict[str, list[Cell]] = {}  # a step's time looks at its own cells only
        self._running: set[tuple[str, str]] = set()  # what a tick redraws
        self._styles: dict[HostState, str] = {}  # per state, for the current theme

    # --- the model ------------------------------------------------------------------------

    def show_plan(self, plan: Plan, previous: Optional[DeployReport] = None) -> None:
        """Rows and columns of `plan`, every cell pending; with `previous` (a retry) the
        targets that succeeded last time keep that state, as the runner keeps them."""
        self.plan = plan
        self.targets = plan_targets(plan)
        self.cells = {}
        self._step_cells = {}
        self._running = set()
        self._styles = {}
        for step in plan.steps:
            for target in step.targets:
                cell = Cell()
                kept = previous.get(step.id, target) if previous is not None else None
                if kept is not None and kept.state.succeeded:
                    cell.state, cell.message = kept.state, kept.message
                self.cells[(step.id.value, target)] = cell
                self._step_cells.setdefault(step.id.value, []).append(cell)
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

    def show_probe(self, probe: ProbeResult) -> int:
        """Mark what a read-only probe found already true as already-done (pending cells only:
        a run's own outcome wins); a cell it could not tell about says why in its message.
        Returns how many cells were marked done."""
        marked = 0
        for (step_id, target), verdict in probe.verdicts.items():
            cell = self.cells.get((step_id.value, target))
            if cell is None or cell.state is not HostState.PENDING:
                continue
            if verdict.done:
                cell.state, cell.message = HostState.ALREADY_DONE, verdict.reason
                marked += 1
            else:
                cell.message = verdict.describe()
            self._refresh_cell(step_id.value, target)
        return marked

    def apply(self, event: ProgressEvent) -> bool:
        """Take one engine event; True if a cell of this plan changed."""
        key = (event.step, event.host)
        cell = self.cells.get(key)
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
            self._running.add(key)
        else:
            cell.duration = event.duration
            cell.message = " / ".join(printable_lines(event.text)) if event.text else ""
            cell.started = None
            self._running.discard(key)
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
        cells = self._step_cells.get(step, ())
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

    def _style(self, state: HostState) -> str:
        if state not in self._styles:
            colour = self.app.theme_variables.get(COLOURS[state], "") if self.is_attached else ""
            self._styles[state] = f"bold {colour}" if state is HostState.FAILED and colour else colour
        return self._styles[state]

    def _cell_visual(self, step: str, target: str) -> Text:
        cell = self.cells.get((step, target))
        if cell is None:
            return Text("")
        return Text(cell_label(cell.state, self.frame), style=self._style(cell.state))

    def _time_visual(self, step: str) -> Text:
        muted = self.app.theme_variables.get("foreground-muted", "") if self.is_attached else ""
        return Text(format_duration(self.step_time(step)), style=muted, justify="right")

    def _refresh_cell(self, step: str, target: str) -> None:
        if self.is_mounted and self.row_count:
            self.set_cell(step, target, self._cell_visual(step, target))

    def _refresh_time(self, step: str) -> None:
        if self.is_mounted and self.row_count:
            self.set_cell(step, TIME_COLUMN, self._time_visual(step))

    def tick(self) -> None:
        """Advance the spinner of the running cells on screen and their steps' clocks; nothing
        else is drawn (a running cell scrolled out of view keeps its frame until it is back).
        A cell the pane set to another state since (a cancel) is drawn once more and let go."""
        self.frame += 1
        steps = set()
        for key in list(self._running):
            if self.cells[key].state is not HostState.RUNNING:
                self._running.discard(key)
            elif not (self.is_mounted and self.row_count and self.column_in_view(key[1])):
                steps.add(key[0])
                continue
            self._refresh_cell(*key)
            steps.add(key[0])
        for step in steps:
            self._refresh_time(step)

    def repaint(self) -> None:
        """Draw every cell again, in one pass (the theme changed, or the pane set cells itself)."""
        if self.plan is None:
            return
        self._styles = {}
        self._running = {key for key, cell in self.cells.items() if cell.state is HostState.RUNNING}
        if not (self.is_mounted and self.row_count):
            return
        for step in self.plan.steps:
            for target in step.targets:
                self.update_cell(step.id.value, target, self._cell_visual(step.id.value, target))
            self.update_cell(step.id.value, TIME_COLUMN, self._time_visual(step.id.value))
