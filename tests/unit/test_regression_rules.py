"""The gate's rules on their own: the queries-needed formula and the verdicts."""

from __future__ import annotations

import math

from scipy import stats

from rerank_eval.comparison import Comparison
from rerank_eval.regression import _verdict, queries_needed


def comparison(delta: float, ci: tuple[float, float], p: float) -> Comparison:
    return Comparison(n_queries=50, baseline_mean=0.5, system_mean=0.5 + delta, delta=delta,
                      ci_low=ci[0], ci_high=ci[1], p_value=p, wins=0, ties=0, losses=0,
                      confidence=0.95, n_resamples=10, seed=1, dataset="d", measure="nDCG@10",
                      system="s", baseline="s", p_holm=p)


def test_queries_needed_is_the_normal_approximation() -> None:
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)  # 1.96 + 0.84
    assert queries_needed(0.1, 0.01) == math.ceil((z * 0.1 / 0.01) ** 2) == 785
    assert queries_needed(0.1, 0.02) == 197
    assert queries_needed(0.0, 0.01) is None and queries_needed(0.1, 0.0) is None


def test_non_inferiority_verdicts() -> None:
    assert _verdict(comparison(-0.05, (-0.08, -0.02), 0.001), 0.05, 0.01) == "regression"
    # Significant but within the margin: non-inferior.
    assert _verdict(comparison(-0.005, (-0.008, -0.002), 0.001), 0.05, 0.01) == "ok"
    assert _verdict(comparison(-0.03, (-0.07, 0.01), 0.2), 0.05, 0.01) == "inconclusive"
    assert _verdict(comparison(-0.001, (-0.005, 0.003), 0.6), 0.05, 0.01) == "ok"
    assert _verdict(comparison(0.04, (0.02, 0.06), 0.001), 0.05, 0.01) == "improvement"
