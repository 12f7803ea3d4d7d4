"""Acceptance: a candidates file built from Cranfield (20 queries x BM25 top-20, documents as
``{id, title, text}``, labels from the qrels, 0 for the unjudged) runs like the BEIR folder
with the same candidates: the bi-encoder ranks every query alike, the metrics are what
pytrec_eval computes on the file's labels, and the file without labels runs through the
command line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from support.trec import pytrec_reference, read_trec
from typer.testing import CliRunner

from rerank_eval.candidates import bm25_candidates
from rerank_eval.cli import app
from rerank_eval.datasets import load_dataset
from rerank_eval.harness import Harness
from rerank_eval.metrics import trec_eval_order
from rerank_eval.store import write_run_dir
from rerank_eval.suite import suite_from_dict

N_QUERIES = 20
TOP_K = 20
MEASURES = ["nDCG@10", "RR@10", "R@10", "R@100", "AP@100"]


def candidates_file(shared: Path, path: Path, labels: bool = True) -> Path:
    """The first ``N_QUERIES`` Cranfield queries (sorted ids, as ``--max-queries`` takes
    them) with their BM25 top-``TOP_K``, in the order of the BEIR run's first-stage.trec
    (trec_eval's: BM25 ties by doc id descending)."""
    dataset = load_dataset(shared / "cranfield")
    by_query = bm25_candidates(dataset, TOP_K).by_query
    with path.open("w", encoding="utf-8") as handle:
        for query_id in sorted(q for q in dataset.queries if dataset.qrels.get(q))[:N_QUERIES]:
            doc_ids = [doc_id for doc_id, _ in trec_eval_order(dict(by_query[query_id]))]
            row: dict = {"query_id": query_id, "query": dataset.queries[query_id],
                         "documents": [{"id": d, "title": dataset.corpus[d].title,
                                        "text": dataset.corpus[d].text} for d in doc_ids]}
            if labels:
                row["labels"] = [dataset.qrels[query_id].get(d, 0) for d in doc_ids]
            handle.write(json.dumps(row) + "\n")
    return path


def run_harness(dataset: Path, out: Path, reranker: str) -> None:
    suite = suite_from_dict({
        "name": "t", "datasets": [{"name": "cranfield", "path": str(dataset)}],
        "rerankers": [{"spec": reranker}], "first_stage": {"top_k": TOP_K},
        "measures": MEASURES, "max_queries": N_QUERIES, "latency_sample": 0,
    })
    result = asyncio.run(Harness(suite, out).run())
    assert not result.failed
    write_run_dir(result, out)


def ranking(run: dict[str, dict[str, float]]) -> dict[str, list[str]]:
    return {q: [d for d, _ in trec_eval_order(docs)] for q, docs in run.items()}


@pytest.mark.shared_data
@pytest.mark.slow
def test_the_file_ranks_and_scores_like_the_beir_folder(shared_datasets: Path,
                                                       tmp_path: Path) -> None:
    data = candidates_file(shared_datasets, tmp_path / "cranfield-top20.jsonl")
    run_harness(shared_datasets / "cranfield", tmp_path / "beir", "biencoder")
    run_harness(data, tmp_path / "file", "biencoder")
    beir = tmp_path / "beir" / "runs" / "cranfield"
    mine = tmp_path / "file" / "runs" / "cranfield"

    # the same candidates, the file's first stage in BM25's order
    assert ranking(read_trec(mine / "first-stage.trec")) == \
        ranking(read_trec(beir / "first-stage.trec"))
    # (a) the bi-encoder ranks every query alike, with the same scores
    beir_run, file_run = read_trec(beir / "biencoder.trec"), read_trec(mine / "biencoder.trec")
    assert len(file_run) == N_QUERIES
    assert ranking(file_run) == ranking(beir_run)
    for query_id, docs in file_run.items():
        assert docs == pytest.approx(beir_run[query_id], abs=1e-6)

    # (b) summary.json's metrics are pytrec_eval's on the file's labels and the TREC run
    qrels: dict[str, dict[str, int]] = {}
    for line in data.read_text().splitlines():
        row = json.loads(line)
        qrels[row["query_id"]] = {d["id"]: label
                                  for d, label in zip(row["documents"], row["labels"],
                                                      strict=True)}
    reference = pytrec_reference(qrels, file_run)
    summary = json.loads((tmp_path / "file" / "summary.json").read_text())
    (cell,) = summary["results"]
    for measure in ("nDCG@10", "RR@10", "R@10", "R@100", "AP@100"):
        values = reference[measure]
        assert cell["metrics"][measure] == pytest.approx(sum(values.values()) / len(values),
                                                         abs=1e-12), measure


@pytest.mark.shared_data
def test_the_file_without_labels_runs_through_the_command_line(shared_datasets: Path,
                                                               tmp_path: Path) -> None:
    data = candidates_file(shared_datasets, tmp_path / "cranfield-top20.jsonl", labels=False)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", "--dataset", str(data), "--reranker", "bm25",
                                      "--top-k", str(TOP_K), "--out", str(out)])

    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    (cell,) = summary["results"]
    assert (cell["n_queries"], cell["errors"], cell["metrics"]) == (N_QUERIES, 0, {})
    runs = out / "runs" / "cranfield-top20"
    assert len(read_trec(runs / "bm25.trec")) == N_QUERIES
    assert all(len(docs) == TOP_K for docs in read_trec(runs / "first-stage.trec").values())
    assert (out / "per_query.csv").is_file()
