"""Short TCP exchanges with the daemons we watch (ZooKeeper's four-letter words,
memcached's `stats`): opened through the loopback guard, closed without fuss."""

from __future__ import annotations

import asyncio
import contextlib
from typing import AsyncIterator

from arcus_tui import netguard


@contextlib.asynccontextmanager
async def connection(host: str, port: int) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """A stream pair to host:port; the caller bounds the whole exchange with its own timeout."""
    netguard.check(host)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        yield reader, writer
    finally:
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), 1.0)
        except (OSError, asyncio.TimeoutError):
            pass  # the peer is gone or slow to close; nothing of ours is left to flush
