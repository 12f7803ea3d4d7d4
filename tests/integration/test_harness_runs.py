"""The harness end to end on small data: results files, resume, failures, parity."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pandas as pd
import pytest
from support.beir import toy_dataset
from support.rerankers import LengthReranker, length_reranker_registered
from support.trec import pytrec_reference, read_trec

from rerank_eval.harness import Harness
from rerank_eval.metrics import evaluate
from rerank_eval.records import SCHEMA_VERSION
from rerank_eval.store import write_run_dir
from rerank_eval.suite import suite_from_dict
from rerank_eval.types import RankedResult, RerankResponse


@pytest.fixture(autouse=True)
def _length_reranker() -> None:
    with length_reranker_registered():
        yield


def make_suite(dataset: Path, rerankers: list[str], **extra: object):
    return suite_from_dict({
        "name": "t", "datasets": [{"name": "toy", "path": str(dataset)}],
        "rerankers": [{"spec": r} for r in rerankers], "first_stage": {"top_k": 20}, **extra,
    })


def run_harness(suite, out: Path, **options: object):
    result = asyncio.run(Harness(suite, out, **options).run())
    write_run_dir(result, out)
    return result


def test_results_files_follow_the_contract(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    out = tmp_path / "out"
    result = run_harness(make_suite(data, ["bm25", "test-length"]), out)
    assert not result.failed

    summary = json.loads((out / "summary.json").read_text())
    assert {r["reranker"] for r in summary["results"]} == {"bm25", "test-length"}
    for row in summary["results"]:
        assert row["dataset"] == "toy" and row["n_queries"] == 10
        # the suite's measures (top-20 defaults), and the judged share of each top 10
        assert set(row["metrics"]) == {"nDCG@10", "RR@10", "R@10", "R@20", "AP@20",
                                       "Judged@10"}
        assert set(row["latency_ms"]) >= {"p50", "p95", "p99", "mean"}
        assert row["throughput_docs_per_s"] > 0
        assert set(row["usage"]) >= {"requests", "tokens", "search_units"}
        assert row["usage"]["requests"] == 10
        assert row["errors"] == 0
    length_row = next(r for r in summary["results"] if r["reranker"] == "test-length")
    assert length_row["usage"]["tokens"] == 70  # 7 reported per call, summed
    assert length_row["score_kind"] == "test"
    assert summary["environment"]["python"]
    assert summary["datasets"][0]["first_stage"]["metrics"]["R@20"] > 0

    per_query = pd.read_csv(out / "per_query.csv", dtype={"query_id": str})
    assert set(per_query["reranker"]) == {"first-stage", "bm25", "test-length"}
    assert len(per_query) == 30
    for name in ("first-stage", "bm25", "test-length"):
        assert (out / "runs" / "toy" / f"{name}.trec").is_file()


def test_summary_metrics_equal_pytrec_eval_on_the_written_runs(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    out = tmp_path / "out"
    run_harness(make_suite(data, ["bm25", "test-length"]), out)
    summary = json.loads((out / "summary.json").read_text())
    qrels = {}
    for line in (data / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        q, d, s = line.split("\t")
        qrels.setdefault(q, {})[d] = int(s)
    for row in summary["results"]:
        run = read_trec(out / "runs" / "toy" / f"{row['reranker']}.trec")
        reference = pytrec_reference(qrels, run)
        for measure, per_query in reference.items():
            if measure in row["metrics"]:
                mean = sum(per_query.values()) / len(per_query)
                assert row["metrics"][measure] == pytest.approx(mean, abs=1e-9)


def test_bm25_reranker_over_bm25_candidates_reproduces_the_first_stage(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    result = run_harness(make_suite(data, ["bm25"]), tmp_path / "out")
    assert result.cells[0].metrics == pytest.approx(
        {m: v for m, v in result.datasets[0].summary.first_stage.metrics.items()
         if m in result.cells[0].metrics})


def test_an_interrupted_run_resumes_without_repeating_work(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    out = tmp_path / "out"
    suite = make_suite(data, ["test-length"])
    LengthReranker.fail_on = "tomato"  # one garden query fails, as a provider might
    first = run_harness(suite, out)
    assert first.failed and first.cells[0].errors == 1
    assert "server went away" in first.cells[0].error_messages[0]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["results"][0]["errors"] == 1 and summary["results"][0]["n_queries"] == 9

    LengthReranker.calls, LengthReranker.fail_on = [], None
    second = run_harness(suite, out)
    assert not second.failed
    assert len(LengthReranker.calls) == 1 and "tomato" in LengthReranker.calls[0]
    assert second.cells[0].resumed_queries == 9 and second.cells[0].n_queries == 10

    LengthReranker.calls = []
    third = run_harness(suite, out)
    assert LengthReranker.calls == []
    assert third.cells[0].metrics == second.cells[0].metrics


def test_a_changed_configuration_does_not_reuse_the_journal(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    out = tmp_path / "out"
    run_harness(make_suite(data, ["test-length"]), out)
    LengthReranker.calls = []
    changed = suite_from_dict({
        "name": "t", "datasets": [{"name": "toy", "path": str(data)}],
        "rerankers": [{"spec": "test-length"}], "first_stage": {"top_k": 5},
    })
    run_harness(changed, out)
    assert len(LengthReranker.calls) == 10
    assert list((out / "cells" / "toy").glob("*.stale.jsonl"))


def test_a_failing_reranker_does_not_stop_the_others(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    out = tmp_path / "out"
    result = run_harness(make_suite(data, ["no-such-kind:x", "bm25"]), out)
    assert result.failed
    broken, bm25 = result.cells
    assert broken.errors == 1 and "known kinds" in broken.error_messages[0]
    assert "bm25" in broken.error_messages[0]
    assert bm25.errors == 0 and bm25.n_queries == 10
    assert (out / "runs" / "toy" / "bm25.trec").is_file()


def test_a_cell_that_always_fails_stops_early(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy", docs_per_topic=12)
    LengthReranker.fail_on = " "  # every query has a space
    result = run_harness(make_suite(data, ["test-length"]), tmp_path / "out")
    cell = result.cells[0]
    assert cell.n_queries == 0 and cell.errors == 10
    assert len(LengthReranker.calls) == 10


def test_max_queries_takes_the_first_ids_in_sorted_order(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    result = run_harness(make_suite(data, ["bm25"], max_queries=3), tmp_path / "out")
    assert sorted(result.cells[0].records) == ["q00", "q01", "q10"]
    assert result.datasets[0].query_ids == ["q00", "q01", "q10"]


def test_first_stage_metrics_are_the_candidates_evaluated(tmp_path: Path) -> None:
    from rerank_eval.datasets import load_dataset

    data = toy_dataset(tmp_path / "toy")
    result = run_harness(make_suite(data, ["bm25"]), tmp_path / "out")
    dataset = result.datasets[0]
    qrels = {q: dict(v) for q, v in load_dataset(str(data)).qrels.items()}
    expected = evaluate(qrels, dataset.first_stage_run, ["nDCG@10", "R@20"])
    metrics = dataset.summary.first_stage.metrics
    assert metrics["nDCG@10"] == expected.aggregate["nDCG@10"]
    assert metrics["R@20"] == expected.aggregate["R@20"]


def test_local_busy_time_is_priced_at_the_hourly_rate_given(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    suite = make_suite(data, ["bm25"], costs={"cpu_hour_usd": 3600.0})
    cell = run_harness(suite, tmp_path / "out").cells[0]
    assert cell.usage.compute_s and cell.usage.compute_s > 0
    assert cell.usage.cost_usd == pytest.approx(cell.usage.compute_s)  # $1 per busy second
    assert cell.price and cell.price.unit == "cpu_hour" and cell.price.usd == 3600.0

    default = run_harness(make_suite(data, ["bm25"]), tmp_path / "default").cells[0]
    assert default.price and default.price.date != "user"
    assert default.usage.cost_usd == pytest.approx(
        default.usage.compute_s / 3600 * default.price.usd)


def test_a_reranker_without_a_device_has_no_invented_cost(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    cell = run_harness(make_suite(data, ["test-length"]), tmp_path / "out").cells[0]
    assert cell.usage.cost_usd is None and cell.price is None


def test_a_key_in_a_spec_never_reaches_any_output_file(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    secret = "sk-live-0123456789abcdef"
    suite = suite_from_dict({
        "name": "t", "datasets": [{"name": "toy", "path": str(data)}],
        "rerankers": [{"spec": f"test-length?api_key={secret}"},
                      {"spec": "test-length", "label": "tl", "options": {"api_key": secret}}],
        "first_stage": {"top_k": 20},
    })
    out = tmp_path / "out"
    result = run_harness(suite, out)
    assert not result.failed
    from rerank_eval.report import write_reports

    write_reports(out)
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) > 8
    for path in files:
        assert secret.encode() not in path.read_bytes(), path


def test_the_runtime_carries_no_cache_to_every_reranker(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    run_harness(make_suite(data, ["test-length"]), tmp_path / "cached")
    run_harness(make_suite(data, ["test-length"]), tmp_path / "fresh", response_cache=False)
    assert [r.response_cache for r in LengthReranker.runtimes] == [True, False]


def test_the_latency_recorded_is_the_one_the_reranker_reports(tmp_path: Path,
                                                           monkeypatch) -> None:
    async def reported(self, request):
        results = [RankedResult(i, 1.0 / (i + 1)) for i in range(len(request.documents))]
        return RerankResponse(results=results, latency_s=0.25)

    monkeypatch.setattr(LengthReranker, "rerank", reported)
    data = toy_dataset(tmp_path / "toy")
    cell = run_harness(make_suite(data, ["test-length"]), tmp_path / "out").cells[0]
    assert {r.latency_s for r in cell.records.values()} == {0.25}
    assert cell.latency_ms["p50"] == pytest.approx(250.0)


@pytest.mark.parametrize(("broken", "reason"), [
    (lambda n: [RankedResult(i, 1.0) for i in range(n - 1)], "expected"),
    (lambda n: [RankedResult(0, 1.0)] * n, "more than once"),
    (lambda n: [RankedResult(i, float("nan")) for i in range(n)], "not finite"),
])
def test_an_invalid_ranking_fails_the_query_not_the_run(tmp_path: Path, monkeypatch,
                                                        broken, reason) -> None:
    async def answer(self, request):
        return RerankResponse(results=broken(len(request.documents)))

    monkeypatch.setattr(LengthReranker, "rerank", answer)
    data = toy_dataset(tmp_path / "toy")
    cell = run_harness(make_suite(data, ["test-length", "bm25"]), tmp_path / "out").cells[0]
    assert cell.n_queries == 0 and cell.errors == 10
    assert "invalid ranking" in cell.error_messages[0] and reason in cell.error_messages[0]


def test_journals_and_summary_carry_the_schema_version(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    out = tmp_path / "out"
    run_harness(make_suite(data, ["test-length"]), out)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["schema_version"] == SCHEMA_VERSION
    assert summary["per_query"]["measure_columns"] == ["nDCG@10", "RR@10", "R@10", "R@20",
                                                        "AP@20"]  # at the top-20 depth
    header = json.loads((out / "cells" / "toy" / "test-length.jsonl").read_text().splitlines()[0])
    assert header["type"] == "header" and header["schema_version"] == SCHEMA_VERSION


def test_a_journal_without_a_schema_version_is_resumed(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    out = tmp_path / "out"
    suite = make_suite(data, ["test-length"])
    first = run_harness(suite, out)
    path = out / "cells" / "toy" / "test-length.jsonl"
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    del header["schema_version"]  # as the unversioned code wrote it
    del header["check"]  # (which wrote no checksum either)
    path.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    LengthReranker.calls = []
    again = run_harness(suite, out)
    assert LengthReranker.calls == [] and again.cells[0].resumed_queries == 10
    assert again.cells[0].metrics == first.cells[0].metrics
