"""The real shared collections load with their published sizes (``$RERANK_EVAL_DATASETS``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rerank_eval.datasets import load_dataset


@pytest.mark.shared_data
def test_shared_scifact(shared_datasets: Path) -> None:
    root = shared_datasets
    dataset = load_dataset("scifact", datasets_dir=root, download=False)

    assert len(dataset.corpus) == 5183
    assert len(dataset.queries) == 300
    assert dataset.n_judgments == 339
    assert {score for docs in dataset.qrels.values() for score in docs.values()} == {1}
    assert dataset.warnings == []
    assert all(isinstance(doc_id, str) for doc_id in dataset.corpus)


@pytest.mark.shared_data
def test_shared_cranfield(shared_datasets: Path) -> None:
    root = shared_datasets
    dataset = load_dataset("cranfield", datasets_dir=root, download=False)

    assert len(dataset.corpus) == 1400
    assert len(dataset.queries) == 225
    assert dataset.n_judgments == 1612
    assert {score for docs in dataset.qrels.values() for score in docs.values()} == {1, 2, 3, 4}
