"""The record types of the output contract: round trips, tolerance, versions, prices."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from rerank_eval.money import price_text, usd
from rerank_eval.records import (
    SCHEMA_VERSION,
    CellSummary,
    PriceRecord,
    QueryRecord,
    RunSummary,
    SchemaError,
)
from rerank_eval.types import Usage

OLD_RUN = Path(__file__).resolve().parents[1] / "data" / "run-v0-unversioned"


def old_summary() -> dict:
    return json.loads((OLD_RUN / "summary.json").read_text())


def with_added_fields(raw: dict) -> dict:
    """``raw`` with the fields added since it was written, at their defaults."""
    raw = json.loads(json.dumps(raw))
    for cell in raw["results"]:
        cell["usage"] = {**cell["usage"], "requests_failed": 0, "requests_rejected": 0}
        cell["failed_usage"] = {**asdict(Usage())}
        cell["usage"]["reused_documents"] = 0
        cell.update(latency_method=None, latency_warmup_ms=[], latency_wall_s=0.0,
                    latency_usage=asdict(Usage()), latency_score_max_diff=None,
                    executor="in-process", execution=None)
    for dataset in raw["datasets"]:
        dataset["source"] = ""
    return raw


def test_a_version_0_summary_reads_and_writes_back_the_same_fields() -> None:
    raw = old_summary()
    summary = RunSummary.from_dict(raw)
    assert summary.schema_version == 0 and summary.per_query is None
    written = summary.to_dict()
    assert written.pop("schema_version") == SCHEMA_VERSION
    assert written == with_added_fields(raw)


def test_a_current_summary_round_trips_exactly() -> None:
    raw = {"schema_version": SCHEMA_VERSION, **with_added_fields(old_summary()),
           "per_query": {"key_columns": ["dataset", "reranker", "query_id"],
                         "measure_columns": ["nDCG@10"]}}
    assert RunSummary.from_dict(raw).to_dict() == raw


def test_unknown_keys_are_ignored_at_every_level() -> None:
    raw = old_summary()
    raw["schema_version"] = SCHEMA_VERSION
    raw["from_the_future"] = 1
    raw["suite"]["new"] = 2
    raw["results"][0]["new"] = 3
    raw["results"][0]["usage"]["gpu_joules"] = 4.0
    raw["results"][2]["price"]["region"] = "eu"
    raw["datasets"][0]["new"] = 5
    summary = RunSummary.from_dict(raw)
    assert summary.results[0].metrics == old_summary()["results"][0]["metrics"]
    assert summary.results[2].price == PriceRecord.from_dict(old_summary()["results"][2]["price"])


def test_missing_keys_take_their_defaults() -> None:
    summary = RunSummary.from_dict({"results": [{"dataset": "d", "reranker": "r",
                                                 "metrics": {"nDCG@10": 0.5}}]})
    cell = summary.results[0]
    assert (cell.spec, cell.n_queries, cell.errors, cell.price) == ("r", 0, 0, None)
    assert cell.usage == Usage() and cell.cost_usd is None and cell.latency_ms == {}
    assert summary.datasets == [] and summary.suite.measures == []


def test_null_values_of_defaulted_fields_read_as_the_default() -> None:
    cell = CellSummary.from_dict({"dataset": "d", "reranker": "r", "metrics": None,
                                  "errors": None, "usage": None, "cost_usd": 0.5})
    assert cell.metrics == {} and cell.errors == 0 and cell.usage == Usage(cost_usd=0.5)


def test_a_newer_schema_is_refused_by_name() -> None:
    with pytest.raises(SchemaError, match="newer rerank-eval"):
        RunSummary.from_dict({"schema_version": SCHEMA_VERSION + 1, "results": []})
    with pytest.raises(SchemaError, match="not a version"):
        RunSummary.from_dict({"schema_version": "1"})


def test_cost_is_written_beside_the_usage_not_in_it() -> None:
    cell = CellSummary(dataset="d", reranker="r", usage=Usage(requests=2, cost_usd=0.25))
    written = cell.summary_dict()
    assert written["cost_usd"] == 0.25 and "cost_usd" not in written["usage"]
    assert CellSummary.from_dict(written).usage == cell.usage


def test_query_records_tolerate_unknown_and_missing_usage_fields() -> None:
    line = {"type": "query", "query_id": "q1", "order": 3, "latency_s": 0.5, "n_candidates": 2,
            "scores": {"a": 1.0, "b": 0.5},
            "usage": {"requests": 1, "search_units": 1.0, "watts": 7}}  # retries etc. absent
    record = QueryRecord.from_dict(line)
    assert record.usage == Usage(requests=1, search_units=1.0)
    assert QueryRecord.from_dict(record.to_dict()) == record


def test_the_old_journals_read_into_records() -> None:
    lines = (OLD_RUN / "cells" / "quick" / "cohere_rerank-v3.5.jsonl").read_text().splitlines()
    records = [QueryRecord.from_dict(json.loads(line)) for line in lines
               if json.loads(line).get("type") == "query"]
    assert len(records) == 6 and {r.usage.search_units for r in records} == {1.0}


@pytest.mark.parametrize(("price", "text"), [
    ({"usd": 2.0, "per": 1000, "unit": "search_unit"}, "$2 per 1K search units"),
    ({"usd": 0.05, "per": 1_000_000, "unit": "token"}, "$0.05 per 1M tokens"),
    ({"usd": 0.0816, "per": 1, "unit": "cpu_hour"}, "$0.0816 per cpu hour"),
    ({"usd": 0.00005, "per": 1, "unit": "token"}, "$0.00005 per token"),
])
def test_a_recorded_price_is_written_one_way(price: dict, text: str) -> None:
    record = PriceRecord.from_dict({**price, "date": "2026-04", "source": "s"})
    assert record.text == text == price_text(price["usd"], price["per"], price["unit"])


def test_a_remote_price_record_keeps_its_five_keys() -> None:
    price = {"usd": 2.0, "per": 1000, "unit": "search_unit", "date": "d", "source": "s"}
    assert PriceRecord.from_dict(price).to_dict() == price


@pytest.mark.parametrize(("value", "text"), [
    (None, "–"), (0, "$0"), (0.00342, "$0.0034"), (0.0042, "$0.0042"), (4.26e-06, "$0.0000043"),
    (4.26, "$4.3"), (12.7, "$13"), (430, "$430"), (999.6, "$1k"), (1234.4, "$1.2k"),
    (12_345, "$12k"), (3.4e6, "$3.4M"), (-0.5, "-$0.5")])
def test_dollar_amounts(value: float | None, text: str) -> None:
    assert usd(value) == text
