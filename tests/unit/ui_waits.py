"""What the UI tests share: a bounded wait on a running app, and a widget as it is drawn."""

from __future__ import annotations

import time

from textual.geometry import Region


async def until(pilot, predicate, what: str, timeout: float = 5.0) -> None:
    """Let the app run until `predicate()` holds; AssertionError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


def drawn(widget) -> str:
    """The widget as it is drawn on the screen now (border, title and every visible line)."""
    return "\n".join(strip.text for strip in widget.render_lines(Region(0, 0, *widget.outer_size)))
