"""Pooling's pieces: the union and contributions, the order, and the file to label."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from rerank_eval.datasets.qrels_file import read_qrels_file
from rerank_eval.pool_file import POOL_COLUMNS, delimiter_for, pool_text, write_pool
from rerank_eval.pooling import Pool, PoolEntry, pool_documents, shuffled
from rerank_eval.run_texts import StoredDocument

RUNS = {
    "first-stage": {"q1": {"a": 3.0, "b": 2.0, "c": 1.0}, "q2": {"x": 1.0, "y": 0.5}},
    "r1": {"q1": {"c": 3.0, "a": 2.0, "b": 1.0}, "q2": {"y": 1.0, "x": 0.5}},
    "r2": {"q1": {"d": 3.0, "a": 2.0, "c": 2.0}, "q2": {"z": 1.0, "x": 0.9}},
}


def test_the_pool_is_the_union_of_every_top_depth() -> None:
    pooled, contributions = pool_documents(RUNS, depth=2)
    # r2's top 2 of q1: d, then the tie a/c broken as trec_eval does (doc id descending): c
    assert pooled == {"q1": {"a", "b", "c", "d"}, "q2": {"x", "y", "z"}}
    by_name = {c.system: c for c in contributions}
    assert [c.system for c in contributions] == ["first-stage", "r1", "r2"]
    assert (by_name["first-stage"].top, by_name["first-stage"].unique) == (4, 1)  # b
    assert (by_name["r1"].top, by_name["r1"].unique) == (4, 0)
    assert (by_name["r2"].top, by_name["r2"].unique) == (4, 2)  # d, z
    assert by_name["r2"].queries == 2


def test_the_order_comes_from_the_seed_and_the_query_alone() -> None:
    ids = [f"d{i:02d}" for i in range(30)]
    order = shuffled(ids, 0, "toy", "q1")
    assert sorted(order) == ids and order != ids
    assert shuffled(ids, 0, "toy", "q1") == order  # reproducible
    assert shuffled(ids, 1, "toy", "q1") != order
    assert shuffled(ids, 0, "toy", "q2") != order
    assert shuffled(ids, 0, "other", "q1") != order


def sample_pool() -> Pool:
    documents = {
        "d1": StoredDocument(title="A, title", text='He said "yes",\nthen\tleft.'),
        "d2": StoredDocument(title="", text="plain"),
    }
    return Pool(dataset="toy", depth=10, systems=["first-stage"],
                entries=[PoolEntry("q1", "d2", None), PoolEntry("q1", "d1", 2)],
                queries={"q1": "what, exactly?"}, documents=documents, contributions=[])


def test_the_file_has_the_columns_and_quotes_any_text(tmp_path: Path) -> None:
    for name in ("judge.csv", "judge.tsv"):
        out = tmp_path / name
        write_pool(sample_pool(), out)
        with out.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle, delimiter=delimiter_for(out)))
        assert rows[0] == list(POOL_COLUMNS)
        assert rows[1] == ["toy", "q1", "what, exactly?", "d2", "", "plain", ""]
        assert rows[2] == ["toy", "q1", "what, exactly?", "d1", "A, title",
                           'He said "yes",\nthen\tleft.', "2"]
    assert delimiter_for(Path("x.TSV")) == "\t" and delimiter_for(Path("x.csv")) == ","


def test_the_qrels_reader_takes_the_file_as_written(tmp_path: Path) -> None:
    """`run --qrels FILE` reads query_id, doc_id and label; empty labels are unjudged."""
    for name in ("judge.csv", "judge.tsv"):
        out = tmp_path / name
        write_pool(sample_pool(), out)
        read = read_qrels_file(out)
        assert read.layout == "table"
        assert [(q, d, label) for _, q, d, label in read.judgments] == [("q1", "d1", 2)]
        assert read.unlabelled == 1


def test_nothing_in_a_row_names_a_system() -> None:
    text = pool_text(sample_pool())
    header = next(csv.reader(io.StringIO(text)))
    assert not {"reranker", "system", "rank", "score"} & set(header)
