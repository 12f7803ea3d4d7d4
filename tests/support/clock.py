"""A virtual clock for the HTTP layer and the in-process fakes: waits take no real time.

``sleep(s)`` parks the caller until virtual time reaches ``now + s``. Time moves only
when every task on the loop is parked (nothing else is ready to run): it then jumps to
the earliest wake-up. So concurrent waits interleave as they would on a real clock,
exactly, and a test can assert on exact times (``clock.now``, ``clock.sleeps``,
``Recorded.at``) without spending them.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools


class VirtualClock:
    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        """Every wait asked for, in order."""
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._driver: asyncio.Task[None] | None = None

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time on by hand (nobody is woken: use between calls)."""
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, next(self._seq), future))
        if self._driver is None or self._driver.done() or self._driver.get_loop() is not loop:
            self._driver = loop.create_task(self._drive())
        await future

    async def _drive(self) -> None:
        loop = asyncio.get_running_loop()
        while self._sleepers:
            await _until_idle(loop)
            deadline, _, future = heapq.heappop(self._sleepers)
            if future.done():  # its sleeper was cancelled
                continue
            self.now = max(self.now, deadline)
            future.set_result(None)


async def _until_idle(loop: asyncio.AbstractEventLoop) -> None:
    """Yield until no other callback is ready to run (only parked tasks are left)."""
    ready = getattr(loop, "_ready", None)  # asyncio's run queue (CPython's event loop)
    if ready is None:
        for _ in range(100):
            await asyncio.sleep(0)
        return
    while True:
        await asyncio.sleep(0)
        if not ready:
            return
