"""Hostile collections and input errors through the CLI (issue 10, rows 1, 2, 11, 12, 13):
a clear error naming what is wrong (exit 2, no traceback, nothing created where it is
caught before the run), or numbers that pytrec_eval reproduces from the written files."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest
from support.beir import toy_dataset
from support.trec import pytrec_reference, read_trec
from typer.testing import CliRunner

from rerank_eval.cli import app
from rerank_eval.testing.beir import write_beir

runner = CliRunner()


def _run(*args: str):
    result = runner.invoke(app, ["run", *args])
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception,
                                                                     SystemExit)
    return result


def _flat(text: str) -> str:
    return " ".join(text.split())


# Row 1: ids a TREC file cannot carry.

def test_a_document_id_holding_a_space_is_an_input_error_naming_file_line_and_id(
        tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    corpus = data / "corpus.jsonl"
    lines = corpus.read_text().splitlines()
    lines[2] = json.dumps({"_id": "doc 6277638", "title": "", "text": "sourdough bread"})
    corpus.write_text("\n".join(lines) + "\n")
    result = _run("--dataset", str(data), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    output = _flat(result.output)
    assert "corpus.jsonl line 3" in output and "'doc 6277638'" in output
    assert not (tmp_path / "out" / "summary.json").exists()


def test_a_run_file_whose_ids_hold_whitespace_is_refused(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    run_file = tmp_path / "first.trec"
    run_file.write_text("q00\tQ0\tbread-00\t1\t3.0\tx\nq00\tQ0\tbread 01\t2\t2.0\tx\n")
    result = _run("--dataset", str(data), "--run-file", str(run_file),
                  "--out", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    output = _flat(result.output)
    assert "first.trec line 2" in output and "whitespace" in output


# Row 2: queries with nothing to search for.

def _blank_queries(folder: Path) -> Path:
    data = toy_dataset(folder)
    queries = data / "queries.jsonl"
    extra = {"qpunct": "?!... --", "qblank": "   ", "qstop": "the of and"}
    with queries.open("a") as handle:
        for qid, text in extra.items():
            handle.write(json.dumps({"_id": qid, "text": text}) + "\n")
    with (data / "qrels" / "test.tsv").open("a") as handle:
        for qid in extra:
            handle.write(f"{qid}\tbread-00\t1\n")
    return data


def test_queries_with_nothing_to_search_for_get_no_candidates_and_the_run_completes(
        tmp_path: Path) -> None:
    data = _blank_queries(tmp_path / "toy")
    out = tmp_path / "out"
    result = _run("--dataset", str(data), "--reranker", "bm25", "--top-k", "20",
                  "--out", str(out))
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    warnings = " ".join(summary["datasets"][0]["warnings"])
    for qid in ("qpunct", "qblank", "qstop"):
        assert repr(qid) in warnings
    qrels: dict[str, dict[str, int]] = {}
    for line in (data / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        q, d, s = line.split("\t")
        qrels.setdefault(q, {})[d] = int(s)
    for row in summary["results"]:
        run = read_trec(out / "runs" / "toy" / f"{row['reranker']}.trec")
        assert not {"qpunct", "qblank", "qstop"} & set(run)
        assert row["errors"] == 0
        reference = pytrec_reference(qrels, run)
        for measure, per_query in reference.items():
            if measure in row["metrics"]:
                mean = sum(per_query.values()) / len(per_query)
                assert row["metrics"][measure] == pytest.approx(mean, abs=1e-9)


# Row 11: a stemmer that does not exist; an --out that cannot be a folder.

def test_an_unknown_stemmer_is_refused_before_anything_is_created(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    out = tmp_path / "out"
    result = _run("--dataset", str(data), "--stemmer", "klingon", "--out", str(out))
    assert result.exit_code == 2, result.output
    assert "unknown stemmer 'klingon'" in _flat(result.output)
    assert not out.exists()
    result = _run("--dataset", str(data), "--stemmer", "englsh", "--out", str(out))
    assert result.exit_code == 2 and "did you mean 'english'" in _flat(result.output)


def test_an_unknown_stemmer_in_a_suite_file_is_refused(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    suite = tmp_path / "s.toml"
    suite.write_text(f'name = "s"\n[first_stage]\nstemmer = "klingon"\n[[datasets]]\n'
                     f'name = "toy"\npath = "{data}"\n[[rerankers]]\nspec = "bm25"\n')
    result = _run(str(suite), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2 and "klingon" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("where", ["file", "under-file"])
def test_an_out_that_cannot_be_a_folder_is_refused_before_anything_is_created(
        tmp_path: Path, where: str) -> None:
    data = toy_dataset(tmp_path / "toy")
    blocker = tmp_path / "taken"
    blocker.write_text("not a folder")
    out = blocker if where == "file" else blocker / "sub" / "out"
    result = _run("--dataset", str(data), "--out", str(out))
    assert result.exit_code == 2, result.output
    assert "not a folder" in _flat(result.output)
    assert blocker.read_text() == "not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken", "toy"]


# Row 12: reranker specs, options and the baseline, checked before any data is loaded.

@pytest.mark.parametrize(("args", "expected"), [
    (["--reranker", "biencodr"], "unknown kind 'biencodr' (did you mean 'biencoder'?)"),
    (["--reranker", "bm25?stemer=english"],
     "unknown option 'stemer' for kind 'bm25' (did you mean 'stemmer'?)"),
    (["--reranker", "bm25", "--baseline-reranker", "bm2"],
     "--baseline-reranker 'bm2' is not a reranker of this run (did you mean 'bm25'?)"),
])
def test_reranker_typos_are_refused_before_any_data_is_loaded(
        tmp_path: Path, args: list[str], expected: str) -> None:
    out = tmp_path / "out"
    # The dataset does not exist: a check after loading would report that instead.
    result = _run("--dataset", str(tmp_path / "no-such-dataset"), *args, "--out", str(out))
    assert result.exit_code == 2, result.output
    assert expected in _flat(result.output)
    assert not out.exists()


def test_a_baseline_given_as_a_suite_label_is_accepted(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    suite = tmp_path / "s.toml"
    suite.write_text(f'name = "s"\n[[datasets]]\nname = "toy"\npath = "{data}"\n'
                     '[[rerankers]]\nspec = "bm25"\nlabel = "lexical"\n')
    result = _run(str(suite), "--top-k", "10", "--baseline-reranker", "lexical",
                  "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output


def test_report_refuses_a_baseline_that_is_not_in_the_run_folder(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    out = tmp_path / "out"
    assert _run("--dataset", str(data), "--top-k", "10", "--out", str(out)).exit_code == 0
    result = runner.invoke(app, ["report", str(out), "--baseline-reranker", "bm2"])
    assert result.exit_code == 2, result.output
    assert "did you mean 'bm25'" in _flat(result.output) and "Traceback" not in result.output
    result = runner.invoke(app, ["report", str(out), "--baseline-reranker", "bm25"])
    assert result.exit_code == 0, result.output


# Row 13: a byte-order mark on every kind of text file.

def test_byte_order_marks_on_every_file_give_the_same_numbers(tmp_path: Path) -> None:
    corpus = {f"d{i}": ("", f"word{i} common") for i in range(6)}
    queries = {"1": "word1", "2": "word2 common"}
    qrels = {"1": {"d1": 1}, "2": {"d2": 2, "d3": 1}}
    plain = write_beir(tmp_path / "plain", corpus, queries, qrels)
    marked = write_beir(tmp_path / "marked", corpus, queries, qrels)
    qrels_file = marked / "qrels" / "test.tsv"
    qrels_file.write_text("".join(qrels_file.read_text().splitlines(True)[1:]))  # headerless
    for path in (marked / "corpus.jsonl", marked / "queries.jsonl", qrels_file):
        path.write_bytes(codecs.BOM_UTF8 + path.read_bytes())
    run_file = tmp_path / "first.trec"
    run_file.write_bytes(codecs.BOM_UTF8 + b"1 Q0 d1 1 2.0 x\n1 Q0 d0 2 1.0 x\n"
                         b"2 Q0 d3 1 2.0 x\n2 Q0 d2 2 1.0 x\n")
    summaries = []
    for name, data in (("plain", plain), ("marked", marked)):
        out = tmp_path / f"out-{name}"
        result = _run("--dataset", str(data), "--run-file", str(run_file), "--out", str(out))
        assert result.exit_code == 0, result.output
        summary = json.loads((out / "summary.json").read_text())
        assert summary["datasets"][0]["warnings"] == []
        summaries.append([r["metrics"] for r in summary["results"]])
    assert summaries[0] == summaries[1]
