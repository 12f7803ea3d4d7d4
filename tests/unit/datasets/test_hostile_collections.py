"""Hostile collections (issue 10, rows 1, 13, 14): ids a TREC file cannot carry are
refused by name and place; a byte-order mark is not read into an id; whitespace-only
documents count as empty."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest
from support.sample_beir import CORPUS, QRELS_TEST, QUERIES, jsonl, tsv, write_sample_beir

from rerank_eval import datasets as ds
from rerank_eval.datasets.model import DatasetError


@pytest.mark.parametrize("bad_id", ["doc 6277638", "doc\t1", " ", "d\u00a01"])
def test_a_document_id_holding_whitespace_is_refused_naming_file_line_and_id(
        tmp_path: Path, bad_id: str) -> None:
    corpus = jsonl([*CORPUS[:2], {"_id": bad_id, "text": "x"}, *CORPUS[2:]])
    root = write_sample_beir(tmp_path / "c", corpus=corpus)
    with pytest.raises(DatasetError) as caught:
        ds.load_beir_folder(root)
    message = str(caught.value)
    assert "corpus.jsonl line 3" in message and repr(bad_id) in message
    assert "whitespace" in message


def test_an_empty_document_id_is_refused(tmp_path: Path) -> None:
    corpus = jsonl([*CORPUS, {"_id": "", "text": "x"}])
    root = write_sample_beir(tmp_path / "c", corpus=corpus)
    with pytest.raises(DatasetError, match=r"corpus.jsonl line 5: field '_id' is empty"):
        ds.load_beir_folder(root)


def test_a_query_id_holding_whitespace_is_refused(tmp_path: Path) -> None:
    queries = jsonl([*QUERIES, {"_id": "q 4", "text": "four"}])
    root = write_sample_beir(tmp_path / "c", queries=queries)
    with pytest.raises(DatasetError, match=r"queries.jsonl line 4: .*'q 4'.*whitespace"):
        ds.load_beir_folder(root)


def test_a_qrels_id_holding_whitespace_is_refused(tmp_path: Path) -> None:
    qrels = "query-id\tcorpus-id\tscore\nq1\td 1\t1\n"
    root = write_sample_beir(tmp_path / "c", qrels={"test": qrels})
    with pytest.raises(DatasetError, match=r"test.tsv line 2: field 'corpus-id': id 'd 1'"):
        ds.load_beir_folder(root)


def test_a_byte_order_mark_on_a_headerless_qrels_file_is_not_part_of_the_first_id(
        tmp_path: Path) -> None:
    root = write_sample_beir(tmp_path / "c", qrels={"test": tsv(QRELS_TEST, header=False)})
    path = root / "qrels" / "test.tsv"
    path.write_bytes(codecs.BOM_UTF8 + path.read_bytes())
    dataset = ds.load_beir_folder(root)
    assert set(dataset.qrels) == {"q1", "2"}
    assert dataset.qrels["q1"] == {"d1": 2, "2": 0}
    assert not [w for w in dataset.warnings if "unknown" in w]


def test_a_byte_order_mark_on_the_corpus_and_queries_is_dropped(tmp_path: Path) -> None:
    root = write_sample_beir(tmp_path / "c")
    for name in ("corpus.jsonl", "queries.jsonl"):
        path = root / name
        path.write_bytes(codecs.BOM_UTF8 + path.read_bytes())
    dataset = ds.load_beir_folder(root)
    assert "d1" in dataset.corpus and "q1" in dataset.queries


def test_whitespace_only_documents_count_as_empty(tmp_path: Path) -> None:
    corpus = jsonl([*CORPUS, {"_id": "d5", "title": " ", "text": "\n\t "},
                    {"_id": "d6", "title": "", "text": ""}])
    root = write_sample_beir(tmp_path / "c", corpus=corpus)
    dataset = ds.load_beir_folder(root)
    assert any("2 documents have neither title nor text" in w for w in dataset.warnings)


def test_sample_corpus_still_loads(tmp_path: Path) -> None:
    dataset = ds.load_beir_folder(write_sample_beir(tmp_path / "c"))
    assert json.dumps(sorted(dataset.corpus)) == '["2", "d1", "d3", "d4"]'
