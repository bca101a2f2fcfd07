"""The app's runs: one controller owns each setup, retry or teardown run, not a pane.

A run is a worker of the app itself, so it goes on whatever happens to the panes: a
tab switch, a layout save that builds the tabs anew, a theme change or a resize. The
controller keeps what the panes show of it — the run's state changes (for the Setup
matrix), every line in the bounded `RunLog` (for the Logs tab) — and panes `watch` it:
a pane built mid-run is first given everything so far, then the rest as it comes.

Events reach the controller through the runner's sink at any rate (a fleet prints tens of
thousands of lines a second). Lines go into the log at once; the watchers hear of them at
most `FLUSH_SECONDS` apart, in one batch, so drawing costs the same whatever the rate.
The batch carries every state change in order and, per (target, step), only the last line.

The runner asks the operator (password, unknown host key, removing a registered node)
through modal screens; their answers go back to the engine and nowhere else. Each run is
also written to its audit trail (`deploy/audit.py`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Protocol, Sequence

from textual.app import App
from textual.screen import Screen

from arcus_tui.deploy.audit import AuditTrail
from arcus_tui.deploy.plan import ENSEMBLE, Plan
from arcus_tui.deploy.report import DeployReport
from arcus_tui.deploy.run_log import RunLog
from arcus_tui.deploy.runner import Runner, RunnerOptions
from arcus_tui.events import GATEWAY, EventSink, ProgressEvent
from arcus_tui.model import Cluster
from arcus_tui.ssh.connect import Password
from arcus_tui.ssh.hostkeys import HostKeyQuestion
from arcus_tui.zk.registry import RegistrationDiff
from arcus_tui.zk.session import ReadOnlyError

from .context import AppContext
from .screens.ask_host_key import AskHostKeyScreen
from .screens.ask_password import AskPasswordScreen
from .screens.confirm_register import ConfirmRegisterScreen

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.1
"""Watchers hear of new events at most this often (about 10 redraws a second)."""
CANCELLED = "cancelled"
"""The error of a run the operator cancelled (x / ctrl+c)."""
KIND_TITLES = {"setup": "Setup", "retry": "Retry", "teardown": "Teardown",
               "rolling-memcached": "Rolling restart of memcached", "rolling-zookeeper": "Rolling restart of ZooKeeper"}

RunnerFactory = Callable[[Cluster, RunnerOptions, EventSink], Any]
"""Makes the runner of one run: `Runner(cluster, options, sink)` or a test's stand-in
(anything with `async run(plan, *, previous=None) -> DeployReport` and `async close()`)."""


@dataclass
class RunState:
    """One run as the panes see it."""

    number: int
    kind: str  # "setup", "retry", "teardown"
    plan: Plan
    previous: Optional[DeployReport]
    started: float = field(default_factory=time.monotonic)
    running: bool = True
    report: Optional[DeployReport] = None
    error: str = ""  # why there is no report ("cancelled", a refusal, an unexpected error)
    elapsed: float = 0.0
    audit_path: str = ""
    states: list[ProgressEvent] = field(default_factory=list)  # every state change, in order
    last_lines: dict[tuple[str, str], ProgressEvent] = field(default_factory=dict)  # (target, step) -> line

    @property
    def cancelled(self) -> bool:
        return self.error == CANCELLED


class RunWatcher(Protocol):
    """What a pane implements to follow the runs."""

    def run_started(self, run: RunState) -> None: ...

    def run_progress(self, run: RunState, events: Sequence[ProgressEvent]) -> None: ...

    def run_finished(self, run: RunState) -> None: ...


def log_targets(cluster: Optional[Cluster]) -> list[str]:
    """The logs of a cluster, in the order shown: the gateway, each host, the ensemble."""
    if cluster is None:
        return [GATEWAY]
    return [GATEWAY, *(host.name for host in cluster.hosts), ENSEMBLE]


class RunController:
    """The runs of one app: at most one at a time, each a worker of the app."""

    def __init__(self, app: App, context: AppContext, runner_factory: RunnerFactory = Runner) -> None:
        self.app = app
        self.context = context
        self.runner_factory = runner_factory
        self.log = RunLog(log_targets(context.cluster))
        self.run: Optional[RunState] = None
        self.audit_dir = None  # None: the XDG state folder (tests give their own)
        self._watchers: list[RunWatcher] = []
        self._pending_states: list[ProgressEvent] = []
        self._pending_lines: dict[tuple[str, str], ProgressEvent] = {}
        self._flush_handle: Optional[asyncio.TimerHandle] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._loop_thread: Optional[int] = None
        self._ask_lock = asyncio.Lock()
        self._cluster: Optional[Cluster] = context.cluster  # the layout of the run in progress

    @property
    def running(self) -> bool:
        return self.run is not None and self.run.running

    # --- watchers ---------------------------------------------------------------------------

    def watch(self, watcher: RunWatcher) -> None:
        """Follow the runs from now on, after hearing everything of the current one so far."""
        if watcher in self._watchers:
            return
        self._watchers.append(watcher)
        run = self.run
        if run is not None:
            watcher.run_started(run)
            watcher.run_progress(run, [*run.states, *run.last_lines.values()])
            if not run.running:
                watcher.run_finished(run)

    def unwatch(self, watcher: RunWatcher) -> None:
        if watcher in self._watchers:
            self._watchers.remove(watcher)

    def _tell(self, what: str, *args: Any) -> None:
        for watcher in list(self._watchers):
            try:
                getattr(watcher, what)(*args)
            except Exception:  # one pane's bug must not stop the others or the run
                log.exception("%s of %r failed", what, watcher)

    # --- a run ------------------------------------------------------------------------------

    def start(self, kind: str, cluster: Cluster, plan: Plan, previous: Optional[DeployReport] = None) -> bool:
        """Begin a run of `plan` on `cluster`; False when one is already in progress."""
        if self.running:
            return False
        number = self.run.number + 1 if self.run is not None else 1
        self.run = run = RunState(number, kind, plan, previous)
        self._cluster = cluster
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        for target in log_targets(cluster):
            self.log.target(target)
        self._tell("run_started", run)
        self.app.run_worker(self._work(run, cluster), name=f"deploy-{kind}", group="deploy",
                            exclusive=True, exit_on_error=False)
        return True

    def cancel(self) -> bool:
        """Cancel the run in progress (its worker; the runner closes its connections)."""
        if not self.running:
            return False
        self.app.workers.cancel_group(self.app, "deploy")
        return True

    async def _work(self, run: RunState, cluster: Cluster) -> None:
        trail = AuditTrail.start(run.kind, cluster.service_code, [host.name for host in cluster.hosts],
                                 directory=self.audit_dir)
        run.audit_path = str(trail.path) if trail.problem is None else ""
        error = CANCELLED  # unless the run comes back
        try:
            run.report, error = await self._execute(run, cluster, trail)
        finally:
            trail.finish(run.report is not None and run.report.ok, error)
            run.error = error
            run.elapsed = time.monotonic() - run.started
            self._flush()
            run.running = False
            self._tell("run_finished", run)
            self._announce(run)

    def _announce(self, run: RunState) -> None:
        """A run that did not get to its end says so once, whichever tab is shown."""
        title = KIND_TITLES.get(run.kind, run.kind)
        if run.cancelled:
            self.app.notify(f"{title} cancelled.", title=title, severity="warning")
        elif run.error:
            refused = "read-only" in run.error
            self.app.notify(run.error, title=f"{title} refused" if refused else title, severity="error", timeout=10)

    async def _execute(self, run: RunState, cluster: Cluster,
                       trail: AuditTrail) -> tuple[Optional[DeployReport], str]:
        """Run the plan with a runner of its own: (the report, "") or (None, why not)."""
        options = RunnerOptions(ssh_paths=self.context.ssh_paths, on_unknown_host_key=self.ask_host_key,
                                ask_password=self.ask_password, read_only=self.context.read_only,
                                on_command=trail.command)

        def sink(event: ProgressEvent) -> None:
            trail.event(event)
            self._take(run, event)

        runner = None
        try:
            runner = self.runner_factory(cluster, options, sink)
            return await runner.run(run.plan, previous=run.previous), ""
        except ReadOnlyError as refused:
            return None, str(refused)
        except Exception as failure:  # the engine reports host failures itself; this is anything else
            log.warning("%s run failed", run.kind, exc_info=True)
            return None, f"{type(failure).__name__}: {failure}"
        finally:
            if runner is not None:
                try:
                    await runner.close()
                except Exception:
                    log.warning("closing the runner failed", exc_info=True)

    # --- events -----------------------------------------------------------------------------

    def _take(self, run: RunState, event: ProgressEvent) -> None:
        """The runner's sink; it may be called from the engine's helper threads too."""
        if threading.get_ident() != self._loop_thread and self._loop is not None:
            self._loop.call_soon_threadsafe(self._take, run, event)
            return
        if run is not self.run:
            return  # a late event of an earlier run
        self.log.add(event, run.number, run.kind)  # the engine names each event's host, gateway or ensemble
        if event.state is not None:
            run.states.append(event)
            self._pending_states.append(event)
        elif event.text:
            run.last_lines[(event.host, event.step)] = event
            self._pending_lines[(event.host, event.step)] = event
        if self._flush_handle is None and self._loop is not None:
            self._flush_handle = self._loop.call_later(FLUSH_SECONDS, self._flush)

    def _flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        run = self.run
        batch = [*self._pending_states, *self._pending_lines.values()]
        self._pending_states, self._pending_lines = [], {}
        if run is not None and batch:
            self._tell("run_progress", run, batch)

    # --- the operator's answers -------------------------------------------------------------

    async def _ask(self, screen: Screen) -> Any:
        """Show a modal and wait for its answer; one question on screen at a time."""
        async with self._ask_lock:
            answer: asyncio.Future = asyncio.get_running_loop().create_future()

            def done(result: Any) -> None:
                if not answer.done():
                    answer.set_result(result)

            self.app.push_screen(screen, done)
            try:
                return await answer
            except asyncio.CancelledError:  # the run ends (cancelled, the app quits): take the question away
                if self.app.screen is screen:
                    try:
                        screen.dismiss(None)
                    except Exception:
                        pass
                raise

    async def ask_password(self) -> Optional[Password]:
        """The runner's `ask_password`: asked once per run, and only when a host needs it."""
        return await self._ask(AskPasswordScreen())

    async def ask_host_key(self, question: HostKeyQuestion) -> bool:
        """The runner's `on_unknown_host_key`: the operator compares the fingerprint and answers."""
        return bool(await self._ask(AskHostKeyScreen(question)))

    async def ask_removal(self, diff: RegistrationDiff) -> bool:
        """The register step's `ask_removal`: the service code typed, or no."""
        return bool(await self._ask(ConfirmRegisterScreen(diff)))
