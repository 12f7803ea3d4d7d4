"""The synthetic BEIR generator: byte-identical for the same size and seed, a valid
collection the loader reads, queries BM25 can answer, a cache that notices damage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rerank_eval.candidates import bm25_candidates
from rerank_eval.datasets import load_dataset
from rerank_eval.testing.synthetic import (
    BLOCKED,
    MANIFEST,
    STOPWORDS,
    ensure_synthetic_beir,
    word,
    words,
    write_synthetic_beir,
)

FILES = ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv")
N_DOCS = 3_000


def _bytes(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in FILES}


@pytest.fixture(scope="module")
def collection(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_beir(tmp_path_factory.mktemp("synthetic") / "c", N_DOCS).folder


def test_same_size_and_seed_give_identical_files(collection: Path, tmp_path: Path) -> None:
    again = write_synthetic_beir(tmp_path / "again", N_DOCS).folder
    assert _bytes(again) == _bytes(collection)
    other_seed = write_synthetic_beir(tmp_path / "seed1", N_DOCS, seed=1).folder
    assert _bytes(other_seed)["corpus.jsonl"] != _bytes(collection)["corpus.jsonl"]
    # documents come in seeded blocks: a larger collection holds the same documents
    # (titles: query terms are planted in the texts of other documents at each size)
    larger = write_synthetic_beir(tmp_path / "larger", N_DOCS + 500).folder

    def titles(folder: Path) -> list[str]:
        with (folder / "corpus.jsonl").open() as handle:
            return [json.loads(line)["title"] for line in handle][:N_DOCS]

    assert titles(larger) == titles(collection)


def test_the_loader_reads_a_valid_collection(collection: Path) -> None:
    dataset = load_dataset(collection)
    assert len(dataset.corpus) == N_DOCS
    assert len(dataset.queries) == 50 and set(dataset.qrels) == set(dataset.queries)
    assert dataset.warnings == []
    grades = [g for docs in dataset.qrels.values() for g in docs.values()]
    assert grades.count(2) == 50 and set(grades) <= {1, 2}
    lines = (collection / "corpus.jsonl").read_text().splitlines()
    titles = [len(json.loads(line)["title"].split()) for line in lines]
    texts = [len(json.loads(line)["text"].split()) for line in lines]
    assert min(titles) >= 5 and max(titles) <= 15
    assert min(texts) >= 40 and max(texts) <= 250
    # the measurements: about 750 bytes of JSON a document
    assert 700 < (collection / "corpus.jsonl").stat().st_size / N_DOCS < 800


def test_each_query_s_key_terms_are_in_its_best_document(collection: Path) -> None:
    dataset = load_dataset(collection)
    candidates = bm25_candidates(dataset, 100)
    for query_id, judged in dataset.qrels.items():
        best = next(d for d, g in judged.items() if g == 2)
        keys = [w for w in dataset.queries[query_id].split() if w not in STOPWORDS]
        assert len(keys) >= 3
        assert set(keys) <= set(dataset.corpus[best].text.lower().split())
        ranked = [d for d, _ in candidates.by_query[query_id]]
        assert best in ranked[:10], (query_id, ranked.index(best) if best in ranked else None)


def test_ranks_spell_distinct_words() -> None:
    ranks = np.unique(np.concatenate([np.arange(20_000), np.arange(0, 1 << 23, 997),
                                      [9024, 9025, 857_374, 857_375, (1 << 23) - 1]]))
    spelled = words(ranks)
    assert len(set(spelled)) == len(spelled) == len(ranks)
    assert all(w.isalpha() and w.islower() and 4 <= len(w) <= 8 for w in spelled)
    assert not set(spelled) & {*STOPWORDS, *BLOCKED}
    assert [word(int(r)) for r in ranks[:5]] == spelled[:5]


def test_a_cached_collection_is_verified_before_reuse(tmp_path: Path) -> None:
    first, reused = ensure_synthetic_beir(tmp_path, 500)
    assert not reused and (first.folder / MANIFEST).is_file()
    again, reused = ensure_synthetic_beir(tmp_path, 500)
    assert reused and again.files == first.files
    corpus = first.folder / "corpus.jsonl"
    data = bytearray(corpus.read_bytes())
    data[100] ^= 0x01  # same size, other bytes: only the checksum can tell
    corpus.write_bytes(bytes(data))
    rebuilt, reused = ensure_synthetic_beir(tmp_path, 500)
    assert not reused and rebuilt.files == first.files
    assert corpus.read_bytes() != bytes(data)


def test_bad_sizes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="n_docs"):
        write_synthetic_beir(tmp_path, 0)
    with pytest.raises(ValueError, match="n_queries"):
        write_synthetic_beir(tmp_path, 10, n_queries=11)
