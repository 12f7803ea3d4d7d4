"""The pooled path (the driver side of --executor ray) without Ray: replicas on threads.

Same TREC bytes as an in-process run, an execution record per cell, and the report's
line: what the Ray tests check again with real actors, here on every test run."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.executors import BIENCODER_FP32, cell_summary, quick_suite, run_into, trec_bytes

from rerank_eval.executors.threads import ThreadExecutor
from rerank_eval.report import write_reports

pytestmark = pytest.mark.slow


def test_a_pooled_biencoder_gives_the_in_process_trec_file_and_records_its_replicas(
        tmp_path: Path) -> None:
    suite = quick_suite(queries=8, top_k=10, latency_sample=2)
    reference, pooled = tmp_path / "in-process", tmp_path / "pooled"
    run_into(suite, reference)
    result = run_into(suite, pooled, executor=ThreadExecutor(replicas=2))

    assert trec_bytes(pooled) == trec_bytes(reference)
    cell = result.cells[0]
    assert not cell.failed and cell.latency_score_max_diff == pytest.approx(0.0, abs=1e-7)
    summary = cell_summary(pooled)
    assert summary["executor"] == "ray" and summary["concurrency"] == 4
    execution = summary["execution"]
    assert (execution["actors"], execution["address"], execution["queries"]) == (2, "local", 8)
    assert sum(a["requests"] for a in execution["per_actor"]) == 8
    assert all(a["requests"] > 0 and a["busy_s"] > 0 for a in execution["per_actor"])
    assert cell_summary(reference)["executor"] == "in-process"
    assert cell_summary(reference)["execution"] is None

    write_reports(pooled)
    report = (pooled / "report.md").read_text()
    assert f"{BIENCODER_FP32}: model inference on ray (a local Ray instance), 2 actors" in report
