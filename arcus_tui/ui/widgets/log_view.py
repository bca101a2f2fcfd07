"""A live view of one target's log, or of every target's merged, drawn from the `RunLog`.

The view keeps no lines of its own: it knows how many the ring holds and draws only the
rows on screen (Textual's line API), so a redraw costs the height of the view whatever
the rate of lines or their number, and a theme change or a resize draws nothing twice.
Each row is the step, then the text: stdout as it came, stderr in the theme's error
colour, the engine's narration muted, state changes in their state's colour (with their
symbol, so they read without colour). The merged view puts each line's target first, in
a colour of its own. Lines the ring dropped are counted on the first row, never hidden.

A filter (text, or a regular expression) shows only the matching lines; `next_match`
moves a highlighted row from match to match. A following view stays at the newest line;
a paused one stays where it is while lines arrive.
"""

from __future__ import annotations

from typing import Optional

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from arcus_tui.deploy.run_log import STEP_WIDTH, LineFilter, LineRing, LogLine, RunLog
from arcus_tui.events import HostState, Stream

from .setup_matrix import COLOURS

TARGET_COLOURS = ("primary", "accent", "success", "warning", "secondary", "foreground")
"""Theme variables the merged view gives its targets, in turn."""
MAX_WIDTH = 2000
"""Columns a view scrolls to at most (a longer line is cut there)."""


class LogView(ScrollView, can_focus=True):
    """One target's lines (`target` set) or all targets' lines in arrival order (None)."""

    DEFAULT_CSS = """
    LogView {
        height: 1fr;
        border: round $secondary;
        border-title-color: $foreground;
        border-title-style: bold;
        border-subtitle-color: $foreground-muted;
        background: $surface;
        scrollbar-size-vertical: 1;
        scrollbar-size-horizontal: 1;
    }
    LogView:focus {
        border: heavy $accent;
        border-title-color: $accent;
        background: $boost;
    }
    """

    def __init__(self, log: RunLog, target: Optional[str], title: str = "", *, id: Optional[str] = None) -> None:
        super().__init__(id=id)
        self.run_log = log
        self.target = target
        self.title = title
        self.following = True
        self.filter: Optional[LineFilter] = None
        self.cursor: Optional[int] = None  # the highlighted row (a match), when jumping between matches
        self._rows = 0
        self._width = 0
        self._styles: dict[str, Style] = {}
        self._target_index: dict[str, int] = {}

    # --- what is shown ------------------------------------------------------------------

    @property
    def ring(self) -> LineRing:
        return self.run_log.ring(self.target)

    def show_target(self, target: Optional[str], title: str) -> None:
        """Show another target's log in this view (the tiles are reused page after page)."""
        if target == self.target and title == self.title:
            return
        self.target, self.title = target, title
        if self.filter is not None:
            self.set_filter(self.filter.pattern, self.filter.regex)
        self.cursor = None
        self._width = 0
        self.sync(force=True)
        self.scroll_end(animate=False, immediate=True)

    def set_filter(self, pattern: str, regex: bool = False) -> None:
        """Show only the lines matching `pattern` (None or "" shows every line again)."""
        self.filter = LineFilter(pattern, regex=regex, merged_width=self._merged_width()) if pattern else None
        self.cursor = None
        self.sync(force=True)

    def sync(self, force: bool = False) -> None:
        """The ring changed: take the new row count, follow the end, draw what is on screen."""
        if self.filter is not None:
            self.filter.update(self.ring)
        rows = self._row_count()
        if rows != self._rows or force:
            self._rows = rows
            self._measure()
            self.virtual_size = Size(self._width, rows)
        self._follow()
        self.border_title = self.title
        self.border_subtitle = self._subtitle()
        self.refresh()

    def _follow(self) -> None:
        if self.following and self.cursor is None and self.scroll_y < self.max_scroll_y:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)

    def on_resize(self) -> None:
        self._follow()  # a view that learns its size (shown the first time) starts at the newest line

    def _row_count(self) -> int:
        if self.filter is not None:
            return len(self.filter.matches)
        return len(self.ring) + (1 if self.ring.dropped else 0)

    def _line_at(self, row: int) -> Optional[LogLine]:
        """The line on virtual row `row`; None for the dropped-lines notice or past the end."""
        ring = self.ring
        if self.filter is not None:
            matches = self.filter.matches
            number = matches[row] if 0 <= row < len(matches) else None
        else:
            number = ring.first + row - (1 if ring.dropped else 0)
        if number is None or not ring.first <= number < ring.total:
            return None
        return ring.line(number)

    def _measure(self) -> None:
        """Widen the scrollable width to the longest line seen among the newest (cheap, bounded)."""
        ring = self.ring
        prefix = self._merged_width() + 1 if self.target is None else 0
        for line in ring.lines(max(ring.first, ring.total - 200)):
            self._width = max(self._width, min(MAX_WIDTH, prefix + STEP_WIDTH + 1 + len(line.text)))

    def _merged_width(self) -> Optional[int]:
        return self.run_log.target_width() if self.target is None else None

    def _subtitle(self) -> str:
        ring = self.ring
        parts = []
        if self.target is not None and (summary := self.run_log.target(self.target).summary):
            parts.append(summary)
        parts.append(f"{len(ring)} lines")
        if ring.dropped:
            parts.append(f"{ring.dropped} dropped")
        if self.filter is not None:
            parts.append(f"{len(self.filter.matches)} match {self.filter.pattern!r}")
        if not self.following:
            parts.append("paused")
        return " · ".join(parts)

    @property
    def text(self) -> str:
        """Every row the view would show, as plain text (what the operator reads when scrolling)."""
        rows = [self._plain(row) for row in range(self._row_count())]
        return "\n".join(rows)

    def _plain(self, row: int) -> str:
        line = self._line_at(row)
        if line is None:
            return self._dropped_notice()
        width = self._merged_width()
        return line.plain if width is None else line.merged_plain(width)

    def _dropped_notice(self) -> str:
        return f"… {self.ring.dropped} earlier lines dropped (only the newest {self.ring.capacity} are kept)"

    # --- moving -------------------------------------------------------------------------

    def set_following(self, following: bool) -> None:
        self.following = following
        if following:
            self.cursor = None
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.border_subtitle = self._subtitle()

    def next_match(self, step: int = 1) -> bool:
        """Highlight the next (or previous) shown match and bring it on screen; pauses following."""
        if self.filter is None or not self.filter.matches:
            return False
        rows = len(self.filter.matches)
        current = self.cursor if self.cursor is not None else (rows if step > 0 else -1) - step
        self.cursor = (current + step) % rows
        self.following = False
        self.scroll_to(y=max(0, self.cursor - self.scrollable_content_region.height // 2), animate=False,
                       immediate=True)
        self.border_subtitle = self._subtitle()
        self.refresh()
        return True

    # --- drawing ------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        self._styles.clear()  # a new theme: colours are looked up again
        super().notify_style_update()

    def _style(self, variable: str) -> Style:
        style = self._styles.get(variable)
        if style is None:
            colour = self.app.theme_variables.get(variable, "") if self.is_attached else ""
            try:
                style = Style.parse(colour) if colour else Style()
            except Exception:
                style = Style()
            self._styles[variable] = style
        return style

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        row = scroll_y + y
        if row >= self._rows:
            return Strip.blank(width, base)
        line = self._line_at(row)
        segments = self._segments(line) if line is not None else [Segment(self._dropped_notice(),
                                                                          self._style("warning"))]
        strip = Strip(segments).apply_style(base)
        if row == self.cursor:
            strip = strip.apply_style(Style(reverse=True))
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _segments(self, line: LogLine) -> list[Segment]:
        segments = []
        if self.target is None:
            width = self._merged_width() or 0
            segments.append(Segment(f"{line.target:<{width}} ", self._target_style(line.target)))
        if line.run_marker:
            segments.append(Segment(line.text, self._style("primary") + Style(bold=True)))
            return segments
        segments.append(Segment(f"{line.step:<{STEP_WIDTH}} ", self._style("foreground-muted")))
        if line.state is not None:
            style = self._style(COLOURS[line.state])
            segments.append(Segment(line.text, style + Style(bold=True) if line.state is HostState.FAILED else style))
        elif line.stream is Stream.STDERR:
            segments.append(Segment(line.text, self._style("error")))
        elif line.stream is Stream.INFO:
            segments.append(Segment(line.text, self._style("foreground-muted")))
        else:
            segments.append(Segment(line.text))
        return segments

    def _target_style(self, target: str) -> Style:
        if len(self._target_index) != len(self.run_log.targets):
            self._target_index = {name: index for index, name in enumerate(self.run_log.targets)}
        index = self._target_index.get(target, 0)
        return self._style(TARGET_COLOURS[index % len(TARGET_COLOURS)]) + Style(bold=True)
