"""The Setup tab: the guided setup as a step × host matrix that fills in as it runs.

`s` shows the whole setup plan (steps × hosts, every process it starts, the registry
changes) and runs it once the operator says y; `x` (or ctrl+c) cancels a run in progress;
`r` runs it again for only what did not succeed (the runner is given the previous
`DeployReport`), `t` runs the teardown after the operator types `Delete <service_code>`
under the list of every process it stops.

Runs belong to the app's `RunController` (`ui/runs.py`), not to this pane: the pane starts
them and watches them, so a pane built anew mid-run (a saved layout) shows the run so far
and the rest as it comes. Which keys are on is the app's one gate (`ui/gate.py`): in
read-only mode they are hidden, and a run started anyway is refused by the engine itself
(`ReadOnlyError`), whose message is shown.

Over 400 lines: one widget that starts four kinds of run, asks their questions and draws their
progress; the run itself (`ui/runs.py`), the matrix (`widgets/setup_matrix.py`) and the rolling
restarts (`ui/rolling_restart.py`) already live elsewhere, and what is left is the pane's own
wiring (issue 11 left splitting the questions out for later).
"""

from __future__ import annotations

import logging
import time
from typing import Iterable, Optional, Sequence

from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, DataTable, Static

from arcus_tui.deploy.live_changes import change_lines
from arcus_tui.deploy.plan import Plan, PlanOptions, setup_plan, teardown_plan
from arcus_tui.deploy.probe import ProbeOptions, ProbeResult, probe_setup
from arcus_tui.deploy.report import DeployReport
from arcus_tui.deploy.shrink import retiring_nodes, unreachable_refusal
from arcus_tui.events import HostState, ProgressEvent
from arcus_tui.text import printable_lines

from ..context import AppContext
from ..gate import CANCEL_RUN, RUNS, Gate
from ..rolling_restart import ROLLING_KEYS, start_rolling
from ..runs import CANCELLED as CANCELLED_MESSAGE, KIND_TITLES, RunController, RunState
from ..screens.confirm_setup import ConfirmSetupScreen
from ..screens.confirm_teardown import ConfirmTeardownScreen
from ..widgets.setup_matrix import STEP_COLUMN, TIME_COLUMN, SetupMatrix, cell_label, format_duration

log = logging.getLogger(__name__)

TICK_SECONDS = 0.1


MAX_EFFECTS_PER_STEP = 6  # the modal must fit a 200-node teardown


def plan_effect_lines(plan: Plan) -> list[str]:
    """What a run does, in the confirm modals' words: each step, and indented under it each
    process it starts or stops and where, or the registry change (`Plan.effects`), the longest
    lists cut short."""
    lines = []
    for step in plan.steps:
        lines.append(step.title)
        effects = plan.subset({step.id}).effects()
        shown = effects if len(effects) <= MAX_EFFECTS_PER_STEP else effects[:MAX_EFFECTS_PER_STEP - 1]
        lines += [f"    {effect}" for effect in shown]
        if len(shown) < len(effects):
            lines.append(f"    … and {len(effects) - len(shown)} more")
    return lines


class SetupPane(Vertical):
    """Matrix, status line, the highlighted cell's detail, and the three run buttons."""

    BINDINGS = [
        Binding("s", "start", "Setup", id="setup.start"),
        Binding("r", "retry", "Retry failed", id="setup.retry"),
        Binding("t", "teardown", "Teardown", id="setup.teardown"),
        Binding("R", "rolling_memcached", "Rolling restart", id="setup.rolling-memcached"),
        Binding("Z", "rolling_zookeeper", "Restart ZooKeeper", id="setup.rolling-zookeeper"),
        Binding("x,ctrl+c", CANCEL_RUN, "Cancel run", key_display="x", id="setup.cancel"),
    ]

    def __init__(self, context: AppContext, *, id: Optional[str] = "setup-pane") -> None:
        super().__init__(id=id, classes="-read-only" if context.read_only else "")
        self.context = context
        self.cluster = context.cluster
        self.current_step = ""
        self.outcome: Content = Content("")
        self.probe: Optional[ProbeResult] = None  # what was found in place when the tab opened
        self.probe_note = ""

    # --- the app's runs -------------------------------------------------------------------

    @property
    def runs(self) -> RunController:
        return self.app.runs

    @property
    def shown_run(self) -> Optional[RunState]:
        return self.runs.run

    @property
    def running(self) -> bool:
        return self.is_attached and self.runs.running

    @property
    def run_number(self) -> int:
        return self.shown_run.number if self.shown_run is not None else 0

    @property
    def report(self) -> Optional[DeployReport]:
        """The last finished run's report, for `r`."""
        run = self.shown_run
        return run.report if run is not None and not run.running else None

    # --- layout ---------------------------------------------------------------------------

    def compose(self):
        yield Static(id="setup-status")
        if self.cluster is not None:
            yield SetupMatrix(id="setup-matrix")
        yield Static(id="setup-detail")
        with Horizontal(id="setup-buttons"):
            yield Button("Start setup  s", id="setup-start", variant="primary", compact=True)
            yield Button("Retry failed  r", id="setup-retry", compact=True)
            yield Button("Teardown  t", id="setup-teardown", variant="error", compact=True)

    def on_mount(self) -> None:
        if self.cluster is not None:
            self.matrix.show_plan(setup_plan(self.cluster, PlanOptions()))
        self._ticker = self.set_interval(TICK_SECONDS, self._tick, pause=True)
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.call_after_refresh(self._repaint))
        if self.cluster is not None:
            self.runs.watch(self)
        self._show_status()
        self._sync_controls()

    def on_unmount(self) -> None:
        self.runs.unwatch(self)

    def focus_default(self) -> None:
        """The tab came into view: the matrix takes the keys (s/r/t, arrows) at once."""
        if self.cluster is not None:
            self.screen.set_focus(self.matrix)

    def on_show(self) -> None:
        if self.context.probe and self.cluster is not None and self.probe is None and not self.running:
            self.run_worker(self._probe(), group="setup-probe", exclusive=True, exit_on_error=False)

    # --- what is already in place -----------------------------------------------------------

    class Probed(Message):
        """The read-only probe's answer: which cells of the setup are already done."""

        def __init__(self, result: ProbeResult) -> None:
            super().__init__()
            self.result = result

    async def _probe(self) -> None:
        """Read (only) what of the setup is already true, so that a running cloud is not shown as
        "pending" everywhere; a probe that fails leaves the cells pending, without a traceback."""
        self.probe_note = "reading what is already in place…"
        self._show_status()
        try:
            result = await probe_setup(setup_plan(self.cluster, PlanOptions()),
                                       ProbeOptions(ssh_paths=self.context.ssh_paths))
        except Exception as error:
            log.warning("the setup probe failed", exc_info=True)
            self.probe_note = f"could not read what is in place ({type(error).__name__}); every step is offered"
            self._show_status()
            return
        self.post_message(self.Probed(result))

    def on_setup_pane_probed(self, message: Probed) -> None:
        if self.running or self.shown_run is not None:
            return  # a run's own cells win
        self.probe = message.result
        done = self.matrix.show_probe(message.result)
        self.matrix.repaint()  # once per probe: every row, so no cached line of "pending" stays drawn
        left = sum(len(step.targets) for step in setup_plan(self.cluster, PlanOptions()).remaining(self.probe).steps)
        self.probe_note = f"already in place: {done} of the cells; {left} left to do"
        self._show_status()
        self._show_detail()

    @property
    def matrix(self) -> SetupMatrix:
        return self.query_one(SetupMatrix)

    # --- keys -----------------------------------------------------------------------------

    @property
    def gate(self) -> Gate:
        """The screen's gate (it knows about unsaved layout edits), or this pane's own part of it."""
        gate = getattr(self.screen, "gate", None) if self.is_attached else None
        if isinstance(gate, Gate):
            return gate
        return Gate(read_only=self.context.read_only, running=self.running)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> Optional[bool]:
        if action in RUNS and self.cluster is None:
            return None  # shown, but off: nothing to run
        allowed = self.gate.check(action)
        if allowed and action == "retry" and (self.report is None or self.report.ok):
            return None
        return allowed

    def gate_changed(self) -> None:
        """The gate's inputs changed: buttons, footer and status line follow."""
        self._sync_controls()
        self._show_status()

    def allowed(self, action: str, what: str) -> bool:
        """Whether the gate lets `action` run now; if not, says so (`what` names the run)."""
        if self.gate.check(action) is True:
            return True
        self.notify(f"{what} is off now (read-only, a run in progress, or unsaved layout edits).", severity="warning")
        return False

    def action_start(self) -> None:
        """Show what the setup does (steps, hosts, the processes it starts) and ask first."""
        if self.cluster is None:
            return
        if not self.allowed("start", "Setup"):
            return
        registration = self.probe.registration if self.probe is not None else None
        retiring, unreachable = retiring_nodes(self.cluster, registration)
        if unreachable:
            self.notify(unreachable_refusal(unreachable), title="Setup refused", severity="error", timeout=15)
            return
        plan = setup_plan(self.cluster, PlanOptions(ask_removal=self.runs.ask_removal, retiring=retiring))
        # What the probe found in place is kept (the runner skips it); only the rest is offered.
        offered = plan.remaining(self.probe) if self.probe is not None else plan
        if not offered.steps:
            self.notify("Nothing to do: every step of the setup is already in place.", title="Setup")
            return
        previous = self.probe.as_report(plan) if self.probe is not None else None

        def confirmed(yes: Optional[bool]) -> None:
            if yes:
                self.launch("setup", plan, previous)
            else:
                self.notify("Setup not confirmed: nothing was changed.")

        changes = change_lines(self.cluster, registration)
        diff = ["Changes to the running cloud:"] + [f"  {line}" for line in changes] + [""] if changes else []
        self.app.push_screen(ConfirmSetupScreen(self.cluster.service_code, setup_summary(offered),
                                                diff + plan_effect_lines(offered)), confirmed)

    def action_cancel_run(self) -> None:
        """Stop the run in progress: its worker is cancelled, the runner closes its connections."""
        if self.runs.cancel():
            self.notify("Cancelling the run: steps already started are stopped.", title="Cancel",
                        severity="warning")

    def action_retry(self) -> None:
        if self.report is None:
            self.notify("Nothing to retry: no run yet.", severity="warning")
            return
        if self.report.ok:
            self.notify("Nothing to retry: every step of the last run succeeded.")
            return
        self.launch("retry", self.report.plan, self.report)

    def action_teardown(self) -> None:
        if self.cluster is None:
            return
        plan = teardown_plan(self.cluster, PlanOptions())
        if self.context.read_only:
            self.launch("teardown", plan, None)  # the engine refuses it and says why
            return
        if not self.allowed("teardown", "Teardown"):
            return

        def confirmed(yes: Optional[bool]) -> None:
            if yes:
                self.launch("teardown", plan, None)
            else:
                self.notify("Teardown not confirmed: nothing was changed.")

        self.app.push_screen(ConfirmTeardownScreen(self.cluster.service_code,
                                                   plan_effect_lines(plan)), confirmed)

    def action_rolling_memcached(self) -> None:
        start_rolling(self, "memcached")

    def action_rolling_zookeeper(self) -> None:
        start_rolling(self, "zookeeper")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        actions = {"setup-start": "start", "setup-retry": "retry", "setup-teardown": "teardown"}
        action = actions.get(event.button.id or "")
        if action is not None:
            getattr(self, f"action_{action}")()

    # --- a run ----------------------------------------------------------------------------

    def launch(self, kind: str, plan: Plan, previous: Optional[DeployReport]) -> None:
        """Start a run of `plan` (the engine refuses what read-only mode forbids and says why)."""
        if not self.runs.start(kind, self.cluster, plan, previous):
            self.notify("A run is in progress; wait for it to finish.", severity="warning")

    def run_started(self, run: RunState) -> None:
        self.current_step = ""
        self.outcome = Content("")
        self.matrix.show_plan(run.plan, run.previous)
        self._ticker.resume()
        self.screen_gate_changed()

    def run_progress(self, run: RunState, events: Sequence[ProgressEvent]) -> None:
        matrix = self.matrix
        for event in events:
            if matrix.apply(event) and event.state is HostState.RUNNING:
                self.current_step = event.step
        self._show_status()
        self._show_detail()

    def run_finished(self, run: RunState) -> None:
        self._ticker.pause()
        if run.report is not None:
            self._reconcile(run.report)
        if run.cancelled:
            self._mark_cancelled()
        self.outcome = run_outcome(run)
        self.matrix.tick()
        self.screen_gate_changed()

    def screen_gate_changed(self) -> None:
        """A run began or ended: the screen's keys (Grid edits, quit) follow, and so does this pane."""
        changed = getattr(self.screen, "gate_changed", None) if self.is_attached else None
        if callable(changed):
            changed()
        else:
            self.gate_changed()

    def _mark_cancelled(self) -> None:
        """Cells still running when the run was cancelled say so."""
        matrix = self.matrix
        for step_id, target, state in list(matrix.states()):
            if state is HostState.RUNNING:
                cell = matrix.cell(step_id, target)
                cell.state, cell.message = HostState.CANCELLED, CANCELLED_MESSAGE
        matrix.repaint()

    def _reconcile(self, report: DeployReport) -> None:
        """Outcomes the report has but no event carried (e.g. kept by a retry) go into the matrix."""
        matrix = self.matrix
        for (step_id, target), outcome in report.outcomes.items():
            cell = matrix.cell(step_id.value, target)
            if cell is not None and cell.state is not outcome.state and not cell.state.finished:
                cell.state, cell.message = outcome.state, outcome.message
        matrix.repaint()

    # --- events ---------------------------------------------------------------------------

    def on_data_table_cell_highlighted(self, event: DataTable.CellHighlighted) -> None:
        event.stop()
        self._show_detail()

    # --- drawing --------------------------------------------------------------------------

    def _tick(self) -> None:
        self.matrix.tick()
        self._show_status()

    def _repaint(self) -> None:
        if self.cluster is not None:
            self.matrix.repaint()

    def _sync_controls(self) -> None:
        """Buttons follow the same gate as the keys."""
        for action in ("start", "retry", "teardown"):  # the runs that have a button
            self.query_one(f"#setup-{action}", Button).disabled = self.check_action(action, ()) is not True
        self.refresh_bindings()

    def status_content(self) -> Content:
        if self.cluster is None:
            return Content.assemble(("No cluster file. ", "bold $warning"),
                                    "Start arcus-tui with one to set it up: arcus-tui cluster.toml")
        parts: list[Content] = []
        if self.context.read_only:
            parts.append(Content.assemble(
                ("READ-ONLY", "bold $warning"),
                ": the engine refuses writes here, so setup (s), retry (r) and teardown (t) are off."))
        if self.running:
            run = self.shown_run
            title = KIND_TITLES.get(run.kind, run.kind)
            step_text = ""
            plan = self.matrix.plan
            if plan is not None and self.current_step:
                numbers = {step.id.value: (n, step.title) for n, step in enumerate(plan.steps, 1)}
                if self.current_step in numbers:
                    number, step_title = numbers[self.current_step]
                    step_text = f" · step {number}/{len(plan.steps)}: {step_title}"
            elapsed = format_duration(time.monotonic() - run.started)
            parts.append(Content.assemble((f"{title} running", "bold $accent"), f"{step_text} · {elapsed} · ",
                                          ("x", "bold $accent"), " cancels it"))
        elif self.outcome.plain:
            parts.append(self.outcome)
        elif not self.context.read_only:
            hosts = len(self.cluster.hosts)
            parts.append(Content.assemble(
                "Service code ", (self.cluster.service_code, "bold"),
                f" on {hosts} host{'s' if hosts != 1 else ''}. ",
                ("s", "bold $accent"), " runs the whole setup (every step on all hosts at once, after showing "
                "what it changes and asking), ", ("t", "bold $accent"), " tears it down; ",
                ("R", "bold $accent"), " / ", ("Z", "bold $accent"),
                " restart memcached / ZooKeeper one at a time on a live cloud."))
        if self.probe_note and not self.running and not self.outcome.plain:
            parts.append(Content.styled(f"Probe: {self.probe_note}", "$foreground-muted"))
        if not self.running and not self.context.read_only and self.gate.unsaved:
            parts.append(Content.assemble(
                ("Unsaved layout edits", "bold $warning"),
                ": runs are off until they are saved (ctrl+s on the Grid), so that what runs is what you see."))
        return Content("\n").join(parts)

    def _show_status(self) -> None:
        self.query_one("#setup-status", Static).update(self.status_content())

    def detail_content(self) -> Content:
        """What the highlighted cell knows: state, time, and its message or last line."""
        if self.cluster is None or not self.matrix.row_count:
            return Content("")
        matrix = self.matrix
        try:
            row_key, column_key = matrix.coordinate_to_cell_key(matrix.cursor_coordinate)
        except Exception:
            return Content("")
        step_id, target = row_key.value, column_key.value
        if target in (STEP_COLUMN, TIME_COLUMN) or matrix.plan is None:
            return Content("")
        cell = matrix.cell(step_id, target)
        step = next((s for s in matrix.plan.steps if s.id.value == step_id), None)
        if cell is None or step is None:
            return Content.styled(f"{target} has no part in this step.", "$foreground-muted")
        took = f" in {format_duration(cell.duration)}" if cell.duration is not None else ""
        text = " / ".join(printable_lines(cell.message or cell.last_line))  # a report's message may quote a host
        colour = {HostState.FAILED: "$error", HostState.SKIPPED: "$warning"}.get(cell.state, "$foreground-muted")
        return Content.assemble((f"{step.title} · {target}: ", "bold"),
                                (f"{cell_label(cell.state)}{took}", colour),
                                f"  {text}" if text else "")

    def _show_detail(self) -> None:
        self.query_one("#setup-detail", Static).update(self.detail_content())


def setup_summary(plan: Plan) -> str:
    """One line: how many steps on how many hosts, and for which service code."""
    hosts = {target for step in plan.steps for target in step.targets} & {h.name for h in plan.cluster.hosts}
    steps = len(plan.steps)
    return (f"{steps} step{'s' if steps != 1 else ''} on {len(hosts)} host{'s' if len(hosts) != 1 else ''} "
            f"for service code {plan.cluster.service_code}, every step on all hosts at once")


def run_outcome(run: RunState) -> Content:
    """How a finished run went, in the status line's words."""
    title = KIND_TITLES.get(run.kind, run.kind)
    took = format_duration(run.elapsed)
    report = run.report
    if run.cancelled:
        again = {"teardown": "t", **ROLLING_KEYS}.get(run.kind, "s")
        outcome = Content.assemble(
            (f"{title} cancelled", "bold $warning"), f" after {took}; steps already done stay done. ",
            (again, "bold $accent"), " runs it again from the start (every step is idempotent).")
    elif run.error or report is None:
        return Content.assemble((f"{title} not run: ", "bold $error"), run.error)
    elif report.ok:
        outcome = Content.assemble((f"{title} done", "bold $success"), f" in {took}: every step ok or already done.")
    else:
        states = [outcome.state for _, _, outcome in report.failures()]
        skipped = states.count(HostState.SKIPPED)
        outcome = Content.assemble(
            (f"{title} finished with {len(states) - skipped} failed and {skipped} skipped", "bold $error"),
            f" in {took}. ", ("r", "bold $accent"), " runs again only what did not succeed.")
    if run.audit_path:
        outcome += Content.styled(f"\nAudit trail: {run.audit_path}", "$foreground-muted")
    return outcome


def setup_pane(context: AppContext) -> Iterable[Widget]:
    """The `PANES` entry of the Setup tab."""
    yield SetupPane(context)
