"""A fake server's capacity: a fixed number of workers, each busy for a set time a request.

A real inference server answers at most ``workers / service time`` requests a second;
beyond that, requests wait in its queue and latency grows while throughput stays flat.
:class:`Capacity` describes such a server; :class:`Slots` is its queue: ``workers``
slots handed out first come, first served. The waiting and the service time are spent on
the server's clock, so on a virtual clock a load test's times are exact and cost nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Capacity:
    """``workers`` requests served at once, each for ``service_s`` + ``per_document_s`` x
    its documents; the others wait their turn (FIFO).

    ``max_concurrent``: at most this many requests in the server at once, queued or
    served; one more is answered 429 at once, as an overloaded server does. None: the
    queue is unbounded.
    """

    workers: int
    service_s: float
    per_document_s: float = 0.0
    max_concurrent: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) \
                or self.workers < 1:
            raise ValueError(f"workers must be an integer >= 1, got {self.workers!r}")
        for name in ("service_s", "per_document_s"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.max_concurrent is not None and self.max_concurrent < self.workers:
            raise ValueError(f"max_concurrent ({self.max_concurrent}) must be >= workers "
                             f"({self.workers})")

    def service_time(self, documents: int) -> float:
        """Seconds one request of ``documents`` documents holds a worker."""
        return self.service_s + self.per_document_s * documents

    def throughput_rps(self, documents: int) -> float:
        """Requests a second at saturation for requests of ``documents`` documents
        (``inf`` when they take no time)."""
        busy = self.service_time(documents)
        return math.inf if busy == 0 else self.workers / busy


class Slots:
    """``count`` slots, handed out in the order they were asked for.

    A released slot passes straight to the oldest waiter, so no newcomer can overtake
    the queue. Futures are made on the running loop when a caller has to wait.
    """

    def __init__(self, count: int) -> None:
        self.free = count
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return sum(1 for f in self._waiters if not f.done())

    async def acquire(self) -> None:
        if self.free > 0 and not self._waiters:
            self.free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # it was handed the slot as it was cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(future)
            raise

    def release(self) -> None:
        while self._waiters:
            future = self._waiters.popleft()
            if not future.done():
                future.set_result(None)
                return
        self.free += 1
