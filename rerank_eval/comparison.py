"""Every reranker against a baseline, per dataset and measure, from per-query tables.

Used by the reports (a leaderboard with confidence intervals and significance marks),
by ``rerank-eval compare`` (two runs paired by query) and ``rerank-eval check``
(a failing exit code on a significant regression).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import pandas as pd

from rerank_eval.stats import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    PairedComparison,
    holm,
    paired_comparison,
)

KEY_COLUMNS = ("dataset", "reranker", "query_id", "n_candidates", "latency_ms")


@dataclass(frozen=True)
class Comparison:
    dataset: str
    measure: str
    system: str
    baseline: str
    n_queries: int
    baseline_mean: float
    system_mean: float
    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    p_holm: float
    wins: int
    ties: int
    losses: int
    seed: int
    n_resamples: int

    def significant(self, alpha: float = 0.05) -> bool:
        return self.p_holm < alpha

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def measures_in(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in KEY_COLUMNS]


def compare_systems(frame: pd.DataFrame, baseline: str, systems: Sequence[str] | None = None,
                    measures: Sequence[str] | None = None, *, seed: int = DEFAULT_SEED,
                    n_resamples: int = DEFAULT_RESAMPLES) -> list[Comparison]:
    """Each system against ``baseline`` on every dataset that has both; Holm per dataset+measure."""
    measures = list(measures or measures_in(frame))
    comparisons: list[Comparison] = []
    for dataset, rows in frame.groupby("dataset", sort=True):
        rerankers = list(dict.fromkeys(rows["reranker"]))
        if baseline not in rerankers:
            continue
        others = [r for r in (systems or rerankers) if r != baseline and r in rerankers]
        base_rows = rows[rows["reranker"] == baseline].set_index("query_id")
        for measure in measures:
            group = []
            for system in others:
                sys_rows = rows[rows["reranker"] == system].set_index("query_id")
                result = paired_comparison(
                    sys_rows[measure].dropna().to_dict(), base_rows[measure].dropna().to_dict(),
                    seed=seed, n_resamples=n_resamples)
                group.append((system, result))
            adjusted = holm([r.p_value for _, r in group])
            for (system, r), p_holm in zip(group, adjusted, strict=True):
                comparisons.append(_comparison(str(dataset), measure, system, baseline, r,
                                               p_holm))
    return comparisons


def compare_runs(new: pd.DataFrame, old: pd.DataFrame, measures: Sequence[str] | None = None,
                 *, seed: int = DEFAULT_SEED,
                 n_resamples: int = DEFAULT_RESAMPLES) -> list[Comparison]:
    """Each reranker of ``new`` against the same reranker in ``old``, paired by query.

    Holm-corrected across the rerankers compared on one dataset and measure.
    """
    measures = list(measures or [m for m in measures_in(new) if m in old.columns])
    comparisons: list[Comparison] = []
    for dataset, new_rows in new.groupby("dataset", sort=True):
        old_rows = old[old["dataset"] == dataset]
        shared = [r for r in dict.fromkeys(new_rows["reranker"]) if r in set(old_rows["reranker"])]
        for measure in measures:
            group = []
            for reranker in shared:
                a = new_rows[new_rows["reranker"] == reranker].set_index("query_id")[measure]
                b = old_rows[old_rows["reranker"] == reranker].set_index("query_id")[measure]
                if not set(a.dropna().index) & set(b.dropna().index):
                    continue
                result = paired_comparison(a.dropna().to_dict(), b.dropna().to_dict(),
                                           seed=seed, n_resamples=n_resamples)
                group.append((reranker, result))
            adjusted = holm([r.p_value for _, r in group])
            for (reranker, r), p_holm in zip(group, adjusted, strict=True):
                comparisons.append(_comparison(str(dataset), measure, reranker, reranker, r,
                                               p_holm))
    return comparisons


def _comparison(dataset: str, measure: str, system: str, baseline: str,
                r: PairedComparison, p_holm: float) -> Comparison:
    return Comparison(
        dataset=dataset, measure=measure, system=system, baseline=baseline,
        n_queries=r.n_queries, baseline_mean=r.baseline_mean, system_mean=r.system_mean,
        delta=r.delta, ci_low=r.ci_low, ci_high=r.ci_high, p_value=r.p_value, p_holm=p_holm,
        wins=r.wins, ties=r.ties, losses=r.losses, seed=r.seed, n_resamples=r.n_resamples,
    )


def differing_queries(new: pd.DataFrame, old: pd.DataFrame, dataset: str, reranker: str,
                      measure: str, tolerance: float = 1e-9) -> list[str]:
    """Query ids whose ``measure`` value changed between two runs of the same reranker."""
    a = new[(new["dataset"] == dataset) & (new["reranker"] == reranker)].set_index("query_id")
    b = old[(old["dataset"] == dataset) & (old["reranker"] == reranker)].set_index("query_id")
    common = sorted(set(a.index) & set(b.index))
    return [q for q in common if abs(float(a.at[q, measure]) - float(b.at[q, measure])) > tolerance]
