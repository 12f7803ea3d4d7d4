"""Real shared collections: reference numbers, and summary.json == pytrec_eval on the runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.trec import pytrec_reference, read_trec
from typer.testing import CliRunner

from rerank_eval.cli import app
from rerank_eval.datasets import load_dataset

runner = CliRunner()
REFERENCE_BM25 = {  # shared/datasets/README.md, bm25s defaults + English stopwords, top-100
    "scifact": {"nDCG@10": 0.662, "RR@10": 0.631, "R@100": 0.876},
    "cranfield": {"nDCG@10": 0.336, "RR@10": 0.490, "R@100": 0.703},
}


@pytest.mark.shared_data
@pytest.mark.slow
@pytest.mark.parametrize("name", ["scifact", "cranfield"])
def test_bm25_run_matches_the_reference_and_pytrec_eval(
    name: str, shared_datasets: Path, tmp_path: Path
) -> None:
    out = tmp_path / name
    result = runner.invoke(app, ["run", "--dataset", str(shared_datasets / name),
                                 "--reranker", "bm25", "--reranker", "bm25?idf=candidates",
                                 "--top-k", "100", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    rows = {r["reranker"]: r for r in summary["results"]}
    for measure, value in REFERENCE_BM25[name].items():
        assert rows["bm25"]["metrics"][measure] == pytest.approx(value, abs=0.02), measure

    qrels = load_dataset(shared_datasets / name).qrels
    for reranker, row in rows.items():
        run = read_trec(out / "runs" / name / f"{reranker.replace('?', '_').replace('=', '_')}"
                        ".trec")
        assert len(run) == row["n_queries"]
        reference = pytrec_reference(qrels, run)
        for measure, per_query in reference.items():
            if measure in row["metrics"]:
                mean = sum(per_query.values()) / len(per_query)
                assert row["metrics"][measure] == pytest.approx(mean, abs=1e-4), (reranker,
                                                                                    measure)
