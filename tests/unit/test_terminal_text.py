"""Remote output never drives the operator's terminal: escape sequences and control characters
are stripped, once (`arcus_tui.text.printable`), before headless output and the log panes."""

from __future__ import annotations

import io

from textual.app import App
from textual.geometry import Region

from arcus_tui.events import HostState, ProgressEvent, Stream
from arcus_tui.text import printable
from arcus_tui.deploy.run_log import RunLog
from arcus_tui.ui.widgets.log_view import LogView
from arcus_tui.ui.widgets.setup_matrix import SetupMatrix
from arcus_tui.verbs.console import EventPrinter, print_failures

# What a hostile or merely colourful host can send: a window title (OSC, BEL- and ST-ended),
# a screen clear and colours (CSI), a hyperlink (OSC 8), a DCS string, 8-bit CSI/OSC (C1),
# a carriage return that would overwrite the host prefix, backspace, bell, DEL.
HOSTILE = ("\x1b]0;owned\x07\x1b[2J\x1b[H\x1b[31mred\x1b[0m \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ "
           "\x1bPq#0;2;0;0;0\x1b\\\x9b31m8bit\x9d0;t\x07 \r[other] ok\x08\x07\x7f\x00\x1bc\ttab")
CLEAN = "red link 8bit [other] ok\ttab"
CONTROLS = {chr(c) for c in range(0x20) if c != 0x09} | {chr(c) for c in range(0x7F, 0xA0)}


def test_printable_strips_sequences_whole_and_keeps_tab_and_text():
    assert printable(HOSTILE) == CLEAN
    assert printable("plain text, ünïcode ✓ 한글") == "plain text, ünïcode ✓ 한글"
    assert printable("") == ""
    assert printable("unterminated \x1b]0;title") == "unterminated "
    assert printable("lone escape at the end \x1b") == "lone escape at the end "
    assert not CONTROLS & set(printable("".join(sorted(CONTROLS)) + "x"))


def test_headless_printer_prints_no_control_characters():
    out = io.StringIO()
    printer = EventPrinter(out)
    printer(ProgressEvent("a", "exec\x1b[2J", Stream.STDOUT, HOSTILE))
    printer(ProgressEvent("a", "exec\x1b[2J", Stream.STDERR, HOSTILE))
    printer(ProgressEvent("a", "exec\x1b[2J", Stream.INFO, f"failed: {HOSTILE}", state=HostState.FAILED,
                          duration=1.0))
    text = out.getvalue()
    assert not CONTROLS & (set(text) - {"\n"}), repr(text)
    lines = text.splitlines()
    assert lines[0] == "==> exec"
    assert lines[1].endswith(f" {CLEAN}") and lines[1].startswith("[a]")
    assert lines[2].endswith(f" ! {CLEAN}")
    assert lines[3].endswith(f"failed in 1.0s: failed: {CLEAN}")


def test_failure_summary_prints_no_control_characters():
    class Outcome:
        state = HostState.FAILED
        message = HOSTILE

    class Step:
        value = "zookeeper-start"

    class Report:
        def failures(self):
            return [(Step(), "a\x1b[2J", Outcome())]

    out = io.StringIO()
    print_failures(Report(), out)
    assert not CONTROLS & (set(out.getvalue()) - {"\n"})
    assert CLEAN in out.getvalue()


class _LogApp(App):
    def __init__(self) -> None:
        super().__init__()
        self.run_log = RunLog()

    def compose(self):
        yield LogView(self.run_log, "a\x1b]0;title\x07 host", "a\x1b]0;title\x07 host")


async def test_log_view_keeps_and_draws_no_control_characters():
    app = _LogApp()
    async with app.run_test(size=(120, 20)) as pilot:
        log = app.query_one(LogView)
        host = "a\x1b]0;title\x07 host"
        app.run_log.add(ProgressEvent(host, "exec", Stream.STDOUT, HOSTILE), run=1)
        app.run_log.add(ProgressEvent(host, "exec", Stream.INFO, f"multi\x1b[1A\nline {HOSTILE}"), run=1)
        app.run_log.add(ProgressEvent(host, "exec", Stream.INFO, f"boom {HOSTILE}", state=HostState.FAILED,
                                      duration=1), run=1)
        log.show_target(printable(host), printable(host))
        await pilot.pause()
        kept = log.text
        drawn = "\n".join(strip.text for strip in log.render_lines(Region(0, 0, *log.outer_size)))
        for text in (kept, drawn):
            assert not CONTROLS & (set(text) - {"\n"}), repr(text)
        assert f"exec             {CLEAN}" in kept and f"exec             {CLEAN}"[:40] in drawn
        assert "multi" in kept.splitlines()[2] and kept.splitlines()[3].endswith(f"line {CLEAN}")
        assert f"boom {CLEAN}" in kept
        assert not CONTROLS & set(str(log.border_title)) and "title" not in str(log.border_title)


class _MatrixApp(App):
    def compose(self):
        yield SetupMatrix(id="matrix")


async def test_setup_matrix_keeps_and_draws_no_control_characters():
    from arcus_tui.deploy.plan import setup_plan
    from arcus_tui.model import Cluster, Host

    cluster = Cluster(service_code="svc", hosts=(Host(name="a", address="127.0.1.1", zookeeper=True),))
    plan = setup_plan(cluster)
    step = plan.steps[1].id.value  # copy-key: a per-host step
    app = _MatrixApp()
    async with app.run_test(size=(160, 30)) as pilot:
        matrix = app.query_one(SetupMatrix)
        matrix.show_plan(plan)
        matrix.apply(ProgressEvent("a", step, Stream.STDOUT, HOSTILE))
        kept_line = matrix.cell(step, "a").last_line
        matrix.apply(ProgressEvent("a", step, Stream.INFO, f"boom {HOSTILE}", state=HostState.FAILED, duration=1))
        await pilot.pause()
        cell = matrix.cell(step, "a")
        for text in (kept_line, cell.message, matrix.cell_text(step, "a")):
            assert not CONTROLS & set(text), repr(text)
        assert kept_line == CLEAN and cell.message == f"boom {CLEAN}"
