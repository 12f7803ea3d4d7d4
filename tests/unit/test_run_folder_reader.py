"""The one reader of a run folder, on the stored unversioned folder and on constructed ones."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from rerank_eval.records import SCHEMA_VERSION, SchemaError
from rerank_eval.store import read_run, read_summary

OLD_RUN = Path(__file__).resolve().parents[1] / "data" / "run-v0-unversioned"


def test_the_unversioned_folder_reads_the_numbers_its_summary_holds() -> None:
    raw = json.loads((OLD_RUN / "summary.json").read_text())
    run = read_run(OLD_RUN)
    assert run.summary.schema_version == 0
    assert run.measures == ["nDCG@10", "RR@10", "R@10"]
    assert run.key_columns == ["dataset", "reranker", "query_id", "n_candidates", "latency_ms"]
    for cell, stored in zip(run.summary.results, raw["results"], strict=True):
        assert cell.metrics == stored["metrics"]
        assert cell.latency_ms == stored["latency_ms"]
        assert cell.cost_usd == stored["cost_usd"]
        assert cell.usage.search_units == stored["usage"]["search_units"]
        assert cell.usage.compute_s == stored["usage"]["compute_s"]
        assert cell.price.to_dict() == stored["price"]
        rows = run.per_query[run.per_query["reranker"] == cell.reranker]
        for measure in run.measures:
            assert rows[measure].mean() == pytest.approx(stored["metrics"][measure], abs=1e-12)
    first = run.summary.datasets[0].first_stage
    assert first.metrics == raw["datasets"][0]["first_stage"]["metrics"]
    assert first.details["bm25"]["k1"] == 1.5


def test_journal_latencies_are_the_per_query_latencies_with_their_order() -> None:
    run = read_run(OLD_RUN)
    latencies = run.latencies("quick", "cohere:rerank-v3.5")
    rows = run.per_query[run.per_query["reranker"] == "cohere:rerank-v3.5"]
    assert [order for order, _ in latencies] == list(range(6))
    assert sorted(ms for _, ms in latencies) == pytest.approx(sorted(rows["latency_ms"]))
    cold = json.loads((OLD_RUN / "summary.json").read_text())["results"][2]["latency_ms"]["cold"]
    assert latencies[0][1] == pytest.approx(cold)
    assert run.latencies("quick", "no-such-reranker") is None


def copy(tmp_path: Path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(OLD_RUN, target)
    return target


def test_declared_measure_columns_win_over_guessing(tmp_path: Path) -> None:
    run_dir = copy(tmp_path)
    frame = pd.read_csv(run_dir / "per_query.csv")
    frame["gpu_temperature"] = 60.0  # a new descriptive column, not a measure
    frame.to_csv(run_dir / "per_query.csv", index=False)
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["schema_version"] = SCHEMA_VERSION
    summary["per_query"] = {"key_columns": [*read_run(OLD_RUN).key_columns, "gpu_temperature"],
                            "measure_columns": ["nDCG@10", "RR@10"]}
    (run_dir / "summary.json").write_text(json.dumps(summary))
    assert read_run(run_dir).measures == ["nDCG@10", "RR@10"]


def test_version_0_without_suite_measures_takes_every_non_key_column(tmp_path: Path) -> None:
    run_dir = copy(tmp_path)
    summary = json.loads((run_dir / "summary.json").read_text())
    del summary["suite"]
    (run_dir / "summary.json").write_text(json.dumps(summary))
    assert read_run(run_dir).measures == ["nDCG@10", "RR@10", "R@10"]


def test_a_folder_without_per_query_reads_its_summary(tmp_path: Path) -> None:
    run_dir = copy(tmp_path)
    (run_dir / "per_query.csv").unlink()
    run = read_run(run_dir)
    assert not run.has_per_query and len(run.per_query) == 0
    assert len(run.summary.results) == 3
    with pytest.raises(FileNotFoundError, match=r"per_query\.csv"):
        run.require_per_query()


def test_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"summary\.json"):
        read_run(tmp_path)
    bad = tmp_path / "summary.json"
    bad.write_text("{not json")
    with pytest.raises(SchemaError, match="not valid JSON"):
        read_summary(bad)
    bad.write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1}))
    with pytest.raises(SchemaError, match=re.escape(str(bad))):
        read_run(tmp_path)


def test_a_journal_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    run_dir = copy(tmp_path)
    path = run_dir / "cells" / "quick" / "bm25.jsonl"
    lines = path.read_text().splitlines()
    header = json.loads(lines[0]) | {"schema_version": SCHEMA_VERSION + 1}
    path.write_text("\n".join([json.dumps(header), *lines[1:]]))
    with pytest.raises(SchemaError, match="newer"):
        read_run(run_dir).latencies("quick", "bm25")
