"""A hostile HTTP server on 127.0.0.1 for the fault-injection suite.

It runs an asyncio server in a daemon thread (so a reranker on the test's loop, or a
CLI in a subprocess, can reach it) and answers every POST with one of:

- ``trickle``: a 200 whose JSON body arrives one byte every ``interval_s`` seconds;
- ``huge``: a 200 of ``size`` bytes of valid-looking JSON (``declare_length`` says
  whether a Content-Length is sent, else the body is chunked);
- ``nested``: a 200 whose body is ``depth`` opening brackets.

Everything is bounded: a connection is dropped after ``max_seconds``, and ``close()``
(or leaving the ``with`` block) stops the server and its thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass, field

TRICKLE_BODY = b'{"results": [{"index": 0, "relevance_score": 0.5}]}' + b" " * 64


@dataclass
class HostileServer:
    mode: str = "trickle"
    interval_s: float = 0.2
    size: int = 50 * 1024 * 1024
    depth: int = 200_000
    declare_length: bool = True
    max_seconds: float = 20.0
    requests: int = 0
    port: int = 0
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _server: asyncio.AbstractServer | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> HostileServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop

            async def main() -> None:
                self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
                self.port = self._server.sockets[0].getsockname()[1]
                ready.set()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._server.serve_forever()
                others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for task in others:
                    task.cancel()
                await asyncio.gather(*others, return_exceptions=True)

            with contextlib.suppress(Exception):
                loop.run_until_complete(main())
            loop.close()

        self._thread = threading.Thread(target=run, name="hostile-http", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("hostile server did not start")

    def close(self) -> None:
        loop, server = self._loop, self._server
        if loop is not None and server is not None and not loop.is_closed():
            def stop() -> None:
                server.close()  # serve_forever returns; main() then ends the connections
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop)
        if self._thread is not None:
            self._thread.join(10)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await asyncio.wait_for(self._serve(reader, writer), self.max_seconds)
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:  # keep-alive: one answer per request on this connection
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            if length:
                await reader.readexactly(length)
            self.requests += 1
            await getattr(self, f"_{self.mode}")(writer)

    @staticmethod
    def _head(length: int | None) -> bytes:
        framing = f"Content-Length: {length}" if length is not None \
            else "Transfer-Encoding: chunked"
        return (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"
                ).encode()

    async def _trickle(self, writer: asyncio.StreamWriter) -> None:
        writer.write(self._head(len(TRICKLE_BODY)))
        await writer.drain()
        for i in range(len(TRICKLE_BODY)):
            writer.write(TRICKLE_BODY[i:i + 1])
            await writer.drain()
            await asyncio.sleep(self.interval_s)

    async def _huge(self, writer: asyncio.StreamWriter) -> None:
        chunk = b'{"pad": "' + b"x" * (1024 * 1024 - 12) + b'"},'
        writer.write(self._head(self.size if self.declare_length else None))
        sent = 0
        while sent < self.size:
            part = chunk[: self.size - sent]
            if self.declare_length:
                writer.write(part)
            else:
                writer.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            await writer.drain()
            sent += len(part)
        if not self.declare_length:
            writer.write(b"0\r\n\r\n")
            await writer.drain()

    async def _nested(self, writer: asyncio.StreamWriter) -> None:
        body = b"[" * self.depth
        writer.write(self._head(len(body)) + body)
        await writer.drain()
