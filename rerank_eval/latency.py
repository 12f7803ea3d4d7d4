"""Latency summaries from per-query wall times."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def latency_summary_ms(
    latencies_s: Sequence[float], cold_s: float | None = None
) -> dict[str, float]:
    """p50/p95/p99/mean/max in milliseconds (linear-interpolated percentiles, numpy's default).

    ``cold`` is the first request of the cell (model load, connection set-up) and is
    reported apart; the percentiles include it, as a user's first query would.
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
