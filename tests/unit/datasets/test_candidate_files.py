"""Candidates files as datasets: the JSONL, MTEB, CSV and TSV layouts, generated ids, the
fingerprint, and errors that name the file, line and field."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest

from rerank_eval.datasets import CorpusDocument, DatasetError, load_dataset
from rerank_eval.datasets.candidate_files import content_id, load_candidates_file
from rerank_eval.datasets.candidate_jsonl import mteb_order
from rerank_eval.datasets.candidate_records import RawDocument
from rerank_eval.suite_build import dataset_config


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def lines(*rows: dict) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


LABELLED = lines(
    {"query_id": "q1", "query": "what is alpha",
     "documents": ["alpha is a letter", {"id": "d7", "title": "Beta", "text": "beta"}],
     "labels": [2, 0]},
    {"query_id": 5, "query": "gamma rays", "documents": [{"text": "gamma", "title": "G"},
                                                         "alpha is a letter"],
     "labels": [1, None]},
)


def test_the_candidates_layout(tmp_path: Path) -> None:
    path = write(tmp_path, "mine.jsonl", LABELLED)
    dataset = load_dataset(path)

    alpha = content_id("", "alpha is a letter")
    gamma = content_id("G", "gamma")
    assert dataset.name == "mine"
    assert dataset.path == path
    assert dataset.queries == {"q1": "what is alpha", "5": "gamma rays"}
    assert dataset.first_stage == {"q1": [alpha, "d7"], "5": [gamma, alpha]}
    # every label given is a judgment (0 included); null is "not judged"
    assert dataset.qrels == {"q1": {alpha: 2, "d7": 0}, "5": {gamma: 1}}
    assert dataset.corpus["d7"] == CorpusDocument("d7", "Beta", "beta")
    assert dataset.corpus[gamma].full_text == "G gamma"
    assert len(dataset.corpus) == 3  # the text in both lists is one document
    assert dataset.fingerprint == hashlib.sha256(path.read_bytes()).hexdigest()
    assert any("nDCG's ideal ranking" in w for w in dataset.warnings)


def test_generated_ids_come_from_the_line_and_the_content(tmp_path: Path) -> None:
    text = "\n" + lines({"query": "one", "documents": ["shared text", "x"]},
                        {"query": "two", "documents": ["shared text"]})
    dataset = load_dataset(write(tmp_path, "c.jsonl", text))

    assert list(dataset.queries) == ["q2", "q3"]  # line numbers count blank lines
    shared = "d-" + hashlib.sha1(b"\nshared text").hexdigest()[:16]
    assert dataset.first_stage is not None
    assert dataset.first_stage["q2"][0] == dataset.first_stage["q3"][0] == shared
    assert any("ids generated" in w and "2 query ids" in w for w in dataset.warnings)


def test_a_text_repeated_in_one_list_gets_numbered_ids(tmp_path: Path) -> None:
    text = lines({"query": "a", "documents": ["same", "other", "same", "same"],
                  "labels": [1, 0, 0, 1]},
                 {"query": "b", "documents": ["same", "same"]})
    dataset = load_dataset(write(tmp_path, "c.jsonl", text))

    base = content_id("", "same")
    assert dataset.first_stage == {"q1": [base, content_id("", "other"), f"{base}-2",
                                          f"{base}-3"],
                                   "q2": [base, f"{base}-2"]}  # stable across queries
    assert dataset.qrels["q1"] == {base: 1, content_id("", "other"): 0, f"{base}-2": 0,
                                   f"{base}-3": 1}
    assert dataset.corpus[f"{base}-3"].text == "same"


def test_an_unlabelled_file_has_no_judgments_and_says_so(tmp_path: Path) -> None:
    text = lines({"query": "a", "documents": ["x", "y"]}, {"query": "b", "documents": ["z"]})
    dataset = load_dataset(write(tmp_path, "c.jsonl", text))

    assert dataset.qrels == {}
    assert list(dataset.queries) == ["q1", "q2"]
    assert any("no labels" in w for w in dataset.warnings)


def test_a_partly_labelled_file_says_which_queries_are_evaluated(tmp_path: Path) -> None:
    text = lines({"query": "a", "documents": ["x"], "labels": [1]},
                 {"query": "b", "documents": ["z"]})
    dataset = load_dataset(write(tmp_path, "c.jsonl", text))

    assert dataset.qrels == {"q1": {content_id("", "x"): 1}}
    assert any("1 of 2 queries have no labels" in w for w in dataset.warnings)


def test_a_query_without_candidates_is_left_out_with_a_warning(tmp_path: Path) -> None:
    text = lines({"query": "a", "documents": []}, {"query": "b", "documents": ["z"]})
    dataset = load_dataset(write(tmp_path, "c.jsonl", text))

    assert list(dataset.queries) == ["q2"]
    assert any("1 queries have no candidates (e.g. 'q1')" in w for w in dataset.warnings)


def test_the_mteb_layout(tmp_path: Path) -> None:
    row = {"query": "which is positive", "positive": ["p1", "p2"],
           "negative": ["n1", "n2", "n3", "n4"]}
    dataset = load_dataset(write(tmp_path, "mteb.jsonl", lines(row)))

    ids = {t: content_id("", t) for t in ("p1", "p2", "n1", "n2", "n3", "n4")}
    assert dataset.qrels == {"q1": {ids["p1"]: 1, ids["p2"]: 1, ids["n1"]: 0, ids["n2"]: 0,
                                    ids["n3"]: 0, ids["n4"]: 0}}
    assert dataset.first_stage is not None
    order = dataset.first_stage["q1"]
    assert sorted(order) == sorted(ids.values())
    assert order[:2] != [ids["p1"], ids["p2"]]  # not positives first: a seeded shuffle
    assert any("MTEB layout" in w and "random" in w for w in dataset.warnings)

    # the order depends on the query and the texts, not on where the file lists them
    moved = {"query": row["query"], "negative": ["n4", "n3", "n2", "n1"],
             "positive": ["p2", "p1"]}
    again = load_dataset(write(tmp_path, "moved.jsonl", lines(moved)))
    assert again.first_stage == dataset.first_stage


def test_the_mteb_order_is_pinned() -> None:
    """The order is part of what a file means (its fingerprint is its bytes): it must not
    change between versions, Python's or ours."""
    docs = [RawDocument(1, f"positive[{i}]", f"positive[{i}].id", None, "", text, 1)
            for i, text in enumerate(["p1", "p2", "n1", "n2", "n3", "n4"])]
    assert [d.text for d in mteb_order("which is positive", docs)] == \
        ["n2", "n3", "n1", "n4", "p1", "p2"]
    same = [RawDocument(1, f"negative[{i}]", "", None, "", "n", 0) for i in range(3)]
    assert mteb_order("q", same) == same  # equal texts keep the file's order


CSV = (
    "query_id,query,doc_id,title,document,label,notes\n"
    "q1,what is alpha,d1,A,\"alpha, the letter\",2,x\n"
    "q2,gamma,,,\"multi\nline\",,y\n"
    "q1,what is alpha,d2,,beta,0,z\n"
)


def test_the_csv_layout(tmp_path: Path) -> None:
    dataset = load_dataset(write(tmp_path, "pool.csv", "\ufeff" + CSV))

    generated = content_id("", "multi\nline")
    assert dataset.name == "pool"
    assert dataset.queries == {"q1": "what is alpha", "q2": "gamma"}
    assert dataset.first_stage == {"q1": ["d1", "d2"], "q2": [generated]}
    assert dataset.qrels == {"q1": {"d1": 2, "d2": 0}}  # an empty label is not judged
    assert dataset.corpus["d1"] == CorpusDocument("d1", "A", "alpha, the letter")


def test_the_tsv_layout_without_optional_columns(tmp_path: Path) -> None:
    text = "query\tquery_id\tdocument\nfirst\t1\tone\nfirst\t1\ttwo\n"
    dataset = load_dataset(write(tmp_path, "c.tsv", text))

    assert dataset.queries == {"1": "first"}
    assert dataset.first_stage == {"1": [content_id("", "one"), content_id("", "two")]}
    assert dataset.qrels == {}


def test_a_gzipped_jsonl_reads_like_the_plain_one(tmp_path: Path) -> None:
    plain = load_dataset(write(tmp_path, "c.jsonl", LABELLED))
    packed_path = write(tmp_path, "c.jsonl.gz", gzip.compress(LABELLED.encode()))
    packed = load_dataset(packed_path)

    assert packed.name == "c"
    assert (packed.queries, packed.qrels, packed.first_stage) == \
        (plain.queries, plain.qrels, plain.first_stage)
    assert packed.fingerprint == hashlib.sha256(packed_path.read_bytes()).hexdigest()


def test_the_fingerprint_follows_the_bytes(tmp_path: Path) -> None:
    one = load_candidates_file(write(tmp_path, "a.jsonl", LABELLED))
    same = load_candidates_file(write(tmp_path, "b.jsonl", LABELLED))
    changed = load_candidates_file(write(tmp_path, "c.jsonl", LABELLED.replace("beta", "Beta")))

    assert one.fingerprint == same.fingerprint != changed.fingerprint


def test_a_missing_candidates_file_is_named_as_a_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"mine\.jsonl: no such file"):
        load_dataset("mine.jsonl")


@pytest.mark.parametrize(("value", "name"), [
    ("data/my_candidates.jsonl", "my_candidates"), ("x/pool.CSV", "pool"),
    ("a.jsonl.gz", "a"), ("b.tsv", "b"), ("scifact", "scifact"), ("dl/nq.zip", "nq"),
])
def test_a_dataset_named_after_its_file(value: str, name: str) -> None:
    assert dataset_config(value).name == name


JSONL_ERRORS = [
    ("", r"c\.jsonl: no queries \(empty file\)"),
    ("\n  \n", r"c\.jsonl: no queries \(empty file\)"),
    ('{"query": "a", "documents": ["x"]}\n{"query": ', r"c\.jsonl line 2: invalid JSON"),
    ('["a"]\n', r"line 1: expected a JSON object, got list"),
    ('{"documents": ["x"]}\n', r"line 1: missing field 'query'"),
    ('{"query": 3, "documents": ["x"]}\n', r"line 1: field 'query' must be a string"),
    ('{"query": "a"}\n', r"line 1: missing field 'documents' \(or 'positive'/'negative'"),
    ('{"query": "a", "documents": "x"}\n', r"line 1: field 'documents' must be a list"),
    ('{"query": "a", "documents": ["x", 3]}\n',
     r"line 1: field 'documents\[1\]' must be a string or an object with 'text', got int"),
    ('{"query": "a", "documents": [{"id": "d1"}]}\n',
     r"line 1: missing field 'documents\[0\]\.text'"),
    ('{"query": "a", "documents": [{"id": "d 1", "text": "x"}]}\n',
     r"line 1: field 'documents\[0\]\.id': id 'd 1' holds whitespace"),
    ('{"query": "a", "documents": [{"id": true, "text": "x"}]}\n',
     r"line 1: field 'documents\[0\]\.id' must be a string or integer, got bool"),
    ('{"query": "a", "documents": [{"text": "x", "title": 1}]}\n',
     r"line 1: field 'documents\[0\]\.title' must be a string"),
    ('{"query_id": "", "query": "a", "documents": ["x"]}\n', r"line 1: field 'query_id' is empty"),
    ('{"query": "a", "documents": ["x", "y"], "labels": [1]}\n',
     r"line 1: field 'labels': 1 labels for 2 documents"),
    ('{"query": "a", "documents": ["x", "y"], "labels": [1, "x"]}\n',
     r"line 1: field 'labels\[1\]': 'x' is not an integer"),
    ('{"query": "a", "documents": ["x"], "labels": [1.5]}\n',
     r"line 1: field 'labels\[0\]': 1\.5 is not an integer"),
    ('{"query": "a", "documents": ["x"], "labels": [true]}\n',
     r"line 1: field 'labels\[0\]': True is not an integer"),
    ('{"query": "a", "documents": ["x"], "labels": 1}\n',
     r"line 1: field 'labels' must be a list of integers"),
    ('{"query": "a", "documents": ["x"], "positive": ["y"]}\n',
     r"line 1: has both 'documents' and 'positive'/'negative'"),
    ('{"query": "a", "positive": ["y"], "labels": [1]}\n',
     r"line 1: field 'labels': not used with 'positive'/'negative'"),
    ('{"query": "a", "positive": "y"}\n', r"line 1: field 'positive' must be a list"),
    ('{"query": "a", "documents": [{"id": "d1", "text": "x"}, {"id": "d1", "text": "x"}]}\n',
     r"line 1: field 'documents\[1\]\.id': document 'd1' is already a candidate of this "
     r"query \(documents\[0\]\)"),
    ('{"query": "a", "documents": [{"id": "d1", "text": "x"}]}\n'
     '{"query": "b", "documents": [{"id": "d1", "text": "y"}]}\n',
     r"line 2: field 'documents\[0\]\.id': id 'd1' names another text at line 1"),
    ('{"query_id": "q1", "query": "a", "documents": ["x"]}\n'
     '{"query_id": "q1", "query": "b", "documents": ["x"]}\n',
     r"line 2: field 'query_id': duplicate id 'q1' \(first at line 1\)"),
    ('{"query": "a", "documents": ["x"]}\n{"query_id": "q1", "query": "b", "documents": ["x"]}\n',
     r"line 1: no 'query_id', and the id it would get, 'q1', is the query_id of line 2"),
    ('{"query": "a", "documents": []}\n', r"c\.jsonl: no query has any candidate document"),
]


@pytest.mark.parametrize(("text", "message"), JSONL_ERRORS)
def test_jsonl_errors_name_file_line_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "c.jsonl", text)
    with pytest.raises(DatasetError, match=message) as caught:
        load_dataset(path)
    assert str(path) in str(caught.value)


def test_bytes_that_are_not_utf8_name_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "c.jsonl", b'{"query": "a", "documents": ["x"]}\n{"query": "\xff"}\n')
    with pytest.raises(DatasetError, match=r"c\.jsonl line 2: invalid JSON: not UTF-8"):
        load_dataset(path)
    path = write(tmp_path, "c.csv", b"query_id,query,document\nq1,a,x\nq1,a,\xff\n")
    with pytest.raises(DatasetError, match=r"c\.csv line 3: not UTF-8"):
        load_dataset(path)


def test_a_broken_gzip_is_named(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"c\.jsonl\.gz: not a valid gzip file"):
        load_dataset(write(tmp_path, "c.jsonl.gz", b"not gzip"))


TABLE_ERRORS = [
    ("", r"c\.csv: empty file \(expected a header line"),
    ("query_id,query,doc_id\nq1,a,d1\n",
     r"c\.csv line 1: the header lacks column 'document' \(has: query_id, query, doc_id\)"),
    ("query_id,query,document\n", r"c\.csv: no rows after the header"),
    ("query_id,query,document\nq1,a,x\nq1,a\n",
     r"c\.csv line 3: expected 3 columns as in the header, found 2"),
    ("query_id,query,document,label\nq1,a,x,relevant\n",
     r"c\.csv line 2: field 'label': 'relevant' is not an integer"),
    ("query_id,query,document\nq1,a,x\n\nq1,b,y\n",
     r"c\.csv line 4: field 'query': query_id 'q1' has another query text on line 2"),
    ("query_id,query,document\n,a,x\n", r"c\.csv line 2: field 'query_id' is empty"),
    ("query_id,query,doc_id,document\nq1,a,d 1,x\n",
     r"c\.csv line 2: field 'doc_id': id 'd 1' holds whitespace"),
    ("query_id,query,doc_id,document\nq1,a,d1,x\nq1,a,d1,x\n",
     r"c\.csv line 3: field 'doc_id': document 'd1' is already a candidate"),
]


@pytest.mark.parametrize(("text", "message"), TABLE_ERRORS)
def test_table_errors_name_file_line_and_field(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        load_dataset(write(tmp_path, "c.csv", text))
