"""Requests/tokens per minute pacing, on a virtual clock."""

from __future__ import annotations

import asyncio

import pytest
from support.clock import VirtualClock

from rerank_eval.rerankers.remote.http.ratelimit import RateLimiter


async def test_requests_per_minute_window() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(requests_per_minute=3, window_s=60, clock=clock)
    for _ in range(3):
        assert await limiter.acquire() == 0.0
    waited = await limiter.acquire()  # 4th must wait for the 1st to leave the window
    assert waited == pytest.approx(60.0)
    assert clock.now == pytest.approx(60.0)


async def test_tokens_per_minute_window() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(tokens_per_minute=1000, clock=clock)
    assert await limiter.acquire(600) == 0.0
    clock.advance(10.0)
    assert await limiter.acquire(300) == 0.0
    clock.advance(10.0)
    # 600 + 300 + 400 > 1000: wait until the 600 leaves at t=60
    assert await limiter.acquire(400) == pytest.approx(40.0)


async def test_oversized_request_goes_on_an_empty_window() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(tokens_per_minute=100, clock=clock)
    assert await limiter.acquire(5000) == 0.0
    assert await limiter.acquire(1) == pytest.approx(60.0)


async def test_inactive_limiter_never_waits() -> None:
    limiter = RateLimiter()
    assert not limiter.active
    assert await limiter.acquire(10**9) == 0.0


async def test_concurrent_callers_are_paced_in_order() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(requests_per_minute=2, window_s=0.2, clock=clock)
    granted: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        granted.append(clock.monotonic())

    await asyncio.gather(*(one() for _ in range(5)))
    # 2 now, 2 after one window, 1 after two windows
    assert granted == pytest.approx([0.0, 0.0, 0.2, 0.2, 0.4])
    assert clock.sleeps == pytest.approx([0.2, 0.2])  # the 3rd and the 5th waited


def test_bad_limit_rejected() -> None:
    with pytest.raises(ValueError):
        RateLimiter(requests_per_minute=-1)
