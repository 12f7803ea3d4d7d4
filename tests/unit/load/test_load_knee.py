"""The knee, the saturation throughput and the cost per 1,000 queries at the knee."""

from __future__ import annotations

import pytest

from rerank_eval.load.cost import cost_per_1k
from rerank_eval.load.knee import Budget, find_knee, p95_budget, saturation_rps
from rerank_eval.load.outcome import ERROR_TYPES
from rerank_eval.load.records import LevelResult
from rerank_eval.pricing import hardware_price


def level(concurrency: int, rps: float, p95: float | None, *, ok: int = 100,
          errors: dict[str, int] | None = None, dropped: int = 0,
          cost_usd: float | None = None) -> LevelResult:
    counts = dict.fromkeys(ERROR_TYPES, 0) | (errors or {})
    latency = {} if p95 is None else {"p50": p95 * 0.8, "p95": p95}
    return LevelResult(concurrency=concurrency, offered_qps=None,
                       requests=ok + sum(counts.values()) + dropped, ok=ok, errors=counts,
                       retries=0, duration_s=ok / rps if rps else 1.0, throughput_rps=rps,
                       docs_per_s=rps * 20, latency_ms=latency, server_ms={}, tokens=None,
                       cost_usd=cost_usd, dropped=dropped)


SWEEP = [level(1, 20, 50), level(2, 40, 52), level(4, 78, 60), level(8, 80, 110),
         level(16, 80, 210)]


def test_default_budget_is_twice_the_lowest_p95_and_the_knee_is_the_last_level_under_it() -> None:
    budget = p95_budget(SWEEP, None)
    assert budget == Budget(100.0, "2x p95 at the lowest level")
    knee = find_knee(SWEEP, budget)
    assert knee.found and knee.index == 2 and knee.concurrency == 4
    assert knee.throughput_rps == 78 and knee.p95_ms == 60 and knee.max_p95_ms == 100.0
    assert "p95 <= 100 ms" in knee.reason


def test_a_given_budget_moves_the_knee() -> None:
    knee = find_knee(SWEEP, p95_budget(SWEEP, 120.0))
    assert knee.concurrency == 8
    assert p95_budget(SWEEP, 120.0).source == "--max-p95-ms"


def test_the_knee_is_the_highest_level_under_budget_even_after_a_level_over_it() -> None:
    levels = [level(1, 20, 50), level(2, 40, 120), level(4, 70, 90)]
    assert find_knee(levels, Budget(100.0, "x")).concurrency == 4


def test_no_knee_when_even_the_lowest_level_is_over_budget() -> None:
    knee = find_knee(SWEEP, p95_budget(SWEEP, 30.0))
    assert not knee.found and knee.index is None
    assert "even the lowest level (concurrency 1)" in knee.reason


def test_no_knee_when_nothing_succeeded() -> None:
    failed = [level(1, 0, None, ok=0, errors={"transport": 10}),
              level(2, 0, None, ok=0, errors={"transport": 10})]
    budget = p95_budget(failed, None)
    assert budget.max_p95_ms is None
    knee = find_knee(failed, budget)
    assert not knee.found and "no level had a successful request" in knee.reason
    assert not find_knee([], budget).found


def test_no_default_budget_when_the_lowest_level_failed_but_a_later_one_did_not() -> None:
    levels = [level(1, 0, None, ok=0, errors={"timeout": 5}), level(2, 30, 60)]
    knee = find_knee(levels, p95_budget(levels, None))
    assert not knee.found and "--max-p95-ms" in knee.reason


def test_a_fast_level_that_refuses_requests_is_not_the_knee() -> None:
    levels = [level(1, 20, 50), level(2, 40, 55),
              level(4, 45, 40, ok=60, errors={"rate_limited": 40})]
    knee = find_knee(levels, p95_budget(levels, None))
    assert knee.concurrency == 2
    assert "concurrency 4" in knee.reason  # says which level the errors excluded


def test_saturation_is_the_highest_throughput() -> None:
    assert saturation_rps(SWEEP) == 80
    assert saturation_rps([]) is None


def test_cost_from_the_gpu_hour_price_at_the_knee_throughput() -> None:
    knee = find_knee(SWEEP, p95_budget(SWEEP, None))
    cost = cost_per_1k(knee, SWEEP, gpu_hour_usd=2.0, price=None, device=None)
    assert cost is not None and cost.basis == "gpu_hour" and cost.gpu_hour_usd == 2.0
    assert cost.usd == pytest.approx(2.0 / 3600 / 78 * 1000, rel=1e-4)


def test_cost_from_measured_usage_per_successful_request() -> None:
    levels = [level(1, 20, 50, cost_usd=0.2), level(2, 40, 55, ok=50, cost_usd=0.1)]
    knee = find_knee(levels, p95_budget(levels, None))
    price = {"usd": 2.0, "per": 1000, "unit": "search_unit", "date": "2026-04",
             "source": "s", "model": "m"}
    cost = cost_per_1k(knee, levels, gpu_hour_usd=None, price=price, device=None)
    assert cost is not None and cost.basis == "usage" and cost.price == price
    assert cost.usd == pytest.approx(0.1 / 50 * 1000)
    assert "2026-04" in cost.note


def test_a_local_reranker_is_priced_by_its_hardware_hour() -> None:
    knee = find_knee(SWEEP, p95_budget(SWEEP, None))
    cost = cost_per_1k(knee, SWEEP, gpu_hour_usd=None, price=None, device="cpu")
    hourly = hardware_price("cpu")
    assert hourly is not None and cost is not None and cost.basis == "hardware_hour"
    assert cost.usd == pytest.approx(hourly.usd_per_hour / 3600 / 78 * 1000, rel=1e-4)
    assert cost.price is not None and cost.price["date"] == hourly.date


def test_no_cost_without_a_basis_or_a_knee() -> None:
    knee = find_knee(SWEEP, p95_budget(SWEEP, None))
    assert cost_per_1k(knee, SWEEP, gpu_hour_usd=None, price=None, device=None) is None
    none = find_knee(SWEEP, p95_budget(SWEEP, 1.0))
    assert cost_per_1k(none, SWEEP, gpu_hour_usd=2.0, price=None, device=None) is None
