"""First stage on SciFact: BM25 top-100 reproduces the reference numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from rerank_eval.candidates import bm25_candidates
from rerank_eval.datasets import load_dataset
from rerank_eval.metrics import evaluate


@pytest.mark.shared_data
def test_bm25_reproduces_the_reference_on_scifact(shared_datasets: Path) -> None:
    dataset = load_dataset(shared_datasets / "scifact")
    candidates = bm25_candidates(dataset, top_k=100)
    assert len(candidates.by_query) == 300
    assert all(len(docs) == 100 for docs in candidates.by_query.values())
    result = evaluate(dataset.qrels, candidates.as_run(), ["nDCG@10", "RR@10", "R@100"])
    # shared/datasets/README.md: bm25s defaults + English stopwords, top-100.
    assert result.aggregate["nDCG@10"] == pytest.approx(0.662, abs=0.005)
    assert result.aggregate["RR@10"] == pytest.approx(0.631, abs=0.005)
    assert result.aggregate["R@100"] == pytest.approx(0.876, abs=0.005)


@pytest.mark.shared_data
def test_bm25_on_a_scifact_subset_matches_the_full_run(shared_datasets: Path) -> None:
    dataset = load_dataset(shared_datasets / "scifact")
    candidates = bm25_candidates(dataset, top_k=100)
    subset = sorted(dataset.queries)[:50]
    run = {q: candidates.as_run()[q] for q in subset}
    ndcg = evaluate({q: dataset.qrels[q] for q in subset}, run, ["nDCG@10"]).aggregate["nDCG@10"]
    assert 0.5 < ndcg < 0.85
