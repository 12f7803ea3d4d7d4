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
from rerank_eval.store import FIRST_STAGE, RunFolder


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


# -- what two runs have in common ---------------------------------------------------------


@dataclass(frozen=True)
class PairedCell:
    """One dataset x reranker present in both runs: the queries each has and shares."""

    dataset: str
    reranker: str
    n_common: int
    n_new: int
    n_old: int


@dataclass
class Pairing:
    """What ``compare`` / ``check`` paired: cells in common, cells on one side, settings."""

    cells: list[PairedCell]
    only_new: list[tuple[str, str]]
    only_old: list[tuple[str, str]]
    differences: list[str]
    """Settings that differ: top-k, first stage, dataset fingerprint, spec/options."""
    fingerprint_mismatch: list[str]
    """Datasets whose fingerprint differs between the runs (both recorded one)."""
    paired: bool = True
    """False when one side has no per-query values (a bare summary.json): means only."""

    @property
    def empty(self) -> bool:
        if not self.paired:
            return not self.cells
        return not any(c.n_common for c in self.cells)

    def empty_reason(self, new: str = "this run", old: str = "the baseline") -> str:
        if not self.cells:
            return (f"no dataset × reranker is in both {new} and {old} "
                    f"({_cells_text(self.only_new) or 'none'} vs "
                    f"{_cells_text(self.only_old) or 'none'})")
        return (f"{new} and {old} share no query in "
                + ", ".join(f"{c.dataset} × {c.reranker}" for c in self.cells))

    def lines(self, new: str = "new", old: str = "old") -> list[str]:
        """The pairing report, one line per fact."""
        if self.paired:
            out = [f"{c.dataset} × {c.reranker}: {c.n_common} queries in common "
                   f"(of {c.n_new} in {new}, {c.n_old} in {old})" for c in self.cells]
        else:
            out = [f"{c.dataset} × {c.reranker}: not paired by query (means only): "
                   f"{c.n_new} queries in {new}, {c.n_old} in {old}" for c in self.cells]
        if self.only_new:
            out.append(f"only in {new}: {_cells_text(self.only_new)}")
        if self.only_old:
            out.append(f"only in {old}: {_cells_text(self.only_old)}")
        out += [f"differs: {d}" for d in self.differences]
        return out


def pair_runs(new: RunFolder, old: RunFolder) -> Pairing:
    """Which cells and queries two run folders share, and which settings differ."""
    new_queries = _queries_by_cell(new)
    old_queries = _queries_by_cell(old)
    cells = [PairedCell(d, r, len(new_queries[(d, r)] & old_queries[(d, r)]),
                        len(new_queries[(d, r)]), len(old_queries[(d, r)]))
             for d, r in new_queries if (d, r) in old_queries]
    differences: list[str] = []
    mismatch: list[str] = []
    old_datasets = {d.name: d for d in old.summary.datasets}
    for ds in new.summary.datasets:
        before = old_datasets.get(ds.name)
        if before is None:
            continue
        if ds.fingerprint and before.fingerprint and ds.fingerprint != before.fingerprint:
            mismatch.append(ds.name)
            differences.append(f"{ds.name}: dataset fingerprint {ds.fingerprint[:12]} vs "
                               f"{before.fingerprint[:12]}")
        a, b = ds.first_stage, before.first_stage
        if a.top_k != b.top_k:
            differences.append(f"{ds.name}: top-k {a.top_k} vs {b.top_k}")
        if a.method != b.method:
            differences.append(f"{ds.name}: first stage {a.method} vs {b.method}")
        for key in sorted(set(a.details) | set(b.details)):
            if key != "metrics" and a.details.get(key) != b.details.get(key):
                differences.append(f"{ds.name}: first stage {key} {a.details.get(key)!r} vs "
                                   f"{b.details.get(key)!r}")
    old_cells = {(c.dataset, c.reranker): c for c in old.summary.results}
    for cell in new.summary.results:
        before_cell = old_cells.get((cell.dataset, cell.reranker))
        if before_cell is not None and cell.spec and before_cell.spec \
                and cell.spec != before_cell.spec:
            differences.append(f"{cell.dataset} × {cell.reranker}: spec/options "
                               f"{cell.spec!r} vs {before_cell.spec!r}")
    paired = _has_rows(new) and _has_rows(old)

    def one_side(a: dict[tuple[str, str], set[str]],
                 b: dict[tuple[str, str], set[str]]) -> list[tuple[str, str]]:
        # Means only: the other side has no first-stage row to pair with, not a missing cell.
        return [k for k in a if k not in b and (paired or k[1] != FIRST_STAGE)]

    return Pairing(cells=cells, only_new=one_side(new_queries, old_queries),
                   only_old=one_side(old_queries, new_queries), differences=differences,
                   fingerprint_mismatch=mismatch, paired=paired)


def _has_rows(run: RunFolder) -> bool:
    return run.has_per_query and len(run.per_query) > 0


def _queries_by_cell(run: RunFolder) -> dict[tuple[str, str], set[str]]:
    """(dataset, reranker) -> its query ids; from summary.json's counts without per_query.csv."""
    cells: dict[tuple[str, str], set[str]] = {}
    if _has_rows(run):
        frame = run.per_query
        for (dataset, reranker), rows in frame.groupby(["dataset", "reranker"], sort=True):
            cells[(str(dataset), str(reranker))] = set(rows["query_id"].astype(str))
    for cell in run.summary.results:
        cells.setdefault((cell.dataset, cell.reranker),
                         {f"#{i}" for i in range(cell.n_queries)})
    return cells


def _cells_text(keys: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{d} × {r}" for d, r in keys)


def paired_differences(new: pd.DataFrame, old: pd.DataFrame, dataset: str, reranker: str,
                       measure: str) -> list[float]:
    """Per-query differences new - old of ``measure`` on the queries both runs have."""
    a = _values(new[new["dataset"] == dataset], reranker, measure)
    b = _values(old[old["dataset"] == dataset], reranker, measure)
    return [float(a[q]) - float(b[q]) for q in sorted(set(a) & set(b))]
