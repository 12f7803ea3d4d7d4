"""Latency summaries from per-query wall times."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def latency_summary_ms(
    latencies_s: Sequence[float], cold_s: float | None = None
) -> dict[str, float]:
    """p50/p95/p99/mean/max in milliseconds (linear-interpolated percentiles, numpy's default).

    ``latencies_s`` are the serving latencies (the caller leaves the warm-up out); ``cold``
    is the first warm-up call (model load, connection set-up), reported apart.
    """
    if not latencies_s:
        return {}
    ms = np.asarray(latencies_s, dtype=float) * 1000.0
    summary = {
        "p50": float(np.percentile(ms, 50)),
        "p95": float(np.percentile(ms, 95)),
        "p99": float(np.percentile(ms, 99)),
        "mean": float(ms.mean()),
        "max": float(ms.max()),
    }
    if cold_s is not None:
        summary["cold"] = cold_s * 1000.0
    return summary
