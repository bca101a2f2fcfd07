"""A memcached admin command on every node, from the Monitor tab (`c`): a prompt, then one
row per node (ok / failed / refused and the reply's first line) and the highlighted node's
whole reply below.

Commands known to only read (`monitor.admin.is_read_only_command`) are sent at once. Any
other is refused in a read-only app, and otherwise sent only after a y/N question that
names it. The engine (`monitor.admin.run_on_nodes`) bounds time, bytes and concurrency.
"""

from __future__ import annotations

from typing import Awaitable, Callable, Mapping, Optional, Sequence

from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import DataTable, Input, Static

from arcus_tui.monitor.admin import (DEFAULT_TIMEOUT, AdminReply, command_problem, is_read_only_command,
                                     reply_state, run_on_nodes, summary_line)
from arcus_tui.text import printable, printable_lines

from .dialog import DialogScreen
from .edit_prompts import ConfirmScreen

Runner = Callable[..., Awaitable[Mapping[str, AdminReply]]]
DETAIL_LINES = 200
"""Lines of the highlighted node's reply shown (a `stats` reply is about 100)."""


class AdminCommandScreen(DialogScreen[None]):
    DEFAULT_CSS = """
    AdminCommandScreen > Vertical {
        width: 120;
        height: 90%;
    }
    AdminCommandScreen #admin-note {
        height: auto;
        margin: 1 0 0 0;
    }
    AdminCommandScreen #admin-note.-error {
        color: $error;
    }
    AdminCommandScreen #admin-results {
        height: auto;
        max-height: 12;
        margin: 1 0 0 0;
    }
    AdminCommandScreen #admin-detail {
        height: 1fr;
        margin: 1 0 0 0;
        border: round $panel;
        overflow-y: auto;
    }
    """

    BINDINGS = [Binding("escape", "close", "Close", id="dialog.cancel")]

    def __init__(self, endpoints: Sequence[str], *, read_only: bool, runner: Optional[Runner] = None,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__()
        self.endpoints = list(endpoints)
        self.read_only = read_only
        self.runner = runner
        self.timeout = timeout
        self.replies: dict[str, AdminReply] = {}
        self.sent: list[str] = []  # the command lines actually sent, for tests and the log

    def compose(self):
        with Vertical() as box:
            box.border_title = f"memcached admin command on {len(self.endpoints)} node(s)"
            box.border_subtitle = "enter to send · esc to close"
            writes = "reads only (read-only app)" if self.read_only else "reads; a write is asked about first"
            yield Static(Content(f"Command (one line; {writes}), e.g. stats settings, config memlimit:"))
            yield Input(placeholder="stats", id="admin-command")
            yield Static("", id="admin-note")
            table = DataTable(id="admin-results", cursor_type="row", zebra_stripes=True)
            yield table
            yield Static("", id="admin-detail")

    def on_mount(self) -> None:
        table = self.query_one("#admin-results", DataTable)
        table.add_column("Node", key="node")
        table.add_column("Result", key="result")
        table.add_column("Reply", key="reply")
        self.query_one("#admin-command", Input).focus()

    def _note(self, text: str, *, error: bool = False) -> None:
        note = self.query_one("#admin-note", Static)
        note.set_class(error, "-error")
        note.update(Content(printable(text)))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        line = event.value.strip()
        problem = command_problem(line)
        if problem:
            self._note(problem, error=True)
            return
        if is_read_only_command(line):
            self._send(line)
            return
        if self.read_only:
            self._note(f"read-only: {line.split()[0]!r} ... is not known to only read; not sent", error=True)
            return

        def answered(yes: Optional[bool]) -> None:
            if yes:
                self._send(line)
            else:
                self._note("not sent", error=True)

        self.app.push_screen(ConfirmScreen("A command that may write",
                                           f"Send {line!r} to {len(self.endpoints)} node(s)? It is not known "
                                           "to only read."), answered)

    def _send(self, line: str) -> None:
        self.sent.append(line)
        self._note(f"sending {line!r} to {len(self.endpoints)} node(s)...")
        self.run_worker(self._run(line), exclusive=True, group="admin-command")

    async def _run(self, line: str) -> None:
        runner = self.runner or run_on_nodes
        replies = await runner(self.endpoints, line, timeout=self.timeout)
        self.show(line, replies)

    def show(self, line: str, replies: Mapping[str, AdminReply]) -> None:
        self.replies = dict(replies)
        table = self.query_one("#admin-results", DataTable)
        table.clear()
        palette = self.app.get_css_variables()
        colours = {"ok": palette.get("success", ""), "failed": palette.get("error", ""),
                   "refused": palette.get("warning", "")}
        for endpoint, reply in self.replies.items():
            state = reply_state(reply)
            table.add_row(Text(endpoint, style="bold"), Text(state, style=colours[state]),
                          Text(printable(reply.summary())), key=endpoint)
        self._note(f"{line}: {summary_line(self.replies.values())}", error=not all(r.ok for r in replies.values()))
        if self.replies:
            self._detail(next(iter(self.replies)))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key is not None and event.row_key.value in self.replies:
            self._detail(event.row_key.value)

    def _detail(self, endpoint: str) -> None:
        reply = self.replies[endpoint]
        lines = [shown for line in reply.lines for shown in printable_lines(line)]
        if reply.problem:
            lines = [printable(reply.problem)]
        more = len(lines) - DETAIL_LINES
        text = "\n".join(lines[:DETAIL_LINES]) + (f"\n... {more} more line(s)" if more > 0 else "")
        detail = self.query_one("#admin-detail", Static)
        detail.border_title = endpoint
        detail.update(Content(text or "(no reply)"))

    def action_close(self) -> None:
        self.dismiss(None)
