"""What a run said, kept in bounded memory: one ring of lines per target and one merged ring.

A run on 200 hosts can print tens of thousands of lines a second. The log keeps the
last `per_target` lines of each target (a host, `gateway`, `zookeeper`) and the last
`merged` lines of all of them in arrival order, the same line objects in both, and
counts what it had to drop so that a view can say "12 000 earlier lines dropped"
instead of losing them silently. It knows nothing about drawing: the Logs tab renders
the lines on screen only, and `arcus-tui setup` prints events itself.

A line is output (stdout, stderr, the engine's narration), a state change put in
words (`✓ ok 1.2s`), or the marker where a new run begins on a target.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional

from arcus_tui.events import HostState, ProgressEvent, Stream
from arcus_tui.text import printable, printable_lines

PER_TARGET_LINES = 2000
MERGED_LINES = 20000
STEP_WIDTH = 16  # "memcached-online", "zookeeper-config"

STATE_GLYPHS: dict[HostState, str] = {
    HostState.PENDING: "·",
    HostState.RUNNING: "▶",
    HostState.OK: "✓",
    HostState.ALREADY_DONE: "=",
    HostState.FAILED: "✗",
    HostState.SKIPPED: "–",
    HostState.CANCELLED: "⊘",
}
"""A state's symbol in a log line, so it reads without colour too."""


def format_duration(seconds: Optional[float]) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def state_words(event: ProgressEvent, with_text: bool = True) -> str:
    """`✗ failed (exit 2) 1.2s: why`: a state change as a log says it."""
    assert event.state is not None
    words = f"{STATE_GLYPHS[event.state]} {event.state.value}"
    if event.exit_status not in (None, 0):
        words += f" (exit {event.exit_status})"
    if event.duration is not None:
        words += f" {format_duration(event.duration)}"
    if event.text and with_text:
        words += f": {event.text}"
    return words


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of a target's log."""

    target: str
    step: str
    text: str
    stream: Optional[Stream] = None
    state: Optional[HostState] = None
    run_marker: bool = False

    @property
    def plain(self) -> str:
        """The line as a target's own log shows it: the step, then the text."""
        return self.text if self.run_marker else f"{self.step:<{STEP_WIDTH}} {self.text}"

    def merged_plain(self, width: int) -> str:
        """The line in the merged log: its target first, padded to `width`."""
        return f"{self.target:<{width}} {self.plain}"


class LineRing:
    """The last `capacity` lines appended, with the count of those dropped before them.

    Lines are numbered from 0 in the order they came; `first` is the number of the oldest
    line still kept (so also how many were dropped), `total` one past the newest."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("a ring holds at least one line")
        self.capacity = capacity
        self._slots: list[Optional[LogLine]] = [None] * capacity
        self.total = 0

    def append(self, line: LogLine) -> None:
        self._slots[self.total % self.capacity] = line
        self.total += 1

    @property
    def first(self) -> int:
        return max(0, self.total - self.capacity)

    @property
    def dropped(self) -> int:
        return self.first

    def __len__(self) -> int:
        return self.total - self.first

    def line(self, number: int) -> LogLine:
        """Line `number` (counted since the first line ever appended); it must still be kept."""
        if not self.first <= number < self.total:
            raise IndexError(number)
        line = self._slots[number % self.capacity]
        assert line is not None
        return line

    def lines(self, start: Optional[int] = None, stop: Optional[int] = None) -> Iterator[LogLine]:
        """The kept lines numbered [start, stop), oldest first."""
        start = self.first if start is None else max(start, self.first)
        stop = self.total if stop is None else min(stop, self.total)
        for number in range(start, stop):
            yield self._slots[number % self.capacity]  # type: ignore[misc]


class TargetLog:
    """One target's ring, and what it needs to put state changes in few words."""

    def __init__(self, target: str, capacity: int) -> None:
        self.target = target
        self.ring = LineRing(capacity)
        self.run = 0
        self.summary = ""  # the last state change, e.g. "copy-key ✗ failed 2.0s"
        self.failed_step: Optional[str] = None
        self._last_text: dict[str, str] = {}  # step -> last line (not repeated by its state line)
        self._state: dict[str, HostState] = {}


class RunLog:
    """Every target's lines of the runs so far, in bounded memory."""

    def __init__(self, targets: Iterable[str] = (), *, per_target: int = PER_TARGET_LINES,
                 merged: int = MERGED_LINES) -> None:
        self.per_target = per_target
        self.targets: dict[str, TargetLog] = {}
        self.merged = LineRing(merged)
        for target in targets:
            self.target(target)

    def target(self, name: str) -> TargetLog:
        """The log of `name`, made on first use (a target the cluster file does not name)."""
        log = self.targets.get(name)
        if log is None:
            log = self.targets[name] = TargetLog(name, self.per_target)
        return log

    @property
    def total(self) -> int:
        """Lines added so far: a view compares it to know whether anything is new."""
        return self.merged.total

    @property
    def failed(self) -> list[str]:
        """The targets whose last state change was a failure, in target order."""
        return [name for name, log in self.targets.items() if log.failed_step is not None]

    def add(self, event: ProgressEvent, run: int = 0, kind: str = "") -> int:
        """Add one engine event of run `run`; returns how many lines it made."""
        log = self.target(printable(event.host))
        before = self.merged.total
        if run != log.run:
            self._begin_run(log, run, kind, event.time)
        step = printable(event.step)
        if event.state is None:
            if event.text:
                for piece in printable_lines(event.text):
                    self._append(log, LogLine(log.target, step, piece, stream=event.stream))
                log._last_text[step] = event.text
        else:
            self._add_state(log, step, event)
        return self.merged.total - before

    def _begin_run(self, log: TargetLog, run: int, kind: str, when: float) -> None:
        log.run = run
        log._last_text.clear()
        log._state.clear()
        log.failed_step = None
        stamp = time.strftime("%H:%M:%S", time.localtime(when))
        self._append(log, LogLine(log.target, "", f"── {kind or 'run'} {run} · {stamp} ──", run_marker=True))

    def _add_state(self, log: TargetLog, step: str, event: ProgressEvent) -> None:
        state = event.state
        assert state is not None
        if state is HostState.RUNNING and log._state.get(step) is HostState.RUNNING and not event.text:
            return  # already said
        log._state[step] = state
        text = "\n".join(printable_lines(event.text)) if event.text else ""
        repeat = bool(text) and text != log._last_text.pop(step, None)
        shown = ProgressEvent(event.host, step, event.stream, text if repeat else "", state=state,
                              exit_status=event.exit_status, duration=event.duration)
        for piece in state_words(shown).split("\n"):
            self._append(log, LogLine(log.target, step, piece, state=state))
        log.summary = f"{step} {state_words(shown, with_text=False)}"
        if state is HostState.FAILED:
            log.failed_step = step
        elif state.succeeded and log.failed_step == step:
            log.failed_step = None

    def _append(self, log: TargetLog, line: LogLine) -> None:
        log.ring.append(line)
        self.merged.append(line)

    # --- reading ------------------------------------------------------------------------

    def ring(self, target: Optional[str]) -> LineRing:
        """The ring of one target, or the merged one for None."""
        return self.merged if target is None else self.target(target).ring

    def target_width(self) -> int:
        return max((len(name) for name in self.targets), default=0)

    def text_of(self, target: Optional[str]) -> str:
        """Every kept line of one target (or all, each prefixed by its target) as plain text."""
        if target is not None:
            return "\n".join(line.plain for line in self.ring(target).lines())
        width = self.target_width()
        return "\n".join(line.merged_plain(width) for line in self.merged.lines())

    def save(self, target: Optional[str], path: Path) -> int:
        """Write one target's log (or the merged log) to `path`; returns the lines written.
        Lines dropped from memory are said at the top, not silently missing."""
        ring = self.ring(target)
        text = self.text_of(target)
        header = f"# {ring.dropped} earlier lines were dropped from memory\n" if ring.dropped else ""
        path.write_text(header + text + ("\n" if text else ""), encoding="utf-8")
        return len(ring)

    def clear(self) -> None:
        for log in self.targets.values():  # the summary (the last state) stays: it is not a line
            log.ring = LineRing(self.per_target)
        self.merged = LineRing(self.merged.capacity)


class LineFilter:
    """A text or regex filter over a ring, kept up to date as lines arrive.

    `matches` holds the numbers of matching kept lines in order; `update` scans only what
    came since the last call, so filtering a following view costs the new lines, not the ring."""

    def __init__(self, pattern: str, *, regex: bool = False, merged_width: Optional[int] = None) -> None:
        self.pattern = pattern
        self.regex = regex
        self.merged_width = merged_width
        flags = re.IGNORECASE if pattern.islower() else 0
        self._search = re.compile(pattern if regex else re.escape(pattern), flags).search
        self.matches: list[int] = []
        self._scanned = 0

    def update(self, ring: LineRing) -> None:
        start = max(self._scanned, ring.first)
        width = self.merged_width
        for number, line in zip(range(start, ring.total), ring.lines(start)):
            text = line.plain if width is None else line.merged_plain(width)
            if self._search(text):
                self.matches.append(number)
        self._scanned = ring.total
        if self.matches and self.matches[0] < ring.first:
            self.matches = [n for n in self.matches if n >= ring.first]

    def next_match(self, after: int, step: int = 1) -> Optional[int]:
        """The first match after line `after` (or before it, step -1), wrapping around."""
        if not self.matches:
            return None
        if step > 0:
            return next((n for n in self.matches if n > after), self.matches[0])
        return next((n for n in reversed(self.matches) if n < after), self.matches[-1])


def compile_problem(pattern: str, regex: bool) -> Optional[str]:
    """Why `pattern` cannot be a filter, in a sentence, or None."""
    if not regex:
        return None
    try:
        re.compile(pattern)
    except re.error as error:
        return f"not a regular expression: {error}"
    return None
