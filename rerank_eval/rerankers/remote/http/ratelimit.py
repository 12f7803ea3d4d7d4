"""Requests-per-minute and tokens-per-minute pacing for one reranker.

Providers enforce their limits over a rolling minute, so this limiter keeps a log of
what was sent in the last ``window_s`` seconds and lets a request through only when
sending it keeps the window's total within the limit. A single request larger than the
whole token limit is let through on an empty window (otherwise it could never go).

Token counts used for pacing are the caller's *estimate* (the provider's count is only
known after the answer); they never reach reported usage.
"""

from __future__ import annotations

import asyncio
from collections import deque

from rerank_eval.rerankers.remote.http.clock import SYSTEM_CLOCK, Clock


class _Window:
    def __init__(self, limit: float, window_s: float) -> None:
        if limit <= 0:
            raise ValueError(f"rate limit must be > 0, got {limit}")
        self.limit = float(limit)
        self.window_s = window_s
        self.log: deque[tuple[float, float]] = deque()
        self.total = 0.0

    def _expire(self, now: float) -> None:
        while self.log and self.log[0][0] <= now - self.window_s:
            _, cost = self.log.popleft()
            self.total -= cost

    def wait_needed(self, cost: float, now: float) -> float:
        """0 when ``cost`` fits now, else the seconds until enough of the log expires."""
        self._expire(now)
        if self.total + cost <= self.limit or not self.log:
            return 0.0
        excess = self.total + cost - self.limit
        freed = 0.0
        for stamp, item in self.log:
            freed += item
            if freed >= excess:
                return max(0.0, stamp + self.window_s - now)
        return max(0.0, self.log[-1][0] + self.window_s - now)

    def record(self, cost: float, now: float) -> None:
        self.log.append((now, cost))
        self.total += cost


class RateLimiter:
    """Paces requests to ``requests_per_minute`` and ``tokens_per_minute`` (either may be None)."""

    def __init__(self, requests_per_minute: float | None = None,
                 tokens_per_minute: float | None = None, *, window_s: float = 60.0,
                 clock: Clock | None = None) -> None:
        self._requests = _Window(requests_per_minute, window_s) if requests_per_minute else None
        self._tokens = _Window(tokens_per_minute, window_s) if tokens_per_minute else None
        self._clock = clock or SYSTEM_CLOCK
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self.waited_s = 0.0

    def _loop_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    @property
    def active(self) -> bool:
        return self._requests is not None or self._tokens is not None

    async def acquire(self, tokens: float = 0.0) -> float:
        """Wait until one request of ``tokens`` estimated tokens may go; return the wait."""
        if not self.active:
            return 0.0
        waited = 0.0
        async with self._loop_lock():  # first come, first served
            while True:
                now = self._clock.monotonic()
                wait = 0.0
                if self._requests is not None:
                    wait = max(wait, self._requests.wait_needed(1.0, now))
                if self._tokens is not None:
                    wait = max(wait, self._tokens.wait_needed(tokens, now))
                if wait <= 0:
                    if self._requests is not None:
                        self._requests.record(1.0, now)
                    if self._tokens is not None:
                        self._tokens.record(tokens, now)
                    break
                await self._clock.sleep(wait)
                waited += wait
        self.waited_s += waited
        return waited
