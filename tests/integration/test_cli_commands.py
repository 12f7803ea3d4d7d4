"""The command line end to end: the built-in suite, errors, reports, providers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.beir import toy_dataset
from typer.testing import CliRunner

from rerank_eval.cli import app

runner = CliRunner()
QUICK_SUITE = Path(__file__).resolve().parents[2] / "suites" / "quick.toml"


def test_run_on_a_dataset_path_writes_everything_and_prints_a_table(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", "--dataset", str(data), "--reranker", "bm25",
                                 "--top-k", "20", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "nDCG@10" in result.stdout and "bm25" in result.stdout
    for name in ("summary.json", "per_query.csv", "report.md", "report.html",
                 "runs/toy/bm25.trec", "runs/toy/first-stage.trec"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["results"][0]["dataset"] == "toy"


def test_a_failed_cell_exits_non_zero_after_writing_the_rest(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    out = tmp_path / "out"
    # A known kind and option with a bad value: only building the reranker finds it.
    result = runner.invoke(app, ["run", "--dataset", str(data), "--reranker", "bm25",
                                 "--reranker", "bm25?k1=nonsense", "--out", str(out)])
    assert result.exit_code == 1
    summary = json.loads((out / "summary.json").read_text())
    by_name = {r["reranker"]: r for r in summary["results"]}
    assert by_name["bm25"]["errors"] == 0 and by_name["bm25"]["n_queries"] == 10
    assert by_name["bm25?k1=nonsense"]["errors"] == 1
    assert "k1='nonsense'" in by_name["bm25?k1=nonsense"]["error_messages"][0]


def test_a_suite_with_an_unknown_key_is_rejected_by_name(tmp_path: Path) -> None:
    suite = tmp_path / "bad.toml"
    suite.write_text('name = "x"\n[[datasets]]\nname = "toy"\nsplitt = "test"\n'
                     '[[rerankers]]\nspec = "bm25"\n')
    result = runner.invoke(app, ["run", str(suite)])
    assert result.exit_code == 2
    assert "bad.toml" in result.output and "datasets[0].splitt" in result.output


def test_a_missing_dataset_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "--dataset", str(tmp_path / "nothing-here"),
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "nothing-here" in result.output


def test_report_rerenders_from_the_run_folder(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    out = tmp_path / "out"
    runner.invoke(app, ["run", "--dataset", str(data), "--out", str(out)])
    (out / "report.md").unlink()
    result = runner.invoke(app, ["report", str(out)])
    assert result.exit_code == 0
    assert "| bm25 |" in (out / "report.md").read_text()


def test_providers_lists_the_registered_kinds() -> None:
    result = runner.invoke(app, ["providers"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    for kind in ("bm25", "biencoder", "cross-encoder", "cohere:", "mixedbread:", "compatible:",
                 "COHERE_API_KEY", "per cpu hour", "rerank-v3.5: $2 per 1,000"):
        assert kind in result.stdout, kind


@pytest.mark.slow
def test_the_built_in_suite_runs_offline_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "quick"
    result = runner.invoke(app, ["run", str(QUICK_SUITE), "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    rows = {r["reranker"]: r for r in summary["results"]}
    assert set(rows) == {"bm25", "biencoder"}
    dataset = summary["datasets"][0]
    assert dataset["n_queries"] >= 40 and dataset["n_docs"] >= 400
    for row in rows.values():
        assert row["errors"] == 0 and row["n_queries"] == dataset["n_queries"]
        assert 0.0 < row["metrics"]["nDCG@10"] <= 1.0
    # The collection has lexical-mismatch queries: the bi-encoder must beat BM25 overall.
    assert rows["biencoder"]["metrics"]["nDCG@10"] > rows["bm25"]["metrics"]["nDCG@10"]


def test_a_second_run_into_a_folder_being_written_is_refused(tmp_path: Path) -> None:
    from rerank_eval.run_lock import hold_run_lock

    data = toy_dataset(tmp_path / "toy")
    out = tmp_path / "out"
    with hold_run_lock(out):
        busy = runner.invoke(app, ["run", "--dataset", str(data), "--out", str(out)])
    assert busy.exit_code == 2
    assert "being written by rerank-eval pid" in " ".join(busy.output.split())
    assert not (out / "summary.json").exists()
    free = runner.invoke(app, ["run", "--dataset", str(data), "--out", str(out)])
    assert free.exit_code == 0, free.output


def test_no_cache_reaches_the_rerankers_as_their_runtime_not_the_environment(
        tmp_path: Path) -> None:
    import os

    from support.rerankers import length_reranker_registered

    data = toy_dataset(tmp_path / "toy")
    with length_reranker_registered() as reranker:
        result = runner.invoke(app, ["run", "--dataset", str(data), "-r", "test-length",
                                     "--no-cache", "--out", str(tmp_path / "out")])
        assert result.exit_code == 0, result.output
        assert [r.response_cache for r in reranker.runtimes] == [False]
    assert "RERANK_EVAL_NO_CACHE" not in os.environ
