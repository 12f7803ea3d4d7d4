"""The memory-mapped corpus store: a Mapping like the dict it replaces, chunked streaming,
duplicate ids found across batches in file order, and ids whose keys collide."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
from support.sample_beir import isolate_datasets, jsonl, write_sample_beir

from rerank_eval.datasets import (
    ArrowCorpus,
    CorpusDocument,
    Dataset,
    DatasetError,
    MemoryCorpus,
    corpus_build,
    corpus_store,
    load_beir_folder,
)


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_datasets(tmp_path, monkeypatch)


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Record batches of 3 documents, so a dozen documents span several."""
    monkeypatch.setattr(corpus_build, "BATCH_ROWS", 3)


def docs(n: int) -> list[dict]:
    return [{"_id": f"d{i}", "title": f"T{i}" if i % 3 else "", "text": f"text {i}"}
            for i in range(n)]


def folder_with(tmp_path: Path, rows: list[dict], name: str = "c") -> Path:
    return write_sample_beir(tmp_path / name, corpus=jsonl(rows),
                             qrels={"test": "query-id\tcorpus-id\tscore\nq1\td1\t1\n"})


def test_round_trip_keeps_documents_and_file_order(tmp_path: Path, small_batches: None) -> None:
    rows = docs(10)
    corpus = load_beir_folder(folder_with(tmp_path, rows)).corpus

    assert isinstance(corpus, ArrowCorpus)
    assert len(corpus) == 10
    assert list(corpus) == [r["_id"] for r in rows]
    expected = {r["_id"]: CorpusDocument(r["_id"], r["title"], r["text"]) for r in rows}
    assert dict(corpus.items()) == expected
    assert list(corpus.values()) == list(expected.values())
    assert corpus == MemoryCorpus(expected)
    assert all(corpus[d] == doc for d, doc in expected.items())
    assert [corpus.row_of(d) for d in ("d0", "d4", "d9")] == [0, 4, 9]


def test_missing_ids_raise_key_error(tmp_path: Path) -> None:
    corpus = load_beir_folder(write_sample_beir(tmp_path / "c")).corpus

    with pytest.raises(KeyError, match="nope"):
        corpus["nope"]
    assert "nope" not in corpus and 2 not in corpus  # the int id was stored as "2"
    assert "2" in corpus
    assert corpus.get("nope") is None and corpus.row_of("nope") is None
    with pytest.raises(KeyError, match="nope"):
        corpus.texts(["d1", "nope"])


def test_iter_texts_chunks_in_corpus_order_across_batches(tmp_path: Path,
                                                          small_batches: None) -> None:
    corpus = load_beir_folder(folder_with(tmp_path, docs(10))).corpus

    chunks = list(corpus.iter_texts(4))

    assert [len(ids) for ids, _ in chunks] == [4, 4, 2]
    assert [d for ids, _ in chunks for d in ids] == list(corpus)
    assert [t for _, texts in chunks for t in texts] == [doc.full_text for doc in corpus.values()]
    assert chunks[0][1][:2] == ["text 0", "T1 text 1"]  # an empty title adds no space
    with pytest.raises(ValueError, match="batch_size"):
        next(corpus.iter_texts(0))


def test_texts_follow_the_order_asked(tmp_path: Path, small_batches: None) -> None:
    corpus = load_beir_folder(folder_with(tmp_path, docs(10))).corpus

    assert corpus.texts(["d8", "d0", "d4"]) == ["T8 text 8", "text 0", "T4 text 4"]
    assert corpus.texts([]) == []


def test_a_memory_corpus_offers_the_same_interface() -> None:
    rows = {f"d{i}": CorpusDocument(f"d{i}", "", f"text {i}") for i in range(5)}
    dataset = Dataset(name="py", split="test", corpus=rows, queries={}, qrels={}, path=None,
                      fingerprint="")

    assert isinstance(dataset.corpus, MemoryCorpus)
    assert [ids for ids, _ in dataset.corpus.iter_texts(2)] == [["d0", "d1"], ["d2", "d3"],
                                                                 ["d4"]]
    assert dataset.corpus.texts(["d3"]) == ["text 3"]
    assert dataset.corpus.row_of("d3") == 3 and dataset.corpus.row_of("x") is None


def test_lone_surrogates_survive_the_store(tmp_path: Path, small_batches: None) -> None:
    # valid JSON ("\ud800" escapes), not valid UTF-8: Arrow cannot hold these strings
    rows = [*docs(4), {"_id": "s\ud800", "title": "t\udfff", "text": "x"}, *docs(8)[5:]]
    corpus = load_beir_folder(folder_with(tmp_path, rows)).corpus

    assert corpus["s\ud800"] == CorpusDocument("s\ud800", "t\udfff", "x")
    assert list(corpus)[4] == "s\ud800"
    assert [t for _, texts in corpus.iter_texts(3) for t in texts][4] == "t\udfff x"
    assert corpus.texts(["d5", "s\ud800"]) == ["T5 text 5", "t\udfff x"]


def test_colliding_id_keys_are_told_apart(tmp_path: Path, small_batches: None,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Every id gets the same 64-bit key: loading must not call them duplicates, and each
    lookup must still find its own document."""
    monkeypatch.setattr(corpus_store, "id_key", lambda doc_id: 7)
    rows = docs(10)
    corpus = load_beir_folder(folder_with(tmp_path, rows)).corpus

    assert [corpus[r["_id"]].text for r in rows] == [r["text"] for r in rows]
    assert "d10" not in corpus


def test_a_duplicate_in_an_earlier_batch_names_both_lines(tmp_path: Path,
                                                          small_batches: None) -> None:
    rows = [*docs(7), {"_id": "d1", "text": "again"}, *docs(10)[7:]]
    with pytest.raises(DatasetError, match=r"corpus.jsonl line 8: duplicate _id 'd1' "
                                           r"\(first at line 2\)"):
        load_beir_folder(folder_with(tmp_path, rows))


@pytest.mark.parametrize("later", ['{"_id": "d9", "text": ', '{"title": "no id"}',
                                   '{"_id": "d0", "text": "a third time"}'],
                         ids=["bad-json", "missing-id", "in-batch-duplicate"])
def test_errors_come_in_file_order(tmp_path: Path, small_batches: None, later: str) -> None:
    """Line 7 repeats line 1's id (an earlier batch); line 8 (same batch) is bad too: the
    duplicate, earlier in the file, is the error, as with the in-memory loader."""
    text = jsonl(docs(6)) + json.dumps({"_id": "d0", "text": "again"}) + "\n" + later + "\n"
    folder = write_sample_beir(tmp_path / "c", corpus=text)
    with pytest.raises(DatasetError, match=r"line 7: duplicate _id 'd0' \(first at line 1\)"):
        load_beir_folder(folder)


def test_the_store_pickles_by_folder(tmp_path: Path) -> None:
    corpus = load_beir_folder(write_sample_beir(tmp_path / "c")).corpus
    assert isinstance(corpus, ArrowCorpus)

    copy = pickle.loads(pickle.dumps(corpus))

    assert copy.folder == corpus.folder and dict(copy.items()) == dict(corpus.items())
    assert len(pickle.dumps(corpus)) < 1000  # the folder, not the documents
