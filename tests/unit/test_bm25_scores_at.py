"""``BM25Index.scores_at``: the candidates' scores without scoring the whole corpus, bit for
bit what ``scores`` gives at those positions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rerank_eval.bm25_index import BM25Config, BM25Index, postings_sorted

WORDS = [f"w{i}" for i in range(400)] + ["the", "of", "and", "a", "to"]


def random_texts(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, len(WORDS) + 1)  # Zipf-like: a few long posting lists
    weights /= weights.sum()
    return [" ".join(rng.choice(WORDS, size=int(rng.integers(0, 40)), p=weights))
            for _ in range(n)]


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and np.array_equal(a.view(np.uint32), b.view(np.uint32))


@pytest.mark.parametrize("method", ["lucene", "robertson", "bm25l", "bm25+"])
def test_scores_at_equals_scores_bit_for_bit(method: str) -> None:
    index = BM25Index(random_texts(3_000, seed=1), BM25Config(method=method))
    rng = np.random.default_rng(2)
    queries = [*random_texts(40, seed=3), "w0 w0 w1 the", "nothing-here", "", "w399 w5"]
    for query in queries:
        positions = rng.choice(index.size, size=100, replace=False)
        full = index.scores(query)
        assert same_bits(index.scores_at(query, positions), full[positions]), query
    assert same_bits(index.scores_at("w3", []), np.zeros(0, dtype=np.float32))


def test_a_loaded_memory_mapped_index_scores_the_same(tmp_path: Path) -> None:
    built = BM25Index(random_texts(2_000, seed=4))
    built.save(tmp_path / "index")
    loaded = BM25Index.load(tmp_path / "index", built.config, mmap=True)
    positions = np.arange(0, 2_000, 7)
    for query in random_texts(20, seed=5):
        assert same_bits(loaded.scores_at(query, positions), built.scores(query)[positions])


def test_unsorted_posting_lists_are_found_and_scored_the_long_way() -> None:
    index = BM25Index(random_texts(500, seed=6))
    scores = index._model.scores
    indices, indptr, data = scores["indices"], scores["indptr"], scores["data"]
    assert postings_sorted(indices, indptr)
    assert postings_sorted(indices, indptr, chunk=7)  # list boundaries inside and across chunks
    longest = int(np.argmax(np.diff(indptr)))
    start, end = int(indptr[longest]), int(indptr[longest + 1])
    indices[start:end] = indices[start:end][::-1].copy()  # same postings, descending
    data[start:end] = data[start:end][::-1].copy()
    assert not postings_sorted(indices, indptr)
    assert not postings_sorted(indices, indptr, chunk=7)
    fresh = BM25Index.__new__(BM25Index)
    fresh._setup(index._model, index.config)  # the check is cached per index
    query = next(word for word, token_id in index._model.vocab_dict.items()
                 if token_id == longest)  # the token whose list was reversed
    positions = np.arange(500)
    assert same_bits(fresh.scores_at(query, positions), fresh.scores(query)[positions])
    assert fresh.scores_at(query, positions).any()
