"""A small in-process memcached that speaks just enough of the text protocol for the admin
tests, and misbehaves on request (hangs, floods, closes, answers garbage).

It answers `version`, `stats`, `stats settings`, `config memlimit|maxconns [value]` (with
arcus-memcached 1.15.0's replies) and `help`; any other command gets ``ERROR``. Behaviours:
``ok`` (as above), ``hang`` (reads, never answers), ``flood`` (endless STAT lines, no END),
``close`` (closes after one line), ``refuse-memlimit`` (``CLIENT_ERROR bad value`` to a change).
`commands` records every line it received, so tests can show nothing was sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Iterator, Optional


class FakeMemcached:
    def __init__(self, host: str = "127.0.0.1", *, behaviour: str = "ok", memlimit_mb: int = 64,
                 maxconns: int = 100, used_bytes: int = 1024, delay: float = 0.0) -> None:
        self.host = host
        self.behaviour = behaviour
        self.memlimit_mb = memlimit_mb
        self.maxconns = maxconns
        self.used_bytes = used_bytes
        self.delay = delay
        self.commands: list[str] = []
        self.open = 0
        self.most_open = 0
        self.port = 0
        self._server: Optional[asyncio.base_events.Server] = None
        self._handlers: set[asyncio.Task] = set()

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self) -> "FakeMemcached":
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._handlers):  # a hanging or flooding connection ends with the fake
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    def _stats(self) -> list[str]:
        return ["STAT pid 4242", "STAT version 1.15.0", "STAT curr_connections 3",
                f"STAT bytes {self.used_bytes}", f"STAT limit_maxbytes {self.memlimit_mb * 1024 * 1024}",
                f"STAT limit_maxconns {self.maxconns}", "END"]

    def _settings(self) -> list[str]:
        return [f"STAT maxbytes {self.memlimit_mb * 1024 * 1024}", f"STAT maxconns {self.maxconns}",
                "STAT num_threads 2", "END"]

    def _config(self, words: list[str]) -> list[str]:
        name = words[1] if len(words) > 1 else ""
        if name not in ("memlimit", "maxconns") or len(words) > 3:
            return ["CLIENT_ERROR bad command line format"]
        if len(words) == 2:
            return [f"{name} {self.memlimit_mb if name == 'memlimit' else self.maxconns}", "END"]
        if name == "memlimit":
            if self.behaviour == "refuse-memlimit":
                return ["CLIENT_ERROR bad value"]
            self.memlimit_mb = int(words[2])
        else:
            self.maxconns = int(words[2])
        return ["END"]

    def answer(self, line: str) -> list[str]:
        words = line.split()
        if not words:
            return ["ERROR"]
        if words == ["version"]:
            return ["VERSION 1.15.0"]
        if words == ["stats"]:
            return self._stats()
        if words == ["stats", "settings"]:
            return self._settings()
        if words[0] == "config":
            return self._config(words)
        if words[0] == "help":
            return ["\tUsage: help [kv | list | admin]", ""]
        if words == ["flush_all"]:
            return ["OK"]
        return ["ERROR unknown command"]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        task = asyncio.current_task()
        self._handlers.add(task)
        try:
            while True:
                raw = await reader.readline()
                if not raw:
                    return
                line = raw.decode().rstrip("\r\n")
                self.commands.append(line)
                if line == "quit":
                    return  # memcached closes without a word
                if self.delay:
                    await asyncio.sleep(self.delay)
                if self.behaviour == "hang":
                    await asyncio.sleep(3600)
                if self.behaviour == "flood":
                    for number in range(10**7):
                        writer.write(f"STAT flood_{number} {'x' * 100}\r\n".encode())
                        await writer.drain()
                if self.behaviour == "close":
                    writer.write(b"STAT half\r\n")
                    await writer.drain()
                    return
                writer.write("".join(f"{reply}\r\n" for reply in self.answer(line)).encode())
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            self.open -= 1
            self._handlers.discard(task)
            writer.close()


@contextlib.contextmanager
def served_in_thread(*fakes: FakeMemcached) -> Iterator[tuple[FakeMemcached, ...]]:
    """Run the fakes on a loop in another thread, for code that runs its own `asyncio.run`."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(asyncio.gather(*(fake.start() for fake in fakes)))
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the fake memcached did not start")
    try:
        yield fakes
    finally:
        async def stop_all() -> None:
            await asyncio.gather(*(fake.stop() for fake in fakes))

        asyncio.run_coroutine_threadsafe(stop_all(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
