"""Qrels files replacing a dataset's judgments (``--qrels``): the pool's table, TSV,
BEIR's columns, TREC qrels; the fingerprint; errors that name file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.sample_beir import isolate_datasets, write_sample_beir

from rerank_eval.datasets import DatasetError, load_dataset
from rerank_eval.datasets.candidate_files import content_id
from rerank_eval.datasets.qrels_file import read_qrels_file, with_qrels_file


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_datasets(tmp_path, monkeypatch)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def candidates(folder: Path) -> Path:
    rows = [{"query_id": "q1", "query": "alpha", "documents": [{"id": "d1", "text": "a"},
                                                               {"id": "d2", "text": "b"}]},
            {"query_id": "q2", "query": "beta", "documents": [{"id": "d3", "text": "c"}]}]
    return write(folder, "c.jsonl", "".join(json.dumps(r) + "\n" for r in rows))


POOL = ("query_id,query,doc_id,document,label\n"
        "q1,alpha,d1,a,2\n"
        "q1,alpha,d2,\"b, with a comma\",\n"
        "q2,beta,d3,c,0\n")


def test_the_pool_table_replaces_the_judgments(tmp_path: Path) -> None:
    dataset = load_dataset(candidates(tmp_path), qrels=write(tmp_path, "labels.csv", POOL))

    assert dataset.qrels == {"q1": {"d1": 2}, "q2": {"d3": 0}}  # the empty label: unjudged
    assert any("judgments from" in w and "labels.csv" in w for w in dataset.warnings)
    assert any("1 rows with an empty label" in w for w in dataset.warnings)
    assert not any("no labels" in w for w in dataset.warnings)  # the file's note is gone
    assert any("nDCG's ideal ranking" in w for w in dataset.warnings)


def test_the_fingerprint_covers_the_qrels_file(tmp_path: Path) -> None:
    plain = load_dataset(candidates(tmp_path))
    one = load_dataset(candidates(tmp_path), qrels=write(tmp_path, "a.csv", POOL))
    same = load_dataset(candidates(tmp_path), qrels=write(tmp_path, "b.csv", POOL))
    other = load_dataset(candidates(tmp_path),
                         qrels=write(tmp_path, "c.csv", POOL.replace(",2\n", ",1\n")))

    assert len({plain.fingerprint, one.fingerprint, other.fingerprint}) == 3
    assert one.fingerprint == same.fingerprint


@pytest.mark.parametrize("text", [
    "query_id\tdoc_id\tlabel\tnote\nq1\td1\t2\tx\nq2\td3\t0\ty\n",
    "query-id\tcorpus-id\tscore\nq1\td1\t2\nq2\td3\t0\n",  # BEIR's qrels/<split>.tsv
    "q1 0 d1 2\n\nq2 0 d3 0\n",  # TREC
    "\ufeffq1\t0\td1\t2\nq2 Q0 d3 0\n",
])
def test_tsv_beir_and_trec_qrels(tmp_path: Path, text: str) -> None:
    dataset = load_dataset(candidates(tmp_path), qrels=write(tmp_path, "q.txt", text))
    assert dataset.qrels == {"q1": {"d1": 2}, "q2": {"d3": 0}}


def test_qrels_replace_a_beir_datasets_and_drop_unknown_ids(tmp_path: Path) -> None:
    folder = write_sample_beir(tmp_path / "tiny")
    qrels = write(tmp_path, "q.tsv", "q1 0 d3 1\nq1 0 nope 1\nq9 0 d1 1\n")
    dataset = with_qrels_file(load_dataset(folder), qrels)

    assert dataset.qrels == {"q1": {"d3": 1}}
    assert any("unknown document" in w for w in dataset.warnings)
    assert any("unknown query" in w for w in dataset.warnings)


def test_generated_ids_can_be_judged(tmp_path: Path) -> None:
    path = write(tmp_path, "c.jsonl", json.dumps({"query": "a", "documents": ["x", "y"]}) + "\n")
    qrels = write(tmp_path, "q.csv", f"query_id,doc_id,label\nq1,{content_id('', 'y')},1\n")
    assert load_dataset(path, qrels=qrels).qrels == {"q1": {content_id("", "y"): 1}}


def test_read_qrels_file_reports_its_layout(tmp_path: Path) -> None:
    table = read_qrels_file(write(tmp_path, "a.csv", POOL))
    trec = read_qrels_file(write(tmp_path, "b.txt", "q1 0 d1 2\n"))

    assert (table.layout, table.unlabelled, len(table.judgments)) == ("table", 1, 2)
    assert (trec.layout, trec.judgments) == ("trec", [(1, "q1", "d1", 2)])


ERRORS = [
    ("", r"q\.csv: empty file"),
    ("query_id,doc_id,label\nq1,d1,\n", r"q\.csv: no judgments: the label of all 1 rows is empty"),
    ("query_id,doc,label\nq1,d1,1\n", r"q\.csv line 1: the header lacks column 'doc_id'"),
    ("query_id,doc_id,label\nq1,d1,1\nq1,d2,high\n",
     r"q\.csv line 3: field 'label': 'high' is not an integer"),
    ("query_id,doc_id,label\nq1,d1\n", r"q\.csv line 2: expected 3 columns as in the header"),
    ("query_id,doc_id,label\nq1,d 1,1\n", r"q\.csv line 2: field 'doc_id': id 'd 1' holds"),
    ("q1 0 d1 1\nq1 d2 1\n", r"q\.csv line 2: expected 4 columns 'query-id iteration doc-id "
                             r"relevance' \(TREC qrels\), found 3"),
    ("q1 0 d1 yes\n", r"q\.csv line 1: field 'relevance': 'yes' is not an integer"),
    ("q7 0 d1 1\n", r"none of its 1 judgments names a known query and document"),
]


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_errors_name_file_line_and_field(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        load_dataset(candidates(tmp_path), qrels=write(tmp_path, "q.csv", text))


def test_a_missing_qrels_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"qrels file .*nothing\.csv does not exist"):
        load_dataset(candidates(tmp_path), qrels=tmp_path / "nothing.csv")
