"""tests/waits.py, the one bounded wait of the real-daemon tests: it returns what the condition
gave as soon as it holds, and fails naming what was awaited once the time is up."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.waits import wait_until, wait_until_async


def counting(truthy_from: int):
    """A condition that holds from its `truthy_from`-th look on, counting the looks."""
    looks = []

    def condition():
        looks.append(time.monotonic())
        return f"held at look {len(looks)}" if len(looks) >= truthy_from else None

    return condition, looks


def test_returns_the_first_truthy_value_without_waiting_longer():
    condition, looks = counting(3)
    assert wait_until(condition, 5, "three looks", poll=0.01) == "held at look 3"
    assert len(looks) == 3


def test_times_out_naming_what_it_waited_for_and_looks_a_bounded_number_of_times():
    condition, looks = counting(10**9)
    began = time.monotonic()
    with pytest.raises(AssertionError, match="timed out after 0.2 s waiting for the impossible"):
        wait_until(condition, 0.2, "the impossible", poll=0.05)
    assert 0.2 <= time.monotonic() - began < 1.0
    assert 2 <= len(looks) <= 6
    assert looks[-1] - began >= 0.19  # one last look at the deadline


def test_the_async_wait_lets_the_loop_run_between_looks():
    async def scenario():
        state = {"done": False}
        asyncio.get_running_loop().call_later(0.05, state.update, {"done": True})
        return await wait_until_async(lambda: state["done"], 2, "the callback")

    assert asyncio.run(scenario()) is True


def test_the_async_wait_times_out_too():
    with pytest.raises(AssertionError, match="waiting for never"):
        asyncio.run(wait_until_async(lambda: False, 0.1, "never"))
