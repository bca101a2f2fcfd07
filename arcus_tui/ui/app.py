"""The Textual application and `run_app`, the entry `arcus-tui [FILE]` calls.

`ArcusApp` holds what one run of the app shares: the `AppContext` (cluster file, read-only
mode, SSH paths, the live monitor feed), the runs (`RunController`, `ui/runs.py`, so that a
setup outlives the pane that shows it), the themes, and the app-wide actions (help; quit,
which asks first when a run or unsaved edits would be lost). Its screen is `MainScreen`,
the numbered tabs. The app makes no SSH or ZooKeeper call itself: the panes read in
workers, the monitor feed connects only while a tab watches it, and the app closes the
feed's sessions when it ends.

`run_app` checks the cluster file and the theme before the full screen starts, so that
their errors stay readable on the terminal.
"""

from __future__ import annotations

import gc
import sys
from typing import Iterable, Mapping, Optional

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

from arcus_tui.model import Cluster, check_cluster_file
from arcus_tui.monitor.feed import MonitorFeed
from arcus_tui.monitor.live import live_monitor
from arcus_tui.package.inspect import add_package_problems
from arcus_tui.ssh.paths import SshPaths

from .commands import ArcusCommands
from .context import AppContext
from .keymap import KeymapError, read_user_keymap
from .runs import RunController
from .screens.edit_prompts import ConfirmScreen
from .screens.help import HelpScreen
from .screens.main import MainScreen
from .themes import ThemeSet, UnknownThemeError, load_themes

EXIT_USAGE = 2
"""Exit code when arcus-tui cannot start: a bad cluster file, an unknown theme or a bad keymap."""


def app_title(cluster: Optional[Cluster], read_only: bool) -> str:
    title = "arcus-tui"
    if cluster is not None:
        title += f"  {cluster.service_code}"
    if read_only:
        title += "  READ-ONLY"
    return title


class ArcusApp(App[None]):
    """arcus-tui: lay out, deploy and watch an ARCUS cache cloud."""

    CSS_PATH = "app.tcss"
    TITLE = "arcus-tui"
    COMMANDS = App.COMMANDS | {ArcusCommands}  # ctrl+p: every action by name (ui/commands.py)

    BINDINGS = [
        Binding("question_mark", "help", "Help", key_display="?", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(
        self,
        cluster: Optional[Cluster],
        path: Optional[str] = None,
        read_only: bool = False,
        theme_name: Optional[str] = None,
        *,
        themes: Optional[ThemeSet] = None,
        notices: Iterable[str] = (),
        ssh_paths: Optional[SshPaths] = None,
        probe: bool = False,
        monitor: Optional[MonitorFeed] = None,
        keymap: Optional[Mapping[str, str]] = None,
    ) -> None:
        """`theme_name` None picks the default theme; an unknown one raises `UnknownThemeError`.

        `notices` are warnings to show once the app is up (e.g. cluster-file warnings).
        `keymap` rebinds keys: binding id -> keys (ui/keymap.py).
        """
        self.themes = themes if themes is not None else load_themes()
        start_theme = self.themes.resolve(theme_name)
        super().__init__()
        self.cluster = cluster
        self.path = path
        self.read_only = read_only
        self.context = AppContext(cluster, path, read_only, ssh_paths or SshPaths(), probe=probe, monitor=monitor)
        self.runs = RunController(self, self.context)  # the setup/teardown runs, whichever tab shows them
        self.notices = [*(str(problem) for problem in self.themes.problems), *notices]
        for theme in self.themes.themes.values():
            self.register_theme(theme)
        self.theme = start_theme
        self.keymap = dict(keymap or {})
        self.set_keymap(self.keymap)
        self.title = app_title(cluster, read_only)
        self.sub_title = path or ""

    def get_default_screen(self) -> Screen:
        return MainScreen(self.cluster, self.path, self.read_only)

    def on_mount(self) -> None:
        for notice in self.notices:
            self.notify(notice, title="Warning", severity="warning", timeout=15)
        self.call_after_refresh(self._freeze_start_up_objects)

    def _freeze_start_up_objects(self) -> None:
        """The composed screen leaves the collector's generations: a full collection walked it in
        ~60 ms, the tail of key presses at 200 hosts (bench/grid.py)."""
        gc.collect()
        gc.freeze()

    async def on_unmount(self) -> None:
        """Close the monitor engine's sessions (ZooKeeper, SSH, memcached) with the app."""
        if self.context.monitor is not None:
            await self.context.monitor.close()

    def main_screen(self) -> Optional[MainScreen]:
        return next((screen for screen in self.screen_stack if isinstance(screen, MainScreen)), None)

    async def action_quit(self) -> None:
        """Quit; when that would lose something (a run in progress, unsaved layout edits), ask first."""
        main = self.main_screen()
        question = main.gate.quit_question() if main is not None else None
        if question is None:
            self.exit()
            return
        if isinstance(self.screen, ConfirmScreen):
            return

        def answer(yes: Optional[bool]) -> None:
            if yes:
                self.exit()

        self.push_screen(ConfirmScreen("Quit arcus-tui?", question), answer)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())


def run_app(path: Optional[str], read_only: bool = False, theme: Optional[str] = None,
            ssh_dir: Optional[str] = None, keymap: Optional[str] = None) -> int:
    """Run the TUI on the cluster file `path` (None: no file yet); returns the exit code.

    A cluster file with errors, an unknown theme or a bad keymap file is reported on stderr as
    plain lines (`FILE:LINE: message` for the file) and returns 2 without
    starting the full-screen app, so the message stays on the terminal.
    """
    themes = load_themes()
    try:
        themes.resolve(theme)
    except UnknownThemeError as error:
        print(f"arcus-tui: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        keys = read_user_keymap(keymap)
    except KeymapError as error:
        print(f"arcus-tui: {error}", file=sys.stderr)
        return EXIT_USAGE
    cluster = None
    notices: list[str] = []
    if path is not None:
        result = check_cluster_file(path)
        if not result.ok:
            count = len(result.errors) or len(result.problems)
            print(
                f"arcus-tui: {result.source} cannot be used, {count} error{'s' if count != 1 else ''}:",
                file=sys.stderr,
            )
            for problem in result.problems:
                print(problem.format(result.source), file=sys.stderr)
            print("Fix the lines above and start arcus-tui again.", file=sys.stderr)
            return EXIT_USAGE
        cluster = result.cluster
        notices = [problem.format(result.source) for problem in result.warnings]
        # the package's problems stop a setup (the runner refuses the upload), not monitoring
        notices += [problem.format(result.source) for problem in add_package_problems(result).problems
                    if problem.format(result.source) not in notices]
    ssh_paths = SshPaths.under(ssh_dir) if ssh_dir else SshPaths()
    monitor = live_monitor(cluster, ssh_paths) if cluster is not None else None  # connects nothing until watched
    app = ArcusApp(cluster, path, read_only, theme, themes=themes, notices=notices, ssh_paths=ssh_paths,
                   probe=True, monitor=monitor, keymap=keys)
    app.run()
    return app.return_code or 0
