"""Live configuration from the Grid (`L`): what differs between the saved file and the running
nodes (memlimit, connections; threads needs a restart) and the ZooKeeper mappings, then, on
`y`, `config memlimit` / `config maxconns`, the re-register and the check that the nodes now
report the file's values (`deploy.live_config`). Read-only apps never apply."""

from __future__ import annotations

from typing import Awaitable, Callable, Optional

from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Static

from arcus_tui.deploy.live_config import LiveConfigPlan, LiveConfigResult, apply_plan, read_plan
from arcus_tui.events import ProgressEvent
from arcus_tui.model import Cluster
from arcus_tui.text import printable, printable_lines

from .dialog import DialogScreen

Reader = Callable[[Cluster], Awaitable[LiveConfigPlan]]
Applier = Callable[..., Awaitable[LiveConfigResult]]


class LiveConfigScreen(DialogScreen[Optional[LiveConfigResult]]):
    DEFAULT_CSS = """
    LiveConfigScreen > Vertical {
        width: 120;
        height: 80%;
    }
    LiveConfigScreen #live-scroll {
        height: 1fr;
    }
    LiveConfigScreen #live-note {
        height: auto;
        margin: 1 0 0 0;
        text-style: bold;
    }
    """

    BINDINGS = [Binding("y", "apply", "Apply", id="dialog.yes"), Binding("escape,n", "close", "Close", id="dialog.no")]

    def __init__(self, cluster: Cluster, path: str, *, read_only: bool, reader: Optional[Reader] = None,
                 applier: Optional[Applier] = None) -> None:
        super().__init__()
        self.cluster = cluster
        self.path = path
        self.read_only = read_only
        self.reader = reader
        self.applier = applier
        self.plan: Optional[LiveConfigPlan] = None
        self.result: Optional[LiveConfigResult] = None
        self.applying = False
        self.lines: list[str] = []

    def compose(self):
        with Vertical() as box:
            box.border_title = f"Live configuration of {self.cluster.service_code}"
            box.border_subtitle = "y apply · esc close"
            with VerticalScroll(id="live-scroll"):
                yield Static(Content("reading every node's stats settings and ZooKeeper..."), id="live-text")
            yield Static("", id="live-note")

    def on_mount(self) -> None:
        self.run_worker(self._read(), exclusive=True, group="live-config")

    def _show(self) -> None:
        self.query_one("#live-text", Static).update(Content("\n".join(self.lines)))
        self.query_one("#live-scroll", VerticalScroll).scroll_end(animate=False)

    def _note(self, text: str) -> None:
        self.query_one("#live-note", Static).update(Content(text))

    async def _read(self) -> None:
        reader = self.reader or read_plan
        self.plan = plan = await reader(self.cluster)
        self.lines = [printable(line) for line in plan.describe(self.path)]
        self._show()
        if not plan.needs_action:
            self._note("nothing to apply live")
        elif self.read_only:
            self._note("read-only: shown, never applied")
        else:
            self._note(f"y applies {len(plan.live)} live change(s)"
                       + (" and re-registers the mappings" if plan.mapping_changes else ""))

    def action_apply(self) -> None:
        plan = self.plan
        if plan is None or not plan.needs_action or self.applying or self.result is not None:
            return
        if self.read_only:
            self._note("read-only: live configuration is not applied")
            return
        self.applying = True
        self._note("applying...")
        self.run_worker(self._apply(plan), exclusive=True, group="live-config")

    def _event(self, event: ProgressEvent) -> None:
        if event.state is None and not event.text:
            return
        what = event.state.value if event.state is not None else ""
        text = " / ".join(printable_lines(event.text)) if event.text else ""
        self.lines.append(f"[{printable(event.host)}] {event.step}: {what}{': ' if what and text else ''}{text}")
        self._show()

    async def _apply(self, plan: LiveConfigPlan) -> None:
        applier = self.applier or apply_plan
        self.lines.append("")
        self.result = result = await applier(self.cluster, plan, self._event)
        self.applying = False
        reasons = [printable(why) for why in [*result.failed.values(), result.registry_problem] if why]
        if plan.restart:
            reasons.append(f"threads needs a restart (arcus-tui restart {printable(self.path)} memcached --rolling)")
        if plan.unreadable:
            reasons.append(f"{len(plan.unreadable)} node(s) not read")
        self._note("applied and verified" if not reasons else "not complete: " + "; ".join(reasons))

    def action_close(self) -> None:
        self.dismiss(self.result)
