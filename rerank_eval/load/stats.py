"""A level's numbers: the outcomes it collected, summed up as load.json records them.

Percentiles are over successful requests only (errors are counted apart) and use
numpy's linear interpolation, as the run's latency figures do. Latency runs from when a
request was due (the open loop's arrival time), so time spent waiting in the client is
not hidden.

A request the client answered by merging it with an identical one already in flight
(``shared``) never reached the endpoint: it is counted in ``shared_in_flight`` only,
not in ``ok``, throughput or latency.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from rerank_eval.load.outcome import ERROR_TYPES, Outcome
from rerank_eval.load.records import LevelResult

LATENCY_KEYS = ("mean", "p50", "p90", "p95", "p99", "max")
SERVER_KEYS = ("mean", "p50", "p95")
MAX_MESSAGES = 5


def _r(value: float, digits: int = 3) -> float:
    return round(float(value), digits)


def latency_summary(latencies_ms: Sequence[float]) -> dict[str, float]:
    """mean, p50, p90, p95, p99 and max in ms; {} for none."""
    if not latencies_ms:
        return {}
    ms = np.asarray(latencies_ms, dtype=float)
    return {"mean": _r(ms.mean()), "p50": _r(np.percentile(ms, 50)),
            "p90": _r(np.percentile(ms, 90)), "p95": _r(np.percentile(ms, 95)),
            "p99": _r(np.percentile(ms, 99)), "max": _r(ms.max())}


def server_summary(outcomes: Iterable[Outcome]) -> dict[str, dict[str, float]]:
    """Per phase the server reported (``inference``, ``queue``...): mean, p50, p95 in ms
    over the successful requests that reported it; {} when none did."""
    by_phase: dict[str, list[float]] = {}
    for outcome in outcomes:
        if outcome.ok and outcome.server_ms:
            for phase, ms in outcome.server_ms.items():
                by_phase.setdefault(phase, []).append(float(ms))
    summary = {}
    for phase in sorted(by_phase):
        values = np.asarray(by_phase[phase], dtype=float)
        summary[phase] = {"mean": _r(values.mean()), "p50": _r(np.percentile(values, 50)),
                          "p95": _r(np.percentile(values, 95))}
    return summary


def summarise(outcomes: Sequence[Outcome], *, concurrency: int | None,
              offered_qps: float | None, duration_s: float, dropped: int = 0,
              stopped_early: bool = False) -> LevelResult:
    """One level's record from its outcomes (warm-up excluded) and its duration."""
    ok = [o for o in outcomes if o.ok and not o.shared]
    errors = dict.fromkeys(ERROR_TYPES, 0)
    messages: list[str] = []
    for outcome in outcomes:
        if outcome.error is None:
            continue
        errors[outcome.error] += 1
        if outcome.message and outcome.message not in messages and \
                len(messages) < MAX_MESSAGES:
            messages.append(outcome.message)
    tokens = [o.tokens for o in outcomes if o.tokens is not None]
    costs = [o.cost_usd for o in outcomes if o.cost_usd is not None]
    docs = sum(o.documents for o in ok)
    return LevelResult(
        concurrency=concurrency, offered_qps=offered_qps,
        requests=len(outcomes) + dropped, ok=len(ok), errors=errors,
        retries=sum(o.retries for o in outcomes), duration_s=_r(duration_s, 4),
        throughput_rps=_r(len(ok) / duration_s) if duration_s > 0 else 0.0,
        docs_per_s=_r(docs / duration_s) if duration_s > 0 else 0.0,
        latency_ms=latency_summary([o.latency_s * 1000.0 for o in ok]),
        server_ms=server_summary(ok),
        tokens=sum(tokens) if tokens else None,
        cost_usd=round(sum(costs), 10) if costs else None,
        stopped_early=stopped_early, dropped=dropped,
        shared_in_flight=sum(1 for o in outcomes if o.ok and o.shared),
        error_messages=messages,
    )
