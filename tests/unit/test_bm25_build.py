"""The streamed BM25 build equals bm25s's one-shot ``BM25.index``, bit for bit."""

from __future__ import annotations

import json
from pathlib import Path

import bm25s
import numpy as np
import pytest

import rerank_eval.bm25_build as bm25_build
from rerank_eval.bm25_build import make_stemmer
from rerank_eval.bm25_index import BM25Config, BM25Index, chunked
from rerank_eval.testing.synthetic import write_synthetic_beir


def synthetic_texts(folder: Path, n_docs: int) -> tuple[list[str], list[str]]:
    collection = write_synthetic_beir(folder, n_docs, n_queries=20)
    texts = []
    with (collection.folder / "corpus.jsonl").open() as handle:
        for line in handle:
            doc = json.loads(line)
            texts.append(f"{doc['title']} {doc['text']}".strip())
    with (collection.folder / "queries.jsonl").open() as handle:
        queries = [json.loads(line)["text"] for line in handle]
    return texts, queries


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], list[str]]:
    texts, queries = synthetic_texts(tmp_path_factory.mktemp("synthetic"), 3000)
    # what real corpora have: empty documents, stopword-only ones, repeated words
    texts[5] = ""
    texts[17] = "the of and"
    texts[99] = "Repeat repeat REPEAT repeat " + texts[99]
    return texts, [*queries, "the of", "nothing-in-the-vocabulary-zzqx"]


def one_shot(texts: list[str], config: BM25Config):
    model = bm25s.BM25(k1=config.k1, b=config.b, method=config.method)
    model.index(bm25s.tokenize(texts, stopwords=config.stopwords or [],
                               stemmer=make_stemmer(config.stemmer), show_progress=False),
                show_progress=False)
    return model


def assert_same_matrix(streamed, reference) -> None:
    """Same vocabulary, and each term's column holds the same documents with the same
    float32 scores (term ids may differ: they are assigned in another order)."""
    assert streamed.vocab_dict.keys() == reference.vocab_dict.keys()
    s, r = streamed.scores, reference.scores
    assert s["num_docs"] == r["num_docs"]
    assert len(s["data"]) == len(r["data"])
    for term, sid in streamed.vocab_dict.items():
        if term == "":
            continue
        rid = reference.vocab_dict[term]
        a = slice(s["indptr"][sid], s["indptr"][sid + 1])
        b = slice(r["indptr"][rid], r["indptr"][rid + 1])
        assert np.array_equal(s["indices"][a], r["indices"][b]), term
        assert s["data"][a].tobytes() == r["data"][b].tobytes(), term
    assert s["data"].dtype == r["data"].dtype and s["indices"].dtype == r["indices"].dtype


@pytest.mark.parametrize("config", [
    BM25Config(),
    BM25Config(stemmer="english"),
    BM25Config(stopwords=None, k1=1.2, b=0.5),
    BM25Config(method="bm25+"),
    BM25Config(method="atire", stemmer="english"),
])
def test_streamed_index_equals_one_shot(corpus, config: BM25Config) -> None:
    texts, queries = corpus
    reference = one_shot(texts, config)
    streamed = BM25Index.from_chunks(chunked(texts, 701), config)
    assert_same_matrix(streamed._model, reference)
    tokens = bm25s.tokenize(queries, stopwords=config.stopwords or [],
                            stemmer=make_stemmer(config.stemmer), show_progress=False,
                            return_ids=False)
    for query, query_tokens in zip(queries, tokens, strict=True):
        expected = reference.get_scores(query_tokens) if query_tokens else \
            np.zeros(len(texts), np.float32)
        assert streamed.scores(query).tobytes() == expected.tobytes(), query


def test_chunk_size_changes_nothing(corpus) -> None:
    texts, queries = corpus
    whole = BM25Index(texts)
    for size in (1, 7, 1000):
        chunks = BM25Index.from_chunks(chunked(texts[:300], size))
        again = BM25Index.from_chunks([texts[:300]])
        for name in ("data", "indices", "indptr"):
            assert np.array_equal(chunks._model.scores[name], again._model.scores[name])
        assert chunks._model.vocab_dict == again._model.vocab_dict
    assert whole.search(queries[:5], 10) == BM25Index.from_chunks(
        chunked(texts, 999)).search(queries[:5], 10)


def test_numpy1_path_bm25s_own_loop_gives_the_same_scores(corpus, monkeypatch) -> None:
    """Under NumPy 1 the build scores with bm25s's per-document loop (see _VECTOR_EXACT):
    forced here, it must give the same arrays as the vectorised path."""
    texts, _ = corpus
    for config in (BM25Config(), BM25Config(method="bm25l", stemmer="english")):
        vectorised = BM25Index.from_chunks(chunked(texts[:1200], 500), config)._model.scores
        monkeypatch.setattr(bm25_build, "_VECTOR_EXACT", False)
        looped = BM25Index.from_chunks(chunked(texts[:1200], 500), config)._model.scores
        monkeypatch.setattr(bm25_build, "_VECTOR_EXACT", True)
        for name in ("data", "indices", "indptr"):
            assert looped[name].tobytes() == vectorised[name].tobytes()


def test_save_and_mmap_load_round_trip(corpus, tmp_path: Path) -> None:
    texts, queries = corpus
    config = BM25Config(stemmer="english")
    built = BM25Index.from_chunks(chunked(texts, 1000), config)
    built.save(tmp_path / "index")
    loaded = BM25Index.load(tmp_path / "index", config, mmap=True)
    assert isinstance(loaded._model.scores["data"], np.memmap)
    assert loaded.size == built.size == len(texts)
    assert loaded.search(queries, 100) == built.search(queries, 100)
    for query in queries:
        assert loaded.scores(query).tobytes() == built.scores(query).tobytes()


def test_edge_cases_empty_documents_and_no_vocabulary() -> None:
    index = BM25Index(["", "the of", ""])  # no token at all: every score is 0
    assert index.size == 3
    assert index.scores("anything").tolist() == [0.0, 0.0, 0.0]
    assert BM25Index([]).size == 0
    assert BM25Index([]).search(["query"], 5) == [[]]
    small = BM25Index.from_chunks([[], ["apple pie"], [], ["apple tart", "pear"]])
    assert small.size == 3
    assert [p for p, _ in small.search(["apple"], 3)[0]] == [0, 1, 2]
    assert small.search(["the"], 3) == [[]]  # stopwords only: nothing to search for


@pytest.mark.slow
def test_streamed_equals_one_shot_on_20k_documents(tmp_path: Path) -> None:
    texts, queries = synthetic_texts(tmp_path, 20_000)
    config = BM25Config()
    reference = one_shot(texts, config)
    streamed = BM25Index.from_chunks(chunked(texts, 4096), config)
    assert_same_matrix(streamed._model, reference)
    tokens = bm25s.tokenize(queries, stopwords="en", show_progress=False, return_ids=False)
    for query, query_tokens in zip(queries, tokens, strict=True):
        assert streamed.scores(query).tobytes() == reference.get_scores(query_tokens).tobytes()
