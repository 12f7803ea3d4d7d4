"""When to retry a provider call, and how long to wait first.

Retried: HTTP 408, 409, 429 and 5xx, timeouts and connection failures (the set the
Cohere and Mixedbread SDKs retry). The wait before a retry is, in order of preference:

1. what the server asked for: ``retry-after-ms`` (milliseconds), ``Retry-After``
   (seconds or an HTTP date), ``X-RateLimit-Reset`` (a unix time, or seconds when the
   value is small enough to be a delay);
2. otherwise exponential backoff ``base_delay_s * 2**attempt`` capped at
   ``max_delay_s``, with ±``jitter`` relative noise.

A server-requested wait is honoured as asked (not capped at ``max_delay_s``: waiting
less only earns another 429), but every wait counts against ``max_total_wait_s``; when
the next wait would overrun that budget the call fails with the last error instead.
"""

from __future__ import annotations

import datetime
import email.utils
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass

RETRYABLE_STATUSES = frozenset({408, 409, 429})

# X-RateLimit-Reset values below this are read as "seconds from now", above as unix time.
_EPOCH_THRESHOLD = 1_000_000_000


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    max_total_wait_s: float = 120.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        for name in ("base_delay_s", "max_delay_s", "max_total_wait_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"jitter must be in [0, 1), got {self.jitter}")

    @staticmethod
    def is_retryable_status(status: int) -> bool:
        return status in RETRYABLE_STATUSES or status >= 500

    def backoff_s(self, attempt: int, rng: random.Random | None = None) -> float:
        """Exponential backoff before retry number ``attempt + 1`` (attempt counts from 0)."""
        delay = min(self.base_delay_s * (2.0 ** attempt), self.max_delay_s)
        if self.jitter:
            noise = (rng or random).uniform(-self.jitter, self.jitter)
            delay *= 1.0 + noise
        return max(0.0, delay)

    def wait_s(self, attempt: int, headers: Mapping[str, str] | None,
               rng: random.Random | None = None, now: float | None = None) -> tuple[float, bool]:
        """The wait before the next try, and whether the server asked for it."""
        asked = parse_retry_after(headers, now=now) if headers is not None else None
        if asked is not None:
            return asked, True
        return self.backoff_s(attempt, rng), False


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asked us to wait, from the usual headers; ``None`` if it did not.

    ``headers`` must look keys up case-insensitively (httpx.Headers does).
    """
    now = time.time() if now is None else now
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            value = float(raw_ms) / 1000.0
        except ValueError:
            value = None
        if value is not None and 0 <= value < float("inf"):
            return value
    raw = headers.get("retry-after")
    if raw is not None:
        parsed = _parse_seconds_or_date(raw, now)
        if parsed is not None:
            return parsed
    raw_reset = headers.get("x-ratelimit-reset")
    if raw_reset is not None:
        try:
            value = float(raw_reset.strip())
        except ValueError:
            return None
        if value != value or value in (float("inf"), float("-inf")):
            return None
        if value >= _EPOCH_THRESHOLD:
            return max(0.0, value - now)
        return max(0.0, value)
    return None


def _parse_seconds_or_date(raw: str, now: float) -> float | None:
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        pass
    else:
        if seconds != seconds or seconds == float("inf"):
            return None
        return max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # HTTP dates are GMT
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, when.timestamp() - now)
