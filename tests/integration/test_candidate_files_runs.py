"""``rerank-eval run`` on candidates files: unlabelled, partly labelled, with ``--qrels``,
from a suite, cut by ``--top-k``, and refused with a run file."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from rerank_eval.cli import app
from rerank_eval.datasets.candidate_files import content_id

runner = CliRunner()

ROWS = [
    {"query_id": "q1", "query": "alpha letter",
     "documents": [{"id": "d1", "text": "beta is the second letter"},
                   {"id": "d2", "text": "alpha is the first letter"},
                   {"id": "d3", "text": "gamma rays"}],
     "labels": [0, 1, 0]},
    {"query_id": "q2", "query": "gamma rays",
     "documents": ["rays of gamma radiation", {"id": "d1", "text": "beta is the second letter"}],
     "labels": [1, 0]},
    {"query_id": "q3", "query": "letter",
     "documents": [{"id": "d3", "text": "gamma rays"}, {"id": "d2",
                                                         "text": "alpha is the first letter"}],
     "labels": [0, 1]},
]


def write_jsonl(path: Path, rows: list[dict], labels: bool = True) -> Path:
    keep = rows if labels else [{k: v for k, v in r.items() if k != "labels"} for r in rows]
    path.write_text("".join(json.dumps(r) + "\n" for r in keep), encoding="utf-8")
    return path


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["run", *args, "--reranker", "bm25", "--latency-sample", "0"])
    return result.exit_code, result.output


def trec_order(path: Path) -> dict[str, list[str]]:
    order: dict[str, list[tuple[int, str]]] = {}
    for line in path.read_text().splitlines():
        qid, _, doc, rank, _, _ = line.split()
        order.setdefault(qid, []).append((int(rank), doc))
    return {q: [d for _, d in sorted(docs)] for q, docs in order.items()}


def test_an_unlabelled_file_runs_and_writes_everything(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "mine.jsonl", ROWS, labels=False)
    out = tmp_path / "out"
    code, output = run("--dataset", str(data), "--out", str(out))

    assert code == 0, output
    summary = json.loads((out / "summary.json").read_text())
    (cell,) = summary["results"]
    assert (cell["dataset"], cell["n_queries"], cell["errors"]) == ("mine", 3, 0)
    assert cell["metrics"] == {}
    (dataset,) = summary["datasets"]
    assert dataset["first_stage"]["method"] == "file"
    assert dataset["first_stage"]["metrics"] == {}
    assert any("no labels" in w for w in dataset["warnings"])
    # the first stage is the file's order, exactly
    assert trec_order(out / "runs" / "mine" / "first-stage.trec") == {
        "q1": ["d1", "d2", "d3"], "q2": [content_id("", "rays of gamma radiation"), "d1"],
        "q3": ["d3", "d2"]}
    assert set(trec_order(out / "runs" / "mine" / "bm25.trec")) == {"q1", "q2", "q3"}
    frame = pd.read_csv(out / "per_query.csv", dtype={"query_id": str})
    assert len(frame) == 6 and frame["nDCG@10"].isna().all()
    # `check` has no quality to gate on: it says so (exit 2) instead of passing on nothing
    result = runner.invoke(app, ["check", str(out), "--baseline", str(out)])
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())  # the console wraps long lines
    assert "has no measure nDCG@10; it has: none" in message and "unlabelled" in message


def test_a_labelled_file_and_a_partly_labelled_one(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "mine.jsonl", ROWS)
    out = tmp_path / "out"
    code, output = run("--dataset", str(data), "--out", str(out))

    assert code == 0, output
    summary = json.loads((out / "summary.json").read_text())
    first_stage = summary["datasets"][0]["first_stage"]["metrics"]
    assert first_stage["RR@10"] == (1 / 2 + 1 + 1 / 2) / 3  # the file's order, its labels
    assert summary["results"][0]["n_queries"] == 3

    partly = [ROWS[0], {k: v for k, v in ROWS[1].items() if k != "labels"}, ROWS[2]]
    out = tmp_path / "partly"
    code, output = run("--dataset", str(write_jsonl(tmp_path / "partly.jsonl", partly)),
                       "--out", str(out))
    assert code == 0, output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["results"][0]["n_queries"] == 2  # the labelled queries
    assert any("1 of 3 queries have no labels" in w for w in summary["datasets"][0]["warnings"])


def test_qrels_from_a_file_label_an_unlabelled_run(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "mine.jsonl", ROWS, labels=False)
    qrels = tmp_path / "labels.csv"
    qrels.write_text("query_id,query,doc_id,document,label\nq1,alpha letter,d2,x,1\n"
                     "q1,alpha letter,d1,x,\nq3,letter,d3,x,0\n")
    plain, labelled = tmp_path / "plain", tmp_path / "labelled"
    assert run("--dataset", str(data), "--out", str(plain))[0] == 0
    code, output = run("--dataset", str(data), "--qrels", str(qrels), "--out", str(labelled))

    assert code == 0, output
    summary = json.loads((labelled / "summary.json").read_text())
    assert summary["results"][0]["n_queries"] == 2  # q1 and q3 (judged 0, as BEIR keeps)
    assert summary["datasets"][0]["first_stage"]["metrics"]["RR@10"] == (0.5 + 0) / 2
    before = json.loads((plain / "summary.json").read_text())["datasets"][0]["fingerprint"]
    assert summary["datasets"][0]["fingerprint"] != before


def test_a_suite_names_the_file_and_its_qrels_relative_to_itself(tmp_path: Path) -> None:
    folder = tmp_path / "suite"
    folder.mkdir()
    write_jsonl(folder / "mine.jsonl", ROWS, labels=False)
    (folder / "labels.tsv").write_text("query_id\tdoc_id\tlabel\nq2\td1\t1\n")
    suite = folder / "s.toml"
    suite.write_text('name = "own"\n[[datasets]]\nname = "mine"\npath = "mine.jsonl"\n'
                     'qrels = "labels.tsv"\n[[rerankers]]\nspec = "bm25"\n')
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(suite), "--out", str(out)])

    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["results"][0]["n_queries"] == 1
    assert summary["datasets"][0]["first_stage"]["metrics"]["RR@10"] == 0.5


def test_top_k_cuts_the_lists_and_says_so(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "mine.jsonl", ROWS)
    out = tmp_path / "out"
    code, output = run("--dataset", str(data), "--top-k", "2", "--out", str(out))

    assert code == 0, output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["datasets"][0]["first_stage"]["top_k"] == 2
    assert any("1 queries have more than top_k = 2 candidates (up to 3)" in w
               for w in summary["datasets"][0]["warnings"])
    assert trec_order(out / "runs" / "mine" / "first-stage.trec")["q1"] == ["d1", "d2"]


def test_a_run_file_cannot_replace_a_files_own_candidates(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "mine.jsonl", ROWS)
    run_file = tmp_path / "run.trec"
    run_file.write_text("q1 Q0 d1 1 1.0 x\n")
    code, output = run("--dataset", str(data), "--run-file", str(run_file),
                       "--out", str(tmp_path / "out"))

    assert code == 2
    assert "candidates file" in output and "drop the run file" in output
