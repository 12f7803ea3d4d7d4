"""Paired significance for per-query metric values: bootstrap CI, randomization test, Holm.

Two systems evaluated on the same queries are compared through the per-query
differences: the mean difference, a paired bootstrap confidence interval of it
(percentile method, scipy), a two-sided paired randomization test (sign flips of the
differences, scipy's ``permutation_test`` with ``permutation_type="samples"``), and
wins/ties/losses. Across the comparisons made on one dataset and measure, p-values are
Holm-corrected. Seeds are fixed and recorded, so the same inputs give the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

DEFAULT_SEED = 20261121
DEFAULT_RESAMPLES = 10_000
TIE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class PairedComparison:
    n_queries: int
    baseline_mean: float
    system_mean: float
    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    wins: int
    ties: int
    losses: int
    confidence: float
    n_resamples: int
    seed: int


def paired_comparison(system: Mapping[str, float], baseline: Mapping[str, float], *,
                      confidence: float = 0.95, n_resamples: int = DEFAULT_RESAMPLES,
                      seed: int = DEFAULT_SEED) -> PairedComparison:
    """Compare ``system`` with ``baseline`` on the queries both have values for."""
    common = sorted(set(system) & set(baseline))
    if not common:
        raise ValueError("the two systems share no query")
    sys_values = np.array([system[q] for q in common], dtype=float)
    base_values = np.array([baseline[q] for q in common], dtype=float)
    diff = sys_values - base_values
    wins = int(np.sum(diff > TIE_TOLERANCE))
    losses = int(np.sum(diff < -TIE_TOLERANCE))
    ties = len(diff) - wins - losses
    delta = float(diff.mean())
    if wins == 0 and losses == 0:
        # Identical per query: no resampling can move the mean off zero.
        ci_low = ci_high = delta
        p_value = 1.0
    else:
        ci_low, ci_high = _bootstrap_ci(diff, confidence, n_resamples, seed)
        p_value = _randomization_p(diff, n_resamples, seed)
    return PairedComparison(
        n_queries=len(common), baseline_mean=float(base_values.mean()),
        system_mean=float(sys_values.mean()), delta=delta, ci_low=ci_low, ci_high=ci_high,
        p_value=p_value, wins=wins, ties=ties, losses=losses, confidence=confidence,
        n_resamples=n_resamples, seed=seed,
    )


def _bootstrap_ci(diff: np.ndarray, confidence: float, n_resamples: int,
                  seed: int) -> tuple[float, float]:
    if len(diff) < 2:
        return float(diff.mean()), float(diff.mean())
    result = stats.bootstrap((diff,), np.mean, n_resamples=n_resamples, vectorized=True,
                             confidence_level=confidence, method="percentile",
                             rng=np.random.default_rng(seed))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


BOOTSTRAP_BATCH_VALUES = 4_000_000
"""Resampled values held in memory at once by :func:`bootstrap_mean_ci` (about 32 MB)."""


def bootstrap_mean_ci(values: Sequence[float], *, confidence: float = 0.95,
                      n_resamples: int = DEFAULT_RESAMPLES,
                      seed: int = DEFAULT_SEED) -> tuple[float, float]:
    """Percentile-bootstrap CI of the mean of one value per query (resampling queries).

    The unpaired sibling of :func:`paired_comparison`'s interval, for per-query values that
    are already a comparison of two systems (their agreement, say). Resamples are drawn in
    batches so that memory stays bounded on large query sets; values that are all equal
    give the degenerate interval (mean, mean); no values give (nan, nan).
    """
    array = np.asarray(values, dtype=float)
    if not len(array):
        return float("nan"), float("nan")
    mean = float(array.mean())
    if len(array) < 2 or np.ptp(array) == 0:
        return mean, mean
    result = stats.bootstrap((array,), np.mean, n_resamples=n_resamples, vectorized=True,
                             batch=max(1, BOOTSTRAP_BATCH_VALUES // len(array)),
                             confidence_level=confidence, method="percentile",
                             rng=np.random.default_rng(seed))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def _randomization_p(diff: np.ndarray, n_resamples: int, seed: int) -> float:
    """Two-sided paired randomization test: each query's difference may flip sign."""
    if len(diff) < 2:  # one query: +d and -d are equally likely, p = 1 (scipy refuses n=1)
        return 1.0
    result = stats.permutation_test(
        (diff,), lambda d, axis=-1: np.mean(d, axis=axis), permutation_type="samples",
        vectorized=True, n_resamples=n_resamples, alternative="two-sided",
        rng=np.random.default_rng(seed),
    )
    return float(min(1.0, result.pvalue))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order.

    Written here (eight lines) rather than importing statsmodels for
    ``multipletests``: scipy has no Holm, and statsmodels is a large dependency.
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
