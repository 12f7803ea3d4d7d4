"""The two load generators: closed loop (fixed concurrency) and open loop (Poisson arrivals).

Closed loop: ``c`` workers, each sending its next request when its previous one ends,
until the level's request count or duration is reached; what is in flight then finishes.
It measures what ``c`` concurrent users get, and the endpoint's throughput at that
concurrency; it cannot overload the endpoint beyond ``c``.

Open loop: requests arrive as a Poisson process at ``qps`` (gaps from a seeded
``random.Random(seed).expovariate``), each its own task, whatever happened to the
earlier ones, so an overloaded endpoint builds a queue as it would in production.
Latency runs from the scheduled arrival time, so the time a request waits, in the
client or the server, is never hidden (no coordinated omission). At most
``max_in_flight`` requests are sent at once: an arrival beyond that waits in the client
and is *measured late* (its wait is in its latency), not dropped. When the arrivals end,
the requests still unanswered get ``drain_s`` to finish; those still out then are
cancelled and counted as ``dropped``.

All waits and times go through the injected clock.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

from rerank_eval.load.outcome import Outcome, send
from rerank_eval.load.workload import RequestSource
from rerank_eval.rerankers import Reranker
from rerank_eval.rerankers.remote.http.clock import Clock


class RequestBudget:
    """The sweep's total cap on requests sent (``--max-requests``, warm-up included)."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"max_requests must be >= 1, got {limit}")
        self.limit = limit
        self.used = 0

    @property
    def left(self) -> int:
        return self.limit - self.used

    def take(self) -> bool:
        if self.used >= self.limit:
            return False
        self.used += 1
        return True


class LevelLog:
    """What a running level has issued and finished (read live and after a Ctrl-C)."""

    def __init__(self, started: float,
                 on_outcome: Callable[[LevelLog], None] | None = None) -> None:
        self.started = started
        self.issued = 0
        self.outcomes: list[Outcome] = []
        self.cut_by_budget = False
        self.arrivals_ended: float | None = None
        """Open loop: when the last arrival was scheduled (or the window closed)."""
        self._on_outcome = on_outcome

    def add(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        if self._on_outcome is not None:
            self._on_outcome(self)

    @property
    def in_flight(self) -> int:
        return self.issued - len(self.outcomes)

    @property
    def last_finished(self) -> float | None:
        return max((o.finished for o in self.outcomes), default=None)


async def closed_loop(reranker: Reranker, source: RequestSource, clock: Clock, log: LevelLog,
                      *, concurrency: int, requests: int | None, duration_s: float | None,
                      budget: RequestBudget) -> None:
    """``concurrency`` workers until ``requests`` are issued or ``duration_s`` has passed."""
    if requests is None and duration_s is None:
        raise ValueError("a closed-loop level needs a request count or a duration")

    async def worker() -> None:
        while True:
            if requests is not None and log.issued >= requests:
                return
            if duration_s is not None and clock.monotonic() - log.started >= duration_s:
                return
            if not budget.take():
                log.cut_by_budget = True
                return
            log.issued += 1
            request = source.next()
            log.add(await send(reranker, request, clock, clock.monotonic()))

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def open_loop(reranker: Reranker, source: RequestSource, clock: Clock, log: LevelLog, *,
                    qps: float, duration_s: float | None, requests: int | None,
                    rng: random.Random, max_in_flight: int, drain_s: float,
                    budget: RequestBudget) -> int:
    """Poisson arrivals at ``qps`` for ``duration_s`` (or ``requests`` arrivals); returns
    how many were dropped (unanswered after ``drain_s``)."""
    if requests is None and duration_s is None:
        raise ValueError("an open-loop level needs a duration or a request count")
    slots = asyncio.Semaphore(max_in_flight)
    tasks: set[asyncio.Task[None]] = set()

    async def arrival(scheduled: float) -> None:
        request = source.next()
        async with slots:
            outcome = await send(reranker, request, clock, scheduled)
        log.add(outcome)

    due = last = log.started
    try:
        while True:
            due += rng.expovariate(qps)
            if duration_s is not None and due - log.started >= duration_s:
                log.arrivals_ended = log.started + duration_s
                break
            if requests is not None and log.issued >= requests:
                log.arrivals_ended = last
                break
            wait = due - clock.monotonic()
            if wait > 0:
                await clock.sleep(wait)
            if not budget.take():
                log.cut_by_budget = True
                log.arrivals_ended = last
                break
            log.issued += 1
            last = due
            tasks.add(asyncio.ensure_future(arrival(due)))
        unfinished = await wait_bounded(tasks, clock, drain_s)
    except BaseException:
        await _cancel(tasks)
        raise
    await _cancel(unfinished)
    return len(unfinished)


async def wait_bounded(tasks: set[asyncio.Task[None]], clock: Clock,
                       bound_s: float) -> set[asyncio.Task[None]]:
    """Wait for ``tasks`` at most ``bound_s`` on ``clock``; return those not done."""
    pending = {t for t in tasks if not t.done()}
    if not pending:
        return set()
    timer = asyncio.ensure_future(clock.sleep(bound_s))
    try:
        while pending and not timer.done():
            await asyncio.wait({*pending, timer}, return_when=asyncio.FIRST_COMPLETED)
            pending = {t for t in pending if not t.done()}
    finally:
        timer.cancel()
    return pending


async def _cancel(tasks: set[asyncio.Task[None]]) -> None:
    live = [t for t in tasks if not t.done()]
    for task in live:
        task.cancel()
    if live:
        await asyncio.gather(*live, return_exceptions=True)
