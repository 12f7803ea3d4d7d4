"""Getting labels by pooling, end to end on SciFact: run -> pool -> label -> run --qrels."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import ir_measures
import pytest
from typer.testing import CliRunner

from rerank_eval.cli import app
from rerank_eval.datasets import load_dataset

runner = CliRunner()
RUN = ["--dataset", "scifact", "--max-queries", "5", "--top-k", "20",
       "-r", "bm25", "-r", "biencoder"]


def ranked_run(trec: Path, queries: set[str]) -> dict[str, dict[str, float]]:
    """A TREC run file with each document scored by minus its rank: its order is
    trec_eval's, and no provider can break a tie another way."""
    run: dict[str, dict[str, float]] = {}
    for line in trec.read_text().splitlines():
        query_id, _, doc_id, rank, _, _ = line.split()
        if query_id in queries:
            run.setdefault(query_id, {})[doc_id] = -float(rank)
    return run


@pytest.mark.shared_data
@pytest.mark.slow
def test_pooled_labels_evaluate_like_ir_measures(shared_datasets: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RERANK_EVAL_DATASETS", str(shared_datasets))
    first = tmp_path / "first"
    result = runner.invoke(app, ["run", *RUN, "--out", str(first)])
    assert result.exit_code == 0, result.output

    judge = tmp_path / "judge.csv"
    result = runner.invoke(app, ["pool", str(first), "--depth", "10", "--out", str(judge)])
    assert result.exit_code == 0, result.output
    with judge.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)
    assert fields == ["dataset", "query_id", "query", "doc_id", "title", "document", "label"]
    assert len({r["query_id"] for r in rows}) == 5
    assert all(r["document"] and r["query"] for r in rows)

    # the person labelling: 1 where SciFact judges the document relevant, else 0
    qrels = load_dataset(shared_datasets / "scifact").qrels
    for row in rows:
        row["label"] = "1" if qrels.get(row["query_id"], {}).get(row["doc_id"], 0) > 0 else "0"
    with judge.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    labels: dict[str, dict[str, int]] = {}
    for row in rows:
        labels.setdefault(row["query_id"], {})[row["doc_id"]] = int(row["label"])

    second = tmp_path / "second"
    result = runner.invoke(app, ["run", *RUN, "--qrels", str(judge), "--out", str(second)])
    assert result.exit_code == 0, result.output
    summary = json.loads((second / "summary.json").read_text())
    assert {r["reranker"] for r in summary["results"]} == {"bm25", "biencoder"}
    for row in summary["results"]:
        assert row["n_queries"] == 5
        run = ranked_run(second / "runs" / "scifact" / f"{row['reranker']}.trec", set(labels))
        measures = [ir_measures.parse_measure(m) for m in row["metrics"]]
        direct = {str(m): v for m, v in ir_measures.calc_aggregate(measures, labels,
                                                                   run).items()}
        assert row["metrics"] == pytest.approx(direct, abs=1e-9), row["reranker"]
        assert row["metrics"]["Judged@10"] == 1.0  # every top 10 was pooled and labelled
    first_summary = json.loads((first / "summary.json").read_text())
    assert all(r["metrics"]["Judged@10"] < 0.9 for r in first_summary["results"])
    assert "Pool too shallow?" in (first / "report.md").read_text(encoding="utf-8")
    assert "Pool too shallow?" not in (second / "report.md").read_text(encoding="utf-8")
