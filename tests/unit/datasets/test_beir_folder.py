"""Loading a BEIR folder or zip: ids, splits, fingerprints, and errors that name file, line
and field."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from support.sample_beir import (
    CORPUS,
    QRELS_TEST,
    QRELS_TRAIN,
    QUERIES,
    isolate_datasets,
    jsonl,
    tsv,
    write_sample_beir,
    zip_folder,
)

from rerank_eval.datasets import CorpusDocument, DatasetError, load_beir_folder, load_dataset


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_datasets(tmp_path, monkeypatch)


def test_loads_a_beir_folder(tmp_path: Path) -> None:
    dataset = load_beir_folder(write_sample_beir(tmp_path / "tiny"))

    assert dataset.name == "tiny"
    assert dataset.split == "test"
    assert dataset.path == tmp_path / "tiny"
    assert list(dataset.corpus) == ["d1", "2", "d3", "d4"]  # int id became str
    assert dataset.corpus["d1"] == CorpusDocument("d1", "Alpha", "first document")
    assert dataset.corpus["d1"].full_text == "Alpha first document"
    assert dataset.corpus["2"].full_text == "second document"  # empty title: just text
    assert dataset.corpus["d3"].title == ""  # missing title
    assert dataset.corpus["d4"].full_text == "Only a title"
    # only the queries the split judges (BEIR GenericDataLoader semantics)
    assert dataset.queries == {"q1": "query one", "2": "query two"}
    assert dataset.qrels == {"q1": {"d1": 2, "2": 0}, "2": {"d3": 1, "d4": -1}}
    assert dataset.warnings == []
    assert re.fullmatch(r"[0-9a-f]{64}", dataset.fingerprint)
    assert "docs=4" in repr(dataset) and "first document" not in repr(dataset)


def test_other_split_and_headerless_qrels(tmp_path: Path) -> None:
    folder = write_sample_beir(tmp_path / "tiny", qrels={"test": tsv(QRELS_TEST),
                                                   "dev": tsv(QRELS_TRAIN, header=False)})
    dataset = load_beir_folder(folder, split="dev")

    assert dataset.split == "dev"
    assert dataset.queries == {"q3": "judged in train only"}  # first row kept: no header
    assert dataset.qrels == {"q3": {"d1": 1}}


@pytest.mark.parametrize("change", [
    {"corpus": jsonl(CORPUS).replace("first document", "first  document")},
    {"queries": jsonl(QUERIES).replace("query one", "query 1")},
    {"qrels": {"test": tsv([*QRELS_TEST[:-1], ("2", "d4", 2)])}},
], ids=["corpus", "queries", "qrels"])
def test_fingerprint_follows_the_bytes(tmp_path: Path, change: dict) -> None:
    first = load_beir_folder(write_sample_beir(tmp_path / "a"))
    same = load_beir_folder(write_sample_beir(tmp_path / "b"))
    changed = load_beir_folder(write_sample_beir(tmp_path / "c", **change))

    assert first.fingerprint == same.fingerprint
    assert changed.fingerprint != first.fingerprint


def test_loads_a_zip_like_the_folder(tmp_path: Path) -> None:
    folder = write_sample_beir(tmp_path / "tiny")
    archive = tmp_path / "tiny.zip"
    archive.write_bytes(zip_folder(folder, top="tiny"))
    flat = tmp_path / "flat.zip"
    flat.write_bytes(zip_folder(folder, top=None))

    from_folder = load_beir_folder(folder)
    from_zip = load_dataset(archive)
    from_flat = load_dataset(str(flat))

    for dataset in (from_zip, from_flat):
        assert dataset.corpus == from_folder.corpus
        assert dataset.qrels == from_folder.qrels
        assert dataset.fingerprint == from_folder.fingerprint
    assert from_zip.name == "tiny"
    assert from_zip.path == archive


# --------------------------------------------------------------------------- bad input

BAD_CORPUS = jsonl(CORPUS[:1]) + '{"_id": "d2", "text": "oops"\n' + jsonl(CORPUS[2:])


@pytest.mark.parametrize(("files", "split", "expected"), [
    pytest.param({"corpus": BAD_CORPUS}, "test",
                 ["corpus.jsonl line 2: invalid JSON"], id="malformed-json"),
    pytest.param({"corpus": jsonl(CORPUS[:2]) + '{"title": "t", "text": "x"}\n'}, "test",
                 ["corpus.jsonl line 3", "missing field '_id'"], id="missing-id"),
    pytest.param({"corpus": jsonl(CORPUS) + '["d9", "text"]\n'}, "test",
                 ["corpus.jsonl line 5", "expected a JSON object"], id="not-an-object"),
    pytest.param({"corpus": jsonl([*CORPUS, {"_id": ["d9"], "text": "x"}])}, "test",
                 ["corpus.jsonl line 5", "field '_id' must be a string or integer"],
                 id="id-wrong-type"),
    pytest.param({"corpus": jsonl([*CORPUS, {"_id": "d9", "text": 7}])}, "test",
                 ["corpus.jsonl line 5", "field 'text' must be a string"], id="text-wrong-type"),
    pytest.param({"queries": jsonl(QUERIES[:1]) + '{"_id": "q2"}\n'}, "test",
                 ["queries.jsonl line 2", "missing field 'text'"], id="query-missing-text"),
    pytest.param({"corpus": jsonl([*CORPUS, {"_id": "d1", "text": "again"}])}, "test",
                 ["corpus.jsonl line 5", "duplicate _id 'd1'", "first at line 1"],
                 id="duplicate-doc"),
    pytest.param({"queries": jsonl([*QUERIES, {"_id": "2", "text": "again"}])}, "test",
                 ["queries.jsonl line 4", "duplicate _id '2'", "first at line 2"],
                 id="duplicate-query"),
    pytest.param({"corpus": "\n"}, "test", ["corpus.jsonl: no documents"], id="empty-corpus"),
    pytest.param({"queries": ""}, "test", ["queries.jsonl: no queries"], id="no-queries"),
    pytest.param({}, "dev", ["qrels/dev.tsv", "no qrels for split 'dev'",
                             "splits that exist: test, train"], id="missing-split"),
    pytest.param({"qrels": "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td3\n"}, "test",
                 ["test.tsv line 3", "expected 3 tab-separated columns", "found 2"],
                 id="qrels-columns"),
    pytest.param({"qrels": "query-id\tcorpus-id\tscore\nq1\td1\thigh\n"}, "test",
                 ["test.tsv line 2", "field 'score'", "'high' is not an integer"],
                 id="qrels-score"),
    pytest.param({"qrels": "query-id\tcorpus-id\tscore\n"}, "test",
                 ["test.tsv: no judgments"], id="qrels-empty"),
])
def test_bad_files_name_file_line_and_field(tmp_path: Path, files: dict[str, str], split: str,
                                            expected: list[str]) -> None:
    qrels = {"test": files["qrels"], "train": tsv(QRELS_TRAIN)} if "qrels" in files else None
    folder = write_sample_beir(tmp_path / "bad", corpus=files.get("corpus"),
                        queries=files.get("queries"), qrels=qrels)

    with pytest.raises(DatasetError) as caught:
        load_beir_folder(folder, split=split)

    message = str(caught.value)
    assert str(folder) in message
    for part in expected:
        assert part in message


def test_missing_corpus_file(tmp_path: Path) -> None:
    folder = write_sample_beir(tmp_path / "bad")
    (folder / "queries.jsonl").unlink()
    with pytest.raises(DatasetError, match=r"queries\.jsonl: file missing"):
        load_beir_folder(folder)
    (folder / "corpus.jsonl").unlink()
    with pytest.raises(DatasetError, match=r"no corpus\.jsonl"):
        load_beir_folder(folder)


def test_unknown_qrels_ids_are_counted_warned_and_dropped(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rows = [*QRELS_TEST, ("q1", "d9", 1), ("2", "d9", 1), ("q1", "d8", 1), ("q7", "d1", 1)]
    folder = write_sample_beir(tmp_path / "tiny", qrels={"test": tsv(rows)})

    with caplog.at_level(logging.WARNING, logger="rerank_eval.datasets"):
        dataset = load_beir_folder(folder)

    qrels_file = folder / "qrels" / "test.tsv"
    expected = [
        f"{qrels_file}: 1 judgment name 1 unknown query (e.g. 'q7'); dropped",
        f"{qrels_file}: 3 judgments name 2 unknown documents (e.g. 'd9'); dropped",
    ]
    assert dataset.warnings == expected
    assert [r.getMessage() for r in caplog.records] == expected
    assert dataset.qrels == {"q1": {"d1": 2, "2": 0}, "2": {"d3": 1, "d4": -1}}
    assert set(dataset.queries) == {"q1", "2"}


def test_qrels_naming_nothing_known_is_an_error(tmp_path: Path) -> None:
    folder = write_sample_beir(tmp_path / "tiny", qrels={"test": tsv([("q7", "d1", 1)])})
    with pytest.raises(DatasetError, match="none of its 1 judgments names a known query"):
        load_beir_folder(folder)
