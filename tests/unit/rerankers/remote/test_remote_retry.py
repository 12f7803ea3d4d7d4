"""Retry policy: which statuses retry, backoff growth and cap, and the wait headers."""

from __future__ import annotations

import email.utils
import random

import httpx
import pytest

from rerank_eval.rerankers.remote.http.retry import RetryPolicy, parse_retry_after

NOW = 1_800_000_000.0


def h(**headers: str) -> httpx.Headers:
    return httpx.Headers({k.replace("_", "-"): v for k, v in headers.items()})


@pytest.mark.parametrize("status,retry", [(408, True), (409, True), (429, True), (500, True),
                                          (502, True), (503, True), (599, True), (400, False),
                                          (401, False), (403, False), (404, False),
                                          (422, False)])
def test_retryable_statuses(status: int, retry: bool) -> None:
    assert RetryPolicy.is_retryable_status(status) is retry


def test_retry_after_ms_wins_over_seconds() -> None:
    assert parse_retry_after(h(retry_after_ms="250", retry_after="7"), now=NOW) == 0.25


def test_retry_after_seconds_and_fraction() -> None:
    assert parse_retry_after(h(retry_after="7"), now=NOW) == 7.0
    assert parse_retry_after(h(retry_after="0.5"), now=NOW) == 0.5


def test_retry_after_http_date() -> None:
    date = email.utils.formatdate(NOW + 30, usegmt=True)
    assert parse_retry_after(h(retry_after=date), now=NOW) == pytest.approx(30, abs=1)


def test_retry_after_date_in_the_past_is_zero() -> None:
    date = email.utils.formatdate(NOW - 30, usegmt=True)
    assert parse_retry_after(h(retry_after=date), now=NOW) == 0.0


def test_x_ratelimit_reset_unix_time_and_delta() -> None:
    assert parse_retry_after(h(x_ratelimit_reset=str(int(NOW) + 12)), now=NOW) == 12.0
    assert parse_retry_after(h(x_ratelimit_reset="3"), now=NOW) == 3.0


def test_headers_are_case_insensitive() -> None:
    assert parse_retry_after(httpx.Headers({"RETRY-AFTER": "2"}), now=NOW) == 2.0


@pytest.mark.parametrize("value", ["soon", "nan", "inf", ""])
def test_garbage_retry_after_is_ignored(value: str) -> None:
    assert parse_retry_after(h(retry_after=value), now=NOW) is None


def test_no_headers_means_none() -> None:
    assert parse_retry_after(h(), now=NOW) is None


def test_backoff_grows_and_caps_without_jitter() -> None:
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=5.0, jitter=0.0)
    assert [policy.backoff_s(a) for a in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_backoff_jitter_stays_in_band() -> None:
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=100.0, jitter=0.2)
    rng = random.Random(0)
    waits = [policy.backoff_s(2, rng) for _ in range(200)]
    assert all(3.2 <= w <= 4.8 for w in waits)
    assert len(set(waits)) > 100  # actually jittered


def test_server_wait_preferred_over_backoff() -> None:
    policy = RetryPolicy(base_delay_s=1.0, jitter=0.0)
    assert policy.wait_s(0, h(retry_after="9"), now=NOW) == (9.0, True)
    assert policy.wait_s(0, h(), now=NOW) == (1.0, False)
    assert policy.wait_s(0, None) == (1.0, False)


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_retries=-1)
    with pytest.raises(ValueError):
        RetryPolicy(jitter=1.5)
