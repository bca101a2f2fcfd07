"""Bounded waits for the tests on real daemons (tests/integration, tests/e2e, tests/infra):
poll a condition until it holds or the time is up, then fail naming what was awaited.

The UI tests wait on a running app instead (`tests/unit/ui_waits.py`, `until`), which lets
the app process its messages between polls.
"""

from __future__ import annotations

import asyncio
import time
from typing import Callable, Generator, TypeVar

T = TypeVar("T")
POLL = 0.05
"""Seconds between two looks: short next to any wait here, long next to one look."""


def _looks(predicate: Callable[[], T], timeout: float, what: str, poll: float) -> Generator[float, None, T]:
    """Ask `predicate()` until it is truthy (returned); between two looks, yield how long to
    sleep. The predicate is asked at least once, and once more at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        yield min(poll, left)


def wait_until(predicate: Callable[[], T], timeout: float, what: str, *, poll: float = POLL) -> T:
    """The first truthy value of `predicate()`; AssertionError naming `what` after `timeout` s."""
    looks = _looks(predicate, timeout, what, poll)
    try:
        while True:
            time.sleep(next(looks))
    except StopIteration as found:
        return found.value


async def wait_until_async(predicate: Callable[[], T], timeout: float, what: str, *, poll: float = POLL) -> T:
    """`wait_until` for a test running on an event loop: sleeps without blocking the loop, so
    watches and workers on it run between two looks."""
    looks = _looks(predicate, timeout, what, poll)
    try:
        while True:
            await asyncio.sleep(next(looks))
    except StopIteration as found:
        return found.value


__all__ = ["POLL", "wait_until", "wait_until_async"]
