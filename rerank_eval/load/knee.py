"""The knee of a sweep, and its saturation throughput.

The knee is the highest level whose p95 latency stays within the budget ``max_p95_ms``
(by default twice the p95 at the lowest level: the point where queueing has doubled the
unloaded latency) and whose errors stay within :data:`MAX_ERROR_SHARE` of its requests (a
level that answers fast because it refuses most requests is not one to run at).
Saturation throughput is the most successful requests per second any level achieved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rerank_eval.load.records import Knee, LevelResult

DEFAULT_BUDGET_FACTOR = 2.0
MAX_ERROR_SHARE = 0.01
"""A level whose failed (or dropped) requests exceed this share cannot be the knee."""


@dataclass(frozen=True)
class Budget:
    max_p95_ms: float | None
    source: str


def p95_budget(levels: Sequence[LevelResult], max_p95_ms: float | None) -> Budget:
    """The budget given, else twice the p95 at the lowest level (None if it had no
    successful request)."""
    if max_p95_ms is not None:
        return Budget(max_p95_ms, "--max-p95-ms")
    source = f"{DEFAULT_BUDGET_FACTOR:g}x p95 at the lowest level"
    if not levels or levels[0].p95_ms is None:
        return Budget(None, source)
    return Budget(round(DEFAULT_BUDGET_FACTOR * levels[0].p95_ms, 3), source)


def error_share(level: LevelResult) -> float:
    failed = level.error_count + level.dropped
    return failed / level.requests if level.requests else 1.0


def find_knee(levels: Sequence[LevelResult], budget: Budget) -> Knee:
    """Highest level (in sweep order, lowest first) within the p95 and error budgets."""
    limit = budget.max_p95_ms
    if not levels:
        return Knee(found=False, reason="no level was run", max_p95_ms=limit)
    if all(level.ok == 0 for level in levels):
        return Knee(found=False, reason="no level had a successful request", max_p95_ms=limit)
    if limit is None:
        return Knee(found=False, reason="no successful request at the lowest level, so no "
                    "default p95 budget; give --max-p95-ms", max_p95_ms=None)
    best: int | None = None
    too_many_errors = []
    for index, level in enumerate(levels):
        p95 = level.p95_ms
        if p95 is None or p95 > limit:
            continue
        if error_share(level) > MAX_ERROR_SHARE:
            too_many_errors.append(level.label)
            continue
        best = index
    if best is None:
        lowest = levels[0]
        if lowest.p95_ms is not None and lowest.p95_ms > limit:
            why = (f"even the lowest level ({lowest.label}) has p95 {lowest.p95_ms:g} ms "
                   f"> {limit:g} ms")
        else:
            why = f"no level has p95 <= {limit:g} ms with errors <= {MAX_ERROR_SHARE:.0%}"
        return Knee(found=False, reason=why, max_p95_ms=limit)
    level = levels[best]
    reason = f"highest level with p95 <= {limit:g} ms"
    if too_many_errors:
        reason += (f" (errors over {MAX_ERROR_SHARE:.0%} excluded "
                   f"{', '.join(too_many_errors)})")
    return Knee(found=True, reason=reason, index=best, concurrency=level.concurrency,
                offered_qps=level.offered_qps, throughput_rps=level.throughput_rps,
                p95_ms=level.p95_ms, max_p95_ms=limit)


def saturation_rps(levels: Sequence[LevelResult]) -> float | None:
    """The highest throughput any level achieved; None when no level ran."""
    return max((level.throughput_rps for level in levels), default=None)
