"""What the UI tests share: a bounded wait on a running app, a widget as it is drawn, and the
notifications on screen (the app must run with `run_test(notifications=True)` for them to be drawn)."""

from __future__ import annotations

import time

from textual.geometry import Region


async def until(pilot, predicate, what: str, timeout: float = 5.0) -> float:
    """Let the app run until `predicate()` holds and return the seconds it took;
    AssertionError naming `what` after `timeout` s."""
    began = time.monotonic()
    while not predicate():
        if time.monotonic() - began > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await pilot.pause(0.02)
    return time.monotonic() - began


def drawn(widget) -> str:
    """The widget as it is drawn on the screen now (border, title and every visible line)."""
    return "\n".join(strip.text for strip in widget.render_lines(Region(0, 0, *widget.outer_size)))


def toasts(app) -> str:
    """Every notification on the screen as drawn, its wrapped lines joined back into one text."""
    return " ".join(" ".join(line.strip(" ▌▐") for line in drawn(toast).splitlines()) for toast in app.screen.query("Toast"))


def colour_of(widget, text: str) -> str:
    """The foreground colour (hex) of the first drawn segment of `widget` holding `text`."""
    for strip in widget.render_lines(Region(0, 0, *widget.outer_size)):
        for segment in strip:
            if text in segment.text and segment.style is not None and segment.style.color is not None:
                return segment.style.color.get_truecolor().hex
    raise AssertionError(f"{text!r} is not drawn in a colour:\n{drawn(widget)}")
