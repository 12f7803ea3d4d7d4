"""``rerank_eval.evaluate``: the run ``rerank-eval run`` makes, from Python, with or without
a running event loop, and a result whose tables are the run folder's numbers."""

from __future__ import annotations

import asyncio
import gc
import json
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from support.beir import toy_dataset
from typer.testing import CliRunner

import rerank_eval
from rerank_eval import EvaluationResult
from rerank_eval.cli import app
from rerank_eval.datasets import DatasetError
from rerank_eval.report.analysis import analyse
from rerank_eval.suite import RerankerConfig, SuiteError

runner = CliRunner()
MEASURES = ["nDCG@10", "RR@10", "R@10", "R@20"]
RERANKERS = ["bm25", "bm25?idf=candidates"]
SECOND = "bm25?idf=candidates"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder with the toy dataset, and a cache of this module's own (never the user's)."""
    folder = tmp_path_factory.mktemp("evaluate-api")
    toy_dataset(folder / "toy")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RERANK_EVAL_CACHE", str(folder / "cache"))
        yield folder


@pytest.fixture(scope="module")
def result(base: Path) -> EvaluationResult:
    return rerank_eval.evaluate(base / "toy", RERANKERS, top_k=20, measures=MEASURES,
                                out=base / "api-run")


@pytest.fixture(scope="module")
def cli_run(base: Path) -> Path:
    """The same evaluation through the command line."""
    out = base / "cli-run"
    args = ["run", "--dataset", str(base / "toy"), "--top-k", "20", "--out", str(out)]
    for spec in RERANKERS:
        args += ["--reranker", spec]
    for measure in MEASURES:
        args += ["--measure", measure]
    outcome = runner.invoke(app, args)
    assert outcome.exit_code == 0, outcome.output
    return out


# -- the same run as `rerank-eval run` ------------------------------------------------------


def test_it_writes_the_run_folder_rerank_eval_run_writes(result: EvaluationResult,
                                                         cli_run: Path) -> None:
    run_dir = result.run_dir
    for name in ("summary.json", "per_query.csv", "runs/toy/first-stage.trec",
                 "runs/toy/bm25.trec"):
        assert (run_dir / name).is_file(), name
    trec = sorted(p.relative_to(run_dir) for p in (run_dir / "runs").rglob("*.trec"))
    assert trec == sorted(p.relative_to(cli_run) for p in (cli_run / "runs").rglob("*.trec"))
    for name in trec:
        assert (run_dir / name).read_text() == (cli_run / name).read_text(), name
    assert list((run_dir / "cells" / "toy").glob("*.jsonl"))
    assert not (run_dir / "report.html").exists()  # reports only on request
    ours = json.loads((run_dir / "summary.json").read_text())
    theirs = json.loads((cli_run / "summary.json").read_text())
    assert ours["suite"] == {**theirs["suite"]}
    assert ours["datasets"] == theirs["datasets"]
    assert [(c["reranker"], c["spec"], c["metrics"]) for c in ours["results"]] == \
        [(c["reranker"], c["spec"], c["metrics"]) for c in theirs["results"]]
    assert [c["reranker"] for c in ours["results"]] == RERANKERS


def test_summary_holds_summary_json_numbers(result: EvaluationResult) -> None:
    data = json.loads((result.run_dir / "summary.json").read_text())
    summary = result.summary.set_index("reranker")
    assert list(summary.index) == ["first-stage", *RERANKERS]
    first = data["datasets"][0]
    for measure in MEASURES:
        assert summary.at["first-stage", measure] == first["first_stage"]["metrics"][measure]
    assert summary.at["first-stage", "n_queries"] == first["n_queries"]
    assert pd.isna(summary.at["first-stage", "latency_p50_ms"])
    for cell in data["results"]:
        row = summary.loc[cell["reranker"]]
        assert row["dataset"] == cell["dataset"] == "toy"
        assert row["spec"] == cell["spec"] and row["n_queries"] == cell["n_queries"] == 10
        for measure in MEASURES:
            assert row[measure] == cell["metrics"][measure]
        assert row["latency_p50_ms"] == cell["latency_ms"]["p50"]
        assert row["latency_p95_ms"] == cell["latency_ms"]["p95"]
        assert row["latency_p99_ms"] == cell["latency_ms"]["p99"]
        assert row["throughput_docs_per_s"] == cell["throughput_docs_per_s"]
        assert row["cost_usd"] == cell["cost_usd"]
        assert row["cost_per_1k_queries_usd"] == pytest.approx(cell["cost_usd"] / 10 * 1000)
        assert row["errors"] == cell["errors"] == 0


def test_per_query_is_per_query_csv(result: EvaluationResult) -> None:
    csv = pd.read_csv(result.run_dir / "per_query.csv",
                      dtype={"query_id": str, "dataset": str, "reranker": str})
    pd.testing.assert_frame_equal(result.per_query, csv)
    assert len(csv) == 3 * 10 and set(MEASURES) <= set(csv.columns)


def test_compare_gives_the_reports_numbers(result: EvaluationResult) -> None:
    compared = result.compare(measure=MEASURES)
    assert set(compared["baseline"]) == {"first-stage"}
    analysis = analyse(result.run_dir)
    systems = {s.name: s for s in analysis.datasets[0].systems}
    assert len(compared) == 2 * len(MEASURES)
    for row in compared.itertuples(index=False):
        c = systems[row.reranker].measures[row.measure].comparison
        assert c is not None
        assert (row.delta, row.ci_low, row.ci_high, row.p_value, row.p_holm) == \
            (c.delta, c.ci_low, c.ci_high, c.p_value, c.p_holm)
        assert (row.mean, row.baseline_mean, row.n_queries) == \
            (c.system_mean, c.baseline_mean, c.n_queries)
        assert (row.wins, row.ties, row.losses) == (c.wins, c.ties, c.losses)
        assert row.significant == c.significant(0.05)


def test_compare_defaults_to_ndcg10_and_takes_any_reranker_as_baseline(
        result: EvaluationResult) -> None:
    assert list(result.compare()["measure"]) == ["nDCG@10", "nDCG@10"]
    against_bm25 = result.compare("bm25", "R@10")
    assert list(against_bm25["reranker"]) == ["first-stage", SECOND]
    with pytest.raises(SuiteError, match="did you mean 'bm25'"):
        result.compare("bm2")
    with pytest.raises(ValueError, match="no measure P@5"):
        result.compare(measure="P@5")


def test_compare_with_another_run_gives_rerank_eval_compares_numbers(
        result: EvaluationResult, base: Path) -> None:
    shallow = rerank_eval.evaluate(base / "toy", RERANKERS, top_k=5, measures=MEASURES,
                                   max_queries=8)
    compared = shallow.compare(result, "nDCG@10")
    assert list(compared["reranker"]) == ["first-stage", *RERANKERS]
    assert set(compared["n_queries"]) == {8}
    assert compared.equals(shallow.compare(result.run_dir, "nDCG@10"))
    outcome = runner.invoke(app, ["compare", str(shallow.run_dir), str(result.run_dir),
                                  "--measure", "nDCG@10"])
    assert outcome.exit_code == 0, outcome.output
    lines = outcome.stdout.splitlines()
    for row in compared.itertuples(index=False):
        line = next(line for line in lines if f"│ {row.reranker} " in line)
        assert f"{row.delta:+.4f}" in line and f"[{row.ci_low:+.4f}, {row.ci_high:+.4f}]" in line
        assert f"{row.wins}/{row.ties}/{row.losses}" in line
    assert compared["delta"].abs().sum() > 0  # top-5 candidates: a real difference


def test_write_report_writes_the_runs_report_into_a_folder(result: EvaluationResult,
                                                           tmp_path: Path) -> None:
    written = result.write_report(tmp_path / "report")
    assert written == [tmp_path / "report" / "report.md", tmp_path / "report" / "report.html"]
    assert (tmp_path / "report" / "report.md").read_bytes() == \
        (result.run_dir / "report.md").read_bytes()
    figures = sorted(p.name for p in (result.run_dir / "figures").glob("*.png"))
    assert figures and sorted(p.name for p in (tmp_path / "report" / "figures").glob(
        "*.png")) == figures
    with pytest.raises(SuiteError, match="bm25"):
        result.write_report(tmp_path / "other", baseline="bm26")


def test_repr_and_html_show_the_summary(result: EvaluationResult) -> None:
    text = repr(result)
    assert f"toy × bm25, {SECOND}" in text and "first-stage" in text
    assert "nDCG@10" in text
    page = result._repr_html_()
    assert page.count("<tr") == 1 + 3 and SECOND in page


def test_a_result_reads_a_folder_the_command_line_wrote(cli_run: Path,
                                                        result: EvaluationResult) -> None:
    read = EvaluationResult.read(cli_run)
    columns = ["dataset", "reranker", "spec", "n_queries", *MEASURES]
    pd.testing.assert_frame_equal(read.summary[columns], result.summary[columns])


# -- without and with a running event loop --------------------------------------------------


def test_evaluate_inside_a_running_event_loop(base: Path, result: EvaluationResult) -> None:
    threads: list[str] = []

    async def notebook_cell() -> EvaluationResult:
        asyncio.get_running_loop()
        outcome = rerank_eval.evaluate(base / "toy", RERANKERS, top_k=20, measures=MEASURES,
                                       progress=_ThreadSpy(threads))
        await asyncio.sleep(0)  # the caller's loop still works afterwards
        return outcome

    inside = asyncio.run(notebook_cell())
    assert threads and set(threads) == {"rerank-eval-loop"}
    columns = ["dataset", "reranker", *MEASURES]
    pd.testing.assert_frame_equal(inside.summary[columns], result.summary[columns])


def test_aevaluate_is_awaitable(base: Path, result: EvaluationResult) -> None:
    async def main() -> EvaluationResult:
        return await rerank_eval.aevaluate(base / "toy", {"lexical": "bm25"}, top_k=20,
                                           measures=MEASURES)

    awaited = asyncio.run(main())
    assert list(awaited.summary["reranker"]) == ["first-stage", "lexical"]
    assert list(awaited.summary["nDCG@10"]) == list(result.summary["nDCG@10"][:2])


def test_without_out_the_run_folder_lives_as_long_as_the_result(base: Path) -> None:
    temporary = rerank_eval.evaluate(base / "toy", "bm25", top_k=20, max_queries=3)
    run_dir = temporary.run_dir
    assert (run_dir / "summary.json").is_file()
    del temporary
    gc.collect()
    assert not run_dir.exists()


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("in_a_loop", [False, True], ids=["plain", "in-a-running-loop"])
def test_a_missing_dataset_raises_dataset_error(base: Path, in_a_loop: bool) -> None:
    def call() -> EvaluationResult:
        return rerank_eval.evaluate("no-such-dataset", "bm25", top_k=20)

    async def in_loop() -> EvaluationResult:
        return call()

    with pytest.raises(DatasetError, match="no-such-dataset"):
        asyncio.run(in_loop()) if in_a_loop else call()
    assert not [t for t in threading.enumerate() if t.name == "rerank-eval-loop"]


def test_input_errors_raise_before_anything_is_created(base: Path, tmp_path: Path) -> None:
    out = tmp_path / "never"
    with pytest.raises(SuiteError, match="did you mean 'biencoder'"):
        rerank_eval.evaluate(base / "toy", ["bm25", "biencodr"], out=out)
    with pytest.raises(SuiteError, match=r"rerank_eval\.evaluate: 'measures'.*nDCG@1O"):
        rerank_eval.evaluate(base / "toy", "bm25", measures="nDCG@1O", out=out)
    with pytest.raises(SuiteError, match="at least one reranker"):
        rerank_eval.evaluate(base / "toy", [], out=out)
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(SuiteError, match="not a folder"):
        rerank_eval.evaluate(base / "toy", "bm25", out=tmp_path / "a-file")
    assert not out.exists()


def test_a_failing_reranker_warns_and_is_listed(base: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        partial = rerank_eval.evaluate(base / "toy", [
            "bm25", RerankerConfig(spec="bm25", options={"k1": "nonsense"}, label="broken")],
            top_k=20)
    assert [c.reranker for c in partial.failed] == ["broken"]
    assert any("broken" in str(w.message) and w.category is RuntimeWarning
               and w.filename == __file__ for w in caught)  # pointing at the caller's line
    assert "FAILED" in repr(partial)
    assert list(partial.summary["errors"]) == [0, 0, 1]


class _ThreadSpy:
    """A progress sink that notes which thread the harness ran in."""

    def __init__(self, threads: list[str]) -> None:
        self.threads = threads

    def cell_started(self, dataset: str, reranker: str, total: int, done: int) -> None:
        self.threads.append(threading.current_thread().name)

    def query_done(self) -> None:
        pass

    def cell_finished(self, cell: object) -> None:
        pass

    def message(self, text: str) -> None:
        pass
