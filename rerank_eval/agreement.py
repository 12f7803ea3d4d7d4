"""Agreement between rankings: how alike two rerankers' orderings are, with or without labels.

Two measures, per query, over the rankings a run folder keeps
(``runs/<dataset>/<reranker>.trec`` and ``first-stage.trec``, read in trec_eval order):

- **top-k overlap**: ``|top-k(A) ∩ top-k(B)| / min(k, max(len(A), len(B)))`` — the share
  of the top k the two have in common. The denominator is k, or the longer list's length
  when both are shorter than k (a query with 6 candidates can share at most 6), so the
  value is 1 exactly when the two top-k *sets* are equal and a short list never looks
  like full agreement with a longer one.
- **rank-biased overlap** (Webber, Moffat & Zobel, "A similarity measure for indefinite
  rankings", ACM TOIS 28(4), 2010): the expected overlap proportion ``A_d = X_d / d`` at
  a depth d drawn with weights ``(1 - p) p^(d-1)``, so the top ranks weigh most
  (p = 0.9: the first 10 ranks carry 86% of the weight, the paper's Eq. 21). Finite
  lists give RBO_ext, the paper's point estimate that extrapolates the agreement seen at
  the end of the lists (its Equation 32, which covers lists of uneven length; Equation
  30 for equal lengths).

Agreement is not quality: two rerankers can agree and both be wrong, and a reranker
that agrees with the first stage has changed little. It is what a run can say about
rerankers when the dataset has no relevance labels.

RBO is written here (thirty lines over numpy, checked in the tests against hand-worked
values and against the definition's infinite sum) rather than taken from a package:
ir-measures' RBO compares a run with the qrels, not two runs with each other, and a new
dependency for thirty lines is not worth its upkeep.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np

from rerank_eval import atomic
from rerank_eval.records import FIRST_STAGE
from rerank_eval.stats import DEFAULT_SEED, bootstrap_mean_ci
from rerank_eval.store import RunFolder, read_run

DEPTH = 10
"""k of the top-k overlap."""
PERSISTENCE = 0.9
"""p of RBO: the probability that a reader of the ranking goes on to the next rank."""
CONFIDENCE = 0.95
RESAMPLES = 2_000
"""Bootstrap resamples per interval (many pairs per dataset: 2,000 keeps it quick)."""
AGREEMENT_FILE = "agreement.csv"
CSV_COLUMNS = ("dataset", "a", "b", "measure", "mean", "ci_low", "ci_high", "n_queries")


def overlap_name(k: int = DEPTH) -> str:
    return f"overlap@{k}"


def rbo_name(p: float = PERSISTENCE) -> str:
    return f"RBO(p={p:g})"


# -- the two measures, on one query's rankings ---------------------------------------------


def top_k_overlap(a: Sequence[str], b: Sequence[str], k: int = DEPTH) -> float:
    """Share of the top ``k`` that ``a`` and ``b`` (ids, best first) have in common.

    Divided by ``min(k, max(len(a), len(b)))``; two empty rankings agree (1.0), an empty
    one and a non-empty one do not (0.0).
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    _check_ranking(a)
    _check_ranking(b)
    depth = min(k, max(len(a), len(b)))
    if depth == 0:
        return 1.0
    return len(set(a[:k]) & set(b[:k])) / depth


def rbo(a: Sequence[str], b: Sequence[str], p: float = PERSISTENCE) -> float:
    """Extrapolated rank-biased overlap, RBO_ext (Webber et al. 2010, Eq. 32), of two
    rankings of distinct ids, best first, of possibly different lengths.

    With S the shorter list (length s), L the longer (length l) and ``X_d`` the number of
    ids both have within depth d (for d > s: S's s ids against L's first d)::

        RBO_ext = (1-p)/p · [ Σ_{d=1..l} X_d/d · p^d + Σ_{d=s+1..l} X_s (d-s) / (s d) · p^d ]
                  + [ (X_l - X_s)/l + X_s/s ] · p^l

    The second sum assumes S's unseen ids beyond s agree at its rate at s; the last term
    assumes the agreement at l holds for ever. Equal lengths reduce it to Eq. 30,
    ``(1-p)/p Σ X_d/d p^d + X_k/k p^k``: identical lists give 1, disjoint ones 0, and a
    list that is a prefix of the other gives 1. Two empty rankings give 1.0, an empty
    and a non-empty one 0.0.
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    _check_ranking(a)
    _check_ranking(b)
    if list(a) == list(b):
        return 1.0  # exactly: the closed form below can land a rounding error short of it
    if not a or not b:
        return 0.0
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    s, n = len(short), len(long)
    depth_in_long = {doc: d for d, doc in enumerate(long, start=1)}
    # an id both hold joins the overlap at the depth where the later of the two lists has it
    joins = np.zeros(n + 1, dtype=np.int64)
    for d, doc in enumerate(short, start=1):
        other = depth_in_long.get(doc)
        if other is not None:
            joins[max(d, other)] += 1
    x = np.cumsum(joins)[1:].astype(float)  # x[d - 1] = X_d, d = 1..l
    depth = np.arange(1, n + 1, dtype=float)
    weight = p ** depth
    x_s, x_l = x[s - 1], x[n - 1]
    seen = np.sum(x / depth * weight)
    beyond = depth[s:]
    extrapolated = np.sum(x_s * (beyond - s) / (s * beyond) * weight[s:])
    value = (1 - p) / p * (seen + extrapolated) + ((x_l - x_s) / n + x_s / s) * p ** n
    return float(min(1.0, max(0.0, value)))  # float rounding can step just past the bounds


def _check_ranking(ranking: Sequence[str]) -> None:
    if len(set(ranking)) != len(ranking):
        raise ValueError("a ranking must hold each id once")


# -- rankings of a run folder --------------------------------------------------------------


def dataset_rankings(run: RunFolder, dataset: str) -> dict[str, dict[str, list[str]]]:
    """system -> query id -> ranking for one dataset: the first stage, then each reranker
    of the run in summary order (those with no ranking on disk are left out)."""
    systems = {FIRST_STAGE: run.rankings(dataset, FIRST_STAGE)}
    for cell in run.summary.results:
        if cell.dataset == dataset and cell.reranker not in systems:
            rankings = run.rankings(dataset, cell.reranker)
            if rankings:
                systems[cell.reranker] = rankings
    if not systems[FIRST_STAGE]:
        del systems[FIRST_STAGE]
    return systems


# -- the pairwise table ---------------------------------------------------------------------


@dataclass(frozen=True)
class PairAgreement:
    """One measure of agreement between systems ``a`` and ``b`` on one dataset."""

    dataset: str
    a: str
    b: str
    measure: str
    mean: float
    ci_low: float
    ci_high: float
    n_queries: int
    """Queries both systems ranked (each with at least one document)."""

    def row(self) -> dict[str, object]:
        return {c: getattr(self, c) for c in CSV_COLUMNS}


def per_query(a: Mapping[str, Sequence[str]], b: Mapping[str, Sequence[str]], *,
              k: int = DEPTH, p: float = PERSISTENCE) -> dict[str, dict[str, float]]:
    """measure -> query id -> value, over the queries both rank (non-empty), sorted."""
    common = sorted(q for q in set(a) & set(b) if a[q] and b[q])
    return {overlap_name(k): {q: top_k_overlap(a[q], b[q], k) for q in common},
            rbo_name(p): {q: rbo(a[q], b[q], p) for q in common}}


def pairs(systems: Sequence[str]) -> list[tuple[str, str]]:
    """Each reranker against the first stage, then every pair of rerankers (in order)."""
    rerankers = [s for s in systems if s != FIRST_STAGE]
    against_first = [(r, FIRST_STAGE) for r in rerankers] if FIRST_STAGE in systems else []
    return against_first + list(combinations(rerankers, 2))


def pairwise_agreement(dataset: str, rankings: Mapping[str, Mapping[str, Sequence[str]]], *,
                       k: int = DEPTH, p: float = PERSISTENCE, confidence: float = CONFIDENCE,
                       n_resamples: int = RESAMPLES,
                       seed: int = DEFAULT_SEED) -> list[PairAgreement]:
    """Mean top-k overlap and RBO of every pair (:func:`pairs`), each with its percentile
    bootstrap CI over queries (seeded: the same rankings give the same numbers)."""
    rows = []
    for a, b in pairs(list(rankings)):
        for measure, values in per_query(rankings[a], rankings[b], k=k, p=p).items():
            series = list(values.values())
            low, high = bootstrap_mean_ci(series, confidence=confidence,
                                          n_resamples=n_resamples, seed=seed)
            rows.append(PairAgreement(
                dataset=dataset, a=a, b=b, measure=measure,
                mean=float(np.mean(series)) if series else float("nan"),
                ci_low=low, ci_high=high, n_queries=len(series)))
    return rows


def run_agreement(run: RunFolder | Path, *, k: int = DEPTH, p: float = PERSISTENCE,
                  n_resamples: int = RESAMPLES, seed: int = DEFAULT_SEED) -> list[PairAgreement]:
    """The pairwise table of every dataset of a run folder, datasets in summary order."""
    folder = run if isinstance(run, RunFolder) else read_run(Path(run))
    rows = []
    for dataset in folder.summary.datasets:
        rows += pairwise_agreement(dataset.name, dataset_rankings(folder, dataset.name), k=k,
                                   p=p, n_resamples=n_resamples, seed=seed)
    return rows


def write_agreement_csv(path: Path, rows: Sequence[PairAgreement]) -> None:
    """``agreement.csv`` (columns :data:`CSV_COLUMNS`), written atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: (repr(v) if isinstance(v, float) else v)
                         for c, v in row.row().items()})
    atomic.write_text(Path(path), buffer.getvalue())
