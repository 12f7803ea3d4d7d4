"""Every reranker against a baseline, per dataset and measure, from per-query tables.

Used by the reports (a leaderboard with confidence intervals and significance marks),
by ``rerank-eval compare`` (two runs paired by query) and ``rerank-eval check``
(a failing exit code on a significant regression).

The measures to compare are always given: a run folder declares which columns of its
per_query.csv are measures (:attr:`rerank_eval.store.RunFolder.measures`).
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


@dataclass(frozen=True)
class Comparison(PairedComparison):
    """A paired comparison, with what was compared and its Holm-corrected p-value."""

    dataset: str
    measure: str
    system: str
    baseline: str
    p_holm: float

    def significant(self, alpha: float = 0.05) -> bool:
        return self.p_holm < alpha


def compare_systems(frame: pd.DataFrame, baseline: str, measures: Sequence[str],
                    systems: Sequence[str] | None = None, *, seed: int = DEFAULT_SEED,
                    n_resamples: int = DEFAULT_RESAMPLES) -> list[Comparison]:
    """Each system against ``baseline`` on every dataset that has both; Holm per dataset+measure."""
    comparisons: list[Comparison] = []
    for dataset, rows in frame.groupby("dataset", sort=True):
        rerankers = list(dict.fromkeys(rows["reranker"]))
        if baseline not in rerankers:
            continue
        others = [r for r in (systems or rerankers) if r != baseline and r in rerankers]
        for measure in measures:
            pairs = [(system, baseline, _values(rows, system, measure),
                      _values(rows, baseline, measure)) for system in others]
            comparisons += _tested_group(str(dataset), measure, pairs, seed, n_resamples)
    return comparisons


def compare_runs(new: pd.DataFrame, old: pd.DataFrame, measures: Sequence[str],
                 *, seed: int = DEFAULT_SEED,
                 n_resamples: int = DEFAULT_RESAMPLES) -> list[Comparison]:
    """Each reranker of ``new`` against the same reranker in ``old``, paired by query.

    Holm-corrected across the rerankers compared on one dataset and measure. A measure
    missing from either frame is an error (ValueError), not a silent skip.
    """
    for name, frame in (("new", new), ("old", old)):
        missing = [m for m in measures if m not in frame.columns]
        if missing:
            raise ValueError(f"the {name} run has no per-query values of {', '.join(missing)}")
    comparisons: list[Comparison] = []
    for dataset, new_rows in new.groupby("dataset", sort=True):
        old_rows = old[old["dataset"] == dataset]
        old_names = set(old_rows["reranker"])
        shared = [r for r in dict.fromkeys(new_rows["reranker"]) if r in old_names]
        for measure in measures:
            pairs = [(reranker, reranker, _values(new_rows, reranker, measure),
                      _values(old_rows, reranker, measure)) for reranker in shared]
            comparisons += _tested_group(str(dataset), measure, pairs, seed, n_resamples)
    return comparisons


def _values(rows: pd.DataFrame, reranker: str, measure: str) -> dict[str, float]:
    """One reranker's per-query values of ``measure`` (queries without a value left out)."""
    return rows[rows["reranker"] == reranker].set_index("query_id")[measure].dropna().to_dict()


def _tested_group(dataset: str, measure: str,
                  pairs: Sequence[tuple[str, str, dict[str, float], dict[str, float]]],
                  seed: int, n_resamples: int) -> list[Comparison]:
    """Test each (system, baseline, values, baseline values); Holm across the group."""
    tested = [(system, baseline, paired_comparison(values, base_values, seed=seed,
                                                   n_resamples=n_resamples))
              for system, baseline, values, base_values in pairs
              if set(values) & set(base_values)]
    adjusted = holm([result.p_value for *_, result in tested])
    return [_comparison(dataset, measure, system, baseline, result, p_holm)
            for (system, baseline, result), p_holm in zip(tested, adjusted, strict=True)]


def _comparison(dataset: str, measure: str, system: str, baseline: str,
                r: PairedComparison, p_holm: float) -> Comparison:
    return Comparison(**asdict(r), dataset=dataset, measure=measure, system=system,
                      baseline=baseline, p_holm=p_holm)


def differing_queries(new: pd.DataFrame, old: pd.DataFrame, dataset: str, reranker: str,
                      measure: str, tolerance: float = 1e-9) -> list[str]:
    """Query ids whose ``measure`` value changed between two runs of the same reranker."""
    a = new[(new["dataset"] == dataset) & (new["reranker"] == reranker)].set_index("query_id")
    b = old[(old["dataset"] == dataset) & (old["reranker"] == reranker)].set_index("query_id")
    common = sorted(set(a.index) & set(b.index))
    return [q for q in common if abs(float(a.at[q, measure]) - float(b.at[q, measure])) > tolerance]
