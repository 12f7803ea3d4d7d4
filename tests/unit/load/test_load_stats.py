"""A level's summary: percentiles over successes, errors by type, retries, server timing,
tokens and cost as load.json records them."""

from __future__ import annotations

import numpy as np
import pytest

from rerank_eval.load.outcome import ERROR_TYPES, Outcome, describe, error_type
from rerank_eval.load.stats import latency_summary, summarise
from rerank_eval.rerankers.remote.http.errors import (
    AuthenticationError,
    BadRequestError,
    MalformedResponseError,
    MissingAPIKeyError,
    ProviderError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    TransportError,
)


@pytest.mark.parametrize(("error", "kind"), [
    (RateLimitError("p", "slow down", status=429), "rate_limited"),
    (ServerError("p", "boom", status=503), "server_error"),
    (RequestTimeoutError("p", "late"), "timeout"),
    (RequestTimeoutError("p", "late", status=408), "timeout"),
    (TransportError("p", "refused"), "transport"),
    (MalformedResponseError("p", "not json", status=200), "malformed"),
    (BadRequestError("p", "bad", status=422), "client_error"),
    (AuthenticationError("p", "who", status=401), "client_error"),
    (MissingAPIKeyError("p", "no key"), "other"),
    (ProviderError("p", "odd", status=302), "other"),
    (RuntimeError("model fell over"), "other"),
])
def test_errors_are_typed_from_the_client_exceptions(error: Exception, kind: str) -> None:
    assert error_type(error) == kind
    assert kind in ERROR_TYPES


def test_descriptions_are_redacted() -> None:
    text = describe(RuntimeError("failed with Authorization: Bearer sk-live-123456"))
    assert "sk-live-123456" not in text and text.startswith("RuntimeError:")


def outcome(latency_s: float, *, at: float = 0.0, error: str | None = None, **fields) -> Outcome:
    return Outcome(scheduled=at, finished=at + latency_s, documents=20, error=error, **fields)


def test_percentiles_are_over_successes_only() -> None:
    ok = [outcome(s / 1000) for s in range(10, 110)]  # 10..109 ms
    failed = [outcome(5.0, error="timeout", message="late") for _ in range(3)]
    level = summarise(ok + failed, concurrency=4, offered_qps=None, duration_s=2.0)
    ms = np.arange(10, 110, dtype=float)
    assert level.requests == 103 and level.ok == 100
    assert level.errors["timeout"] == 3 and sum(level.errors.values()) == 3
    assert set(level.errors) == set(ERROR_TYPES)
    assert level.latency_ms["p95"] == pytest.approx(np.percentile(ms, 95), abs=1e-3)
    assert level.latency_ms["p50"] == pytest.approx(np.percentile(ms, 50), abs=1e-3)
    assert level.latency_ms["max"] == pytest.approx(109, abs=1e-3)  # not the 5 s timeouts
    assert level.throughput_rps == 50.0 and level.docs_per_s == 1000.0
    assert level.error_messages == ["late"]


def test_latency_runs_from_when_the_request_was_due() -> None:
    late = Outcome(scheduled=1.0, finished=1.5, documents=1)
    assert late.latency_s == 0.5


def test_retries_tokens_cost_and_server_timing() -> None:
    outcomes = [
        outcome(0.05, retries=1, tokens=100, cost_usd=0.002,
                server_ms={"inference": 40.0, "queue": 2.0}),
        outcome(0.06, tokens=120, cost_usd=0.002, server_ms={"inference": 50.0}),
        outcome(0.5, error="rate_limited", retries=2, message="429"),
    ]
    level = summarise(outcomes, concurrency=None, offered_qps=5.0, duration_s=1.0)
    assert level.retries == 3 and level.tokens == 220 and level.cost_usd == pytest.approx(0.004)
    assert level.server_ms["inference"] == {"mean": 45.0, "p50": 45.0, "p95": 49.5}
    assert level.server_ms["queue"]["mean"] == 2.0
    assert level.offered_qps == 5.0 and level.concurrency is None


def test_unreported_tokens_and_cost_are_null_not_zero() -> None:
    level = summarise([outcome(0.05)], concurrency=1, offered_qps=None, duration_s=1.0)
    assert level.tokens is None and level.cost_usd is None and level.server_ms == {}


def test_requests_merged_in_the_client_are_not_throughput() -> None:
    outcomes = [outcome(0.05), outcome(0.01, shared=True), outcome(0.01, shared=True)]
    level = summarise(outcomes, concurrency=4, offered_qps=None, duration_s=1.0)
    assert level.ok == 1 and level.shared_in_flight == 2 and level.requests == 3
    assert level.throughput_rps == 1.0 and level.latency_ms["max"] == 50.0


def test_dropped_requests_count_in_the_level() -> None:
    level = summarise([outcome(0.05)], concurrency=None, offered_qps=10.0, duration_s=1.0,
                      dropped=4, stopped_early=True)
    assert level.requests == 5 and level.dropped == 4 and level.stopped_early


def test_distinct_messages_are_kept_up_to_five() -> None:
    outcomes = [outcome(0.1, error="other", message=f"m{i % 7}") for i in range(30)]
    level = summarise(outcomes, concurrency=1, offered_qps=None, duration_s=1.0)
    assert level.error_messages == ["m0", "m1", "m2", "m3", "m4"]
    assert level.latency_ms == {} and level.throughput_rps == 0.0


def test_latency_summary_of_nothing_is_empty() -> None:
    assert latency_summary([]) == {}
    assert list(latency_summary([1.0])) == ["mean", "p50", "p90", "p95", "p99", "max"]
