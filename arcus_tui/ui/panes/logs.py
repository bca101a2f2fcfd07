"""The Logs tab: every target's live log (the gateway, each host, the ensemble), a page at a time.

The lines live in the app's `RunLog` (`ui/runs.py`); this pane only draws them, at most
about ten times a second whatever the rate, and only while it is on screen. A page shows
up to `PAGE_TILES` logs side by side (all of them for the co-located layout's three hosts); with a
fleet, `n`/`p` move from host to host and the page follows, `e` jumps to the next host
that failed, `m` shows every target's lines merged in arrival order, each prefixed with
its target. `/` filters (text, or `re:` and a regular expression) every view: each host's
own lines, or all hosts' in the merged view; `]`/`[` jump from match to match. Space
pauses following the newest lines (and resumes), `f`/Enter maximises the focused log,
`w` saves the focused log (or the merged one) to a file, `c` clears every log.
"""

from __future__ import annotations

import math
import time
from typing import Iterable, Optional, Sequence

from textual import events
from textual.binding import Binding
from textual.containers import Container, Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Input, Static

from arcus_tui.deploy.audit import audit_dir
from arcus_tui.deploy.plan import ENSEMBLE
from arcus_tui.deploy.run_log import compile_problem
from arcus_tui.events import GATEWAY, ProgressEvent
from arcus_tui.text import printable

from ..context import AppContext
from ..runs import RunController, RunState, log_targets
from ..widgets.log_view import LogView

PAGE_TILES = 6
"""Logs on one page at most: beyond that the page follows the selected host."""
REGEX_PREFIX = "re:"


def log_titles(context: AppContext) -> dict[str, str]:
    """The title of each target's log: a host's name and address, the ensemble's connect string."""
    titles = {GATEWAY: f"{GATEWAY} · this machine"}
    cluster = context.cluster
    if cluster is not None:
        titles.update({host.name: f"{host.name}  {host.address}" for host in cluster.hosts})
        ensemble = cluster.connect_string
        titles[ENSEMBLE] = f"{ENSEMBLE} · {ensemble}" if ensemble else ENSEMBLE
    return titles


class LogsPane(Vertical):
    """A page of `LogView`s, or the merged view, over the app's run log."""

    DEFAULT_CSS = """
    LogsPane { height: 1fr; padding: 0 1; }
    LogsPane #logs-status { height: auto; color: $foreground-muted; }
    LogsPane #logs-filter { display: none; }
    LogsPane.-filtering #logs-filter { display: block; }
    LogsPane #logs-tiles { layout: grid; grid-size: 2; grid-gutter: 0 1; grid-rows: 1fr; height: 1fr; }
    LogsPane #logs-merged { display: none; }
    LogsPane.-merged #logs-merged { display: block; }
    LogsPane.-merged #logs-tiles { display: none; }
    """

    BINDINGS = [
        Binding("n", "cycle(1)", "Next host", id="logs.next-host"),
        Binding("p", "cycle(-1)", "Previous", show=False, id="logs.previous-host"),
        Binding("e", "next_failed", "Next failed", id="logs.next-failed"),
        Binding("m", "toggle_merged", "Merged", id="logs.merged"),
        Binding("slash", "open_filter", "Filter", key_display="/", id="logs.filter"),
        Binding("right_square_bracket", "match(1)", "Next match", key_display="]", id="logs.next-match"),
        Binding("left_square_bracket", "match(-1)", "Previous match", show=False, key_display="[", id="logs.previous-match"),
        Binding("space", "toggle_follow", "Follow/pause", key_display="space", id="logs.follow"),
        Binding("f,enter", "maximise", "Maximise", key_display="f", id="logs.maximise"),
        Binding("w", "save", "Save log", id="logs.save"),
        Binding("c", "clear", "Clear logs", id="logs.clear"),
    ]

    def __init__(self, context: AppContext, *, id: Optional[str] = "logs-pane") -> None:
        super().__init__(id=id)
        self.context = context
        self.titles = log_titles(context)
        self.targets: list[str] = log_targets(context.cluster)
        self.current = 0  # index in `targets` of the selected log (typed-ahead keys count from it)
        self.page_start = 0
        self.maximised = False
        self.merged = False
        self.following = True
        self._visible = False

    # --- layout ---------------------------------------------------------------------------

    @property
    def runs(self) -> RunController:
        return self.app.runs

    def compose(self):
        log = self.app.runs.log
        yield Static(id="logs-status")
        yield Input(placeholder="filter: text, or re:REGEX  (Enter applies, Escape clears)", id="logs-filter")
        with Container(id="logs-tiles"):
            for target in self.targets[:self.page_size]:
                yield LogView(log, target, self.titles.get(target, target))
        yield LogView(log, None, "all hosts · merged", id="logs-merged")

    def on_mount(self) -> None:
        self.runs.watch(self)
        self._arrange()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._sync_views())

    def on_unmount(self) -> None:
        self.runs.unwatch(self)

    @property
    def page_size(self) -> int:
        return 1 if self.maximised else min(PAGE_TILES, max(1, len(self.targets)))

    @property
    def tiles(self) -> list[LogView]:
        return list(self.query_one("#logs-tiles").query_children(LogView))

    @property
    def merged_view(self) -> LogView:
        return self.query_one("#logs-merged", LogView)

    def on_show(self) -> None:
        self._visible = True
        self._sync_views()

    def on_hide(self) -> None:
        self._visible = False

    def focus_default(self) -> None:
        """The tab came into view: the selected log takes the keys at once."""
        self.screen.set_focus(self._focused_view())

    def _focused_view(self) -> LogView:
        if self.merged:
            return self.merged_view
        tiles = self.tiles
        index = self.current - self.page_start
        return tiles[index] if 0 <= index < len(tiles) else tiles[0]

    # --- the runs -------------------------------------------------------------------------

    def run_started(self, run: RunState) -> None:
        self._take_new_targets()
        self._sync_views()

    def run_progress(self, run: RunState, events: Sequence[ProgressEvent]) -> None:
        if self._visible:  # a hidden tab draws nothing; it catches up when shown
            self._sync_views()

    def run_finished(self, run: RunState) -> None:
        self._sync_views()

    def _take_new_targets(self) -> None:
        """Targets the run reports that the cluster file does not name get a log too."""
        known = set(self.targets)
        new = [name for name in self.runs.log.targets if name not in known]
        if new:
            self.targets += new
            self._arrange()

    def _sync_views(self) -> None:
        self._take_new_targets()
        for view in self._shown_views():
            view.sync()
        self._show_status()

    def _shown_views(self) -> list[LogView]:
        return [self.merged_view] if self.merged else self.tiles

    # --- keys -----------------------------------------------------------------------------

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        widget = event.widget
        if isinstance(widget, LogView) and widget.target in self.targets and not self.merged:
            self.current = self.targets.index(widget.target)
            self._show_status()

    def action_cycle(self, step: int) -> None:
        self.select((self.current + step) % len(self.targets))

    def select(self, index: int) -> None:
        """Make target `index` the selected log: its page is shown and it takes the focus."""
        self.current = index
        if self.merged:
            self.merged = False
        if not self.page_start <= index < self.page_start + self.page_size:
            self.page_start = index - index % self.page_size
        self._arrange()
        if self._visible:  # focusing a widget of a hidden tab would bring that tab forward
            self._focused_view().focus()

    def action_next_failed(self) -> None:
        failed = set(self.runs.log.failed)
        if not failed:
            self.notify("No host has failed in this run.")
            return
        count = len(self.targets)
        for offset in range(1, count + 1):
            index = (self.current + offset) % count
            if self.targets[index] in failed:
                self.select(index)
                return

    def action_toggle_merged(self) -> None:
        self.merged = not self.merged
        self._arrange()
        self._focused_view().focus()

    def action_maximise(self) -> None:
        if self.merged:
            return
        self.maximised = not self.maximised
        self.page_start = self.current if self.maximised else self.current - self.current % self.page_size
        self._arrange()
        self._focused_view().focus()

    def action_toggle_follow(self) -> None:
        self.following = not self.following
        for view in [*self.tiles, self.merged_view]:
            view.set_following(self.following)
        self._show_status()

    def action_match(self, step: int) -> None:
        view = self._focused_view()
        if view.filter is None:
            self.notify("No filter: / sets one.", severity="warning")
        elif not view.next_match(step):
            self.notify(f"No line matches {view.filter.pattern!r} here.", severity="warning")

    def action_clear(self) -> None:
        self.runs.log.clear()
        self._sync_views()

    def action_save(self) -> None:
        view = self._focused_view()
        name = "merged" if view.target is None else printable(view.target)
        folder = audit_dir().parent / "logs"
        path = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{_file_part(name)}.log"
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            lines = self.runs.log.save(view.target, path)
        except OSError as error:
            self.notify(f"cannot save the log to {path}: {error.strerror or error}", title="Not saved",
                        severity="error")
            return
        self.notify(f"{lines} lines of {name} saved to {path}", title="Log saved")

    # --- the filter -----------------------------------------------------------------------

    def action_open_filter(self) -> None:
        self.add_class("-filtering")
        self.query_one("#logs-filter", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value
        regex = text.startswith(REGEX_PREFIX)
        pattern = text[len(REGEX_PREFIX):] if regex else text
        problem = compile_problem(pattern, regex)
        if problem:
            self.notify(problem, title="Filter", severity="error")
            return
        for view in [*self.tiles, self.merged_view]:
            view.set_filter(pattern, regex)
        if not pattern:
            self.remove_class("-filtering")
        self._show_status()
        self._focused_view().focus()

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape" and self.has_class("-filtering"):
            event.stop()
            filter_input = self.query_one("#logs-filter", Input)
            filter_input.value = ""
            for view in [*self.tiles, self.merged_view]:
                view.set_filter("")
            self.remove_class("-filtering")
            self._show_status()
            self._focused_view().focus()

    # --- layout ---------------------------------------------------------------------------

    def _arrange(self) -> None:
        """Bind the page's targets to the tiles, and size the grid for them."""
        if not self.is_mounted:
            return
        self.set_class(self.merged, "-merged")
        page = self.targets[self.page_start:self.page_start + self.page_size]
        tiles = self.tiles
        for index, tile in enumerate(tiles):
            tile.display = index < len(page)
            if index < len(page):
                tile.show_target(page[index], self.titles.get(page[index], page[index]))
        if len(tiles) < len(page):  # a target came that the page had no tile for
            log = self.runs.log
            self.query_one("#logs-tiles").mount_all(
                [LogView(log, target, self.titles.get(target, target)) for target in page[len(tiles):]])
        count = max(1, len(page))
        columns = 1 if count == 1 else 2 if count <= 4 else 3
        grid = self.query_one("#logs-tiles")
        grid.styles.grid_size_columns = columns
        grid.styles.grid_size_rows = math.ceil(count / columns)
        self._sync_views()

    def _show_status(self) -> None:
        log = self.runs.log
        run = self.runs.run
        parts: list[Content] = []
        if run is not None:
            state = "running" if run.running else "finished"
            parts.append(Content.assemble((f"{run.kind} {run.number} {state}", "bold"), "  ·  "))
        if self.merged:
            parts.append(Content(f"merged: all {len(self.targets)} logs in arrival order"))
        else:
            pages = math.ceil(len(self.targets) / self.page_size)
            shown = self.targets[self.page_start:self.page_start + self.page_size]
            where = f"{self.targets[self.current]}  ·  " if self.current < len(self.targets) else ""
            parts.append(Content(f"{where}page {self.page_start // self.page_size + 1}/{pages} "
                                 f"({len(shown)} of {len(self.targets)} logs)"))
        failed = log.failed
        if failed:
            parts.append(Content.assemble("  ·  ", (f"{len(failed)} failed", "bold $error"), " (e jumps)"))
        if not self.following:
            parts.append(Content.assemble("  ·  ", ("paused", "bold $warning"), " (space follows)"))
        self.query_one("#logs-status", Static).update(Content.assemble(*parts))

    def log_of(self, target: str) -> LogView:
        """The view showing `target` (selecting it first, like `n` would)."""
        self.select(self.targets.index(target))
        return self._focused_view()


def _file_part(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:64] or "log"


def logs_pane(context: AppContext) -> Iterable[Widget]:
    """The `PANES` entry of the Logs tab."""
    yield LogsPane(context)
