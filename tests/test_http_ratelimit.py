"""Requests/tokens per minute pacing, on a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from rerank_eval.rerankers.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def test_requests_per_minute_window() -> None:
    clock = Clock()
    limiter = RateLimiter(requests_per_minute=3, window_s=60, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        assert await limiter.acquire() == 0.0
    waited = await limiter.acquire()  # 4th must wait for the 1st to leave the window
    assert waited == pytest.approx(60.0)
    assert clock.now == pytest.approx(60.0)


async def test_tokens_per_minute_window() -> None:
    clock = Clock()
    limiter = RateLimiter(tokens_per_minute=1000, clock=clock, sleep=clock.sleep)
    assert await limiter.acquire(600) == 0.0
    clock.now = 10.0
    assert await limiter.acquire(300) == 0.0
    clock.now = 20.0
    # 600 + 300 + 400 > 1000: wait until the 600 leaves at t=60
    assert await limiter.acquire(400) == pytest.approx(40.0)


async def test_oversized_request_goes_on_an_empty_window() -> None:
    clock = Clock()
    limiter = RateLimiter(tokens_per_minute=100, clock=clock, sleep=clock.sleep)
    assert await limiter.acquire(5000) == 0.0
    assert await limiter.acquire(1) == pytest.approx(60.0)


async def test_inactive_limiter_never_waits() -> None:
    limiter = RateLimiter()
    assert not limiter.active
    assert await limiter.acquire(10**9) == 0.0


async def test_real_clock_paces_concurrent_callers() -> None:
    limiter = RateLimiter(requests_per_minute=2, window_s=0.2)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await asyncio.gather(*(limiter.acquire() for _ in range(5)))
    # 2 now, 2 after one window, 1 after two windows
    assert loop.time() - start >= 0.38


def test_bad_limit_rejected() -> None:
    with pytest.raises(ValueError):
        RateLimiter(requests_per_minute=-1)
