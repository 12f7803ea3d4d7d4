"""load.json: the contract's fields and order, a round trip, unknown keys ignored, newer
versions refused, written atomically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rerank_eval.load.outcome import ERROR_TYPES
from rerank_eval.load.records import (
    CostPer1k,
    Knee,
    LevelResult,
    LoadReport,
    LoadSchemaError,
    LoadSettings,
    read_load_json,
    write_load_json,
)


def report() -> LoadReport:
    level = LevelResult(concurrency=1, offered_qps=None, requests=10, ok=10,
                        errors=dict.fromkeys(ERROR_TYPES, 0), retries=0, duration_s=0.5,
                        throughput_rps=20.0, docs_per_s=400.0,
                        latency_ms={"mean": 50.0, "p50": 50.0, "p90": 50.0, "p95": 50.0,
                                    "p99": 50.0, "max": 50.0},
                        server_ms={"inference": {"mean": 40.0, "p50": 40.0, "p95": 41.0}},
                        tokens=None, cost_usd=0.02)
    settings = LoadSettings(levels=[1], requests_per_level=10, duration_s=None, warmup=2,
                            cache_bust=False, retries=0, max_requests=100, max_p95_ms=100.0,
                            max_p95_source="2x p95 at the lowest level", seed=0)
    return LoadReport(created="2026-11-30T16:00:00+00:00", reranker="cohere:rerank-v3.5",
                      mode="closed", dataset="quick", top_k=20, queries=50,
                      documents_per_request={"mean": 20.0, "min": 20, "max": 20},
                      settings=settings, levels=[level],
                      knee=Knee(found=True, reason="highest level with p95 <= 100 ms",
                                index=0, concurrency=1, throughput_rps=20.0, p95_ms=50.0,
                                max_p95_ms=100.0),
                      saturation_rps=20.0,
                      cost_per_1k_queries=CostPer1k(usd=2.0, basis="usage"),
                      environment={"python": "3.11"})


CONTRACT_TOP = ["schema_version", "kind", "created", "reranker", "mode", "dataset", "top_k",
                "queries", "documents_per_request", "settings", "levels", "knee",
                "saturation_rps", "cost_per_1k_queries", "interrupted", "environment"]
CONTRACT_LEVEL = ["concurrency", "offered_qps", "requests", "ok", "errors", "retries",
                  "duration_s", "throughput_rps", "docs_per_s", "latency_ms", "server_ms",
                  "tokens", "cost_usd", "stopped_early"]
CONTRACT_KNEE = ["found", "index", "concurrency", "offered_qps", "throughput_rps", "p95_ms",
                 "max_p95_ms", "reason"]


def test_fields_in_the_contracts_order() -> None:
    data = report().to_dict()
    assert list(data)[: len(CONTRACT_TOP)] == CONTRACT_TOP
    assert data["schema_version"] == 1 and data["kind"] == "load"
    assert list(data["levels"][0])[: len(CONTRACT_LEVEL)] == CONTRACT_LEVEL
    assert list(data["knee"]) == CONTRACT_KNEE
    assert list(data["cost_per_1k_queries"]) == ["usd", "basis", "gpu_hour_usd", "price",
                                                 "note"]


def test_round_trip_through_the_file(tmp_path: Path) -> None:
    path = write_load_json(tmp_path / "out", report())
    assert path == tmp_path / "out" / "load.json"
    assert [p.name for p in path.parent.iterdir()] == ["load.json"]  # no temporary left
    back = read_load_json(path.parent)
    assert back == report()
    assert json.loads(path.read_text())["levels"][0]["server_ms"]["inference"]["p95"] == 41.0


def test_unknown_keys_are_ignored(tmp_path: Path) -> None:
    data = report().to_dict()
    data["future_field"] = 1
    data["levels"][0]["gpu_util"] = 0.9
    data["knee"]["confidence"] = "high"
    data["settings"]["new_knob"] = True
    assert LoadReport.from_dict(data) == report()


def test_a_newer_or_missing_version_is_refused() -> None:
    data = report().to_dict()
    for version in (2, None, "1"):
        data["schema_version"] = version
        with pytest.raises(LoadSchemaError, match="schema_version"):
            LoadReport.from_dict(data)


def test_a_run_summary_is_not_a_load_report(tmp_path: Path) -> None:
    (tmp_path / "load.json").write_text('{"schema_version": 1, "kind": "run"}')
    with pytest.raises(LoadSchemaError, match="not a load report"):
        read_load_json(tmp_path)


def test_a_missing_field_is_a_schema_error() -> None:
    data = report().to_dict()
    del data["knee"]
    with pytest.raises(LoadSchemaError, match="knee"):
        LoadReport.from_dict(data)
    data = report().to_dict()
    del data["levels"][0]["ok"]
    with pytest.raises(LoadSchemaError, match="ok"):
        LoadReport.from_dict(data)
