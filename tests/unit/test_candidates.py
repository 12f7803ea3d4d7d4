"""First stage on a toy collection: BM25 candidates, run-file candidates and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.beir import toy_dataset

from rerank_eval.candidates import CandidatesError, bm25_candidates, run_file_candidates
from rerank_eval.corpus_index import CorpusIndexes
from rerank_eval.datasets import load_dataset


def test_bm25_candidates_rank_topical_documents_first(tmp_path: Path) -> None:
    dataset = load_dataset(toy_dataset(tmp_path / "toy"))
    candidates = bm25_candidates(dataset, top_k=10)
    for query_id, docs in candidates.by_query.items():
        topic = next(iter(dataset.qrels[query_id])).split("-")[0]
        assert docs[0][0].startswith(topic)
        assert [s for _, s in docs] == sorted((s for _, s in docs), reverse=True)


def test_run_file_candidates_are_cut_in_trec_eval_order(tmp_path: Path) -> None:
    dataset = load_dataset(toy_dataset(tmp_path / "toy"))
    run = tmp_path / "run.trec"
    run.write_text("q00 Q0 bread-01 1 5.0 x\nq00 Q0 bread-00 2 5.0 x\nq00 Q0 bread-02 3 9.0 x\n")
    candidates = run_file_candidates(run, dataset, top_k=2)
    assert [d for d, _ in candidates.by_query["q00"]] == ["bread-02", "bread-01"]
    assert any("have no candidates" in w for w in candidates.warnings)


@pytest.mark.parametrize(("content", "message"), [
    ("q00 Q0 bread-01 1 5.0\n", "line 1: expected 6 columns"),
    ("q00 Q0 bread-01 1 5.0 x\nq00 Q0 bread-02 2 high x\n", "line 2: score 'high'"),
    ("q00 Q0 bread-01 1 5.0 x\nq00 Q0 bread-01 2 4.0 x\n", "line 2: document 'bread-01' appears"),
    ("nope Q0 bread-01 1 5.0 x\n", "no query id matches"),
])
def test_bad_run_files_name_the_line(tmp_path: Path, content: str, message: str) -> None:
    dataset = load_dataset(toy_dataset(tmp_path / "toy"))
    run = tmp_path / "bad.trec"
    run.write_text(content)
    with pytest.raises(CandidatesError, match=message) as info:
        run_file_candidates(run, dataset, top_k=10)
    assert "bad.trec" in str(info.value)


def test_unknown_documents_in_a_run_file_are_counted_and_skipped(tmp_path: Path) -> None:
    dataset = load_dataset(toy_dataset(tmp_path / "toy"))
    run = tmp_path / "run.trec"
    run.write_text("q00 Q0 bread-01 1 5.0 x\nq00 Q0 ghost 2 4.0 x\nq00 Q0 ghost2 3 3.0 x\n")
    candidates = run_file_candidates(run, dataset, top_k=10)
    assert candidates.by_query["q00"] == [("bread-01", 5.0)]
    assert any("2 lines name 2 documents not in the corpus" in w for w in candidates.warnings)


def test_queries_with_nothing_to_search_for_get_no_candidates_and_are_named(
        tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    with (data / "queries.jsonl").open("a") as handle:
        handle.write('{"_id": "qp", "text": "?!"}\n{"_id": "qb", "text": ""}\n')
    with (data / "qrels" / "test.tsv").open("a") as handle:
        handle.write("qp\tbread-00\t1\nqb\tbread-00\t1\n")
    dataset = load_dataset(data)
    candidates = bm25_candidates(dataset, top_k=5)
    assert "qp" not in candidates.by_query and "qb" not in candidates.by_query
    assert len(candidates.by_query["q00"]) == 5
    assert any("'qb', 'qp'" in w and "nothing to search for" in w for w in candidates.warnings)
    # from the artifact cache: the same candidates, and the same warnings
    indexes = CorpusIndexes(load_dataset(data))
    again = bm25_candidates(indexes.dataset, top_k=5, indexes=indexes)
    assert indexes.builds == 0 and indexes.cache.builds == {}
    assert again == candidates


def test_cached_candidates_are_keyed_by_queries_and_top_k(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    first = bm25_candidates(load_dataset(data), top_k=5)
    indexes = CorpusIndexes(load_dataset(data))
    deeper = bm25_candidates(indexes.dataset, top_k=8, indexes=indexes)
    assert indexes.cache.builds == {"candidates": 1}  # searched again; the index reused
    assert [d[:5] for d in deeper.by_query.values()] == list(first.by_query.values())
    with (data / "queries.jsonl").open("a") as handle:
        handle.write('{"_id": "qnew", "text": "telescope orbit"}\n')
    indexes = CorpusIndexes(load_dataset(data))
    bm25_candidates(indexes.dataset, top_k=5, indexes=indexes)
    # another query set: searched again (and another fingerprint: indexed again)
    assert indexes.cache.builds == {"candidates": 1, "bm25-index": 1}


def test_a_byte_order_mark_on_a_run_file_is_not_part_of_the_first_query_id(
        tmp_path: Path) -> None:
    dataset = load_dataset(toy_dataset(tmp_path / "toy"))
    run = tmp_path / "run.trec"
    run.write_bytes(b"\xef\xbb\xbfq00 Q0 bread-01 1 5.0 x\n")
    candidates = run_file_candidates(run, dataset, top_k=2)
    assert list(candidates.by_query) == ["q00"]
